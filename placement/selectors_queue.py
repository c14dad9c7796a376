"""Queue positions (DOMAIN.md, Queue).

One queue per city and cohort: confirmed extraordinary rights first; then confirmed priority rights and general
applications interleaved one priority to N general (the city's ratio); each by date and time of application.

A position is computed, never stored, from counts over one partial index (city, cohort, category, applied_at, id)
of queued applications: the application's rank inside its category and the sizes of the other categories give its
place in the interleave in O(1) arithmetic. So it is correct the instant anything changes (an application
withdrawn, a privilege confirmed, a child returning with its original time) and costs three index range counts.
"""

from dataclasses import dataclass

from .models import Application

E, P, G = (Application.Category.EXTRAORDINARY, Application.Category.PRIORITY, Application.Category.GENERAL)


def _queued(*, city_id: int, birth_year: int):
    return Application.objects.filter(city_id=city_id, birth_year=birth_year, status=Application.Status.QUEUED)


def _earlier_count(queue, application: Application) -> int:
    """How many of `queue` come before the application: earlier time, or the same time and registered earlier.
    Two counts, each one range of the index (an OR of both would make PostgreSQL filter the whole category)."""
    return (
        queue.filter(applied_at__lt=application.applied_at).count()
        + queue.filter(applied_at=application.applied_at, pk__lt=application.pk).count()
    )


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
    """The application's 1-based position in its city and cohort queue; None when it is not queued."""
    if application.status != Application.Status.QUEUED:
        return None
    queue = _queued(city_id=application.city_id, birth_year=application.birth_year)
    category = application.queue_category
    rank = _earlier_count(queue.filter(queue_category=category), application) + 1
    sizes = {E: 0, P: 0, G: 0}
    if category != E:
        sizes[E] = queue.filter(queue_category=E).count()
        other = G if category == P else P
        sizes[other] = queue.filter(queue_category=other).count()
    return interleaved_position(
        category=category,
        rank=rank,
        extraordinary=sizes[E],
        priority=sizes[P],
        general=sizes[G],
        ratio=application.city.queue_general_per_priority,
    )


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
