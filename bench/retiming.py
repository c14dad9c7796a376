"""Benchmark: re-timing a city when the calendar changes (issue 12; DOMAIN.md, Places 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_r REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/retiming.py --places 5000 --referrals 2000 --offers 1000

Drops and recreates the database named by DATABASE_URL and generates one city (`generate_scale_data`'s service)
with --referrals + --offers applications. Over the last hours it releases --places + --referrals + --offers places
(`scale_places_release`), gives --referrals of them live referrals (raw SQL: the places taken, one referral per
application) and --offers of them live offers (raw SQL: the places offered, one offer per application; offer mode,
issue 14). Then the admin declares a holiday on a day every deadline counts, and, on identical copies of the
database:
- the app: `CalendarOverride.objects.create(...)` in one transaction, which re-times through the signal and
  `placement.services.retiming` (the city's lock, the rows ahead read under their locks, the new times computed,
  one UPDATE and one INSERT of events or audit records per 2,000 rows): seconds and queries;
- the floor: one transaction with the same city lock, the same rows moved by a fixed day in raw SQL (psycopg2): the
  place UPDATE and event INSERT ... SELECT, the referral and offer UPDATEs and audit INSERT ... SELECTs;
and the numbers moved are compared. Nothing asserts here (tests/bench/test_bench_smoke.py checks correctness).
"""

import argparse
import datetime as dt
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
    psycopg_connect,
    require_postgres_url,
)

# The live referrals: places taken by applications of the city, one each, in raw SQL (the claims are not measured).
REFERRALS_SQL = """
WITH chosen AS (
    SELECT p.id AS place_id, p.kindergarten_id, row_number() OVER (ORDER BY p.id) AS n
    FROM placement_place p WHERE p.city_id = %(city)s AND p.state = 'priority' ORDER BY p.id LIMIT %(count)s
), applicants AS (
    SELECT a.id AS application_id, a.child_id, a.parent_id, row_number() OVER (ORDER BY a.id) AS n
    FROM placement_application a WHERE a.city_id = %(city)s AND a.status = 'queued' ORDER BY a.id LIMIT %(count)s
)
INSERT INTO placement_referral (number, place_id, application_id, child_id, parent_id, kindergarten_id, issued_at,
                                valid_until, status, close_reason)
SELECT 'R-BNCH-' || lpad(c.n::text, 9, '0'), c.place_id, a.application_id, a.child_id, a.parent_id,
       c.kindergarten_id, %(issued)s, %(valid_until)s, 'live', ''
FROM chosen c JOIN applicants a ON a.n = c.n
"""
# The live offers: the next free places, offered to the next applications, one each (the run is not measured).
OFFERS_SQL = """
WITH chosen AS (
    SELECT p.id AS place_id, p.kindergarten_id, row_number() OVER (ORDER BY p.id) AS n
    FROM placement_place p WHERE p.city_id = %(city)s AND p.state = 'priority' ORDER BY p.id LIMIT %(count)s
), applicants AS (
    SELECT a.id AS application_id, a.parent_id, row_number() OVER (ORDER BY a.id) AS n
    FROM placement_application a WHERE a.city_id = %(city)s AND a.status = 'queued'
    AND NOT EXISTS (SELECT 1 FROM placement_referral r WHERE r.application_id = a.id)
    ORDER BY a.id LIMIT %(count)s
)
INSERT INTO placement_offer (place_id, application_id, parent_id, kindergarten_id, rank, queue_position, made_at,
                             valid_until, state, decided_at, close_reason, referral_id, protocol_day)
SELECT c.place_id, a.application_id, a.parent_id, c.kindergarten_id, NULL, a.n, %(made)s, %(valid_until)s, 'live',
       NULL, '', NULL, %(day)s
FROM chosen c JOIN applicants a ON a.n = c.n
"""
OFFER_SQL = "UPDATE placement_place SET state = 'offered' WHERE id IN (SELECT place_id FROM placement_offer)"
TAKE_SQL = (
    "UPDATE placement_place SET state = 'taken' WHERE id IN (SELECT place_id FROM placement_referral"
    " WHERE status = 'live')"
)

