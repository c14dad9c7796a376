"""A cabinet block and what it does to placement (DOMAIN.md, People and security).

An admin's block of a parent's cabinet, in one transaction: the block is recorded and the parent's sessions end
(`accounts.services.blocks`), every live referral the parent holds is cancelled (its place returns to priority
access, the child goes back to the queue), every live offer made to the parent is withdrawn (declined in the
parent's stead, offer mode: its place returns for the next run, the application keeps its time and is not paused)
and every active contract is terminated (its place returns too: Places 7), with one audit record that counts them.
The parent's row is locked first, as a claim (and an offer's acceptance) locks it, so a claim in flight either
finishes before the block looks for referrals or sees the block and is refused.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import CabinetBlock
from accounts.services.audit import audit_record
from accounts.services.blocks import cabinet_block_record, cabinet_block_validate

from ..locks import parent_lock
from ..models import Contract, Offer, Referral, ReturnReason
from .notifications import cabinet_blocked_notify
from .offers import offer_end
from .referrals import contracts_terminate, referral_close


def cabinet_block(*, user, by, reason: str, at: dt.datetime | None = None, ip: str | None = None) -> CabinetBlock:
    """Block the parent's cabinet for six months. The returned block carries what it did: `referrals_cancelled`
    and `contracts_terminated`. Raises CabinetAlreadyBlocked (409) when a block is in force."""
    at = at or timezone.now()
    reason = cabinet_block_validate(user=user, by=by, reason=reason)
    why = ReturnReason.CABINET_BLOCKED
    with transaction.atomic():
        parent_lock(user_id=user.pk)
        block = cabinet_block_record(user=user, by=by, reason=reason, at=at)
        cancelled = 0
        for referral in Referral.objects.filter(parent=user, status=Referral.Status.LIVE).order_by("place_id"):
            if referral_close(referral=referral, status=Referral.Status.CANCELLED, at=at, by=by, reason=why, ip=ip):
                cancelled += 1
        withdrawn = 0
        for offer in Offer.objects.filter(parent=user, state=Offer.State.LIVE).order_by("place_id"):
            if offer_end(
                offer=offer, state=Offer.State.DECLINED, at=at, by=by, reason=ReturnReason.OFFER_BLOCKED, ip=ip
            ):
                withdrawn += 1
        contracts = Contract.objects.filter(parent=user, status=Contract.Status.ACTIVE).select_related("referral")
        terminated = contracts_terminate(contracts=contracts, at=at, by=by, reason=why, ip=ip)
        audit_record(
            actor=by,
            action="cabinet.block",
            target=block,
            ip=ip,
            at=at,
            user=user.pk,
            reason=reason,
            referrals_cancelled=cancelled,
            offers_withdrawn=withdrawn,
            contracts_terminated=terminated,
        )
        cabinet_blocked_notify(block=block, at=at)
    block.referrals_cancelled, block.contracts_terminated = cancelled, terminated
    block.offers_withdrawn = withdrawn
    return block
