"""Benchmark: the 18:00 run at national scale (issue 6; DOMAIN.md, The 18:00 run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/daily_run.py --cities 20 --places 100000

Drops and recreates the database named by DATABASE_URL and generates 20 cities with their kindergartens and groups
(`generate_scale_data`'s service). On a working day D0 it releases --places places over the cities (09:00-17:00), so
that all of them are due to move to general access at 18:00 of D, three working days later; optionally
--day-releases more places are released on D itself (more events in D's protocol). The days before D are published
first (setup, timed but not compared). Then, on identical copies of the database (CREATE DATABASE ... TEMPLATE):
- the app: `run_daily(at=D 18:30)` in a fresh process: seconds, queries, peak RSS before and after;
- the floor: per city, one transaction with the same city lock, INSERT ... SELECT of the events and UPDATE of the
  places in raw SQL (psycopg2), and the same plus the read of the day's events (what the protocol publishes);
and the two results are compared (places' states and general_since, the day's events). Nothing asserts here.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    checkpoint,
    database_config,
    database_copy,
    database_drop,
    database_recreate,
    django_setup,
    peak_rss_mib,
    psycopg_connect,
    require_postgres_url,
)

# The floor: the moves of run_city_day (placement/services/daily.py) as plain SQL, for one city and day.
FLOOR_SQL = [
    ("lock", "SELECT id FROM placement_city WHERE id = %(city)s FOR NO KEY UPDATE"),
    (
        "to_priority events",
        "INSERT INTO placement_placeevent (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at,"
        " by_id, reason, birth_year, language, group_type, access)"
        " SELECT p.id, p.city_id, p.kindergarten_id, 'to_priority', p.entered_priority_at, %(day)s, %(recorded)s,"
        " NULL, '', g.birth_year, g.language, g.group_type, 'priority'"
        " FROM placement_place p JOIN placement_group g ON g.id = p.group_id"
        " WHERE p.city_id = %(city)s AND p.state = 'scheduled' AND p.entered_priority_at <= %(cutoff)s"
        " ORDER BY p.id FOR NO KEY UPDATE OF p",
    ),
    (
        "to_priority places",
        "UPDATE placement_place SET state = 'priority' WHERE city_id = %(city)s AND state = 'scheduled'"
        " AND entered_priority_at <= %(cutoff)s",
    ),
    (
        "to_general events",
        "INSERT INTO placement_placeevent (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at,"
        " by_id, reason, birth_year, language, group_type, access)"
        " SELECT p.id, p.city_id, p.kindergarten_id, 'to_general', p.priority_until, %(day)s, %(recorded)s,"
        " NULL, '', g.birth_year, g.language, g.group_type, 'general'"
        " FROM placement_place p JOIN placement_group g ON g.id = p.group_id"
        " WHERE p.city_id = %(city)s AND p.state = 'priority' AND p.priority_until <= %(cutoff)s"
        " ORDER BY p.id FOR NO KEY UPDATE OF p",
    ),
    (
        "to_general places",
        "UPDATE placement_place SET state = 'general', general_since = priority_until WHERE city_id = %(city)s"
        " AND state = 'priority' AND priority_until <= %(cutoff)s",
    ),
]
READ_DAY_SQL = (
    "SELECT at, recorded_at, kind, place_id, kindergarten_id, birth_year, language, group_type, access, reason"
    " FROM placement_placeevent WHERE city_id = %(city)s AND protocol_day = %(day)s ORDER BY at, id"
)


def daily_floor(
    cursor,
    *,
    city_ids: list[int],
    day: dt.date,
    cutoff: dt.datetime,
    recorded_at: dt.datetime,
    read_day: bool = False,
    commit=None,
) -> int:
    """Run the floor's statements city by city on a DB-API cursor; returns the places moved. `commit` (if given)
    ends each city's transaction, as run_city_day does."""
    moved = 0
    for city_id in city_ids:
        params = {"city": city_id, "day": day, "cutoff": cutoff, "recorded": recorded_at}
        for name, sql in FLOOR_SQL:
            cursor.execute(sql, params)
            if name.endswith("places"):
                moved += cursor.rowcount
        if read_day:
            cursor.execute(READ_DAY_SQL, params)
            cursor.fetchall()
        if commit:
            commit()
    return moved


SNAPSHOT_SQL = {
    "places": "SELECT id, state, general_since FROM placement_place ORDER BY id",
    "events": "SELECT place_id, city_id, kindergarten_id, kind, at, protocol_day, by_id, reason, birth_year,"
    " language, group_type, access FROM placement_placeevent WHERE protocol_day = %(day)s"
    " ORDER BY place_id, kind, at",
}


def daily_snapshot(cursor, *, day: dt.date) -> dict[str, list[tuple]]:
    """What the run changes, comparable between two databases: every place's state and the day's events."""
    out = {}
    for name, sql in SNAPSHOT_SQL.items():
        cursor.execute(sql, {"day": day})
        out[name] = [tuple(row) for row in cursor.fetchall()]
    return out


def national_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """D0, a working day some weeks back, and D, the day its releases move to general (3 working days on)."""
    from schedules.calendar import add_working_days, next_working_day

    release_day = next_working_day(today - dt.timedelta(days=28))
    return release_day, add_working_days(release_day, 3)


