"""`manage.py verify_allocation`: re-run each day's allocation from its stored inputs (issue 14, Publication).

For every stored run (`AllocationRun`, one per offer-mode city and protocol day): the inputs document must hash to
the SHA-256 the protocol published; `placement.allocation.allocate` re-run on it must give exactly the offers the
protocol's allocation section lists and exactly the offers the portal made (`Offer` rows of that day: place,
kindergarten, queue position, rank); and the published offers must have zero justified envy among the applications
that took part. Read only; the rule itself lives in placement/allocation.py.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from .. import allocation
from ..models import AllocationRun, City, Offer, Protocol


@dataclass(frozen=True)
class AllocationCheck:
    """One day's verdict: `problem` is None when the day verifies; `envy` is the justified envy of its offers
    (None when they could not be judged)."""

    city: str
    day: dt.date
    offers: int
    envy: int | None
    problem: str | None = None

    def __str__(self) -> str:
        head = f"{self.city} {self.day.isoformat()}"
        if self.problem:
            return f"{head}: {self.problem}"
        return f"{head}: {self.offers} offer(s) reproduced, justified envy {self.envy}"


Row = tuple[int, int, int, int | None]  # place id, kindergarten id, queue position, rank


def _check(run: AllocationRun, *, published: Protocol | None, made: list[Row]) -> AllocationCheck:
    city, day = run.city.slug, run.day
    document = run.inputs
    digest = allocation.inputs_sha256(document)
    if digest != run.inputs_sha256:
        return AllocationCheck(city, day, 0, None, "the stored inputs do not match their SHA-256")
    if published is None:
        return AllocationCheck(city, day, 0, None, "no published protocol for this run")
    if published.inputs_sha256 != digest:
        return AllocationCheck(city, day, 0, None, "the inputs do not match the SHA-256 the protocol published")
    try:
        inputs = allocation.inputs_from_document(document)
    except ValueError as exc:
        return AllocationCheck(city, day, 0, None, str(exc))
    again = allocation.allocate(applicants=inputs.applicants, places=inputs.places)
    expected = sorted((o.place_id, o.kindergarten_id, o.position, o.rank) for o in again)
    section = sorted(
        (row["place"], row["kindergarten"]["id"], row["queue_position"], row["rank"]) for row in published.allocation
    )
    if section != expected:
        return AllocationCheck(city, day, len(section), None, _difference("the protocol lists", section, expected))
    if sorted(made) != expected:
        return AllocationCheck(city, day, len(made), None, _difference("the portal made", sorted(made), expected))
    # The published offers judged as they stand: each names its applicant by cohort and queue position.
    places = {place.place_id: place for place in inputs.places}
    at_position = {(a.birth_year, a.position): a.pseudonym for a in inputs.applicants}
    offers = [
        allocation.Offer(
            place_id, kindergarten_id, at_position.get((places[place_id].birth_year, position), ""), position, rank
        )
        for place_id, kindergarten_id, position, rank in section
    ]
    try:
        envy = allocation.justified_envy(applicants=inputs.applicants, places=inputs.places, offers=offers)
    except ValueError as exc:
        return AllocationCheck(city, day, len(section), None, str(exc))
    if envy:
        return AllocationCheck(city, day, len(section), envy, f"justified envy {envy}, not 0")
    return AllocationCheck(city, day, len(section), envy)


def _difference(what: str, got: list[Row], expected: list[Row]) -> str:
    extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
    shown = "; ".join([f"not reproduced {row}" for row in extra[:3]] + [f"missing {row}" for row in missing[:3]])
    return f"{what} offers the re-run does not give (place, kindergarten, position, rank): {shown}"


def _runs(*, city: City | None, day: dt.date | None) -> Iterator[AllocationRun]:
    runs = AllocationRun.objects.select_related("city").order_by("city__slug", "day")
    if city is not None:
        runs = runs.filter(city=city)
    if day is not None:
        runs = runs.filter(day=day)
    return runs.iterator(chunk_size=1)  # one inputs document in memory at a time


def allocations_verify(*, city: City | None = None, day: dt.date | None = None) -> list[AllocationCheck]:
    """Every stored run (of the city, of the day), re-run and judged, in order of city and day."""
    checks = []
    for run in _runs(city=city, day=day):
        published = (
            Protocol.objects.filter(city_id=run.city_id, day=run.day).only("allocation", "inputs_sha256").first()
        )
        made = list(
            Offer.objects.filter(kindergarten__city_id=run.city_id, protocol_day=run.day).values_list(
                "place_id", "kindergarten_id", "queue_position", "rank"
            )
        )
        checks.append(_check(run, published=published, made=made))
    return checks
