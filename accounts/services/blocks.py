"""Cabinet blocks (DOMAIN.md, People and security).

Handing cabinet access to third parties is forbidden: a department admin may block a parent's cabinet for
6 months. In one transaction the block ends the parent's sessions, cancels their live referrals (the places
return to priority access), terminates their contracts and writes the audit record. The block lifts by itself
at its end; an admin may lift it early, with a reason.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import CabinetBlock
from .audit import audit_record

BLOCK_MONTHS = 6


def block_active(*, user, at: dt.datetime | None = None) -> CabinetBlock | None:
    if user is None or not getattr(user, "pk", None):
        return None
    at = at or timezone.now()
    return (
        CabinetBlock.objects.filter(user=user, lifted_at__isnull=True, starts_at__lte=at, ends_at__gt=at)
        .order_by("-ends_at")
        .first()
    )


def block_end(start: dt.datetime, months: int = BLOCK_MONTHS) -> dt.datetime:
    """The same day `months` later (the last day of a shorter month), in Astana time."""
    local = timezone.localtime(start)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = local.day
    while True:
        try:
            return local.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def _ensure_admin(by) -> None:
    if not (getattr(by, "is_department_admin", False) or getattr(by, "is_superuser", False)):
        raise PermissionDenied(_("Only department admins block and unblock cabinets."))


def cabinet_block_effects(*, user):
    """What a block would do now: the live referrals it cancels and the contracts it terminates."""
    from placement.models import Contract, Referral

    return (
        list(Referral.objects.filter(parent=user, status=Referral.Status.LIVE).select_related("kindergarten")),
        list(Contract.objects.filter(parent=user, status=Contract.Status.ACTIVE).select_related("kindergarten")),
    )


class CabinetAlreadyBlocked(Exception):
    """The parent's cabinet is blocked already (a second click, a second admin): nothing was done."""


def cabinet_block(*, user, by, reason: str, at: dt.datetime | None = None, ip: str | None = None) -> CabinetBlock:
    """Block the parent's cabinet for six months. The returned block carries what it did:
    `referrals_cancelled` and `contracts_terminated`. Raises CabinetAlreadyBlocked when a block is in force."""
    from placement.models import Contract, Referral
    from placement.services.claims import referral_close

    from .sessions import sessions_end_others

    at = at or timezone.now()
    _ensure_admin(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the block.")}, code="reason_required")
    if not getattr(user, "is_parent", False):
        raise ValidationError(_("Only parents' cabinets are blocked."), code="not_a_parent")
    with transaction.atomic():
        # The same lock a claim takes first: a claim in flight finishes before the block looks for referrals.
        type(user).objects.select_for_update(of=("self",), no_key=True).filter(pk=user.pk).first()
        if block_active(user=user, at=at) is not None:  # checked under the lock: two clicks never stack blocks
            raise CabinetAlreadyBlocked()
        block = CabinetBlock.objects.create(
            user=user, starts_at=at, ends_at=block_end(at), reason=reason, created_by=by
        )
        sessions_end_others(user=user)
        cancelled = 0
        for referral in Referral.objects.filter(parent=user, status=Referral.Status.LIVE).order_by("place_id"):
            if referral_close(
                referral=referral, status=Referral.Status.CANCELLED, at=at, by=by, reason=_("Cabinet blocked"), ip=ip
            ):
                cancelled += 1
        terminated = Contract.objects.filter(parent=user, status=Contract.Status.ACTIVE).update(
            status=Contract.Status.TERMINATED, terminated_at=at, termination_reason=_("Cabinet blocked")
        )
        audit_record(
            actor=by,
            action="cabinet.block",
            target=block,
            ip=ip,
            at=at,
            user=user.pk,
            reason=reason,
            referrals_cancelled=cancelled,
            contracts_terminated=terminated,
        )
    block.referrals_cancelled, block.contracts_terminated = cancelled, terminated
    return block


def cabinet_unblock(
    *, block: CabinetBlock, by, reason: str, at: dt.datetime | None = None, ip: str | None = None
) -> CabinetBlock:
    at = at or timezone.now()
    _ensure_admin(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for lifting the block.")}, code="reason_required")
    with transaction.atomic():
        lifted = CabinetBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).update(
            lifted_at=at, lifted_by=by, lift_reason=reason
        )
        if lifted:  # lifted already (a second click): nothing changed, nothing to audit
            audit_record(actor=by, action="cabinet.unblock", target=block, ip=ip, at=at, reason=reason)
    block.refresh_from_db()
    return block
