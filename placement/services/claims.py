"""Claims, referrals and enrolment (DOMAIN.md, Places and their access 3-4; Referral, enrolment, contract).

Locking (STYLE.md): the parent's user row, then the place row, then the application row, always in that order,
in one short transaction: the user row with `SELECT ... FOR NO KEY UPDATE`, the place and the application by the
conditional UPDATEs that take them (an UPDATE of non-key columns takes the same row lock); partial unique
constraints (one live referral per place, one per child) are the last line of defence. Two parents racing for a
place: the second waits on the place's lock and then finds it taken. One parent clicking two places: the second
click waits on the parent's lock and then finds the application referred. A cabinet block takes the user row's lock
too, so it never misses a claim in flight.

A claim is the storm's hot path (docs/PERFORMANCE.md): the facts it judges are read with the place and the
application (`selectors_claims.claim_place` and `claim_application` annotate them), the locked transaction reads
only what may have changed since (the block, the place's and the application's state), and the referral it
creates is what the caller shows. Claim attempts are limited per parent (`claim_attempt_register`).
"""

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CabinetBlock, Representation
from accounts.services.audit import audit_record
from accounts.services.blocks import block_active
from schedules.calendar import PROTOCOL_MOMENT, at_astana, counted_days, priority_ends_at

from ..models import Access, Application, Contract, Place, PlaceEvent, Referral
from ..registry_cache import registry_changed
from ..selectors_queue import queue_position
from .errors import PlacementError
from .events import place_event_build

logger = logging.getLogger(__name__)

REFERRAL_WORKING_DAYS = 5


class ClaimRefused(PlacementError):
    """This parent may not take this place (HTTP 403)."""

    status = 403


class PlaceGone(PlacementError):
    """The place is no longer free (HTTP 409)."""

    status = 409


class ClaimRateLimited(PlacementError):
    """Too many claim attempts by one parent in the current window (HTTP 429, `retry_after` seconds)."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(_("Too many attempts to take a place. Try again in %(seconds)s s.") % {"seconds": retry_after})


REFUSALS = {
    "blocked": _("Your cabinet is blocked."),
    "not_confirmed": _("Your legal representation of this child is not confirmed yet."),
    "not_in_queue": _("This application is not in the queue."),
    "has_live_referral": _("This child already holds a referral."),
    "city_mismatch": _("The place is in another city than the application."),
    "cohort_mismatch": _("The place is for another birth year."),
    "language_mismatch": _("The place's language of instruction does not match the application."),
    "group_type_mismatch": _("The place's group type does not match the application."),
    "not_head_of_queue": _("The place is in priority access and the application is not at the head of the queue."),
}
GONE = {
    "taken": _("Someone has already taken this place."),
    "withdrawn": _("The kindergarten has withdrawn this place."),
    "not_open": _("This place is not open yet."),
}


def refuse(code: str, message=None) -> ClaimRefused:
    error = ClaimRefused(message or REFUSALS[code])
    error.code = code
    return error


def gone(code: str) -> PlaceGone:
    error = PlaceGone(GONE[code])
    error.code = code
    return error


def referral_valid_until(issued_at: dt.datetime) -> dt.datetime:
    """18:00 of the 5th counted working day (the counted-day rule of DOMAIN.md, Places 2)."""
    return at_astana(counted_days(issued_at, REFERRAL_WORKING_DAYS)[-1], PROTOCOL_MOMENT)


def priority_places_count(*, city_id: int, birth_year: int, at: dt.datetime) -> int:
    """The head of the queue's size: places of the cohort now in priority access in the city."""
    return Place.objects.in_priority_at(at).filter(city_id=city_id, group__birth_year=birth_year).count()


def blocks_active(at: dt.datetime):
    """Cabinet blocks in force at `at` (block_active's condition, as a queryset to use in a subquery)."""
    return CabinetBlock.objects.filter(lifted_at__isnull=True, starts_at__lte=at, ends_at__gt=at)


@dataclass(frozen=True)
class ClaimFacts:
    """What a claim judges about the parent, read with the application (`selectors_claims.claim_application`)
    for `parent_id` at `at`: whether the parent's cabinet is blocked and their representation of the child
    confirmed. `place_claim` and `claim_refusal` use them only for the same parent and moment."""

    parent_id: int
    at: dt.datetime
    blocked: bool
    confirmed: bool


