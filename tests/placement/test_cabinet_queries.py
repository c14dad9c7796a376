"""The cabinet page and the `me` API lists read a family in a constant number of queries, whatever its number of
children, applications and referrals (issue 6, Queue position: "the cabinet page in a constant number of queries
... (a test counts them)"), and the batched positions are queue_position's."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from placement.models import Application
from placement.selectors.parents import parent_applications
from placement.selectors.queue import applications_with_positions, queue_position
from placement.services.applications import application_withdraw
from placement.services.claims import place_claim
from placement.services.places import place_release
from placement.services.referrals import referral_decline, referral_enrol
from tests.clock import astana, at
from tests.factories import (
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    GroupFactory,
    ParentFactory,
    RepresentationFactory,
    StaffFactory,
)
from tests.i18n import url

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
IN_GENERAL = astana(2024, 5, 7, 12, 0)
LATER = astana(2024, 5, 8, 12, 0)
LISTS = ("/api/v1/me/applications/", "/api/v1/me/children/", "/api/v1/me/referrals/")


def applied(minutes: int) -> dt.datetime:
    return astana(2023, 1, 1, 9, 0) + dt.timedelta(minutes=minutes)


@pytest.fixture
def cities():
    return CityFactory(slug="temirtau"), CityFactory(slug="karaganda", queue_general_per_priority=3)


@pytest.fixture
def others(cities):
    """Other families queued in every cohort used here, in every category, so positions are not all 1."""
    someone = ParentFactory()  # one user for all (a password hash each would cost seconds)
    for n, (city, year, privilege) in enumerate(
        (city, year, privilege)
        for city in cities
        for year in (2021, 2022)
        for privilege in ("none", "none", "priority", "extraordinary", "none")
    ):
        child = ChildFactory(birth_date=dt.date(year, 2, 1))
        ApplicationFactory(parent=someone, city=city, child=child, privilege=privilege, applied_at=applied(10 * n))


def family(n_children: int) -> tuple:
    parent = ParentFactory()
    children = []
    for i in range(n_children):
        child = ChildFactory(first_name=f"Ребёнок {i}", birth_date=dt.date(2021 + i % 2, 3, 1))
        # The last child of a big family is still waiting for the department to confirm the representation.
        status = "pending" if n_children > 1 and i == n_children - 1 else "confirmed"
        RepresentationFactory(parent=parent, child=child, status=status)
        children.append(child)
    return parent, children


@pytest.fixture
def small(cities, others):
    """One child, one queued application."""
    parent, [child] = family(1)
    ApplicationFactory(parent=parent, child=child, city=cities[0], applied_at=applied(15))
    return parent


@pytest.fixture
def big(cities, others):
    """Four children and twelve applications in two cities and two cohorts, every category and status, with a
    live referral, a declined one and an enrolled one (a contract)."""
    temirtau, karaganda = cities
    parent, children = family(4)
    group = GroupFactory(kindergarten__city=temirtau, birth_year=2021, language="kk", group_type="general")
    places = place_release(group=group, count=3, at=RELEASED)
    privileges = ("none", "priority", "extraordinary", "none")
    applications = []
    for i, child in enumerate(children):
        for j, city in enumerate(cities):
            privilege = privileges[(i + j) % 4]
            at = applied(7 * i + j)
            application = ApplicationFactory(parent=parent, child=child, city=city, privilege=privilege, applied_at=at)
            applications.append(application)
    # Four more, withdrawn: the history the cabinet shows too.
    for child in children:
        ApplicationFactory(parent=parent, child=child, city=karaganda, applied_at=applied(1), status="withdrawn")
    # Children 0 and 2 (born 2021, queued in Temirtau) take places; 0 enrols, 2 declines and returns.
    enrolled, _ = place_claim(place=places[0], application=applications[0], by=parent, at=IN_GENERAL)
    referral_enrol(referral=enrolled, by=StaffFactory(kindergarten=group.kindergarten), at=IN_GENERAL)
    declined, _ = place_claim(place=places[1], application=applications[4], by=parent, at=IN_GENERAL)
    referral_decline(referral=declined, by=parent, at=IN_GENERAL + dt.timedelta(minutes=5))
    applications[4].refresh_from_db()  # back in the queue
    live, _ = place_claim(place=places[2], application=applications[4], by=parent, at=LATER - dt.timedelta(hours=1))
    application_withdraw(application=applications[3], by=parent)
    assert live.status == "live" and Application.objects.filter(parent=parent).count() == 12
    return parent


def page_queries(client) -> tuple[int, str]:
    with at(LATER), CaptureQueriesContext(connection) as captured:
        response = client.get(url("cabinet"))
    assert response.status_code == 200
    return len(captured), response.content.decode()


def api_queries(client, path: str) -> tuple[int, list]:
    with at(LATER), CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured), response.json()


def test_the_cabinet_page_costs_the_same_queries_for_one_application_and_for_four_children_with_twelve(
    logged_in, small, big
):
    small_count, _ = page_queries(logged_in(small))
    big_count, big_html = page_queries(logged_in(big))
    assert big_html.count('class="child-card"') == 4 and big_html.count("data-number=") == 12
    assert 'class="referral-card"' in big_html and "contracts-table" in big_html
    assert big_count == small_count, (small_count, big_count)


@pytest.mark.parametrize("path", LISTS)
def test_each_me_list_costs_the_same_queries_for_one_application_and_for_four_children_with_twelve(
    api_as, small, big, path
):
    small_count, _ = api_queries(api_as(small), path)
    big_count, body = api_queries(api_as(big), path)
    assert body, "the big family's list is not empty"
    assert big_count == small_count, (small_count, big_count)


def test_batched_positions_are_queue_positions_in_every_category_status_city_and_cohort(big, small):
    applications = Application.objects.filter(parent__in=[big, small]).select_related("city")
    with CaptureQueriesContext(connection) as captured:
        batched = applications_with_positions(applications)
    assert len(captured) == 1
    assert {a.queue_category for a in batched} == {0, 1, 2}
    assert {a.status for a in batched} >= {"queued", "referred", "withdrawn"}
    assert len({(a.city_id, a.birth_year) for a in batched if a.position}) == 4
    assert [a.position for a in batched] == [queue_position(a) for a in batched]
    assert any(a.position and a.position > 1 for a in batched)


def test_the_me_applications_list_gives_the_same_positions_as_the_single_lookup(api_as, big):
    _, body = api_queries(api_as(big), "/api/v1/me/applications/")
    positions = {row["number"]: row["position"] for row in body}
    expected = {a.number: queue_position(a) for a in Application.objects.filter(parent=big).select_related("city")}
    assert positions == expected
    assert sum(p is None for p in positions.values()) == 7  # 4 withdrawn long ago, 1 withdrawn, 1 enrolled, 1 referred


def test_the_queue_benchmark_times_the_cabinet_list_of_parents_with_several_applications(postgres, others):
    """bench/queue_position.py's cabinet part at a tiny scale: the parents it makes see their applications, and
    every read it times answers (a smoke test: nothing about speed)."""
    from bench.queue_position import cabinet_parents, cabinet_timings

    parents = cabinet_parents(count=2, per_parent=3)
    for parent in parents:
        assert len(applications_with_positions(parent_applications(parent=parent))) == 3
    timings = cabinet_timings(parents)
    assert set(timings) == {
        "floor: the list's rows",
        "applications_with_positions",
        "GET /api/v1/me/applications/",
        "GET /ru/cabinet/ (page)",
    }
    assert all(len(samples) == 2 for samples, _ in timings.values())
    assert timings["applications_with_positions"][1] == 1
