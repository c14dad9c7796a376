"""Metrics for operators (issue 15; docs/OPERATIONS.md, Monitoring): a Prometheus endpoint at ``/metrics``.

Three kinds of series, by where what they count happens:

- **The web process's own**: request latency by view (`RequestMetricsMiddleware`) and claim outcomes
  (`claim_outcome_count`), as prometheus_client metrics in the process, where they cost a lock and an addition.
  Gunicorn runs several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory private to one
  web instance, emptied before it starts) every worker writes its values there (prometheus_client's multiprocess
  mode) and ``/metrics`` adds them up, whichever worker answers the scrape. Without it each process counts alone,
  which is right for ``runserver`` or a single worker and wrong for more.
- **Events that may happen in any process**, the Celery worker and the management commands as much as the web:
  the 18:00 run (`daily_run_observe`), offers and notifications (`offer_event_count`, `notification_count`). They
  are counted in the shared cache (Redis in production, the file cache of the embedded default), which every
  process of a deployment reaches whatever host or container it runs in, and read when ``/metrics`` is scraped. A
  multiprocess directory would need the worker on the web's host; the cache needs nothing more than what runs.
  A Redis outage loses the counts made meanwhile and, when the cache drops its entries after an outage
  (indigo/cache.py), resets them: Prometheus reads a counter that went down as a restart.
- **Read at scrape time**: the length of the Celery queues on the Redis broker (`QueueDepthCollector`).

``/metrics`` answers only addresses in ``INDIGO_METRICS_ALLOWED`` (loopback by default) reaching the portal
directly, or a request with ``Authorization: Bearer <INDIGO_METRICS_TOKEN>``; anyone else gets the portal's
ordinary 404, so that its existence is not revealed.
"""

import functools
import hmac
import logging
import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponsePermanentRedirect
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from indigo.http import address_in, request_ip

logger = logging.getLogger(__name__)

# --- The web process's own series ---------------------------------------------------------------------------

REQUEST_SECONDS = Histogram(
    "indigo_request_duration_seconds",
    "Time from the request entering the middleware stack to its response, by view (route name).",
    ["view", "method", "status"],
    # A cached registry answer takes about a millisecond, a claim in a storm a second or more.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CLAIMS = Counter(
    "indigo_claims",
    "Claim attempts by outcome: created, repeated (the same claim again), or the refusal's reason code.",
    ["outcome"],
)

# Anything else a client may send as a method is one label value, so that no one can mint new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}
UNRESOLVED = "unresolved"  # answered before URL resolving (static files, redirects) or by no route (a 404)

# view -> method -> status class -> the histogram's child: the labels are looked up once per combination, so that a
# request costs three dictionary lookups and the observation, and allocates nothing.
_request_children: dict[str, dict[str, dict[int, object]]] = {}


def request_observe(*, request, status: int, seconds: float) -> None:
    """Count one answered request under its route name (`RequestMetricsMiddleware`)."""
    match = request.resolver_match
    view = match.view_name if match is not None else UNRESOLVED
    method = request.method if request.method in METHODS else "other"
    status_class = status // 100
    try:
        child = _request_children[view][method][status_class]
    except KeyError:
        child = REQUEST_SECONDS.labels(view=view, method=method, status=STATUS_CLASSES.get(status_class, "other"))
        _request_children.setdefault(view, {}).setdefault(method, {})[status_class] = child
    child.observe(seconds)


def claim_outcome_count(*, outcome: str) -> None:
    """Count one claim attempt: "created" (201), "repeated" (200, the same claim again) or the refusal's code
    ("taken", "not_open", "rate_limited", "blocked", ...). Called once per attempt by the claim path."""
    CLAIMS.labels(outcome=outcome).inc()


# --- Events of any process, counted in the shared cache -----------------------------------------------------

# The label values the cache-kept counters know; a value must be added here before it is counted (issue 14 names
# its offer events and notification statuses), so that the set of series stays bounded and a scrape reads them
# in one round trip.
OFFER_EVENTS = ("made", "accepted", "declined", "expired")
NOTIFICATION_STATUSES = ("sent", "failed")
DAILY_RUN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_KEY = "indigo:metrics"
_RUN_CITIES = f"{_KEY}:run:cities"


