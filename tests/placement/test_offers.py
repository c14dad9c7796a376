"""Offer mode (issue 14; DOMAIN.md, Allocation modes): choices, the 18:00 run's offers, the parent's answer, expiry
and the pause, the protocol's allocation section, and claim mode's rules in an offer-mode city. On PostgreSQL (the
`postgres` fixture): the run's queries and the partial unique constraints are PostgreSQL's."""

import datetime as dt
import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from accounts.models import AuditEntry, Notification
from placement.errors import (
    ApplicationNotPaused,
    ChoiceDuplicate,
    ChoiceNotServed,
    ChoicesTooMany,
    ClaimRefused,
    NoSuchOffer,
    OfferExpired,
    OfferNotLive,
    PlaceGone,
    ResumeExpired,
)
from placement.models import AllocationRun, Application, Offer, Place, PlaceEvent, Protocol, Referral
from placement.selectors.offers import parent_offers, protocol_allocation
from placement.selectors.queue import queue_position
from placement.services.allocation_checks import allocations_verify
from placement.services.blocks import cabinet_block
from placement.services.choices import choices_set
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.notifications import general_access_notify
from placement.services.offers import application_resume, offer_accept, offer_decline, offers_expiring_notify
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from tests.clock import astana
from tests.factories import AdminFactory, CityFactory, GroupFactory, applicant

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
RELEASED = astana(2024, 9, 2, 10, 0)  # Monday
RUN = astana(2024, 9, 2, 18, 0)  # the first run: offers valid to 18:00 of the 2nd counted working day
OFFER_DEADLINE = astana(2024, 9, 4, 18, 0)  # Tue 3, Wed 4
ANSWER = astana(2024, 9, 3, 10, 0)


@pytest.fixture
def offer_city(postgres):
    return CityFactory(allocation_mode="offer")


@pytest.fixture
def groups(offer_city):
    """Two kindergartens of the city, each with a group of 2021, Kazakh, general: first and second by id."""
    return [GroupFactory(kindergarten__city=offer_city) for _ in range(2)]


def queued(city, minutes, *, choices=(), any_other=False, **fields):
    parent, application = applicant(city, minutes, **fields)
    choices_set(application=application, kindergartens=list(choices), any_other=any_other, actor=parent, at=RELEASED)
    return parent, application


def live_offer(application) -> Offer:
    return Offer.objects.get(application=application, state=Offer.State.LIVE)


# --- Choices ----------------------------------------------------------------------------------------------------


def test_choices_are_replaced_in_rank_order_audited_and_never_move_the_application(offer_city, groups):
    first, second = (group.kindergarten for group in groups)
    parent, application = applicant(offer_city, 0)
    applicant(offer_city, 1)
    before = (Application.objects.get(pk=application.pk).applied_at, queue_position(application))
    choices_set(application=application, kindergartens=[second, first], any_other=True, actor=parent, at=RELEASED)
    choices_set(application=application, kindergartens=[first.pk], any_other=False, actor=parent, at=ANSWER)
    application.refresh_from_db()
    assert list(application.choices.values_list("kindergarten_id", "rank")) == [(first.pk, 1)]
    assert application.any_other is False
    assert (application.applied_at, queue_position(application)) == before
    edits = AuditEntry.objects.filter(action="application.choices", target_id=str(application.pk)).order_by("pk")
    assert [entry.details for entry in edits] == [
        {"kindergartens": [second.pk, first.pk], "any_other": True},
        {"kindergartens": [first.pk], "any_other": False},
    ]


def test_more_choices_than_the_city_allows_are_refused(offer_city, groups):
    offer_city.choices_max = 1
    offer_city.save()
    parent, application = applicant(offer_city, 0)
    with pytest.raises(ChoicesTooMany) as refused:
        choices_set(
            application=application,
            kindergartens=[g.kindergarten for g in groups],
            any_other=False,
            actor=parent,
            at=RELEASED,
        )
    assert refused.value.code == "choices_too_many"
    assert not application.choices.exists()


