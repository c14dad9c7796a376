from celery import shared_task
from django.utils import timezone

from schedules.calendar import moment_parse

from .models import City
from .services.daily import run_daily as run_daily_service
from .services.notifications import deadline_reminders_enqueue
from .services.offers import offers_expiring_notify


# Acknowledged only when done, and given back to the queue when the worker dies mid-run (settings: the Redis
# visibility timeout): delivery is at least once, and the run is idempotent per city and day (services/daily.py).
@shared_task(name="placement.tasks.run_daily", acks_late=True, reject_on_worker_lost=True)
def run_daily(at: str | None = None, city: str | None = None) -> dict:
    """The 18:00 run (beat). `at` (ISO text, `moment_parse`) and `city` (slug) exist for a run by hand; both
    default to now/all; an `at` that does not parse fails the task (never "now").

    A late delivery without `at` catches up to the moment it runs; the moves keep the rules' times either way.
    """
    moment = moment_parse(at) if at else None
    only = City.objects.get(slug=city) if city else None
    published = run_daily_service(at=moment, city=only)
    return {"published": [f"{p.city.slug}/{p.day.isoformat()}" for p in published]}


@shared_task(name="placement.tasks.deadline_reminders", ignore_result=True)
def deadline_reminders() -> dict:
    """Beat, every 15 minutes: one SMS per referral and per offer whose deadline is within 24 hours."""
    at = timezone.now()
    return {**deadline_reminders_enqueue(at=at), "offers": offers_expiring_notify(at=at)}
