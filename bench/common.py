"""What the benchmarks share: their own PostgreSQL database, gunicorn on 127.0.0.1, and a stdlib asyncio HTTP/1.1
load generator. Nothing here asserts: the benchmarks print figures beside a floor measured in the same run."""

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def database_config(url: str) -> dict:
    import environ

    return environ.Env.db_url_config(url)


def admin_connection(url: str):
    import psycopg2

    config = database_config(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=config["USER"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        password=config["PASSWORD"] or None,
    )
    connection.autocommit = True
    return connection


def psycopg_connect(url: str, dbname: str | None = None):
    import psycopg2

    config = database_config(url)
    return psycopg2.connect(
        dbname=dbname or config["NAME"],
        user=config["USER"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        password=config["PASSWORD"] or None,
    )


def database_recreate(url: str) -> None:
    """Drop and create the benchmark's own database (named by DATABASE_URL)."""
    from psycopg2 import sql

    name = database_config(url)["NAME"]
    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def database_copy(url: str, copy_name: str) -> str:
    """An identical copy of the benchmark's database (CREATE DATABASE ... TEMPLATE); returns its URL.
    The source must have no other connections: close Django's first."""
    from psycopg2 import sql

    name = database_config(url)["NAME"]
    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy_name)))
        cursor.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy_name), sql.Identifier(name))
        )
    admin.close()
    return url.rsplit("/", 1)[0] + "/" + copy_name


def checkpoint(url: str) -> None:
    """Flush dirty buffers before a timed part, so that it does not pay for the writes of the setup before it."""
    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    admin.close()


def database_drop(url: str, name: str) -> None:
    from psycopg2 import sql

    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory: never measure with it
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()


def require_postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own (it is dropped and recreated).")
    return url


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    if not samples:
        return (float("nan"),) * 3
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return statistics.median(ordered), pick(0.95), pick(0.99)


# --- gunicorn ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    url: str
    workers: int = 5
    worker_class: str = "sync"
    threads: int = 1
    conn_max_age: int = 60
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.url,
            DJANGO_SETTINGS_MODULE="bench.settings",
            DEBUG="0",
            SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
            SECURE_SSL_REDIRECT="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CONN_MAX_AGE=str(self.conn_max_age),
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        return env

    def start(self) -> "Gunicorn":
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "indigo.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--backlog",
            "4096",
            "--timeout",
            "120",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
        ]
        # Its log (Django logs every 4xx at WARNING) goes to a file, kept for a look after the run.
        log_dir = Path(os.environ.get("BENCH_LOG_DIR", tempfile.gettempdir()))
        self.log_path = log_dir / f"indigo-bench-gunicorn-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, arguments from this module
            command, env=self.env(), cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2),
            ):
                return self
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "log", None):
            self.log.close()

    def warm_up(self, paths: list[str], *, headers: dict | None = None, count: int = 0) -> None:
        """Every worker imports and compiles lazily: a few requests each before anything is timed."""
        count = count or 10 * self.workers * self.threads
        asyncio.run(
            load_fixed(
                "127.0.0.1", self.port, paths, clients=self.workers * self.threads, requests=count, headers=headers
            )
        )

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.workers} {self.worker_class} workers{threads}, CONN_MAX_AGE={self.conn_max_age}"


# --- HTTP client (stdlib asyncio, HTTP/1.1, one connection per request as gunicorn's sync workers close it) ---


@dataclass
class Reply:
    status: int
    seconds: float
    body: bytes


async def http_request(
    host: str, port: int, method: str, path: str, *, headers: dict | None = None, body: bytes = b"", timeout=60.0
) -> Reply:
    started = time.perf_counter()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close", "User-Agent: indigo-bench"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        return Reply(status=0, seconds=time.perf_counter() - started, body=b"")
    head, _, payload = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return Reply(status=status, seconds=time.perf_counter() - started, body=payload)


def json_body(reply: Reply) -> dict:
    with contextlib.suppress(ValueError):
        return json.loads(reply.body or b"{}")
    return {}


@dataclass
class LoadResult:
    statuses: Counter
    latencies: list[float]
    seconds: float

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self, name: str) -> str:
        p50, p95, p99 = percentiles(self.latencies)
        codes = " ".join(f"{code}:{count}" for code, count in sorted(self.statuses.items()))
        return (
            f"{name:44} {self.requests_per_second:9.1f} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {p99 * 1000:8.1f}   {codes}"
        )


LOAD_HEADER = f"{'':44} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   statuses"


async def load_fixed(
    host: str, port: int, paths: list[str], *, clients: int, requests: int, headers: dict | None = None
) -> LoadResult:
    """`requests` GETs spread over `clients` concurrent clients, cycling through `paths`."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    counter = iter(range(requests))

    async def client() -> None:
        for n in counter:
            reply = await http_request(host, port, "GET", paths[n % len(paths)], headers=headers)
            statuses[reply.status] += 1
            latencies.append(reply.seconds)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(statuses=statuses, latencies=latencies, seconds=time.perf_counter() - started)


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
