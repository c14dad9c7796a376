"""Public API: the free-places registry and the release protocol."""

from django.urls import path

from . import claims, public

urlpatterns = [
    path("registry/", public.RegistryView.as_view(), name="api-registry"),
    path("registry/summary/", public.RegistrySummaryView.as_view(), name="api-registry-summary"),
    path("protocols/", public.ProtocolListView.as_view(), name="api-protocols"),
    path("protocols/<slug:city>/<str:day>/", public.ProtocolDayView.as_view(), name="api-protocol-day"),
    path(
        "protocols/<slug:city>/<str:day>/document/",
        public.ProtocolDocumentView.as_view(),
        name="api-protocol-document",
    ),
    path("places/<int:pk>/claim/", claims.PlaceClaimView.as_view(), name="api-place-claim"),
]
