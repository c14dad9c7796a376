"""What parents and the public read of offer mode (issue 14; DOMAIN.md, Allocation modes).

`parent_offers`: the cabinet's offers. `protocol_allocation`: a protocol day's allocation section, without personal
data (no names, no IIN, no application number): the place, its kindergarten and cohort, the application's queue
position at the run and the kindergarten's rank in its choices, with the SHA-256 of the run's inputs document.
"""

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Case, IntegerField, Q, Value, When

from ..models import AllocationRun, City, Kindergarten, Offer, Protocol

RECENT_DECIDED = dt.timedelta(days=30)  # decided offers the cabinet still shows


def parent_offers(*, parent, at: dt.datetime) -> list[Offer]:
    """The parent's live offers (first, soonest deadline first) and those decided in the last 30 days (newest
    first), each with its place and group, kindergarten, application and referral."""
    offers = (
        Offer.objects.filter(parent=parent)
        .filter(Q(state=Offer.State.LIVE) | Q(decided_at__gte=at - RECENT_DECIDED))
        .select_related("place__group", "kindergarten", "application", "referral")
        .annotate(
            live_first=Case(When(state=Offer.State.LIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("live_first", "valid_until", "-decided_at", "-pk")
    )
    return list(offers)


@dataclass(frozen=True, slots=True)
class AllocationRow:
    """One offer of a day's run as the protocol publishes it."""

    place_id: int
    kindergarten: Kindergarten
    birth_year: int
    language: str
    group_type: str
    queue_position: int
    rank: int | None  # None: the place came as "any other"


class ProtocolAllocation(NamedTuple):
    rows: list[AllocationRow]
    inputs_sha256: str  # "" when no allocation ran that day


def protocol_allocation(*, city: City, day: dt.date) -> ProtocolAllocation:
    """The allocation section of the city's protocol of `day`: as published with the protocol when it is, else
    (the day not published yet) from the day's offers. Rows in the run's walk order: cohort, then queue position."""
    published = Protocol.objects.filter(city=city, day=day).values_list("allocation", "inputs_sha256").first()
    if published is not None and published[1]:
        section, digest = published
        kindergartens = Kindergarten.objects.in_bulk({row["kindergarten"]["id"] for row in section})
        rows = [
            AllocationRow(
                place_id=row["place"],
                kindergarten=kindergartens[row["kindergarten"]["id"]],
                birth_year=row["birth_year"],
                language=row["language"],
                group_type=row["group_type"],
                queue_position=row["queue_position"],
                rank=row["rank"],
            )
            for row in section
        ]
        return ProtocolAllocation(rows, digest)
    digest = AllocationRun.objects.filter(city=city, day=day).values_list("inputs_sha256", flat=True).first() or ""
    offers = (
        Offer.objects.filter(kindergarten__city=city, protocol_day=day)
        .select_related("place__group", "kindergarten")
        .order_by("place__group__birth_year", "queue_position", "pk")
    )
    rows = [
        AllocationRow(
            place_id=offer.place_id,
            kindergarten=offer.kindergarten,
            birth_year=offer.place.group.birth_year,
            language=offer.place.group.language,
            group_type=offer.place.group.group_type,
            queue_position=offer.queue_position,
            rank=offer.rank,
        )
        for offer in offers
    ]
    return ProtocolAllocation(rows, digest)
