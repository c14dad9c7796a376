"""The parent's side of claims: confirm and take a place, the referral (and its printable page), decline."""

from django.urls import path

from .views import referrals

urlpatterns = [
    path("places/<int:pk>/claim/", referrals.ClaimConfirmView.as_view(), name="place-claim"),
    path("cabinet/referrals/<str:number>/", referrals.ReferralView.as_view(), name="referral"),
    path(
        "cabinet/referrals/<str:number>/decline/",
        referrals.ReferralDeclineView.as_view(),
        name="referral-decline",
    ),
]
