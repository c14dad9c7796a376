"""The parent's personal cabinet (login required; parents only)."""

from django.urls import path

from .views import cabinet

urlpatterns = [
    path("", cabinet.CabinetHomeView.as_view(), name="cabinet"),
    path("children/add/", cabinet.ChildAddView.as_view(), name="cabinet-child-add"),
    path("apply/", cabinet.ApplyView.as_view(), name="cabinet-apply"),
    path("applications/<str:number>/withdraw/", cabinet.WithdrawView.as_view(), name="cabinet-withdraw"),
]