def test_a_kindergarten_chosen_twice_is_refused(offer_city, groups):
    parent, application = applicant(offer_city, 0)
    kindergarten = groups[0].kindergarten
    with pytest.raises(ChoiceDuplicate):
        choices_set(
            application=application,
            kindergartens=[kindergarten, kindergarten],
            any_other=False,
            actor=parent,
            at=RELEASED,
        )


@pytest.mark.parametrize(
    "group_fields",
    [{"language": "ru"}, {"birth_year": 2020}, {"group_type": "special"}, {"kindergarten__city": None}],
)
def test_a_kindergarten_without_a_group_of_the_childs_cohort_language_and_type_in_its_city_is_refused(
    offer_city, group_fields
):
    fields = {"kindergarten__city": offer_city, **group_fields}
    if fields["kindergarten__city"] is None:  # a matching group in another city
        del fields["kindergarten__city"]
    group = GroupFactory(**fields)
    parent, application = applicant(offer_city, 0)  # 2021, Kazakh, general
    with pytest.raises(ChoiceNotServed) as refused:
        choices_set(
            application=application, kindergartens=[group.kindergarten], any_other=False, actor=parent, at=RELEASED
        )
    assert refused.value.code == "choice_not_served"


# --- The 18:00 run's allocation ----------------------------------------------------------------------------------


def test_the_run_walks_the_queue_in_order_and_offers_each_its_highest_ranked_choice_with_a_free_place(
    offer_city, groups
):
    first, second = (group.kindergarten for group in groups)
    [place_a] = place_release(group=groups[0], count=1, at=RELEASED)
    [place_b] = place_release(group=groups[1], count=1, at=RELEASED)
    _, head = queued(offer_city, 0, choices=[second, first])
    _, next_one = queued(offer_city, 1, choices=[second, first])
    _, third = queued(offer_city, 2, choices=[second])
    run_daily(at=RUN)
    offers = {o.application_id: o for o in Offer.objects.all()}
    assert set(offers) == {head.pk, next_one.pk}
    assert (offers[head.pk].place_id, offers[head.pk].rank, offers[head.pk].queue_position) == (place_b.pk, 1, 1)
    assert (offers[next_one.pk].place_id, offers[next_one.pk].rank, offers[next_one.pk].queue_position) == (
        place_a.pk,
        2,
        2,
    )
    assert {o.valid_until for o in offers.values()} == {OFFER_DEADLINE}
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.OFFERED}
    assert PlaceEvent.objects.filter(kind=PlaceEvent.Kind.OFFERED, at=RUN).count() == 2
    made = Notification.objects.filter(kind=Kind.OFFER_MADE)
    assert sorted(made.values_list("key", flat=True)) == sorted(f"offer_made:{o.pk}" for o in offers.values())
    assert not third.offers.exists()


def test_a_child_accepting_any_other_place_gets_the_lowest_kindergarten_id_when_no_choice_has_one(offer_city, groups):
    place_release(group=groups[1], count=1, at=RELEASED)
    [lowest] = place_release(group=groups[0], count=1, at=RELEASED)
    _, refuses_others = queued(offer_city, 0)
    _, any_place = queued(offer_city, 1, any_other=True)
    run_daily(at=RUN)
    offer = live_offer(any_place)
    assert (offer.place_id, offer.rank) == (lowest.pk, None)
    assert not refuses_others.offers.exists()


def test_paused_applications_and_blocked_parents_take_no_part_but_keep_their_position(
    offer_city, groups
):
    choice = [groups[0].kindergarten]
    _, paused = queued(offer_city, 0, choices=choice)
    Application.objects.filter(pk=paused.pk).update(paused_at=RELEASED)
    _, blocked_parent_app = queued(offer_city, 1, choices=choice)
    cabinet_block(user=blocked_parent_app.parent, by=AdminFactory(), reason="Передал доступ", at=RELEASED)
    _, taker = queued(offer_city, 2, choices=choice)
    place_release(group=groups[0], count=1, at=RELEASED)
    run_daily(at=RUN)
    offer = live_offer(taker)
    assert offer.queue_position == 3  # the paused and the blocked ones keep their places in the queue


