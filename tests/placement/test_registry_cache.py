"""The registry's cache (issue 6): an answer is never staler than the city's last place event, never kept past the
moment one of its places changes access by the clock, and never mixes languages, filters or parents."""

import datetime as dt
import re

import pytest
from django.db.models import Max

from placement import registry_cache
from placement.models import Place, PlaceEvent
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from placement.services.referrals import referral_decline, referral_enrol
from schedules.models import CalendarOverride
from tests.clock import astana, at
from tests.factories import (
    AdminFactory,
    CityFactory,
    CohortWindowFactory,
    GroupFactory,
    KindergartenFactory,
    KindergartenShiftFactory,
    StaffFactory,
    applicant,
)

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
IN_PRIORITY = astana(2024, 5, 3, 12, 0)
BEFORE_GENERAL = astana(2024, 5, 6, 17, 59)
GENERAL = astana(2024, 5, 6, 18, 0)
IN_GENERAL = astana(2024, 5, 7, 12, 0)

API = "/api/v1/registry/"
SUMMARY = "/api/v1/registry/summary/"


@pytest.fixture
def city():
    return CityFactory(temirtau=True)


@pytest.fixture
def kindergarten(city):
    return KindergartenFactory(city=city, code="K-001", name_ru="Солнышко", name_kk="Күншуақ", name_en="Sunny")


def ids(response) -> list[int]:
    return sorted(item["id"] for item in response.json()["results"])


def page_places(response) -> int:
    """The places a registry page lists (identical places share a row that says how many, issue 13)."""
    return sum(int(n) for n in re.findall(r'data-count="(\d+)"', response.content.decode()))


@pytest.fixture(autouse=True)
def _fresh_city_ids():
    """The per-process slug -> id memo would name a city of an earlier test (ids are reused after a rollback)."""
    registry_cache._city_ids.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what the block commits as a real commit would (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def cached(client, django_assert_num_queries, path, params=None, queries=0, **headers):
    """The answer of a request repeated at once: from the cache, in exactly `queries` queries."""
    first = client.get(path, params or {}, **headers)
    with django_assert_num_queries(queries):
        again = client.get(path, params or {}, **headers)
    assert (again.status_code, results(again)) == (first.status_code, results(first))
    return again


def results(response) -> bytes:
    """The API's body, or the page's counts and places (the rest of a page carries per-request tokens)."""
    content = response.content
    if response["Content-Type"].startswith("text/html"):
        start = content.index(b'<section aria-labelledby="counts-title">')
        content = content[start : content.rindex(b"</section>")]
    return content


# --- From the cache, in one query ------------------------------------------------------------------------


def test_a_repeated_api_request_is_answered_from_the_cache_without_a_query(
    client, city, group, django_assert_max_num_queries, django_assert_num_queries
):
    place_release(group=group, count=3, at=RELEASED)
    with at(IN_PRIORITY):
        # Uncached: the city's id (once per process), the city, count, page,
        # next change of access.
        with django_assert_max_num_queries(6):
            client.get(API, {"city": "temirtau", "language": "kk"})
        response = cached(client, django_assert_num_queries, API, {"city": "temirtau", "language": "kk"})
        summary = cached(client, django_assert_num_queries, SUMMARY, {"city": "temirtau"})
        everywhere = cached(client, django_assert_num_queries, API)
    assert response.json()["count"] == 3
    assert summary.json()["total"] == 3
    assert everywhere.json()["count"] == 3


def test_a_repeated_page_request_is_answered_from_the_cache_without_a_query(
    client, city, group, django_assert_num_queries
):
    place_release(group=group, count=3, at=RELEASED)
    with at(IN_PRIORITY):
        response = cached(client, django_assert_num_queries, "/ru/registry/")
    assert page_places(response) == 3
    assert "Найдено мест: 3" in response.content.decode()


def test_an_invalid_request_is_never_cached(client, city, group, django_assert_max_num_queries):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_PRIORITY):
        assert client.get(API, {"city": "temirtau", "access": "x"}).status_code == 400
        assert list(client.get(API, {"city": "temirtau", "access": "x"}).json()["detail"]) == ["access"]
        assert client.get(API, {"city": "atlantis"}).status_code == 400
        assert client.get(API, {"city": "temirtau", "page": 9}).status_code == 404


