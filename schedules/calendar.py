"""The working-day calendar of Kazakhstan (DOMAIN.md, Time).

Base: the `holidays` package's KZ calendar (public holidays, weekend holidays moved to the next workday,
government transfers such as the worked Saturday 2024-05-04). On top: admin overrides (`CalendarOverride`),
which win. A year's calendar is cached and dropped whenever an override of that year changes.
"""

import contextvars
import datetime as dt
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays
from django.core.cache import cache

ASTANA = ZoneInfo("Asia/Almaty")
WORK_STARTS = dt.time(9, 0)
WORK_ENDS = dt.time(18, 0)
PROTOCOL_MOMENT = dt.time(18, 0)

_CACHE_KEY = "schedules:calendar:{year}"
_VERSION_KEY = "schedules:calendar:{year}:version"
_CACHE_TTL = 24 * 3600
# Each process keeps the years it used; it asks the shared cache whether a year changed at most this often, so a
# claim or a registry page does not fetch and unpickle the calendar for every working-day question.
_LOCAL_RECHECK_SECONDS = 5.0
_local: dict[int, tuple[object, "YearCalendar", float]] = {}
# A search for the next working day never needs more than a few weeks; this only guards against a calendar
# that an override made entirely non-working.
_MAX_SCAN_DAYS = 366


@dataclass(frozen=True)
class YearCalendar:
    days_off: frozenset[dt.date]
    working_weekend_days: frozenset[dt.date]

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekend_days:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5


def _build_year(year: int, assumed: Mapping[dt.date, str | None] | None = None) -> YearCalendar:
    from .models import CalendarOverride

    base = holidays.country_holidays("KZ", years=year)
    days_off = set(base.keys())
    working = {day for day in base.weekend_workdays if day.year == year}
    overrides = {override.date: override.kind for override in CalendarOverride.objects.filter(date__year=year)}
    for day, kind in (assumed or {}).items():
        if day.year != year:
            continue
        if kind is None:
            overrides.pop(day, None)
        else:
            overrides[day] = kind
    for day, kind in overrides.items():
        if kind == CalendarOverride.Kind.HOLIDAY:
            days_off.add(day)
            working.discard(day)
        else:
            working.add(day)
            days_off.discard(day)
    return YearCalendar(days_off=frozenset(days_off), working_weekend_days=frozenset(working))


# Inside `calendar_as_stored`: the years read from the database as this transaction sees it, with the assumed
# overrides, kept for this block only and never written to the shared cache.
_fresh: contextvars.ContextVar[tuple[dict, dict[int, YearCalendar]] | None] = contextvars.ContextVar(
    "schedules_calendar_fresh", default=None
)


@contextmanager
def calendar_as_stored(*, assume: Mapping[dt.date, str | None] | None = None) -> Iterator[None]:
    """Within the block, every working-day question is answered from the overrides as this transaction sees them
    (a change not yet committed included), with `assume` on top (date -> "holiday", "working", or None for no
    override: a preview of a change before it is saved). Nothing read here reaches the shared cache, so a change
    rolled back, or only previewed, is never served to anyone (the re-timing of DOMAIN.md, Places 6)."""
    token = _fresh.set((dict(assume or {}), {}))
    try:
        yield
    finally:
        _fresh.reset(token)


def _shared_year_calendar(year: int) -> YearCalendar:
    key = _CACHE_KEY.format(year=year)
    calendar = cache.get(key)
    if calendar is None:
        calendar = _build_year(year)
        cache.set(key, calendar, _CACHE_TTL)
    return calendar


def year_calendar(year: int) -> YearCalendar:
    fresh = _fresh.get()
    if fresh is not None:
        assumed, years = fresh
        if year not in years:
            years[year] = _build_year(year, assumed)
        return years[year]
    now = time.monotonic()
    entry = _local.get(year)
    if entry is not None and now - entry[2] < _LOCAL_RECHECK_SECONDS:
        return entry[1]
    version = cache.get(_VERSION_KEY.format(year=year))
    if entry is not None and entry[0] == version and version is not None:
        _local[year] = (version, entry[1], now)
        return entry[1]
    if version is None:
        version = time.time_ns()
        cache.add(_VERSION_KEY.format(year=year), version, None)
        version = cache.get(_VERSION_KEY.format(year=year), version)
    calendar = _shared_year_calendar(year)
    _local[year] = (version, calendar, now)
    return calendar


