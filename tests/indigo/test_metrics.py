"""The operators' metrics (issue 15; indigo/metrics.py): who may read /metrics, and what the series count."""

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client import REGISTRY

from indigo.metrics import (
    QueueDepthCollector,
    claim_outcome_count,
    daily_run_observe,
    notification_count,
    offer_event_count,
)

pytestmark = pytest.mark.django_db

STRANGER = "203.0.113.7"


def samples(collector) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def count(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- Who may read it ----------------------------------------------------------------------------------------


def test_metrics_are_served_to_loopback():
    Client().get("/healthz")  # a request observed before the scrape (the scrape's own is observed after it)
    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"indigo_request_duration_seconds_bucket" in response.content


def test_a_stranger_gets_the_ordinary_404_for_any_method():
    stranger = Client(REMOTE_ADDR=STRANGER)
    unknown = stranger.get("/no-such-path")

    for response in (stranger.get("/metrics"), stranger.post("/metrics")):
        assert response.status_code == 404
        assert response.content == unknown.content


def test_a_stranger_with_the_bearer_token_is_served_and_a_wrong_token_is_not(settings):
    settings.INDIGO_METRICS_TOKEN = "scrape-" + uuid.uuid4().hex
    stranger = Client(REMOTE_ADDR=STRANGER)

    served = stranger.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.INDIGO_METRICS_TOKEN}")
    refused = stranger.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")

    assert served.status_code == 200
    assert refused.status_code == 404


def test_a_request_forwarded_by_a_proxy_on_loopback_is_not_taken_for_loopback(settings):
    """A reverse proxy on the same host makes every visitor 127.0.0.1: without a trusted proxy naming the client,
    a forwarded request needs the token."""
    settings.INDIGO_TRUSTED_PROXIES = []
    response = Client().get("/metrics", HTTP_X_FORWARDED_FOR=STRANGER)

    assert response.status_code == 404


def test_a_client_named_by_a_trusted_proxy_is_judged_by_its_own_address(settings):
    settings.INDIGO_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.INDIGO_METRICS_ALLOWED = ["10.1.0.0/16"]
    proxied = Client()

    assert proxied.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert proxied.get("/metrics", HTTP_X_FORWARDED_FOR=STRANGER).status_code == 404


def test_over_plain_http_a_stranger_is_redirected_as_on_any_other_path(settings):
    settings.SECURE_SSL_REDIRECT = True
    stranger = Client(REMOTE_ADDR=STRANGER)

    elsewhere = stranger.get("/ru/registry/")
    response = stranger.get("/metrics")

    assert (response.status_code, elsewhere.status_code) == (301, 301)
    assert response["Location"] == "https://testserver/metrics"
    assert Client().get("/metrics").status_code == 200  # the scraper inside reads it without TLS


# --- What it counts -----------------------------------------------------------------------------------------


def test_a_request_is_observed_under_its_route_name():
    before = count("indigo_request_duration_seconds_count", view="healthz", method="GET", status="2xx")

    Client().get("/healthz")

    assert count("indigo_request_duration_seconds_count", view="healthz", method="GET", status="2xx") == before + 1


def test_a_request_no_route_answers_is_observed_as_unresolved_and_odd_methods_as_other():
    before = count("indigo_request_duration_seconds_count", view="unresolved", method="other", status="4xx")

    Client().generic("BREW", f"/no-such-path-{uuid.uuid4().hex}")

    assert count("indigo_request_duration_seconds_count", view="unresolved", method="other", status="4xx") == before + 1


def test_the_claim_outcome_counter_increments_per_outcome():
    created, taken = count("indigo_claims_total", outcome="created"), count("indigo_claims_total", outcome="taken")

    claim_outcome_count(outcome="taken")
    claim_outcome_count(outcome="taken")
    claim_outcome_count(outcome="created")

    assert count("indigo_claims_total", outcome="taken") == taken + 2
    assert count("indigo_claims_total", outcome="created") == created + 1


