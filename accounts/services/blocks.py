"""Cabinet blocks, the accounts side (DOMAIN.md, People and security).

Handing cabinet access to third parties is forbidden: a department admin may block a parent's cabinet for
6 months. This module records the block and ends the parent's sessions; what a block does to referrals and
contracts is placement's, and `placement.services.blocks.cabinet_block` does both in one transaction. The block
lifts by itself at its end; an admin may lift it early, with a reason.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indigo.errors import DomainError

from ..models import CabinetBlock, Notification
from ..permissions import department_admin_require
from ..selectors import block_active
from .audit import audit_record
from .notifications import notification_enqueue
from .sessions import sessions_end_others

BLOCK_MONTHS = 6
ADMINS_ONLY = _("Only department admins block and unblock cabinets.")


class CabinetAlreadyBlocked(DomainError, code="already_blocked"):
    """The parent's cabinet is blocked already (a second click, a second admin): nothing was done."""

    message = _("This cabinet is already blocked.")


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


def cabinet_block_validate(*, user, by, reason: str) -> str:
    """Who may block whom, and why: returns the reason, stripped."""
    department_admin_require(by, ADMINS_ONLY)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the block.")}, code="reason_required")
    if not getattr(user, "is_parent", False):
        raise ValidationError(_("Only parents' cabinets are blocked."), code="not_a_parent")
    return reason


def cabinet_block_record(*, user, by, reason: str, at: dt.datetime) -> CabinetBlock:
    """Record the block and end the parent's sessions. The caller holds the parent's row lock in its transaction
    (so two clicks never stack blocks) and has validated the request (`cabinet_block_validate`)."""
    if block_active(user=user, at=at) is not None:
        raise CabinetAlreadyBlocked()
    block = CabinetBlock.objects.create(user=user, starts_at=at, ends_at=block_end(at), reason=reason, created_by=by)
    sessions_end_others(user=user)
    return block


def cabinet_unblock(
    *, block: CabinetBlock, by, reason: str, at: dt.datetime | None = None, ip: str | None = None
) -> CabinetBlock:
    at = at or timezone.now()
    department_admin_require(by, ADMINS_ONLY)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for lifting the block.")}, code="reason_required")
    with transaction.atomic():
        lifted = CabinetBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).update(
            lifted_at=at, lifted_by=by, lift_reason=reason
        )
        if lifted:  # lifted already (a second click): nothing changed, nothing to audit or tell
            audit_record(actor=by, action="cabinet.unblock", target=block, ip=ip, at=at, reason=reason)
            notification_enqueue(
                user=block.user,
                kind=Notification.Kind.CABINET_LIFTED,
                key=f"{Notification.Kind.CABINET_LIFTED}:{block.pk}",
                at=at,
            )
    block.refresh_from_db()
    return block
