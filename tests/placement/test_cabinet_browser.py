"""A parent on a phone logs in with the SMS code in Kazakh, adds a child, applies and sees the queue position."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Representation
from placement.models import Application
from tests.clock import astana
from tests.factories import ApplicationFactory, ChildFactory, CityFactory, ParentFactory, serving, valid_iin
from tests.sms import browser_sms_login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = "+77015550177"


def kk(name: str) -> str:
    with translation.override("kk"):
        return reverse(name)


@pytest.fixture
def city():
    """Temirtau, with 2021 groups, and two applications already queued in the 2021 cohort."""
    city = serving(CityFactory(temirtau=True), 2021)
    for hours in (0, 1):
        ApplicationFactory(
            city=city,
            child=ChildFactory(birth_date=dt.date(2021, 2, 2)),
            applied_at=astana(2024, 3, 1, 9 + hours),
        )
    return city


def test_parent_logs_in_with_the_sms_code_in_kazakh_adds_a_child_applies_and_sees_the_position(
    browser_page, live_server, city
):
    parent = ParentFactory(phone=PHONE, first_name="Айгерим", last_name="Сапарова")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})

    # The SMS login, in Kazakh: the phone, then the code from the SMS (the live server shares the outbox).
    browser_sms_login(page, live_server.url, phone=PHONE, typed="8 701 555 01 77", language="kk")
    assert page.get_by_role("heading", level=1).inner_text() == "Жеке кабинет"
    assert "Сіз әлі бала қоспадыңыз." in page.locator("main").inner_text()

    # Add a child with the representation document.
    page.get_by_role("link", name="Бала қосу").click()
    page.wait_for_url(f"**{kk('placement:cabinet-child-add')}")
    page.get_by_label("Баланың ЖСН").fill(valid_iin(321))
    page.get_by_label("Тегі").fill("Сапаров")
    page.get_by_label("Аты", exact=True).fill("Арман")
    page.get_by_label("Туған күні").fill("2021-06-01")
    page.get_by_label("Сіз балаға кімсіз").select_option("parent")
    page.get_by_label("Өкілдікті растайтын құжат").fill("Туу туралы куәлік № 123456")
    page.get_by_role("button", name="Баланы қосу").click()
    page.wait_for_url(f"**{kk('placement:cabinet')}")
    main = page.locator("main")
    assert "Бала қосылды." in main.inner_text()
    assert "Сапаров Арман" in main.inner_text() and "Растауды күтуде" in main.inner_text()

    # Apply to Temirtau's queue.
    page.get_by_role("link", name="Кезекке тұру").first.click()
    page.wait_for_url(f"**{kk('placement:cabinet-apply')}")
    page.get_by_label("Бала", exact=True).select_option(label="Сапаров Арман · 01.06.2021")
    page.get_by_label("Қала").select_option("temirtau")
    page.get_by_label("Оқыту тілі").select_option("kk")
    page.get_by_role("button", name="Өтініш беру").click()
    page.wait_for_url(f"**{kk('placement:cabinet')}")

    application = Application.objects.get(child__iin=valid_iin(321))
    assert application.parent == parent and application.birth_year == 2021
    assert Representation.objects.get(child=application.child).status == "pending"
    row = page.locator(f'tr[data-number="{application.number}"]')
    assert row.locator("td.position").inner_text() == "3"
    assert "Теміртау" in row.inner_text() and "Кезекте" in row.inner_text()
    assert f"{application.number} өтініші кезекте, орны 3." in page.locator(".messages").inner_text()
    # Phone-sized: wide tables scroll inside their box, the page itself does not.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
