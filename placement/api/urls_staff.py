"""Staff API: release and withdraw places of one's own kindergarten; its referrals and enrolment."""

from django.urls import path

from . import staff

urlpatterns = [
    path("places/", staff.StaffPlacesView.as_view(), name="api-staff-places"),
    path("places/<int:pk>/withdraw/", staff.StaffPlaceWithdrawView.as_view(), name="api-staff-place-withdraw"),
    path("events/", staff.StaffEventsView.as_view(), name="api-staff-events"),
    path("referrals/", staff.StaffReferralsView.as_view(), name="api-staff-referrals"),
    path("referrals/<str:number>/enrol/", staff.StaffReferralEnrolView.as_view(), name="api-staff-referral-enrol"),
    path("contracts/", staff.StaffContractsView.as_view(), name="api-staff-contracts"),
]
