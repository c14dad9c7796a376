"""The public summer schedule: page in three languages and API, dates computed from the working-day calendar."""

import datetime as dt
import re

import pytest

from tests.factories import (
    CityFactory,
    CohortWindowFactory,
    KindergartenFactory,
    KindergartenShiftFactory,
    SummerScheduleFactory,
)
from tests.i18n import text_of, untranslated_segments

pytestmark = pytest.mark.django_db

# DOMAIN.md, The seed's schedule: birth year, age, priority start.
SEED_WINDOWS = [
    (2021, 3, dt.date(2024, 6, 3)),
    (2020, 4, dt.date(2024, 6, 10)),
    (2019, 5, dt.date(2024, 6, 17)),
    (2022, 2, dt.date(2024, 6, 17)),
]
# birth year -> (priority, general access from), as the notice prints them
SEED_DATES = {
    2021: ("03.06.2024–05.06.2024", "06.06.2024"),
    2020: ("10.06.2024–12.06.2024", "13.06.2024"),
    2019: ("17.06.2024–19.06.2024", "20.06.2024"),
    2022: ("17.06.2024–19.06.2024", "20.06.2024"),
}


@pytest.fixture
def temirtau():
    city = CityFactory(temirtau=True)
    schedule = SummerScheduleFactory(city=city, year=2024, campaign_start=dt.date(2024, 5, 20))
    windows = {
        year: CohortWindowFactory(schedule=schedule, birth_year=year, age=age, priority_start=start)
        for year, age, start in SEED_WINDOWS
    }
    kindergarten = KindergartenFactory(
        city=city,
        code="002",
        name_ru="Ясли-сад «Айгөлек»",
        name_kk="«Айгөлек» бөбекжай-бақшасы",
        name_en="Aigolek Nursery and Kindergarten",
    )
    shift = KindergartenShiftFactory(
        window=windows[2020],
        kindergarten=kindergarten,
        shifted_start=dt.date(2024, 6, 17),
        reason_ru="Текущий ремонт групповых помещений",
        reason_kk="Топ бөлмелерін ағымдағы жөндеу",
        reason_en="Routine repairs of the group rooms",
    )
    return city, schedule, shift


