"""Offers in offer mode (issue 14; DOMAIN.md, Allocation modes): the parent's answer, the end of an offer, the pause.

An offer holds its place (state `offered`) until 18:00 of the city's `offer_working_days`-th counted working day.
Accepted, it becomes exactly what a claim gives: a referral of 5 counted working days, the place `taken`, the
application `referred`, the `taken` event, the referral-issued SMS. Declined, its place returns to priority access as
a new release (for the next run) and the application stays in the queue with its time. Expired unanswered, the place
returns the same way and the application is paused: out of allocation, its time and position kept, until the parent
resumes it (once, within 28 days of the pause) or an admin does.

Locks (placement/locks.py), always in this order: the parent's row (a cabinet block takes it too), the place, the
application. The offer's own state changes by a conditional UPDATE (`state = 'live'`), so two paths ending the same
offer (an accept racing the 18:00 run's expiry, a decline racing a block) end it once.
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import CabinetBlock, Notification
from accounts.permissions import department_admin_require
from accounts.services.audit import audit_record

from ..errors import (
    ApplicationNotPaused,
    ClaimRefused,
    NoSuchApplication,
    NoSuchOffer,
    OfferExpired,
    OfferNotLive,
    ResumeExpired,
)
from ..locks import application_lock, parent_lock, place_lock
from ..models import Access, Application, Offer, Place, PlaceEvent, Referral
from ..models.referrals import referral_valid_until
from ..permissions import parent_holds_child
from ..registry_cache import registry_changed
from .events import place_event_build
from .notifications import RESUME_DAYS, offers_notify, referral_issued_notify
from .places import place_return

DECLINED_REASON = _("Offer declined by the parent")
EXPIRED_REASON = _("Offer expired unanswered")
BLOCKED_REASON = _("Offer withdrawn: the parent's cabinet is blocked")
ADMINS_RESUME = _("Only department admins resume an application past the parent's window.")
RESUME_WINDOW = dt.timedelta(days=RESUME_DAYS)


def _live_offer_refusal(*, offer_id: int, at: dt.datetime) -> OfferNotLive | OfferExpired | None:
    """Why the offer cannot be answered now (read under the place's lock), or None."""
    state, valid_until = Offer.objects.filter(pk=offer_id).values_list("state", "valid_until").get()
    if state != Offer.State.LIVE:
        return OfferNotLive()
    if valid_until <= at:
        return OfferExpired()
    return None


def offer_accept(*, offer: Offer, parent, at: dt.datetime, ip: str | None = None) -> Referral:
    """The parent takes the offered place: a referral exactly as a claim gives (DOMAIN.md, Referral, enrolment,
    contract), issued now. Raises NoSuchOffer (404) for another family's offer, OfferNotLive, OfferExpired, and
    ClaimRefused("blocked") when the parent's cabinet is blocked."""
    if offer.parent_id != parent.pk:
        raise NoSuchOffer()
    with transaction.atomic():
        parent_lock(user_id=parent.pk)
        if CabinetBlock.objects.active_at(at).filter(user_id=parent.pk).exists():
            raise ClaimRefused("blocked")
        place = place_lock(place_id=offer.place_id)
        if (refusal := _live_offer_refusal(offer_id=offer.pk, at=at)) is not None:
            raise refusal
        application = application_lock(application_id=offer.application_id)
        referral = Referral.objects.create(
            place=place,
            application=application,
            child_id=application.child_id,
            parent=parent,
            kindergarten_id=place.kindergarten_id,
            issued_at=at,
            valid_until=referral_valid_until(at),
        )
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.ACCEPTED, decided_at=at, referral=referral)
        Place.objects.filter(pk=place.pk).update(state=Place.State.TAKEN)
        Application.objects.filter(pk=application.pk).update(
            status=Application.Status.REFERRED, status_changed_at=at
        )
        place_event_build(place=place, kind=PlaceEvent.Kind.TAKEN, at=at, by=parent, access=Access.PRIORITY).save()
        audit_record(
            actor=parent,
            action="referral.issue",
            target=referral,
            ip=ip,
            at=at,
            place=place.pk,
            application=application.number,
            offer=offer.pk,
        )
        referral_issued_notify(referral=referral, parent=parent, application=application, at=at)
        registry_changed(places=[place])
    offer.state, offer.decided_at, offer.referral = Offer.State.ACCEPTED, at, referral
    return referral