def calendar_invalidate(*, year: int) -> None:
    """Drop a year everywhere: the shared copy, this process's copy, and (through a new version) the others'."""
    cache.delete(_CACHE_KEY.format(year=year))
    cache.set(_VERSION_KEY.format(year=year), time.time_ns(), None)
    _local.pop(year, None)


def is_working_day(day: dt.date) -> bool:
    return year_calendar(day.year).is_working_day(day)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (before it when `count` is negative); `day` itself is not counted."""
    step = dt.timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    current = day
    scanned = 0
    while remaining:
        current += step
        scanned += 1
        if scanned > _MAX_SCAN_DAYS * max(1, abs(count)):
            raise ValueError("no working day found: check the calendar overrides")
        if is_working_day(current):
            remaining -= 1
    return current


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the first working day after it."""
    return day if is_working_day(day) else add_working_days(day, 1)


def astana(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("business times must be aware datetimes")
    return moment.astimezone(ASTANA)


def first_counted_day(entered_at: dt.datetime) -> dt.date:
    """DOMAIN.md, Places 2: the entry day if entered before 09:00 of a working day, else the next working day."""
    local = astana(entered_at)
    if is_working_day(local.date()) and local.time() < WORK_STARTS:
        return local.date()
    return add_working_days(local.date(), 1)


def counted_days(entered_at: dt.datetime, count: int) -> list[dt.date]:
    """The `count` working days a place spends in priority access, entering at `entered_at`."""
    first = first_counted_day(entered_at)
    days = [first]
    while len(days) < count:
        days.append(add_working_days(days[-1], 1))
    return days


def moment_parse(value: str) -> dt.datetime:
    """A moment from ISO text, as the 18:00 run's `at` is given by hand or to the task: with an offset, or Astana
    time without one ("2024-06-05T18:00+05:00", "2024-06-05 18:00", "2024-06-05" for its 00:00). Raises ValueError
    for anything else: an unparsable moment is an error, never "now"."""
    text = str(value or "").strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date-time: {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ASTANA)


def at_astana(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=ASTANA)


def priority_ends_at(entered_at: dt.datetime, working_days: int) -> dt.datetime:
    """The 18:00 run of the last counted day moves the place to general access (DOMAIN.md, Places 2)."""
    return at_astana(counted_days(entered_at, working_days)[-1], PROTOCOL_MOMENT)


def protocol_day(moment: dt.datetime) -> dt.date:
    """The date D with `moment` in (D-1 18:00, D 18:00] Astana time (DOMAIN.md, Time)."""
    local = astana(moment)
    if local.time() <= PROTOCOL_MOMENT:
        return local.date()
    return local.date() + dt.timedelta(days=1)


@dataclass(frozen=True)
class SupportStatus:
    open_now: bool
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None


def support_status(at: dt.datetime) -> SupportStatus:
    """Support answers on working days 09:00-18:00 Astana time (DOMAIN.md, People and security)."""
    local = astana(at)
    today = local.date()
    if is_working_day(today) and WORK_STARTS <= local.time() < WORK_ENDS:
        return SupportStatus(open_now=True, opens_at=None, closes_at=at_astana(today, WORK_ENDS))
    opens = today if is_working_day(today) and local.time() < WORK_STARTS else add_working_days(today, 1)
    return SupportStatus(open_now=False, opens_at=at_astana(opens, WORK_STARTS), closes_at=None)


def support_changes_at(at: dt.datetime) -> dt.datetime:
    """The next moment after `at` at which support opens or closes (a page showing whether it is open is true until
    then)."""
    status = support_status(at)
    return status.closes_at if status.open_now else status.opens_at