def child_run_daily(at_iso: str, profile: bool = False) -> None:
    """In a fresh process: time run_daily and report seconds, queries and peak RSS as JSON on stdout."""
    django_setup(os.environ["DATABASE_URL"])
    from django.db import connection

    from placement.services.daily import run_daily

    queries = 0
    seconds_by_statement: dict[str, list] = {}

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        if not profile:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # Statements grouped by their first words: which SQL the run's time goes to (the profile's "execute").
            spent = seconds_by_statement.setdefault(" ".join(sql.split()[:6])[:90], [0, 0.0])
            spent[0] += 1
            spent[1] += time.perf_counter() - started

    at = dt.datetime.fromisoformat(at_iso)
    connection.ensure_connection()
    before = peak_rss_mib()
    started = time.perf_counter()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with connection.execute_wrapper(count):
        published = run_daily(at=at)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
        print(f"{'seconds':>8} {'count':>6}  statement (first words)", file=sys.stderr)
        for statement, (n, spent) in sorted(seconds_by_statement.items(), key=lambda item: -item[1][1])[:12]:
            print(f"{spent:8.3f} {n:6}  {statement}", file=sys.stderr)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "queries": queries,
                "rss_before": before,
                "rss_after": peak_rss_mib(),
                "protocols": len(published),
                "entries": sum(p.entry_count for p in published),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--kindergartens", type=int, default=2000, help="in all (default 2,000)")
    parser.add_argument("--places", type=int, default=100_000, help="due to move to general at D 18:00")
    parser.add_argument("--day-releases", type=int, default=0, help="more places released on D itself")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print the run's cProfile (tottime) to stderr")
    parser.add_argument("--child-run-daily", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run_daily:
        child_run_daily(args.child_run_daily, profile=args.profile)
        return

    url = require_postgres_url()
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from placement.models import City, Group
    from placement.services.daily import run_daily
    from placement.services.scale_data import scale_data_generate, scale_places_release
    from schedules.calendar import PROTOCOL_MOMENT, at_astana

    call_command("migrate", verbosity=0)
    release_day, day = national_days(timezone.localdate())
    started = time.perf_counter()
    summary = scale_data_generate(
        cities=args.cities,
        kindergartens=args.kindergartens,
        applications=0,
        places=0,
        seed=args.seed,
        at=at_astana(release_day, dt.time(8)),
    )
    groups = list(Group.objects.values_list("pk", flat=True))
    moments = [at_astana(release_day, dt.time(hour)) for hour in range(9, 18)]
    scale_places_release(group_ids=groups, count=args.places, moments=moments, seed=args.seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    setup = run_daily(at=at_astana(day, PROTOCOL_MOMENT) - dt.timedelta(days=1, minutes=-30))
    caught_up = time.perf_counter() - started
    if args.day_releases:
        day_moments = [at_astana(day, dt.time(hour)) for hour in range(9, 18)]
        scale_places_release(group_ids=groups, count=args.day_releases, moments=day_moments, seed=args.seed, salt=1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    city_ids = list(City.objects.order_by("pk").values_list("pk", flat=True))
    print(
        f"generated {summary.kindergartens:,} kindergartens, {summary.groups:,} groups, {args.places:,} places "
        f"released on {release_day} in {args.cities} cities in {generated:.1f} s; days before {day} published "
        f"({len(setup)} protocols, {sum(p.entry_count for p in setup):,} entries) in {caught_up:.1f} s"
    )
    connections.close_all()

    name = database_config(url)["NAME"]
    floor_url = database_copy(url, name + "_floor")
    read_url = database_copy(url, name + "_floor_read")
    cutoff = at_astana(day, PROTOCOL_MOMENT)
    recorded_at = dt.datetime.now(dt.UTC)
    floors = {}
    for label, copy_url, read_day in (
        ("floor: raw SQL moves", floor_url, False),
        ("floor: moves + reading the day's events", read_url, True),
    ):
        checkpoint(url)
        conn = psycopg_connect(copy_url)
        with conn.cursor() as cursor:
            started = time.perf_counter()
            moved = daily_floor(
                cursor,
                city_ids=city_ids,
                day=day,
                cutoff=cutoff,
                recorded_at=recorded_at,
                read_day=read_day,
                commit=conn.commit,
            )
            floors[label] = (time.perf_counter() - started, moved)
        conn.close()

    checkpoint(url)
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, __file__, "--child-run-daily", (cutoff + dt.timedelta(minutes=30)).isoformat()]
    child = subprocess.run(  # noqa: S603 - this script, in a fresh process
        command + (["--profile"] if args.profile else []), env=env, capture_output=True, text=True, check=True
    )
    if args.profile:
        print("\n".join(line for line in child.stderr.splitlines() if "INFO placement" not in line))
    app = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"{'':44} {'seconds':>8} {'x floor':>8}  notes")
    base = floors["floor: raw SQL moves"][0]
    for label, (seconds, moved) in floors.items():
        print(f"{label:44} {seconds:8.2f} {seconds / base:8.2f}  {moved:,} places moved")
    print(
        f"{'run_daily(at=D 18:30)':44} {app['seconds']:8.2f} {app['seconds'] / base:8.2f}  "
        f"{app['protocols']} protocols, {app['entries']:,} entries, {app['queries']} queries, peak RSS "
        f"{app['rss_before']:.0f} -> {app['rss_after']:.0f} MiB"
    )

    results = []
    for each_url in (url, floor_url):
        conn = psycopg_connect(each_url)
        with conn.cursor() as cursor:
            results.append(daily_snapshot(cursor, day=day))
        conn.close()
    app_events = [row for row in results[0]["events"] if row[3] in ("to_priority", "to_general")]
    floor_events = [row for row in results[1]["events"] if row[3] in ("to_priority", "to_general")]
    print(
        f"same result as the floor: places {results[0]['places'] == results[1]['places']}, "
        f"moves recorded {app_events == floor_events} ({len(app_events):,} events)"
    )
    database_drop(url, name + "_floor")
    database_drop(url, name + "_floor_read")


if __name__ == "__main__":
    main()
