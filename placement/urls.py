from django.urls import path

from . import views

app_name = "placement"

urlpatterns = [
    path("registry/", views.RegistryView.as_view(), name="registry"),
    path("protocol/", views.ProtocolIndexView.as_view(), name="protocols"),
]
