"""Staff API: /api/v1/staff/referrals/, /referrals/<number>/enrol/ and /contracts/ (issue 5, staff)."""

import datetime as dt

import pytest

from indigo.api import exception_handler
from placement.errors import ClaimRefused, NotYourKindergarten, PlaceGone, PlaceNotWithdrawable, ReferralNotLive
from placement.models import Contract, Place, PlaceEvent
from placement.services.blocks import cabinet_block
from placement.services.referrals import referral_decline
from tests.clock import astana, at
from tests.factories import AdminFactory, referral_for
from tests.rows import database_state

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)
CLAIMED = astana(2024, 5, 7, 12, 0)  # general access; valid until 2024-05-16 18:00
WITHIN_VALIDITY = astana(2024, 5, 10, 11, 0)
AFTER_DEADLINE = astana(2024, 5, 16, 18, 1)
REFERRALS = "/api/v1/staff/referrals/"
CONTRACTS = "/api/v1/staff/contracts/"


def enrol_url(number: str) -> str:
    return f"/api/v1/staff/referrals/{number}/enrol/"


@pytest.fixture
def now():
    return WITHIN_VALIDITY


@pytest.fixture
def other_group(other_staff):
    return other_staff.kindergarten.groups.get()


@pytest.fixture
def referral(group):
    return referral_for(group, released=RELEASED, claimed=CLAIMED, birth_date=dt.date(2021, 3, 1))


# --- The list --------------------------------------------------------------------------------------------------


def test_staff_list_their_kindergartens_valid_referrals_with_the_child_but_no_iin(
    api_as, clock, staff, referral, other_group
):
    referral_for(other_group, released=RELEASED, claimed=CLAIMED, minutes=1)
    response = api_as(staff).get(REFERRALS)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["number"] == referral.number
    assert row["kindergarten"] == staff.kindergarten_id
    assert row["valid_until"] == "2024-05-16T18:00:00+05:00"
    assert row["child"] == {
        "last_name": referral.child.last_name,
        "first_name": referral.child.first_name,
        "middle_name": referral.child.middle_name,
        "birth_date": "2021-03-01",
    }
    assert referral.child.iin not in response.content.decode()


def test_department_admins_list_every_kindergarten_or_the_one_they_ask_for(api_as, clock, staff, referral, other_group):
    theirs = referral_for(other_group, released=RELEASED, claimed=CLAIMED, minutes=1)
    client = api_as(AdminFactory())
    every = {row["number"] for row in client.get(REFERRALS).json()["results"]}
    assert every == {referral.number, theirs.number}
    one = client.get(REFERRALS, {"kindergarten": other_group.kindergarten_id}).json()["results"]
    assert [row["number"] for row in one] == [theirs.number]


def test_staff_asking_for_another_kindergartens_referrals_get_403(api_as, clock, staff, other_staff, referral):
    response = api_as(other_staff).get(REFERRALS, {"kindergarten": staff.kindergarten_id})
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_kindergarten"


def test_a_referral_past_its_deadline_is_not_listed(api_as, staff, referral):
    with at(AFTER_DEADLINE):
        assert api_as(staff).get(REFERRALS).json()["results"] == []


# --- Enrolment -------------------------------------------------------------------------------------------------


def test_enrol_within_validity_answers_201_with_the_contract(api_as, clock, staff, referral):
    response = api_as(staff).post(enrol_url(referral.number))
    assert response.status_code == 201
    contract = Contract.objects.get(referral=referral)
    body = response.json()
    assert body["id"] == contract.pk
    assert body["referral"] == referral.number
    assert body["status"] == "active"
    assert body["enrolled_at"] == "2024-05-10T11:00:00+05:00"
    assert "iin" not in body["child"]
    place = Place.objects.get(pk=referral.place_id)
    assert place.state == Place.State.ENROLLED
    assert place.events.filter(kind=PlaceEvent.Kind.ENROLLED).exists()
    listed = api_as(staff).get(CONTRACTS).json()["results"]
    assert [row["id"] for row in listed] == [contract.pk]


@pytest.mark.parametrize("ending", ["expired", "declined", "cancelled", "enrolled"])
def test_enrolling_a_referral_that_is_no_longer_live_answers_409_and_changes_nothing(api_as, staff, referral, ending):
    moment = WITHIN_VALIDITY
    if ending == "expired":
        moment = AFTER_DEADLINE
    elif ending == "declined":
        referral_decline(referral=referral, by=referral.parent, at=WITHIN_VALIDITY)
    elif ending == "cancelled":
        cabinet_block(user=referral.parent, by=AdminFactory(), reason="Передал доступ", at=WITHIN_VALIDITY)
    else:
        with at(WITHIN_VALIDITY):
            assert api_as(staff).post(enrol_url(referral.number)).status_code == 201
    before = database_state()
    with at(moment):
        response = api_as(staff).post(enrol_url(referral.number))
    assert response.status_code == 409
    assert response.json()["reason"] == "referral_not_live"
    assert response.json()["detail"]
    assert database_state() == before


def test_another_kindergartens_staff_get_403_and_nothing_changes(api_as, clock, other_staff, referral):
    before = database_state()
    response = api_as(other_staff).post(enrol_url(referral.number))
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_kindergarten"
    assert database_state() == before


def test_an_unknown_number_answers_404(api_as, clock, staff, referral):
    assert api_as(staff).post(enrol_url("R-AAAA-BBBB-CCCC")).status_code == 404


def test_a_department_admin_may_enrol_any_kindergartens_referral(api_as, clock, referral):
    admin = AdminFactory()
    response = api_as(admin).post(enrol_url(referral.number))
    assert response.status_code == 201
    assert response.json()["enrolled_by"] == admin.username


@pytest.mark.parametrize("who", ["anonymous", "parent"])
def test_anonymous_and_parents_are_refused_and_nothing_changes(api_as, clock, referral, who):
    client = api_as(None if who == "anonymous" else referral.parent)
    expected = 401 if who == "anonymous" else 403
    before = database_state()
    assert client.get(REFERRALS).status_code == expected
    assert client.get(CONTRACTS).status_code == expected
    assert client.post(enrol_url(referral.number)).status_code == expected
    assert database_state() == before


def test_the_schema_describes_the_staff_referral_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "get" in schema["paths"]["/api/v1/staff/referrals/"]
    enrol = schema["paths"]["/api/v1/staff/referrals/{number}/enrol/"]["post"]
    assert {"201", "403", "404", "409"} <= set(enrol["responses"])


# --- The refusal's status --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (ClaimRefused("not_head_of_queue"), 403, "not_head_of_queue"),
        (ClaimRefused("blocked"), 403, "blocked"),
        (PlaceGone("taken"), 409, "taken"),
        (ReferralNotLive(), 409, "referral_not_live"),
        (NotYourKindergarten(), 403, "not_your_kindergarten"),
        (PlaceNotWithdrawable(), 409, "not_withdrawable"),
    ],
)
def test_a_refusal_answers_with_its_own_status_and_reason(error, status, reason):
    response = exception_handler(error, {})
    assert (response.status_code, response.data["reason"]) == (status, reason)
