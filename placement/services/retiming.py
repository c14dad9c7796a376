"""Re-timing what is still ahead when the rules change (DOMAIN.md, Places 6).

A calendar override or a kindergarten shift, added, changed or deleted, re-times every place still `scheduled` or
in priority access, every live referral and every live offer, by the counted-day rule applied to the calendar as it
now stands:

- only what is still ahead moves: a deadline at or before the change stays where it is;
- no deadline moves earlier than the next 18:00 after the change (`retime_floor`): the day's run and its protocol
  may already be counting on it;
- a place whose entry into priority is still ahead (a summer window) takes its window's start as it now stands
  (a shift moved or removed), never before the change itself;
- published protocols never change: each re-timed place gets a `retimed` event at the moment of the change, with
  the old and new times and the cause in its reason, so the next protocol explains it; a re-timed referral or offer
  is audited (`referral.retimed`, `offer.retimed`).

One transaction, the cities one by one under their lock (placement/locks.py: city, then the rows), set-based: the
rows ahead are read once under their row locks, the new times computed once per distinct (entry day, before
09:00) pair, and each kind of deadline is written with one UPDATE and one INSERT of events or audit records per
2,000 rows.

Known limit: a release or a claim that read the calendar before an override committed and commits after its
re-timing keeps the old deadline (each process re-reads a changed calendar within seconds: schedules.calendar).
Saving the override or the shift again, even unchanged, re-times what it missed: every save re-times.

Each kind of deadline is one function of `DEADLINES` with the signature of `places_retime` (it plans the moves of a
city; it writes them unless it is a preview): places, referrals, and offers' `valid_until` (issue 14: the city's
`offer_working_days` counted from the offer, `services.offers.offer_valid_until`). A later kind is one more such
function (see docs/ARCHITECTURE.md).
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import AuditEntry
from schedules.calendar import PROTOCOL_MOMENT, WORK_STARTS, astana, at_astana, calendar_as_stored, priority_ends_at
from schedules.calendar import protocol_day as protocol_day_of
from schedules.models import CalendarOverride, CohortWindow, KindergartenShift

from ..locks import city_lock, rows_lock
from ..models import Access, City, Offer, Place, PlaceEvent, Referral
from ..models.referrals import referral_valid_until
from ..registry_cache import registry_changed
from .offers import offer_valid_until

CHUNK = 2000  # rows per statement: well under SQLite's and PostgreSQL's parameter limits
REASON_MAX_LENGTH = 500

ShiftKey = tuple[int, int]  # (cohort window id, kindergarten id)


@dataclass(frozen=True)
class Cause:
    """What changed: `reason` names it on every event and audit record; `city_ids` None is every city (a calendar
    override). `calendar` and `shifts` are the change assumed before it is saved (the admin's preview): date ->
    "holiday", "working" or None (no override), and (window id, kindergarten id) -> shifted start or None."""

    reason: str
    city_ids: tuple[int, ...] | None = None
    calendar: Mapping[dt.date, str | None] = field(default_factory=dict)
    shifts: Mapping[ShiftKey, dt.date | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """One deadline re-timed: its row, the old and new deadline, and for a place whose entry is still ahead the old
    and new entry into priority access (equal when only the deadline moved)."""

    pk: int
    before: dt.datetime
    after: dt.datetime
    entry_before: dt.datetime | None = None
    entry_after: dt.datetime | None = None


@dataclass
class RetimeResult:
    """What a change re-timed (or, for a preview, would re-time): the moves of each kind of deadline."""

    moves: dict[str, list[Move]] = field(default_factory=dict)

    def add(self, kind: str, moves: list[Move]) -> None:
        self.moves.setdefault(kind, []).extend(moves)


def retime_floor(at: dt.datetime) -> dt.datetime:
    """The next 18:00 after `at` (Astana time): no re-timed deadline comes earlier (DOMAIN.md, Places 6)."""
    local = astana(at)
    day = local.date() if local.time() < PROTOCOL_MOMENT else local.date() + dt.timedelta(days=1)
    return at_astana(day, PROTOCOL_MOMENT)


def _by_entry_day(rule: Callable[[dt.datetime], dt.datetime]) -> Callable[[dt.datetime], dt.datetime]:
    """`rule` computed once per (Astana date, before 09:00): the counted-day rule depends on nothing else."""
    memo: dict[tuple[dt.date, bool], dt.datetime] = {}

    def ruled(moment: dt.datetime) -> dt.datetime:
        local = astana(moment)
        key = (local.date(), local.time() < WORK_STARTS)
        if key not in memo:
            memo[key] = rule(moment)
        return memo[key]

    return ruled


def _moment(value: dt.datetime) -> str:
    # Numbers only, the same in every language (and far cheaper than date_format for thousands of rows).
    return astana(value).strftime("%d.%m.%Y %H:%M")


def _reasons(cause: Cause) -> Callable[[Move], str]:
    """`_reason` memoised per distinct pair of old and new times: a change moves whole releases alike."""
    memo: dict[tuple, str] = {}

    def reason(move: Move) -> str:
        key = (move.before, move.after, move.entry_before, move.entry_after)
        if key not in memo:
            memo[key] = _reason(cause, move)
        return memo[key]

    return reason


def _reason(cause: Cause, move: Move) -> str:
    times = _("general access %(before)s → %(after)s") % {"before": _moment(move.before), "after": _moment(move.after)}
    if move.entry_before is not None and move.entry_before != move.entry_after:
        times = _("priority access from %(before)s → %(after)s; %(times)s") % {
            "before": _moment(move.entry_before),
            "after": _moment(move.entry_after),
            "times": times,
        }
    text = f"{times}. {cause.reason}"
    return text[: REASON_MAX_LENGTH - 1] + "…" if len(text) > REASON_MAX_LENGTH else text


def _chunks(rows: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _values(rows: list[tuple], names: tuple[str, ...]) -> tuple[str, list]:
    """A CTE `v(names)` of these rows, as SQL with its parameters."""
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    return f"WITH v({', '.join(names)}) AS (VALUES {', '.join([row] * len(rows))})", [x for r in rows for x in r]


def _db_time(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


# --- Places: the entry into priority (a window still ahead) and the end of priority -------------------------------


def _window_starts(*, city: City, cause: Cause) -> Callable[[int, int, dt.datetime], dt.date | None]:
    """The priority start (shifted per kindergarten) of the window that holds a place of a cohort released at a
    moment, as the schedules now stand with the cause's assumed shifts (schedules.selectors.scheduled_start_for's
    window, read once for the city)."""
    windows = {
        (window.schedule.year, window.birth_year): window
        for window in CohortWindow.objects.filter(schedule__city_id=city.pk).select_related("schedule")
    }
    shifts: dict[ShiftKey, dt.date | None] = {
        (shift.window_id, shift.kindergarten_id): shift.shifted_start
        for shift in KindergartenShift.objects.filter(window__schedule__city_id=city.pk)
    }
    shifts.update(cause.shifts)

    def start(kindergarten_id: int, birth_year: int, released_at: dt.datetime) -> dt.date | None:
        day = astana(released_at).date()
        window = windows.get((day.year, birth_year))
        if window is None or window.schedule.campaign_start > day:
            return None
        shifted = shifts.get((window.pk, kindergarten_id))
        return shifted or window.priority_start

    return start


def places_retime(*, city: City, at: dt.datetime, cause: Cause, by=None, apply: bool = True) -> list[Move]:
    """Re-time the city's places still ahead: scheduled or in priority access, with their end of priority after
    `at` (DOMAIN.md, Places 1-2 and 6). The entry into priority, while ahead, is the window's start as the schedule
    now stands (not before `at`); the end of priority is the counted-day rule from that entry on the calendar as it
    now stands, not before the next 18:00 after `at`."""
    floor = retime_floor(at)
    ends_at = _by_entry_day(lambda entered: priority_ends_at(entered, city.priority_working_days))
    starts = _window_starts(city=city, cause=cause)
    rows = (
        Place.objects.filter(
            city_id=city.pk, state__in=(Place.State.SCHEDULED, Place.State.PRIORITY), priority_until__gt=at
        )
        .order_by("pk")
        .values_list(
            "pk", "kindergarten_id", "group__birth_year", "released_at", "entered_priority_at", "priority_until"
        )
    )
    if apply:
        rows = rows_lock(rows)
    moves = []
    for pk, kindergarten_id, birth_year, released_at, entered, until in rows:
        new_entered = entered
        if entered > at:
            start = starts(kindergarten_id, birth_year, released_at)
            if start is not None:
                new_entered = max(at_astana(start, dt.time(0, 0)), at)
        new_until = max(ends_at(new_entered), floor)
        if new_entered != entered or new_until != until:
            moves.append(Move(pk=pk, before=until, after=new_until, entry_before=entered, entry_after=new_entered))
    if apply and moves:
        _places_write(city=city, moves=moves, at=at, cause=cause, by=by)
    return moves


def _places_write(*, city: City, moves: list[Move], at: dt.datetime, cause: Cause, by) -> None:
    place, event, group = Place._meta.db_table, PlaceEvent._meta.db_table, "placement_group"
    recorded_at, day = timezone.now(), protocol_day_of(at)
    reason = _reasons(cause)
    with connection.cursor() as cursor:
        for chunk in _chunks(moves):
            rows = [
                (
                    move.pk,
                    _db_time(move.entry_after),
                    _db_time(move.after),
                    reason(move),
                    Access.SCHEDULED.value if move.entry_after > at else Access.PRIORITY.value,
                )
                for move in chunk
            ]
            cte, params = _values(rows, ("id", "entered", "until", "reason", "access"))
            # The events first, from the rows as they stand (the UPDATE below changes none of the copied columns).
            cursor.execute(
                f"{cte} INSERT INTO {event} (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at,"
                f" by_id, reason, birth_year, language, group_type, access)"
                f" SELECT p.id, p.city_id, p.kindergarten_id, %s, %s, %s, %s, %s, v.reason, g.birth_year,"
                f" g.language, g.group_type, v.access"
                f" FROM v JOIN {place} p ON p.id = v.id JOIN {group} g ON g.id = p.group_id",
                [*params, PlaceEvent.Kind.RETIMED.value, _db_time(at), day, _db_time(recorded_at), by_id(by)],
            )
            cte, params = _values([row[:3] for row in rows], ("id", "entered", "until"))
            cursor.execute(
                f"{cte} UPDATE {place} SET entered_priority_at = v.entered, priority_until = v.until"
                f" FROM v WHERE {place}.id = v.id",
                params,
            )
    registry_changed(city_ids=[city.pk])


def by_id(by) -> int | None:
    return getattr(by, "pk", None)


# --- Referrals: valid to 18:00 of the 5th counted working day --------------------------------------------------


@dataclass(frozen=True)
class _LiveDeadline:
    """A row that holds a place until its `valid_until` while `live` (the column and its live value): a referral,
    an offer. `rule(city)` is its deadline from the moment in `counts_from`; a move is audited as `action`."""

    model: type
    live: tuple[str, str]
    counts_from: str
    rule: Callable[[City], Callable[[dt.datetime], dt.datetime]]
    action: str

    def retime(self, *, city: City, at: dt.datetime, cause: Cause, by, apply: bool) -> list[Move]:
        """The moves of the city's live rows still valid after `at` to the later of the rule on the calendar as it
        now stands and the next 18:00 after `at`; written (only those still live) and audited when `apply`, the
        rows locked first."""
        column, live = self.live
        rows = self.model.objects.filter(**{column: live}, place__city_id=city.pk, valid_until__gt=at)
        rows = rows.values_list("pk", self.counts_from, "valid_until")
        if apply:
            rows = rows_lock(rows)
        floor, rule = retime_floor(at), _by_entry_day(self.rule(city))
        moves = []
        # In place order, as a block locks them (place, then its referral or offer): the two never wait on each other.
        for pk, start, until in rows.order_by("place_id", "pk"):
            new_until = max(rule(start), floor)
            if new_until != until:
                moves.append(Move(pk=pk, before=until, after=new_until))
        if apply and moves:
            _valid_until_write(model=self.model, live=self.live, moves=moves)
            _retimed_audit(model=self.model, action=self.action, moves=moves, at=at, cause=cause, by=by)
        return moves


_REFERRALS = _LiveDeadline(
    model=Referral,
    live=("status", Referral.Status.LIVE.value),
    counts_from="issued_at",
    rule=lambda city: referral_valid_until,
    action="referral.retimed",
)
_OFFERS = _LiveDeadline(
    model=Offer,
    live=("state", Offer.State.LIVE.value),
    counts_from="made_at",
    rule=lambda city: lambda made_at: offer_valid_until(made_at=made_at, working_days=city.offer_working_days),
    action="offer.retimed",
)


def referrals_retime(*, city: City, at: dt.datetime, cause: Cause, by=None, apply: bool = True) -> list[Move]:
    """Re-time the city's live referrals still valid after `at` (DOMAIN.md, Referral; Places 6): the counted-day
    rule from their issue on the calendar as it now stands, not before the next 18:00 after `at`; each is audited."""
    return _REFERRALS.retime(city=city, at=at, cause=cause, by=by, apply=apply)


def _valid_until_write(*, model, live: tuple[str, str], moves: list[Move]) -> None:
    """`valid_until` of the moved rows still live (`live`: the column and its live value), one UPDATE per chunk."""
    table, column = model._meta.db_table, live[0]
    with connection.cursor() as cursor:
        for chunk in _chunks(moves):
            cte, params = _values([(move.pk, _db_time(move.after)) for move in chunk], ("id", "until"))
            cursor.execute(
                f"{cte} UPDATE {table} SET valid_until = v.until"
                f" FROM v WHERE {table}.id = v.id AND {table}.{column} = %s",
                [*params, live[1]],
            )


def _retimed_audit(*, model, action: str, moves: list[Move], at: dt.datetime, cause: Cause, by) -> None:
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                at=at,
                actor_id=by_id(by),
                action=action,
                target_type=model._meta.label_lower,
                target_id=str(move.pk),
                details={"before": move.before.isoformat(), "after": move.after.isoformat(), "cause": cause.reason},
            )
            for move in moves
        ],
        batch_size=CHUNK,
    )


# --- Offers (offer mode): valid to 18:00 of the city's `offer_working_days`-th counted working day --------------


def offers_retime(*, city: City, at: dt.datetime, cause: Cause, by=None, apply: bool = True) -> list[Move]:
    """Re-time the city's live offers still valid after `at` (DOMAIN.md, Allocation modes; Places 6): the rule of
    `offer_valid_until` from when the offer was made, with the city's `offer_working_days`, on the calendar as it
    now stands, not before the next 18:00 after `at`; each is audited (`offer.retimed`). The place an offer holds
    stays `offered` (no place event, nothing the registry shows changes)."""
    return _OFFERS.retime(city=city, at=at, cause=cause, by=by, apply=apply)


# Every kind of deadline a change of the calendar or of a shift re-times, each `(city, at, cause, by, apply)`.
DEADLINES: dict[str, Callable[..., list[Move]]] = {
    "places": places_retime,
    "referrals": referrals_retime,
    "offers": offers_retime,
}


def retime(*, cause: Cause, at: dt.datetime | None = None, by=None) -> RetimeResult:
    """Re-time every deadline still ahead in the cause's cities, in one transaction, under their locks.

    Every city is locked first (in id order, as the 18:00 run takes them) and only then is the moment of the change
    read from the clock: an 18:00 run that held a city publishes its day before the change is dated, so a `retimed`
    event never falls in a protocol already published."""
    result = RetimeResult()
    cities = City.objects.order_by("pk")
    if cause.city_ids is not None:
        cities = cities.filter(pk__in=cause.city_ids)
    with transaction.atomic(), calendar_as_stored(assume=cause.calendar):
        locked = [city_lock(city_id=city_id) for city_id in cities.values_list("pk", flat=True)]
        at = at or timezone.now()
        for city in locked:
            for kind, retime_kind in DEADLINES.items():
                result.add(kind, retime_kind(city=city, at=at, cause=cause, by=by, apply=True))
    return result


def retime_preview(*, cause: Cause, at: dt.datetime | None = None) -> RetimeResult:
    """What `retime` would move if the cause's assumed change were saved at `at`; writes and locks nothing."""
    at = at or timezone.now()
    result = RetimeResult()
    cities = City.objects.order_by("pk")
    if cause.city_ids is not None:
        cities = cities.filter(pk__in=cause.city_ids)
    with calendar_as_stored(assume=cause.calendar):
        for city in cities:
            for kind, retime_kind in DEADLINES.items():
                result.add(kind, retime_kind(city=city, at=at, cause=cause, apply=False))
    return result


