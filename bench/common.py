"""What the benchmarks share: their own PostgreSQL database, gunicorn on 127.0.0.1, a stdlib asyncio HTTP/1.1
load generator, and the claim storm (its scenario, the parents' picks, the storm over HTTP, its audit). Nothing
here asserts: the benchmarks print figures beside a floor measured in the same run."""

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


def gunicorn_arguments(parser) -> None:
    """The server's options every web benchmark takes (docs/DEPLOYMENT.md's sizing for 2 cores by default)."""
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="as docs/DEPLOYMENT.md sets it")


def gunicorn_start(url: str, args) -> Gunicorn:
    """gunicorn started with the options of `gunicorn_arguments`."""
    return Gunicorn(
        url=url,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        conn_max_age=args.conn_max_age,
    ).start()


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
    host: str,
    port: int,
    paths: list[str],
    *,
    clients: int,
    requests: int,
    headers: dict | None = None,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """`requests` GETs spread over `clients` concurrent clients, cycling through `paths`; fewer when `stop` is set
    first (a client then finishes the request it has in flight and takes no other)."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    counter = iter(range(requests))

    async def client() -> None:
        for n in counter:
            if stop is not None and stop.is_set():
                return
            reply = await http_request(host, port, "GET", paths[n % len(paths)], headers=headers)
            statuses[reply.status] += 1
            latencies.append(reply.seconds)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(statuses=statuses, latencies=latencies, seconds=time.perf_counter() - started)


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- The claim storm: what claim_storm.py, mixed.py and claim_cpu.py share ------------------------------------

LANGUAGES = {"kk": ("kk",), "ru": ("ru",), "any": ("kk", "ru")}


@dataclass(frozen=True)
class Parent:
    user_id: int
    token: str
    application_id: int
    number: str
    child_id: int
    language: str


@dataclass
class Scenario:
    city_id: int
    city_slug: str
    birth_year: int
    parents: list[Parent]
    places: dict[int, str]  # place id -> language of its group
    kindergartens: dict[int, int]  # place id -> its kindergarten (what hot spots skew over)


@dataclass
class StormResult:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    winners: dict[int, int] = field(default_factory=dict)  # application id -> place id
    errors: list[str] = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)  # application id -> claim attempts (the per-parent limit)

    @property
    def claims(self) -> int:
        return len(self.winners)

    @property
    def refusals_per_claim(self) -> float:
        """409s per successful claim: what hot spots cost beyond the claims themselves."""
        return self.statuses[409] / self.claims if self.claims else float("nan")

    def line(self, name: str) -> str:
        p50, p95, p99 = percentiles(self.latencies)
        codes = " ".join(f"{code}:{count}" for code, count in sorted(self.statuses.items()))
        per_second = self.claims / self.seconds if self.seconds else 0.0
        attempts = len(self.latencies) / self.seconds if self.seconds else 0.0
        return (
            f"{name:40} {per_second:9.1f} {attempts:10.1f} {self.refusals_per_claim:9.2f} {p50 * 1000:8.1f} "
            f"{p95 * 1000:8.1f} {p99 * 1000:8.1f}   {codes}"
        )


STORM_HEADER = (
    f"{'':40} {'claims/s':>9} {'attempts/s':>10} {'409/claim':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   statuses"
)


class Pools:
    """The free places as the parents see them (what the registry shows): a place known gone (taken, 409) is
    never picked again. A parent picks a kindergarten among those with a free place in a language they accept,
    then one of its free places at random.

    Uniform (`hot=0`, the default): each kindergarten weighted by its free places, so every free place is equally
    likely. Hot spots (`hot=S`): the kindergartens ranked in an order fixed by the seed, the r-th weighted 1/r^S
    however few places it has left (Zipf: most parents want the same few, as in a real city), so parents crowd
    onto the same places and most attempts meet a place just taken.
    """

    def __init__(self, scenario: Scenario, *, hot: float = 0.0, seed: int = 0):
        self.free: dict[int, dict[str, list[int]]] = {}  # kindergarten -> language -> its free places
        for place_id, language in sorted(scenario.places.items()):
            self.free.setdefault(scenario.kindergartens[place_id], {}).setdefault(language, []).append(place_id)
        self.where = {place_id: (scenario.kindergartens[place_id], lang) for place_id, lang in scenario.places.items()}
        ranked = sorted(self.free)
        random.Random(seed).shuffle(ranked)
        self.weights = {kindergarten: (rank + 1) ** -hot for rank, kindergarten in enumerate(ranked)} if hot else None
        self.gone: set[int] = set()
        self.lock = threading.Lock()

    def pick(self, language: str, rng: random.Random) -> int | None:
        accepted = LANGUAGES[language]
        with self.lock:
            candidates, weights = [], []
            for kindergarten, by_language in self.free.items():
                count = sum(len(by_language.get(lang, ())) for lang in accepted)
                if count:
                    candidates.append(kindergarten)
                    weights.append(self.weights[kindergarten] if self.weights else count)
            if not candidates:
                return None
            by_language = self.free[rng.choices(candidates, weights=weights)[0]]
            places = [place_id for lang in accepted for place_id in by_language.get(lang, ())]
            return places[rng.randrange(len(places))]

    def mark_gone(self, place_id: int) -> None:
        with self.lock:
            if place_id in self.gone:
                return
            self.gone.add(place_id)
            kindergarten, language = self.where[place_id]
            self.free[kindergarten][language].remove(place_id)


def storm_scenario(
    *, city, parents: int, places: int, seed: int, at: dt.datetime, birth_year: int | None = None
) -> Scenario:
    """Release `places` general places of one cohort of `city` five working days before `at` (general access now)
    and pick `parents` parents with a queued general application of that cohort, one application each."""
    from django.db import connection

    from placement.models import Application, Group
    from placement.services.scale_data import release_moments, scale_places_release

    if birth_year is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT birth_year FROM placement_application WHERE city_id = %s AND status = 'queued'"
                " AND group_type = 'general' GROUP BY birth_year ORDER BY count(*) DESC, birth_year LIMIT 1",
                [city.pk],
            )
            birth_year = cursor.fetchone()[0]
    groups = list(
        Group.objects.filter(kindergarten__city=city, birth_year=birth_year, group_type="general").values_list(
            "pk", flat=True
        )
    )
    moments = release_moments(at=at, days=6)[:9]  # the earliest day: its 3 working days of priority are over
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM placement_place")
        last_place = cursor.fetchone()[0]
    scale_places_release(group_ids=groups, count=places, moments=moments, seed=seed, salt=99)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, g.language, p.kindergarten_id FROM placement_place p"
            " JOIN placement_group g ON g.id = p.group_id WHERE p.id > %s ORDER BY p.id",
            [last_place],
        )
        released = cursor.fetchall()
        cursor.execute(
            """
            SELECT DISTINCT ON (a.parent_id) a.parent_id, t.key, a.id, a.number, a.child_id, a.language
            FROM placement_application a JOIN authtoken_token t ON t.user_id = a.parent_id
            WHERE a.city_id = %s AND a.birth_year = %s AND a.status = 'queued' AND a.group_type = 'general'
            ORDER BY a.parent_id, a.id
            """,
            [city.pk, birth_year],
        )
        rows = cursor.fetchall()
    rng = random.Random(seed)
    rng.shuffle(rows)
    chosen = [Parent(*row) for row in rows[:parents]]
    assert Application.objects.filter(pk__in=[p.application_id for p in chosen], status="queued").count() == len(chosen)
    return Scenario(
        city_id=city.pk,
        city_slug=city.slug,
        birth_year=birth_year,
        parents=chosen,
        places={place_id: language for place_id, language, _ in released},
        kindergartens={place_id: kindergarten_id for place_id, _, kindergarten_id in released},
    )


def storm_setup(
    *, url: str, kindergartens: int, applications: int, places: int, parents: int, open_places: int = 0, seed: int
) -> Scenario:
    """Recreate the benchmark's database with one city (its queue of `applications`, and `open_places` places
    released over the last six working days for the registry to show) and the storm's scenario; Django's
    connections are closed afterwards, so the database can be copied."""
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from placement.registry_cache import registry_changed
    from placement.services.scale_data import scale_data_generate

    call_command("migrate", verbosity=0)
    at = timezone.now()
    started = time.perf_counter()
    summary = scale_data_generate(
        cities=1, kindergartens=kindergartens, applications=applications, places=open_places, seed=seed, at=at
    )
    scenario = storm_scenario(city=summary.cities[0], parents=parents, places=places, seed=seed, at=at)
    # The data were written in raw SQL, behind the services that renew the registry cache's tokens.
    registry_changed(city_ids=[scenario.city_id], city_list=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"generated in {time.perf_counter() - started:.1f} s: {summary.applications:,} applications and "
        f"{summary.places:,} open places in one city, {len(scenario.parents):,} parents racing for "
        f"{len(scenario.places):,} general places of cohort {scenario.birth_year} in "
        f"{len(set(scenario.kindergartens.values()))} kindergartens (places {dict(Counter(scenario.places.values()))};"
        f" parents {dict(Counter(p.language for p in scenario.parents))})"
    )
    connections.close_all()
    return scenario


def scale_arguments(parser) -> None:
    """The generated city's options (`storm_setup`)."""
    parser.add_argument("--applications", type=int, default=60_000, help="the city's whole queue (default 60,000)")
    parser.add_argument("--kindergartens", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)


