"""Staff API: /api/v1/staff/places/, /places/<id>/withdraw/ and /events/ (issue 3, staff)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from placement.models import Place, PlaceEvent
from placement.services.claims import place_claim
from placement.services.places import place_release, place_withdraw
from placement.services.referrals import referral_decline
from tests.clock import astana, at
from tests.factories import AdminFactory, CohortWindowFactory, UserFactory, applicant
from tests.rows import database_state

pytestmark = pytest.mark.django_db

RELEASED_AT = astana(2024, 5, 2, 10, 0)
IN_PRIORITY = astana(2024, 5, 3, 11, 0)
IN_GENERAL = astana(2024, 5, 10, 11, 0)
PLACES = "/api/v1/staff/places/"
EVENTS = "/api/v1/staff/events/"


def withdraw_url(place) -> str:
    return f"/api/v1/staff/places/{place.pk}/withdraw/"


@pytest.fixture
def now():
    return IN_PRIORITY


@pytest.fixture
def place(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=RELEASED_AT)
    return place


def every_endpoint(group, place) -> list[tuple[str, str, dict]]:
    scope = f"?kindergarten={group.kindergarten_id}"
    return [
        ("get", PLACES + scope, {}),
        ("post", PLACES, {"group": group.pk, "count": 2}),
        ("post", withdraw_url(place), {"reason": "Ремонт"}),
        ("get", EVENTS + scope, {}),
    ]


ENDPOINT_IDS = ["list-places", "release", "withdraw", "events"]


# --- Who may call it -------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(4), ids=ENDPOINT_IDS)
def test_another_kindergartens_staff_gets_403_on_every_staff_endpoint_and_nothing_changes(
    api_as, clock, group, place, other_staff, index
):
    method, address, data = every_endpoint(group, place)[index]
    before = database_state()
    response = getattr(api_as(other_staff), method)(address, data, format="json")
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_kindergarten"
    assert database_state() == before


@pytest.mark.parametrize("index", range(4), ids=ENDPOINT_IDS)
def test_parent_gets_403_on_every_staff_endpoint_and_nothing_changes(api_as, clock, group, place, index):
    method, address, data = every_endpoint(group, place)[index]
    before = database_state()
    response = getattr(api_as(UserFactory()), method)(address, data, format="json")
    assert response.status_code == 403
    assert database_state() == before


@pytest.mark.parametrize("index", range(4), ids=ENDPOINT_IDS)
def test_anonymous_caller_gets_401_on_every_staff_endpoint(api_as, clock, group, place, index):
    method, address, data = every_endpoint(group, place)[index]
    before = database_state()
    response = getattr(api_as(None), method)(address, data, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert database_state() == before


def test_session_authentication_works_and_needs_the_csrf_token(clock, group, staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.get(PLACES).status_code == 200
    assert client.post(PLACES, {"group": group.pk, "count": 1}, format="json").status_code == 403
    assert Place.objects.count() == 0


# --- Release ---------------------------------------------------------------------------------------------


def test_staff_releases_places_and_gets_them_back_with_201(api_as, clock, group, staff):
    response = api_as(staff).post(PLACES, {"group": group.pk, "count": 2}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert len(body) == 2
    created = Place.objects.get(pk=body[0]["id"])
    assert body[0] == {
        "id": body[0]["id"],
        "group": group.pk,
        "kindergarten": group.kindergarten_id,
        "birth_year": 2021,
        "language": "kk",
        "group_type": "general",
        "state": "priority",
        "access": "priority",
        "released_at": "2024-05-03T11:00:00+05:00",
        "entered_priority_at": "2024-05-03T11:00:00+05:00",
        "priority_until": timezone.localtime(created.priority_until).isoformat(),
        "withdrawn_at": None,
        "withdraw_reason": "",
    }
    assert Place.objects.filter(group=group).count() == 2


def test_release_during_the_summer_campaign_answers_with_scheduled_places(api_as, group, staff):
    CohortWindowFactory(schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    with at(astana(2024, 5, 27, 11, 0)):
        response = api_as(staff).post(PLACES, {"group": group.pk, "count": 1}, format="json")
    [place] = response.json()
    assert (place["state"], place["access"]) == ("scheduled", "scheduled")
    assert place["entered_priority_at"] == "2024-06-03T00:00:00+05:00"
    assert place["priority_until"] == "2024-06-05T18:00:00+05:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 201}, "count"),
        ({"count": "abc"}, "count"),
        ({}, "count"),
        ({"group": 999999, "count": 1}, "group"),
        ({"group": "abc", "count": 1}, "group"),
    ],
)
def test_release_refuses_bad_input_with_400_and_a_field_error(api_as, clock, group, staff, body, field):
    body = {"group": group.pk, **body}
    response = api_as(staff).post(PLACES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert Place.objects.count() == 0


def test_department_admin_releases_into_any_kindergarten(api_as, clock, group):
    response = api_as(AdminFactory()).post(PLACES, {"group": group.pk, "count": 1}, format="json")
    assert response.status_code == 201


# --- Withdraw --------------------------------------------------------------------------------------------


def test_staff_withdraws_a_place_in_priority_access(api_as, place, staff):
    with at(IN_PRIORITY):
        response = api_as(staff).post(withdraw_url(place), {"reason": "Ремонт группы"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["access"]) == (place.pk, "withdrawn", None)
    assert body["withdraw_reason"] == "Ремонт группы"
    assert body["withdrawn_at"] == "2024-05-03T11:00:00+05:00"
    assert PlaceEvent.objects.get(place=place, kind="withdrawn").access == "priority"


def test_staff_withdraws_a_place_in_general_access(api_as, place, staff):
    with at(IN_GENERAL):
        response = api_as(staff).post(withdraw_url(place), {"reason": "Карантин"}, format="json")
    assert response.status_code == 200
    assert PlaceEvent.objects.get(place=place, kind="withdrawn").access == "general"


def test_withdrawing_a_place_no_longer_withdrawable_is_409_and_changes_nothing(api_as, clock, place, staff):
    place_withdraw(place=place, by=staff, reason="Ремонт", at=IN_PRIORITY)
    before = database_state()
    response = api_as(staff).post(withdraw_url(place), {"reason": "Ещё раз"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert response.json() == {
        "reason": "not_withdrawable",
        "detail": "This place can no longer be withdrawn: it has been taken, enrolled or withdrawn already.",
    }
    assert database_state() == before


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_withdrawal_without_a_proper_reason_is_400(api_as, clock, place, staff, body):
    response = api_as(staff).post(withdraw_url(place), body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    place.refresh_from_db()
    assert place.state == "priority"


def test_withdrawing_an_unknown_place_is_404(api_as, clock, staff):
    assert api_as(staff).post("/api/v1/staff/places/999999/withdraw/", {"reason": "x"}).status_code == 404


# --- Lists -----------------------------------------------------------------------------------------------


def test_staff_lists_only_their_live_places(api_as, clock, group, place, staff, other_staff):
    [withdrawn] = place_release(group=group, count=1, by=staff, at=RELEASED_AT)
    place_withdraw(place=withdrawn, by=staff, reason="Ремонт", at=IN_PRIORITY)
    [other_group] = other_staff.kindergarten.groups.all()
    place_release(group=other_group, count=1, by=other_staff, at=RELEASED_AT)
    response = api_as(staff).get(PLACES)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [place.pk]


def test_staff_events_are_their_own_newest_first_and_paginated(api_as, clock, group, staff, other_staff):
    place_release(group=group, count=55, by=staff, at=RELEASED_AT)
    [other_group] = other_staff.kindergarten.groups.all()
    place_release(group=other_group, count=1, by=other_staff, at=IN_PRIORITY)
    first = api_as(staff).get(EVENTS).json()
    assert first["count"] == 55
    assert len(first["results"]) == 50 and first["next"]
    assert {e["kindergarten"] for e in first["results"]} == {group.kindergarten_id}
    assert first["results"][0]["kind"] == "released"
    assert first["results"][0]["by"] == staff.username


def test_staff_events_give_the_portals_own_reasons_in_the_requests_language(api_as, clock, group, staff, city):
    [place] = place_release(group=group, count=1, by=staff, at=RELEASED_AT)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    referral_decline(referral=referral, by=parent, at=IN_GENERAL)
    place_withdraw(place=place, by=staff, reason="Ремонт группы", at=IN_GENERAL)
    for language, declined in (("ru", "Отказ родителя"), ("kk", "Ата-ананың бас тартуы")):
        events = api_as(staff, language=language).get(EVENTS).json()["results"]
        reasons = [(e["kind"], e["reason"]) for e in events[:2]]
        assert reasons == [("withdrawn", "Ремонт группы"), ("returned", declined)]


def test_department_admin_lists_a_chosen_kindergarten(api_as, clock, place, other_staff):
    admin_client = api_as(AdminFactory())
    response = admin_client.get(PLACES, {"kindergarten": other_staff.kindergarten_id})
    assert response.json()["count"] == 0
    assert admin_client.get(PLACES, {"kindergarten": place.kindergarten_id}).json()["count"] == 1


# --- Schema ----------------------------------------------------------------------------------------------


def test_schema_documents_the_staff_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    release = paths["/api/v1/staff/places/"]["post"]
    assert "ReleaseRequest" in release["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(release["responses"]) >= {"201", "400", "401", "403"}
    withdraw = paths["/api/v1/staff/places/{id}/withdraw/"]["post"]
    assert set(withdraw["responses"]) >= {"200", "400", "403", "404", "409"}
    assert "/api/v1/staff/events/" in paths
