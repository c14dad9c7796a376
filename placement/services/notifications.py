"""What placement tells parents by SMS (issue 14, Notifications; DOMAIN.md, Allocation modes: Notifications).

Each function writes its notification through the outbox (`accounts.services.notifications`) inside the caller's
transaction, keyed by the event, so an event rolled back sends nothing and an event reported twice sends once.
Called by the services that make the events: the claim (`referral_issued_notify`), the privilege decision, the
cabinet block, the 18:00 run (`general_access_notify`), the beat's reminders (`deadline_reminders_enqueue`), and
the offers (`offers_notify`).
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, Min, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from accounts.models import CabinetBlock, Notification, Representation
from accounts.services.notifications import (
    Recipient,
    notification_build,
    notification_enqueue,
    notification_texts,
    notifications_enqueue,
)
from schedules.calendar import astana

from ..models import (
    RESUME_DAYS,
    Application,
    City,
    GeneralAccessSubscription,
    Kindergarten,
    Place,
    PlaceEvent,
    Protocol,
    Referral,
)

Kind = Notification.Kind
REMINDER_AHEAD = dt.timedelta(hours=24)


def event_key(kind: str, *parts) -> str:
    """The outbox key of one event: its kind and what names it (`referral_issued:42`)."""
    return ":".join([str(kind), *(str(part) for part in parts)])


# --- Events of today's claim mode --------------------------------------------------------------------------


def _referral_issued_params(*, referral: Referral, application: Application) -> dict:
    return {"referral": referral.number, "number": application.number, "until": referral.valid_until}


def referral_issued_notify(*, referral: Referral, parent, application: Application, at: dt.datetime) -> None:
    """A claim issued a referral: its number, the application's and the deadline (the parent just took the place,
    so the kindergarten is on their screen; the SMS is the receipt)."""
    notification_enqueue(
        user=parent,
        kind=Kind.REFERRAL_ISSUED,
        key=event_key(Kind.REFERRAL_ISSUED, referral.pk),
        at=at,
        **_referral_issued_params(referral=referral, application=application),
    )


def referral_issued_texts(*, referral: Referral, application: Application) -> tuple[dict, dict[str, str]]:
    """The referral-issued SMS's parameters as shown and its text in each language, for the claim's one statement
    on PostgreSQL, which writes the row in the parent's language (placement migration 0007)."""
    params = _referral_issued_params(referral=referral, application=application)
    return notification_texts(kind=Kind.REFERRAL_ISSUED, **params)


def privilege_decided_notify(*, application: Application, confirmed: bool, reason: str, at: dt.datetime) -> None:
    """A department admin confirmed or rejected the privilege of an application (the reason with a rejection)."""
    kind = Kind.PRIVILEGE_CONFIRMED if confirmed else Kind.PRIVILEGE_REJECTED
    params = {"number": application.number} if confirmed else {"number": application.number, "reason": reason}
    notification_enqueue(user=application.parent, kind=kind, key=event_key(kind, application.pk), at=at, **params)


def cabinet_blocked_notify(*, block: CabinetBlock, at: dt.datetime) -> None:
    notification_enqueue(
        user=block.user,
        kind=Kind.CABINET_BLOCKED,
        key=event_key(Kind.CABINET_BLOCKED, block.pk),
        at=at,
        until=astana(block.ends_at).date(),
        reason=block.reason,
    )


def referrals_expiring_notify(*, at: dt.datetime) -> int:
    """Every live referral whose deadline falls within the next 24 hours gets one reminder (the key per referral
    makes a second sweep a no-op; referrals already reminded are not even read). Returns how many were written."""
    key = Concat(Value(f"{Kind.REFERRAL_EXPIRING}:"), Cast(OuterRef("pk"), CharField()))
    due = (
        Referral.objects.filter(status=Referral.Status.LIVE, valid_until__gt=at, valid_until__lte=at + REMINDER_AHEAD)
        .exclude(Exists(Notification.objects.filter(key=key)))
        .select_related("parent", "kindergarten")
        .order_by("pk")
    )
    notifications = [
        notification_build(
            recipient=Recipient.of(referral.parent),
            kind=Kind.REFERRAL_EXPIRING,
            key=event_key(Kind.REFERRAL_EXPIRING, referral.pk),
            at=at,
            send_before=referral.valid_until,
            referral=referral.number,
            kindergarten=referral.kindergarten,
            until=referral.valid_until,
        )
        for referral in due.iterator(chunk_size=500)
    ]
    notifications_enqueue(notifications)
    return len(notifications)


def deadline_reminders_enqueue(*, at: dt.datetime | None = None) -> dict:
    """The beat's reminders (every 15 minutes) of referrals whose deadline is within 24 hours; the same task
    reminds of offers (`placement.services.offers.offers_expiring_notify`)."""
    at = at or timezone.now()
    return {"referrals": referrals_expiring_notify(at=at)}


# --- The claim-mode subscription: a place my child can take is in general access ----------------------------


