"""What a parent's cabinet shows, and what a parent may act on (DOMAIN.md, Who uses it; Queue; Referral,
enrolment, contract; People and security).

A parent sees their own children and applications, and those of children they are the *confirmed* legal
representative of (the other parent's); a representation still pending or rejected shows no one else's. Every
read here keeps to that rule, so the cabinet pages and the `me` API show the same things.
"""

from django.db.models import Q, QuerySet

from accounts.models import Child, Representation

from ..models import Application, Contract, Referral
from ..models.queue import application_number_normalize
from ..models.referrals import referral_number_normalize


def _confirmed_children(parent):
    return Representation.objects.filter(parent=parent, status=Representation.Status.CONFIRMED).values("child_id")


def parent_representations(*, parent) -> QuerySet[Representation]:
    """Every representation the parent asked for, whatever its status, with its child."""
    return Representation.objects.filter(parent=parent).select_related("child").order_by("created_at", "pk")


def parent_children_for_applying(*, parent) -> QuerySet[Child]:
    """The children the parent may apply for: those whose representation is not rejected."""
    # One filter() call: both conditions hold on the same representation (one per parent and child).
    return Child.objects.filter(
        representations__parent=parent,
        representations__status__in=[Representation.Status.PENDING, Representation.Status.CONFIRMED],
    ).order_by("last_name", "first_name", "pk")


def parent_child(*, parent, child_id) -> Child | None:
    return parent_children_for_applying(parent=parent).filter(pk=child_id).first()


def parent_applications(*, parent) -> QuerySet[Application]:
    """The applications a parent sees: the ones they filed, and the others of children they are the confirmed
    representative of (the other parent's)."""
    representations = Representation.objects.filter(parent=parent)
    rejected_children = representations.filter(status=Representation.Status.REJECTED).values("child_id")
    # A union of two index lookups (by parent; by the represented children), not an OR of both: PostgreSQL
    # cannot use an index for `parent = X OR child IN (subquery)` and would read the whole table (12 ms at
    # 30,000 applications, 0.7 ms this way), and its row estimate would price the positions' counts out of scale.
    visible = (
        Application.objects.filter(parent=parent)
        .order_by()
        .values("pk")
        .union(Application.objects.filter(child_id__in=_confirmed_children(parent)).order_by().values("pk"), all=True)
    )
    return (
        Application.objects.filter(pk__in=visible)
        .exclude(child_id__in=rejected_children)
        .select_related("city", "child")
        .order_by("-applied_at", "-pk")
    )


def _numbered(rows: QuerySet, number: str, normalize):
    """The row of `rows` by its number as a parent typed it (normalized); None for a number that cannot be one."""
    number = normalize(number)
    return rows.filter(number=number).first() if number else None


def parent_application(*, parent, number: str) -> Application | None:
    return _numbered(parent_applications(parent=parent), number, application_number_normalize)


def claimable_applications(*, parent) -> QuerySet[Application]:
    """The parent's active applications, oldest first: those a registry page judges each place for."""
    return (
        parent_applications(parent=parent).filter(status__in=Application.ACTIVE_STATUSES).order_by("applied_at", "pk")
    )


def _held_or_represented(model, *, parent) -> QuerySet:
    """The rows of `model` a parent sees: the ones they hold, and those of children they confirmedly represent."""
    return model.objects.filter(Q(parent=parent) | Q(child_id__in=_confirmed_children(parent)))


def parent_referrals(*, parent) -> QuerySet[Referral]:
    return (
        _held_or_represented(Referral, parent=parent)
        .select_related("kindergarten", "place__group", "child", "application")
        .order_by("-issued_at", "-pk")
    )


def parent_referral(*, parent, number: str) -> Referral | None:
    return _numbered(parent_referrals(parent=parent), number, referral_number_normalize)


def parent_contracts(*, parent) -> QuerySet[Contract]:
    return (
        _held_or_represented(Contract, parent=parent)
        .select_related("kindergarten", "child", "referral")
        .order_by("-enrolled_at", "-pk")
    )


def parent_held(*, parent) -> tuple[list[Referral], list[Contract]]:
    """What a cabinet block would end now: the parent's live referrals and active contracts (those they hold)."""
    return (
        list(Referral.objects.filter(parent=parent, status=Referral.Status.LIVE).select_related("kindergarten")),
        list(Contract.objects.filter(parent=parent, status=Contract.Status.ACTIVE).select_related("kindergarten")),
    )
