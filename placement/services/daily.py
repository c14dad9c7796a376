"""The 18:00 run (DOMAIN.md, The 18:00 run).

Once per protocol day and city, idempotent, catching up every missed day in order. Each day of each city is one
transaction under the city's lock: the due moves are set-based (one INSERT...SELECT of events and one UPDATE of
places per kind of move, never a loop over rows), then the day's protocol is published. A second runner, a
retried task or a second beat waits on the lock and then finds the day already published.
"""

import datetime as dt
import logging
import time

from django.db import connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from indigo.metrics import daily_run_observe
from schedules.calendar import PROTOCOL_MOMENT, astana, at_astana

from ..locks import city_lock, row_lock_clause
from ..models import Access, City, Place, PlaceEvent, Protocol
from ..registry_cache import registry_changed
from .applications import applications_release_held
from .notifications import general_access_notify
from .offers import offers_allocate, offers_expire
from .protocols import protocol_publish
from .referrals import referrals_expire

logger = logging.getLogger(__name__)


def last_complete_day(at: dt.datetime) -> dt.date:
    """The latest protocol day whose 18:00 has come at `at`."""
    local = astana(at)
    return local.date() if local.time() >= PROTOCOL_MOMENT else local.date() - dt.timedelta(days=1)


def days_to_publish(*, city: City, at: dt.datetime) -> list[dt.date]:
    last_day = last_complete_day(at)
    published = Protocol.objects.filter(city=city).aggregate(last=Max("day"))["last"]
    if published is not None:
        first_day = published + dt.timedelta(days=1)
    else:
        # A city's chain starts on the protocol day of its first place event.
        first_day = PlaceEvent.objects.filter(city=city).aggregate(first=Min("protocol_day"))["first"]
        if first_day is None:
            return []
    return [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]


def _move(
    *,
    city: City,
    from_states: tuple[str, ...],
    due_field: str,
    kind: str,
    access: str,
    day: dt.date,
    cutoff: dt.datetime,
    recorded_at: dt.datetime,
    updates: dict,
) -> int:
    """Record one kind of move for every due place of the city (one INSERT...SELECT), then make it (one UPDATE).

    The INSERT locks the due rows, so a withdrawal racing with the run waits and then sees the new state.
    """
    place, event, group = Place._meta.db_table, PlaceEvent._meta.db_table, "placement_group"
    states = ", ".join(["%s"] * len(from_states))
    # Table and column names come from the models and this module; every value is a parameter.
    sql = (
        f"INSERT INTO {event} (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at, by_id,"
        f" reason, birth_year, language, group_type, access)"
        f" SELECT p.id, p.city_id, p.kindergarten_id, %s, p.{due_field}, %s, %s, NULL, '', g.birth_year,"
        f" g.language, g.group_type, %s"
        f" FROM {place} p JOIN {group} g ON g.id = p.group_id"
        f" WHERE p.city_id = %s AND p.state IN ({states}) AND p.{due_field} <= %s"
        f" ORDER BY p.id{row_lock_clause()}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, day, recorded_at, access, city.pk, *from_states, cutoff])
        recorded = cursor.rowcount
    if recorded:
        registry_changed(city_ids=[city.pk])
    moved = Place.objects.filter(city=city, state__in=from_states, **{f"{due_field}__lte": cutoff}).update(**updates)
    if moved != recorded:  # the locked rows cannot change in between; a mismatch is a bug, so roll back
        raise RuntimeError(f"18:00 run: recorded {recorded} events but moved {moved} places")
    return moved


# The moves the clock makes, in order (DOMAIN.md, Places 1-2): a scheduled place whose window opened enters
# priority access at its start; a place still in priority access goes general at its end.
MOVES = {
    PlaceEvent.Kind.TO_PRIORITY: {
        "from_states": (Place.State.SCHEDULED,),
        "due_field": "entered_priority_at",
        "access": Access.PRIORITY,
        "updates": {"state": Place.State.PRIORITY},
    },
    PlaceEvent.Kind.TO_GENERAL: {
        "from_states": (Place.State.PRIORITY,),
        "due_field": "priority_until",
        "access": Access.GENERAL,
        "updates": {"state": Place.State.GENERAL, "general_since": F("priority_until")},
    },
}


def run_city_day(*, city: City, day: dt.date, recorded_at: dt.datetime) -> Protocol | None:
    """Do the 18:00 run of one city and protocol day; None when the day was already published."""
    cutoff = at_astana(day, PROTOCOL_MOMENT)
    started = time.monotonic()
    with transaction.atomic():
        city = city_lock(city_id=city.pk)
        if Protocol.objects.filter(city=city, day=day).exists():
            return None
        moved = {
            kind: _move(city=city, day=day, cutoff=cutoff, recorded_at=recorded_at, kind=kind, **move)
            for kind, move in MOVES.items()
        }
        # After the moves and before the protocol: overdue referrals expire (their places return as new
        # releases, recorded in this day's protocol), held children come back to the queue.
        referrals_expire(city=city, cutoff=cutoff)
        applications_release_held(city=city, cutoff=cutoff, recorded_at=recorded_at)
        # Offer mode (issue 14): due offers expire (their places return, their applications pause), in any city;
        # then an offer-mode city's places in priority access that are neither offered nor taken are allocated.
        offers_expire(city=city, cutoff=cutoff)
        allocated = None
        if city.allocation_mode == City.AllocationMode.OFFER:
            allocated = offers_allocate(city=city, day=day, cutoff=cutoff, recorded_at=recorded_at)
        if day == last_complete_day(recorded_at):  # subscribers hear of today's general places, not a stale day's
            general_access_notify(city=city, day=day, recorded_at=recorded_at)
        protocol = protocol_publish(
            city=city,
            day=day,
            at=recorded_at,
            allocation=allocated.section if allocated else None,
            inputs_sha256=allocated.inputs_sha256 if allocated else "",
        )
    daily_run_observe(
        city_slug=city.slug, seconds=time.monotonic() - started, lag_seconds=(recorded_at - cutoff).total_seconds()
    )
    logger.info(
        "18:00 run %s %s: %d to priority, %d to general, protocol %s (%d entries)",
        city.slug,
        day,
        moved[PlaceEvent.Kind.TO_PRIORITY],
        moved[PlaceEvent.Kind.TO_GENERAL],
        protocol.sha256[:12],
        protocol.entry_count,
    )
    return protocol


def run_daily(*, at: dt.datetime | None = None, city: City | None = None) -> list[Protocol]:
    """Publish every protocol day that has come by `at` and is not yet published, in order, city by city."""
    at = at or timezone.now()
    recorded_at = timezone.now()
    cities = [city] if city else list(City.objects.order_by("pk"))
    published = []
    for each in cities:
        for day in days_to_publish(city=each, at=at):
            protocol = run_city_day(city=each, day=day, recorded_at=recorded_at)
            if protocol is not None:
                published.append(protocol)
    return published