def general_access_notify(*, city: City, day: dt.date, recorded_at: dt.datetime) -> int:
    """The 18:00 run's alerts (issue 14: claim mode's subscription, at most one SMS per application a day).

    After the day's moves, every subscriber of a queued application of the city whose child they represent
    (confirmed) and whose cabinet is not blocked, when a place matching the application (cohort, group type,
    language: "any" matches kk and ru) moved to general access in this run and is still free there, gets one SMS
    keyed by application, parent and protocol day. The run calls it for the latest complete day only: a run
    catching up after an outage alerts once, on its last day, for every place it moved on the way (the days it
    published before this one carry its `recorded_at`); an alert about a stale day would be noise. Set-based: one
    query for the kinds of place moved, one for the subscribers, one INSERT per thousand rows.
    """
    if city.allocation_mode != City.AllocationMode.CLAIM:
        return 0  # offer mode: the run offers places itself; the alert is claim mode's (issue 14)
    caught_up = Protocol.objects.filter(city=city, published_at=recorded_at).aggregate(first=Min("day"))["first"]
    moved = (
        PlaceEvent.objects.filter(
            city=city,
            protocol_day__gte=min(caught_up or day, day),
            protocol_day__lte=day,
            kind=PlaceEvent.Kind.TO_GENERAL,
            place__state=Place.State.GENERAL,
        )
        .values_list("birth_year", "language", "group_type")
        .distinct()
    )
    matching = Q()
    for birth_year, language, group_type in moved:
        matching |= Q(
            application__birth_year=birth_year,
            application__group_type=group_type,
            application__language__in=[language, Application.Language.ANY],
        )
    if not matching:
        return 0
    confirmed = Representation.objects.filter(
        parent_id=OuterRef("parent_id"),
        child_id=OuterRef("application__child_id"),
        status=Representation.Status.CONFIRMED,
    )
    blocked = CabinetBlock.objects.active_at(recorded_at).filter(user_id=OuterRef("parent_id"))
    subscribers = (
        GeneralAccessSubscription.objects.filter(
            matching, application__city=city, application__status=Application.Status.QUEUED
        )
        .filter(Exists(confirmed))
        .exclude(Exists(blocked))
        .values_list("application_id", "application__number", "parent_id", "parent__phone", "parent__language")
        .order_by("application_id", "parent_id")
    )
    send_before = recorded_at + dt.timedelta(days=1)
    notifications = [
        notification_build(
            recipient=Recipient(user_id=parent_id, phone=phone or "", language=language),
            kind=Kind.GENERAL_ACCESS,
            key=event_key(Kind.GENERAL_ACCESS, application_id, parent_id, day.isoformat()),
            at=recorded_at,
            send_before=send_before,
            number=number,
        )
        for application_id, number, parent_id, phone, language in subscribers
    ]
    notifications_enqueue(notifications)
    return len(notifications)


# --- Offer mode: the call the offers service makes --------------------------------------------------------

OFFER_KINDS = (Kind.OFFER_MADE, Kind.OFFER_EXPIRING, Kind.APPLICATION_PAUSED)


def offers_notify(*, kind: str, offers, at: dt.datetime, resume_days: int = RESUME_DAYS) -> int:
    """Offer mode's SMS, one per offer (issue 14, Notifications), written in bulk in the caller's transaction:

    - OFFER_MADE, when the 18:00 run makes the offers: which kindergarten, for which application, until when to
      answer (`valid_until`);
    - OFFER_EXPIRING, when an offer's deadline is within 24 hours;
    - APPLICATION_PAUSED, when an offer expired unanswered: the application is paused, and the parent may resume
      it in the cabinet until `valid_until` + `resume_days`.

    An offer is anything with `pk`, `parent_id`, `application_id`, `kindergarten_id` and `valid_until`
    (`placement.models.Offer`); the parents, numbers and kindergartens are read in one query each, whatever the
    count. Keyed `<kind>:<offer id>`, so a run repeated writes nothing twice; the offer's SMS are not sent after its
    deadline, the pause's not after the resume deadline. Returns how many were written (or already there)."""
    if kind not in OFFER_KINDS:
        raise ValueError(f"not an offer's notification: {kind!r}")
    offers = list(offers)
    if not offers:
        return 0
    parents = {
        pk: Recipient(user_id=pk, phone=phone or "", language=language)
        for pk, phone, language in get_user_model()
        .objects.filter(pk__in={offer.parent_id for offer in offers})
        .values_list("pk", "phone", "language")
    }
    numbers = dict(
        Application.objects.filter(pk__in={offer.application_id for offer in offers}).values_list("pk", "number")
    )
    kindergartens = Kindergarten.objects.in_bulk({offer.kindergarten_id for offer in offers})
    notifications = []
    for offer in offers:
        until = offer.valid_until
        if kind == Kind.APPLICATION_PAUSED:
            until = offer.valid_until + dt.timedelta(days=resume_days)
        notifications.append(
            notification_build(
                recipient=parents[offer.parent_id],
                kind=kind,
                key=event_key(kind, offer.pk),
                at=at,
                send_before=until,
                kindergarten=kindergartens[offer.kindergarten_id],
                number=numbers[offer.application_id],
                until=until,
            )
        )
    notifications_enqueue(notifications)
    return len(notifications)