def claim_facts(*, application: Application, by, at: dt.datetime) -> ClaimFacts:
    """The facts carried by the application when they were read for `by` at `at`; else read now (two queries)."""
    facts = getattr(application, "claim_facts", None)
    if facts is not None and facts.parent_id == by.pk and facts.at == at:
        return facts
    return ClaimFacts(
        parent_id=by.pk,
        at=at,
        blocked=block_active(user=by, at=at) is not None,
        confirmed=Representation.objects.filter(
            parent=by, child_id=application.child_id, status=Representation.Status.CONFIRMED
        ).exists(),
    )


def not_head_message(*, position: int | None, head: int, place: Place) -> str:
    return _("Position %(position)s; %(head)s places of this birth year are in priority access until %(until)s.") % {
        "position": position,
        "head": head,
        "until": timezone.localtime(place.priority_until).strftime("%d.%m %H:%M"),
    }


def claim_refusal_judge(
    *,
    place: Place,
    application: Application,
    at: dt.datetime,
    blocked: bool,
    confirmed: bool,
    standing: Callable[[], tuple[int | None, int]],
) -> ClaimRefused | None:
    """The rule of who may take a place (DOMAIN.md, Places and their access 3-4), on facts read beforehand, in
    the order the reasons are given. `standing()` returns (queue position, places of the cohort in priority
    access) and is called only for a place in priority access: the head of the queue may take it."""
    if blocked:
        return refuse("blocked")
    if not confirmed:
        return refuse("not_confirmed")
    if application.status == Application.Status.REFERRED:
        return refuse("has_live_referral")
    if application.status != Application.Status.QUEUED:
        return refuse("not_in_queue")
    group = place.group
    if place.city_id != application.city_id:
        return refuse("city_mismatch")
    if group.birth_year != application.birth_year:
        return refuse("cohort_mismatch")
    if application.language != Application.Language.ANY and application.language != group.language:
        return refuse("language_mismatch")
    if application.group_type != group.group_type:
        return refuse("group_type_mismatch")
    if place.access_at(at) == Access.PRIORITY:
        position, head = standing()
        if position is None or position > head:
            return refuse("not_head_of_queue", not_head_message(position=position, head=head, place=place))
    return None


def claim_refusal(*, place: Place, application: Application, by, at: dt.datetime) -> ClaimRefused | None:
    """Why `by` may not take `place` for `application` now (None when they may). Reads only, no locks: the
    confirmation page asks it before the parent confirms, and place_claim asks it again before locking."""
    facts = claim_facts(application=application, by=by, at=at)
    return claim_refusal_judge(
        place=place,
        application=application,
        at=at,
        blocked=facts.blocked,
        confirmed=facts.confirmed,
        standing=lambda: (
            queue_position(application),
            priority_places_count(city_id=place.city_id, birth_year=place.group.birth_year, at=at),
        ),
    )


def place_gone(place: Place, at: dt.datetime) -> PlaceGone | None:
    if place.state == Place.State.WITHDRAWN:
        return gone("withdrawn")
    if place.state in (Place.State.TAKEN, Place.State.ENROLLED):
        return gone("taken")
    if place.access_at(at) not in (Access.PRIORITY, Access.GENERAL):
        return gone("not_open")
    return None


def _live_referral(*, place: Place, application: Application) -> Referral | None:
    """The same claim made before (a double click, a retry after a timeout): its live referral, ready to show."""
    return (
        Referral.objects.filter(place_id=place.pk, application_id=application.pk, status=Referral.Status.LIVE)
        .select_related("kindergarten", "place__group", "application")
        .first()
    )


def _maybe_claimed_by(place: Place, application: Application) -> bool:
    """Whether `application` may hold the place's live referral, without a query when the place was read with
    its live referral's application (`live_application_id`, from `selectors_claims.claim_place`). A live
    referral means a taken place, so a free one never needs the look-up."""
    if place.state != Place.State.TAKEN:
        return False
    holder = getattr(place, "live_application_id", ...)
    return holder is ... or holder == application.pk


# The columns read again under the lock when the place changed since it was judged.
_PLACE_STATE = ("state", "entered_priority_at", "priority_until", "general_since", "released_at")


