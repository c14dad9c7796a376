"""Cabinet blocks for department admins (included by placement/urls.py under blocks/)."""

from django.urls import path

from .views import blocks

urlpatterns = [
    path("", blocks.BlockListView.as_view(), name="blocks"),
    path("new/", blocks.BlockNewView.as_view(), name="block-new"),
    path("<int:pk>/lift/", blocks.BlockLiftView.as_view(), name="block-lift"),
]