# --- The causes ---------------------------------------------------------------------------------------------


def _day(value: dt.date) -> str:
    return date_format(value, "d.m.Y")


def override_cause(
    *, date: dt.date, kind: str | None, legal_act: str, previous_date: dt.date | None = None, assume: bool = False
) -> Cause:
    """The cause of a calendar override of `date` saved as `kind` ("holiday", "working"), or deleted (kind None);
    `previous_date` is the date it had before an edit moved it. `assume` makes it a preview's cause."""
    if kind is None:
        reason = _("Calendar override of %(date)s removed (%(act)s)") % {"date": _day(date), "act": legal_act}
    else:
        reason = _("Calendar override of %(date)s: %(kind)s (%(act)s)") % {
            "date": _day(date),
            "kind": CalendarOverride.Kind(kind).label,
            "act": legal_act,
        }
    calendar: dict[dt.date, str | None] = {}
    if assume:
        if previous_date is not None and previous_date != date:
            calendar[previous_date] = None
        calendar[date] = kind
    return Cause(reason=str(reason), calendar=calendar)


def shift_cause(
    *,
    window: CohortWindow,
    kindergarten,
    shifted_start: dt.date | None,
    reason: str = "",
    previous: ShiftKey | None = None,
    assume: bool = False,
) -> Cause:
    """The cause of a kindergarten's shift of a cohort window saved to `shifted_start`, or deleted (None), in the
    window's city; `previous` is the (window, kindergarten) it had before an edit. `assume` makes it a preview's."""
    if shifted_start is None:
        text = _("Kindergarten %(kindergarten)s: the shift of the %(cohort)s cohort's window removed") % {
            "kindergarten": kindergarten.code,
            "cohort": window.birth_year,
        }
    else:
        text = _("Kindergarten %(kindergarten)s: the %(cohort)s cohort's window starts %(date)s (%(reason)s)") % {
            "kindergarten": kindergarten.code,
            "cohort": window.birth_year,
            "date": _day(shifted_start),
            "reason": reason,
        }
    shifts: dict[ShiftKey, dt.date | None] = {}
    if assume:
        if previous is not None and previous != (window.pk, kindergarten.pk):
            shifts[previous] = None
        shifts[(window.pk, kindergarten.pk)] = shifted_start
    return Cause(reason=str(text), city_ids=(window.schedule.city_id,), shifts=shifts)


