"""PostgreSQL restarted under load (issue 7, Faults): requests in flight fail with a clean 503, the next ones
succeed, no half-written claim.

The real test runs the portal under gunicorn on a PostgreSQL cluster of its own, sends claims from threads and
kills the cluster (``pg_ctl restart -m immediate``: every backend dies mid-transaction) while they are in flight.
What is lost: nothing. Every referral the database holds was answered to its parent (201, or 200 on the retry
after a 503), each has its place taken, its "taken" event and its audit record, once.
"""

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import gettext

from indigo import views
from tests.conftest import BASE_DIR, wait_for
from tests.reliability.conftest import PrivatePostgres, free_port, wait_until_listening

# --- The 503 itself (any database) --------------------------------------------------------------------------


def connection_lost(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.django_db
def test_a_lost_connection_in_an_api_view_is_a_json_503_with_retry_after(client, monkeypatch, caplog):
    from placement.api.public import RegistryView

    monkeypatch.setattr(RegistryView, "get", connection_lost)
    with caplog.at_level(logging.WARNING, logger="indigo.unavailable"):
        response = client.get("/api/v1/registry/", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 503
    assert response["Retry-After"] == str(views.RETRY_AFTER_SECONDS)
    with translation.override("kk"):
        detail = gettext("The service is temporarily unavailable; try again soon.")
    assert response.json() == {"reason": "unavailable", "detail": detail}
    [line] = [r.getMessage() for r in caplog.records if r.name == "indigo.unavailable"]
    assert "GET /api/v1/registry/" in line and "OperationalError" in line


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_lost_connection_in_a_page_is_the_translated_503_page(client, monkeypatch, language):
    monkeypatch.setattr(views.HomeView, "get", connection_lost)
    response = client.get(f"/{language}/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(views.RETRY_AFTER_SECONDS)
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    with translation.override(language):
        assert gettext("Temporarily unavailable") in html
    assert "Traceback" not in html and "server closed the connection" not in html


@pytest.mark.django_db
def test_a_database_error_outside_a_view_is_a_503_and_any_other_error_stays_a_500():
    """handler500 (the error of a middleware, e.g. saving the session) answers the same 503."""
    request = RequestFactory().get("/ru/registry/")
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        assert views.server_error(request).status_code == 503
    try:
        try:
            raise OperationalError("terminating connection due to administrator command")
        except OperationalError as exc:
            raise RuntimeError("while saving the session") from exc
    except RuntimeError:
        assert views.server_error(request).status_code == 503
    try:
        raise ValueError("a bug")
    except ValueError:
        assert views.server_error(request).status_code == 500


def test_the_connection_is_checked_before_reuse():
    from django.conf import settings

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


# --- A real restart under load --------------------------------------------------------------------------------

PLACES = 40
PARENTS = 60
CLIENT_THREADS = 8

SEED = f"""
import datetime as dt, json
from django.conf import settings
from django.utils import timezone
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # factories set passwords: be quick
from rest_framework.authtoken.models import Token
from placement.services.places import place_release
from tests.factories import ApplicationFactory, ChildFactory, CityFactory, GroupFactory, RepresentationFactory

now = timezone.now()
city = CityFactory(slug="temirtau")
group = GroupFactory(kindergarten__city=city, birth_year=now.year - 3, language="kk")
places = place_release(group=group, count={PLACES}, at=now - dt.timedelta(days=20))  # in general access now
parents = []
for n in range({PARENTS}):
    child = ChildFactory(birth_date=dt.date(now.year - 3, 3, 1))
    representation = RepresentationFactory(child=child, status="confirmed")
    application = ApplicationFactory(
        parent=representation.parent, child=child, city=city, applied_at=now - dt.timedelta(days=400, minutes=n)
    )
    parents.append([Token.objects.create(user=representation.parent).key, application.number])
print("SEED" + json.dumps({{"places": [p.pk for p in places], "parents": parents}}))
"""


@dataclass
class Outcome:
    status: int | None
    body: dict | str | None
    at: float
    retry_after: str | None = None
    error: str = ""


@dataclass
class Storm:
    base_url: str
    places: list[int]
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def successes(self) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.status in (200, 201))

    def claim(self, session, token: str, number: str) -> None:
        """An honest parent: tries places in a random order; on 409 the next one, on 503 the same one again."""
        order = random.sample(self.places, len(self.places))
        while order:
            try:
                response = session.post(
                    f"{self.base_url}/api/v1/places/{order[0]}/claim/",
                    json={"application": number},
                    headers={"Authorization": f"Token {token}", "Accept-Language": "ru"},
                    timeout=30,
                )
            except Exception as exc:  # a refused or reset HTTP connection: gunicorn must never do that
                self.record(Outcome(None, None, time.monotonic(), error=repr(exc)))
                return
            try:
                body = response.json()
            except ValueError:
                body = response.text[:500]
            self.record(Outcome(response.status_code, body, time.monotonic(), response.headers.get("Retry-After")))
            if response.status_code == 503:
                time.sleep(0.05)  # pacing of a client's retry, not a synchronisation
                continue
            if response.status_code == 409:
                order.pop(0)
                continue
            return


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def query(server: PrivatePostgres, sql: str) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(server.url("indigo"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


@pytest.fixture
def portal_on_private_postgres(private_postgres, tmp_path):
    """gunicorn serving the portal on the private cluster (persistent connections, so a restart leaves every
    worker thread with a dead connection to notice), seeded with free places and parents with tokens."""
    import requests

    server = private_postgres
    run([f"{server.bindir}/createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "indigo"], {})
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "INDIGO_REQUIRE_SERVICES"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="indigo.settings",
        DATABASE_URL=server.url("indigo"),
        CONN_MAX_AGE="600",
        INDIGO_VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
        CLAIM_ATTEMPTS_PER_MINUTE="0",
        LOG_LEVEL="WARNING",
    )
    began = time.monotonic()
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, timeout=300)
    migrated = time.monotonic()
    seed_output = run([sys.executable, "manage.py", "shell", "-c", SEED], env)
    print(f"\nmigrate {migrated - began:.1f} s, seed {time.monotonic() - migrated:.1f} s")
    seed = json.loads(seed_output.split("SEED", 1)[1])
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "indigo.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_listening(port, timeout=30), log_path.read_text()
        assert wait_for(lambda: requests.get(f"{base_url}/readyz", timeout=5).status_code == 200, timeout=30)
        yield server, base_url, seed, log_path
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait(timeout=5)


@pytest.mark.services
def test_claims_in_flight_during_a_postgres_restart_get_a_clean_503_and_nothing_is_half_written(
    portal_on_private_postgres,
):
    import requests

    server, base_url, seed, log_path = portal_on_private_postgres
    storm = Storm(base_url=base_url, places=seed["places"])
    parents = list(seed["parents"])
    parents_lock = threading.Lock()

    def client_thread():
        with requests.Session() as session:
            while True:
                with parents_lock:
                    if not parents:
                        return
                    token, number = parents.pop()
                storm.claim(session, token, number)

    threads = [threading.Thread(target=client_thread) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    # Kill every backend mid-transaction once the storm is under way; the claims keep coming meanwhile.
    assert wait_for(lambda: storm.successes() >= PLACES // 4, timeout=60), storm.outcomes[-5:]
    restart_began = time.monotonic()
    server.restart("immediate")
    restart_done = time.monotonic()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    statuses = Counter(outcome.status for outcome in storm.outcomes)
    unexpected = [o for o in storm.outcomes if o.status not in {200, 201, 409, 503}]
    assert not unexpected, (statuses, unexpected[:3])
    assert statuses[503] >= 1, f"the restart hit no request: {statuses}"
    for outcome in storm.outcomes:
        if outcome.status == 503:
            assert outcome.body["reason"] == "unavailable" and outcome.body["detail"], outcome
            assert outcome.retry_after == "5"
    assert any(o.status == 201 and o.at > restart_done for o in storm.outcomes), "no claim succeeded after the restart"
    assert "Traceback" not in log_path.read_text(errors="replace")

    # Consistent: every place taken once, with its live referral, its "taken" event and its audit record.
    answered = {o.body["number"] for o in storm.outcomes if o.status in (200, 201)}
    referrals = query(server, "SELECT number FROM placement_referral WHERE status = 'live'")
    assert len(referrals) == PLACES == len(answered)  # 60 parents for 40 places: all taken
    assert {number for (number,) in referrals} == answered  # none issued without its parent being told
    assert query(server, "SELECT count(*) FROM placement_referral WHERE status <> 'live'") == [(0,)]
    assert query(server, "SELECT count(*) FROM placement_place WHERE state = 'taken'") == [(PLACES,)]
    assert query(
        server,
        "SELECT count(*) FROM placement_place p WHERE (p.state = 'taken') <> EXISTS "
        "(SELECT 1 FROM placement_referral r WHERE r.place_id = p.id AND r.status = 'live')",
    ) == [(0,)]
    assert query(
        server,
        "SELECT count(*) FROM placement_referral r WHERE 1 <> (SELECT count(*) FROM placement_placeevent e "
        "WHERE e.place_id = r.place_id AND e.kind = 'taken')",
    ) == [(0,)]
    assert query(
        server,
        "SELECT count(*) FROM placement_referral r WHERE 1 <> (SELECT count(*) FROM accounts_auditentry a "
        "WHERE a.action = 'referral.issue' AND a.target_id = r.id::text)",
    ) == [(0,)]
    assert query(
        server,
        "SELECT count(*) FROM placement_application a WHERE (a.status = 'referred') <> EXISTS "
        "(SELECT 1 FROM placement_referral r WHERE r.application_id = a.id AND r.status = 'live')",
    ) == [(0,)]
    print(f"\nrestart {restart_done - restart_began:.2f} s; responses {dict(statuses)}")


@pytest.mark.services
def test_after_a_restart_while_idle_the_next_requests_succeed(portal_on_private_postgres):
    """Every worker thread holds a persistent connection the restart broke: the health check replaces it when
    the next request starts, so not even the first request after the restart fails. (/readyz runs a query on
    the request's connection and answers 503 when it fails; without CONN_HEALTH_CHECKS the first one does.)"""
    import requests

    server, base_url, _seed, _log = portal_on_private_postgres
    with requests.Session() as session:
        warm = [session.get(f"{base_url}/readyz", timeout=30).status_code for _ in range(24)]
        assert set(warm) == {200}
        server.restart("fast")
        after = [session.get(f"{base_url}/readyz", timeout=30) for _ in range(24)]
    assert [response.status_code for response in after] == [200] * 24, after[0].json()