def _place_take(*, place: Place, application: Application, by, at: dt.datetime) -> Referral | None:
    """Under the parent's lock: take the place, locking its row. Returns the live referral of the same claim
    made meanwhile (a double click), None once the place is taken; raises when it is gone.

    The place was judged on the row read before the lock; an UPDATE conditional on that row being unchanged
    (still free, same release times) takes it in one statement. Otherwise (taken meanwhile, or taken, returned
    and released again) the row is read under the lock and judged again.
    """
    taken = Place.objects.filter(
        pk=place.pk,
        state__in=Place.LIVE_STATES,
        entered_priority_at=place.entered_priority_at,
        priority_until=place.priority_until,
    ).update(state=Place.State.TAKEN)
    if taken:
        return None
    state = Place.objects.select_for_update(of=("self",), no_key=True).filter(pk=place.pk).values(*_PLACE_STATE).get()
    for name, value in state.items():
        setattr(place, name, value)
    if place.state == Place.State.TAKEN and (again := _live_referral(place=place, application=application)):
        return again
    problem = place_gone(place, at) or claim_refusal(place=place, application=application, by=by, at=at)
    if problem is not None:
        raise problem
    Place.objects.filter(pk=place.pk).update(state=Place.State.TAKEN)
    return None


def place_claim(
    *, place: Place, application: Application, by, at: dt.datetime | None = None, ip: str | None = None
) -> tuple[Referral, bool]:
    """Take a free place for a queued application and issue a referral; returns (referral, created).

    The same claim repeated (a double click, a retry after a timeout) returns the same live referral with
    created=False. Raises PlaceGone (409) or ClaimRefused (403) with a machine-readable `code`. The referral
    returned comes with its place and group, application and (when the place came with it) kindergarten, for
    the caller to show.

    The transaction: the parent's row locked, then the block read (a statement of its own), then the place and the
    application each taken by an UPDATE conditional on the state they were judged in (an UPDATE locks the row
    as FOR NO KEY UPDATE does, in the same order); a concurrent claim that got there first leaves the condition
    false, and the loser reads why under the lock. Then the referral, its `taken` event and the audit record.
    """
    at = at or timezone.now()
    if _maybe_claimed_by(place, application) and (existing := _live_referral(place=place, application=application)):
        return existing, False
    problem = place_gone(place, at) or claim_refusal(place=place, application=application, by=by, at=at)
    if problem is not None:
        raise problem
    try:
        with transaction.atomic():
            # The parent's row first: a cabinet block takes the same lock, so a claim and a block of the same
            # parent never interleave (the block either sees the referral and cancels it, or the claim sees the
            # block and is refused). The block is read by a statement of its own, after the lock: a subquery of
            # the locking statement would read the snapshot taken before the wait, and miss a block committed
            # while this claim waited (tests/placement/test_races.py found exactly that).
            get_user_model().objects.select_for_update(of=("self",), no_key=True).filter(pk=by.pk).values("pk").get()
            if blocks_active(at).filter(user_id=by.pk).exists():
                raise refuse("blocked")
            again = _place_take(place=place, application=application, by=by, at=at)
            if again is not None:
                return again, False
            referred = Application.objects.filter(pk=application.pk, status=Application.Status.QUEUED).update(
                status=Application.Status.REFERRED, status_changed_at=at
            )
            if not referred:  # another claim of this child got there first (a second place, or this one twice)
                raise refuse("has_live_referral")
            access = place.access_at(at)
            referral = Referral.objects.create(
                place=place,
                application=application,
                child_id=application.child_id,
                parent=by,
                kindergarten_id=place.kindergarten_id,
                issued_at=at,
                valid_until=referral_valid_until(at),
            )
            if Place.kindergarten.is_cached(place):  # the caller shows the referral with its kindergarten
                referral.kindergarten = place.kindergarten
            place_event_build(place=place, kind=PlaceEvent.Kind.TAKEN, at=at, access=access).save()
            registry_changed(city_ids=[place.city_id])
            audit_record(
                actor=by,
                action="referral.issue",
                target=referral,
                ip=ip,
                at=at,
                place=place.pk,
                application=application.number,
            )
    except IntegrityError as exc:  # the constraints caught what the locks should have: report, never 500
        raise refuse("has_live_referral") from exc
    place.state = Place.State.TAKEN
    application.status = Application.Status.REFERRED
    application.status_changed_at = at
    return referral, True


# --- Claim attempts per parent --------------------------------------------------------------------------------

