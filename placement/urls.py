from django.urls import include, path

from .views import public
from .views.queue_lookup import QueueLookupView

app_name = "placement"

urlpatterns = [
    path("registry/", public.RegistryView.as_view(), name="registry"),
    path("protocol/", public.ProtocolIndexView.as_view(), name="protocols"),
    path("protocol/<slug:city>/<str:day>/", public.ProtocolDayView.as_view(), name="protocol_day"),
    path(
        "protocol/<slug:city>/<str:day>/download.<str:fmt>",
        public.ProtocolDownloadView.as_view(),
        name="protocol_download",
    ),
    path("staff/", include("placement.urls_staff")),
    path("cabinet/", include("placement.urls_cabinet")),
    path("queue/", QueueLookupView.as_view(), name="queue-lookup"),
    path("blocks/", include("placement.urls_blocks")),
    path("", include("placement.urls_referrals")),
]