def test_an_application_holding_a_live_offer_takes_no_part_even_for_a_place_it_ranked_higher(offer_city, groups):
    first, second = (group.kindergarten for group in groups)
    place_release(group=groups[1], count=1, at=RELEASED)
    _, head = queued(offer_city, 0, choices=[first, second])
    _, next_one = queued(offer_city, 1, choices=[first])
    run_daily(at=RUN)
    assert live_offer(head).kindergarten_id == second.pk
    [better] = place_release(group=groups[0], count=1, at=ANSWER)
    run_daily(at=astana(2024, 9, 3, 18, 0))
    assert live_offer(head).kindergarten_id == second.pk
    assert live_offer(next_one).place_id == better.pk


def test_places_still_unoffered_at_the_end_of_priority_go_to_general_access_where_a_claim_works(offer_city, groups):
    [place] = place_release(group=groups[0], count=1, at=RELEASED)
    parent, application = applicant(offer_city, 0)  # no choices, no "any other": nobody is offered the place
    run_daily(at=astana(2024, 9, 5, 18, 0))
    place.refresh_from_db()
    assert place.state == Place.State.GENERAL
    referral, created = place_claim(place=place, application=application, by=parent, at=astana(2024, 9, 6, 10, 0))
    assert created and referral.place_id == place.pk


def test_in_an_offer_mode_city_a_place_in_priority_access_cannot_be_claimed(offer_city, groups):
    [place] = place_release(group=groups[0], count=1, at=RELEASED)
    parent, application = applicant(offer_city, 0)
    with pytest.raises(ClaimRefused) as refused:
        place_claim(place=place, application=application, by=parent, at=astana(2024, 9, 2, 12, 0))
    assert refused.value.code == "offer_mode_priority"


def test_an_offered_place_cannot_be_claimed(offer_city, groups):
    [place] = place_release(group=groups[0], count=1, at=RELEASED)
    queued(offer_city, 0, choices=[groups[0].kindergarten])
    run_daily(at=RUN)
    parent, other = applicant(offer_city, 5)
    place.refresh_from_db()
    with pytest.raises(PlaceGone) as gone:
        place_claim(place=place, application=other, by=parent, at=ANSWER)
    assert gone.value.code == "offered"


def test_a_claim_mode_city_gets_no_offers(postgres):
    group = GroupFactory()
    place_release(group=group, count=1, at=RELEASED)
    _parent, _application = applicant(group.kindergarten.city, 0, any_other=True)
    run_daily(at=RUN)
    assert not Offer.objects.exists() and not AllocationRun.objects.exists()
    assert Protocol.objects.get(day=RUN.date()).inputs_sha256 == ""


def test_general_access_alerts_skip_offer_mode_cities(offer_city, groups):
    assert general_access_notify(city=offer_city, day=RUN.date(), recorded_at=RUN) == 0


# --- The parent's answer ---------------------------------------------------------------------------------------------


@pytest.fixture
def offered(offer_city, groups):
    """The head of the queue offered the place of the first kindergarten at the first run."""
    [place] = place_release(group=groups[0], count=1, at=RELEASED)
    parent, application = queued(offer_city, 0, choices=[groups[0].kindergarten])
    run_daily(at=RUN)
    return parent, application, live_offer(application), place


def test_an_accepted_offer_gives_exactly_what_a_claim_gives(offered):
    parent, application, offer, place = offered
    referral = offer_accept(offer=offer, parent=parent, at=ANSWER)
    assert referral.valid_until == astana(2024, 9, 10, 18, 0)  # the 5th counted working day after the answer
    place.refresh_from_db()
    application.refresh_from_db()
    offer.refresh_from_db()
    assert (place.state, application.status) == (Place.State.TAKEN, Application.Status.REFERRED)
    assert (offer.state, offer.referral_id, offer.decided_at) == (Offer.State.ACCEPTED, referral.pk, ANSWER)
    assert PlaceEvent.objects.filter(place=place).order_by("pk").last().kind == PlaceEvent.Kind.TAKEN
    assert Notification.objects.filter(kind=Kind.REFERRAL_ISSUED, key=f"referral_issued:{referral.pk}").exists()
    with pytest.raises(OfferNotLive):
        offer_accept(offer=offer, parent=parent, at=ANSWER)


