"""Liveness (/healthz: the process answers) and readiness (/readyz: can this web instance serve requests).

/readyz names every part that is down. Only the database makes a web instance unready (503): every page and API
answer needs it. The broker and the cache do not: no web request sends a task, and every page is served from the
database without the cache (indigo/cache.py). A load balancer that took every instance out of rotation because the
shared Redis is down would turn a slower portal, whose 18:00 run waits for the broker, into no portal; so the answer
is then 200 with status "degraded" and the parts named, for monitoring to alert on.
"""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"; the class name says which
        return f"down: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def _check_cache() -> str:
    try:
        if hasattr(cache, "ping"):  # the tolerant Redis cache never raises from get/set: ask Redis itself
            cache.ping()
        else:
            cache.set("indigo:readyz", "1", 5)
            cache.get("indigo:readyz")
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _check_database(), "broker": _check_broker(), "cache": _check_cache()}
    ready = checks["database"] == "ok"
    if not ready:
        state = "unavailable"
    else:
        state = "ok" if checks["cache"] == checks["broker"] == "ok" else "degraded"
    return JsonResponse({"status": state, "checks": checks}, status=200 if ready else 503)
