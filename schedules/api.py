"""Public API: a city's summer schedule of one year, with the dates computed from the working-day calendar."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from indigo.api import refused
from indigo.errors import NotFound

from .selectors import schedule_overview


class ScheduleCitySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language).")


class ScheduleWindowSerializer(serializers.Serializer):
    birth_year = serializers.IntegerField(source="window.birth_year")
    age = serializers.IntegerField(source="window.age")
    priority_start = serializers.DateField(source="dates.priority_start", help_text="Priority access from 00:00.")
    priority_end = serializers.DateField(source="dates.priority_end", help_text="Priority access until 18:00.")
    general_from = serializers.DateField(
        source="dates.general_from", help_text="The notice's date of general access: the day after priority_end."
    )
    general_at = serializers.DateTimeField(
        source="dates.general_at", help_text="The moment unclaimed places move to general access."
    )


class ScheduleShiftKindergartenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class ScheduleShiftSerializer(serializers.Serializer):
    kindergarten = ScheduleShiftKindergartenSerializer(source="shift.kindergarten")
    birth_year = serializers.IntegerField(source="shift.window.birth_year")
    shifted_start = serializers.DateField(source="dates.priority_start")
    priority_end = serializers.DateField(source="dates.priority_end")
    general_from = serializers.DateField(source="dates.general_from")
    general_at = serializers.DateTimeField(source="dates.general_at")
    reason = serializers.CharField(source="shift.reason", help_text="In the request's language.")


class SummerScheduleSerializer(serializers.Serializer):
    city = ScheduleCitySerializer(source="schedule.city")
    year = serializers.IntegerField(source="schedule.year")
    campaign_start = serializers.DateField(source="schedule.campaign_start")
    windows = ScheduleWindowSerializer(many=True)
    shifts = ScheduleShiftSerializer(many=True)


class ScheduleDetailAPIView(APIView):
    @extend_schema(
        operation_id="schedules_retrieve",
        summary="A city's summer placement schedule of one year",
        description=(
            "The cohort windows with their priority and general-access dates computed from the working-day "
            "calendar and the city's number of priority working days, and the per-kindergarten shifts."
        ),
        responses={
            200: SummerScheduleSerializer,
            404: refused("No schedule for this city and year."),
        },
        tags=["schedules"],
    )
    def get(self, request, city: str, year: int):
        overview = schedule_overview(city_slug=city, year=year)
        if overview is None:
            raise NotFound(_("There is no summer schedule for this city and year."))
        return Response(SummerScheduleSerializer(overview).data)
