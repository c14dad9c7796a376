"""Shared fixtures. Services: a test that needs PostgreSQL, Redis or a browser asks for its fixture; when the
service is missing it is skipped on a developer's machine and fails in CI (INDIGO_REQUIRE_SERVICES=1). The world
most placement tests live in (a city, a kindergarten with a group, its staff, another kindergarten's staff, a
parent with a confirmed child, a department admin), the clock, and clients logged in as someone."""

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import sms
from tests import factories
from tests.clock import at

# Fixtures that some test modules take with pytest_plugins: their asserts rewritten like the tests' own.
pytest.register_assert_rewrite("tests.placement.offers")

BASE_DIR = Path(settings.BASE_DIR)
SERVICE_FIXTURES = {"postgres", "redis_url", "redis_worker"}


def require(service: str, available: bool, why: str) -> None:
    if available:
        return
    if settings.INDIGO_REQUIRE_SERVICES:
        pytest.fail(f"{service} is required (INDIGO_REQUIRE_SERVICES=1), but {why}", pytrace=False)
    pytest.skip(f"{service} is not available: {why}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Each test gets an empty cache of its own, so cached calendars and pages never leak between tests.

    On Redis a key prefix of its own, never a flush: the broker's queues live in the same database. The
    calendar's per-process copies are dropped too (their database rows were rolled back with the last test).
    """
    from schedules import calendar

    calendar._local.clear()
    if settings.REDIS_URL:
        settings.CACHES = {
            "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"},
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"test-{uuid.uuid4().hex}",
            }
        }


@pytest.fixture(scope="session", autouse=True)
def _close_live_server_connections(django_db_setup, django_db_blocker):
    """The live server's request threads may still hold a connection to the test database when the session ends;
    end them before pytest-django drops the database, so the drop never fails with "being accessed"."""
    yield
    from django.db import connection as default

    if default.vendor != "postgresql":
        return
    try:
        with django_db_blocker.unblock(), default.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except OperationalError:
        pass  # no test used the database, so pytest-django never created it


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    """SMS go to accounts.sms.outbox in tests, never to a console or a gateway; each test starts with it empty."""
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def outbox() -> list[sms.SmsMessage]:
    """The SMS sent during the test, oldest first."""
    return sms.outbox


@pytest.fixture
def postgres(db):
    require("PostgreSQL", connection.vendor == "postgresql", "DATABASE_URL does not point to PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        require("Redis", False, "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require("Redis", False, f"{url} does not answer ({exc})")
    return url


def database_url_for_subprocess() -> str:
    """The URL of the database this test runs on (the test database), for a worker in another process."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db.get("USER") or ""
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _start_worker(tmp_path: Path, extra_env: dict[str, str]) -> Worker:
    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    env = {**os.environ, **extra_env, "DJANGO_SETTINGS_MODULE": "indigo.settings"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "indigo",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Worker(queue=queue, process=process, log_path=log_path)


def process_stop(process: subprocess.Popen) -> None:
    """SIGTERM and 20 s for a warm shutdown, then SIGKILL."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def celery_worker(tmp_path, transactional_db):
    """A real Celery worker process on the configured broker, consuming a queue of its own."""
    worker = _start_worker(tmp_path, {"DATABASE_URL": database_url_for_subprocess()})
    yield worker
    process_stop(worker.process)


@pytest.fixture
def redis_worker(redis_url, celery_worker):
    """A real worker whose broker is Redis (the production broker)."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    return celery_worker


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        require("chromium", False, "Debian's chromium is not installed (scripts/ensure-chromium.sh)")
    return path


@pytest.fixture
def browser_page(chromium_path, live_server, monkeypatch):
    """A Playwright page in headless Debian chromium, pointed at the live test server."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(locale="ru-RU")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


# --- The clock ---------------------------------------------------------------------------------------------------


@pytest.fixture
def clock(now):
    """Time stands still at `now`: a module that asks for the clock says, with a fixture `now`, the moment its tests
    live in (the traveller may move it: clock.move_to)."""
    with at(now) as traveller:
        yield traveller


# --- The world ---------------------------------------------------------------------------------------------------
# A module that needs a variant overrides a fixture (a city named Temirtau, a group of another cohort) or builds it
# with the factories. Codes and user names are without letters: the i18n checks compare a page's visible text with
# the English page, and data that reads the same in every language must not look untranslated.


@pytest.fixture
def city():
    return factories.CityFactory()


@pytest.fixture
def kindergarten(city):
    return factories.KindergartenFactory(city=city, code="101")


@pytest.fixture
def group(kindergarten):
    """A group for children born in 2021, in Kazakh, of the general type."""
    return factories.GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk", group_type="general")


@pytest.fixture
def staff(kindergarten):
    """Staff of `kindergarten` (password: the factories' "correct-horse-battery")."""
    return factories.StaffFactory(kindergarten=kindergarten, username="2001")


@pytest.fixture
def other_staff(kindergarten):
    """Staff of another kindergarten of the same city, which has a 2021 group of its own."""
    other = factories.KindergartenFactory(city=kindergarten.city, code="102")
    factories.GroupFactory(kindergarten=other, birth_year=2021)
    return factories.StaffFactory(kindergarten=other, username="2002")


@pytest.fixture
def parent():
    """A parent (Айгерим Сапарова, with a phone and an IIN) with no child yet: `child` gives one."""
    return factories.ParentFactory(username="3001")


@pytest.fixture
def child(parent):
    """The parent's child Сапаров Арман, born 1 June 2021; the parent's representation is confirmed."""
    child = factories.ChildFactory(last_name="Сапаров", first_name="Арман", birth_date=dt.date(2021, 6, 1))
    return factories.RepresentationFactory(parent=parent, child=child, status="confirmed").child


@pytest.fixture
def application(parent, child, city):
    """The child's application, queued in `city` by the parent, without a privilege."""
    return factories.ApplicationFactory(parent=parent, child=child, city=city)


@pytest.fixture
def department_admin():
    return factories.AdminFactory(username="9001")


@pytest.fixture
def superuser(client):
    """A superuser, logged in on `client` (the Django admin's pages)."""
    user = factories.UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


# --- Clients -----------------------------------------------------------------------------------------------------


@pytest.fixture
def logged_in():
    """logged_in(user): a browser-like client with `user`'s session."""

    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return client_for


@pytest.fixture
def api_as():
    """api_as(user): an API client authenticated with `user`'s token, as the phone app is; api_as(): anonymous.
    `language` is sent as Accept-Language."""

    def client_for(user=None, *, language: str | None = None) -> APIClient:
        client = APIClient(**({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


# --- Threads and other processes ---------------------------------------------------------------------------------


def run_together(*jobs):
    """Run the callables in threads released at once; return their results or exceptions, in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def runner(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except Exception as exc:  # returned for the test to judge
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll a condition set by another process (a worker); never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
