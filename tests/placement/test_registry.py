"""The public free-places registry: API and page (DOMAIN.md, Places and their access)."""

import datetime as dt
import re

import pytest

from placement.models import GroupType, Language, Place
from placement.services.places import place_release, place_withdraw
from tests.clock import astana, at
from tests.factories import CityFactory, CohortWindowFactory, GroupFactory, KindergartenFactory
from tests.i18n import text_of, untranslated_segments, visible_text

pytestmark = pytest.mark.django_db

# Thu 2024-05-02 10:00: counted May 3, May 4 (worked Saturday), May 6 -> general at 2024-05-06 18:00.
RELEASED = astana(2024, 5, 2, 10, 0)
BEFORE_GENERAL = astana(2024, 5, 6, 17, 59)
GENERAL = astana(2024, 5, 6, 18, 0)
# Released Fri 2024-05-03 10:00: counted May 4, May 6, May 10 (May 7-9 off) -> still priority on May 6 18:00.
LATER_RELEASE = astana(2024, 5, 3, 10, 0)


@pytest.fixture
def city():
    return CityFactory(temirtau=True)


@pytest.fixture
def world(city):
    """Two kindergartens; places of several cohorts, languages and types; one released a day later."""
    sunny = KindergartenFactory(city=city, code="K-001", name_ru="Солнышко", name_kk="Күншуақ", name_en="Sunny")
    bird = KindergartenFactory(city=city, code="K-002", name_ru="Ласточка", name_kk="Қарлығаш", name_en="Swallow")
    groups = {
        "sunny_2021_kk": GroupFactory(kindergarten=sunny, birth_year=2021, language=Language.KK),
        "sunny_2020_ru": GroupFactory(kindergarten=sunny, birth_year=2020, language=Language.RU),
        "bird_2021_ru_special": GroupFactory(
            kindergarten=bird, birth_year=2021, language=Language.RU, group_type=GroupType.SPECIAL
        ),
    }
    places = {
        "sunny_2021_kk": place_release(group=groups["sunny_2021_kk"], count=2, at=RELEASED),
        "sunny_2020_ru": place_release(group=groups["sunny_2020_ru"], count=1, at=RELEASED),
        "bird_2021_ru_special": place_release(group=groups["bird_2021_ru_special"], count=1, at=LATER_RELEASE),
    }
    return {"city": city, "sunny": sunny, "bird": bird, "groups": groups, "places": places}


def ids(response):
    return sorted(item["id"] for item in response.json()["results"])


def pks(*lists):
    return sorted(place.pk for places in lists for place in places)


# --- API ---------------------------------------------------------------------------------------------------


def test_registry_place_is_priority_until_the_18_00_run_of_its_third_working_day(client, world):
    place = world["places"]["sunny_2020_ru"][0]
    with at(BEFORE_GENERAL):
        item = next(i for i in client.get("/api/v1/registry/").json()["results"] if i["id"] == place.pk)
    assert item["access"] == "priority"
    assert item["general_at"] == "2024-05-06T18:00:00+05:00"
    assert item["released_at"] == "2024-05-02T10:00:00+05:00"
    assert item["kindergarten"] == {"id": world["sunny"].pk, "code": "K-001", "name": "Солнышко"}
    assert (item["birth_year"], item["language"], item["group_type"]) == (2020, "ru", "general")


def test_registry_place_is_general_from_18_00_with_general_at_null_even_before_the_run(client, world):
    place = world["places"]["sunny_2020_ru"][0]
    with at(GENERAL):
        item = next(i for i in client.get("/api/v1/registry/").json()["results"] if i["id"] == place.pk)
    assert item["access"] == "general"
    assert item["general_at"] is None
    assert Place.objects.get(pk=place.pk).state == Place.State.PRIORITY  # the 18:00 run has not run


def test_registry_api_filters_by_access_from_the_clock(client, world):
    with at(GENERAL):
        general = client.get("/api/v1/registry/", {"access": "general"})
        priority = client.get("/api/v1/registry/", {"access": "priority"})
    places = world["places"]
    assert ids(general) == pks(places["sunny_2021_kk"], places["sunny_2020_ru"])
    assert ids(priority) == pks(places["bird_2021_ru_special"])


def test_registry_api_filters_by_birth_year(client, world):
    with at(BEFORE_GENERAL):
        response = client.get("/api/v1/registry/", {"birth_year": 2021})
    assert ids(response) == pks(world["places"]["sunny_2021_kk"], world["places"]["bird_2021_ru_special"])


