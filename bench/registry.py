"""Benchmark: the free-places registry (issue 6), API and page, for a city with 2,000 open places.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/registry.py --places 2000 --clients 20 --requests 2000

Drops and recreates the database named by DATABASE_URL, generates one city (`generate_scale_data`'s service) with
--places places released over the last six working days (all open now, some in priority access, most in general),
starts gunicorn on 127.0.0.1 (5 sync workers, docs/DEPLOYMENT.md's sizing for 2 cores) with `bench.settings`,
whose URLconf adds `/bench/trivial/` (a JSON view doing nothing: the floor, the stack's own cost), and drives each
URL with --requests GETs from --clients concurrent asyncio clients in this process.

The registry is cached (`placement.registry_cache`): under load every URL is asked again and again with no place
event in between, so the load figures are WARM (all but the first request answered from the cache). It also
prints the COLD figures: --cold single requests per URL, each right after the city's cache token is renewed (what
the first reader after a place event pays), and each URL's query count cold and warm (Django's test client).
Nothing here asserts.
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LOAD_HEADER,
    database_recreate,
    django_setup,
    gunicorn_arguments,
    gunicorn_start,
    load_fixed,
    percentiles,
    require_postgres_url,
)


def registry_paths(city_slug: str, birth_year: int) -> dict[str, str]:
    return {
        "floor: trivial JSON view": "/bench/trivial/",
        "API, city": f"/api/v1/registry/?city={city_slug}",
        "API, city + cohort + language": f"/api/v1/registry/?city={city_slug}&birth_year={birth_year}&language=kk",
        "API, city, page 20": f"/api/v1/registry/?city={city_slug}&page=20",
        "API summary, city": f"/api/v1/registry/summary/?city={city_slug}",
        "page /ru/registry/, city": f"/ru/registry/?city={city_slug}",
        "page, city + cohort + language": f"/ru/registry/?city={city_slug}&birth_year={birth_year}&language=kk",
    }


def cache_void(city_id: int) -> None:
    """What a place event of the city does to its cached answers (the token renewed on commit)."""
    from placement.registry_cache import registry_changed

    registry_changed(city_ids=[city_id], city_list=True)  # outside a transaction: at once


def query_counts(paths: dict[str, str], city_id: int) -> dict[str, tuple[int, int, int]]:
    """(cold queries, warm queries, status) of one request per URL, through Django's test client in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    counts = {}
    for name, path in paths.items():
        client.get(path)  # imports, templates
        cache_void(city_id)
        with CaptureQueriesContext(connection) as cold:
            client.get(path)
        with CaptureQueriesContext(connection) as warm:
            response = client.get(path)
        counts[name] = (len(cold.captured_queries), len(warm.captured_queries), response.status_code)
    return counts


def cold_latencies(port: int, paths: dict[str, str], city_id: int, samples: int) -> dict[str, list[float]]:
    """Seconds of single requests over HTTP, each the first after the city's cache was voided."""
    import urllib.request

    latencies = {}
    for name, path in paths.items():
        latencies[name] = []
        for _ in range(samples):
            cache_void(city_id)
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept-Language": "ru"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
                response.read()
            latencies[name].append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--kindergartens", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="per URL")
    gunicorn_arguments(parser)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold", type=int, default=10, help="cold single requests per URL")
    args = parser.parse_args()

    url = require_postgres_url()
    database_recreate(url)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from placement.models import Place
    from placement.services.scale_data import scale_data_generate

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    summary = scale_data_generate(
        cities=1, kindergartens=args.kindergartens, applications=0, places=args.places, seed=args.seed, release_days=6
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    city = summary.cities[0]
    cache_void(city.pk)  # the data were written in raw SQL, behind the services that renew the cache's tokens
    now = timezone.now()
    open_places = Place.objects.open_at(now).filter(city=city).count()
    general = Place.objects.in_general_at(now).filter(city=city).count()
    print(
        f"generated in {time.perf_counter() - started:.1f} s: {open_places:,} open places in {city.slug} "
        f"({general:,} in general access), {summary.kindergartens} kindergartens"
    )
    paths = registry_paths(city.slug, 2021)
    counts = query_counts(paths, city.pk)
    connections.close_all()

    server = gunicorn_start(url, args)
    results = {}
    try:
        server.warm_up(list(paths.values()), count=20 * args.workers * args.threads)
        for name, path in paths.items():
            results[name] = asyncio.run(
                load_fixed(
                    "127.0.0.1",
                    server.port,
                    [path],
                    clients=args.clients,
                    requests=args.requests,
                    headers={"Accept-Language": "ru"},
                )
            )
        cold = cold_latencies(server.port, paths, city.pk, args.cold)
    finally:
        server.stop()
    print(f"{server.describe()}; {args.clients} concurrent clients, {args.requests} requests per URL")
    print("WARM: the same URL again and again, no place event meanwhile: all but the first answered from the cache")
    print(LOAD_HEADER + "   x floor   queries warm")
    base = results["floor: trivial JSON view"].requests_per_second
    for name, result in results.items():
        _, warm, status = counts[name]
        print(f"{result.line(name)}   {result.requests_per_second / base:7.2f}   {warm} (test client: {status})")
    print(f"COLD: {args.cold} single requests per URL, each the first after the city's cache was voided")
    print(f"{'':44} {'p50 ms':>8} {'max ms':>8}   queries cold")
    for name, samples in cold.items():
        p50, _, _ = percentiles(samples)
        print(f"{name:44} {p50 * 1000:8.1f} {max(samples) * 1000:8.1f}   {counts[name][0]}")


if __name__ == "__main__":
    main()
