"""Ranked choices of an application in offer mode (issue 14, Choices; DOMAIN.md, Allocation modes).

An application names up to its city's `choices_max` kindergartens of its city, each with a group of its cohort,
language ("any" takes kk or ru) and group type, in rank order, plus the flag "any other matching place". Parents
edit them at any time while the application is in the queue (or held out for a while); every edit is audited and
replaces the whole list; the application's time, status and queue position never change. The 18:00 run reads the
choices as they are at the run (placement.services.offers).
"""

import datetime as dt

from django.db import transaction

from accounts.services.audit import audit_record

from ..errors import ChoiceDuplicate, ChoiceNotServed, ChoicesNotEditable, ChoicesTooMany, NoSuchApplication
from ..locks import application_lock
from ..models import Application, ApplicationChoice
from ..permissions import parent_holds_child
from ..selectors.offer_pages import choice_kindergartens

EDITABLE_STATUSES = (Application.Status.QUEUED, Application.Status.HELD)


def _served_kindergarten_ids(*, application: Application, kindergarten_ids: list[int]) -> set[int]:
    """Those of the kindergartens that belong to the application's city and have a group it matches."""
    return set(
        choice_kindergartens(application=application).filter(pk__in=kindergarten_ids).values_list("pk", flat=True)
    )


def choices_set(
    *,
    application: Application,
    kindergartens: list,
    any_other: bool,
    actor,
    at: dt.datetime,
    ip: str | None = None,
) -> list[ApplicationChoice]:
    """Replace the application's ranked choices (first is best; Kindergarten objects or ids) and its "any other"
    flag. Raises ChoicesTooMany, ChoiceDuplicate, ChoiceNotServed (400), ChoicesNotEditable (409) and
    NoSuchApplication (404) when `actor` does not represent the child. Returns the new choices in rank order."""
    if not parent_holds_child(parent=actor, child_id=application.child_id):
        raise NoSuchApplication()
    ids = [getattr(kindergarten, "pk", kindergarten) for kindergarten in kindergartens]
    ids = [int(pk) for pk in ids]
    limit = application.city.choices_max
    if len(ids) > limit:
        raise ChoicesTooMany(limit)
    if len(set(ids)) != len(ids):
        raise ChoiceDuplicate()
    if set(ids) - _served_kindergarten_ids(application=application, kindergarten_ids=ids):
        raise ChoiceNotServed()
    any_other = bool(any_other)
    with transaction.atomic():
        locked = application_lock(application_id=application.pk)  # two edits of one application, one at a time
        if locked.status not in EDITABLE_STATUSES:
            raise ChoicesNotEditable()
        ApplicationChoice.objects.filter(application_id=application.pk).delete()
        choices = ApplicationChoice.objects.bulk_create(
            ApplicationChoice(application_id=application.pk, kindergarten_id=pk, rank=rank)
            for rank, pk in enumerate(ids, 1)
        )
        if locked.any_other != any_other:
            Application.objects.filter(pk=application.pk).update(any_other=any_other)
        audit_record(
            actor=actor,
            action="application.choices",
            target=application,
            ip=ip,
            at=at,
            kindergartens=ids,
            any_other=any_other,
        )
    application.any_other = any_other
    return choices
