"""Benchmark: offer mode's pure allocation at issue 14's scale (placement/allocation.py; DOMAIN.md, Allocation modes).

    .venv/bin/python bench/allocation.py [--cities 20] [--seed 1] [--repeat 7]

No database: it times the pure core the 18:00 run calls once per city, on generated cities of 5,000 free places in
300 kindergartens and 50,000 applicants with 5 Zipf-skewed choices (most parents want the same few kindergartens),
3 cohorts, 2 languages (10% of applicants take either), 40% accepting "any other". For one city it prints:
- the floor: bucketing the applicants by cohort, sorting each cohort by queue position and indexing the places by
  key and kindergarten, the work `allocate` cannot avoid;
- building the inputs from row tuples (what the caller pays after its queries: one frozen dataclass a row);
- `allocate` and `justified_envy` of its offers;
- the same when nobody accepts "any other" (a place goes only to one who chose its kindergarten, so the walk goes
  deeper into the queues);
- the inputs document: build + SHA-256, and what `verify_allocation` does: parse the stored JSON, hash it, read it
  back, re-allocate;
- peak memory (tracemalloc) of allocate + justified_envy beside the inputs' own size;
then allocate + justified_envy over --cities different cities, one after another as the run does them. Times are the
median and the best of --repeat runs, each after a full garbage collection. Nothing here asserts.
"""

import argparse
import dataclasses
import gc
import gzip
import itertools
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from operator import attrgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from placement.allocation import (
    Applicant,
    FreePlace,
    allocate,
    canonical_json,
    inputs_document,
    inputs_from_document,
    inputs_sha256,
    justified_envy,
)

COHORTS = (2020, 2021, 2022)


def city_rows(
    *, seed: int, places: int = 5_000, applicants: int = 50_000, kindergartens: int = 300, choices: int = 5
) -> tuple[list[tuple], list[tuple]]:
    """One city's inputs as row tuples in field order, deterministic for a seed; the applicants in random order."""
    rng = random.Random(seed)
    base = 1000 * seed  # ids differ between cities, as in one database
    kindergarten_ids = [base + i for i in range(1, kindergartens + 1)]
    place_rows = [
        (
            base * 10 + i,
            rng.choice(kindergarten_ids),
            rng.choice(COHORTS),
            "kk" if rng.random() < 0.6 else "ru",
            "general",
        )
        for i in range(1, places + 1)
    ]
    # Zipf over a random order of the kindergartens, so the popular ones are not simply the lowest ids.
    popular = kindergarten_ids[:]
    rng.shuffle(popular)
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, kindergartens + 1)))
    cohort_of = [rng.choice(COHORTS) for _ in range(applicants)]
    positions = {cohort: list(range(1, cohort_of.count(cohort) + 1)) for cohort in COHORTS}
    for listed in positions.values():
        rng.shuffle(listed)
    applicant_rows = []
    for cohort in cohort_of:
        chosen: list[int] = []
        while len(chosen) < choices:
            (kindergarten_id,) = rng.choices(popular, cum_weights=cumulative)
            if kindergarten_id not in chosen:
                chosen.append(kindergarten_id)
        roll = rng.random()
        applicant_rows.append(
            (
                f"{rng.getrandbits(64):016x}",
                positions[cohort].pop(),
                cohort,
                "kk" if roll < 0.54 else "ru" if roll < 0.9 else "any",
                "general",
                tuple(chosen),
                rng.random() < 0.4,
            )
        )
    return applicant_rows, place_rows


def city_inputs(applicant_rows: list[tuple], place_rows: list[tuple]) -> tuple[list[Applicant], list[FreePlace]]:
    return [Applicant(*row) for row in applicant_rows], [FreePlace(*row) for row in place_rows]


def city_generate(*, seed: int) -> tuple[list[Applicant], list[FreePlace]]:
    return city_inputs(*city_rows(seed=seed))


def floor(applicants: list[Applicant], places: list[FreePlace]) -> None:
    """What any allocation must do: each cohort in queue order, and the places by key and kindergarten."""
    cohorts: dict[int, list[Applicant]] = {}
    for applicant in applicants:
        cohorts.setdefault(applicant.birth_year, []).append(applicant)
    for queue in cohorts.values():
        queue.sort(key=attrgetter("position"))
    index: dict = {}
    for place in places:
        index.setdefault((place.birth_year, place.language, place.group_type, place.kindergarten_id), []).append(
            place.place_id
        )
    for place_ids in index.values():
        place_ids.sort()


