"""What parents and the public read of offer mode (issue 14; DOMAIN.md, Allocation modes).

`parent_offers`: the cabinet's offers. `protocol_allocation`: a protocol day's allocation section, without personal
data (no names, no IIN, no application number): the place, its kindergarten and cohort, the application's queue
position at the run and the kindergarten's rank in its choices, with the SHA-256 of the run's inputs document.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from accounts.models import CabinetBlock, Representation

from ..models import (
    Access,
    AllocationRun,
    Application,
    ApplicationChoice,
    City,
    GroupType,
    Kindergarten,
    Language,
    Offer,
    Place,
    Protocol,
)
from ..models.places import access_condition, choice_label
from .queue import E, G, P, interleaved_position

RECENT_DECIDED = dt.timedelta(days=30)  # decided offers the cabinet still shows


def parent_offers(*, parent, at: dt.datetime) -> list[Offer]:
    """The parent's live offers (first, soonest deadline first) and those decided in the last 30 days (newest
    first), each with its place and group, kindergarten, application and referral."""
    offers = (
        Offer.objects.filter(parent=parent)
        .filter(Q(state=Offer.State.LIVE) | Q(decided_at__gte=at - RECENT_DECIDED))
        .select_related("place__group", "kindergarten", "application__child", "referral")
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

    @property
    def language_label(self) -> str:
        return choice_label(Language, self.language)

    @property
    def group_type_label(self) -> str:
        return choice_label(GroupType, self.group_type)


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


# --- The 18:00 run's inputs (placement.services.offers.offers_allocate) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Participant:
    """A queued application taking part in a run, with its queue position at the run (DOMAIN.md, Queue) and its
    chosen kindergarten ids in rank order."""

    application_id: int
    parent_id: int
    position: int
    birth_year: int
    language: str
    group_type: str
    any_other: bool
    choices: tuple[int, ...]


def allocation_free_places(*, city: City, cutoff: dt.datetime) -> QuerySet:
    """The city's places in priority access at `cutoff` that are neither offered nor taken, by id, each as
    (place id, kindergarten id, birth year, language, group type). Read after the run's moves, so the state is the
    clock's; the run reads them under their locks."""
    return (
        Place.objects.filter(city=city, state=Place.State.PRIORITY)
        .filter(access_condition(Access.PRIORITY, cutoff))
        .order_by("pk")
        .values_list("pk", "kindergarten_id", "group__birth_year", "group__language", "group__group_type")
    )


def _choices_column():
    """Each application's chosen kindergarten ids in rank order, as one array column on PostgreSQL (an index
    probe per application); None elsewhere, where `_choices_of` reads them apart."""
    if connection.vendor != "postgresql":
        return None
    from django.contrib.postgres.expressions import ArraySubquery  # PostgreSQL only: imported here

    return ArraySubquery(
        ApplicationChoice.objects.filter(application_id=OuterRef("pk")).order_by("rank").values("kindergarten_id")
    )


def _choices_of(queued) -> dict[int, tuple[int, ...]]:
    choices: dict[int, list[int]] = {}
    rows = (
        ApplicationChoice.objects.filter(application__in=queued.values("pk"))
        .order_by("application_id", "rank")
        .values_list("application_id", "kindergarten_id")
    )
    for application_id, kindergarten_id in rows.iterator(chunk_size=20_000):
        choices.setdefault(application_id, []).append(kindergarten_id)
    return {pk: tuple(ids) for pk, ids in choices.items()}


def allocation_participants(*, city: City, birth_years, cutoff: dt.datetime) -> list[Participant]:
    """The applications of the city's cohorts that take part in a run at `cutoff`, in queue order, with their queue
    positions among every queued application of the cohort (a paused application, or one holding a live offer,
    keeps its position and takes no part; so does one whose parent could not accept: a blocked cabinet or a
    representation of the child not confirmed) and their choices. One query over the queue's index, with the
    exclusions as EXISTS and (PostgreSQL) the choices as an array; a national day's 50,000 applications of a city
    cost well under a second."""
    live_offer = Offer.objects.filter(application_id=OuterRef("pk"), state=Offer.State.LIVE)
    confirmed = Representation.objects.filter(
        parent_id=OuterRef("parent_id"), child_id=OuterRef("child_id"), status=Representation.Status.CONFIRMED
    )
    blocked = CabinetBlock.objects.active_at(cutoff).filter(user_id=OuterRef("parent_id"))
    queued = Application.objects.filter(city=city, status=Application.Status.QUEUED, birth_year__in=list(birth_years))
    columns = ["pk", "parent_id", "birth_year", "queue_category", "language", "group_type", "any_other", "takes_part"]
    rows = queued.annotate(
        takes_part=ExpressionWrapper(
            Q(paused_at__isnull=True) & ~Exists(live_offer) & Exists(confirmed) & ~Exists(blocked),
            output_field=BooleanField(),
        )
    )
    array = _choices_column()
    if array is not None:
        rows = rows.annotate(chosen=array)
        columns.append("chosen")
    rows = rows.order_by("birth_year", "queue_category", "applied_at", "pk").values_list(*columns)
    by_cohort: dict[int, list[tuple]] = {}
    for row in rows.iterator(chunk_size=10_000):
        by_cohort.setdefault(row[2], []).append(row)
    choices = _choices_of(queued) if array is None else None
    ratio = city.queue_general_per_priority
    participants = []
    for birth_year in sorted(by_cohort):
        queue = by_cohort[birth_year]
        sizes = Counter(row[3] for row in queue)
        extraordinary, priority, general = sizes[E], sizes[P], sizes[G]
        ranks = {E: 0, P: 0, G: 0}
        cohort = []
        for row in queue:
            pk, parent_id, _, category, language, group_type, any_other, takes_part = row[:8]
            ranks[category] += 1
            if not takes_part:
                continue
            position = interleaved_position(
                category=category,
                rank=ranks[category],
                extraordinary=extraordinary,
                priority=priority,
                general=general,
                ratio=ratio,
            )
            chosen = tuple(row[8] or ()) if choices is None else choices.get(pk, ())
            cohort.append(Participant(pk, parent_id, position, birth_year, language, group_type, any_other, chosen))
        cohort.sort(key=attrgetter("position"))
        participants.extend(cohort)
    return participants
