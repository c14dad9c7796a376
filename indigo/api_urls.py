"""/api/v1/: each app contributes its routes here."""

from django.urls import include, path

urlpatterns = [
    path("", include("placement.api.urls_public")),
    path("staff/", include("placement.api.urls_staff")),
    path("schedules/", include("schedules.api_urls")),
]