# --- Right after each kind of place event ----------------------------------------------------------------


def test_a_cached_answer_shows_a_release_at_once(client, city, group, django_assert_num_queries, committed):
    first = place_release(group=group, count=1, at=RELEASED)
    with at(IN_PRIORITY):
        cached(client, django_assert_num_queries, API, {"city": "temirtau"})
        cached(client, django_assert_num_queries, "/ru/registry/")
        with committed():
            second = place_release(group=group, count=2, at=IN_PRIORITY)
        api = client.get(API, {"city": "temirtau"})
        page = client.get("/ru/registry/")
    assert ids(api) == sorted(p.pk for p in first + second)
    assert page_places(page) == 3


def test_a_cached_answer_drops_a_withdrawn_place_at_once(client, city, group, django_assert_num_queries, committed):
    kept, withdrawn = place_release(group=group, count=2, at=RELEASED)
    with at(IN_PRIORITY):
        cached(client, django_assert_num_queries, API, {"city": "temirtau"})
        cached(client, django_assert_num_queries, SUMMARY, {"city": "temirtau"})
        cached(client, django_assert_num_queries, "/ru/registry/")
        with committed():
            place_withdraw(place=withdrawn, reason="Ремонт", at=IN_PRIORITY)
        api = client.get(API, {"city": "temirtau"})
        summary = client.get(SUMMARY, {"city": "temirtau"})
        page = client.get("/ru/registry/")
    assert ids(api) == [kept.pk]
    assert summary.json()["total"] == 1
    assert f'data-place="{withdrawn.pk}"' not in page.content.decode()
    assert page_places(page) == 1


def test_a_cached_answer_drops_a_taken_place_at_once(client, city, group, django_assert_num_queries, committed):
    taken, free = place_release(group=group, count=2, at=RELEASED)
    parent, application = applicant(city)
    with at(IN_GENERAL):
        cached(client, django_assert_num_queries, API, {"city": "temirtau", "access": "general"})
        with committed():
            place_claim(place=taken, application=application, by=parent, at=IN_GENERAL)
        api = client.get(API, {"city": "temirtau", "access": "general"})
    assert ids(api) == [free.pk]


def test_a_cached_answer_shows_a_declined_place_back_at_once(client, city, group, django_assert_num_queries, committed):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    declined = astana(2024, 5, 8, 11, 0)
    with at(declined):
        assert cached(client, django_assert_num_queries, API, {"city": "temirtau"}).json()["count"] == 0
        with committed():
            referral_decline(referral=referral, by=parent, at=declined)
        api = client.get(API, {"city": "temirtau"})
    assert ids(api) == [place.pk]
    assert api.json()["results"][0]["access"] == "priority"