CLAIM_ATTEMPTS_WINDOW = 60  # seconds: the limit is CLAIM_ATTEMPTS_PER_MINUTE attempts per parent and minute
_cache_warned_at = 0.0  # when this process last logged that the cache is unreachable


def _attempts_incr(key: str, timeout: int) -> int | None:
    """Add one to the window's counter and return it; None when the cache cannot count now.

    One round trip on Redis: SET NX with the expiry and INCR in one pipeline (Django's add + incr would take
    three). The other backends are local, so add + incr cost nothing there.
    """
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(key)

        def count() -> int:
            pipeline = cache._cache.get_client(redis_key, write=True).pipeline(transaction=False)
            pipeline.set(redis_key, 0, ex=timeout, nx=True)
            pipeline.incr(redis_key)
            return pipeline.execute()[1]

        # indigo.cache.TolerantRedisCache keeps the outage state (it skips a Redis known to be down and logs the
        # outage once): count through it. A plain RedisCache raises, which the caller logs.
        attempt = getattr(cache, "attempt", None)
        return attempt(count, None) if attempt is not None else count()
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this attempt opens a new counter
        cache.add(key, 1, timeout)
        return 1


def claim_attempt_register(*, by, at: dt.datetime | None = None, ip: str | None = None) -> int:
    """Count one claim attempt of `by` and refuse it past `settings.CLAIM_ATTEMPTS_PER_MINUTE` in the current
    minute (a fixed window in the shared cache): raises ClaimRateLimited with the seconds until the window ends.
    Returns the attempt's number in its window (0 when the limit is off or the cache is unreachable).

    Claim spam is limited per parent (issue 7; DOMAIN.md, People and security): an honest parent racing in a
    storm makes a handful of attempts (a 409 sends them to another place), a bot makes hundreds. The first
    refused attempt of a window is audited, the others are not, so a bot cannot flood the audit log. When the
    cache cannot be reached the claim goes through and the process logs a warning (at most once a minute):
    the limit protects the portal, its absence must not take claims down.
    """
    global _cache_warned_at
    limit = settings.CLAIM_ATTEMPTS_PER_MINUTE
    if not limit:
        return 0
    at = at or timezone.now()
    moment = at.timestamp()
    window = int(moment // CLAIM_ATTEMPTS_WINDOW)
    try:
        attempts = _attempts_incr(f"claim-attempts:{by.pk}:{window}", CLAIM_ATTEMPTS_WINDOW + 5)
    except Exception:  # any cache failure: Redis down, a timeout, an unwritable file cache
        if moment - _cache_warned_at >= CLAIM_ATTEMPTS_WINDOW:
            _cache_warned_at = moment
            logger.warning("claim attempts are not limited: the cache is unreachable", exc_info=True)
        return 0
    if attempts is None:  # the cache knows it is down and has said so
        return 0
    if attempts <= limit:
        return attempts
    retry_after = max(1, math.ceil((window + 1) * CLAIM_ATTEMPTS_WINDOW - moment))
    if attempts == limit + 1:
        audit_record(
            actor=by, action="claim.rate_limited", target=by, ip=ip, at=at, limit=limit, window=CLAIM_ATTEMPTS_WINDOW
        )
    raise ClaimRateLimited(retry_after)


def _place_return(*, place_id: int, at: dt.datetime, by=None, reason: str = "") -> None:
    """A taken place returns to priority access as a new release (DOMAIN.md, Places: from `taken` back to
    `priority`)."""
    place = Place.objects.select_for_update(of=("self",), no_key=True).select_related("group", "city").get(pk=place_id)
    Place.objects.filter(pk=place_id).update(
        state=Place.State.PRIORITY,
        released_at=at,
        entered_priority_at=at,
        general_since=None,
        priority_until=priority_ends_at(at, place.city.priority_working_days),
    )
    place.refresh_from_db()
    place_event_build(
        place=place, kind=PlaceEvent.Kind.RETURNED, at=at, by=by, reason=reason, access=Access.PRIORITY
    ).save()
    registry_changed(city_ids=[place.city_id])


def _application_return(*, application_id: int, at: dt.datetime) -> None:
    """The child goes back to the queue with its original time, after the city's hold-out where it is set."""
    application = (
        Application.objects.select_for_update(of=("self",), no_key=True).select_related("city").get(pk=application_id)
    )
    holdout = application.city.referral_holdout_days
    if holdout:
        Application.objects.filter(pk=application_id).update(
            status=Application.Status.HELD, status_changed_at=at, held_until=at + dt.timedelta(days=holdout)
        )
    else:
        Application.objects.filter(pk=application_id).update(
            status=Application.Status.QUEUED, status_changed_at=at, held_until=None
        )


def referral_close(
    *, referral: Referral, status: str, at: dt.datetime, by=None, reason: str = "", ip: str | None = None
) -> bool:
    """End a live referral (declined, expired, cancelled): the place returns, the child goes back to the queue.
    A conditional update: returns False when the referral was no longer live (another path closed it)."""
    with transaction.atomic():
        Place.objects.select_for_update(of=("self",), no_key=True).filter(pk=referral.place_id).first()
        closed = Referral.objects.filter(pk=referral.pk, status=Referral.Status.LIVE).update(
            status=status, closed_at=at, close_reason=reason
        )
        if not closed:
            return False
        _place_return(place_id=referral.place_id, at=at, by=by, reason=reason)
        _application_return(application_id=referral.application_id, at=at)
        audit_record(actor=by, action=f"referral.{status}", target=referral, ip=ip, at=at, reason=reason)
    referral.refresh_from_db()
    return True


class ReferralNotLive(PlacementError):
    code = "referral_not_live"
    message = _("This referral is no longer valid.")


def referral_decline(*, referral: Referral, by, at: dt.datetime | None = None, ip: str | None = None) -> Referral:
    """The parent gives the place up: it returns to priority access as a new release."""
    at = at or timezone.now()
    if referral.parent_id != by.pk:
        raise refuse("not_confirmed", _("Only the parent who holds the referral may decline it."))
    if not referral_close(
        referral=referral, status=Referral.Status.DECLINED, at=at, by=by, reason=str(_("Declined by the parent")), ip=ip
    ):
        raise ReferralNotLive()
    return referral


def referral_enrol(*, referral: Referral, by, at: dt.datetime | None = None, ip: str | None = None) -> Contract:
    """Staff of the referral's kindergarten enrol the child within validity: the contract and `enrolled` event."""
    from .places import _ensure_acts_on

    at = at or timezone.now()
    _ensure_acts_on(by=by, kindergarten_id=referral.kindergarten_id)
    with transaction.atomic():
        place = (
            Place.objects.select_for_update(of=("self",), no_key=True).select_related("group").get(pk=referral.place_id)
        )
        enrolled = Referral.objects.filter(pk=referral.pk, status=Referral.Status.LIVE, valid_until__gte=at).update(
            status=Referral.Status.ENROLLED, closed_at=at
        )
        if not enrolled:
            raise ReferralNotLive()
        Place.objects.filter(pk=place.pk).update(state=Place.State.ENROLLED)
        Application.objects.filter(pk=referral.application_id).update(
            status=Application.Status.ENROLLED, status_changed_at=at
        )
        contract = Contract.objects.create(
            referral=referral,
            kindergarten_id=referral.kindergarten_id,
            child_id=referral.child_id,
            parent_id=referral.parent_id,
            enrolled_at=at,
            enrolled_by=by,
        )
        place_event_build(place=place, kind=PlaceEvent.Kind.ENROLLED, at=at, by=by).save()
        registry_changed(city_ids=[place.city_id])
        audit_record(actor=by, action="referral.enrol", target=referral, ip=ip, at=at, contract=contract.pk)
    referral.refresh_from_db()
    return contract


def referrals_expire(*, city, cutoff: dt.datetime, day, recorded_at) -> int:
    """The 18:00 run's step: every live referral of the city due by `cutoff` expires at its own deadline."""
    due = Referral.objects.filter(status=Referral.Status.LIVE, place__city=city, valid_until__lte=cutoff).order_by(
        "place_id"
    )
    count = 0
    for referral in due.iterator(chunk_size=500):
        if referral_close(
            referral=referral, status=Referral.Status.EXPIRED, at=referral.valid_until, reason=str(_("Expired"))
        ):
            count += 1
    return count


def applications_release_held(*, city, cutoff: dt.datetime, day, recorded_at) -> int:
    """Children held out after a lost referral come back to the queue, with their original time."""
    return Application.objects.filter(city=city, status=Application.Status.HELD, held_until__lte=cutoff).update(
        status=Application.Status.QUEUED, status_changed_at=recorded_at, held_until=None
    )
