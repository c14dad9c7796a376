"""Children and their legal representatives (DOMAIN.md, People and security)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from ..models import Child, Notification, Representation
from ..permissions import department_admin_require
from ..validators import validate_iin
from .audit import audit_record
from .notifications import notification_enqueue

MIN_BIRTH_DATE = dt.date(2010, 1, 1)
ADMINS_DECIDE_REPRESENTATIONS = _lazy("Only department admins confirm representations.")


def decision_validate(*, by, confirm: bool, reason: str, admins_only) -> str:
    """A department admin's decision on a document (a representation, a privilege): only department admins decide
    (`admins_only` says what was refused), and a rejection needs its reason. Returns the reason, stripped."""
    department_admin_require(by, admins_only)
    reason = (reason or "").strip()
    if not confirm and not reason:
        raise ValidationError({"reason": _("Give the reason for the rejection.")}, code="reason_required")
    return reason


def child_register(
    *,
    parent,
    iin: str,
    last_name: str,
    first_name: str,
    middle_name: str = "",
    birth_date: dt.date,
    kind: str,
    document: str,
    at: dt.datetime | None = None,
    ip: str | None = None,
) -> Representation:
    """Register a child (or find it by IIN) and the parent's representation of it, pending confirmation."""
    at = at or timezone.now()
    errors = {}
    try:
        validate_iin(iin)
    except ValidationError as exc:
        errors["iin"] = exc.messages
    if not (last_name or "").strip():
        errors["last_name"] = [_("This field is required.")]
    if not (first_name or "").strip():
        errors["first_name"] = [_("This field is required.")]
    today = timezone.localdate(at)
    if not isinstance(birth_date, dt.date) or not MIN_BIRTH_DATE <= birth_date <= today:
        errors["birth_date"] = [
            _("The date of birth must be between %(min)s and today.") % {"min": MIN_BIRTH_DATE.strftime("%d.%m.%Y")}
        ]
    if kind not in Representation.Kind.values:
        errors["kind"] = [_("Choose the kind of representation from the list.")]
    if not (document or "").strip():
        errors["document"] = [_("Name the document that proves the representation.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        child, created = Child.objects.get_or_create(
            iin=iin,
            defaults={
                "last_name": last_name.strip(),
                "first_name": first_name.strip(),
                "middle_name": (middle_name or "").strip(),
                "birth_date": birth_date,
            },
        )
        if not created and child.birth_date != birth_date:
            raise ValidationError({"birth_date": [_("This IIN is registered with another date of birth.")]})
        representation, made = Representation.objects.get_or_create(
            parent=parent, child=child, defaults={"kind": kind, "document": document.strip(), "created_at": at}
        )
        if not made:
            raise ValidationError({"iin": [_("You have already added this child.")]})
        audit_record(actor=parent, action="representation.create", target=representation, ip=ip, at=at)
    return representation


def representation_decided_notify(*, representation: Representation, confirmed: bool, reason: str, at) -> None:
    """SMS to the parent: their representation of the child was confirmed or rejected (with the reason)."""
    kind = Notification.Kind.REPRESENTATION_CONFIRMED if confirmed else Notification.Kind.REPRESENTATION_REJECTED
    params = {"child": representation.child} if confirmed else {"child": representation.child, "reason": reason}
    notification_enqueue(
        user=representation.parent, kind=kind, key=f"{kind}:{representation.pk}", at=at, **params
    )


def representation_decide(
    *,
    representation: Representation,
    by,
    confirm: bool,
    reason: str = "",
    at: dt.datetime | None = None,
    ip: str | None = None,
) -> Representation:
    at = at or timezone.now()
    reason = decision_validate(by=by, confirm=confirm, reason=reason, admins_only=ADMINS_DECIDE_REPRESENTATIONS)
    status = Representation.Status.CONFIRMED if confirm else Representation.Status.REJECTED
    with transaction.atomic():
        Representation.objects.filter(pk=representation.pk).update(
            status=status, decision_reason=reason, decided_by=by, decided_at=at
        )
        audit_record(actor=by, action="representation." + status, target=representation, ip=ip, at=at, reason=reason)
        representation_decided_notify(representation=representation, confirmed=confirm, reason=reason, at=at)
    representation.refresh_from_db()
    return representation
