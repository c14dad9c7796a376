"""/api/v1/: each app contributes its routes here."""

from django.urls import include, path

urlpatterns = [
    path("", include("placement.api.urls")),
    path("schedules/", include("schedules.api_urls")),
    path("auth/", include("accounts.api_urls")),
]