def test_a_cached_answer_shows_a_place_the_18_00_run_returns_from_an_expired_referral(
    client, city, group, django_assert_num_queries, committed
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    after_deadline = referral.valid_until + dt.timedelta(minutes=5)
    with at(after_deadline):
        assert cached(client, django_assert_num_queries, API, {"city": "temirtau"}).json()["count"] == 0
        with committed():
            run_daily(at=after_deadline)
        api = client.get(API, {"city": "temirtau"})
    assert ids(api) == [place.pk]


def test_the_18_00_run_moves_void_the_cached_answers_of_the_city(
    client, city, group, django_assert_num_queries, django_assert_max_num_queries, committed
):
    place_release(group=group, count=2, at=RELEASED)
    after_run = astana(2024, 5, 6, 18, 5)
    with at(after_run):
        before = cached(client, django_assert_num_queries, API, {"city": "temirtau"})
        with committed():
            run_daily(at=after_run)
        assert set(Place.objects.values_list("state", flat=True)) == {Place.State.GENERAL}
        with django_assert_max_num_queries(5) as queries:
            after = client.get(API, {"city": "temirtau"})
    assert len(queries) > 0  # recomputed: the run's `to_general` events renewed the city's token
    assert after.json() == before.json()  # access already followed the clock


def test_an_event_of_another_city_keeps_the_cached_answer(client, city, group, django_assert_num_queries, committed):
    place_release(group=group, count=1, at=RELEASED)
    elsewhere = GroupFactory(kindergarten=KindergartenFactory(city=CityFactory(slug="karaganda")))
    with at(IN_PRIORITY):
        client.get(API, {"city": "temirtau"})
        with committed():
            place_release(group=elsewhere, count=1, at=IN_PRIORITY)
        with django_assert_num_queries(0):
            response = client.get(API, {"city": "temirtau"})
        everywhere = client.get(API)
    assert response.json()["count"] == 1
    assert everywhere.json()["count"] == 2


# --- Right at a place's own moments -----------------------------------------------------------------------


def test_a_cached_place_turns_general_right_at_its_priority_until(client, city, group, django_assert_num_queries):
    [place] = place_release(group=group, count=1, at=RELEASED)
    with at(BEFORE_GENERAL):
        before = cached(client, django_assert_num_queries, API, {"city": "temirtau"})
        priority = cached(client, django_assert_num_queries, API, {"city": "temirtau", "access": "priority"})
        general = cached(client, django_assert_num_queries, API, {"city": "temirtau", "access": "general"})
        page = cached(client, django_assert_num_queries, "/ru/registry/")
    with at(GENERAL):
        after = client.get(API, {"city": "temirtau"})
        priority_after = client.get(API, {"city": "temirtau", "access": "priority"})
        general_after = client.get(API, {"city": "temirtau", "access": "general"})
        page_after = client.get("/ru/registry/")
    assert PlaceEvent.objects.filter(kind=PlaceEvent.Kind.TO_GENERAL).count() == 0  # no run, no event
    assert before.json()["results"][0]["access"] == "priority"
    assert after.json()["results"][0]["access"] == "general"
    assert (ids(priority), ids(general)) == ([place.pk], [])
    assert (ids(priority_after), ids(general_after)) == ([], [place.pk])
    assert "общий доступ с 06.05.2024 18:00" in page.content.decode()
    assert "общий доступ с" not in page_after.content.decode()


def test_a_cached_empty_answer_shows_a_scheduled_place_right_at_its_window(
    client, city, kindergarten, django_assert_num_queries
):
    CohortWindowFactory(schedule__city=city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    group = GroupFactory(kindergarten=kindergarten, birth_year=2021)
    [scheduled] = place_release(group=group, count=1, at=astana(2024, 5, 20, 12, 0))
    with at(astana(2024, 6, 2, 23, 59)):
        assert cached(client, django_assert_num_queries, API, {"city": "temirtau"}).json()["count"] == 0
        assert cached(client, django_assert_num_queries, "/ru/registry/").status_code == 200
    with at(astana(2024, 6, 3, 0, 0)):
        opened = client.get(API, {"city": "temirtau"})
        page = client.get("/ru/registry/")
    assert ids(opened) == [scheduled.pk]
    assert page_places(page) == 1


# --- Variants never mix -----------------------------------------------------------------------------------


def test_languages_do_not_mix(client, city, group, django_assert_num_queries):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_PRIORITY):
        kk = cached(client, django_assert_num_queries, API, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="kk")
        ru = cached(client, django_assert_num_queries, API, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="ru")
        summary_kk = client.get(SUMMARY, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="kk")
        summary_en = client.get(SUMMARY, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="en")
        page_kk = cached(client, django_assert_num_queries, "/kk/registry/")
        page_ru = cached(client, django_assert_num_queries, "/ru/registry/")
    assert kk.json()["results"][0]["kindergarten"]["name"] == "Күншуақ"
    assert ru.json()["results"][0]["kindergarten"]["name"] == "Солнышко"
    assert summary_kk.json()["by_kindergarten"][0]["name"] == "Күншуақ"
    assert summary_en.json()["by_kindergarten"][0]["name"] == "Sunny"
    assert "Табылған орындар: 1" in page_kk.content.decode() and "Күншуақ" in page_kk.content.decode()
    assert "Найдено мест: 1" in page_ru.content.decode() and "Солнышко" in page_ru.content.decode()


def test_filters_and_pages_do_not_mix(client, city, kindergarten, django_assert_num_queries):
    kk = place_release(group=GroupFactory(kindergarten=kindergarten, language="kk"), count=2, at=RELEASED)
    # Thirty rows: identical places would share one (issue 13), so each is of a birth year of its own.
    ru = [
        place
        for year in range(1990, 2020)
        for place in place_release(
            group=GroupFactory(kindergarten=kindergarten, language="ru", birth_year=year), count=1, at=RELEASED
        )
    ]
    with at(IN_PRIORITY):
        only_kk = cached(client, django_assert_num_queries, API, {"city": "temirtau", "language": "kk"})
        only_ru = cached(client, django_assert_num_queries, API, {"city": "temirtau", "language": "ru"})
        page_size = client.get(API, {"city": "temirtau", "language": "ru", "page_size": 10, "page": 3})
        page_kk = cached(client, django_assert_num_queries, "/ru/registry/", {"language": "kk"})
        page_ru = cached(client, django_assert_num_queries, "/ru/registry/", {"language": "ru"})
        page_ru_2 = cached(client, django_assert_num_queries, "/ru/registry/", {"language": "ru", "page": 2})
    assert ids(only_kk) == sorted(p.pk for p in kk)
    assert ids(only_ru) == sorted(p.pk for p in ru)
    assert ids(page_size) == sorted(p.pk for p in ru)[20:30]
    assert (page_places(page_kk), page_places(page_ru), page_places(page_ru_2)) == (2, 25, 5)
    assert 'value="kk" selected' in page_kk.content.decode()
    assert 'value="ru" selected' in page_ru.content.decode()


def test_pagination_links_name_the_host_asked(client, city, group):
    place_release(group=group, count=3, at=RELEASED)
    with at(IN_PRIORITY):
        one = client.get(API, {"city": "temirtau", "page_size": 1}, HTTP_HOST="testserver")
        other = client.get(API, {"city": "temirtau", "page_size": 1}, HTTP_HOST="localhost")
    assert one.json()["next"].startswith("http://testserver/")
    assert other.json()["next"].startswith("http://localhost/")


def test_a_parent_who_may_take_places_gets_buttons_of_their_own_never_a_cached_page(
    client, city, group, django_assert_num_queries
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    with at(IN_GENERAL):
        anonymous = cached(client, django_assert_num_queries, "/ru/registry/")
        client.force_login(parent)
        mine = client.get("/ru/registry/")
        client.logout()
        again = client.get("/ru/registry/")
    assert 'class="button take"' not in anonymous.content.decode()
    assert f'data-application="{application.number}"' in mine.content.decode()
    assert f'data-place="{place.pk}"' in mine.content.decode()
    assert 'class="button take"' not in again.content.decode()


# --- Catalog edits, tokens, an unreachable cache ----------------------------------------------------------


def test_a_kindergarten_renamed_shows_at_once(client, city, kindergarten, group, django_capture_on_commit_callbacks):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_PRIORITY):
        before = client.get(API, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="ru")
        page_before = client.get("/ru/registry/")
        with django_capture_on_commit_callbacks(execute=True):
            kindergarten.name_ru = "Радуга"
            kindergarten.save()
        after = client.get(API, {"city": "temirtau"}, HTTP_ACCEPT_LANGUAGE="ru")
        page_after = client.get("/ru/registry/")
    assert before.json()["results"][0]["kindergarten"]["name"] == "Солнышко"
    assert after.json()["results"][0]["kindergarten"]["name"] == "Радуга"
    assert "Солнышко" in page_before.content.decode()
    assert "Солнышко" not in page_after.content.decode() and "K-001 · Радуга" in page_after.content.decode()


def test_a_group_edit_and_a_cohort_window_show_at_once(client, city, group, django_capture_on_commit_callbacks):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_PRIORITY):
        before = client.get(API, {"city": "temirtau", "language": "kk"})
        client.get("/kk/registry/")
        with django_capture_on_commit_callbacks(execute=True):
            group.language = "ru"
            group.save()
            CohortWindowFactory(schedule__city=city, birth_year=2021, age=3)
        after = client.get(API, {"city": "temirtau", "language": "kk"})
        page = client.get("/kk/registry/")
    assert before.json()["count"] == 1
    assert after.json()["count"] == 0
    assert "2021 (3 жас)" in page.content.decode()


