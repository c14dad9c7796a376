import datetime as dt
import threading

import pytest
from django.db import connections

from accounts.models import CabinetBlock
from accounts.services.blocks import cabinet_unblock
from accounts.services.sessions import login_refusal
from placement.errors import ClaimRefused, NotYourKindergarten, PlaceGone, ReferralNotLive
from placement.models import Application, Contract, Place, PlaceEvent, Referral
from placement.models.referrals import referral_valid_until
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from placement.services.referrals import referral_decline, referral_enrol
from tests.clock import astana, at
from tests.factories import (
    AdminFactory,
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    GroupFactory,
    RepresentationFactory,
    StaffFactory,
    applicant,
)

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
IN_PRIORITY = astana(2024, 5, 3, 12, 0)
IN_GENERAL = astana(2024, 5, 7, 12, 0)


def test_a_general_place_goes_to_any_matching_application_and_issues_a_referral(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    for minutes in range(5):
        applicant(city, minutes)
    parent, application = applicant(city, 100)  # last in the queue
    referral, created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    assert created
    assert referral.valid_until == astana(2024, 5, 16, 18, 0)  # counted 10, 13, 14, 15, 16 May
    place.refresh_from_db()
    application.refresh_from_db()
    assert (place.state, application.status) == (Place.State.TAKEN, Application.Status.REFERRED)
    event = place.events.get(kind=PlaceEvent.Kind.TAKEN)
    assert event.access == "general"


def test_referral_is_valid_to_18_00_of_the_fifth_counted_working_day():
    # Issued Tue 2024-05-07 12:00 (a holiday): counted 10, 13, 14, 15, 16 May.
    assert referral_valid_until(astana(2024, 5, 7, 12, 0)) == astana(2024, 5, 16, 18, 0)
    # Issued Thu 2024-05-02 08:00 (before 09:00 on a working day): 2, 3, 4 (worked Saturday), 6, 10 May.
    assert referral_valid_until(astana(2024, 5, 2, 8, 0)) == astana(2024, 5, 10, 18, 0)


def test_a_priority_place_goes_only_to_the_head_of_the_queue(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    first_parent, first = applicant(city, 1)
    second_parent, second = applicant(city, 2)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place, application=second, by=second_parent, at=IN_PRIORITY)
    assert refused.value.code == "not_head_of_queue"
    assert "2" in str(refused.value)
    place_claim(place=place, application=first, by=first_parent, at=IN_PRIORITY)


def test_head_of_queue_grows_with_the_places_in_priority_and_moves_as_places_are_taken(city, group):
    place_a, place_b = place_release(group=group, count=2, at=RELEASED)
    parents = [applicant(city, m) for m in range(3)]
    (p1, a1), (p2, a2), (p3, a3) = parents
    # Two places in priority: positions 1 and 2 may claim, 3 may not.
    with pytest.raises(ClaimRefused):
        place_claim(place=place_a, application=a3, by=p3, at=IN_PRIORITY)
    place_claim(place=place_a, application=a1, by=p1, at=IN_PRIORITY)
    # a1 left the queue and place A left priority: one place, and a2 is now first.
    place_claim(place=place_b, application=a2, by=p2, at=IN_PRIORITY)


@pytest.mark.parametrize(
    ("application_kwargs", "group_kwargs", "code"),
    [
        ({"birth_date": dt.date(2020, 5, 5)}, {}, "cohort_mismatch"),
        ({"language": "ru"}, {}, "language_mismatch"),
        ({"group_type": "special"}, {}, "group_type_mismatch"),
        ({"representation": "pending"}, {}, "not_confirmed"),
    ],
)
def test_refusal_reasons(city, group, application_kwargs, group_kwargs, code):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0, **application_kwargs)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    assert refused.value.code == code
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY  # untouched (the state lags the clock until the 18:00 run)
    assert not Referral.objects.exists()