def test_registry_api_filters_by_language(client, world):
    with at(BEFORE_GENERAL):
        response = client.get("/api/v1/registry/", {"language": "kk"})
    assert ids(response) == pks(world["places"]["sunny_2021_kk"])


def test_registry_api_filters_by_group_type(client, world):
    with at(BEFORE_GENERAL):
        response = client.get("/api/v1/registry/", {"group_type": "special"})
    assert ids(response) == pks(world["places"]["bird_2021_ru_special"])


def test_registry_api_filters_by_kindergarten(client, world):
    with at(BEFORE_GENERAL):
        response = client.get("/api/v1/registry/", {"kindergarten": world["bird"].pk, "city": "temirtau"})
    assert ids(response) == pks(world["places"]["bird_2021_ru_special"])


def test_registry_api_filters_by_city(client, world):
    other = KindergartenFactory(city=CityFactory(slug="karaganda"))
    elsewhere = place_release(group=GroupFactory(kindergarten=other), count=1, at=RELEASED)
    with at(BEFORE_GENERAL):
        response = client.get("/api/v1/registry/", {"city": "karaganda"})
        everywhere = client.get("/api/v1/registry/")
    assert ids(response) == pks(elsewhere)
    assert everywhere.json()["count"] == 5


def test_registry_api_combines_filters(client, world):
    with at(GENERAL):
        response = client.get(
            "/api/v1/registry/",
            {"city": "temirtau", "birth_year": 2021, "language": "kk", "group_type": "general", "access": "general"},
        )
    assert ids(response) == pks(world["places"]["sunny_2021_kk"])


