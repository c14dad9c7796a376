from django.urls import include, path

from .views import public

app_name = "placement"

urlpatterns = [
    path("registry/", public.RegistryView.as_view(), name="registry"),
    path("protocol/", public.ProtocolIndexView.as_view(), name="protocols"),
    path("staff/", include("placement.urls_staff")),
]