def _run_key(city_slug: str, part: str) -> str:
    return f"{_KEY}:run:{city_slug}:{part}"


def _cache_add(key: str, amount: int) -> None:
    """Add to a counter in the shared cache, never failing the caller: a count lost while the cache is down is
    worth less than the work that was counted."""
    try:
        cache.add(key, 0, timeout=None)
        cache.incr(key, amount)
    except Exception:  # the cache is down (the tolerant backend's incr raises ValueError then)
        logger.warning("metrics: could not count %s in the cache", key, exc_info=True)


def offer_event_count(*, event: str) -> None:
    """Count one offer event (issue 14): one of OFFER_EVENTS."""
    if event not in OFFER_EVENTS:
        raise ValueError(f"unknown offer event {event!r}: add it to indigo.metrics.OFFER_EVENTS")
    _cache_add(f"{_KEY}:offers:{event}", 1)


def notification_count(*, status: str) -> None:
    """Count one notification sent or failed (issue 14): one of NOTIFICATION_STATUSES."""
    if status not in NOTIFICATION_STATUSES:
        raise ValueError(f"unknown notification status {status!r}: add it to indigo.metrics.NOTIFICATION_STATUSES")
    _cache_add(f"{_KEY}:notifications:{status}", 1)


def daily_run_observe(*, city_slug: str, seconds: float, lag_seconds: float) -> None:
    """Record one city's 18:00 run of one protocol day: how long it took, and its lag, the seconds from the
    protocol moment (18:00 Astana time of the day) to its publication. Called by the run once per city and day
    published, in whichever process runs it."""
    bucket = next((str(le) for le in DAILY_RUN_BUCKETS if seconds <= le), "+Inf")
    _cache_add(_run_key(city_slug, f"le:{bucket}"), 1)
    _cache_add(_run_key(city_slug, "count"), 1)
    _cache_add(_run_key(city_slug, "sum_us"), round(seconds * 1_000_000))  # the cache adds integers only
    try:
        cache.set(_run_key(city_slug, "lag"), float(lag_seconds), timeout=None)
        cities = cache.get(_RUN_CITIES) or []
        if city_slug not in cities:
            # Read, then written back: two processes adding two new cities at once may lose one, until its next run.
            cache.set(_RUN_CITIES, sorted({*cities, city_slug}), timeout=None)
    except Exception:
        logger.warning("metrics: could not record the 18:00 run of %s in the cache", city_slug, exc_info=True)


class SharedEventsCollector:
    """The series kept in the shared cache, read at scrape time (two round trips)."""

    def collect(self) -> Iterator[Metric]:
        offers = CounterMetricFamily("indigo_offers", "Offer events, from every process.", labels=["event"])
        notifications = CounterMetricFamily(
            "indigo_notifications", "Notifications by status, from every process.", labels=["status"]
        )
        duration = HistogramMetricFamily(
            "indigo_daily_run_duration_seconds", "Seconds the 18:00 run took for a city and day.", labels=["city"]
        )
        lag = GaugeMetricFamily(
            "indigo_daily_run_lag_seconds",
            "Seconds from the protocol moment (18:00 Astana time) to the publication of the last day run.",
            labels=["city"],
        )
        counters = {f"{_KEY}:offers:{e}": (offers, e) for e in OFFER_EVENTS}
        counters.update({f"{_KEY}:notifications:{s}": (notifications, s) for s in NOTIFICATION_STATUSES})
        values = cache.get_many([*counters, _RUN_CITIES])  # the tolerant cache answers {} while Redis is down
        for key, (family, label) in counters.items():
            family.add_metric([label], values.get(key, 0))
        cities = values.get(_RUN_CITIES) or []
        parts = [f"le:{le}" for le in (*map(str, DAILY_RUN_BUCKETS), "+Inf")] + ["count", "sum_us", "lag"]
        runs = cache.get_many([_run_key(city, part) for city in cities for part in parts]) if cities else {}
        for city in cities:
            if _run_key(city, "count") not in runs:
                continue
            cumulative, buckets = 0, []
            for le in (*map(str, DAILY_RUN_BUCKETS), "+Inf"):
                cumulative += runs.get(_run_key(city, f"le:{le}"), 0)
                buckets.append((le, cumulative))
            duration.add_metric([city], buckets, runs.get(_run_key(city, "sum_us"), 0) / 1_000_000)
            if _run_key(city, "lag") in runs:
                lag.add_metric([city], runs[_run_key(city, "lag")])
        yield from (offers, notifications, duration, lag)