def timed(function, repeat: int) -> tuple[float, float]:
    """(median, best) wall time in milliseconds, each run after a full collection."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def line(label: str, figures: tuple[float, float], floor_ms: float | None = None) -> None:
    median, best = figures
    ratio = f"  ({median / floor_ms:4.1f}x floor)" if floor_ms else ""
    print(f"  {label:<50} median {median:7.1f} ms   best {best:7.1f} ms{ratio}")


def one_city(*, seed: int, repeat: int) -> None:
    applicant_rows, place_rows = city_rows(seed=seed)
    applicants, places = city_inputs(applicant_rows, place_rows)
    print(
        f"One city: {len(places):,} free places in {len({p.kindergarten_id for p in places})} kindergartens, "
        f"{len(applicants):,} applicants with {len(applicants[0].choices)} choices, {len(COHORTS)} cohorts"
    )
    offers = allocate(applicants=applicants, places=places)
    ranks = Counter(offer.rank for offer in offers)
    envy = justified_envy(applicants=applicants, places=places, offers=offers)
    print(
        f"  {len(offers):,} offers ({len(places) - len(offers):,} places unoffered), by choice rank "
        + ", ".join(f"{rank or 'any'}: {ranks[rank]:,}" for rank in (1, 2, 3, 4, 5, None))
        + f"; justified envy {envy}"
    )

    floor_ms = timed(lambda: floor(applicants, places), repeat)
    line("floor (cohorts in queue order + place index)", floor_ms)
    line("building the inputs from row tuples (the caller)", timed(lambda: city_inputs(applicant_rows, place_rows), 3))
    line("allocate", timed(lambda: allocate(applicants=applicants, places=places), repeat), floor_ms[0])
    line(
        "justified_envy",
        timed(lambda: justified_envy(applicants=applicants, places=places, offers=offers), repeat),
        floor_ms[0],
    )
    # A longer walk: nobody accepts "any other", so places go only to those who chose their kindergarten.
    choosy = [dataclasses.replace(applicant, accept_any=False) for applicant in applicants]
    choosy_offers = allocate(applicants=choosy, places=places)
    line(
        f"allocate, nobody accepting any ({len(places) - len(choosy_offers):,} places left)",
        timed(lambda: allocate(applicants=choosy, places=places), repeat),
        floor_ms[0],
    )
    line(
        "justified_envy of that",
        timed(lambda: justified_envy(applicants=choosy, places=places, offers=choosy_offers), repeat),
        floor_ms[0],
    )
    run_id = f"city-{seed}:2024-06-03"
    data = canonical_json(inputs_document(run_id=run_id, applicants=applicants, places=places))

    def publish() -> None:
        inputs_sha256(inputs_document(run_id=run_id, applicants=applicants, places=places))

    def verify() -> None:
        stored = json.loads(data)
        inputs_sha256(stored)
        inputs = inputs_from_document(stored)
        allocate(applicants=inputs.applicants, places=inputs.places)

    line("inputs_document + inputs_sha256", timed(publish, 3))
    line("verify: parse + sha256 + from_document + allocate", timed(verify, 3))
    print(f"  inputs document {len(data) / 1e6:.2f} MB canonical JSON, {len(gzip.compress(data)) / 1e6:.2f} MB gzipped")


def peak_memory(*, seed: int) -> None:
    """Peak memory of allocate + justified_envy for one city, beside the size of its inputs."""
    applicant_rows, place_rows = city_rows(seed=seed)
    gc.collect()
    tracemalloc.start()
    applicants, places = city_inputs(applicant_rows, place_rows)
    inputs_size = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    offers = allocate(applicants=applicants, places=places)
    justified_envy(applicants=applicants, places=places, offers=offers)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    print(f"  peak memory of allocate + justified_envy {peak / 1e6:.1f} MB", end="")
    print(f" (the input objects themselves, their strings and choice tuples aside: {inputs_size / 1e6:.1f} MB)")


def many_cities(*, cities: int, seed: int) -> None:
    print(f"{cities} cities, one after another (inputs generated outside the timing):")
    floor_total = allocate_total = envy_total = worst = 0.0
    total_envy = total_offers = 0
    for city in range(cities):
        applicants, places = city_generate(seed=seed + 100 + city)
        gc.collect()
        start = time.perf_counter()
        floor(applicants, places)
        floored = time.perf_counter()
        offers = allocate(applicants=applicants, places=places)
        allocated = time.perf_counter()
        total_envy += justified_envy(applicants=applicants, places=places, offers=offers)
        end = time.perf_counter()
        floor_total += (floored - start) * 1000
        allocate_total += (allocated - floored) * 1000
        envy_total += (end - allocated) * 1000
        worst = max(worst, (allocated - floored) * 1000)
        total_offers += len(offers)
    print(
        f"  in all: floor {floor_total:.0f} ms, allocate {allocate_total:.0f} ms ({allocate_total / floor_total:.1f}x"
        f" floor; slowest city {worst:.0f} ms), justified_envy {envy_total:.0f} ms"
        f" ({envy_total / floor_total:.1f}x floor); {total_offers:,} offers, justified envy {total_envy}"
    )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process {peak_rss:.0f} MB (one city's inputs at a time, as the run holds them)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    one_city(seed=args.seed, repeat=args.repeat)
    peak_memory(seed=args.seed)
    many_cities(cities=args.cities, seed=args.seed)


if __name__ == "__main__":
    main()
