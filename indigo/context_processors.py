from django.utils import timezone

from schedules.calendar import support_status


def portal(request):
    """What every page shows: support hours and whether support answers now (DOMAIN.md, People and security)."""
    return {"support": support_status(timezone.now())}
