"""The re-timing rule as a property (issue 12; DOMAIN.md, Places 6): for any sequence of calendar overrides and
kindergarten shifts added, changed or deleted at any moments after some releases, referrals and offers (issue 14),
every place's, referral's and live offer's times equal the counted-day rule applied, change after change, to the
calendar as it stood after each change (only what was still ahead moving, never before the next 18:00 after the
change), and the protocols that the 18:00 runs then publish verify. The oracle below counts working days on its own
(the KZ calendar of the `holidays` package with the overrides on top), not with schedules.calendar. On PostgreSQL."""

import datetime as dt
from dataclasses import dataclass

import holidays
import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from placement.models import Offer, Place, Referral
from placement.services.daily import run_daily
from placement.services.offers import offer_valid_until
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from schedules.calendar import ASTANA, calendar_invalidate
from schedules.models import CalendarOverride, KindergartenShift
from tests.clock import astana, at
from tests.factories import CohortWindowFactory, GroupFactory, applicant, referral_for

pytestmark = pytest.mark.django_db

WINDOW_START = dt.date(2024, 6, 3)
CAMPAIGN_START = dt.date(2024, 5, 15)
BASE = holidays.country_holidays("KZ", years=2024)
FIRST = astana(2024, 5, 13, 0, 0)


class Rollback(Exception):
    """Ends an example: everything it wrote is rolled back."""


# --- The oracle ---------------------------------------------------------------------------------------------------


def working(day: dt.date, overrides: dict[dt.date, str]) -> bool:
    if day in overrides:
        return overrides[day] == "working"
    if day in BASE.weekend_workdays:
        return True
    return day.weekday() < 5 and day not in BASE


def deadline(entered: dt.datetime, days: int, overrides: dict[dt.date, str]) -> dt.datetime:
    local = entered.astimezone(ASTANA)
    day = local.date()
    counted = 1 if working(day, overrides) and local.time() < dt.time(9, 0) else 0
    while counted < days:
        day += dt.timedelta(days=1)
        counted += working(day, overrides)
    return dt.datetime.combine(day, dt.time(18, 0), tzinfo=ASTANA)


def next_18(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(ASTANA)
    day = local.date() if local.time() < dt.time(18, 0) else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(18, 0), tzinfo=ASTANA)


@dataclass
class Expected:
    entry: dt.datetime
    until: dt.datetime
    windowed: bool  # released during the campaign before its window opened


# --- The examples -------------------------------------------------------------------------------------------------

half_hours = st.integers(min_value=0, max_value=22 * 48)  # from 13 May, by half hours, over 22 days
# The day a change is about, relative to the day of the change: around it, where it moves deadlines the most.
days_ahead = st.integers(min_value=-3, max_value=10)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("override"), days_ahead, st.sampled_from(["holiday", "working", None])),
        st.tuples(st.just("shift"), days_ahead, st.booleans()),
    ),
    min_size=1,
    max_size=4,
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    releases=st.lists(st.tuples(half_hours, st.booleans()), min_size=1, max_size=4),
    claims=st.lists(half_hours, max_size=2),
    offers=st.lists(half_hours, max_size=2),
    steps=changes,
    gaps=st.lists(st.integers(min_value=1, max_value=4 * 48), min_size=4, max_size=4),
)
# Released Wed 29 May 10:00 (general 3 June 18:00); on Sunday 2 June 10:00 Saturday 1 June is declared worked: the
# rule now says 1 June 18:00, past, so the next 18:00 after the change, 2 June, is the new deadline.
@example(
    releases=[((16 * 24 + 10) * 2, False)],
    claims=[],
    offers=[],
    steps=[("override", -1, "working")],
    gaps=[4 * 24 * 2, 1, 1, 1],
)
# An offer made Wed 29 May 10:00 (valid to Fri 31 May 18:00: 30, 31 May); half an hour later Thursday 30 May is
# declared a holiday: the offer now holds its place to Mon 3 June 18:00 (31 May, 3 June).
@example(
    releases=[((16 * 24 + 10) * 2, False)],
    claims=[],
    offers=[(16 * 24 + 10) * 2],
    steps=[("override", 1, "holiday")],
    gaps=[1, 1, 1, 1],
)
def test_every_deadline_follows_the_rule_on_the_calendar_after_each_change_and_protocols_verify(
    postgres, releases, claims, offers, steps, gaps
):
    try:
        with transaction.atomic():
            _example(releases, claims, offers, steps, gaps)
            raise Rollback
    except Rollback:
        pass
    finally:
        calendar_invalidate(year=2024)


