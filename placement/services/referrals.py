"""The referral's life after a claim (DOMAIN.md, Referral, enrolment, contract; Places: from `taken` back to
`priority`): the parent declines it, the kindergarten enrols the child (a contract), it expires at 18:00 of its 5th
counted working day, or a cabinet block cancels it. Whenever a referral ends without an enrolment its place returns
to priority access as a new release and the child goes back to the queue with its original time.

Locks (placement/locks.py): the place, then the application, in one transaction; the referral's own status is
changed by a conditional UPDATE, so two paths closing the same referral (a decline racing the 18:00 run's expiry)
close it once.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.services.audit import audit_record

from ..errors import NotReferralHolder, ReferralNotLive
from ..locks import place_lock
from ..models import Application, City, Contract, Place, PlaceEvent, Referral, ReturnReason
from ..permissions import kindergarten_act_require
from ..registry_cache import registry_changed
from .applications import application_return
from .events import place_event_build
from .places import place_return


def referral_close(
    *, referral: Referral, status: str, at: dt.datetime, by=None, reason: str = "", ip: str | None = None
) -> bool:
    """End a live referral (declined, expired, cancelled): the place returns, the child goes back to the queue.
    Returns False when the referral was no longer live (another path closed it first)."""
    with transaction.atomic():
        place = place_lock(place_id=referral.place_id)
        closed = Referral.objects.filter(pk=referral.pk, status=Referral.Status.LIVE).update(
            status=status, closed_at=at, close_reason=reason
        )
        if not closed:
            return False
        place_return(place=place, at=at, by=by, reason=reason)
        application_return(application_id=referral.application_id, at=at)
        audit_record(actor=by, action=f"referral.{status}", target=referral, ip=ip, at=at, reason=reason)
    referral.status, referral.closed_at, referral.close_reason = status, at, reason
    return True


def referral_decline(*, referral: Referral, by, at: dt.datetime | None = None, ip: str | None = None) -> Referral:
    """The parent who holds the referral gives the place up: it returns to priority access as a new release."""
    at = at or timezone.now()
    if referral.parent_id != by.pk:
        raise NotReferralHolder()
    if not referral_close(
        referral=referral, status=Referral.Status.DECLINED, at=at, by=by, reason=ReturnReason.REFERRAL_DECLINED, ip=ip
    ):
        raise ReferralNotLive()
    return referral


def referral_enrol(*, referral: Referral, by, at: dt.datetime | None = None, ip: str | None = None) -> Contract:
    """Staff of the referral's kindergarten enrol the child within validity: the contract and `enrolled` event."""
    at = at or timezone.now()
    kindergarten_act_require(by, referral.kindergarten_id)
    with transaction.atomic():
        place = place_lock(place_id=referral.place_id)
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
        registry_changed(places=[place])
        audit_record(actor=by, action="referral.enrol", target=referral, ip=ip, at=at, contract=contract.pk)
    referral.status, referral.closed_at = Referral.Status.ENROLLED, at
    return contract


def referrals_expire(*, city: City, cutoff: dt.datetime) -> int:
    """The 18:00 run's step: every live referral of the city due by `cutoff` expires at its own deadline."""
    due = Referral.objects.filter(status=Referral.Status.LIVE, place__city=city, valid_until__lte=cutoff).order_by(
        "place_id"
    )
    count = 0
    for referral in due.iterator(chunk_size=500):
        if referral_close(
            referral=referral,
            status=Referral.Status.EXPIRED,
            at=referral.valid_until,
            reason=ReturnReason.REFERRAL_EXPIRED,
        ):
            count += 1
    return count


def contracts_terminate(*, contracts, at: dt.datetime, by=None, reason: str = "", ip: str | None = None) -> int:
    """Terminate active contracts (a cabinet block): returns how many were terminated.

    DOMAIN.md, Places 7: a terminated contract frees its place at once: the place returns to priority access as a
    new release (a `returned` event with the reason `contract_terminated`) and shows in its kindergarten's lists
    and the registry; its referral is marked `terminated`, so the place may be enrolled again. Each contract under
    its place's lock, in place order (placement/locks.py), with its own audit record.
    """
    terminated = 0
    for contract in sorted(contracts, key=lambda contract: contract.referral.place_id):
        with transaction.atomic():
            place = place_lock(place_id=contract.referral.place_id)
            changed = Contract.objects.filter(pk=contract.pk, status=Contract.Status.ACTIVE).update(
                status=Contract.Status.TERMINATED, terminated_at=at, termination_reason=reason
            )
            if not changed:
                continue
            Referral.objects.filter(pk=contract.referral_id, status=Referral.Status.ENROLLED).update(
                status=Referral.Status.TERMINATED
            )
            if place.state == Place.State.ENROLLED:
                place_return(place=place, at=at, by=by, reason=ReturnReason.CONTRACT_TERMINATED)
            audit_record(actor=by, action="contract.terminate", target=contract, ip=ip, at=at, reason=reason)
            terminated += 1
    return terminated
