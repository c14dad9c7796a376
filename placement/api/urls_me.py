"""The parent's own API under /api/v1/me/ (Token or session; parents only)."""

from django.urls import path

from . import me

urlpatterns = [
    path("", me.MeView.as_view(), name="api-me"),
    path("children/", me.MyChildrenView.as_view(), name="api-me-children"),
    path("applications/", me.MyApplicationsView.as_view(), name="api-me-applications"),
    path(
        "applications/<str:number>/withdraw/",
        me.MyApplicationWithdrawView.as_view(),
        name="api-me-application-withdraw",
    ),
    path("referrals/", me.MyReferralsView.as_view(), name="api-me-referrals"),
    path("referrals/<str:number>/decline/", me.MyReferralDeclineView.as_view(), name="api-me-referral-decline"),
]
