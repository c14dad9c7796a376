"""Benchmark: offer mode's allocation of a national day within the 18:00 run (issue 14; DOMAIN.md, Allocation modes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_offers REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/offers_run.py --cities 20 --places 5000 --applications 50000

Drops and recreates the database named by DATABASE_URL and generates, with the scale-data generator
(placement/services/scale_data.py), --cities offer-mode cities of --kindergartens kindergartens each, about
--applications queued applications per city (2% are generated withdrawn) with --choices skewed ranked choices each
(40% accepting "any other"), and --places places per city released on a working day D between 09:00 and 17:00, in
priority access at D 18:00. Then, in a fresh process:
- the floor: per city, what the allocation cannot avoid: reading its free places, its queue (with the exclusions)
  and the choices with raw SQL (psycopg2), and `placement.allocation.allocate` on them;
- the app: `run_daily(at=D 18:00)`: the whole run (moves, allocation, offers, events, notifications, protocols),
  with the time of `offers_allocate` per city and the peak RSS after each city (memory flat: it must not grow with
  the number of cities);
then `verify_allocation` over the day. Nothing asserts here.
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

from bench.common import checkpoint, database_recreate, django_setup, peak_rss_mib, require_postgres_url

FLOOR_PLACES_SQL = (
    "SELECT p.id, p.kindergarten_id, g.birth_year, g.language, g.group_type FROM placement_place p"
    " JOIN placement_group g ON g.id = p.group_id WHERE p.city_id = %(city)s AND p.state = 'priority'"
    " AND p.entered_priority_at <= %(cutoff)s AND p.priority_until > %(cutoff)s ORDER BY p.id"
)
FLOOR_QUEUE_SQL = (
    "SELECT a.id, a.birth_year, a.queue_category, a.language, a.group_type, a.any_other,"
    " a.paused_at IS NULL AND NOT EXISTS (SELECT 1 FROM placement_offer o WHERE o.application_id = a.id"
    " AND o.state = 'live')"
    " AND EXISTS (SELECT 1 FROM accounts_representation r WHERE r.parent_id = a.parent_id AND r.child_id = a.child_id"
    " AND r.status = 'confirmed') AND NOT EXISTS (SELECT 1 FROM accounts_cabinetblock b WHERE b.user_id = a.parent_id"
    " AND b.lifted_at IS NULL AND b.starts_at <= %(cutoff)s AND b.ends_at > %(cutoff)s) AS takes_part"
    " FROM placement_application a WHERE a.city_id = %(city)s AND a.status = 'queued'"
    " AND a.birth_year = ANY(%(years)s) ORDER BY a.birth_year, a.queue_category, a.applied_at, a.id"
)
FLOOR_CHOICES_SQL = (
    "SELECT c.application_id, c.kindergarten_id FROM placement_applicationchoice c"
    " JOIN placement_application a ON a.id = c.application_id WHERE a.city_id = %(city)s AND a.status = 'queued'"
    " ORDER BY c.application_id, c.rank"
)


def floor_city(cursor, *, city_id: int, cutoff: dt.datetime, ratio: int) -> int:
    """The floor of one city: the three reads and `allocate`; returns the offers it would make."""
    from placement.allocation import Applicant, FreePlace, allocate
    from placement.selectors.queue import interleaved_position

    cursor.execute(FLOOR_PLACES_SQL, {"city": city_id, "cutoff": cutoff})
    places = [FreePlace(*row) for row in cursor.fetchall()]
    if not places:
        return 0
    years = sorted({p.birth_year for p in places})
    cursor.execute(FLOOR_QUEUE_SQL, {"city": city_id, "years": years, "cutoff": cutoff})
    queue = cursor.fetchall()
    cursor.execute(FLOOR_CHOICES_SQL, {"city": city_id})
    choices: dict[int, list[int]] = {}
    for application_id, kindergarten_id in cursor.fetchall():
        choices.setdefault(application_id, []).append(kindergarten_id)
    sizes: dict[tuple[int, int], int] = {}
    for _, year, category, *_rest in queue:
        sizes[(year, category)] = sizes.get((year, category), 0) + 1
    ranks: dict[tuple[int, int], int] = {}
    applicants = []
    for pk, year, category, language, group_type, any_other, takes_part in queue:
        ranks[(year, category)] = rank = ranks.get((year, category), 0) + 1
        if takes_part:
            position = interleaved_position(
                category=category,
                rank=rank,
                extraordinary=sizes.get((year, 0), 0),
                priority=sizes.get((year, 1), 0),
                general=sizes.get((year, 2), 0),
                ratio=ratio,
            )
            applicants.append(
                Applicant(str(pk), position, year, language, group_type, tuple(choices.get(pk, ())), any_other)
            )
    return len(allocate(applicants=applicants, places=places))


def child_run(at_iso: str) -> None:
    """In a fresh process: the floor, then the run, reported as JSON on stdout."""
    django_setup(os.environ["DATABASE_URL"])
    from django.db import connection

    import placement.services.daily as daily
    from placement.models import City
    from placement.services.daily import run_daily

    at = dt.datetime.fromisoformat(at_iso)
    cities = list(City.objects.order_by("pk"))
    connection.ensure_connection()
    rss_start = peak_rss_mib()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # as the run does: compiling these reads costs more than it saves
        floor_offers = sum(
            floor_city(cursor.cursor, city_id=c.pk, cutoff=at, ratio=c.queue_general_per_priority) for c in cities
        )
    floor_seconds = time.perf_counter() - started

    per_city = []
    allocate_city = daily.offers_allocate

    def timed(**kwargs):
        begun = time.perf_counter()
        result = allocate_city(**kwargs)
        per_city.append(
            {
                "seconds": time.perf_counter() - begun,
                "offers": len(result.offers) if result else 0,
                "rss": peak_rss_mib(),
            }
        )
        return result

    daily.offers_allocate = timed
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    published = run_daily(at=at)
    run_seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "floor_seconds": floor_seconds,
                "floor_offers": floor_offers,
                "run_seconds": run_seconds,
                "protocols": len(published),
                "per_city": per_city,
                "rss_start": rss_start,
                "rss_before": rss_before,
                "rss_after": peak_rss_mib(),
            }
        )
    )


def generate(*, cities: int, kindergartens: int, applications: int, places: int, choices: int, seed: int, day):
    """The national day's data (see the module's docstring); returns the generation's seconds."""
    from placement.models import City, Group
    from placement.services.scale_data import scale_choices_create, scale_data_generate, scale_places_release
    from schedules.calendar import at_astana

    started = time.perf_counter()
    summary = scale_data_generate(
        cities=cities,
        kindergartens=cities * kindergartens,
        applications=cities * applications,
        places=0,
        seed=seed,
        at=at_astana(day, dt.time(8)),
    )
    City.objects.update(allocation_mode=City.AllocationMode.OFFER)
    written = scale_choices_create(cities=summary.cities, choices=choices, seed=seed)
    groups = list(Group.objects.values_list("pk", flat=True))
    moments = [at_astana(day, dt.time(hour)) for hour in range(9, 18)]
    released = scale_places_release(group_ids=groups, count=cities * places, moments=moments, seed=seed)
    return time.perf_counter() - started, summary.applications, written, released


