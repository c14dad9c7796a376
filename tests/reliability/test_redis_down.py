"""Redis down (issue 7, Faults): pages, the registry and claims keep working on the database, /readyz names what
is down, and when Redis returns the cache is used again without serving anything written before the outage.

What is lost while Redis is down: nothing the portal keeps. The cache holds copies only (rebuilt from the
database); the claim's referral, place event and audit record are in the database, each exactly once.
"""

import datetime as dt
import logging
import uuid

import pytest
import redis
import time_machine
from django.core.cache import cache
from kombu import Connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AuditEntry
from indigo.cache import TolerantRedisCache
from indigo.celery import app as celery_app
from placement.models import Place, PlaceEvent, Referral
from placement.services.daily import run_daily
from placement.services.places import place_release
from schedules import calendar
from tests.clock import astana
from tests.factories import ApplicationFactory, ChildFactory, CityFactory, GroupFactory, RepresentationFactory

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
RUN = astana(2024, 5, 6, 18, 0)  # the run moves both places to general and publishes the days
IN_GENERAL = astana(2024, 5, 7, 12, 0)


def dead_cache(**options) -> TolerantRedisCache:
    """The tolerant cache pointed at a port nothing listens on (connections are refused at once)."""
    return TolerantRedisCache("redis://127.0.0.1:1/0", {"KEY_PREFIX": f"dead-{uuid.uuid4().hex}", "OPTIONS": options})


# --- The backend on its own (no server needed) ------------------------------------------------------------


def test_an_unreachable_redis_is_a_miss_for_reads_and_a_no_op_for_writes():
    dead = dead_cache()
    assert dead.get("key") is None
    assert dead.get("key", "default") == "default"
    assert dead.get_many(["a", "b"]) == {}
    assert dead.has_key("key") is False
    assert dead.set("key", 1) is None
    assert dead.add("key", 1) is True  # as if stored: a once-only guard does not refuse everything
    assert dead.delete("key") is False
    assert dead.touch("key") is False
    assert dead.set_many({"a": 1, "b": 2}) == ["a", "b"]  # Django's way to say "not stored"
    assert dead.delete_many(["a", "b"]) is None
    assert dead.get_or_set("key", lambda: "computed") == "computed"
    with pytest.raises(ValueError):  # a counter kept in the cache starts again, as for a missing key
        dead.incr("counter")
    assert dead.clear() is False


def test_after_a_failure_redis_is_not_asked_again_until_the_recheck(monkeypatch):
    dead = dead_cache(DOWN_RECHECK_SECONDS=3600)
    asked = []
    real_get_client = dead._cache.get_client
    monkeypatch.setattr(dead._cache, "get_client", lambda *a, **k: asked.append(1) or real_get_client(*a, **k))
    for _ in range(100):
        assert dead.get("key", "miss") == "miss"
        dead.set("key", 1)
    assert len(asked) == 1  # one refused connection, then 199 answers without the network
    assert dead.available is False
    with pytest.raises(redis.ConnectionError):  # /readyz asks Redis itself, whatever the backend believes
        dead.ping()
    assert len(asked) == 2


def test_an_outage_is_logged_once_not_per_call(caplog):
    dead = dead_cache(DOWN_RECHECK_SECONDS=0)  # every call tries Redis again and fails again
    with caplog.at_level(logging.WARNING, logger="indigo.cache"):
        for _ in range(50):
            dead.get("key")
            dead.set("key", 1)
    warnings = [r for r in caplog.records if r.name == "indigo.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "cache unreachable at 127.0.0.1:1" in warnings[0].getMessage()


def test_the_socket_timeouts_are_short_unless_settings_say_otherwise():
    pool_options = dead_cache()._cache._pool_options
    assert pool_options["socket_connect_timeout"] <= 0.5 and pool_options["socket_timeout"] <= 1
    assert dead_cache(socket_timeout=3)._cache._pool_options["socket_timeout"] == 3
    assert "DOWN_RECHECK_SECONDS" not in dead_cache(DOWN_RECHECK_SECONDS=2)._cache._pool_options


# --- A real Redis that dies and comes back -----------------------------------------------------------------


@pytest.fixture
def redis_cache(private_redis, settings, monkeypatch):
    """The portal's cache and broker on the private Redis (as in production: one Redis for both)."""
    prefix = f"indigo-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "indigo.cache.TolerantRedisCache",
            "LOCATION": private_redis.url,
            "KEY_PREFIX": prefix,
            # Ask Redis again at every call once it failed, so the test needs no wait (the pause is tested above).
            "OPTIONS": {"DOWN_RECHECK_SECONDS": 0},
        }
    }
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection(private_redis.url))
    private_redis.prefix = prefix
    return private_redis


