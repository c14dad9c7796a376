from django.urls import path

from . import views

app_name = "schedules"

urlpatterns = [
    path("", views.ScheduleIndexView.as_view(), name="index"),
]
