"""Placement's pages under /<language>/ (namespace "placement")."""

from django.urls import path

from .views import blocks, cabinet, notifications, offers, public, queue_lookup, referrals, staff

app_name = "placement"

urlpatterns = [
    # Public, no login: the registry, the release protocol, a queue position by number.
    path("registry/", public.RegistryView.as_view(), name="registry"),
    path("protocol/", public.ProtocolIndexView.as_view(), name="protocols"),
    path("protocol/<slug:city>/<str:day>/", public.ProtocolDayView.as_view(), name="protocol_day"),
    path(
        "protocol/<slug:city>/<str:day>/download.<str:fmt>",
        public.ProtocolDownloadView.as_view(),
        name="protocol_download",
    ),
    path("queue/", queue_lookup.QueueLookupView.as_view(), name="queue-lookup"),
    # The parent's cabinet: children, applications, claims and referrals (parents only).
    path("cabinet/", cabinet.CabinetHomeView.as_view(), name="cabinet"),
    path("cabinet/children/add/", cabinet.ChildAddView.as_view(), name="cabinet-child-add"),
    path("cabinet/apply/", cabinet.ApplyView.as_view(), name="cabinet-apply"),
    path("cabinet/applications/<str:number>/withdraw/", cabinet.WithdrawView.as_view(), name="cabinet-withdraw"),
    path("cabinet/notifications/", notifications.NotificationListView.as_view(), name="cabinet-notifications"),
    path(
        "cabinet/applications/<str:number>/alerts/",
        notifications.GeneralAccessAlertView.as_view(),
        name="cabinet-alerts",
    ),
    # Offer mode (issue 14): ranked choices, offers, resuming a paused application.
    path("cabinet/applications/<str:number>/choices/", offers.ChoicesView.as_view(), name="cabinet-choices"),
    path("cabinet/applications/<str:number>/resume/", offers.ResumeView.as_view(), name="cabinet-resume"),
    path("cabinet/offers/<int:pk>/", offers.OfferView.as_view(), name="offer"),
    path("cabinet/offers/<int:pk>/decline/", offers.OfferDeclineView.as_view(), name="offer-decline"),
    path("places/<int:pk>/claim/", referrals.ClaimConfirmView.as_view(), name="place-claim"),
    path("cabinet/referrals/<str:number>/", referrals.ReferralView.as_view(), name="referral"),
    path("cabinet/referrals/<str:number>/decline/", referrals.ReferralDeclineView.as_view(), name="referral-decline"),
    # Kindergarten staff: their own kindergarten only; department admins pick one.
    path("staff/", staff.StaffHomeView.as_view(), name="staff-home"),
    path("staff/release/", staff.StaffReleaseView.as_view(), name="staff-release"),
    path("staff/places/", staff.StaffPlacesView.as_view(), name="staff-places"),
    path("staff/places/<int:pk>/withdraw/", staff.StaffWithdrawView.as_view(), name="staff-withdraw"),
    path("staff/history/", staff.StaffHistoryView.as_view(), name="staff-history"),
    path("staff/referrals/", staff.StaffReferralsView.as_view(), name="staff-referrals"),
    path("staff/referrals/<str:number>/enrol/", staff.StaffEnrolView.as_view(), name="staff-referral-enrol"),
    # Department admins: cabinet blocks.
    path("blocks/", blocks.BlockListView.as_view(), name="blocks"),
    path("blocks/new/", blocks.BlockNewView.as_view(), name="block-new"),
    path("blocks/<int:pk>/lift/", blocks.BlockLiftView.as_view(), name="block-lift"),
]
