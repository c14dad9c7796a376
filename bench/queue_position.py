"""Benchmark: queue positions for 300,000 applications in one city (issue 4; DOMAIN.md, Queue).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench .venv/bin/python bench/queue_position.py

Creates (or empties) the named PostgreSQL database, migrates it, generates the applications in SQL
(categories: 2% extraordinary, 8% priority, 3% pending privileges, the rest general; times over four years;
cohorts 2019-2024 or one cohort with --one-cohort), then times, for the same random sample of applications:
- the floor: a primary-key lookup of the application (`Application.objects.get(pk=...)`);
- `queue_position(application)` (three index range counts);
- `queue_head(city, cohort, n=100)`;
- the cabinet's list for --parents parents holding --per-parent of those applications each (their children,
  with confirmed representations, spread over the cohorts): the selector `applications_with_positions` (the
  parent's applications with every position, one query), `GET /api/v1/me/applications/` (token) and the cabinet
  page `GET /ru/cabinet/` (session), both in-process through Django's test client (the whole stack but the HTTP
  server), beside their own floor: the same list's rows without positions (`parent_applications`).
It prints p50/p95/p99 in milliseconds, the ratio to the floor, and the queries of one request of each (the same
whatever the number of applications: tests/placement/test_cabinet_queries.py). Nothing here asserts.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def ensure_database(url: str) -> None:
    import environ
    import psycopg2
    from psycopg2 import sql

    config = environ.Env.db_url_config(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        password=config["PASSWORD"] or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    admin.close()


GENERATE = """
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                           date_joined, role, middle_name, phone_2)
VALUES ('!', false, 'bench-parent', '', '', '', false, true, now(), 'parent', '', '') RETURNING id;
"""

CHILDREN = """
INSERT INTO accounts_child (iin, last_name, first_name, middle_name, birth_date, created_at)
SELECT lpad(n::text, 12, '0'), 'Child', 'Bench', '', make_date(%(first_year)s + (n %% %(cohorts)s), 1 + (n %% 12), 1),
       now()
FROM generate_series(1, %(count)s) AS n;
"""

APPLICATIONS = """
INSERT INTO placement_application (number, child_id, parent_id, city_id, birth_year, language, group_type, privilege,
    privilege_document, privilege_status, privilege_reason, queue_category, applied_at, status, status_changed_at)
SELECT 'B' || lpad(c.id::text, 11, '0'), c.id, %(parent)s, %(city)s, extract(year FROM c.birth_date)::int,
       CASE WHEN r.x < 0.5 THEN 'kk' WHEN r.x < 0.9 THEN 'ru' ELSE 'any' END, 'general',
       CASE WHEN r.y < 0.02 THEN 'extraordinary' WHEN r.y < 0.13 THEN 'priority' ELSE 'none' END,
       CASE WHEN r.y < 0.13 THEN 'doc' ELSE '' END,
       CASE WHEN r.y < 0.10 THEN 'confirmed' WHEN r.y < 0.13 THEN 'pending' ELSE 'none' END, '',
       CASE WHEN r.y < 0.02 THEN 0 WHEN r.y < 0.10 THEN 1 ELSE 2 END,
       timestamptz '2021-01-01 09:00+05' + (r.z * interval '1460 days'),
       CASE WHEN r.w < 0.97 THEN 'queued' ELSE 'withdrawn' END, now()
FROM accounts_child c
CROSS JOIN LATERAL (SELECT random() AS x, random() AS y, random() AS z, random() AS w, c.id AS k) r;
"""


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def timed(function, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        function(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def cabinet_parents(*, count: int, per_parent: int, seed: int = 7) -> list:
    """`count` parents, each made the filer and confirmed representative of `per_parent` random applications'
    children (queued and withdrawn alike, any cohort), as a family with several children would be."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import Representation, User
    from placement.models import Application

    unusable = make_password(None)
    parents = User.objects.bulk_create(
        User(username=f"bench-cabinet-{n}", password=unusable, role="parent", phone=f"+7700{n:07d}")
        for n in range(count)
    )
    ids = list(Application.objects.values_list("pk", "child_id"))
    picked = random.Random(seed).sample(ids, count * per_parent)
    representations = []
    with connection.cursor() as cursor:
        for n, parent in enumerate(parents):
            mine = picked[n * per_parent : (n + 1) * per_parent]
            cursor.execute(
                "UPDATE placement_application SET parent_id = %s WHERE id = ANY(%s)", [parent.pk, [a for a, _ in mine]]
            )
            representations += [
                Representation(parent=parent, child_id=child, kind="parent", document="bench", status="confirmed")
                for _, child in mine
            ]
    Representation.objects.bulk_create(representations)
    return parents


