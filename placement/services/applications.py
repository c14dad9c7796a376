"""Applications and the queue (DOMAIN.md, Queue; People and security)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Child
from accounts.services.audit import audit_record
from accounts.services.people import decision_validate

from ..errors import AlreadyInQueue, ApplicationNotWithdrawable, NotYourChild
from ..locks import application_lock
from ..models import Application, City, GroupType, Offer, ReturnReason
from ..permissions import parent_holds_child
from ..selectors.cohorts import cohort_refusal
from .notifications import privilege_decided_notify
from .offers import offer_end

ADMINS_DECIDE_PRIVILEGES = gettext_lazy("Only department admins confirm privileges.")


def queue_category_for(*, privilege: str, privilege_status: str) -> int:
    """An unconfirmed privilege ranks as general (DOMAIN.md, Queue)."""
    if privilege_status != Application.PrivilegeStatus.CONFIRMED:
        return Application.Category.GENERAL
    return {
        Application.Privilege.EXTRAORDINARY: Application.Category.EXTRAORDINARY,
        Application.Privilege.PRIORITY: Application.Category.PRIORITY,
    }.get(privilege, Application.Category.GENERAL)


def application_create(
    *,
    parent,
    child: Child,
    city: City,
    language: str,
    group_type: str,
    privilege: str = Application.Privilege.NONE,
    privilege_document: str = "",
    at: dt.datetime | None = None,
    ip: str | None = None,
) -> Application:
    """Put a child in a city's queue for its cohort (the birth year). The parent must represent the child
    (pending is enough to queue; claiming needs it confirmed). One active application per child and city.
    Refused with `cohort_not_served` when the city has no group of the child's cohort or the child's age at the
    campaign start is outside the city's range (DOMAIN.md, Queue)."""
    at = at or timezone.now()
    if not parent_holds_child(parent=parent, child_id=child.pk):
        raise NotYourChild()
    if language not in Application.Language.values:
        raise ValidationError({"language": _("Choose Kazakh, Russian or either.")}, code="invalid_language")
    if group_type not in GroupType.values:
        raise ValidationError({"group_type": _("Choose a group type from the list.")}, code="invalid_group_type")
    if privilege not in Application.Privilege.values:
        raise ValidationError({"privilege": _("Choose a privilege from the list.")}, code="invalid_privilege")
    privilege_document = (privilege_document or "").strip()
    if privilege != Application.Privilege.NONE and not privilege_document:
        raise ValidationError(
            {"privilege_document": _("Name the document that proves the privilege.")}, code="document_required"
        )
    refusal = cohort_refusal(city=city, birth_date=child.birth_date, at=at)
    if refusal is not None:
        raise refusal
    privilege_status = (
        Application.PrivilegeStatus.NONE
        if privilege == Application.Privilege.NONE
        else Application.PrivilegeStatus.PENDING
    )
    try:
        with transaction.atomic():
            application = Application.objects.create(
                child=child,
                parent=parent,
                city=city,
                birth_year=child.birth_date.year,
                language=language,
                group_type=group_type,
                privilege=privilege,
                privilege_document=privilege_document,
                privilege_status=privilege_status,
                applied_at=at,
                status_changed_at=at,
                queue_category=queue_category_for(privilege=privilege, privilege_status=privilege_status),
            )
            audit_record(actor=parent, action="application.create", target=application, ip=ip, at=at)
    except IntegrityError as exc:
        if "application_one_active_per_child_and_city" in str(exc) or "UNIQUE" in str(exc).upper():
            raise AlreadyInQueue() from exc
        raise
    return application


def application_withdraw(
    *, application: Application, by, at: dt.datetime | None = None, ip: str | None = None
) -> Application:
    """The parent takes the application out of the queue (a conditional update: only a queued one)."""
    at = at or timezone.now()
    if not parent_holds_child(parent=by, child_id=application.child_id):
        raise NotYourChild()
    with transaction.atomic():
        # Its live offer first (offer mode): the place returns for the next run. Before the application's row, in
        # the lock order (place, then application); rolled back with the rest if the withdrawal is refused.
        for offer in Offer.objects.filter(application_id=application.pk, state=Offer.State.LIVE):
            offer_end(offer=offer, state=Offer.State.DECLINED, at=at, by=by, reason=ReturnReason.OFFER_WITHDRAWN, ip=ip)
        changed = Application.objects.filter(pk=application.pk, status=Application.Status.QUEUED).update(
            status=Application.Status.WITHDRAWN, status_changed_at=at
        )
        if not changed:
            raise ApplicationNotWithdrawable()
        audit_record(actor=by, action="application.withdraw", target=application, ip=ip, at=at)
    application.refresh_from_db()
    return application


def application_privilege_decide(
    *,
    application: Application,
    by,
    confirm: bool,
    reason: str = "",
    at: dt.datetime | None = None,
    ip: str | None = None,
) -> Application:
    """A department admin confirms or rejects the privilege; the queue category follows at once."""
    at = at or timezone.now()
    reason = decision_validate(by=by, confirm=confirm, reason=reason, admins_only=ADMINS_DECIDE_PRIVILEGES)
    if application.privilege == Application.Privilege.NONE:
        raise ValidationError(_("This application claims no privilege."), code="no_privilege")
    status = Application.PrivilegeStatus.CONFIRMED if confirm else Application.PrivilegeStatus.REJECTED
    with transaction.atomic():
        Application.objects.filter(pk=application.pk).update(
            privilege_status=status,
            privilege_reason=reason,
            queue_category=queue_category_for(privilege=application.privilege, privilege_status=status),
        )
        audit_record(
            actor=by, action="application.privilege_" + status, target=application, ip=ip, at=at, reason=reason
        )
        privilege_decided_notify(application=application, confirmed=confirm, reason=reason, at=at)
    application.refresh_from_db()
    return application


def application_return(*, application_id: int, at: dt.datetime) -> None:
    """The child goes back to the queue with its original time after a lost referral (DOMAIN.md, Queue), held
    out for the city's days first where it sets them."""
    application = application_lock(application_id=application_id)
    holdout = application.city.referral_holdout_days
    if holdout:
        changes = {"status": Application.Status.HELD, "held_until": at + dt.timedelta(days=holdout)}
    else:
        changes = {"status": Application.Status.QUEUED, "held_until": None}
    Application.objects.filter(pk=application_id).update(status_changed_at=at, **changes)


def applications_release_held(*, city: City, cutoff: dt.datetime, recorded_at: dt.datetime) -> int:
    """The 18:00 run's step: children held out after a lost referral come back to the queue, with their original
    time."""
    return Application.objects.filter(city=city, status=Application.Status.HELD, held_until__lte=cutoff).update(
        status=Application.Status.QUEUED, status_changed_at=recorded_at, held_until=None
    )
