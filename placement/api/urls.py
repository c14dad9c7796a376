"""Placement's API under /api/v1/ (included by indigo/api_urls.py)."""

from django.urls import include, path

from . import claims, me, notifications, offers, public, queue, staff

# One published protocol day, /protocols/<city>/<day>/.
protocol_day = [
    path("", public.ProtocolDayView.as_view(), name="api-protocol-day"),
    path("document/", public.ProtocolDocumentView.as_view(), name="api-protocol-document"),
]

# What a parent does with one of their applications, /me/applications/<number>/.
my_application = [
    path("withdraw/", me.MyApplicationWithdrawView.as_view(), name="api-me-application-withdraw"),
    path("alerts/", notifications.MeApplicationAlertsView.as_view(), name="api-me-application-alerts"),
    path("choices/", offers.MyApplicationChoicesView.as_view(), name="api-me-application-choices"),
    path("resume/", offers.MyApplicationResumeView.as_view(), name="api-me-application-resume"),
]

# A parent's answer to one of their offers, /me/offers/<pk>/.
my_offer = [
    path("accept/", offers.MyOfferAcceptView.as_view(), name="api-me-offer-accept"),
    path("decline/", offers.MyOfferDeclineView.as_view(), name="api-me-offer-decline"),
]

urlpatterns = [
    # Public: the free-places registry, the release protocol, a queue position by number.
    path("registry/", public.RegistryView.as_view(), name="api-registry"),
    path("registry/summary/", public.RegistrySummaryView.as_view(), name="api-registry-summary"),
    path("protocols/", public.ProtocolListView.as_view(), name="api-protocols"),
    path("protocols/<slug:city>/<str:day>/", include(protocol_day)),
    path("queue/<str:number>/", queue.QueueLookupView.as_view(), name="api-queue-lookup"),
    # The parent's own (token or session; parents only).
    path("places/<int:pk>/claim/", claims.PlaceClaimView.as_view(), name="api-place-claim"),
    path("me/", me.MeView.as_view(), name="api-me"),
    path("me/children/", me.MyChildrenView.as_view(), name="api-me-children"),
    path("me/applications/", me.MyApplicationsView.as_view(), name="api-me-applications"),
    path("me/applications/<str:number>/", include(my_application)),
    path("me/offers/", offers.MyOffersView.as_view(), name="api-me-offers"),
    path("me/offers/<int:pk>/", include(my_offer)),
    path("me/notifications/", notifications.MeNotificationsView.as_view(), name="api-me-notifications"),
    path("me/referrals/", me.MyReferralsView.as_view(), name="api-me-referrals"),
    path("me/referrals/<str:number>/decline/", me.MyReferralDeclineView.as_view(), name="api-me-referral-decline"),
    # Staff: their own kindergarten's places, history, referrals and enrolment; department admins any.
    path("staff/places/", staff.StaffPlacesView.as_view(), name="api-staff-places"),
    path("staff/places/<int:pk>/withdraw/", staff.StaffPlaceWithdrawView.as_view(), name="api-staff-place-withdraw"),
    path("staff/events/", staff.StaffEventsView.as_view(), name="api-staff-events"),
    path("staff/referrals/", staff.StaffReferralsView.as_view(), name="api-staff-referrals"),
    path(
        "staff/referrals/<str:number>/enrol/",
        staff.StaffReferralEnrolView.as_view(),
        name="api-staff-referral-enrol",
    ),
    path("staff/contracts/", staff.StaffContractsView.as_view(), name="api-staff-contracts"),
]
