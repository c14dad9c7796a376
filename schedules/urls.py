from django.urls import path

from . import views

app_name = "schedules"

urlpatterns = [
    path("", views.ScheduleIndexView.as_view(), name="index"),
    path("<slug:city>/", views.CityScheduleView.as_view(), name="city"),
    path("<slug:city>/<int:year>/", views.ScheduleDetailView.as_view(), name="detail"),
]
