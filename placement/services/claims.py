"""Claims: a parent takes a free place for a queued application and gets a referral (DOMAIN.md, Places and their
access 3-4; Referral, enrolment, contract).

Who may take a place is one rule, `placement.selectors.claims.claim_refusal_judge`; this module takes the place
under it. Locks (placement/locks.py): the parent's row, then the place, then the application, in one short
transaction; partial unique constraints (one live referral per place, one per child) are the last line of defence.
Two parents racing for a place: the second waits on the place's lock and then finds it taken. One parent clicking
two places: the second click waits on the parent's lock and then finds the application referred. A cabinet block
takes the parent's lock too, so it never misses a claim in flight.

A claim is the storm's hot path (docs/PERFORMANCE.md): the facts it judges are read with the place and the
application (`selectors.claims.claim_place` and `claim_application` annotate them), the locked transaction reads
only what may have changed since (the block, the place's and the application's state), and the referral it
creates is what the caller shows. Claim attempts are limited per parent (`claim_attempt_register`).
"""

import datetime as dt
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CabinetBlock, Notification
from accounts.services.audit import audit_record
from accounts.services.notifications import notifications_dispatch_soon
from indigo.errors import DomainError
from indigo.metrics import claim_outcome_count
from indigo.ratelimit import window_hit
from schedules.calendar import protocol_day

from ..errors import ClaimRateLimited, ClaimRefused, NotYourApplication, PlaceGone
from ..locks import parent_lock, place_lock
from ..models import Application, Place, PlaceEvent, Referral
from ..registry_cache import registry_changed
from ..selectors.claims import claim_application, claim_refusal, place_gone
from .events import place_event_build
from .notifications import referral_issued_notify, referral_issued_texts

# The SQLSTATE `placement_claim_take` raises when the child was referred meanwhile (migration 0006).
CHILD_REFERRED_MEANWHILE = "IN001"
UNKNOWN_APPLICATION = _("There is no application with this number.")
CLAIM_ATTEMPTS_WINDOW = 60  # seconds: the limit is CLAIM_ATTEMPTS_PER_MINUTE attempts per parent and minute


def _live_referral(*, place: Place, application: Application) -> Referral | None:
    """The same claim made before (a double click, a retry after a timeout): its live referral, ready to show."""
    return (
        Referral.objects.filter(place_id=place.pk, application_id=application.pk, status=Referral.Status.LIVE)
        .select_related("kindergarten", "place__group", "application")
        .first()
    )


def _maybe_claimed_by(place: Place, application: Application) -> bool:
    """Whether `application` may hold the place's live referral, without a query when the place was read with
    its live referral's application (`live_application_id`, from `selectors.claims.claim_place`). A live
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
    for name, value in place_lock(place_id=place.pk, fields=_PLACE_STATE).items():
        setattr(place, name, value)
    if place.state == Place.State.TAKEN and (again := _live_referral(place=place, application=application)):
        return again
    problem = place_gone(place, at) or claim_refusal(place=place, application=application, by=by, at=at)
    if problem is not None:
        raise problem
    Place.objects.filter(pk=place.pk).update(state=Place.State.TAKEN)
    return None


def place_claim_by_number(*, place: Place, number: str, by, at: dt.datetime, ip: str | None = None):
    """A claim as the API receives it: a place (`selectors.claims.claim_place`) and an application number
    (normalised). A place someone else took is refused before the application is even read — the refusal a storm
    answers most often, so it costs one read; the same claim repeated is still answered with its referral.
    Otherwise as `place_claim`; an unknown number is a field error, someone else's application NotYourApplication.
    """
    if place.state in (Place.State.TAKEN, Place.State.ENROLLED) and place.live_application_number != number:
        claim_outcome_count(outcome="taken")
        raise PlaceGone("taken")
    found = claim_application(parent=by, number=number, at=at)
    if not found.exists:
        raise ValidationError({"application": [UNKNOWN_APPLICATION]}, code="invalid")
    if found.application is None:
        raise NotYourApplication()
    return place_claim(place=place, application=found.application, by=by, at=at, ip=ip)


def place_claim(
    *, place: Place, application: Application, by, at: dt.datetime | None = None, ip: str | None = None
) -> tuple[Referral, bool]:
    """Take a free place for a queued application and issue a referral; returns (referral, created). Each attempt
    is counted for the operators by its outcome (indigo.metrics): created, repeated or the refusal's code."""
    try:
        referral, created = _place_claim(place=place, application=application, by=by, at=at, ip=ip)
    except DomainError as refusal:
        claim_outcome_count(outcome=refusal.code)
        raise
    claim_outcome_count(outcome="created" if created else "repeated")
    return referral, created


def _place_claim(
    *, place: Place, application: Application, by, at: dt.datetime | None, ip: str | None
) -> tuple[Referral, bool]:
    """The claim itself.

    The same claim repeated (a double click, a retry after a timeout) returns the same live referral with
    created=False. Raises PlaceGone (409) or ClaimRefused (403) with a machine-readable `code`. The referral
    returned comes with its place and group, application and (when the place came with it) kindergarten, for
    the caller to show.

    The transaction: the parent's row locked, then the block read (a statement of its own), then the place and the
    application each taken by an UPDATE conditional on the state they were judged in (an UPDATE locks the row
    as FOR NO KEY UPDATE does, in the same order); a concurrent claim that got there first leaves the condition
    false, and the loser reads why under the lock. Then the referral, its `taken` event and the audit record. On
    PostgreSQL these steps are one statement (`_take_at_once`), so the locks are held for one round trip.
    """
    at = at or timezone.now()
    if _maybe_claimed_by(place, application) and (existing := _live_referral(place=place, application=application)):
        return existing, False
    problem = place_gone(place, at) or claim_refusal(place=place, application=application, by=by, at=at)
    if problem is not None:
        raise problem
    referral = Referral.issued(place=place, application=application, parent=by, at=at)
    access = place.access_at(at)
    try:
        with transaction.atomic():
            if not (connection.vendor == "postgresql" and _take_at_once(referral=referral, access=access, ip=ip)):
                again = _take_step_by_step(referral=referral, access=access, ip=ip)
                if again is not None:
                    return again, False
            registry_changed(places=[place])
    except IntegrityError as exc:  # the constraints caught what the locks should have: report, never 500
        raise ClaimRefused("has_live_referral") from exc
    if Place.kindergarten.is_cached(place):  # the caller shows the referral with its kindergarten
        referral.kindergarten = place.kindergarten
    place.state = Place.State.TAKEN
    application.status = Application.Status.REFERRED
    application.status_changed_at = at
    return referral, True


