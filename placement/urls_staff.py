"""Kindergarten staff pages (login required; own kindergarten only)."""

from django.urls import path

from .views import staff

urlpatterns = [
    path("", staff.StaffHomeView.as_view(), name="staff-home"),
    path("release/", staff.StaffReleaseView.as_view(), name="staff-release"),
    path("places/", staff.StaffPlacesView.as_view(), name="staff-places"),
    path("places/<int:pk>/withdraw/", staff.StaffWithdrawView.as_view(), name="staff-withdraw"),
    path("history/", staff.StaffHistoryView.as_view(), name="staff-history"),
    path("referrals/", staff.StaffReferralsView.as_view(), name="staff-referrals"),
    path("referrals/<str:number>/enrol/", staff.StaffEnrolView.as_view(), name="staff-referral-enrol"),
]