def _cells(html: str, table_class: str) -> dict[str, tuple[str, str]]:
    """birth year (or kindergarten code + year) -> (priority dates, general-access cell) of a table on the page."""
    table = re.split(rf'class="[^"]*\b{table_class}\b[^"]*"', html, maxsplit=1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr (data-[^>]*)>(.*?)</tr>", table, flags=re.S):
        attributes, body = row
        key = " ".join(re.findall(r'data-[a-z-]+="([^"]+)"', attributes))
        priority = re.search(r'class="priority-dates"[^>]*>([^<]*)<', body).group(1).strip()
        general = re.search(r'class="general-date[^"]*"[^>]*>([^<]*)<', body).group(1).strip()
        rows[key] = (priority, " ".join(general.split()))
    return rows


def test_schedule_page_shows_the_seed_notice_dates_computed_from_the_calendar(client, temirtau):
    html = client.get("/en/schedule/temirtau/2024/").content.decode()
    rows = _cells(html, "schedule-table")
    assert {year: priority for year, (priority, _) in rows.items()} == {
        str(year): priority for year, (priority, _) in SEED_DATES.items()
    }
    for year, (_, general_from) in SEED_DATES.items():
        assert rows[str(year)][1] == f"{general_from} (if any remain)"
    assert list(rows) == ["2021", "2020", "2019", "2022"]  # the notice's order


def test_schedule_page_shows_a_kindergarten_shift_with_its_computed_dates_and_reason(client, temirtau):
    html = client.get("/ru/schedule/temirtau/2024/").content.decode()
    assert _cells(html, "shift-table") == {"002 2020": ("17.06.2024–19.06.2024", "20.06.2024 (если останутся)")}
    assert "Ясли-сад «Айгөлек»" in html
    assert "Текущий ремонт групповых помещений" in html
    kk = client.get("/kk/schedule/temirtau/2024/").content.decode()
    assert "Топ бөлмелерін ағымдағы жөндеу" in kk
    assert "«Айгөлек» бөбекжай-бақшасы" in kk


def test_schedule_page_in_russian_uses_the_notice_wording(client, temirtau):
    text = text_of(client.get("/ru/schedule/temirtau/2024/"))
    assert "График летнего комплектования по городу Темиртау, 2024" in text
    assert "Возраст 3 года" in text and "Возраст 5 лет" in text
    assert "с 1 января по 31 декабря 2021 г.р." in text
    assert "06.06.2024 (если останутся)" in text
    assert "по истечении 3 рабочих дней" in text
    assert "обновляется ежедневно в 18:00 часов по времени г.Астана" in text
    assert "ТОЛЬКО ЗАКОННЫЙ ПРЕДСТАВИТЕЛЬ РЕБЕНКА" in text
    assert "блокировке Личного Кабинета на 6 месяцев" in text
    assert "в рабочие дни с 09:00 до 18:00" in text


def test_schedule_page_in_kazakh_uses_the_notice_wording(client, temirtau):
    text = text_of(client.get("/kk/schedule/temirtau/2024/"))
    assert "Теміртау қ. жазғы жинақтау кестесі, 2024" in text
    assert "3 жастан бастап" in text
    assert "2021 жылы 1 қаңтар - 31 желтоқсан аралығында туылған балалар" in text
    assert "06.06.2024 (егер қалса)" in text
    assert "3 жұмыс күні өткеннен кейін ғана жалпы қолжетімділікке ауысады" in text
    assert "БАЛАНЫҢ ЗАҢДЫ ӨКІЛІ" in text
    assert "Жеке кабинеттің 6 айға бұғатталуына" in text


def test_schedule_page_in_english_explains_the_rules(client, temirtau):
    text = text_of(client.get("/en/schedule/temirtau/2024/"))
    assert "Summer placement schedule, Temirtau, 2024" in text
    assert "Age 3 years" in text
    assert "from 1 January to 31 December 2021" in text
    assert "only after 3 working days" in text
    assert "updated daily at 18:00 Astana time" in text
    assert "withdrawn by the preschool organisation at any time" in text
    assert "blocked for 6 months" in text
    assert "working days from 09:00 to 18:00" in text


def test_the_working_days_rule_follows_the_city_setting(client, temirtau):
    city, _, _ = temirtau
    city.priority_working_days = 2
    city.save()
    text = text_of(client.get("/en/schedule/temirtau/2024/"))
    assert "only after 2 working days" in text
    html = client.get("/en/schedule/temirtau/2024/").content.decode()
    assert _cells(html, "schedule-table")["2021"] == ("03.06.2024–04.06.2024", "05.06.2024 (if any remain)")


def test_schedule_page_links_to_the_city_registry_and_protocol(client, temirtau):
    html = client.get("/kk/schedule/temirtau/2024/").content.decode()
    assert 'href="/kk/registry/?city=temirtau"' in html
    assert 'href="/kk/protocol/?city=temirtau"' in html


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_schedule_page_leaves_no_english_in_russian_and_kazakh(client, temirtau, language):
    english = client.get("/en/schedule/temirtau/2024/").content.decode()
    translated = client.get(f"/{language}/schedule/temirtau/2024/").content.decode()
    assert untranslated_segments(translated, english) == []


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_schedule_list_leaves_no_english_in_russian_and_kazakh(client, temirtau, language):
    SummerScheduleFactory(city=CityFactory(slug="karaganda"), year=2024)
    english = client.get("/en/schedule/").content.decode()
    translated = client.get(f"/{language}/schedule/").content.decode()
    assert untranslated_segments(translated, english) == []


def test_schedule_index_redirects_to_the_only_city_latest_schedule(client, temirtau):
    city, _, _ = temirtau
    SummerScheduleFactory(city=city, year=2023, campaign_start=dt.date(2023, 5, 22))
    response = client.get("/kk/schedule/")
    assert response.status_code == 302
    assert response["Location"] == "/kk/schedule/temirtau/2024/"


def test_schedule_index_lists_the_latest_schedule_of_each_city(client, temirtau):
    karaganda = CityFactory(slug="karaganda", name_ru="Караганда", name_kk="Қарағанды", name_en="Karaganda")
    SummerScheduleFactory(city=karaganda, year=2023, campaign_start=dt.date(2023, 5, 22))
    SummerScheduleFactory(city=karaganda, year=2025, campaign_start=dt.date(2025, 5, 19))
    html = client.get("/ru/schedule/").content.decode()
    assert 'href="/ru/schedule/temirtau/2024/"' in html
    assert 'href="/ru/schedule/karaganda/2025/"' in html
    assert "/ru/schedule/karaganda/2023/" not in html
    assert "Караганда, 2025" in html


def test_schedule_index_says_so_when_nothing_is_published(client):
    response = client.get("/en/schedule/")
    assert response.status_code == 200
    assert "No summer schedule has been published yet." in response.content.decode()


def test_city_address_redirects_to_its_latest_schedule(client, temirtau):
    response = client.get("/ru/schedule/temirtau/")
    assert response.status_code == 302
    assert response["Location"] == "/ru/schedule/temirtau/2024/"


@pytest.mark.parametrize(
    "path",
    [
        "/ru/schedule/almaty/2024/",
        "/ru/schedule/temirtau/2023/",
        "/kk/schedule/temirtau/99999999999999999999/",
        "/en/schedule/temirtau/0/",
        "/ru/schedule/almaty/",
    ],
)
def test_unknown_city_or_year_is_not_found(client, temirtau, path):
    assert client.get(path).status_code == 404


def test_api_gives_the_schedule_with_computed_dates_and_shifts(client, temirtau):
    _, _, shift = temirtau
    response = client.get("/api/v1/schedules/temirtau/2024/", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 200
    data = response.json()
    assert data["city"] == {"slug": "temirtau", "name": "Теміртау"}
    assert data["year"] == 2024
    assert data["campaign_start"] == "2024-05-20"
    assert data["windows"][0] == {
        "birth_year": 2021,
        "age": 3,
        "priority_start": "2024-06-03",
        "priority_end": "2024-06-05",
        "general_from": "2024-06-06",
        "general_at": "2024-06-05T18:00:00+05:00",
    }
    by_year = {w["birth_year"]: (w["priority_start"], w["priority_end"], w["general_from"]) for w in data["windows"]}
    assert by_year == {
        2021: ("2024-06-03", "2024-06-05", "2024-06-06"),
        2020: ("2024-06-10", "2024-06-12", "2024-06-13"),
        2019: ("2024-06-17", "2024-06-19", "2024-06-20"),
        2022: ("2024-06-17", "2024-06-19", "2024-06-20"),
    }
    assert data["shifts"] == [
        {
            "kindergarten": {"id": shift.kindergarten.pk, "code": "002", "name": "«Айгөлек» бөбекжай-бақшасы"},
            "birth_year": 2020,
            "shifted_start": "2024-06-17",
            "priority_end": "2024-06-19",
            "general_from": "2024-06-20",
            "general_at": "2024-06-19T18:00:00+05:00",
            "reason": "Топ бөлмелерін ағымдағы жөндеу",
        }
    ]


@pytest.mark.parametrize("path", ["/api/v1/schedules/almaty/2024/", "/api/v1/schedules/temirtau/2030/"])
def test_api_unknown_schedule_is_not_found(client, temirtau, path):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json() == {"reason": "not_found", "detail": "There is no summer schedule for this city and year."}


def test_api_schedule_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/schedules/{city}/{year}/" in schema
    assert "general_from" in schema
