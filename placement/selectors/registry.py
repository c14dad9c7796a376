"""Public reads: the free-places registry and the cities (DOMAIN.md, Places and their access).

The registry follows the clock, never the state the 18:00 run last wrote: a place is open once its priority start
has come, in priority access until `priority_until` and in general access from then on.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, DateTimeField, F, Min, Q, QuerySet, Value, When
from django.utils import timezone

from schedules.calendar import astana
from schedules.models import CohortWindow

from ..models import Access, City, Group, Kindergarten, Place
from ..models.places import access_condition

# The two accesses a parent can filter on: a scheduled place is not in the registry yet.
REGISTRY_ACCESSES = (Access.PRIORITY, Access.GENERAL)


@dataclass(frozen=True)
class RegistryFilters:
    """What a registry reader asked for; None means "any"."""

    city: City | None = None
    birth_year: int | None = None
    language: str | None = None
    group_type: str | None = None
    access: str | None = None
    kindergarten_id: int | None = None


@dataclass(frozen=True)
class KindergartenCount:
    kindergarten: Kindergarten
    priority: int
    general: int

    @property
    def total(self) -> int:
        return self.priority + self.general


@dataclass(frozen=True)
class RegistrySummary:
    """The counts of open places; `offered` (the public API's summary only) the places held by live offers."""

    by_kindergarten: list[KindergartenCount] = field(default_factory=list)
    offered: list["OfferedBundle"] = field(default_factory=list)

    @property
    def offered_total(self) -> int:
        return sum(bundle.count for bundle in self.offered)

    @property
    def priority(self) -> int:
        return sum(row.priority for row in self.by_kindergarten)

    @property
    def general(self) -> int:
        return sum(row.general for row in self.by_kindergarten)

    @property
    def total(self) -> int:
        return self.priority + self.general


def city_list() -> QuerySet[City]:
    return City.objects.order_by("name", "pk")


def city_default() -> City | None:
    """The city a reader sees before choosing one: the first, which is the only one in a one-city install."""
    return city_list().first()


def _registry_matching(*, filters: RegistryFilters, places: QuerySet[Place] | None = None) -> QuerySet[Place]:
    """The live places (open or scheduled), or `places`, matching every filter but access, which depends on the
    clock."""
    places = Place.objects.live() if places is None else places
    if filters.city is not None:
        places = places.filter(city=filters.city)
    if filters.kindergarten_id is not None:
        places = places.filter(kindergarten_id=filters.kindergarten_id)
    if filters.birth_year is not None:
        places = places.filter(group__birth_year=filters.birth_year)
    if filters.language:
        places = places.filter(group__language=filters.language)
    if filters.group_type:
        places = places.filter(group__group_type=filters.group_type)
    return places


def _registry_base(*, filters: RegistryFilters, at: dt.datetime) -> QuerySet[Place]:
    places = _registry_matching(filters=filters)
    if filters.access in REGISTRY_ACCESSES:
        return places.filter(access_condition(filters.access, at))
    return places.filter(entered_priority_at__lte=at)


def registry_next_change(*, filters: RegistryFilters, at: dt.datetime) -> dt.datetime | None:
    """The next moment after `at` at which the registry's answer for `filters` changes with no place event: a
    scheduled place opens at `entered_priority_at`, a place in priority access goes general at `priority_until`
    (the 18:00 run records the move later). None when no matching place will change by itself."""
    moments = _registry_matching(filters=filters).aggregate(
        opens=Min("entered_priority_at", filter=Q(entered_priority_at__gt=at)),
        goes_general=Min("priority_until", filter=Q(priority_until__gt=at)),
    )
    found = [moment for moment in moments.values() if moment is not None]
    return min(found) if found else None


def registry_places(*, filters: RegistryFilters, at: dt.datetime | None = None) -> QuerySet[Place]:
    """The places open at `at` that match `filters`, with their group and kindergarten in the same query.

    Access is read from the clock (`place.access_at(at)`), so the registry is exact between two 18:00 runs.
    """
    at = at or timezone.now()
    return (
        _registry_base(filters=filters, at=at)
        .select_related("group", "kindergarten")
        .order_by("kindergarten__code", "group__birth_year", "group__language", "group__group_type", "pk")
    )


@dataclass(frozen=True)
class PlaceBundle:
    """Free places no parent could tell apart: the same group (kindergarten, cohort, language, group type), the same
    access and, in priority access, the same moment they go general. The registry's page shows one row and one
    "take" button per bundle ("Балапан, младшая каз., 2021 — 4 места", issue 13); the button claims `place`, the
    first of them, and any of them would do."""

    place: Place
    count: int

    @property
    def kindergarten(self) -> Kindergarten:
        return self.place.kindergarten

    @property
    def group(self) -> Group:
        return self.place.group


def registry_bundle_rows(*, filters: RegistryFilters, at: dt.datetime, birth_years=None, city_ids=None) -> QuerySet:
    """One row per bundle of the places open at `at` matching `filters` (and, when given, of `birth_years` and
    `city_ids` only), in the registry's order: `first` (the lowest place id), `count`. One grouped query,
    paginated as it is."""
    still_priority = Case(
        When(priority_until__gt=at, then=F("priority_until")), default=Value(None), output_field=DateTimeField()
    )
    places = _registry_base(filters=filters, at=at)
    if birth_years is not None:
        places = places.filter(group__birth_year__in=birth_years)
    if city_ids is not None:
        places = places.filter(city_id__in=city_ids)
    order = ("kindergarten__code", "group__birth_year", "group__language", "group__group_type", "group_id", "until")
    return (
        places.order_by()
        .annotate(until=still_priority)
        .values(*order)
        .annotate(first=Min("pk"), count=Count("pk"))
        .order_by(*order[:-1], F("until").asc(nulls_last=True))
    )


def registry_bundles(rows) -> list[PlaceBundle]:
    """The bundles of `rows` (from `registry_bundle_rows`, e.g. a page of them), each with its first place, its
    group and kindergarten: one query."""
    rows = list(rows)
    # With its city (a join): the claim rule asks the city's allocation mode of a place in priority access.
    places = Place.objects.select_related("group", "kindergarten", "city").in_bulk([row["first"] for row in rows])
    return [PlaceBundle(place=places[row["first"]], count=row["count"]) for row in rows]


def registry_summary(*, filters: RegistryFilters, at: dt.datetime | None = None) -> RegistrySummary:
    """Counts of the matching open places per kindergarten and per access (two queries whatever the size)."""
    at = at or timezone.now()
    rows = (
        _registry_base(filters=filters, at=at)
        .order_by()
        .values("kindergarten_id")
        .annotate(
            priority=Count("pk", filter=access_condition(Access.PRIORITY, at)),
            general=Count("pk", filter=access_condition(Access.GENERAL, at)),
        )
    )
    counts = {row["kindergarten_id"]: row for row in rows}
    kindergartens = Kindergarten.objects.filter(pk__in=counts).order_by("code", "pk")
    return RegistrySummary(
        by_kindergarten=[
            KindergartenCount(
                kindergarten=kindergarten,
                priority=counts[kindergarten.pk]["priority"],
                general=counts[kindergarten.pk]["general"],
            )
            for kindergarten in kindergartens
        ]
    )


def registry_kindergartens(*, city: City | None) -> QuerySet[Kindergarten]:
    kindergartens = Kindergarten.objects.order_by("code", "pk")
    return kindergartens.filter(city=city) if city is not None else kindergartens


def registry_birth_years(*, city: City | None, at: dt.datetime | None = None) -> list[tuple[int, int | None]]:
    """The cohorts of the city's groups, newest first, each with its age in this year's summer schedule if any."""
    at = at or timezone.now()
    groups = Group.objects.all() if city is None else Group.objects.filter(kindergarten__city=city)
    years = sorted(set(groups.values_list("birth_year", flat=True)), reverse=True)
    windows = CohortWindow.objects.filter(schedule__year=astana(at).year)
    if city is not None:
        windows = windows.filter(schedule__city=city)
    ages = dict(windows.values_list("birth_year", "age"))
    return [(year, ages.get(year)) for year in years]


def place_general_at(place: Place, *, at: dt.datetime) -> dt.datetime | None:
    """When a place in priority access goes general; None once it is general."""
    return place.priority_until if place.access_at(at) == Access.PRIORITY else None


@dataclass(frozen=True)
class OfferedBundle:
    """Places of one group that the 18:00 run offered (offer mode, issue 14): held until their children's parents
    answer. The registry shows them as offered, with no personal data: no child, no application, no deadline."""

    group: Group
    count: int

    @property
    def kindergarten(self) -> Kindergarten:
        return self.group.kindergarten


def registry_offered(*, filters: RegistryFilters) -> list[OfferedBundle]:
    """The offered places matching `filters`, one bundle per group, in the registry's order (two queries). An
    offered place came from priority access, so a filter on general access shows none."""
    if filters.access == Access.GENERAL:
        return []
    offered = _registry_matching(filters=filters, places=Place.objects.filter(state=Place.State.OFFERED))
    counts = dict(offered.order_by().values("group_id").annotate(count=Count("pk")).values_list("group_id", "count"))
    groups = Group.objects.filter(pk__in=counts).select_related("kindergarten")
    groups = sorted(groups, key=lambda g: (g.kindergarten.code, g.birth_year, g.language, g.group_type, g.pk))
    return [OfferedBundle(group=group, count=counts[group.pk]) for group in groups]