# The floor: the same rows moved by a fixed day, in plain SQL, under the same city lock.
FLOOR_SQL = [
    ("lock", "SELECT id FROM placement_city WHERE id = %(city)s FOR NO KEY UPDATE"),
    (
        "place events",
        "INSERT INTO placement_placeevent (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at,"
        " by_id, reason, birth_year, language, group_type, access)"
        " SELECT p.id, p.city_id, p.kindergarten_id, 'retimed', %(at)s, %(day)s, %(at)s, NULL, 'floor',"
        " g.birth_year, g.language, g.group_type, 'priority'"
        " FROM placement_place p JOIN placement_group g ON g.id = p.group_id"
        " WHERE p.city_id = %(city)s AND p.state IN ('scheduled', 'priority') AND p.priority_until > %(at)s"
        " ORDER BY p.id FOR NO KEY UPDATE OF p",
    ),
    (
        "places",
        "UPDATE placement_place SET priority_until = priority_until + interval '1 day' WHERE city_id = %(city)s"
        " AND state IN ('scheduled', 'priority') AND priority_until > %(at)s",
    ),
    (
        "referrals",
        "UPDATE placement_referral r SET valid_until = valid_until + interval '1 day' FROM placement_place p"
        " WHERE p.id = r.place_id AND p.city_id = %(city)s AND r.status = 'live' AND r.valid_until > %(at)s",
    ),
    (
        "referral audit",
        "INSERT INTO accounts_auditentry (at, actor_id, action, target_type, target_id, ip, details)"
        " SELECT %(at)s, NULL, 'referral.retimed', 'placement.referral', r.id::text, NULL, '{}'::jsonb"
        " FROM placement_referral r JOIN placement_place p ON p.id = r.place_id"
        " WHERE p.city_id = %(city)s AND r.status = 'live'",
    ),
    (
        "offers",
        "UPDATE placement_offer o SET valid_until = valid_until + interval '1 day' FROM placement_place p"
        " WHERE p.id = o.place_id AND p.city_id = %(city)s AND o.state = 'live' AND o.valid_until > %(at)s",
    ),
    (
        "offer audit",
        "INSERT INTO accounts_auditentry (at, actor_id, action, target_type, target_id, ip, details)"
        " SELECT %(at)s, NULL, 'offer.retimed', 'placement.offer', o.id::text, NULL, '{}'::jsonb"
        " FROM placement_offer o JOIN placement_place p ON p.id = o.place_id"
        " WHERE p.city_id = %(city)s AND o.state = 'live'",
    ),
]


def retiming_setup(*, places: int, referrals: int, seed: int, now: dt.datetime, offers: int = 0) -> tuple[int, dt.date]:
    """One city, `places` + `referrals` + `offers` places released over the hours before `now`, `referrals` of them
    taken by live referrals issued at `now` minus an hour and `offers` of them offered by live offers made then (the
    city's 2 working days to answer). Returns the city's id and the day to declare a holiday: the last counted day
    every deadline shares (a working day after the next two)."""
    from django.db import connection, transaction

    from placement.models import City, Group
    from placement.models.referrals import referral_valid_until
    from placement.services.offers import offer_valid_until
    from placement.services.scale_data import scale_data_generate, scale_places_release
    from schedules.calendar import add_working_days, astana, protocol_day

    summary = scale_data_generate(
        cities=1,
        kindergartens=100,
        applications=2 * (referrals + offers),
        places=0,
        seed=seed,
        at=now - dt.timedelta(days=30),
    )
    city = summary.cities[0]
    groups = list(Group.objects.filter(kindergarten__city=city).values_list("pk", flat=True))
    moments = [now - dt.timedelta(minutes=10 * n) for n in range(1, 7)]
    scale_places_release(group_ids=groups, count=places + referrals + offers, moments=moments, seed=seed)
    issued = now - dt.timedelta(hours=1)
    with transaction.atomic(), connection.cursor() as cursor:
        params = {"city": city.pk, "count": referrals, "issued": issued, "valid_until": referral_valid_until(issued)}
        cursor.execute(REFERRALS_SQL, params)
        cursor.execute(TAKE_SQL)
        valid_until = offer_valid_until(made_at=issued, working_days=2)
        params = {**params, "count": offers, "made": issued, "valid_until": valid_until, "day": protocol_day(issued)}
        cursor.execute(OFFERS_SQL, params)
        cursor.execute(OFFER_SQL)
        cursor.execute("ANALYZE")
    City.objects.filter(pk=city.pk).update(priority_working_days=3, offer_working_days=2)
    # Every place entered today (before 18:00, whatever the hour) counts the next working days: the second of them
    # is a counted day of every place and every referral.
    return city.pk, add_working_days(astana(now).date(), 2)


