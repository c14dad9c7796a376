"""Real Celery processes and a private Redis for the fault tests (worker, beat, broker).

A private redis-server on a free port is a broker the tests may stop and start; the machine's Redis is never
touched. Every process here is started and ended by its own fixture, by its pid.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from tests.conftest import BASE_DIR, database_url_for_subprocess, process_stop, require, wait_for
from tests.reliability.conftest import free_port


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, with no persistence, that the test may stop and start again."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
            return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        assert wait_for(self.answers, timeout=10), (self.directory / "redis.log").read_text()

    def stop(self) -> None:
        """The broker crashes (SIGKILL): whatever it held is gone, as it keeps nothing on disk."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
        assert not self.answers()


@pytest.fixture
def private_broker(redis_url, tmp_path):
    """A broker of the test's own (the service-marked `redis_url` says Redis is part of this run)."""
    require("redis-server", shutil.which("redis-server") is not None, "the redis-server binary is not installed")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory=directory)
    server.start()
    yield server
    server.stop()


@dataclass
class CeleryProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost host does: no warm shutdown, nothing acknowledged or restored."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            process_stop(self.process)


class CeleryProcesses:
    """Starts `celery worker` and `celery beat` processes on the test database; stops them all at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[CeleryProcess] = []

    def _start(self, name: str, arguments: list[str], env: dict[str, str]) -> CeleryProcess:
        log_path = self.tmp_path / f"{name}-{len(self.started)}.log"
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "DJANGO_SETTINGS_MODULE": "indigo.settings",
            **env,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "indigo", *arguments, "--loglevel=INFO"],
                cwd=BASE_DIR,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a prefork worker's children end with it at teardown.
                start_new_session=True,
            )
        started = CeleryProcess(process=process, log_path=log_path)
        self.started.append(started)
        return started

    def worker(self, *, queue: str = "celery", concurrency: int = 0, env: dict[str, str] | None = None):
        """A solo worker (one process) by default; with a concurrency, a prefork parent and its pool processes."""
        pool = ["--pool=prefork", f"--concurrency={concurrency}"] if concurrency else ["--pool=solo"]
        arguments = ["worker", *pool, "-Q", queue, "--without-mingle", "--without-gossip", "--without-heartbeat"]
        return self._start("worker", arguments, env or {})

    def beat(self, *, env: dict[str, str] | None = None):
        schedule = self.tmp_path / f"beat-schedule-{uuid.uuid4().hex[:8]}"
        return self._start("beat", ["beat", "-s", str(schedule)], env or {})

    def stop_all(self) -> None:
        running = [each for each in self.started if each.process.poll() is None]
        for each in running:  # all at once: each warm shutdown takes a few seconds
            each.process.terminate()
        for each in self.started:
            each.stop()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(each.process.pid, signal.SIGKILL)  # any prefork child left behind


@pytest.fixture
def celery_processes(tmp_path, transactional_db):
    processes = CeleryProcesses(tmp_path)
    yield processes
    processes.stop_all()


def wait_for_log(process: CeleryProcess, text: str, count: int = 1, timeout: float = 60.0) -> bool:
    return bool(wait_for(lambda: process.log().count(text) >= count, timeout=timeout))


@contextlib.contextmanager
def city_row_held(city):
    """Another session holds the city's row, as a long transaction would: a run waits there for the city lock."""
    other = psycopg2.connect(database_url_for_subprocess())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM placement_city WHERE id = %s FOR UPDATE", [city.pk])
        yield
    finally:
        other.rollback()
        other.close()


def sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