def storm_arguments(parser) -> None:
    """The storm's options (claim_storm.py, mixed.py), with the city's."""
    parser.add_argument("--parents", type=int, default=5000)
    parser.add_argument("--places", type=int, default=1000, help="general places the storm races for")
    parser.add_argument("--clients", type=int, default=200, help="storm clients (parents at once)")
    parser.add_argument(
        "--hot", type=float, default=0.0, help="Zipf exponent of the parents' picks over kindergartens (0: uniform)"
    )
    scale_arguments(parser)


def storm_options(args) -> dict:
    """`storm_setup`'s arguments from those of `storm_arguments`."""
    return {
        "kindergartens": args.kindergartens,
        "applications": args.applications,
        "places": args.places,
        "parents": args.parents,
        "seed": args.seed,
    }


def claim_headers(parent: Parent) -> dict[str, str]:
    return {"Authorization": f"Token {parent.token}", "Content-Type": "application/json", "Accept-Language": "ru"}


def claim_body(parent: Parent) -> bytes:
    return json.dumps({"application": parent.number}).encode()


def claim_path(place_id: int) -> str:
    return f"/api/v1/places/{place_id}/claim/"


def storm_warm_up(server: "Gunicorn", scenario: Scenario) -> None:
    """Warm every worker on the claim path itself: unknown places answer 404 after authentication."""
    server.warm_up([claim_path(0)], headers={"Authorization": f"Token {scenario.parents[0].token}"})


