"""Races between different actors on the same rows (issue 7, Races), on PostgreSQL with real threads.

Each test releases its threads together from a barrier, closes their connections, and asserts one consistent end
state and no error (a deadlock would surface as an exception in a thread).
"""

import datetime as dt

import pytest

from placement.errors import ClaimRefused, PlaceGone, PlaceNotWithdrawable, ReferralNotLive
from placement.models import Application, Place, PlaceEvent, Referral
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from placement.services.referrals import referral_decline
from tests.clock import astana
from tests.conftest import run_together
from tests.factories import AdminFactory, CityFactory, GroupFactory, StaffFactory, applicant

pytestmark = pytest.mark.django_db(transaction=True)

RELEASED = astana(2024, 5, 2, 10, 0)
IN_GENERAL = astana(2024, 5, 7, 12, 0)


def test_staff_withdrawing_while_parents_claim_the_same_places(postgres):
    city = CityFactory()
    group = GroupFactory(kindergarten__city=city, birth_year=2021)
    staff = StaffFactory(kindergarten=group.kindergarten)
    places = place_release(group=group, count=8, at=RELEASED)
    parents = [applicant(city, m) for m in range(8)]
    jobs = []
    for place, (parent, application) in zip(places, parents, strict=True):
        jobs.append(lambda p=place, u=parent, a=application: place_claim(place=p, application=a, by=u, at=IN_GENERAL))
        jobs.append(lambda p=place: place_withdraw(place=p, by=staff, reason="Ремонт", at=IN_GENERAL))
    results = run_together(*jobs)
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, PlaceGone | PlaceNotWithdrawable)
    ]
    assert unexpected == []
    for place in Place.objects.filter(pk__in=[p.pk for p in places]):
        live = Referral.objects.filter(place=place, status="live").count()
        kinds = list(place.events.values_list("kind", flat=True))
        if place.state == Place.State.TAKEN:
            assert (live, kinds.count("taken"), kinds.count("withdrawn")) == (1, 1, 0)
        else:
            assert place.state == Place.State.WITHDRAWN
            assert (live, kinds.count("taken"), kinds.count("withdrawn")) == (0, 0, 1)
    referred = Application.objects.filter(status="referred").count()
    assert referred == Place.objects.filter(state=Place.State.TAKEN).count()


def test_a_parent_declining_while_the_18_00_run_expires_the_same_referral(postgres):
    city = CityFactory()
    group = GroupFactory(kindergarten__city=city, birth_year=2021)
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    run_daily(at=referral.valid_until - dt.timedelta(hours=1))  # every day before the deadline is published
    results = run_together(
        lambda: referral_decline(referral=referral, by=parent, at=referral.valid_until),
        lambda: run_daily(at=referral.valid_until),
    )
    assert [r for r in results if isinstance(r, Exception) and not isinstance(r, ReferralNotLive)] == []
    referral.refresh_from_db()
    place.refresh_from_db()
    application.refresh_from_db()
    assert referral.status in (Referral.Status.DECLINED, Referral.Status.EXPIRED)
    assert place.events.filter(kind=PlaceEvent.Kind.RETURNED).count() == 1
    assert (place.state, application.status) == (Place.State.PRIORITY, Application.Status.QUEUED)


def test_an_admin_blocking_a_parent_while_the_parent_claims(postgres):
    city = CityFactory()
    group = GroupFactory(kindergarten__city=city, birth_year=2021)
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    admin = AdminFactory()
    results = run_together(
        lambda: place_claim(place=place, application=application, by=parent, at=IN_GENERAL),
        lambda: cabinet_block(user=parent, by=admin, reason="Передал доступ", at=IN_GENERAL),
    )
    assert [r for r in results if isinstance(r, Exception) and not isinstance(r, ClaimRefused)] == []
    # Whoever came first, the blocked parent holds no live referral and the place is free again.
    assert not Referral.objects.filter(parent=parent, status="live").exists()
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY or place.state == Place.State.GENERAL
    if isinstance(results[0], ClaimRefused):
        assert results[0].code == "blocked"
    else:
        assert Referral.objects.get(parent=parent).status == Referral.Status.CANCELLED


def test_two_staff_releasing_into_the_same_group_at_once(postgres):
    group = GroupFactory(birth_year=2021)
    first, second = StaffFactory(kindergarten=group.kindergarten), StaffFactory(kindergarten=group.kindergarten)
    results = run_together(
        lambda: place_release(group=group, count=5, by=first, at=RELEASED),
        lambda: place_release(group=group, count=7, by=second, at=RELEASED),
    )
    assert [len(r) for r in results] == [5, 7]
    assert Place.objects.filter(group=group).count() == 12
    assert PlaceEvent.objects.filter(place__group=group, kind="released").count() == 12
