"""A terminated contract frees its place at once (issue 12, scenario 5; DOMAIN.md, Places 7): the place returns to
priority access as a new release and shows in its kindergarten's lists and the registry; it can be taken and
enrolled again. On PostgreSQL, through the cabinet block, the registry API and the staff API."""

import pytest

from placement.models import Contract, Place, PlaceEvent, Referral
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release
from placement.services.referrals import referral_enrol
from tests.clock import astana, at
from tests.factories import AdminFactory, StaffFactory, applicant

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)  # general from 6 May 18:00
ENROLLED = astana(2024, 5, 7, 11, 0)
BLOCKED = astana(2024, 5, 14, 10, 0)  # Tue: counted 15, 16, 17 May


def test_a_contract_terminated_by_a_block_returns_its_place_to_priority_as_a_new_release(
    postgres, group, api_as, client
):
    city = group.kindergarten.city
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=ENROLLED)
    staff = StaffFactory(kindergarten=group.kindergarten)
    contract = referral_enrol(referral=referral, by=staff, at=ENROLLED)

    block = cabinet_block(user=parent, by=AdminFactory(), reason="Передал доступ", at=BLOCKED)

    assert block.contracts_terminated == 1
    contract.refresh_from_db()
    place.refresh_from_db()
    assert (contract.status, contract.terminated_at) == (Contract.Status.TERMINATED, BLOCKED)
    assert Referral.objects.get(pk=referral.pk).status == Referral.Status.TERMINATED
    assert (place.state, place.released_at, place.priority_until) == (
        Place.State.PRIORITY,
        BLOCKED,
        astana(2024, 5, 17, 18, 0),
    )
    returned = PlaceEvent.objects.filter(place=place).latest("pk")
    assert (returned.kind, returned.reason, returned.at, returned.access) == (
        PlaceEvent.Kind.RETURNED,
        "contract_terminated",
        BLOCKED,
        "priority",
    )
    with at(BLOCKED):
        registry = api_as().get("/api/v1/registry/", {"city": city.slug}).json()["results"]
        assert [(item["id"], item["access"]) for item in registry] == [(place.pk, "priority")]
        staff_places = api_as(staff).get("/api/v1/staff/places/").json()
    assert place.pk in [item["id"] for item in staff_places["results"]]

    run_daily(at=astana(2024, 5, 14, 18, 0))
    page = client.get(f"/ru/protocol/{city.slug}/2024-05-14/").content.decode()
    assert "Договор расторгнут" in page and "contract_terminated" not in page

    # The freed place is an ordinary place again: another child can take it and be enrolled.
    other, other_application = applicant(city, 5)
    with at(BLOCKED):
        again, _ = place_claim(place=place, application=other_application, by=other, at=BLOCKED)
        referral_enrol(referral=again, by=staff, at=BLOCKED)
    assert Place.objects.get(pk=place.pk).state == Place.State.ENROLLED
