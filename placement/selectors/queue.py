"""Queue positions (DOMAIN.md, Queue).

One queue per city and cohort: confirmed extraordinary rights first; then confirmed priority rights and general
applications interleaved one priority to N general (the city's ratio); each by date and time of application.

A position is computed, never stored, from counts over one partial index (city, cohort, category, applied_at, id)
of queued applications: the application's rank inside its category and the sizes of the other categories give its
place in the interleave in O(1) arithmetic. So it is correct the instant anything changes (an application
withdrawn, a privilege confirmed, a child returning with its original time) and costs three index range counts.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, When

from ..models import Application, Place
from ..models.queue import application_number_normalize

E, P, G = (Application.Category.EXTRAORDINARY, Application.Category.PRIORITY, Application.Category.GENERAL)


def _queued(*, city_id: int, birth_year: int):
    return Application.objects.filter(city_id=city_id, birth_year=birth_year, status=Application.Status.QUEUED)


def interleaved_position(
    *, category: int, rank: int, extraordinary: int, priority: int, general: int, ratio: int
) -> int:
    """1-based position of the `rank`-th (1-based) application of `category`, given each category's size."""
    if category == E:
        return rank
    if category == P:
        generals_before = min((rank - 1) * ratio, general)
        return extraordinary + (rank - 1) + generals_before + 1
    priorities_before = min(-(-rank // ratio), priority)  # ceil(rank / ratio): one priority opens each block
    return extraordinary + (rank - 1) + priorities_before + 1


def queue_position(application: Application) -> int | None:
    """The application's 1-based position in its city and cohort queue; None when it is not queued.

    Two queries of counts over the partial index of queued applications. The first ranks the application in its
    category (two index ranges: an OR of both would make PostgreSQL filter the whole category) and counts the
    extraordinary category. The second counts the category it interleaves with only as far as the interleave can
    use it (the `min(...)` of interleaved_position), so a priority application never counts the whole general
    category.
    """
    if application.status != Application.Status.QUEUED:
        return None
    queue = _queued(city_id=application.city_id, birth_year=application.birth_year)
    category, ratio = application.queue_category, application.city.queue_general_per_priority
    own = queue.filter(queue_category=category)
    earlier_time, earlier_id, extraordinary = (
        Application.objects.filter(pk=application.pk)
        .annotate(
            earlier_time=_count(own.filter(applied_at__lt=application.applied_at)),
            earlier_id=_count(own.filter(applied_at=application.applied_at, pk__lt=application.pk)),
            extraordinary=_count(queue.filter(queue_category=E)),
        )
        .values_list("earlier_time", "earlier_id", "extraordinary")
        .get()
    )
    rank = earlier_time + earlier_id + 1
    sizes = {E: extraordinary, P: 0, G: 0}
    if category != E:
        other = G if category == P else P
        needed = (rank - 1) * ratio if category == P else -(-rank // ratio)
        if needed > 0:  # COUNT over a LIMIT: stops where more could not move the application
            sizes[other] = queue.filter(queue_category=other).values("pk")[:needed].count()
    return interleaved_position(
        category=category,
        rank=rank,
        extraordinary=sizes[E],
        priority=sizes[P],
        general=sizes[G],
        ratio=ratio,
    )


def _count(queryset) -> Subquery:
    # COUNT as a plain function, not an aggregate, so the subquery has no GROUP BY: one index range count.
    return Subquery(
        queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"), output_field=IntegerField()
    )


def applications_with_positions(applications: QuerySet[Application]) -> list[Application]:
    """The applications with `.position` (as queue_position gives it; None unless queued), in one query whatever
    their number, cities and cohorts.

    A queryset is read once with queue_position's counts as correlated subqueries of each row (the same index
    range counts over the same partial index, run only for queued rows), so a parent's four children and twelve
    applications cost one round trip, not three or four queries each. The queryset should select_related("city")
    (the ratio of the interleave).
    """
    queue = Application.objects.filter(
        city_id=OuterRef("city_id"), birth_year=OuterRef("birth_year"), status=Application.Status.QUEUED
    )
    own = queue.filter(queue_category=OuterRef("queue_category"))
    queued = {"status": Application.Status.QUEUED}
    rows = list(
        applications.annotate(
            _earlier_time=Case(
                When(**queued, then=_count(own.filter(applied_at__lt=OuterRef("applied_at")))), default=None
            ),
            _earlier_id=Case(
                When(**queued, then=_count(own.filter(applied_at=OuterRef("applied_at"), pk__lt=OuterRef("pk")))),
                default=None,
            ),
            _extraordinary=Case(When(**queued, then=_count(queue.filter(queue_category=E))), default=None),
            # The size of the category it interleaves with: general for a priority application and vice versa.
            _other=Case(
                When(**queued, queue_category=P, then=_count(queue.filter(queue_category=G))),
                When(**queued, queue_category=G, then=_count(queue.filter(queue_category=P))),
                default=None,
            ),
        )
    )
    for application in rows:
        application.position = None
        if application.status != Application.Status.QUEUED:
            continue
        category = application.queue_category
        sizes = {E: application._extraordinary, P: 0, G: 0}
        if category != E:
            sizes[G if category == P else P] = application._other
        application.position = interleaved_position(
            category=category,
            rank=application._earlier_time + application._earlier_id + 1,
            extraordinary=sizes[E],
            priority=sizes[P],
            general=sizes[G],
            ratio=application.city.queue_general_per_priority,
        )
    return rows


@dataclass(frozen=True)
class QueueEntry:
    position: int
    application_id: int
    number: str
    category: int


def queue_head(*, city, birth_year: int, n: int) -> list[QueueEntry]:
    """The first `n` queued applications of a city and cohort, in queue order."""
    if n <= 0:
        return []
    queue = _queued(city_id=city.pk, birth_year=birth_year).order_by("applied_at", "pk")
    columns = ("pk", "number", "queue_category")
    extraordinary = list(queue.filter(queue_category=E).values_list(*columns)[:n])
    priority = list(queue.filter(queue_category=P).values_list(*columns)[:n])
    general = list(queue.filter(queue_category=G).values_list(*columns)[:n])
    ordered = extraordinary[:]
    ratio = city.queue_general_per_priority
    p = g = 0
    while len(ordered) < n and (p < len(priority) or g < len(general)):
        if p < len(priority):
            ordered.append(priority[p])
            p += 1
        take = general[g : g + ratio]
        ordered.extend(take)
        g += len(take)
    return [
        QueueEntry(position=i + 1, application_id=pk, number=number, category=category)
        for i, (pk, number, category) in enumerate(ordered[:n])
    ]


def public_application(number: str) -> Application | None:
    """The application with this number, as the public may look it up (DOMAIN.md, Queue: position is public by
    application number); None for an unknown or malformed number."""
    number = application_number_normalize(number)
    if not number:
        return None
    return Application.objects.select_related("city").filter(number=number).first()


# --- The head of the queue (DOMAIN.md, Places 3) -------------------------------------------------------------


@dataclass(frozen=True)
class PriorityStanding:
    """Whether priority places are open to a queued application now: position <= places of its cohort in
    priority access in its city (DOMAIN.md, Places 3)."""

    position: int | None
    head: int

    @property
    def eligible(self) -> bool:
        return self.position is not None and self.position <= self.head


def priority_places_count(*, city_id: int, birth_year: int, at: dt.datetime) -> int:
    """The head of the queue's size: places of the cohort now in priority access in the city."""
    return Place.objects.in_priority_at(at).filter(city_id=city_id, group__birth_year=birth_year).count()


def priority_heads(*, cohorts, at: dt.datetime) -> dict[tuple[int, int], int]:
    """Places now in priority access per (city id, birth year), for the given pairs: one query."""
    cohorts = set(cohorts)
    if not cohorts:
        return {}
    condition = Q()
    for city_id, birth_year in cohorts:
        condition |= Q(city_id=city_id, group__birth_year=birth_year)
    rows = (
        Place.objects.in_priority_at(at)
        .filter(condition)
        .order_by()
        .values_list("city_id", "group__birth_year")
        .annotate(n=Count("pk"))
    )
    heads = dict.fromkeys(cohorts, 0)
    heads.update({(city_id, year): n for city_id, year, n in rows})
    return heads


def priority_standings(
    applications, *, at: dt.datetime, positions: dict[int, int | None] | None = None
) -> dict[int, PriorityStanding]:
    """Each queued application's standing by pk: its position (`positions`, else all of them in one query) and
    its cohort's head."""
    queued = [a for a in applications if a.status == Application.Status.QUEUED]
    heads = priority_heads(cohorts={(a.city_id, a.birth_year) for a in queued}, at=at)
    if positions is None and queued:
        rows = Application.objects.filter(pk__in=[a.pk for a in queued]).select_related("city")
        positions = {a.pk: a.position for a in applications_with_positions(rows)}
    return {
        a.pk: PriorityStanding(position=positions[a.pk], head=heads[(a.city_id, a.birth_year)]) for a in queued
    }