def cabinet_timings(parents) -> dict[str, tuple[list[float], int]]:
    """Each read of each parent's list, timed (ms), with the queries of the last one."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from placement.selectors.parents import parent_applications
    from placement.selectors.queue import applications_with_positions

    reads = {
        "floor: the list's rows": lambda parent, _api, _page: list(parent_applications(parent=parent)),
        "applications_with_positions": lambda parent, _api, _page: applications_with_positions(
            parent_applications(parent=parent)
        ),
        "GET /api/v1/me/applications/": lambda _parent, api, _page: api.get("/api/v1/me/applications/"),
        "GET /ru/cabinet/ (page)": lambda _parent, _api, page: page.get("/ru/cabinet/"),
    }
    clients = []
    for parent in parents:
        page = Client()
        page.force_login(parent)  # first: a parent's login ends their other sessions and deletes their token
        api = APIClient(HTTP_ACCEPT_LANGUAGE="ru")
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=parent)[0].key}")
        clients.append((parent, api, page))
    out = {}
    for name, read in reads.items():
        for each in clients[:5]:  # warm up
            read(*each)
        samples = timed(lambda each, read=read: read(*each), clients)
        with CaptureQueriesContext(connection) as captured:
            response = read(*clients[0])
        if hasattr(response, "status_code") and response.status_code != 200:
            sys.exit(f"{name}: HTTP {response.status_code}")
        out[name] = (samples, len(captured))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=300_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--one-cohort", action="store_true", help="all applications in one cohort (worst case)")
    parser.add_argument("--parents", type=int, default=200, help="parents whose cabinet list is timed")
    parser.add_argument("--per-parent", type=int, default=8, help="applications (children) of each of them")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for the benchmark (it is emptied).")
    ensure_database(url)

    from bench.common import django_setup

    django_setup(url)  # bench.settings with DEBUG=0: DEBUG would keep every query in memory
    from django.core.management import call_command
    from django.db import connection

    from placement.models import Application, City
    from placement.selectors.queue import queue_head, queue_position

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE placement_application, accounts_child, accounts_user, accounts_representation CASCADE"
        )
    city, _ = City.objects.get_or_create(slug="bench", defaults={"name": "Bench", "name_ru": "Bench"})
    cohorts = 1 if args.one_cohort else 6
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(GENERATE)
        parent_id = cursor.fetchone()[0]
        cursor.execute(CHILDREN, {"first_year": 2019, "cohorts": cohorts, "count": args.applications})
        cursor.execute(APPLICATIONS, {"parent": parent_id, "city": city.pk})
    parents = cabinet_parents(count=args.parents, per_parent=args.per_parent)
    with connection.cursor() as cursor:
        # As autovacuum would: the visibility map lets the counts be index-only scans.
        cursor.execute("VACUUM ANALYZE placement_application")
    print(
        f"generated {args.applications:,} applications in {time.perf_counter() - started:.1f} s ({cohorts} cohort(s))"
    )

    ids = list(Application.objects.filter(status="queued").values_list("pk", flat=True))
    sample_ids = random.Random(7).sample(ids, min(args.sample, len(ids)))
    applications = list(Application.objects.filter(pk__in=sample_ids).select_related("city"))
    timed(lambda a: queue_position(a), applications[:20])  # warm the caches

    floor = timed(lambda a: Application.objects.get(pk=a.pk), applications)
    position = timed(queue_position, applications)
    head = timed(lambda a: queue_head(city=a.city, birth_year=a.birth_year, n=100), applications[:100])
    largest = Application.objects.filter(status="queued", birth_year=applications[0].birth_year).count()

    print(f"queued in the cohort of the first sample: {largest:,}")
    print(f"{'':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'x floor p50':>12}")
    base = percentiles(floor)[0]
    for name, samples in (
        ("floor: primary-key lookup", floor),
        ("queue_position", position),
        ("queue_head(n=100)", head),
    ):
        p50, p95, p99 = percentiles(samples)
        print(f"{name:28} {p50:8.2f} {p95:8.2f} {p99:8.2f} {p50 / base:12.1f}")

    cabinet = cabinet_timings(parents)
    print(f"\nthe cabinet's list: {len(parents)} parents with {args.per_parent} applications each")
    print(f"{'':32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'x floor p50':>12} {'queries':>8}")
    base = percentiles(cabinet["floor: the list's rows"][0])[0]
    for name, (samples, queries) in cabinet.items():
        p50, p95, p99 = percentiles(samples)
        print(f"{name:32} {p50:8.2f} {p95:8.2f} {p99:8.2f} {p50 / base:12.1f} {queries:8}")
    connection.close()


if __name__ == "__main__":
    main()