def test_the_daily_run_offers_and_notifications_are_counted_in_the_shared_cache_and_served():
    daily_run_observe(city_slug="almaty", seconds=0.3, lag_seconds=12.5)
    daily_run_observe(city_slug="almaty", seconds=4.0, lag_seconds=7.0)
    daily_run_observe(city_slug="astana", seconds=700.0, lag_seconds=3600.0)
    offer_event_count(event="made")
    notification_count(status="failed")

    text = Client().get("/metrics").content.decode()

    assert 'indigo_daily_run_duration_seconds_bucket{city="almaty",le="0.25"} 0.0' in text
    assert 'indigo_daily_run_duration_seconds_bucket{city="almaty",le="0.5"} 1.0' in text
    assert 'indigo_daily_run_duration_seconds_bucket{city="almaty",le="+Inf"} 2.0' in text
    assert 'indigo_daily_run_duration_seconds_sum{city="almaty"} 4.3' in text
    assert 'indigo_daily_run_duration_seconds_bucket{city="astana",le="600.0"} 0.0' in text
    assert 'indigo_daily_run_lag_seconds{city="almaty"} 7.0' in text
    assert 'indigo_offers_total{event="made"} 1.0' in text
    assert 'indigo_notifications_total{status="failed"} 1.0' in text
    assert 'indigo_notifications_total{status="sent"} 0.0' in text


def test_an_unknown_offer_event_is_refused_so_series_stay_bounded():
    with pytest.raises(ValueError, match="OFFER_EVENTS"):
        offer_event_count(event="anything-a-caller-makes-up")


# --- The Celery queues --------------------------------------------------------------------------------------


def test_the_queue_depth_is_read_from_the_broker_with_prioritised_messages(redis_url):
    import redis
    from kombu.transport.redis import Channel

    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(redis_url)
    client.rpush(queue, "a", "b", "c")
    client.rpush(f"{queue}{Channel.sep}6", "d")
    try:
        read = samples(QueueDepthCollector(broker_url=redis_url, queues=[queue]))
    finally:
        client.delete(queue, f"{queue}{Channel.sep}6")

    assert read[("indigo_celery_queue_length", (("queue", queue),))] == 4
    assert read[("indigo_celery_broker_up", ())] == 1


def closed_redis_url() -> str:
    with socket.socket() as probe:  # a port nothing listens on once this socket is closed
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


def test_the_queue_depth_collector_survives_an_unreachable_broker():
    read = samples(QueueDepthCollector(broker_url=closed_redis_url(), queues=["celery"]))

    assert read == {("indigo_celery_broker_up", ()): 0}


# --- Several gunicorn workers -------------------------------------------------------------------------------

COUNT_ONE = """
import django; django.setup()
from indigo.metrics import claim_outcome_count
claim_outcome_count(outcome="created")
"""
EXPOSE = """
import django; django.setup()
from indigo.metrics import exposition
print(exposition().decode())
"""


def test_with_a_multiprocess_directory_every_process_is_added_up(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "indigo.settings"}

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=django_settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(COUNT_ONE)
    run(COUNT_ONE)

    assert 'indigo_claims_total{outcome="created"} 2.0' in run(EXPOSE)


# --- The dashboard ------------------------------------------------------------------------------------------


def family(name: str) -> str:
    """A series' family: without the suffixes a histogram's or a counter's samples add."""
    return re.sub(r"_(bucket|sum|count|total)$", "", name)


def test_the_grafana_dashboard_asks_only_for_series_the_endpoint_serves(settings):
    settings.CELERY_BROKER_URL = closed_redis_url()  # the queue series are named even while the broker is down
    dashboard = json.loads((Path(django_settings.BASE_DIR) / "docs" / "grafana-indigo.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    asked = {family(name) for e in exprs for name in re.findall(r"indigo_\w+", e)}
    daily_run_observe(city_slug="almaty", seconds=1.0, lag_seconds=1.0)
    Client().get("/healthz")
    claim_outcome_count(outcome="created")

    text = Client().get("/metrics").content.decode()
    served = {family(name) for name in re.findall(r"^# TYPE (indigo_\w+) ", text, re.MULTILINE)}

    assert asked and asked <= served, asked - served