async def storm_http(
    host: str, port: int, scenario: Scenario, *, clients: int, seed: int, hot: float = 0.0
) -> StormResult:
    """The storm over HTTP: `clients` concurrent parents, each taking the next parent of the scenario when done.
    A parent picks a place (`Pools`), tries another after a 409 and stops after a 201/200."""
    result = StormResult()
    pools = Pools(scenario, hot=hot, seed=seed)
    queue = list(reversed(scenario.parents))

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while queue:
            parent = queue.pop()
            headers, body = claim_headers(parent), claim_body(parent)
            while (place_id := pools.pick(parent.language, rng)) is not None:
                reply = await http_request(host, port, "POST", claim_path(place_id), headers=headers, body=body)
                result.statuses[reply.status] += 1
                result.latencies.append(reply.seconds)
                result.attempts[parent.application_id] += 1
                if reply.status in (200, 201):
                    pools.mark_gone(place_id)
                    result.winners[parent.application_id] = place_id
                    break
                if reply.status == 409:
                    pools.mark_gone(place_id)
                    continue
                result.errors.append(f"{reply.status} {json_body(reply).get('reason', reply.body[:120])}")
                break

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


# --- CPU of the server side, from /proc ------------------------------------------------------------------------


def _processes() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command line, CPU seconds user + system) of every process this user can see."""
    ticks = os.sysconf("SC_CLK_TCK")
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        rows.append((int(entry.name), int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / ticks))
    return rows


def server_cpu(gunicorn_pid: int, database: str) -> dict[str, float]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends serving `database`: measured
    before and after the storm, their difference per attempt says what a claim costs, whatever else runs on the
    machine (wall-clock figures on 2 shared cores move with every other process)."""
    cpu = {"gunicorn": 0.0, "postgres": 0.0}
    for pid, ppid, cmdline, seconds in _processes():
        if pid == gunicorn_pid or ppid == gunicorn_pid:
            cpu["gunicorn"] += seconds
        elif cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            cpu["postgres"] += seconds
    return cpu


