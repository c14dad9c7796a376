"""Cache invalidation only: a changed override drops the cached calendar of the years it touches."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .calendar import calendar_invalidate
from .models import CalendarOverride


@receiver([post_save, post_delete], sender=CalendarOverride)
def _override_changed(sender, instance: CalendarOverride, **kwargs) -> None:
    years = {instance.date.year}
    loaded = getattr(instance, "_loaded_date", None)
    if loaded is not None:
        years.add(loaded.year)
    for year in years:
        calendar_invalidate(year=year)
    instance._loaded_date = instance.date
