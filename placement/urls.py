"""Placement's pages under /<language>/ (namespace "placement")."""

from django.urls import include, path

from .views import blocks, cabinet, notifications, offers, public, queue_lookup, referrals, staff

app_name = "placement"

# One published protocol day, /protocol/<city>/<day>/.
protocol_day = [
    path("", public.ProtocolDayView.as_view(), name="protocol_day"),
    path("download.<str:fmt>", public.ProtocolDownloadView.as_view(), name="protocol_download"),
]

# What a parent does with one of their applications, /cabinet/applications/<number>/.
cabinet_application = [
    path("withdraw/", cabinet.WithdrawView.as_view(), name="cabinet-withdraw"),
    path("alerts/", notifications.GeneralAccessAlertView.as_view(), name="cabinet-alerts"),
    # Offer mode (issue 14): ranked choices, resuming a paused application.
    path("choices/", offers.ChoicesView.as_view(), name="cabinet-choices"),
    path("resume/", offers.ResumeView.as_view(), name="cabinet-resume"),
]

# One of the parent's offers, /cabinet/offers/<pk>/.
cabinet_offer = [
    path("", offers.OfferView.as_view(), name="offer"),
    path("decline/", offers.OfferDeclineView.as_view(), name="offer-decline"),
]

# One of the parent's referrals, /cabinet/referrals/<number>/.
cabinet_referral = [
    path("", referrals.ReferralView.as_view(), name="referral"),
    path("decline/", referrals.ReferralDeclineView.as_view(), name="referral-decline"),
]

urlpatterns = [
    # Public, no login: the registry, the release protocol, a queue position by number.
    path("registry/", public.RegistryView.as_view(), name="registry"),
    path("protocol/", public.ProtocolIndexView.as_view(), name="protocols"),
    path("protocol/<slug:city>/<str:day>/", include(protocol_day)),
    path("queue/", queue_lookup.QueueLookupView.as_view(), name="queue-lookup"),
    # The parent's cabinet: children, applications, claims, offers and referrals (parents only).
    path("cabinet/", cabinet.CabinetHomeView.as_view(), name="cabinet"),
    path("cabinet/children/add/", cabinet.ChildAddView.as_view(), name="cabinet-child-add"),
    path("cabinet/apply/", cabinet.ApplyView.as_view(), name="cabinet-apply"),
    path("cabinet/applications/<str:number>/", include(cabinet_application)),
    path("cabinet/notifications/", notifications.NotificationListView.as_view(), name="cabinet-notifications"),
    path("cabinet/offers/<int:pk>/", include(cabinet_offer)),
    path("places/<int:pk>/claim/", referrals.ClaimConfirmView.as_view(), name="place-claim"),
    path("cabinet/referrals/<str:number>/", include(cabinet_referral)),
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
