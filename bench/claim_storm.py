"""Benchmark: the claim storm (issue 6). N parents, each with an API token, race for M general places of one cohort.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/claim_storm.py --parents 5000 --places 1000 --clients 200

Drops and recreates the database named by DATABASE_URL, generates a city (`generate_scale_data`'s service) with
its queue, releases M places into the general groups of one cohort five working days ago (so they are in general
access now), and picks N parents with a queued general application of that cohort. Then:
1. the floor, on an identical copy of the database (CREATE DATABASE ... TEMPLATE): the same claim transactions in
   raw SQL through psycopg2 (lock the place FOR NO KEY UPDATE, check its state, lock the application, update both,
   insert the referral, its place event and its audit record), from the same parents' point of view, at the same
   concurrency (threads, one connection each, capped by PostgreSQL's max_connections);
2. the storm over HTTP: gunicorn on 127.0.0.1 (5 sync workers, as docs/DEPLOYMENT.md sizes 2 cores), driven from
   this process by C asyncio clients: POST /api/v1/places/<id>/claim/ {"application": number}. A parent picks a
   random compatible place not yet known to be gone (what the registry would show), tries another after a 409 and
   stops after a 201/200.
Each run prints claims/s, p50/p95/p99, the status counts and the audit from the database: places taken twice,
children with two live referrals, 5xx, and places left free while a compatible parent went without (all must be
0). Nothing here asserts: tests/bench/test_bench_smoke.py asserts the audit at small scale.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Gunicorn,
    checkpoint,
    database_config,
    database_copy,
    database_drop,
    database_recreate,
    django_setup,
    http_request,
    json_body,
    percentiles,
    psycopg_connect,
    require_postgres_url,
)

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
    birth_year: int
    parents: list[Parent]
    places: dict[int, str]  # place id -> language of its group


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

    def line(self, name: str) -> str:
        p50, p95, p99 = percentiles(self.latencies)
        codes = " ".join(f"{code}:{count}" for code, count in sorted(self.statuses.items()))
        per_second = self.claims / self.seconds if self.seconds else 0.0
        attempts = len(self.latencies) / self.seconds if self.seconds else 0.0
        return (
            f"{name:40} {per_second:9.1f} {attempts:10.1f} {p50 * 1000:8.1f} {p95 * 1000:8.1f} "
            f"{p99 * 1000:8.1f}   {codes}"
        )


HEADER = f"{'':40} {'claims/s':>9} {'attempts/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   statuses"


class Pools:
    """The free places as the parents see them: a place known gone (taken, 409) is never picked again."""

    def __init__(self, places: dict[int, str]):
        self.free = {
            language: sorted(pid for pid, lang in places.items() if lang == language) for language in ("kk", "ru")
        }
        self.gone: set[int] = set()
        self.lock = threading.Lock()

    def pick(self, language: str, rng: random.Random) -> int | None:
        with self.lock:
            while True:
                pools = [self.free[lang] for lang in LANGUAGES[language] if self.free[lang]]
                if not pools:
                    return None
                pool = rng.choices(pools, weights=[len(p) for p in pools])[0]
                index = rng.randrange(len(pool))
                place_id = pool[index]
                if place_id not in self.gone:
                    return place_id
                pool[index] = pool[-1]
                pool.pop()

    def mark_gone(self, place_id: int) -> None:
        with self.lock:
            self.gone.add(place_id)


# --- The scenario (Django) -------------------------------------------------------------------------------------


def storm_scenario(*, city, parents: int, places: int, seed: int, at: dt.datetime, birth_year: int | None = None):
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
            "SELECT p.id, g.language FROM placement_place p JOIN placement_group g ON g.id = p.group_id"
            " WHERE p.id > %s ORDER BY p.id",
            [last_place],
        )
        place_languages = dict(cursor.fetchall())
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
    return Scenario(city_id=city.pk, birth_year=birth_year, parents=chosen, places=place_languages)


# --- The storm over HTTP -------------------------------------------------------------------------------------


async def storm_http(host: str, port: int, scenario: Scenario, *, clients: int, seed: int) -> StormResult:
    result = StormResult()
    pools = Pools(scenario.places)
    queue = list(reversed(scenario.parents))

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while queue:
            parent = queue.pop()
            headers = {
                "Authorization": f"Token {parent.token}",
                "Content-Type": "application/json",
                "Accept-Language": "ru",
            }
            body = json.dumps({"application": parent.number}).encode()
            while (place_id := pools.pick(parent.language, rng)) is not None:
                reply = await http_request(
                    host, port, "POST", f"/api/v1/places/{place_id}/claim/", headers=headers, body=body
                )
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


# --- The floor: the same transactions in raw SQL ---------------------------------------------------------------

CLAIM_SQL = {
    "place": "SELECT state, entered_priority_at, kindergarten_id, group_id, city_id, priority_until"
    " FROM placement_place WHERE id = %s FOR NO KEY UPDATE",
    "application": "SELECT status, child_id FROM placement_application WHERE id = %s FOR NO KEY UPDATE",
    "take": "UPDATE placement_place SET state = 'taken' WHERE id = %s",
    "refer": "UPDATE placement_application SET status = 'referred', status_changed_at = %s WHERE id = %s",
    "referral": "INSERT INTO placement_referral (number, issued_at, valid_until, status, closed_at, close_reason,"
    " application_id, child_id, kindergarten_id, parent_id, place_id)"
    " VALUES (%s, %s, %s, 'live', NULL, '', %s, %s, %s, %s, %s) RETURNING id",
    "event": "INSERT INTO placement_placeevent (kind, at, protocol_day, recorded_at, reason, birth_year, language,"
    " group_type, access, by_id, city_id, kindergarten_id, place_id)"
    " SELECT 'taken', %s, %s, %s, '', g.birth_year, g.language, g.group_type, 'general', NULL, %s, %s, %s"
    " FROM placement_group g WHERE g.id = %s",
    "audit": "INSERT INTO accounts_auditentry (at, action, target_type, target_id, ip, details, actor_id)"
    " VALUES (%s, 'referral.issue', 'placement.referral', %s, '127.0.0.1', %s, %s)",
}


def storm_floor(url: str, scenario: Scenario, *, threads: int, seed: int) -> StormResult:
    """The claims as raw SQL transactions, `threads` at a time, each on its own psycopg2 connection."""
    from placement.models.referrals import referral_number_new, referral_valid_until
    from schedules.calendar import protocol_day

    now = dt.datetime.now(dt.UTC)
    valid_until = referral_valid_until(now)
    day = protocol_day(now)
    result = StormResult()
    pools = Pools(scenario.places)
    queue = list(reversed(scenario.parents))
    lock = threading.Lock()

    def claim(cursor, parent: Parent, place_id: int) -> int:
        cursor.execute(CLAIM_SQL["place"], [place_id])
        state, entered, kindergarten_id, group_id, city_id, _ = cursor.fetchone()
        if state not in ("scheduled", "priority", "general") or entered > now:
            return 409
        cursor.execute(CLAIM_SQL["application"], [parent.application_id])
        status, child_id = cursor.fetchone()
        if status != "queued":
            return 403
        cursor.execute(CLAIM_SQL["take"], [place_id])
        cursor.execute(CLAIM_SQL["refer"], [now, parent.application_id])
        number = referral_number_new()
        cursor.execute(
            CLAIM_SQL["referral"],
            [number, now, valid_until, parent.application_id, child_id, kindergarten_id, parent.user_id, place_id],
        )
        referral_id = cursor.fetchone()[0]
        cursor.execute(CLAIM_SQL["event"], [now, day, now, city_id, kindergarten_id, place_id, group_id])
        cursor.execute(
            CLAIM_SQL["audit"],
            [now, str(referral_id), json.dumps({"place": place_id, "application": parent.number}), parent.user_id],
        )
        return 201

    def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = psycopg_connect(url)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    parent = queue.pop()
                while (place_id := pools.pick(parent.language, rng)) is not None:
                    started = time.perf_counter()
                    try:
                        with connection, connection.cursor() as cursor:
                            status = claim(cursor, parent, place_id)
                            if status != 201:
                                connection.rollback()
                    except Exception as exc:  # a constraint: what the locks should have prevented
                        status = 500
                        with lock:
                            result.errors.append(repr(exc)[:200])
                    with lock:
                        result.statuses[status] += 1
                        result.latencies.append(time.perf_counter() - started)
                    if status == 201:
                        pools.mark_gone(place_id)
                        with lock:
                            result.winners[parent.application_id] = place_id
                        break
                    if status == 409:
                        pools.mark_gone(place_id)
                        continue
                    break
        finally:
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
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


# --- main -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parents", type=int, default=5000)
    parser.add_argument("--places", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--applications", type=int, default=60_000, help="the city's whole queue (default 60,000)")
    parser.add_argument("--kindergartens", type=int, default=300)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="as docs/DEPLOYMENT.md sets it")
    parser.add_argument("--floor-connections", type=int, default=0, help="default: the clients, at most 90")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args()

    url = require_postgres_url()
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from placement.services.scale_data import scale_data_generate

    call_command("migrate", verbosity=0)
    at = timezone.now()
    started = time.perf_counter()
    summary = scale_data_generate(
        cities=1, kindergartens=args.kindergartens, applications=args.applications, places=0, seed=args.seed, at=at
    )
    scenario = storm_scenario(city=summary.cities[0], parents=args.parents, places=args.places, seed=args.seed, at=at)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"generated in {time.perf_counter() - started:.1f} s: {summary.applications:,} applications in one city, "
        f"{len(scenario.parents):,} parents racing for {len(scenario.places):,} general places of cohort "
        f"{scenario.birth_year} (places {dict(Counter(scenario.places.values()))}; parents "
        f"{dict(Counter(p.language for p in scenario.parents))})"
    )
    connections.close_all()

    floor_connections = args.floor_connections or min(args.clients, 90)
    print(HEADER)
    if not args.skip_floor:
        copy_name = database_config(url)["NAME"] + "_floor"
        copy_url = database_copy(url, copy_name)
        checkpoint(url)
        floor = storm_floor(copy_url, scenario, threads=floor_connections, seed=args.seed)
        print(floor.line(f"floor: raw SQL, {floor_connections} connections"))
        with psycopg_connect(copy_url) as check, check.cursor() as cursor:
            print("  " + audit_line(storm_audit(cursor, scenario, floor)))
        check.close()
        database_drop(url, copy_name)

    checkpoint(url)
    server = Gunicorn(
        url=url,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        conn_max_age=args.conn_max_age,
    ).start()
    try:
        # Warm every worker on the claim path itself: unknown places answer 404 after authentication.
        token = scenario.parents[0].token
        server.warm_up(["/api/v1/places/0/claim/"], headers={"Authorization": f"Token {token}"})
        database = database_config(url)["NAME"]
        cpu_before = server_cpu(server.process.pid, database)
        result = asyncio.run(storm_http("127.0.0.1", server.port, scenario, clients=args.clients, seed=args.seed))
        cpu_after = server_cpu(server.process.pid, database)
    finally:
        server.stop()
    print(result.line(f"HTTP: {args.clients} clients"))
    with psycopg_connect(url) as check, check.cursor() as cursor:
        print("  " + audit_line(storm_audit(cursor, scenario, result)))
    check.close()
    print(f"  {server.describe()}")
    attempts = max(len(result.latencies), 1)
    print(
        "  CPU per attempt: "
        + ", ".join(f"{name} {(cpu_after[name] - cpu_before[name]) * 1000 / attempts:.1f} ms" for name in cpu_after)
    )
    # An honest parent must stay under CLAIM_ATTEMPTS_PER_MINUTE (a 429 would show as a refusal other than 409).
    print(f"  claim attempts per parent: most {max(result.attempts.values(), default=0)}")
    if result.errors:
        print("  refusals other than 409:", Counter(result.errors).most_common(5))


if __name__ == "__main__":
    main()
