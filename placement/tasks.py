from celery import shared_task

from .models import City
from .services import run_daily as run_daily_service


@shared_task(name="placement.tasks.run_daily", acks_late=True)
def run_daily(at: str | None = None, city: str | None = None) -> dict:
    """The 18:00 run (beat). `at` (ISO text) and `city` (slug) exist for a run by hand; both default to now/all."""
    from django.utils.dateparse import parse_datetime

    moment = parse_datetime(at) if at else None
    only = City.objects.get(slug=city) if city else None
    published = run_daily_service(at=moment, city=only)
    return {"published": [f"{p.city.slug}/{p.day.isoformat()}" for p in published]}