def calendar_override_retime(
    *, override: CalendarOverride, deleted: bool = False, at: dt.datetime | None = None, by=None
) -> RetimeResult:
    """An override was saved or deleted (its row as this transaction sees it): re-time every city."""
    cause = override_cause(date=override.date, kind=None if deleted else override.kind, legal_act=override.legal_act)
    return retime(cause=cause, at=at, by=by)


def kindergarten_shift_retime(
    *, shift: KindergartenShift, deleted: bool = False, at: dt.datetime | None = None, by=None
) -> RetimeResult:
    """A kindergarten shift was saved or deleted: re-time its window's city."""
    cause = shift_cause(
        window=shift.window,
        kindergarten=shift.kindergarten,
        shifted_start=None if deleted else shift.shifted_start,
        reason=shift.reason,
    )
    return retime(cause=cause, at=at, by=by)


# --- The admin's preview ------------------------------------------------------------------------------------------


def change_preview(
    *,
    at: dt.datetime,
    override: CalendarOverride | None = None,
    previous_date: dt.date | None = None,
    shift: KindergartenShift | None = None,
    previous: ShiftKey | None = None,
) -> RetimeResult:
    """What saving this override or shift (as typed, unsaved) at `at` would re-time."""
    if override is not None:
        cause = override_cause(
            date=override.date,
            kind=override.kind,
            legal_act=override.legal_act,
            previous_date=previous_date,
            assume=True,
        )
    else:
        cause = shift_cause(
            window=shift.window,
            kindergarten=shift.kindergarten,
            shifted_start=shift.shifted_start,
            reason=shift.reason,
            previous=previous,
            assume=True,
        )
    return retime_preview(cause=cause, at=at)