def test_a_renewed_token_voids_an_entry(city, django_capture_on_commit_callbacks):
    lookup = registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[])
    lookup.put("test", ("x",), "stale", valid_until=None)
    assert registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[("test", ("x",))]).get("test", ("x",))
    with django_capture_on_commit_callbacks(execute=True):
        registry_cache.registry_changed(city_ids=[city.pk])
    fresh = registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[("test", ("x",))])
    assert fresh.get("test", ("x",)) is None


def test_an_entry_is_never_served_outside_its_span(city):
    until = IN_PRIORITY + dt.timedelta(hours=1)
    registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[]).put("test", ("x",), "value", valid_until=until)

    def read(moment):
        return registry_cache.Lookup(scope=city.pk, at=moment, wanted=[("test", ("x",))]).get("test", ("x",))

    assert read(IN_PRIORITY) == read(until - dt.timedelta(microseconds=1)) == "value"
    assert read(until) is None
    assert read(IN_PRIORITY - dt.timedelta(microseconds=1)) is None  # computed later than this reader's clock


def test_the_token_is_renewed_only_once_the_transaction_commits(city, django_capture_on_commit_callbacks):
    def token():
        return registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[]).token

    before = token()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        registry_cache.registry_changed(city_ids=[city.pk])
    assert token() == before
    for callback in callbacks:
        callback()
    assert token() != before