def _take_at_once(*, referral: Referral, access: str, ip: str | None) -> bool:
    """PostgreSQL: the locked part of the claim in one statement (`placement_claim_take`, migration 0006): the
    parent's lock, the block, the place and the application taken as judged, the referral, the event, the audit.
    True when done; False when the place changed since it was judged (the parent's lock is then held, and the
    caller takes the step-by-step path, which reads the place again under its lock). Raises ClaimRefused."""
    place, application, at = referral.place, referral.application, referral.issued_at
    group = place.group
    details = json.dumps({"place": place.pk, "application": application.number}, ensure_ascii=False)
    notice, texts = referral_issued_texts(referral=referral, application=application)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT outcome, referral_id FROM placement_claim_take(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s, %s::jsonb, %s, %s)",
                [
                    referral.parent_id, place.pk, place.entered_priority_at, place.priority_until, application.pk, at,
                    referral.number, referral.valid_until, referral.child_id, place.kindergarten_id, place.city_id,
                    protocol_day(at), group.birth_year, group.language, group.group_type, access, details, ip,
                    timezone.now(), Notification.Kind.REFERRAL_ISSUED, json.dumps(notice, ensure_ascii=False),
                    texts["ru"], texts["kk"],
                ],
            )  # fmt: skip
            outcome, referral_id = cursor.fetchone()
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) == CHILD_REFERRED_MEANWHILE:
            raise ClaimRefused("has_live_referral") from exc
        raise
    if outcome == "blocked":
        raise ClaimRefused("blocked")
    if outcome == "place_changed":
        return False
    referral.pk = referral_id
    referral._state.adding = False
    notifications_dispatch_soon()
    return True


def _take_step_by_step(*, referral: Referral, access: str, ip: str | None) -> Referral | None:
    """The locked part of the claim through the ORM (SQLite, and PostgreSQL when the place changed since it was
    judged). Returns the live referral of the same claim made meanwhile (a double click), None once the referral is
    written. Raises ClaimRefused or PlaceGone.

    The parent's row first: a cabinet block takes the same lock, so a claim and a block of the same parent never
    interleave (the block either sees the referral and cancels it, or the claim sees the block and is refused). The
    block is read by a statement of its own, after the lock: a subquery of the locking statement would read the
    snapshot taken before the wait, and miss a block committed while this claim waited (tests/placement/
    test_races.py found exactly that).
    """
    place, application, by, at = referral.place, referral.application, referral.parent, referral.issued_at
    parent_lock(user_id=by.pk)
    if CabinetBlock.objects.active_at(at).filter(user_id=by.pk).exists():
        raise ClaimRefused("blocked")
    again = _place_take(place=place, application=application, by=by, at=at)
    if again is not None:
        return again
    referred = Application.objects.filter(pk=application.pk, status=Application.Status.QUEUED).update(
        status=Application.Status.REFERRED, status_changed_at=at
    )
    if not referred:  # another claim of this child got there first (a second place, or this one twice)
        raise ClaimRefused("has_live_referral")
    referral.save(force_insert=True)
    place_event_build(place=place, kind=PlaceEvent.Kind.TAKEN, at=at, access=access).save()
    audit_record(
        actor=by, action="referral.issue", target=referral, ip=ip, at=at, place=place.pk, application=application.number
    )
    referral_issued_notify(referral=referral, parent=by, application=application, at=at)
    return None


def claim_attempt_register(*, by, at: dt.datetime | None = None, ip: str | None = None) -> int:
    """Count one claim attempt of `by` and refuse it past `settings.CLAIM_ATTEMPTS_PER_MINUTE` in the current
    minute: raises ClaimRateLimited with the seconds until the window ends. Returns the attempt's number in its
    window (0 when the limit is off or the cache cannot count).

    Claim spam is limited per parent (DOMAIN.md, People and security): an honest parent racing in a storm makes a
    handful of attempts (a 409 sends them to another place), a bot makes hundreds. The first refused attempt of a
    window is audited, the others are not, so a bot cannot flood the audit log. When the cache cannot count, the
    claim goes through (`indigo.ratelimit`): the limit protects the portal, its absence must not take claims down.
    """
    limit = settings.CLAIM_ATTEMPTS_PER_MINUTE
    if not limit:
        return 0
    at = at or timezone.now()
    hit = window_hit(prefix="claim-attempts", key=str(by.pk), window=CLAIM_ATTEMPTS_WINDOW, at=at)
    if not hit.over(limit):
        return hit.count or 0
    claim_outcome_count(outcome=ClaimRateLimited.code)
    if hit.count == limit + 1:
        audit_record(
            actor=by, action="claim.rate_limited", target=by, ip=ip, at=at, limit=limit, window=CLAIM_ATTEMPTS_WINDOW
        )
    raise ClaimRateLimited(hit.retry_after)
