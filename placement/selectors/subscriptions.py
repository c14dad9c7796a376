"""The claim-mode subscription "a place my child can take is in general access" (issue 14), as a parent sees it."""

from django.db.models import Exists, OuterRef

from ..models import Application, GeneralAccessSubscription
from .parents import parent_applications

# Applications a parent may subscribe: in the queue, or held out of it for a while (they come back to it).
SUBSCRIBABLE_STATUSES = (Application.Status.QUEUED, Application.Status.HELD)


def parent_subscriptions(*, parent) -> list[Application]:
    """The parent's applications that may be subscribed, oldest first, each with `subscribed` (by this parent)."""
    subscribed = GeneralAccessSubscription.objects.filter(application_id=OuterRef("pk"), parent=parent)
    return list(
        parent_applications(parent=parent)
        .filter(status__in=SUBSCRIBABLE_STATUSES)
        .annotate(subscribed=Exists(subscribed))
        .order_by("applied_at", "pk")
    )


def application_subscribed(*, application: Application, parent) -> bool:
    return GeneralAccessSubscription.objects.filter(application=application, parent=parent).exists()