class Unreachable:
    """A cache whose server is down: every call raises, as the Redis client does."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache unreachable")

        return fail


def test_the_registry_is_served_from_the_database_when_the_cache_is_unreachable(
    client, city, group, monkeypatch, django_capture_on_commit_callbacks
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    monkeypatch.setattr(registry_cache, "cache", Unreachable())
    with at(IN_PRIORITY):
        api = client.get(API, {"city": "temirtau"})
        summary = client.get(SUMMARY, {"city": "temirtau"})
        page = client.get("/ru/registry/")
        with django_capture_on_commit_callbacks(execute=True):
            place_withdraw(place=place, reason="Ремонт", at=IN_PRIORITY)
        after = client.get(API, {"city": "temirtau"})
    assert (api.status_code, summary.status_code, page.status_code) == (200, 200, 200)
    assert ids(api) == [place.pk] and summary.json()["total"] == 1 and page_places(page) == 1
    assert after.json()["count"] == 0


# --- Every path that writes a place event renews the city's token ------------------------------------------


def test_every_path_that_writes_a_place_event_renews_the_citys_token(city, group, django_capture_on_commit_callbacks):
    """Walks release, withdrawal, the 18:00 moves, claim, decline, expiry, enrolment, a cabinet block and the
    re-timing by an override and a shift; after
    each step that wrote an event (the latest id moved), the token must have been renewed on commit."""

    def token() -> str:
        return registry_cache.Lookup(scope=city.pk, at=IN_PRIORITY, wanted=[]).token

    def step(name, action):
        before_id, before_token = PlaceEvent.objects.aggregate(last=Max("pk"))["last"], token()
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        wrote = PlaceEvent.objects.aggregate(last=Max("pk"))["last"] != before_id
        assert wrote, f"{name} wrote no place event: the walk is wrong"
        assert token() != before_token, f"{name} wrote a place event but did not renew the registry's token"
        return result

    window = CohortWindowFactory(
        schedule__city=city,
        schedule__campaign_start=dt.date(2024, 5, 1),
        birth_year=2020,
        priority_start=dt.date(2024, 5, 13),
    )
    scheduled_group = GroupFactory(kindergarten=group.kindergarten, birth_year=window.birth_year, language="kk")
    places = step("release", lambda: place_release(group=group, count=5, at=RELEASED))
    step("scheduled release", lambda: place_release(group=scheduled_group, count=1, at=RELEASED))
    step("withdrawal", lambda: place_withdraw(place=places[0], reason="Ремонт", at=IN_PRIORITY))
    step("18:00 move to general", lambda: run_daily(at=astana(2024, 5, 6, 18, 0), city=city))
    step("18:00 move to priority", lambda: run_daily(at=astana(2024, 5, 13, 18, 0), city=city))
    claimed_at = astana(2024, 5, 14, 12, 0)
    parent, application = applicant(city)
    referral, _ = step("claim", lambda: place_claim(place=places[1], application=application, by=parent, at=claimed_at))
    step("decline", lambda: referral_decline(referral=referral, by=parent, at=claimed_at + dt.timedelta(hours=1)))
    other, other_application = applicant(city, 1)
    expiring, _ = step(
        "claim", lambda: place_claim(place=places[2], application=other_application, by=other, at=claimed_at)
    )
    step("expiry", lambda: run_daily(at=expiring.valid_until + dt.timedelta(minutes=1), city=city))
    now = expiring.valid_until + dt.timedelta(hours=20)
    third, third_application = applicant(city, 2)
    enrolled, _ = step("claim", lambda: place_claim(place=places[3], application=third_application, by=third, at=now))
    staff = StaffFactory(kindergarten=group.kindergarten)
    step("enrolment", lambda: referral_enrol(referral=enrolled, by=staff, at=now))
    fourth, fourth_application = applicant(city, 3)
    step("claim", lambda: place_claim(place=places[4], application=fourth_application, by=fourth, at=now))
    step("cabinet block", lambda: cabinet_block(user=fourth, by=AdminFactory(), reason="Проверка", at=now))
    step("release", lambda: place_release(group=group, count=1, at=now))  # counted 23, 24, 27 May
    with at(now):
        step(
            "calendar override re-timing",
            lambda: CalendarOverride.objects.create(date=dt.date(2024, 5, 24), kind="holiday", legal_act="Act"),
        )
    later = CohortWindowFactory(schedule=window.schedule, birth_year=2019, priority_start=dt.date(2024, 6, 10))
    later_group = GroupFactory(kindergarten=group.kindergarten, birth_year=2019, language="kk")
    step("scheduled release", lambda: place_release(group=later_group, count=1, at=now))
    with at(now):
        step(
            "kindergarten shift re-timing",
            lambda: KindergartenShiftFactory(
                window=later, kindergarten=group.kindergarten, shifted_start=dt.date(2024, 6, 17)
            ),
        )


@pytest.mark.parametrize(
    "params",
    [
        {"city": "temirtau", "junk": "1"},  # a parameter the registry does not have
        {"city": "temirtau", "birth_year": "02021"},  # another spelling of a cohort
        {"city": "temirtau", "page_size": "abc"},  # a value the pagination ignores
    ],
)
@pytest.mark.parametrize("path", [API, "/ru/registry/"])
def test_requests_not_in_the_canonical_spelling_are_answered_but_never_stored(
    client, group, django_assert_max_num_queries, params, path
):
    """Otherwise anyone could fill the cache (and the Redis of the task queue) with variants of one request."""
    with at(IN_PRIORITY):
        place_release(group=group, count=2, at=RELEASED)
        client.get(path, params)
        with django_assert_max_num_queries(50) as context:
            again = client.get(path, params)
    assert again.status_code in (200, 400)
    assert len(context.captured_queries) > 0, "a request outside the canonical spelling was served from the cache"


def test_a_refused_page_is_never_stored(client, group, django_assert_max_num_queries):
    with at(IN_PRIORITY):
        place_release(group=group, count=1, at=RELEASED)
        first = client.get("/ru/registry/", {"city": "temirtau", "access": "closed"})  # canonical, but refused
        with django_assert_max_num_queries(50) as context:
            client.get("/ru/registry/", {"city": "temirtau", "access": "closed"})
    assert first.status_code == 400
    assert len(context.captured_queries) > 0


def test_a_kindergarten_moved_to_another_city_leaves_the_old_citys_cache_too(
    city, kindergarten, django_capture_on_commit_callbacks
):
    other = CityFactory(slug="karaganda")

    def token(scope) -> str:
        return registry_cache.Lookup(scope=scope, at=IN_PRIORITY, wanted=[]).token

    before = token(city.pk)
    kindergarten.city = other
    with django_capture_on_commit_callbacks(execute=True):
        kindergarten.save()
    assert token(city.pk) != before, "the old city's registry still lists the kindergarten"
