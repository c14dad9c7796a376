"""Claims, referrals and enrolment (DOMAIN.md, Places and their access 3-4; Referral, enrolment, contract).

Locking (STYLE.md): the parent's user row, then the place row, then the application row, always in that order,
each with `SELECT ... FOR NO KEY UPDATE`, in one short transaction; partial unique constraints (one live referral
per place, one per child) are the last line of defence. Two parents racing for a place: the second waits on the
place's lock and then sees it taken. One parent clicking two places: the second click waits on the application's
lock and then sees it referred. A cabinet block takes the user row's lock too, so it never misses a claim in flight.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Representation
from accounts.services.audit import audit_record
from accounts.services.blocks import block_active
from schedules.calendar import PROTOCOL_MOMENT, at_astana, counted_days, priority_ends_at

from ..models import Access, Application, Contract, Place, PlaceEvent, Referral
from ..selectors_queue import queue_position
from .errors import PlacementError
from .events import place_event_build

REFERRAL_WORKING_DAYS = 5


class ClaimRefused(PlacementError):
    """This parent may not take this place (HTTP 403)."""

    status = 403


class PlaceGone(PlacementError):
    """The place is no longer free (HTTP 409)."""

    status = 409


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


def claim_refusal(*, place: Place, application: Application, by, at: dt.datetime) -> ClaimRefused | None:
    """Why `by` may not take `place` for `application` now (None when they may). Reads only, no locks: the
    registry asks it for every place it shows, and place_claim asks it again before locking."""
    if block_active(user=by, at=at) is not None:
        return refuse("blocked")
    if not Representation.objects.filter(
        parent=by, child_id=application.child_id, status=Representation.Status.CONFIRMED
    ).exists():
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
        position = queue_position(application)
        head = priority_places_count(city_id=place.city_id, birth_year=group.birth_year, at=at)
        if position is None or position > head:
            return refuse(
                "not_head_of_queue",
                _("Position %(position)s; %(head)s places of this birth year are in priority access until %(until)s.")
                % {
                    "position": position,
                    "head": head,
                    "until": timezone.localtime(place.priority_until).strftime("%d.%m %H:%M"),
                },
            )
    return None


def place_gone(place: Place, at: dt.datetime) -> PlaceGone | None:
    if place.state == Place.State.WITHDRAWN:
        return gone("withdrawn")
    if place.state in (Place.State.TAKEN, Place.State.ENROLLED):
        return gone("taken")
    if place.access_at(at) not in (Access.PRIORITY, Access.GENERAL):
        return gone("not_open")
    return None


def place_claim(
    *, place: Place, application: Application, by, at: dt.datetime | None = None, ip: str | None = None
) -> tuple[Referral, bool]:
    """Take a free place for a queued application and issue a referral; returns (referral, created).

    The same claim repeated (a double click, a retry after a timeout) returns the same live referral with
    created=False. Raises PlaceGone (409) or ClaimRefused (403) with a machine-readable `code`.
    """
    at = at or timezone.now()
    existing = Referral.objects.filter(
        place_id=place.pk, application_id=application.pk, status=Referral.Status.LIVE
    ).first()
    if existing is not None:
        return existing, False
    problem = place_gone(place, at) or claim_refusal(place=place, application=application, by=by, at=at)
    if problem is not None:
        raise problem
    try:
        with transaction.atomic():
            # The parent's row first: a cabinet block takes the same lock, so a claim and a block of the same
            # parent never interleave (the block either sees the referral and cancels it, or the claim sees the
            # block and is refused).
            get_user_model().objects.select_for_update(of=("self",), no_key=True).filter(pk=by.pk).first()
            if block_active(user=by, at=at) is not None:
                raise refuse("blocked")
            locked_place = (
                Place.objects.select_for_update(of=("self",), no_key=True).select_related("group").get(pk=place.pk)
            )
            locked_application = Application.objects.select_for_update(of=("self",), no_key=True).get(pk=application.pk)
            again = Referral.objects.filter(
                place_id=place.pk, application_id=application.pk, status=Referral.Status.LIVE
            ).first()
            if again is not None:
                return again, False
            problem = place_gone(locked_place, at)
            if problem is None and locked_application.status != Application.Status.QUEUED:
                problem = refuse("has_live_referral")
            if problem is not None:
                raise problem
            access = locked_place.access_at(at)
            Place.objects.filter(pk=place.pk).update(state=Place.State.TAKEN)
            Application.objects.filter(pk=application.pk).update(
                status=Application.Status.REFERRED, status_changed_at=at
            )
            referral = Referral.objects.create(
                place=locked_place,
                application=locked_application,
                child_id=locked_application.child_id,
                parent=by,
                kindergarten_id=locked_place.kindergarten_id,
                issued_at=at,
                valid_until=referral_valid_until(at),
            )
            place_event_build(place=locked_place, kind=PlaceEvent.Kind.TAKEN, at=at, access=access).save()
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
    return referral, True


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
