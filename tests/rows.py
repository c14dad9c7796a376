"""The rows a refused request must leave as they were: compare database_state() before and after it."""

from accounts.models import AuditEntry, CabinetBlock
from placement.models import Contract, Place, PlaceEvent, Referral


def database_state() -> tuple:
    return (
        Place.objects.count(),
        tuple(Place.objects.order_by("pk").values_list("state", flat=True)),
        PlaceEvent.objects.count(),
        tuple(Referral.objects.order_by("pk").values_list("status", flat=True)),
        tuple(Contract.objects.order_by("pk").values_list("status", flat=True)),
        tuple(CabinetBlock.objects.order_by("pk").values_list("lifted_at", flat=True)),
        AuditEntry.objects.count(),
    )
