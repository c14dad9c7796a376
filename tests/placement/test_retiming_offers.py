"""Offers re-timed when the calendar changes (issues 12 and 14; DOMAIN.md, Places 6 and Allocation modes): a live
offer holds its place until 18:00 of the city's `offer_working_days`-th counted working day, counted from when the
18:00 run made it on the calendar as it now stands; only what is still ahead moves, never earlier than the next
18:00 after the change, and the 18:00 run expires it at its new time. On PostgreSQL (the set-based statements)."""

import datetime as dt

import pytest
from django.utils import translation

from accounts.models import AuditEntry
from placement.models import Offer, Place
from placement.services.daily import run_daily
from placement.services.places import place_release
from placement.services.retiming import Cause, Move, RetimeResult, offers_retime, retime_preview_lines
from schedules.models import CalendarOverride
from tests.clock import astana, at
from tests.placement.test_offers import OFFER_DEADLINE, live_offer, queued
from tests.placement.test_offers import groups as groups
from tests.placement.test_offers import offer_city as offer_city
from tests.placement.test_offers import offered as offered
from tests.placement.test_retiming import admin_url, override_add

pytestmark = pytest.mark.django_db

# The offered fixture: made at the run of Monday 2 September 2024, valid to Wednesday 4 September 18:00 (3, 4).
HOLIDAY = dt.date(2024, 9, 4)
DECLARED = astana(2024, 9, 3, 12, 0)
MOVED = astana(2024, 9, 5, 18, 0)  # counted 3, 5 September


def test_a_holiday_declared_after_an_offer_was_made_moves_its_deadline_and_the_18_00_run_expires_it_then(
    offered, client, superuser
):
    _parent, application, offer, place = offered
    assert offer.valid_until == OFFER_DEADLINE
    with at(DECLARED):
        assert override_add(client, day=HOLIDAY).status_code == 302
    offer.refresh_from_db()
    assert (offer.state, offer.valid_until) == (Offer.State.LIVE, MOVED)
    audit = AuditEntry.objects.get(action="offer.retimed", target_id=str(offer.pk))
    assert audit.at == DECLARED
    before, after = (dt.datetime.fromisoformat(audit.details[key]) for key in ("before", "after"))
    assert (before, after) == (OFFER_DEADLINE, MOVED)
    assert "04.09.2024" in audit.details["cause"]

    run_daily(at=OFFER_DEADLINE)  # the old deadline: the offer still holds its place
    offer.refresh_from_db()
    place.refresh_from_db()
    assert (offer.state, place.state) == (Offer.State.LIVE, Place.State.OFFERED)
    run_daily(at=MOVED)
    offer.refresh_from_db()
    application.refresh_from_db()
    assert (offer.state, offer.decided_at) == (Offer.State.EXPIRED, MOVED)
    assert application.paused_at == MOVED


def test_a_passed_offer_deadline_stays_passed(offered):
    _parent, _application, offer, _place = offered
    after_deadline = OFFER_DEADLINE + dt.timedelta(hours=1)  # before any run has expired it
    with at(after_deadline):
        CalendarOverride.objects.create(date=dt.date(2024, 9, 3), kind="holiday", legal_act="Act 1")
    offer.refresh_from_db()
    assert (offer.state, offer.valid_until) == (Offer.State.LIVE, OFFER_DEADLINE)
    assert not AuditEntry.objects.filter(action="offer.retimed").exists()


def test_no_offer_deadline_moves_earlier_than_the_next_18_00_after_the_change(offer_city, groups):
    offer_city.offer_working_days = 1
    offer_city.save(update_fields=["offer_working_days"])
    place_release(group=groups[0], count=1, at=astana(2024, 9, 6, 10, 0))  # Friday
    _, application = queued(offer_city, 0, choices=[groups[0].kindergarten])
    run_daily(at=astana(2024, 9, 6, 18, 0))
    offer = live_offer(application)
    assert offer.valid_until == astana(2024, 9, 9, 18, 0)  # Monday, the 1st counted working day
    with at(astana(2024, 9, 7, 19, 0)):  # Saturday evening: that Saturday declared a working day, after the fact
        CalendarOverride.objects.create(date=dt.date(2024, 9, 7), kind="working", legal_act="Act 2")
    offer.refresh_from_db()
    # The rule now says Saturday 18:00, already past: the offer ends at the next 18:00 instead.
    assert offer.valid_until == astana(2024, 9, 8, 18, 0)


def test_an_offer_whose_deadline_the_change_leaves_where_it_is_is_neither_rewritten_nor_audited(offered):
    _parent, _application, offer, _place = offered
    with at(DECLARED):  # a holiday after the deadline
        CalendarOverride.objects.create(date=dt.date(2024, 9, 6), kind="holiday", legal_act="Act 3")
    offer.refresh_from_db()
    assert offer.valid_until == OFFER_DEADLINE
    assert not AuditEntry.objects.filter(action="offer.retimed").exists()
    assert offers_retime(city=offer.place.city, at=DECLARED, cause=Cause(reason="test"), apply=False) == []


def test_the_override_form_previews_the_offers_it_would_re_time_and_saves_nothing(offered, client, superuser):
    _parent, _application, offer, _place = offered
    body = {"date": HOLIDAY.isoformat(), "kind": "holiday", "legal_act": "Постановление 1", "preview_dates": "on"}
    with at(DECLARED):
        response = client.post(admin_url(CalendarOverride, "add/"), body)
    assert response.status_code == 200
    notices = " ".join(str(message) for message in response.context["messages"])
    assert "Предложений с новыми сроками: 1" in notices and "05.09.2024 18:00 (1)" in notices
    assert not CalendarOverride.objects.exists()
    offer.refresh_from_db()
    assert offer.valid_until == OFFER_DEADLINE


def test_the_preview_names_the_offers_even_when_no_place_or_referral_moves():
    offers_only = RetimeResult(moves={"offers": [Move(pk=1, before=OFFER_DEADLINE, after=MOVED)]})
    with translation.override("ru"):
        assert [str(line) for line in retime_preview_lines(offers_only)] == [
            "Предложений с новыми сроками: 1; действительны до: 05.09.2024 18:00 (1)."
        ]
        assert [str(line) for line in retime_preview_lines(RetimeResult())] == [
            "Это изменение не меняет сроки ни одного места, направления или предложения."
        ]