def offer_end(
    *, offer: Offer, state: str, at: dt.datetime, by=None, reason: str = "", ip: str | None = None
) -> bool:
    """End a live offer without a referral (declined, or expired): its place returns to priority access as a new
    release, for the next run; an expired offer pauses its application and tells the parent (APPLICATION_PAUSED).
    Returns False when the offer was no longer live (another path ended it first). The caller may hold the parent's
    lock (a block does); the place's is taken here."""
    with transaction.atomic():
        place = place_lock(place_id=offer.place_id)
        ended = Offer.objects.filter(pk=offer.pk, state=Offer.State.LIVE).update(
            state=state, decided_at=at, close_reason=str(reason)
        )
        if not ended:
            return False
        place_return(place=place, at=at, by=by, reason=str(reason))
        if state == Offer.State.EXPIRED:
            application_lock(application_id=offer.application_id)
            Application.objects.filter(pk=offer.application_id, status=Application.Status.QUEUED).update(paused_at=at)
            offers_notify(kind=Notification.Kind.APPLICATION_PAUSED, offers=[offer], at=at)
        audit_record(actor=by, action=f"offer.{state}", target=offer, ip=ip, at=at, reason=str(reason))
    offer.state, offer.decided_at, offer.close_reason = state, at, str(reason)
    return True


def offer_decline(*, offer: Offer, parent, at: dt.datetime, ip: str | None = None) -> None:
    """The parent declines the offer: the place returns for the next run, the application stays in the queue with
    its time (and takes part in the next run with its choices as they are then)."""
    if offer.parent_id != parent.pk:
        raise NoSuchOffer()
    if (refusal := _live_offer_refusal(offer_id=offer.pk, at=at)) is not None:
        raise refusal
    if not offer_end(offer=offer, state=Offer.State.DECLINED, at=at, by=parent, reason=DECLINED_REASON, ip=ip):
        raise OfferNotLive()


def application_resume(*, application: Application, parent, at: dt.datetime, ip: str | None = None) -> None:
    """The parent resumes an application paused by an expired offer: back in the next run's allocation with its
    time. Once per application, within 28 days of the pause; otherwise ResumeExpired (an admin may resume it).
    Raises NoSuchApplication (404) when `parent` does not represent the child, ApplicationNotPaused."""
    if not parent_holds_child(parent=parent, child_id=application.child_id):
        raise NoSuchApplication()
    with transaction.atomic():
        locked = application_lock(application_id=application.pk)
        if locked.paused_at is None:
            raise ApplicationNotPaused()
        if locked.resumed_at is not None or at > locked.paused_at + RESUME_WINDOW:
            raise ResumeExpired()
        Application.objects.filter(pk=application.pk).update(paused_at=None, resumed_at=at)
        audit_record(actor=parent, action="application.resume", target=application, ip=ip, at=at)
    application.paused_at, application.resumed_at = None, at


def application_resume_by_admin(*, application: Application, by, at: dt.datetime, ip: str | None = None) -> None:
    """A department admin resumes a paused application whatever its dates (the case past the parent's window)."""
    department_admin_require(by, ADMINS_RESUME)
    with transaction.atomic():
        locked = application_lock(application_id=application.pk)
        if locked.paused_at is None:
            raise ApplicationNotPaused()
        Application.objects.filter(pk=application.pk).update(paused_at=None)
        audit_record(actor=by, action="application.resume", target=application, ip=ip, at=at, by_admin=True)
    application.paused_at = None
