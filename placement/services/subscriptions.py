"""Turning the claim-mode alert on and off (issue 14: "a place my child can take is in general access", at most
one SMS per application a day; the alerts themselves are `services.notifications.general_access_notify`)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.services.audit import audit_record

from ..errors import NotSubscribable
from ..models import Application, GeneralAccessSubscription
from ..selectors.subscriptions import SUBSCRIBABLE_STATUSES


def general_access_subscribe(
    *, application: Application, parent, subscribe: bool, at: dt.datetime | None = None, ip: str | None = None
) -> bool:
    """Turn the parent's alert for the application on or off; returns whether it is on. The caller has found the
    application among the parent's (`selectors.parents.parent_application`). Turning it on needs an application in
    the queue (or held out of it for a while): NotSubscribable (409) otherwise; off always works. Idempotent: a
    second click changes nothing and is not audited again."""
    at = at or timezone.now()
    if subscribe and application.status not in SUBSCRIBABLE_STATUSES:
        raise NotSubscribable()
    with transaction.atomic():
        if subscribe:
            _subscription, changed = GeneralAccessSubscription.objects.get_or_create(
                application=application, parent=parent, defaults={"created_at": at}
            )
        else:
            changed = bool(GeneralAccessSubscription.objects.filter(application=application, parent=parent).delete()[0])
        if changed:
            action = "subscription.general_access_" + ("on" if subscribe else "off")
            audit_record(actor=parent, action=action, target=application, ip=ip, at=at)
    return subscribe
