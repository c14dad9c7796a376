"""Benchmark: CPU of the web process per claim attempt (issue 15: at most 3 ms for a 201, 1.5 ms for a 409).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indigo_bench_j REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/claim_cpu.py --claims 300 [--top 25] [--profile-claims 200]

Drops and recreates the database named by DATABASE_URL and sets up the claim storm's scenario (one city, general
places of one cohort, parents with API tokens: `common.storm_setup`). Then, in this one process, it sends claims
through Django's WSGI application itself (`WSGIHandler`, what gunicorn calls: every middleware, URL resolving,
DRF, token authentication, the claim attempt counter in Redis, the locked transaction), one at a time:
- 201: each parent claims a free place of its own;
- 409: other parents claim the places just taken (the storm's refusal: the place is gone).
It prints the CPU seconds of this process (`time.process_time()`: Python, the database driver and the Redis
client, never PostgreSQL's or Redis's own CPU) per 201 and per 409, with the wall-clock time beside it and the
floor of the same run beside them: `GET /bench/trivial/` through the same handler (every middleware, a JSON
answer, no query), so that an attempt reads as "so many trivial requests" on any machine; then it runs
fresh batches under cProfile and prints the top of each profile by cumulative time. Warm-up claims of both kinds
come first, so imports, URL patterns and first-use caches are not counted. Nothing here asserts.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import site
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Parent,
    Scenario,
    claim_body,
    claim_headers,
    claim_path,
    require_postgres_url,
    scale_arguments,
    storm_setup,
)


def wsgi_environ(*, path: str, headers: dict[str, str], body: bytes) -> dict:
    """The environ gunicorn would build for `POST path` from 127.0.0.1."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def claim_wsgi(application, *, parent: Parent, place_id: int) -> int:
    """One claim through the WSGI application; its status code."""
    environ = wsgi_environ(path=claim_path(place_id), headers=claim_headers(parent), body=claim_body(parent))
    return answer_status(application, environ)


def trivial_wsgi(application) -> int:
    """One `GET /bench/trivial/` through the WSGI application, as a browser sends it; its status code."""
    environ = wsgi_environ(path="/bench/trivial/", headers={}, body=b"")
    environ["REQUEST_METHOD"] = "GET"
    return answer_status(application, environ)


def answer_status(application, environ: dict) -> int:
    """Run one request through the WSGI application to its end; the status code of its answer."""
    statuses = []

    def start_response(status: str, response_headers, exc_info=None):
        statuses.append(int(status.split(" ", 1)[0]))

    response = application(environ, start_response)
    try:
        b"".join(response)
    finally:
        response.close()  # what a WSGI server does: request_finished, connections returned
    return statuses[0]


def run_batch(application, claims: list[tuple[Parent, int]]) -> tuple[float, float, Counter]:
    """(CPU seconds, wall seconds, status counts) of the claims, one after the other."""
    statuses: Counter = Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    for parent, place_id in claims:
        statuses[claim_wsgi(application, parent=parent, place_id=place_id)] += 1
    return time.process_time() - cpu, time.perf_counter() - wall, statuses


def run_trivial(application, count: int) -> tuple[float, float, Counter]:
    """(CPU seconds, wall seconds, status counts) of `count` trivial requests, one after the other: the floor."""
    statuses: Counter = Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        statuses[trivial_wsgi(application)] += 1
    return time.process_time() - cpu, time.perf_counter() - wall, statuses


