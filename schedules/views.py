"""Public pages of the summer schedule (DOMAIN.md, The seed's schedule): thin views over `schedule_overview`."""

from dataclasses import dataclass

from django.db.models import Max
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from .models import CohortWindow, KindergartenShift, SummerSchedule
from .selectors import WindowDates, window_dates

YEAR_RANGE = (2000, 2100)


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


# A read of the schedules app; it belongs in schedules/selectors.py (kept here while that file has another owner).
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


class ScheduleIndexView(TemplateView):
    """Every city's latest schedule; straight to it when only one city has a schedule."""

    template_name = "schedules/index.html"

    def get(self, request, *args, **kwargs):
        schedules = latest_schedules()
        if len(schedules) == 1:
            only = schedules[0]
            return redirect("schedules:detail", city=only.city.slug, year=only.year)
        return self.render_to_response(self.get_context_data(schedules=schedules))


class CityScheduleView(TemplateView):
    """A city's latest schedule."""

    def get(self, request, *args, city, **kwargs):
        latest = SummerSchedule.objects.filter(city__slug=city).order_by("-year").first()
        if latest is None:
            raise Http404("no summer schedule for this city")
        return redirect("schedules:detail", city=city, year=latest.year)


class ScheduleDetailView(TemplateView):
    template_name = "schedules/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        overview = schedule_overview(city_slug=kwargs["city"], year=kwargs["year"])
        if overview is None:
            raise Http404("no such summer schedule")
        city = overview.schedule.city
        context.update(
            overview=overview,
            schedule=overview.schedule,
            city=city,
            priority_working_days=city.priority_working_days,
            years=list(city.summer_schedules.order_by("-year").values_list("year", flat=True)),
        )
        return context