def cache_keys(server) -> list[bytes]:
    return list(server.client().scan_iter(match=f"{server.prefix}:*"))


@pytest.fixture
def city_with_places():
    city = CityFactory(temirtau=True)
    group = GroupFactory(kindergarten__city=city, kindergarten__code="KG-01", birth_year=2021, language="kk")
    places = place_release(group=group, count=2, at=RELEASED)
    run_daily(at=RUN)
    child = ChildFactory(first_name="Арман", birth_date=dt.date(2021, 3, 1))
    representation = RepresentationFactory(child=child, status="confirmed")
    application = ApplicationFactory(
        parent=representation.parent, child=child, city=city, applied_at=astana(2023, 1, 1, 9)
    )
    return city, places, representation.parent, application


def registry_place_ids(client) -> set[int]:
    response = client.get("/api/v1/registry/", {"city": "temirtau"})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.services
@pytest.mark.django_db
def test_pages_registry_and_claims_work_while_redis_is_down_and_the_cache_returns_with_it(
    redis_cache, city_with_places, client
):
    _city, places, parent, application = city_with_places
    pages = ["/ru/", "/ru/registry/?city=temirtau", "/kk/protocol/temirtau/2024-05-06/", "/ru/protocol/"]
    api = APIClient(HTTP_ACCEPT_LANGUAGE="ru")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=parent).key}")

    with time_machine.travel(IN_GENERAL, tick=False):
        # Warm: every page and the registry go through the cache.
        before = {page: client.get(page) for page in pages}
        assert all(response.status_code == 200 for response in before.values())
        assert registry_place_ids(api) == {place.pk for place in places}
        assert cache_keys(redis_cache), "the pages should have filled the cache"

        redis_cache.kill()
        calendar._local.clear()  # as in a process that has not read the calendar yet: it must ask the cache

        after = {page: client.get(page) for page in pages}
        for page, response in after.items():
            assert response.status_code == 200, page
            assert response.content.count(b"KG-01") == before[page].content.count(b"KG-01"), page
        assert registry_place_ids(api) == {place.pk for place in places}
        claim = api.post(f"/api/v1/places/{places[0].pk}/claim/", {"application": application.number}, format="json")
        assert claim.status_code == 201, claim.content
        assert registry_place_ids(api) == {places[1].pk}  # from the database: the taken place is gone at once

        ready = client.get("/readyz")
        assert ready.status_code == 200  # the instance serves from the database: it stays in rotation
        assert ready.json()["status"] == "degraded"
        checks = ready.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["cache"].startswith("down") and checks["broker"].startswith("down")

        redis_cache.start()  # with what it held before the crash (its journal)
        assert cache_keys(redis_cache), "the restarted Redis should hold the entries from before the crash"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.content
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}

        cache.get("anything")  # the first use after the outage drops the entries that may have gone stale
        assert cache_keys(redis_cache) == []
        assert registry_place_ids(api) == {places[1].pk}
        assert cache_keys(redis_cache), "the cache is used again"

    # Nothing lost, nothing doubled: one referral, one "taken" event, one audit record.
    referral = Referral.objects.get()
    assert (referral.place_id, referral.application_id, referral.status) == (places[0].pk, application.pk, "live")
    assert PlaceEvent.objects.filter(place=places[0], kind=PlaceEvent.Kind.TAKEN).count() == 1
    assert AuditEntry.objects.filter(action="referral.issue", target_id=str(referral.pk)).count() == 1
    assert Place.objects.get(pk=places[0].pk).state == Place.State.TAKEN


@pytest.mark.services
@pytest.mark.django_db
def test_an_invalidation_lost_in_the_outage_does_not_bring_back_a_stale_entry(redis_cache):
    cache.set("calendar", "before the override")
    redis_cache.client().set("_kombu.binding.celery", "the broker's own key")
    redis_cache.kill()
    cache.delete("calendar")  # an admin's override invalidates the calendar: lost, Redis is down
    assert cache.get("calendar") is None
    redis_cache.start()
    assert redis_cache.client().exists(f"{redis_cache.prefix}:1:calendar")  # the journal brought it back
    assert cache.get("calendar") is None  # but it is never served
    assert redis_cache.client().get("_kombu.binding.celery") == b"the broker's own key"  # only the cache's keys
    cache.set("calendar", "after")
    assert cache.get("calendar") == "after"


@pytest.mark.services
@pytest.mark.django_db
def test_readyz_is_degraded_not_unready_when_only_the_cache_is_down(redis_cache, client, monkeypatch):
    from django.conf import settings

    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection(settings.CELERY_BROKER_URL))
    redis_cache.kill()
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"].startswith("down") and body["checks"]["broker"] == "ok"