def _example(releases, claims, offers, steps, gaps):
    calendar_invalidate(year=2024)
    windowed_group = GroupFactory(birth_year=2021)
    kindergarten, city = windowed_group.kindergarten, windowed_group.kindergarten.city
    window = CohortWindowFactory(
        schedule__city=city, schedule__campaign_start=CAMPAIGN_START, birth_year=2021, priority_start=WINDOW_START
    )
    plain_group = GroupFactory(kindergarten=kindergarten, birth_year=2020)  # no window: claims at once
    days = city.priority_working_days
    overrides: dict[dt.date, str] = {}
    shift_start: dt.date | None = None

    places: dict[int, Expected] = {}
    for offset, in_window_cohort in sorted(releases):
        moment = FIRST + dt.timedelta(minutes=30 * offset)
        [place] = place_release(group=windowed_group if in_window_cohort else plain_group, count=1, at=moment)
        start = dt.datetime.combine(WINDOW_START, dt.time(0, 0), tzinfo=ASTANA)
        windowed = in_window_cohort and moment.astimezone(ASTANA).date() >= CAMPAIGN_START and start > moment
        entry = start if windowed else moment
        places[place.pk] = Expected(entry=entry, until=deadline(entry, days, overrides), windowed=windowed)
    referrals: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for n, offset in enumerate(sorted(claims)):
        moment = FIRST + dt.timedelta(minutes=30 * offset)
        referral = referral_for(plain_group, released=moment, claimed=moment, minutes=n, birth_date=dt.date(2020, 3, 1))
        referrals[referral.pk] = (moment, deadline(moment, 5, overrides))
    # Live offers (offer mode, issue 14), made at any moment: held until 18:00 of the city's offer_working_days-th
    # counted working day from then (written as the 18:00 run would, with the app's rule; the oracle checks it).
    offer_days = city.offer_working_days
    made: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for n, offset in enumerate(sorted(offers)):
        moment = FIRST + dt.timedelta(minutes=30 * offset)
        [place] = place_release(group=plain_group, count=1, at=moment)
        Place.objects.filter(pk=place.pk).update(state=Place.State.OFFERED)
        _parent, application = applicant(city, 10 + n, birth_date=dt.date(2020, 3, 1))
        offer = Offer.objects.create(
            place=place,
            application=application,
            parent=application.parent,
            kindergarten=kindergarten,
            queue_position=n + 1,
            made_at=moment,
            valid_until=offer_valid_until(made_at=moment, working_days=offer_days),
            protocol_day=moment.astimezone(ASTANA).date(),
        )
        made[offer.pk] = (moment, deadline(moment, offer_days, overrides))
    _check(places, referrals, made)

    moment = FIRST + dt.timedelta(minutes=30 * max([offset for offset, _ in releases] + claims + offers))
    for (kind, day, value), gap in zip(steps, gaps, strict=False):
        moment += dt.timedelta(minutes=30 * gap)
        day = moment.astimezone(ASTANA).date() + dt.timedelta(days=day)
        with at(moment):
            if kind == "override":
                if value is None:
                    CalendarOverride.objects.filter(date=day).delete()  # a no-op when there is none
                    overrides.pop(day, None)
                else:
                    CalendarOverride.objects.update_or_create(date=day, defaults={"kind": value, "legal_act": "A"})
                    overrides[day] = value
            elif value:
                KindergartenShift.objects.update_or_create(
                    window=window, kindergarten=kindergarten, defaults={"shifted_start": day, "reason": "R"}
                )
                shift_start = day
            else:
                for shift in KindergartenShift.objects.filter(window=window):
                    shift.delete()
                shift_start = None
        floor = next_18(moment)
        start = dt.datetime.combine(shift_start or WINDOW_START, dt.time(0, 0), tzinfo=ASTANA)
        for expected in places.values():
            if expected.until <= moment:
                continue  # passed: stays
            if expected.windowed and expected.entry > moment:
                expected.entry = max(start, moment)
            expected.until = max(deadline(expected.entry, days, overrides), floor)
        for pk, (issued, until) in referrals.items():
            if until > moment:
                referrals[pk] = (issued, max(deadline(issued, 5, overrides), floor))
        for pk, (made_at, until) in made.items():
            if until > moment:
                made[pk] = (made_at, max(deadline(made_at, offer_days, overrides), floor))
        _check(places, referrals, made)

    run_daily(at=moment + dt.timedelta(days=3), city=city)
    assert protocols_verify(city=city) == []


def _check(
    places: dict[int, Expected],
    referrals: dict[int, tuple[dt.datetime, dt.datetime]],
    offers: dict[int, tuple[dt.datetime, dt.datetime]],
) -> None:
    rows = Place.objects.filter(pk__in=places).values_list("pk", "entered_priority_at", "priority_until")
    assert {pk: (entry, until) for pk, entry, until in rows} == {pk: (e.entry, e.until) for pk, e in places.items()}
    valid = dict(Referral.objects.values_list("pk", "valid_until"))
    assert valid == {pk: until for pk, (_issued, until) in referrals.items()}
    live = dict(Offer.objects.filter(state=Offer.State.LIVE).values_list("pk", "valid_until"))
    assert live == {pk: until for pk, (_made, until) in offers.items()}
