"""Reads of the summer schedules (DOMAIN.md, Places 1 and the seed's schedule)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from .calendar import PROTOCOL_MOMENT, astana, at_astana, counted_days
from .models import CohortWindow, KindergartenShift, SummerSchedule

YEAR_RANGE = (2000, 2100)


@dataclass(frozen=True)
class WindowDates:
    """The dates a window gives one kindergarten: priority from `priority_start` 00:00 to `priority_end` 18:00,
    general access from then on (the notice's "free access" date is the day after `priority_end`)."""

    priority_start: dt.date
    priority_end: dt.date
    general_at: dt.datetime
    shifted: bool
    reason: str = ""

    @property
    def priority_starts_at(self) -> dt.datetime:
        return at_astana(self.priority_start, dt.time(0, 0))

    @property
    def general_from(self) -> dt.date:
        return self.priority_end + dt.timedelta(days=1)


def window_dates(
    *,
    window: CohortWindow,
    kindergarten_id: int | None = None,
    working_days: int | None = None,
    shift: KindergartenShift | None = None,
) -> WindowDates:
    """The dates of a cohort's window, shifted for a kindergarten: `shift` when the caller has it loaded, else
    looked up by `kindergarten_id`."""
    if shift is None and kindergarten_id is not None:
        shift = KindergartenShift.objects.filter(window=window, kindergarten_id=kindergarten_id).first()
    start = shift.shifted_start if shift else window.priority_start
    days = working_days or window.schedule.city.priority_working_days
    counted = counted_days(at_astana(start, dt.time(0, 0)), days)
    return WindowDates(
        priority_start=start,
        priority_end=counted[-1],
        general_at=at_astana(counted[-1], PROTOCOL_MOMENT),
        shifted=shift is not None,
        reason=shift.reason if shift else "",
    )


def cohort_window_for(*, city_id: int, birth_year: int, at: dt.datetime) -> CohortWindow | None:
    """The window of the campaign running at `at` for this cohort, if the campaign has begun."""
    local_day = astana(at).date()
    return (
        CohortWindow.objects.select_related("schedule", "schedule__city")
        .filter(
            schedule__city_id=city_id,
            schedule__year=local_day.year,
            birth_year=birth_year,
            schedule__campaign_start__lte=local_day,
        )
        .first()
    )


def scheduled_start_for(*, city_id: int, kindergarten_id: int, birth_year: int, at: dt.datetime) -> dt.datetime | None:
    """When a place released at `at` enters priority access, if its summer window has not opened yet.

    DOMAIN.md, Places 1: during a summer campaign a place of a cohort that has a window is `scheduled` until the
    window's priority start (00:00 of that date, shifted per kindergarten where the schedule says so).
    """
    window = cohort_window_for(city_id=city_id, birth_year=birth_year, at=at)
    if window is None:
        return None
    starts_at = window_dates(window=window, kindergarten_id=kindergarten_id).priority_starts_at
    return starts_at if starts_at > at else None


@dataclass(frozen=True)
class WindowRow:
    window: CohortWindow
    dates: WindowDates


@dataclass(frozen=True)
class ShiftRow:
    shift: KindergartenShift
    dates: WindowDates


@dataclass(frozen=True)
class ScheduleOverview:
    schedule: SummerSchedule
    windows: list[WindowRow]
    shifts: list[ShiftRow]


def schedule_overview(*, city_slug: str, year: int) -> ScheduleOverview | None:
    """A city's schedule of one year with every window's dates and every kindergarten shift's dates, computed from
    the working-day calendar (DOMAIN.md, Places 1-2); None when there is no such schedule."""
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        return None
    schedule = SummerSchedule.objects.select_related("city").filter(city__slug=city_slug, year=year).first()
    if schedule is None:
        return None
    windows = list(schedule.windows.select_related("schedule__city"))
    shifts = KindergartenShift.objects.filter(window__schedule=schedule).select_related(
        "kindergarten", "window__schedule__city"
    )
    return ScheduleOverview(
        schedule=schedule,
        windows=[WindowRow(window=window, dates=window_dates(window=window)) for window in windows],
        shifts=[
            ShiftRow(shift=shift, dates=window_dates(window=shift.window, shift=shift))
            for shift in sorted(shifts, key=lambda s: (s.window.priority_start, -s.window.age, s.kindergarten.code))
        ],
    )


def latest_schedules() -> list[SummerSchedule]:
    """The latest schedule of each city, by city name."""
    latest = SummerSchedule.objects.values("city_id").annotate(year=Max("year"))
    wanted = {(row["city_id"], row["year"]) for row in latest}
    schedules = SummerSchedule.objects.select_related("city").filter(
        city_id__in={city_id for city_id, _ in wanted}, year__in={year for _, year in wanted}
    )
    return sorted((s for s in schedules if (s.city_id, s.year) in wanted), key=lambda s: s.city.name)