def test_registry_names_the_kindergarten_in_the_requested_language(client, world):
    with at(BEFORE_GENERAL):
        kk = client.get("/api/v1/registry/", {"kindergarten": world["sunny"].pk}, HTTP_ACCEPT_LANGUAGE="kk")
        en = client.get("/api/v1/registry/", {"kindergarten": world["sunny"].pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert {i["kindergarten"]["name"] for i in kk.json()["results"]} == {"Күншуақ"}
    assert {i["kindergarten"]["name"] for i in en.json()["results"]} == {"Sunny"}


def test_withdrawn_places_leave_the_registry_at_once(client, world):
    withdrawn = world["places"]["sunny_2021_kk"][0]
    place_withdraw(place=withdrawn, reason="Группа закрыта на ремонт", at=RELEASED + dt.timedelta(hours=1))
    with at(RELEASED + dt.timedelta(hours=1, seconds=1)):
        response = client.get("/api/v1/registry/")
    assert withdrawn.pk not in ids(response)
    assert ids(response) == pks(world["places"]["sunny_2021_kk"][1:], world["places"]["sunny_2020_ru"])


def test_scheduled_places_stay_out_of_the_registry_until_their_window_opens(client, city):
    CohortWindowFactory(schedule__city=city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    group = GroupFactory(kindergarten=KindergartenFactory(city=city), birth_year=2021)
    scheduled = place_release(group=group, count=1, at=astana(2024, 5, 20, 12, 0))
    with at(astana(2024, 6, 2, 23, 59)):
        before = client.get("/api/v1/registry/")
    with at(astana(2024, 6, 3, 0, 0)):
        opened = client.get("/api/v1/registry/")
    assert before.json()["count"] == 0
    assert ids(opened) == pks(scheduled)
    assert opened.json()["results"][0]["general_at"] == "2024-06-05T18:00:00+05:00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"birth_year": "abc"}, "birth_year"),
        ({"birth_year": "1800"}, "birth_year"),
        ({"language": "en"}, "language"),
        ({"group_type": "nursery"}, "group_type"),
        ({"access": "scheduled"}, "access"),
        ({"kindergarten": "999999"}, "kindergarten"),
        ({"kindergarten": "x"}, "kindergarten"),
        ({"city": "atlantis"}, "city"),
    ],
)
def test_registry_api_answers_400_naming_the_bad_filter(client, world, params, field):
    response = client.get("/api/v1/registry/", params)
    assert response.status_code == 400
    assert list(response.json()["detail"]) == [field]


def test_registry_api_refuses_a_kindergarten_of_another_city(client, world):
    CityFactory(slug="karaganda")
    response = client.get("/api/v1/registry/", {"city": "karaganda", "kindergarten": world["sunny"].pk})
    assert response.status_code == 400
    assert "kindergarten" in response.json()["detail"]


def test_registry_api_error_messages_follow_accept_language(client, world):
    response = client.get("/api/v1/registry/", {"city": "atlantis"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.json() == {"reason": "invalid", "detail": {"city": ["Такого города нет."]}}


def test_registry_api_is_paginated(client, world):
    with at(BEFORE_GENERAL):
        first = client.get("/api/v1/registry/", {"page_size": 3}).json()
        second = client.get("/api/v1/registry/", {"page_size": 3, "page": 2}).json()
    assert first["count"] == 4
    assert len(first["results"]) == 3
    assert first["previous"] is None
    assert first["next"].endswith("page=2&page_size=3")
    assert len(second["results"]) == 1


def test_registry_api_query_count_does_not_grow_with_the_page(
    client, city, django_assert_max_num_queries, django_assert_num_queries
):
    for n in range(12):
        group = GroupFactory(kindergarten=KindergartenFactory(city=city), birth_year=2019 + n % 3)
        place_release(group=group, count=3, at=RELEASED)
    # Uncached: count, page, the next change of access; then from the cache.
    with at(BEFORE_GENERAL), django_assert_max_num_queries(3):
        response = client.get("/api/v1/registry/", {"page_size": 100})
    with at(BEFORE_GENERAL), django_assert_num_queries(0):
        cached = client.get("/api/v1/registry/", {"page_size": 100})
    assert len(response.json()["results"]) == 36
    assert cached.content == response.content


def test_registry_summary_counts_per_kindergarten_and_access(client, world):
    with at(GENERAL):
        summary = client.get("/api/v1/registry/summary/", {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="kk").json()
    assert summary["total"] == 4
    assert summary["by_access"] == {"priority": 1, "general": 3}
    assert summary["by_kindergarten"] == [
        {"id": world["sunny"].pk, "code": "K-001", "name": "Күншуақ", "priority": 0, "general": 3, "total": 3},
        {"id": world["bird"].pk, "code": "K-002", "name": "Қарлығаш", "priority": 1, "general": 0, "total": 1},
    ]
    assert (summary["offered"], summary["offered_groups"]) == (0, [])  # a claim-mode city offers nothing


def test_registry_summary_rejects_bad_filters(client, world):
    assert client.get("/api/v1/registry/summary/", {"access": "x"}).status_code == 400


def test_openapi_schema_documents_the_registry_filters(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"] for p in schema["paths"]["/api/v1/registry/"]["get"]["parameters"]}
    assert {"city", "birth_year", "language", "group_type", "access", "kindergarten", "page"} <= parameters
    assert "/api/v1/protocols/{city}/{day}/" in schema["paths"]


# --- Page --------------------------------------------------------------------------------------------------


def interface_in_english(page_html: str, english_html: str) -> list[str]:
    """Untranslated segments, leaving out data that is the same in every language (codes, addresses)."""
    data = re.compile(r"^\(?K-\d+\)?$|Абая|Абай")
    return [s for s in untranslated_segments(page_html, english_html) if not data.search(s)]


def places_shown(response) -> int:
    """The places a registry page lists: identical places share a row (issue 13) that says how many they are."""
    return sum(int(n) for n in re.findall(r'data-count="(\d+)"', response.content.decode()))


def test_registry_page_lists_places_with_the_moment_they_go_general(client, world):
    with at(BEFORE_GENERAL):
        response = client.get("/ru/registry/")
    text = text_of(response)
    assert response.status_code == 200
    assert "Солнышко" in text and "K-001" in text and "ул. Абая, 1" in text
    assert "общий доступ с 06.05.2024 18:00" in text
    assert "Найдено мест: 4" in text


def test_registry_page_filters_by_birth_year_and_access(client, world):
    with at(GENERAL):
        response = client.get("/kk/registry/", {"birth_year": "2021", "access": "priority"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-place="{world["places"]["bird_2021_ru_special"][0].pk}"' in html
    assert html.count("data-place=") == 1
    assert "Қарлығаш" in text_of(response)
    assert "Табылған орындар: 1" in text_of(response)


def test_registry_page_shows_counts_per_kindergarten(client, world):
    with at(GENERAL):
        response = client.get("/ru/registry/")
    html = response.content.decode()
    table = html[html.index('counts-table"') : html.index("</table>")]
    rows = [visible_text(row) for row in table.split("<tr>")[2:]]
    assert rows == [["Солнышко", "(K-001)", "0", "3", "3"], ["Ласточка", "(K-002)", "1", "0", "1"]]


def test_registry_page_labels_cohorts_with_their_summer_age(client, world):
    CohortWindowFactory(schedule__city=world["city"], birth_year=2021, age=3)
    with at(BEFORE_GENERAL):
        response = client.get("/kk/registry/")
    assert "2021 (3 жас)" in text_of(response)


def test_registry_page_shows_the_empty_state(client, city):
    response = client.get("/ru/registry/")
    assert "Сейчас нет свободных мест, подходящих под эти фильтры." in text_of(response)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"birth_year": "abc"}, "Выберите год рождения из списка."),
        ({"kindergarten": "999999"}, "В этом городе нет такого детского сада."),
        ({"city": "atlantis"}, "Такого города нет."),
        ({"access": "everyone"}, "Выберите приоритетный или общий доступ."),
    ],
)
def test_registry_page_answers_400_with_the_error_and_ignores_the_bad_filter(client, world, params, message):
    with at(BEFORE_GENERAL):
        response = client.get("/ru/registry/", params)
    assert response.status_code == 400
    assert message in text_of(response)
    assert places_shown(response) == 4


def test_registry_page_shows_identical_places_as_one_row_with_their_number(client, city):
    kindergarten = KindergartenFactory(city=city, name_ru="Балапан")
    group = GroupFactory(kindergarten=kindergarten, birth_year=2021, language=Language.KK, name_ru="Младшая группа")
    first, *_ = place_release(group=group, count=4, at=RELEASED)
    later = place_release(group=group, count=2, at=RELEASED + dt.timedelta(days=1))  # goes general a day later
    with at(BEFORE_GENERAL):
        response = client.get("/ru/registry/")
    html = response.content.decode()
    assert html.count("data-place=") == 2
    assert f'data-place="{first.pk}" data-count="4"' in html
    assert f'data-place="{later[0].pk}" data-count="2"' in html
    assert "4 места" in text_of(response) and "2 места" in text_of(response)
    assert "Найдено мест: 6" in text_of(response)


def test_registry_page_paginates_and_keeps_the_filters(client, city):
    kindergarten = KindergartenFactory(city=city)
    for year in range(2000, 2030):
        place_release(group=GroupFactory(kindergarten=kindergarten, birth_year=year, language=Language.RU), count=2,
                      at=RELEASED)  # fmt: skip
    with at(BEFORE_GENERAL):
        first = client.get("/ru/registry/", {"language": "ru"})
        second = client.get("/ru/registry/", {"language": "ru", "page": 2})
    assert first.content.decode().count("data-place=") == 25 and places_shown(first) == 50
    assert "language=ru&amp;page=2" in first.content.decode()
    assert second.content.decode().count("data-place=") == 5


def test_registry_page_query_count_is_bounded(client, city, django_assert_max_num_queries, django_assert_num_queries):
    for _ in range(10):
        place_release(group=GroupFactory(kindergarten=KindergartenFactory(city=city)), count=3, at=RELEASED)
    # Uncached: cities, cohorts and their windows, kindergartens, count, page, its places, summary (2), next change.
    with at(BEFORE_GENERAL), django_assert_max_num_queries(10):
        response = client.get("/ru/registry/")
    # Cached: cities, choices and results from the cache.
    with at(BEFORE_GENERAL), django_assert_num_queries(0):
        cached = client.get("/ru/registry/")
    assert response.content.decode().count("data-place=") == 10 and places_shown(response) == 30
    assert places_shown(cached) == 30


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_registry_page_leaves_no_english_in_russian_and_kazakh(client, world, language):
    CohortWindowFactory(schedule__city=world["city"], birth_year=2021, age=3)
    with at(BEFORE_GENERAL):
        english = client.get("/en/registry/").content.decode()
        translated = client.get(f"/{language}/registry/").content.decode()
        invalid = client.get(f"/{language}/registry/", {"birth_year": "abc", "kindergarten": "0"}).content.decode()
    english_invalid = client.get("/en/registry/", {"birth_year": "abc", "kindergarten": "0"}).content.decode()
    assert interface_in_english(translated, english) == []
    assert interface_in_english(invalid, english_invalid) == []