def test_a_language_any_application_matches_both_languages(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0, language="any")
    place_claim(place=place, application=application, by=parent, at=IN_GENERAL)


def test_a_place_of_another_city_is_refused(group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(CityFactory(), 0)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    assert refused.value.code == "city_mismatch"


def test_a_child_with_a_live_referral_cannot_take_a_second_place(city, group):
    place_a, place_b = place_release(group=group, count=2, at=RELEASED)
    parent, application = applicant(city)
    place_claim(place=place_a, application=application, by=parent, at=IN_GENERAL)
    application.refresh_from_db()
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place_b, application=application, by=parent, at=IN_GENERAL)
    assert refused.value.code == "has_live_referral"


def test_a_blocked_parent_is_refused(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    cabinet_block(user=parent, by=AdminFactory(), reason="Передал доступ третьим лицам", at=IN_PRIORITY)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    assert refused.value.code == "blocked"


def test_taken_and_withdrawn_places_are_gone(city, group):
    place_a, place_b = place_release(group=group, count=2, at=RELEASED)
    winner, won = applicant(city, 0)
    loser, lost = applicant(city, 1)
    place_claim(place=place_a, application=won, by=winner, at=IN_GENERAL)
    with pytest.raises(PlaceGone) as taken:
        place_claim(place=place_a, application=lost, by=loser, at=IN_GENERAL)
    assert taken.value.code == "taken"
    place_withdraw(place=place_b, reason="Ремонт", at=IN_GENERAL)
    with pytest.raises(PlaceGone) as withdrawn:
        place_claim(place=place_b, application=lost, by=loser, at=IN_GENERAL)
    assert withdrawn.value.code == "withdrawn"


def test_a_double_click_returns_the_same_referral(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    first, created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    again, created_again = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Referral.objects.count() == 1


def test_decline_returns_the_place_to_priority_as_a_new_release_and_the_child_to_the_queue(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    declined_at = astana(2024, 5, 8, 11, 0)
    referral_decline(referral=referral, by=parent, at=declined_at)
    place.refresh_from_db()
    application.refresh_from_db()
    assert place.state == Place.State.PRIORITY
    assert place.entered_priority_at == declined_at
    assert place.priority_until == astana(2024, 5, 14, 18, 0)  # counted 10, 13, 14 May
    assert application.status == Application.Status.QUEUED
    assert application.applied_at == astana(2023, 1, 1, 9, 0)  # original time kept
    [protocol] = [p for p in run_daily(at=astana(2024, 5, 8, 18, 0)) if p.day == dt.date(2024, 5, 8)]
    assert [e["event"] for e in protocol.entries] == ["returned"]


def test_expiry_in_the_18_00_run_returns_the_place_at_the_deadline(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    deadline = referral.valid_until
    run_daily(at=deadline - dt.timedelta(minutes=1))
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE
    published = run_daily(at=deadline)
    referral.refresh_from_db()
    place.refresh_from_db()
    application.refresh_from_db()
    assert referral.status == Referral.Status.EXPIRED
    assert (place.state, place.entered_priority_at) == (Place.State.PRIORITY, deadline)
    assert application.status == Application.Status.QUEUED
    last = published[-1]
    assert (last.day, [e["event"] for e in last.entries]) == (deadline.date(), ["returned"])


def test_the_city_hold_out_keeps_the_child_out_of_the_queue_for_its_days(city, group):
    city.referral_holdout_days = 10
    city.save()
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    referral_decline(referral=referral, by=parent, at=astana(2024, 5, 8, 11, 0))
    application.refresh_from_db()
    assert application.status == Application.Status.HELD
    run_daily(at=astana(2024, 5, 17, 18, 0))
    application.refresh_from_db()
    assert application.status == Application.Status.HELD
    run_daily(at=astana(2024, 5, 18, 18, 0))
    application.refresh_from_db()
    assert application.status == Application.Status.QUEUED


def test_staff_enrol_within_validity_and_not_after(city, group):
    place_a, place_b = place_release(group=group, count=2, at=RELEASED)
    staff = StaffFactory(kindergarten=group.kindergarten)
    parent, application = applicant(city, 0)
    referral, _ = place_claim(place=place_a, application=application, by=parent, at=IN_GENERAL)
    contract = referral_enrol(referral=referral, by=staff, at=IN_GENERAL + dt.timedelta(days=1))
    place_a.refresh_from_db()
    assert (contract.status, place_a.state) == (Contract.Status.ACTIVE, Place.State.ENROLLED)
    assert place_a.events.filter(kind=PlaceEvent.Kind.ENROLLED).exists()

    late_parent, late = applicant(city, 1)
    late_referral, _ = place_claim(place=place_b, application=late, by=late_parent, at=IN_GENERAL)
    with pytest.raises(ReferralNotLive):
        referral_enrol(referral=late_referral, by=staff, at=late_referral.valid_until + dt.timedelta(minutes=1))
    assert not Contract.objects.filter(referral=late_referral).exists()


def test_another_kindergartens_staff_cannot_enrol(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    with pytest.raises(NotYourKindergarten):
        referral_enrol(referral=referral, by=StaffFactory(), at=IN_GENERAL)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE


def test_a_block_cancels_referrals_terminates_contracts_and_refuses_the_next_login(city, group):
    place_a, place_b = place_release(group=group, count=2, at=RELEASED)
    parent, application = applicant(city, 0)
    other_child = ChildFactory(birth_date=dt.date(2021, 8, 8))
    RepresentationFactory(parent=parent, child=other_child)
    second = ApplicationFactory(parent=parent, child=other_child, city=city, applied_at=astana(2023, 2, 1, 9, 0))
    enrolled_referral, _ = place_claim(place=place_a, application=application, by=parent, at=IN_GENERAL)
    contract = referral_enrol(
        referral=enrolled_referral, by=StaffFactory(kindergarten=group.kindergarten), at=IN_GENERAL
    )
    live_referral, _ = place_claim(place=place_b, application=second, by=parent, at=IN_GENERAL)

    block_at = astana(2024, 5, 8, 10, 0)
    block = cabinet_block(user=parent, by=AdminFactory(), reason="Передал доступ посреднику", at=block_at)
    assert block.ends_at == astana(2024, 11, 8, 10, 0)
    live_referral.refresh_from_db()
    contract.refresh_from_db()
    place_b.refresh_from_db()
    assert live_referral.status == Referral.Status.CANCELLED
    assert contract.status == Contract.Status.TERMINATED
    assert place_b.state == Place.State.PRIORITY
    from accounts.models import AuditEntry

    assert AuditEntry.objects.filter(action="cabinet.block", target_id=str(block.pk)).exists()
    with at(block_at + dt.timedelta(days=30)):
        refusal = login_refusal(parent)
        assert refusal is not None and "Передал доступ посреднику" in str(refusal)
        cabinet_unblock(block=block, by=AdminFactory(), reason="Ошибка оператора")
        assert login_refusal(parent) is None


def test_a_block_lifts_by_itself_after_six_months(city):
    parent, _ = applicant(city)
    block = cabinet_block(user=parent, by=AdminFactory(), reason="Передал доступ", at=IN_GENERAL)
    with at(block.ends_at - dt.timedelta(seconds=1)):
        assert login_refusal(parent) is not None
    with at(block.ends_at):
        assert login_refusal(parent) is None


def test_a_block_is_all_or_nothing(city, group, monkeypatch):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)

    def broken(**kwargs):
        raise RuntimeError("the audit database is full")

    monkeypatch.setattr("placement.services.blocks.audit_record", broken)
    with pytest.raises(RuntimeError):
        cabinet_block(user=parent, by=AdminFactory(), reason="x", at=IN_GENERAL)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE
    assert not CabinetBlock.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_200_parents_racing_for_20_general_places_get_exactly_20_referrals(postgres):
    """200 threads released at once by a barrier. PostgreSQL here allows 100 connections, so at most 64 threads
    hold one at a time (a semaphore, like a web tier's connection pool); the others wait their turn."""
    city = CityFactory()
    group = GroupFactory(kindergarten__city=city, birth_year=2021)
    places = place_release(group=group, count=20, at=RELEASED)
    contenders = [applicant(city, m) for m in range(200)]
    barrier = threading.Barrier(len(contenders))
    pool = threading.BoundedSemaphore(64)
    outcomes, errors = [], []

    def claim(index: int, parent, application):
        try:
            barrier.wait(timeout=60)
            with pool:
                claim_one(index, parent, application)
        except Exception as exc:  # collected: any other error (deadlock, integrity) fails the test
            errors.append(repr(exc))

    def claim_one(index: int, parent, application):
        try:
            for place in places[index % 20 :] + places[: index % 20]:  # each tries the places from its own start
                try:
                    place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
                    outcomes.append("won")
                    return
                except PlaceGone:
                    continue
            outcomes.append("lost")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(i, p, a)) for i, (p, a) in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert outcomes.count("won") == 20
    assert outcomes.count("lost") == 180
    assert Referral.objects.filter(status="live").count() == 20
    assert Referral.objects.values("place").distinct().count() == 20
    assert Referral.objects.values("child").distinct().count() == 20
    assert Place.objects.filter(state=Place.State.TAKEN).count() == 20
    assert PlaceEvent.objects.filter(kind=PlaceEvent.Kind.TAKEN).count() == 20


# --- A place that changed between the first look and the lock -----------------------------------------------


def test_a_place_taken_after_it_was_read_is_gone_under_the_lock(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 5)
    stale = Place.objects.select_related("group").get(pk=place.pk)  # read as free, then someone is faster
    winner, won = applicant(city, 0)
    place_claim(place=place, application=won, by=winner, at=IN_GENERAL)
    with pytest.raises(PlaceGone) as gone:
        place_claim(place=stale, application=application, by=parent, at=IN_GENERAL)
    assert gone.value.code == "taken"
    application.refresh_from_db()
    assert application.status == Application.Status.QUEUED
    assert Referral.objects.filter(application=application).count() == 0


def test_a_place_taken_returned_and_free_again_is_judged_again_on_its_new_release(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    head_parent, head = applicant(city, 0)
    parent, application = applicant(city, 5)
    stale = Place.objects.select_related("group").get(pk=place.pk)  # read in general access
    referral, _ = place_claim(place=place, application=head, by=head_parent, at=IN_GENERAL)
    referral_decline(referral=referral, by=head_parent, at=IN_GENERAL)  # back in priority as a new release
    later = IN_GENERAL + dt.timedelta(minutes=5)
    with pytest.raises(ClaimRefused) as refused:  # the head of the queue is ahead of this parent again
        place_claim(place=stale, application=application, by=parent, at=later)
    assert refused.value.code == "not_head_of_queue"
    head.refresh_from_db()
    assert head.status == Application.Status.QUEUED
    referral, created = place_claim(place=stale, application=head, by=head_parent, at=later)
    assert created and referral.place_id == place.pk
    assert place.events.filter(kind=PlaceEvent.Kind.TAKEN).order_by("-pk").first().access == "priority"


def test_a_claim_for_a_child_referred_meanwhile_through_another_place_is_refused(city, group):
    first, second = place_release(group=group, count=2, at=RELEASED)
    parent, application = applicant(city, 0)
    stale = Application.objects.get(pk=application.pk)  # read as queued
    place_claim(place=first, application=application, by=parent, at=IN_GENERAL)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=second, application=stale, by=parent, at=IN_GENERAL)
    assert refused.value.code == "has_live_referral"
    second.refresh_from_db()
    assert second.state == Place.State.PRIORITY  # untouched: the 18:00 run moves it, not the clock
    assert Referral.objects.filter(application=application).count() == 1