def test_an_offer_to_a_child_already_holding_a_live_referral_elsewhere_is_refused_and_stays_live(offered, groups):
    parent, application, offer, _ = offered
    # The child's live referral to another place (in real life through its application in another city).
    [elsewhere] = place_release(group=groups[1], count=1, at=RELEASED)
    Referral.issued(place=elsewhere, application=application, parent=parent, at=RELEASED).save()
    with pytest.raises(ClaimRefused) as refused:
        offer_accept(offer=offer, parent=parent, at=ANSWER)
    assert (refused.value.code, refused.value.status) == ("has_live_referral", 403)
    offer.refresh_from_db()
    assert offer.state == Offer.State.LIVE


def test_another_familys_offer_is_not_found(offered):
    _, _, offer, _ = offered
    stranger, _ = applicant(offered[1].city, 3)
    with pytest.raises(NoSuchOffer) as refused:
        offer_accept(offer=offer, parent=stranger, at=ANSWER)
    assert (refused.value.code, refused.value.status) == ("not_your_offer", 404)
    with pytest.raises(NoSuchOffer):
        offer_decline(offer=offer, parent=stranger, at=ANSWER)


def test_an_offer_past_its_deadline_cannot_be_accepted_even_before_the_run_expires_it(offered):
    parent, _, offer, _ = offered
    with pytest.raises(OfferExpired):
        offer_accept(offer=offer, parent=parent, at=OFFER_DEADLINE + dt.timedelta(seconds=1))


def test_a_declined_offer_returns_its_place_for_the_next_run_and_keeps_the_application_with_its_time(
    offered, offer_city, groups
):
    parent, application, offer, place = offered
    _, next_one = queued(offer_city, 1, choices=[groups[0].kindergarten])
    offer_decline(offer=offer, parent=parent, at=ANSWER)
    place.refresh_from_db()
    application.refresh_from_db()
    assert (place.state, place.released_at) == (Place.State.PRIORITY, ANSWER)
    assert (application.status, application.paused_at, queue_position(application)) == ("queued", None, 1)
    # The next run offers the place again by the queue; the head took that kindergarten off its choices.
    choices_set(application=application, kindergartens=[], any_other=False, actor=parent, at=ANSWER)
    run_daily(at=astana(2024, 9, 3, 18, 0))
    assert live_offer(next_one).place_id == place.pk


def test_an_expired_offer_pauses_the_application_and_its_place_goes_to_the_next_child_in_the_same_run(
    offered, offer_city, groups
):
    _parent, application, offer, place = offered
    _, next_one = queued(offer_city, 1, choices=[groups[0].kindergarten])
    run_daily(at=OFFER_DEADLINE)
    offer.refresh_from_db()
    application.refresh_from_db()
    assert (offer.state, offer.decided_at) == (Offer.State.EXPIRED, OFFER_DEADLINE)
    assert application.paused_at == OFFER_DEADLINE and application.status == "queued"
    assert Notification.objects.filter(kind=Kind.APPLICATION_PAUSED, key=f"application_paused:{offer.pk}").exists()
    assert live_offer(next_one).place_id == place.pk
    assert queue_position(application) == 1  # its position is kept


def test_a_paused_application_is_resumed_once_within_28_days_with_its_time(offered, offer_city, groups):
    parent, application, _offer, _place = offered
    run_daily(at=OFFER_DEADLINE)
    application.refresh_from_db()
    application_resume(application=application, parent=parent, at=OFFER_DEADLINE + dt.timedelta(days=27))
    application.refresh_from_db()
    assert application.paused_at is None and application.resumed_at is not None
    with pytest.raises(ApplicationNotPaused):
        application_resume(application=application, parent=parent, at=OFFER_DEADLINE + dt.timedelta(days=27))
    Application.objects.filter(pk=application.pk).update(paused_at=OFFER_DEADLINE + dt.timedelta(days=30))
    application.refresh_from_db()
    with pytest.raises(ResumeExpired):  # a second pause needs an admin
        application_resume(application=application, parent=parent, at=OFFER_DEADLINE + dt.timedelta(days=31))