def retiming_floor(cursor, *, city_id: int, at: dt.datetime) -> dict[str, int]:
    """The floor's statements in one transaction on a DB-API cursor; returns the rows each moved."""
    from schedules.calendar import protocol_day

    moved = {}
    params = {"city": city_id, "at": at, "day": protocol_day(at)}
    for name, sql in FLOOR_SQL:
        cursor.execute(sql, params)
        moved[name] = cursor.rowcount
    return moved


def retiming_app(*, day: dt.date) -> tuple[float, int, dict[str, int]]:
    """Declare `day` a holiday through the model, as the admin does: seconds, queries and what was re-timed."""
    from django.db import connection, transaction

    from schedules.models import CalendarOverride

    queries = 0
    retimed: dict[str, int] = {}

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    from placement.services import retiming

    original = retiming.retime

    def observed(**kwargs):
        result = original(**kwargs)
        retimed.update({kind: len(moves) for kind, moves in result.moves.items()})
        return result

    retiming.retime = observed
    try:
        started = time.perf_counter()
        with connection.execute_wrapper(count), transaction.atomic():
            CalendarOverride.objects.create(date=day, kind="holiday", legal_act="bench")
        seconds = time.perf_counter() - started
    finally:
        retiming.retime = original
    return seconds, queries, retimed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--places", type=int, default=5000, help="places in priority access")
    parser.add_argument("--referrals", type=int, default=2000, help="live referrals")
    parser.add_argument("--offers", type=int, default=1000, help="live offers (offer mode)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    url = require_postgres_url()
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    now = timezone.now()
    started = time.perf_counter()
    city_id, day = retiming_setup(
        places=args.places, referrals=args.referrals, offers=args.offers, seed=args.seed, now=now
    )
    print(
        f"generated one city, {args.places:,} places in priority, {args.referrals:,} live referrals and "
        f"{args.offers:,} live offers in "
        f"{time.perf_counter() - started:.1f} s; the change: {day} declared a holiday"
    )
    connections.close_all()

    name = database_config(url)["NAME"]
    floor_url = database_copy(url, name + "_floor")
    checkpoint(url)
    conn = psycopg_connect(floor_url)
    with conn.cursor() as cursor:
        started = time.perf_counter()
        floor = retiming_floor(cursor, city_id=city_id, at=timezone.now())
        conn.commit()
        floor_seconds = time.perf_counter() - started
    conn.close()

    checkpoint(url)
    seconds, queries, retimed = retiming_app(day=day)
    print(f"{'':44} {'seconds':>8} {'x floor':>8}  notes")
    print(
        f"{'floor: raw SQL, same rows, one transaction':44} {floor_seconds:8.2f} {1:8.2f}  "
        f"{floor['places']:,} places, {floor['referrals']:,} referrals, {floor['offers']:,} offers"
    )
    print(
        f"{'override saved (signal -> retime)':44} {seconds:8.2f} {seconds / floor_seconds:8.2f}  "
        f"{retimed.get('places', 0):,} places, {retimed.get('referrals', 0):,} referrals, "
        f"{retimed.get('offers', 0):,} offers, {queries} queries"
    )
    same = all(retimed.get(kind) == floor[kind] for kind in ("places", "referrals", "offers"))
    print(f"same rows as the floor: {same}")
    connections.close_all()
    database_drop(url, name + "_floor")


if __name__ == "__main__":
    main()
