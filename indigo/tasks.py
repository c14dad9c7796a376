from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "indigo:heartbeat"


@shared_task(name="indigo.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker ran a task now; returns the moment as ISO text."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(name="indigo.tasks.ping")
def ping(value: int) -> int:
    """A health task: proves a worker takes tasks from the broker and returns results."""
    return value + 1