UNDO_SQL = [
    "SET session_replication_role = replica",  # the append-only triggers off, for this bench database only
    "DELETE FROM accounts_notification",
    "DELETE FROM placement_offer",
    "DELETE FROM placement_placeevent WHERE kind <> 'released'",
    "DELETE FROM placement_protocol",
    "DELETE FROM placement_allocationrun",
    "UPDATE placement_place SET state = 'priority', general_since = NULL",
    "SET session_replication_role = DEFAULT",
]


def undo_run():
    """--reuse: the generated data as they were before the run (offers, their events, SMS and protocols gone)."""
    from django.db import connection

    from placement.models import Application, ApplicationChoice, Place

    with connection.cursor() as cursor:
        for sql in UNDO_SQL:
            cursor.execute(sql)
    return 0.0, Application.objects.count(), ApplicationChoice.objects.count(), Place.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--kindergartens", type=int, default=300, help="per city")
    parser.add_argument("--applications", type=int, default=50_000, help="per city")
    parser.add_argument("--places", type=int, default=5_000, help="released per city on D, in priority at 18:00")
    parser.add_argument("--choices", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the generated data; undo a previous run's offers and protocols"
    )
    parser.add_argument("--child-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run:
        child_run(args.child_run)
        return

    url = require_postgres_url()
    if not args.reuse:
        database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from schedules.calendar import PROTOCOL_MOMENT, at_astana, next_working_day

    call_command("migrate", verbosity=0)
    day = next_working_day(timezone.localdate() - dt.timedelta(days=28))
    if args.reuse:
        seconds, applications, written, released = undo_run()
        from placement.models import PlaceEvent  # the day the data were generated for, not today's

        day = PlaceEvent.objects.order_by("protocol_day").values_list("protocol_day", flat=True).first()
    else:
        seconds, applications, written, released = generate(
            cities=args.cities,
            kindergartens=args.kindergartens,
            applications=args.applications,
            places=args.places,
            choices=args.choices,
            seed=args.seed,
            day=day,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"generated {args.cities} offer-mode cities: {applications:,} applications with {written:,} choices, "
        f"{released:,} places released on {day}, in {seconds:.1f} s; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    connections.close_all()
    checkpoint(url)
    cutoff = at_astana(day, PROTOCOL_MOMENT)
    command = [sys.executable, __file__, "--child-run", cutoff.isoformat()]
    child = subprocess.run(  # noqa: S603 - this script, in a fresh process
        command, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=True
    )
    app = json.loads(child.stdout.strip().splitlines()[-1])
    per_city = app["per_city"]
    allocation = sum(city["seconds"] for city in per_city)
    offers = sum(city["offers"] for city in per_city)
    floor = app["floor_seconds"]
    print(f"{'':46} {'seconds':>8} {'x floor':>8}  notes")
    print(f"{'floor: read the inputs (raw SQL) + allocate':46} {floor:8.2f} {1:8.2f}  {app['floor_offers']:,} offers")
    print(
        f"{'offers_allocate, every city':46} {allocation:8.2f} {allocation / floor:8.2f}  {offers:,} offers "
        f"(slowest city {max(c['seconds'] for c in per_city):.2f} s)"
    )
    print(
        f"{'run_daily(at=D 18:00), the whole run':46} {app['run_seconds']:8.2f} {app['run_seconds'] / floor:8.2f}  "
        f"{app['protocols']} protocols"
    )
    rss = [city["rss"] for city in per_city]
    print(
        f"peak RSS: {app['rss_before']:.0f} MiB before the run, {rss[0]:.0f} MiB after the first city, "
        f"{rss[len(rss) // 2]:.0f} after the {len(rss) // 2 + 1}th, {rss[-1]:.0f} after the last "
        f"(memory flat: {rss[-1] - rss[0]:.0f} MiB more over {len(rss) - 1} more cities)"
    )
    print(f"same offers as the floor: {offers == app['floor_offers']}")
    django_setup(url)
    from io import StringIO

    out = StringIO()
    started = time.perf_counter()
    call_command("verify_allocation", stdout=out)
    print(f"verify_allocation in {time.perf_counter() - started:.1f} s: {out.getvalue().strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
