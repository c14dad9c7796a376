"""Public API: summer schedules."""

from django.urls import path

from . import api

urlpatterns = [
    path("<slug:city>/<int:year>/", api.ScheduleDetailAPIView.as_view(), name="api-schedule-detail"),
]
