"""Releasing and withdrawing free places (DOMAIN.md, Places and their access)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from schedules.calendar import priority_ends_at

from ..errors import PlaceNotWithdrawable, ReleaseAlreadySubmitted
from ..models import Access, Group, Place, PlaceEvent, ReleaseSubmission
from ..permissions import kindergarten_act_require
from ..registry_cache import registry_changed
from ..selectors.kindergartens import release_timing
from .events import place_event_build

MAX_RELEASE = 200
REASON_MAX_LENGTH = 500


def place_release(
    *, group: Group, count: int, by=None, at: dt.datetime | None = None, submission: str | None = None
) -> list[Place]:
    """Release `count` free places into `group`.

    `submission` is the release form's one-time token: a second release with the same token raises
    `ReleaseAlreadySubmitted` and releases nothing (the token is stored in the same transaction).

    DOMAIN.md, Places 1-2: a place enters priority access when released, for the city's number of working days
    counted from its entry; during a summer campaign a place of a cohort with a window waits, `scheduled`, until
    the window's priority start (shifted per kindergarten).
    """
    at = at or timezone.now()
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_RELEASE:
        raise ValidationError(
            _("The number of places must be a whole number from 1 to %(max)d.") % {"max": MAX_RELEASE},
            code="invalid_count",
        )
    kindergarten = group.kindergarten
    kindergarten_act_require(by, kindergarten.pk)
    city = kindergarten.city
    timing = release_timing(group=group, at=at)
    scheduled_start = timing.scheduled
    place_fields = {
        "group": group,
        "city_id": city.pk,
        "kindergarten_id": kindergarten.pk,
        "state": Place.State.SCHEDULED if scheduled_start else Place.State.PRIORITY,
        "released_at": at,
        "entered_priority_at": timing.enters_at,
        "priority_until": timing.priority_until,
    }
    with transaction.atomic():
        if submission is not None:
            _submission, first = ReleaseSubmission.objects.get_or_create(
                token=submission, defaults={"kindergarten": kindergarten, "submitted_at": at}
            )
            if not first:
                raise ReleaseAlreadySubmitted()
        places = Place.objects.bulk_create([Place(**place_fields) for _ in range(count)])
        kind = PlaceEvent.Kind.SCHEDULED if scheduled_start else PlaceEvent.Kind.RELEASED
        access = Access.SCHEDULED if scheduled_start else Access.PRIORITY
        PlaceEvent.objects.bulk_create(
            [place_event_build(place=place, kind=kind, at=at, by=by, access=access) for place in places]
        )
        registry_changed(places=places[:1])  # one group: one cohort, one kindergarten
    return places


def place_withdraw(*, place: Place, by=None, reason: str, at: dt.datetime | None = None) -> Place:
    """Withdraw a free place (scheduled, priority or general) with a reason; it leaves the registry at once.

    DOMAIN.md, Places 5 and the state diagram: from `priority` or `general` (and `scheduled`), by its
    kindergarten, at any time. The change is a conditional UPDATE, so a place taken meanwhile is refused.
    """
    at = at or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the withdrawal."), code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            _("The reason must be at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}, code="reason_too_long"
        )
    kindergarten_act_require(by, place.kindergarten_id)
    with transaction.atomic():
        changed = Place.objects.filter(pk=place.pk, state__in=Place.WITHDRAWABLE_STATES).update(
            state=Place.State.WITHDRAWN, withdrawn_at=at, withdraw_reason=reason
        )
        if not changed:
            raise PlaceNotWithdrawable()
        # Access is a function of the clock while the place is free, so the copy in hand tells it.
        access_before = place.access_at(at) or ""
        place.refresh_from_db()
        place_event_build(
            place=place, kind=PlaceEvent.Kind.WITHDRAWN, at=at, by=by, reason=reason, access=access_before
        ).save()
        registry_changed(places=[place])
    return place


def place_return(*, place: Place, at: dt.datetime, by=None, reason: str = "") -> Place:
    """A taken or enrolled place returns to priority access as a new release (DOMAIN.md, Places: from `taken`
    back to `priority` when its referral is cancelled or expires; 7: a terminated contract frees its place). The
    caller holds the place's lock (`locks.place_lock`, which reads it with its group and city)."""
    place.state = Place.State.PRIORITY
    place.released_at = place.entered_priority_at = at
    place.general_since = None
    place.priority_until = priority_ends_at(at, place.city.priority_working_days)
    place.save(update_fields=["state", "released_at", "entered_priority_at", "general_since", "priority_until"])
    place_event_build(
        place=place, kind=PlaceEvent.Kind.RETURNED, at=at, by=by, reason=reason, access=Access.PRIORITY
    ).save()
    registry_changed(places=[place])
    return place
