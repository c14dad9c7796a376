"""Cabinet blocks for department admins (included by accounts/urls.py under blocks/, namespace "accounts")."""

from django.urls import path

from . import views_blocks

urlpatterns = [
    path("", views_blocks.BlockListView.as_view(), name="blocks"),
    path("new/", views_blocks.BlockNewView.as_view(), name="block-new"),
    path("<int:pk>/lift/", views_blocks.BlockLiftView.as_view(), name="block-lift"),
]
