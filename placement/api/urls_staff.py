"""Staff API: release and withdraw places of one's own kindergarten."""

from django.urls import path

from . import staff

urlpatterns = [
    path("places/", staff.StaffPlacesView.as_view(), name="api-staff-places"),
    path("places/<int:pk>/withdraw/", staff.StaffPlaceWithdrawView.as_view(), name="api-staff-place-withdraw"),
    path("events/", staff.StaffEventsView.as_view(), name="api-staff-events"),
]