# --- The audit, from the database ----------------------------------------------------------------------------

AUDIT_SQL = {
    "referrals": "SELECT count(*) FROM placement_referral WHERE status = 'live' AND place_id = ANY(%(places)s)",
    "places_taken_twice": "SELECT count(*) FROM (SELECT place_id FROM placement_referral"
    " WHERE status IN ('live', 'enrolled') GROUP BY place_id HAVING count(*) > 1) AS t",
    "children_two_live": "SELECT count(*) FROM (SELECT child_id FROM placement_referral WHERE status = 'live'"
    " GROUP BY child_id HAVING count(*) > 1) AS t",
    "taken_without_referral": "SELECT count(*) FROM placement_place p WHERE p.id = ANY(%(places)s)"
    " AND p.state = 'taken' AND NOT EXISTS (SELECT 1 FROM placement_referral r WHERE r.place_id = p.id"
    " AND r.status = 'live')",
    "referred_without_referral": "SELECT count(*) FROM placement_application a WHERE a.id = ANY(%(applications)s)"
    " AND a.status = 'referred' AND NOT EXISTS (SELECT 1 FROM placement_referral r WHERE r.application_id = a.id"
    " AND r.status = 'live')",
    "free_languages": "SELECT g.language, count(*) FROM placement_place p JOIN placement_group g"
    " ON g.id = p.group_id WHERE p.id = ANY(%(places)s) AND p.state IN ('priority', 'general') GROUP BY 1",
    "applications_with_referral": "SELECT application_id FROM placement_referral WHERE status = 'live'"
    " AND application_id = ANY(%(applications)s)",
}


def storm_audit(cursor, scenario: Scenario, result: StormResult) -> dict[str, int]:
    """Counts that must all be 0 except `referrals` (and `expected`, what a correct storm yields)."""
    params = {"places": list(scenario.places), "applications": [p.application_id for p in scenario.parents]}
    audit = {}
    for name in (
        "referrals",
        "places_taken_twice",
        "children_two_live",
        "taken_without_referral",
        "referred_without_referral",
    ):
        cursor.execute(AUDIT_SQL[name], params)
        audit[name] = cursor.fetchone()[0]
    cursor.execute(AUDIT_SQL["free_languages"], params)
    free = dict(cursor.fetchall())
    cursor.execute(AUDIT_SQL["applications_with_referral"], params)
    served = {row[0] for row in cursor.fetchall()}
    # A free place left while a compatible parent of the storm went without a referral is a lost claim.
    waiting = [p for p in scenario.parents if p.application_id not in served]
    audit["free_place_with_waiting_parent"] = sum(
        1 for p in waiting if any(free.get(lang, 0) for lang in LANGUAGES[p.language])
    )
    audit["server_errors"] = sum(count for status, count in result.statuses.items() if status >= 500 or status == 0)
    audit["other_refusals"] = len(result.errors)
    audit["referrals_vs_winners"] = abs(audit["referrals"] - len(result.winners))
    return audit


def audit_line(audit: dict[str, int]) -> str:
    return "audit: " + ", ".join(f"{name}={value}" for name, value in audit.items())


def audit_print(url: str, scenario: Scenario, result: StormResult) -> None:
    """The storm's audit, read from the database at `url`, as one line."""
    with psycopg_connect(url) as check, check.cursor() as cursor:
        print("  " + audit_line(storm_audit(cursor, scenario, result)))
    check.close()
