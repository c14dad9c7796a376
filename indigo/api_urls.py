"""/api/v1/: each app contributes its routes here."""

from django.urls import include, path

from placement.api.queue import QueueLookupView

urlpatterns = [
    path("", include("placement.api.urls_public")),
    path("staff/", include("placement.api.urls_staff")),
    path("schedules/", include("schedules.api_urls")),
    path("auth/", include("accounts.api_urls")),
    path("me/", include("placement.api.urls_me")),
    path("queue/<str:number>/", QueueLookupView.as_view(), name="api-queue-lookup"),
]
