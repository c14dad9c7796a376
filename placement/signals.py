"""The layer above schedules and placement (docs/ARCHITECTURE.md): schedules knows nothing of placement, so a
calendar override or a kindergarten shift saved or deleted anywhere (the admin, the demo, a shell) reaches the
re-timing service through Django's signals, in the transaction of the change (DOMAIN.md, Places 6). The receivers
only parse the signal and call the service, as the user the saving view names (indigo.actors)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from indigo.actors import current_actor
from schedules.models import CalendarOverride, KindergartenShift
from schedules.signals import change_previewed

from .services.retiming import (
    calendar_override_retime,
    change_preview,
    kindergarten_shift_retime,
    retime_preview_lines,
)


@receiver(post_save, sender=CalendarOverride, dispatch_uid="placement-retime-override-saved")
def _override_saved(sender, instance: CalendarOverride, raw: bool = False, **kwargs) -> None:
    if not raw:  # a fixture being loaded is history, not a change
        calendar_override_retime(override=instance, by=current_actor())


@receiver(post_delete, sender=CalendarOverride, dispatch_uid="placement-retime-override-deleted")
def _override_deleted(sender, instance: CalendarOverride, **kwargs) -> None:
    calendar_override_retime(override=instance, deleted=True, by=current_actor())


@receiver(post_save, sender=KindergartenShift, dispatch_uid="placement-retime-shift-saved")
def _shift_saved(sender, instance: KindergartenShift, raw: bool = False, **kwargs) -> None:
    if not raw:
        kindergarten_shift_retime(shift=instance, by=current_actor())


@receiver(post_delete, sender=KindergartenShift, dispatch_uid="placement-retime-shift-deleted")
def _shift_deleted(sender, instance: KindergartenShift, **kwargs) -> None:
    kindergarten_shift_retime(shift=instance, deleted=True, by=current_actor())


@receiver(change_previewed, dispatch_uid="placement-retime-preview")
def _change_previewed(sender, *, at, override=None, previous_date=None, shift=None, previous=None, **kwargs):
    """The admin's preview of an override or a shift: what it would re-time, before it is saved."""
    if override is not None:
        return retime_preview_lines(change_preview(override=override, previous_date=previous_date, at=at))
    if shift is not None:
        return retime_preview_lines(change_preview(shift=shift, previous=previous, at=at))
    return []
