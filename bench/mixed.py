"""Benchmark: mixed traffic (issue 15). Registry readers, API and page, alone and then while a claim storm runs
against the same server: does reading stay fast while places are taken?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/mixed.py --parents 5000 --places 1000 --clients 200 --readers 10 [--hot 1.1]

Drops and recreates the database named by DATABASE_URL and generates one city with its queue, --open-places
places released over the last six working days (what the registry lists) and the claim storm's scenario
(`common.storm_setup`: --places general places of one cohort, --parents parents with API tokens). Then, against
one gunicorn on 127.0.0.1 (`bench.settings`, 5 sync workers by default):
1. the floor: the trivial JSON view (`/bench/trivial/`), --readers clients per reader kind, --requests each;
2. readers alone: --readers clients on the registry API and as many on the registry page, --requests each;
3. readers during the storm: the same readers, and the storm of `claim_storm.py` (--clients parents at once,
   uniform or `--hot S` picks) until every parent is served or no place is left; the readers stop with the storm
   (or after --requests x 20 each, or --max-seconds).
With --reader-workers N the readers (and their floor) are served by a second gunicorn of N workers and the storm by
the first: the pools a proxy gives when it routes the claim requests apart (docs/OPERATIONS.md, Scaling out). On
one server, a reader's request waits in the same accept queue as the storm's hundreds of claims, whatever the cache
answers.
It prints req/s and p50/p95/p99 of each reader kind alone and during the storm beside the floor, the storm's
claims/s and attempts/s, and the storm's audit (no place twice, no child with two referrals, no 5xx). A place taken
renews the registry cache's tokens of its cohort and kindergarten only, so readers of the rest of the city stay warm.
Nothing here asserts: tests/bench/test_bench_smoke.py runs it small and asserts the audit.
"""

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LOAD_HEADER,
    STORM_HEADER,
    LoadResult,
    Scenario,
    StormResult,
    audit_print,
    gunicorn_arguments,
    gunicorn_start,
    load_fixed,
    require_postgres_url,
    storm_arguments,
    storm_http,
    storm_options,
    storm_setup,
    storm_warm_up,
)

READER_HEADERS = {"Accept-Language": "ru"}


def reader_paths(scenario: Scenario) -> dict[str, list[str]]:
    """What registry readers ask, by kind: the city's list and its storm cohort, as parents filter it."""
    city, cohort = scenario.city_slug, scenario.birth_year
    return {
        "registry API": [f"/api/v1/registry/?city={city}", f"/api/v1/registry/?city={city}&birth_year={cohort}"],
        "registry page": [f"/ru/registry/?city={city}", f"/ru/registry/?city={city}&birth_year={cohort}"],
    }


@dataclass
class MixedResult:
    alone: dict[str, LoadResult]
    during: dict[str, LoadResult]
    storm: StormResult


async def mixed_http(
    host: str,
    port: int,
    scenario: Scenario,
    *,
    readers: dict[str, list[str]],
    reader_clients: int,
    requests: int,
    storm_clients: int,
    seed: int,
    hot: float = 0.0,
    max_seconds: float = 600.0,
    reader_port: int | None = None,
) -> MixedResult:
    """Readers alone (`requests` per kind), then the same readers beside the storm until it ends (at most
    `requests` x 20 per kind, and at most `max_seconds` for the whole phase: the run is bounded either way).
    The readers ask `reader_port` (a pool of their own) when given, else the storm's `port`."""
    reader_port = reader_port or port

    async def read(stop: asyncio.Event | None, count: int) -> dict[str, LoadResult]:
        loads = [
            load_fixed(
                host, reader_port, paths, clients=reader_clients, requests=count, headers=READER_HEADERS, stop=stop
            )
            for paths in readers.values()
        ]
        return dict(zip(readers, await asyncio.gather(*loads), strict=True))

    alone = await read(None, requests)
    stop = asyncio.Event()

    async def storm() -> StormResult:
        try:
            return await storm_http(host, port, scenario, clients=storm_clients, seed=seed, hot=hot)
        finally:
            stop.set()

    async def bounded() -> tuple[StormResult, dict[str, LoadResult]]:
        return await asyncio.gather(storm(), read(stop, requests * 20))

    result, during = await asyncio.wait_for(bounded(), max_seconds)
    return MixedResult(alone=alone, during=during, storm=result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    storm_arguments(parser)
    gunicorn_arguments(parser)
    parser.add_argument("--open-places", type=int, default=2000, help="other open places the registry lists")
    parser.add_argument("--readers", type=int, default=10, help="clients per reader kind (API, page)")
    parser.add_argument("--requests", type=int, default=1000, help="per reader kind, alone and for the floor")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound of the storm phase")
    parser.add_argument(
        "--reader-workers", type=int, default=0, help="serve the readers from a second gunicorn of this many workers"
    )
    args = parser.parse_args()

    url = require_postgres_url()
    scenario = storm_setup(url=url, open_places=args.open_places, **storm_options(args))
    readers = reader_paths(scenario)
    server = gunicorn_start(url, args)
    reader_server = server
    try:
        if args.reader_workers:
            reader_server = gunicorn_start(url, argparse.Namespace(**{**vars(args), "workers": args.reader_workers}))
        storm_warm_up(server, scenario)
        reader_server.warm_up([path for paths in readers.values() for path in paths], headers=READER_HEADERS)
        floor = asyncio.run(
            load_fixed(
                "127.0.0.1",
                reader_server.port,
                ["/bench/trivial/"],
                clients=args.readers * len(readers),
                requests=args.requests,
            )
        )
        result = asyncio.run(
            mixed_http(
                "127.0.0.1",
                server.port,
                scenario,
                readers=readers,
                reader_clients=args.readers,
                requests=args.requests,
                storm_clients=args.clients,
                seed=args.seed,
                hot=args.hot,
                max_seconds=args.max_seconds,
                reader_port=reader_server.port,
            )
        )
    finally:
        server.stop()
        if reader_server is not server:
            reader_server.stop()
    picks = f"hot spots, Zipf exponent {args.hot:g}" if args.hot else "uniform picks"
    pools = (
        f"storm: {server.describe()}; readers: {reader_server.describe()}" if args.reader_workers else server.describe()
    )
    print(f"{pools}; readers: {args.readers} clients per kind; storm: {args.clients} clients, {picks}")
    print(LOAD_HEADER)
    print(floor.line(f"floor: trivial view, {args.readers * len(readers)} clients"))
    for name in readers:
        print(result.alone[name].line(f"{name}, alone"))
    for name in readers:
        print(result.during[name].line(f"{name}, during the storm"))
    print(STORM_HEADER)
    print(result.storm.line(f"storm beside the readers, {args.clients} clients"))
    audit_print(url, scenario, result.storm)
    reader_errors = sum(n for r in result.during.values() for status, n in r.statuses.items() if status != 200)
    print(f"  reader answers other than 200 during the storm: {reader_errors}")


if __name__ == "__main__":
    main()