PREVIEW_DEADLINES_SHOWN = 5


def _new_deadlines(moves: list[Move]) -> str:
    counts: dict[dt.datetime, int] = {}
    for move in moves:
        counts[move.after] = counts.get(move.after, 0) + 1
    shown = sorted(counts.items())[:PREVIEW_DEADLINES_SHOWN]
    text = ", ".join(f"{_moment(after)} ({count})" for after, count in shown)
    return text + (", …" if len(counts) > PREVIEW_DEADLINES_SHOWN else "")


def retime_preview_lines(result: RetimeResult) -> list[str]:
    """The preview's lines: how many places, referrals and offers the change would re-time, and to what."""
    places, referrals = result.moves.get("places", []), result.moves.get("referrals", [])
    offers = result.moves.get("offers", [])
    if not places and not referrals and not offers:
        return [_("This change re-times no place, no referral and no offer.")]
    lines = []
    if places:
        lines.append(
            _("Places to re-time: %(count)d; general access at: %(deadlines)s.")
            % {"count": len(places), "deadlines": _new_deadlines(places)}
        )
    if referrals:
        lines.append(
            _("Referrals to re-time: %(count)d; valid until: %(deadlines)s.")
            % {"count": len(referrals), "deadlines": _new_deadlines(referrals)}
        )
    if offers:
        lines.append(
            _("Offers to re-time: %(count)d; valid until: %(deadlines)s.")
            % {"count": len(offers), "deadlines": _new_deadlines(offers)}
        )
    return lines
