"""Benchmark: the claim storm (issues 6 and 15). N parents, each with an API token, race for M general places of one
cohort, picking places uniformly (the default) or Zipf-skewed over kindergartens (`--hot S`: most want the same few).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/claim_storm.py --parents 5000 --places 1000 --clients 200 [--hot 1.1]

Drops and recreates the database named by DATABASE_URL, generates a city (`generate_scale_data`'s service) with
its queue, releases M places into the general groups of one cohort five working days ago (so they are in general
access now), and picks N parents with a queued general application of that cohort. Then:
1. the floor, on an identical copy of the database (CREATE DATABASE ... TEMPLATE): the same claim transactions in
   raw SQL through psycopg2 (lock the place FOR NO KEY UPDATE, check its state, lock the application, update both,
   insert the referral, its place event and its audit record), from the same parents' point of view with the same
   picks (uniform or hot), at the same concurrency (threads, one connection each, capped by max_connections);
2. the storm over HTTP: gunicorn on 127.0.0.1 (5 sync workers, as docs/DEPLOYMENT.md sizes 2 cores), driven from
   this process by C asyncio clients: POST /api/v1/places/<id>/claim/ {"application": number}. A parent picks a
   compatible place not yet known to be gone (what the registry would show; `common.Pools`), tries another after
   a 409 and stops after a 201/200.
Each run prints claims/s, attempts/s, refusals (409) per successful claim, p50/p95/p99, the status counts and the
audit from the database: places taken twice, children with two live referrals, 5xx, and places left free while a
compatible parent went without (all must be 0). Nothing here asserts: tests/bench/test_bench_smoke.py asserts the
audit at small scale.
"""

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    STORM_HEADER,
    Parent,
    Pools,
    Scenario,
    StormResult,
    audit_print,
    checkpoint,
    database_config,
    database_copy,
    database_drop,
    gunicorn_arguments,
    gunicorn_start,
    psycopg_connect,
    require_postgres_url,
    server_cpu,
    storm_arguments,
    storm_http,
    storm_options,
    storm_setup,
    storm_warm_up,
)

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


def storm_floor(url: str, scenario: Scenario, *, threads: int, seed: int, hot: float = 0.0) -> StormResult:
    """The claims as raw SQL transactions, `threads` at a time, each on its own psycopg2 connection."""
    from placement.models.referrals import referral_number_new, referral_valid_until
    from schedules.calendar import protocol_day

    now = dt.datetime.now(dt.UTC)
    valid_until = referral_valid_until(now)
    day = protocol_day(now)
    result = StormResult()
    pools = Pools(scenario, hot=hot, seed=seed)
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


# --- main -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    storm_arguments(parser)
    gunicorn_arguments(parser)
    parser.add_argument("--floor-connections", type=int, default=0, help="default: the clients, at most 90")
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args()

    url = require_postgres_url()
    scenario = storm_setup(url=url, **storm_options(args))
    picks = f"hot spots, Zipf exponent {args.hot:g} over kindergartens" if args.hot else "uniform"
    print(f"picks: {picks}")

    floor_connections = args.floor_connections or min(args.clients, 90)
    print(STORM_HEADER)
    if not args.skip_floor:
        copy_name = database_config(url)["NAME"] + "_floor"
        copy_url = database_copy(url, copy_name)
        checkpoint(url)
        floor = storm_floor(copy_url, scenario, threads=floor_connections, seed=args.seed, hot=args.hot)
        print(floor.line(f"floor: raw SQL, {floor_connections} connections"))
        audit_print(copy_url, scenario, floor)
        database_drop(url, copy_name)

    checkpoint(url)
    server = gunicorn_start(url, args)
    try:
        storm_warm_up(server, scenario)
        database = database_config(url)["NAME"]
        cpu_before = server_cpu(server.process.pid, database)
        result = asyncio.run(
            storm_http("127.0.0.1", server.port, scenario, clients=args.clients, seed=args.seed, hot=args.hot)
        )
        cpu_after = server_cpu(server.process.pid, database)
    finally:
        server.stop()
    print(result.line(f"HTTP: {args.clients} clients"))
    audit_print(url, scenario, result)
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
