"""A parent on a phone-sized browser: filters the registry, opens a protocol day and downloads its CSV (in ru)."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.utils import timezone

from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from tests.clock import astana
from tests.factories import CityFactory, GroupFactory, KindergartenFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

RELEASED = astana(2024, 6, 3, 10, 0)


@pytest.fixture
def city_with_places():
    """2021 places released in June 2024 (general long since), 2020 places released now (in priority)."""
    city = CityFactory(temirtau=True)
    sunny = KindergartenFactory(city=city, code="K-001", name_ru="Солнышко", name_kk="Күншуақ")
    bird = KindergartenFactory(city=city, code="K-002", name_ru="Ласточка", name_kk="Қарлығаш")
    old = place_release(group=GroupFactory(kindergarten=sunny, birth_year=2021, language="ru"), count=2, at=RELEASED)
    place_withdraw(place=old[1], reason="Ремонт группы", at=RELEASED + dt.timedelta(days=1, hours=1))
    place_release(group=GroupFactory(kindergarten=bird, birth_year=2021, language="kk"), count=1, at=RELEASED)
    place_release(group=GroupFactory(kindergarten=bird, birth_year=2020), count=3, at=timezone.now())
    run_daily(at=astana(2024, 6, 6, 18, 0), city=city)
    return city


def test_parent_filters_the_registry_and_downloads_a_protocol_day(browser_page, live_server, city_with_places):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/ru/registry/")
    # Identical places share a row (issue 13): two Kazakh and Russian 2021 rows, one of three 2020 places.
    assert page.locator("table.places-table tbody tr").count() == 3
    assert "Найдено мест: 5" in page.locator(".counts").inner_text()

    page.get_by_text("Фильтры", exact=True).click()  # folded away on a phone until one is used
    page.get_by_label("Год рождения (возраст)").select_option("2021")
    page.get_by_label("Доступ", exact=True).select_option("general")
    page.get_by_role("button", name="Показать места").click()
    page.wait_for_url("**/ru/registry/?*birth_year=2021*")

    rows = page.locator("table.places-table tbody tr")
    assert rows.count() == 2
    assert rows.filter(has_text="Общий доступ").count() == 2
    assert page.locator("details.filters-box").get_attribute("open") is not None
    assert "Найдено мест: 2" in page.locator(".counts").inner_text()
    assert page.get_by_label("Год рождения (возраст)").input_value() == "2021"

    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Протокол освобождения мест").click()
    page.wait_for_url("**/ru/protocol/")
    page.get_by_role("link", name="04.06.2024").click()
    page.wait_for_url("**/ru/protocol/temirtau/2024-06-04/")
    assert "04.06.2024" in page.get_by_role("heading", level=1).inner_text()
    assert "Ремонт группы" in page.locator("table.protocol-entries").inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Скачать CSV").click()
    download = download_info.value
    assert download.suggested_filename == "protocol-temirtau-2024-06-04.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Время (Астана)", "Событие", "Место"]
    assert [row[1] for row in rows[1:]] == ["Отозвано"]
    assert rows[1][4] == "Солнышко"
    assert rows[1][-1] == "Ремонт группы"
