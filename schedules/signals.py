"""Cache invalidation only: a changed override drops the cached calendar of the years it touches."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .calendar import calendar_invalidate
from .models import CalendarOverride


@receiver([post_save, post_delete], sender=CalendarOverride)
def _override_changed(sender, instance: CalendarOverride, **kwargs) -> None:
    years = {instance.date.year}
    loaded = getattr(instance, "_loaded_date", None)
    if loaded is not None:
        years.add(loaded.year)

    def invalidate() -> None:
        for year in years:
            calendar_invalidate(year=year)

    # Now, for this transaction's own questions, and again after the commit: a reader in between rebuilt the year
    # from the rows committed before the change and would otherwise serve that copy for a day.
    invalidate()
    transaction.on_commit(invalidate)
    instance._loaded_date = instance.date


# Sent by the admin's preview of an override or a shift before it is saved: apps above (placement) answer with lines
# saying what the change would do to them (how many places and referrals it would re-time, and to what). Arguments:
# `override` (an unsaved CalendarOverride as typed) with `previous_date`, or `shift` (an unsaved KindergartenShift)
# with `previous` (its window and kindergarten ids before the edit); `at`, the moment of the preview.
change_previewed = Signal()