def test_a_paused_application_cannot_be_resumed_by_its_parent_after_28_days(offered):
    parent, application, _, _ = offered
    run_daily(at=OFFER_DEADLINE)
    application.refresh_from_db()
    with pytest.raises(ResumeExpired) as refused:
        application_resume(application=application, parent=parent, at=OFFER_DEADLINE + dt.timedelta(days=28, seconds=1))
    assert refused.value.code == "resume_expired"


def test_an_offer_is_reminded_once_24_hours_before_its_deadline(offered):
    _, _, offer, _ = offered
    assert offers_expiring_notify(at=OFFER_DEADLINE - dt.timedelta(hours=25)) == 0
    assert offers_expiring_notify(at=OFFER_DEADLINE - dt.timedelta(hours=23)) == 1
    assert offers_expiring_notify(at=OFFER_DEADLINE - dt.timedelta(hours=22)) == 0
    assert Notification.objects.filter(kind=Kind.OFFER_EXPIRING, key=f"offer_expiring:{offer.pk}").count() == 1


def test_a_block_withdraws_the_parents_live_offer_and_returns_its_place(offered):
    parent, application, offer, place = offered
    block = cabinet_block(user=parent, by=AdminFactory(), reason="Передал доступ", at=ANSWER)
    offer.refresh_from_db()
    place.refresh_from_db()
    application.refresh_from_db()
    assert block.offers_withdrawn == 1
    assert (offer.state, place.state, application.paused_at) == (Offer.State.DECLINED, Place.State.PRIORITY, None)


def test_withdrawing_an_application_withdraws_its_live_offer_and_returns_the_place_without_a_pause(offered):
    from placement.services.applications import application_withdraw

    parent, application, offer, place = offered
    application_withdraw(application=application, by=parent, at=ANSWER)
    offer.refresh_from_db()
    place.refresh_from_db()
    assert (offer.state, place.state) == (Offer.State.DECLINED, Place.State.PRIORITY)
    run_daily(at=OFFER_DEADLINE)
    assert not Notification.objects.filter(kind=Kind.APPLICATION_PAUSED).exists()


def test_the_cabinet_lists_live_offers_first_with_their_place(offered):
    parent, _, offer, _ = offered
    with_place = parent_offers(parent=parent, at=ANSWER)
    assert [o.pk for o in with_place] == [offer.pk]
    assert with_place[0].place.group.birth_year == 2021


# --- Events rolled back send nothing -------------------------------------------------------------------------


def test_an_acceptance_rolled_back_sends_nothing_and_leaves_the_offer_live(offered):
    parent, _, offer, _ = offered
    Notification.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        offer_accept(offer=offer, parent=parent, at=ANSWER)
        raise RuntimeError("the caller's transaction fails")
    assert not Notification.objects.exists() and not Referral.objects.exists()
    assert live_offer(offer.application_id).pk == offer.pk


def test_a_run_rolled_back_writes_no_offer_and_no_notification(offer_city, groups):
    place_release(group=groups[0], count=1, at=RELEASED)
    queued(offer_city, 0, choices=[groups[0].kindergarten])
    with pytest.raises(RuntimeError), transaction.atomic():
        run_daily(at=RUN)
        assert Notification.objects.filter(kind=Kind.OFFER_MADE).exists()
        raise RuntimeError("rolled back")
    assert not Offer.objects.exists() and not Notification.objects.exists()


# --- Publication -----------------------------------------------------------------------------------------------


def test_the_protocol_publishes_the_allocation_without_personal_data_under_its_hash_chain(offered, offer_city):
    parent, application, _offer, place = offered
    protocol = Protocol.objects.get(city=offer_city, day=RUN.date())
    [row] = protocol.allocation
    assert row["place"] == place.pk and row["queue_position"] == 1 and row["rank"] == 1
    assert row["birth_year"] == 2021 and row["kindergarten"]["id"] == place.kindergarten_id
    text = str(protocol.allocation)
    assert application.number not in text and application.child.iin not in text and parent.last_name not in text
    run = AllocationRun.objects.get(city=offer_city, day=RUN.date())
    assert protocol.inputs_sha256 == run.inputs_sha256
    assert protocols_verify(city=offer_city) == []
    rows, digest = protocol_allocation(city=offer_city, day=RUN.date())
    assert [(r.place_id, r.kindergarten.pk, r.queue_position, r.rank) for r in rows] == [
        (place.pk, place.kindergarten_id, 1, 1)
    ]
    assert digest == run.inputs_sha256