def claim_queries(application, claim: tuple[Parent, int]) -> list[str]:
    """The SQL one claim sends (Django logs neither BEGIN nor COMMIT)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    parent, place_id = claim
    with CaptureQueriesContext(connection) as context:
        claim_wsgi(application, parent=parent, place_id=place_id)
    return [query["sql"] for query in context.captured_queries]


def profile_batch(application, claims: list[tuple[Parent, int]], *, top: int) -> str:
    """The batch under cProfile, sorted by cumulative (all, then the project's and DRF's), then by own time.
    The clock is the wall clock: a CPU clock is a system call per function entry and exit, which inflates many
    small calls (query compilation) far more than the rest. The waits on PostgreSQL and Redis are therefore in it,
    as the own time of psycopg2's `execute` and `commit` and of the socket calls; the rest is this process's CPU."""
    profile = cProfile.Profile()
    profile.enable()
    run_batch(application, claims)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    # The same, only the project's functions and DRF's: where a claim's time goes below the framework's chain.
    stats.print_stats(r"(indigo|placement|accounts|schedules|rest_framework)/", top)
    stats.sort_stats("tottime").print_stats(top)
    # Paths relative to the project, the packages and the standard library: the profile's lines stay readable.
    text = out.getvalue()
    for prefix in sorted({str(ROOT), *site.getsitepackages(), sysconfig.get_paths()["stdlib"]}, key=len, reverse=True):
        text = text.replace(prefix + "/", "")
    return text


def batches(scenario: Scenario, sizes: list[int]) -> Iterator[tuple[list, list]]:
    """For each size n: n claims that answer 201 (a parent each, a free place each in a language the parent
    accepts) and n that answer 409 (other such parents, each on one of those places once it is taken)."""
    waiting = {language: [p for p in scenario.parents if p.language == language] for language in ("kk", "ru", "any")}

    def parent_for(language: str) -> Parent:
        pool = waiting[language] or waiting["any"]
        return pool.pop()

    places = iter(sorted(scenario.places.items()))
    for size in sizes:
        taken = [next(places) for _ in range(size)]
        created = [(parent_for(language), place_id) for place_id, language in taken]
        refused = [(parent_for(language), place_id) for place_id, language in taken]
        yield created, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=300, help="timed claims of each kind (201 and 409)")
    parser.add_argument("--profile-claims", type=int, default=200, help="profiled claims of each kind")
    parser.add_argument("--warm", type=int, default=20, help="warm-up claims of each kind, not counted")
    parser.add_argument("--top", type=int, default=25, help="profile entries shown, by cumulative time")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one 201 and one 409")
    scale_arguments(parser)
    args = parser.parse_args()

    url = require_postgres_url()
    # Connections kept across requests, as docs/DEPLOYMENT.md sets CONN_MAX_AGE (else every claim pays a connect).
    os.environ.setdefault("CONN_MAX_AGE", "60")
    sizes = [args.warm, args.claims, args.profile_claims]
    scenario = storm_setup(
        url=url,
        kindergartens=args.kindergartens,
        applications=args.applications,
        places=sum(sizes),
        parents=3 * sum(sizes),  # two compatible parents per place, whatever the languages' shares
        seed=args.seed,
    )
    from django.core.handlers.wsgi import WSGIHandler

    # Django logs every 409 at WARNING, as it does under gunicorn: to a file, as there, not to this terminal.
    log_path = Path(tempfile.gettempdir()) / "indigo-bench-claim-cpu.log"
    logging.getLogger().handlers[0].setStream(log_path.open("w"))
    application = WSGIHandler()
    (warm_201, warm_409), (timed_201, timed_409), (profiled_201, profiled_409) = batches(scenario, sizes)

    run_batch(application, warm_201[:-1])
    run_batch(application, warm_409[:-1])
    # Every parent's token in the cache first, as after their login (a token is cached when it is issued) or any
    # earlier request: the scale data's tokens are written by SQL, so without this each parent's first claim would
    # also pay the token's database lookup. An unknown place answers 404 after authentication.
    for parent, _ in [*timed_201, *timed_409, *profiled_201, *profiled_409]:
        environ = wsgi_environ(path=claim_path(0), headers=claim_headers(parent), body=claim_body(parent))
        answer_status(application, environ)
    queries = {name: claim_queries(application, claims[-1]) for name, claims in (("201", warm_201), ("409", warm_409))}
    print(f"queries per claim: 201 {len(queries['201'])}, 409 {len(queries['409'])} (BEGIN and COMMIT included)")
    if args.show_queries:
        for name, sent in queries.items():
            print(f"--- the queries of a {name}:\n" + "\n".join(f"{n}. {sql}" for n, sql in enumerate(sent, start=1)))
    run_trivial(application, args.warm)
    print(f"in-process requests through WSGIHandler, {len(timed_201)} of each kind, one at a time:")
    print(f"{'':8} {'CPU ms':>8} {'wall ms':>8} {'trivials':>10}   statuses")
    trivial_cpu, trivial_wall, trivial_statuses = run_trivial(application, len(timed_201))
    floor = trivial_cpu / len(timed_201)
    rows = [("trivial", trivial_cpu, trivial_wall, trivial_statuses, len(timed_201))]
    for name, claims in (("201", timed_201), ("409", timed_409)):
        rows.append((name, *run_batch(application, claims), len(claims)))
    for name, cpu, wall, statuses, count in rows:
        codes = " ".join(f"{code}:{n}" for code, n in sorted(statuses.items()))
        print(f"{name:8} {cpu * 1000 / count:8.2f} {wall * 1000 / count:8.2f} {cpu / count / floor:10.1f}   {codes}")
    for name, claims in (("201", profiled_201), ("409", profiled_409)):
        print(f"\n--- cProfile of {len(claims)} claims answering {name}, top {args.top} by cumulative time ---")
        print(profile_batch(application, claims, top=args.top))


if __name__ == "__main__":
    main()
