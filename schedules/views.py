"""Public pages of the summer schedule (DOMAIN.md, The seed's schedule): thin views over `schedule_overview`."""

from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from .models import SummerSchedule
from .selectors import latest_schedules, schedule_overview


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