# --- Read at scrape time: the Celery queues -----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _broker_client(url: str):
    import redis

    # A dead or black-holed broker must cost a scrape a fraction of a second, never its timeout.
    return redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5)


def celery_queue_names() -> list[str]:
    """The queues the project's tasks go to: the default one and any configured in CELERY_TASK_QUEUES."""
    from .celery import app

    names = [app.conf.task_default_queue]
    names += [queue.name for queue in app.conf.task_queues or () if queue.name not in names]
    return names


class QueueDepthCollector:
    """Tasks waiting in each Celery queue on the Redis broker (LLEN, read at scrape time), and whether the broker
    answered. kombu keeps a queue's prioritised messages in lists of their own beside it; they are counted in.
    Nothing while the broker is not Redis (the embedded default's file-system broker)."""

    def __init__(self, *, broker_url: str | None = None, queues: Iterable[str] | None = None):
        self.broker_url = broker_url
        self.queues = queues

    def collect(self) -> Iterator[Metric]:
        import redis
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        url = self.broker_url or settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return
        queues = list(self.queues or celery_queue_names())
        up = GaugeMetricFamily("indigo_celery_broker_up", "1 when the Redis broker answered the scrape, else 0.")
        length = GaugeMetricFamily(
            "indigo_celery_queue_length", "Tasks waiting in a Celery queue on the broker.", labels=["queue"]
        )
        keys = {queue: [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step] for queue in queues}
        try:
            pipe = _broker_client(url).pipeline(transaction=False)
            for names in keys.values():
                for name in names:
                    pipe.llen(name)
            counts = iter(pipe.execute())
        except redis.RedisError as exc:
            logger.warning("metrics: the broker did not answer (%s)", exc.__class__.__name__)
            up.add_metric([], 0)
            yield from (up, length)  # no lengths: a stale or zero length would hide the outage
            return
        for queue, names in keys.items():
            length.add_metric([queue], sum(next(counts) for _ in names))
        up.add_metric([], 1)
        yield from (up, length)


# --- The endpoint -------------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every series in Prometheus's text format: the processes' own (added up over the multiprocess directory when
    there is one) followed by those read at scrape time."""
    if multiprocess_dir():
        own = CollectorRegistry()
        MultiProcessCollector(own)
    else:
        own = REGISTRY
    read_now = CollectorRegistry()
    read_now.register(SharedEventsCollector())
    read_now.register(QueueDepthCollector())
    return generate_latest(own) + generate_latest(read_now)


def _bearer_matches(request) -> bool:
    token = settings.INDIGO_METRICS_TOKEN
    if not token:
        return False
    sent = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(sent, f"Bearer {token}".encode())


def metrics_allowed(request) -> bool:
    """The bearer token, or an address of INDIGO_METRICS_ALLOWED. A request that a proxy forwarded is judged by the
    client the trusted proxies name (request_ip); one forwarded by a proxy we do not trust could come from anyone
    (a reverse proxy on the same host makes every visitor a loopback address), so it needs the token."""
    if _bearer_matches(request):
        return True
    client = request_ip(request)
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    if forwarded and client == request.META.get("REMOTE_ADDR"):
        return False
    return address_in(client, settings.INDIGO_METRICS_ALLOWED)


@never_cache
def metrics(request):
    # Refused before anything else, the method too: a stranger's POST gets the same 404 as their GET.
    if not metrics_allowed(request):
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            # What SecurityMiddleware answers on any other path over plain HTTP (this one is exempt so that an
            # internal scraper can read it without TLS): a stranger cannot tell the path apart.
            host = settings.SECURE_SSL_HOST or request.get_host()
            return HttpResponsePermanentRedirect(f"https://{host}{request.get_full_path()}")
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