def test_the_public_document_of_an_allocating_day_hashes_to_its_published_sha256(client, offered, offer_city):
    """An outside reader can check an offer-mode day as any other: the document carries the allocation section and
    the inputs' hash, and its canonical JSON hashes to `sha256`."""
    day = RUN.date().isoformat()
    document = client.get(f"/api/v1/protocols/{offer_city.slug}/{day}/document/").json()
    protocol = Protocol.objects.get(city=offer_city, day=RUN.date())
    assert document["allocation"] == protocol.allocation and document["inputs_sha256"] == protocol.inputs_sha256
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == protocol.sha256


def test_a_rewritten_allocation_section_breaks_the_protocols_hash(offered, offer_city):
    from tests.placement.test_daily_run import rewriting_history

    protocol = Protocol.objects.get(city=offer_city, day=RUN.date())
    with rewriting_history():
        section = protocol.allocation
        section[0]["queue_position"] = 7
        Protocol.objects.filter(pk=protocol.pk).update(allocation=section)
    [problem] = protocols_verify(city=offer_city)
    assert problem.day == RUN.date()


# --- verify_allocation -----------------------------------------------------------------------------------------


@pytest.fixture
def three_days(offer_city, groups):
    """Three runs: places in both kindergartens, choices that compete, an offer expiring on the third day."""
    first, second = (group.kindergarten for group in groups)
    place_release(group=groups[0], count=2, at=RELEASED)
    place_release(group=groups[1], count=1, at=RELEASED)
    for minutes in range(6):
        queued(offer_city, minutes, choices=[second, first] if minutes % 2 else [first], any_other=minutes == 4)
    run_daily(at=RUN)
    place_release(group=groups[1], count=1, at=astana(2024, 9, 3, 11, 0))
    run_daily(at=OFFER_DEADLINE)  # the first offers expire and go to the next in the queue
    return offer_city


def test_verify_allocation_reproduces_every_offer_of_every_day_with_zero_envy(three_days):
    out = StringIO()
    call_command("verify_allocation", stdout=out)
    assert AllocationRun.objects.count() == 3
    assert "3 allocation(s) verified: every offer reproduced, justified envy 0" in out.getvalue()
    assert "2024-09-04: 2 offer(s) reproduced, justified envy 0" in out.getvalue()


def test_verify_allocation_fails_naming_the_day_of_a_tampered_offer(three_days):
    tampered = Offer.objects.filter(protocol_day=dt.date(2024, 9, 2)).order_by("pk").first()
    Offer.objects.filter(pk=tampered.pk).update(queue_position=tampered.queue_position + 10)
    with pytest.raises(CommandError, match="2024-09-02") as raised:
        call_command("verify_allocation", "--city", three_days.slug, stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 1
    call_command("verify_allocation", "--day", "2024-09-04", stdout=StringIO())  # the other days still verify


def test_verify_allocation_fails_on_a_rewritten_published_section(three_days):
    from tests.placement.test_daily_run import rewriting_history

    protocol = Protocol.objects.get(city=three_days, day=dt.date(2024, 9, 4))
    section = protocol.allocation
    section[0]["queue_position"] += 1  # another child named as the holder
    with rewriting_history():
        Protocol.objects.filter(pk=protocol.pk).update(allocation=section)
    with pytest.raises(CommandError, match="2024-09-04"):
        call_command("verify_allocation", stdout=StringIO(), stderr=StringIO())


def test_offer_mode_runs_on_the_embedded_database_too():
    """No `postgres` fixture: on SQLite (make run's default, the demo) the run reads the choices apart."""
    city = CityFactory(allocation_mode="offer")
    groups = [GroupFactory(kindergarten__city=city) for _ in range(2)]
    [place] = place_release(group=groups[1], count=1, at=RELEASED)
    _, application = queued(city, 0, choices=[groups[0].kindergarten, groups[1].kindergarten])
    run_daily(at=RUN)
    offer = live_offer(application)
    assert (offer.place_id, offer.rank) == (place.pk, 2)
    assert [check.problem for check in allocations_verify()] == [None]
