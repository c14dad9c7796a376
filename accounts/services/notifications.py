"""The notification outbox: SMS to parents about the events of their case (issue 14, Notifications; DOMAIN.md,
Allocation modes: "written in the same transaction as the event, sent once").

- **Enqueue** (`notification_enqueue`, `notifications_enqueue`): the caller writes a `Notification` row inside the
  transaction of the event it reports. An event rolled back takes its row with it, so nothing is sent; a committed
  one has its row. `key` names the event (``referral_issued:42``): the row is inserted with ON CONFLICT DO NOTHING,
  so reporting an event twice (a retried task, a sweep that runs again, a run caught up) makes one row.
- **Text**: rendered when the event happens, in the parent's language (`User.language`, ru or kk), and kept as
  sent. Rendering then, not at send time: the text is the record of what the portal told the parent (a deadline
  as it stood at the event), a broken text fails the event's own tests instead of a worker hours later, and the
  sender needs nothing of the placement app (accounts never imports it) to turn parameters into words.
- **Send**: after the commit, one Celery task is asked to send the row (`accounts.tasks.notification_send`);
  the beat sweep (`accounts.tasks.notifications_sweep`, every minute) sends whatever is pending and due, so a
  crash between the commit and the send, or a broker that was down, still ends in one SMS. A row is claimed before
  it is sent (pending → sending, by a conditional UPDATE under `SELECT ... FOR UPDATE SKIP LOCKED`), so two
  workers never send one row. A gateway failure is retried with exponential backoff
  (`NOTIFICATION_RETRY_SECONDS` x 2^(attempt-1), at most `NOTIFICATION_RETRY_MAX_SECONDS`) and the row is marked
  failed after `NOTIFICATION_MAX_ATTEMPTS`. A row left `sending` by a worker that died mid-send is marked failed
  ("delivery unknown") after `NOTIFICATION_SENDING_TIMEOUT_SECONDS`, never sent again: a notification is sent at
  most once, and the cabinet lists it either way.
"""

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from indigo.metrics import notification_count
from schedules.calendar import astana

from ..models import SMS_LANGUAGES, Notification
from ..sms import mask_phone, sms_send
from .tokens import user_tokens_forget

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Status = Notification.Status
LANGUAGES = tuple(code for code, _label in SMS_LANGUAGES)
DEFAULT_LANGUAGE = LANGUAGES[0]

SEND_TASK = "accounts.tasks.notification_send"
SWEEP_TASK = "accounts.tasks.notifications_sweep"

# What each kind says, with its parameters. Every parameter is plain text by the time it is formatted: times are
# Astana time (d.m.Y H:M), model instances their str() in the parent's language.
TEXTS = {
    Kind.REPRESENTATION_CONFIRMED: _("INDIGO: your legal representation of the child %(child)s is confirmed."),
    Kind.REPRESENTATION_REJECTED: _(
        "INDIGO: your legal representation of the child %(child)s is rejected. Reason: %(reason)s"
    ),
    Kind.PRIVILEGE_CONFIRMED: _("INDIGO: the privilege of application %(number)s is confirmed."),
    Kind.PRIVILEGE_REJECTED: _("INDIGO: the privilege of application %(number)s is rejected. Reason: %(reason)s"),
    Kind.REFERRAL_ISSUED: _(
        "INDIGO: referral %(referral)s is issued for application %(number)s. It is valid until %(until)s (Astana time)."
    ),
    Kind.REFERRAL_EXPIRING: _(
        "INDIGO: referral %(referral)s to kindergarten %(kindergarten)s is valid until %(until)s (Astana time). "
        "Have the child enrolled by then, or the place goes to others."
    ),
    Kind.CABINET_BLOCKED: _(
        "INDIGO: your personal cabinet is blocked until %(until)s. Reason: %(reason)s. Your referrals and "
        "contracts are cancelled. For questions, contact the education department."
    ),
    Kind.CABINET_LIFTED: _("INDIGO: the block of your personal cabinet is lifted; you may log in again."),
    Kind.OFFER_MADE: _(
        "INDIGO: a place in kindergarten %(kindergarten)s is offered for application %(number)s. Accept or "
        "decline it in your cabinet by %(until)s (Astana time)."
    ),
    Kind.OFFER_EXPIRING: _(
        "INDIGO: the offer of a place in kindergarten %(kindergarten)s for application %(number)s expires at "
        "%(until)s (Astana time). Accept or decline it in your cabinet."
    ),
    Kind.APPLICATION_PAUSED: _(
        "INDIGO: application %(number)s is paused because the offer expired. Resume it in your cabinet by "
        "%(until)s to keep its time in the queue."
    ),
    Kind.GENERAL_ACCESS: _(
        "INDIGO: a place your child can take (application %(number)s) is in general access now: whoever takes "
        "it first gets it. See the free places on the portal."
    ),
}


# --- The parent's language -------------------------------------------------------------------------------


def sms_language(language: str | None) -> str:
    """The SMS language for a page or API language: ru and kk as they are, anything else Russian."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def user_language_remember(*, user, language: str) -> bool:
    """Keep `language` (ru or kk) as the language of the user's SMS; True when it changed. One UPDATE, and only
    when it differs, so a page view of a parent who keeps their language writes nothing."""
    if language not in LANGUAGES or getattr(user, "language", None) == language:
        return False
    changed = get_user_model().objects.filter(pk=user.pk).exclude(language=language).update(language=language)
    user.language = language
    if changed:
        user_tokens_forget(user_id=user.pk)  # the cached token carries the language
    return bool(changed)


# --- Writing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who gets an SMS, as read with the event: the user, their phone and language at that moment."""

    user_id: int
    phone: str
    language: str

    @classmethod
    def of(cls, user) -> "Recipient":
        return cls(user_id=user.pk, phone=user.phone or "", language=sms_language(getattr(user, "language", None)))


def _plain(value):
    """A parameter as it is shown, in the active language: times in Astana time, dates as d.m.Y."""
    if isinstance(value, dt.datetime):
        return astana(value).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value).strip()


def notification_render(*, kind: str, language: str, params: dict) -> tuple[str, dict]:
    """The text of `kind` in `language` with `params`, and the parameters as shown (what the row keeps)."""
    with translation.override(language):
        shown = {name: _plain(value) for name, value in params.items()}
        return str(TEXTS[kind]) % shown, shown


def notification_build(
    *,
    recipient: Recipient,
    kind: str,
    key: str,
    at: dt.datetime,
    send_before: dt.datetime | None = None,
    **params,
) -> Notification:
    """An unsaved notification of `kind` for `recipient`, its text rendered in the recipient's language."""
    text, shown = notification_render(kind=kind, language=recipient.language, params=params)
    return Notification(
        user_id=recipient.user_id,
        kind=kind,
        key=key,
        language=recipient.language,
        phone=recipient.phone,
        params=shown,
        text=text,
        next_attempt_at=at,
        send_before=send_before,
        created_at=at,
    )


def notification_enqueue(
    *, user, kind: str, key: str, at: dt.datetime | None = None, send_before: dt.datetime | None = None, **params
) -> None:
    """Write the notification of one event in the caller's transaction, and ask a worker to send it once the
    transaction commits. `key` is unique per event: a second call with it changes nothing. `send_before`: a
    reminder that is pointless after a deadline is never sent after it."""
    at = at or timezone.now()
    notification = notification_build(
        recipient=Recipient.of(user), kind=kind, key=key, at=at, send_before=send_before, **params
    )
    Notification.objects.bulk_create([notification], ignore_conflicts=True)
    transaction.on_commit(lambda: _dispatch(SEND_TASK, key))


def notification_texts(*, kind: str, **params) -> tuple[dict, dict[str, str]]:
    """The parameters as shown and the text of `kind` in every SMS language, for a writer that learns the
    recipient's language in the database (the claim's one statement, placement migration 0007)."""
    texts = {}
    for language in LANGUAGES:
        texts[language], shown = notification_render(kind=kind, language=language, params=params)
    return shown, texts


def notifications_dispatch_soon() -> None:
    """After a commit that wrote notifications: ask for one sweep, at most once a second per process, so that a
    storm of events (a claim storm) costs the broker one message a second, not one per event."""
    global _sweep_asked_at
    now = time.monotonic()
    if now - _sweep_asked_at >= SWEEP_ASK_SECONDS:
        _sweep_asked_at = now
        transaction.on_commit(lambda: _dispatch(SWEEP_TASK))


SWEEP_ASK_SECONDS = 1.0
_sweep_asked_at = -SWEEP_ASK_SECONDS


def notifications_enqueue(notifications: list[Notification]) -> None:
    """Write many notifications (`notification_build`) in the caller's transaction, set-based: rows whose key
    exists already are skipped. After the commit, one sweep sends them all."""
    if not notifications:
        return
    if connection.vendor == "postgresql":
        _insert_at_once(notifications)
    else:
        Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    transaction.on_commit(lambda: _dispatch(SWEEP_TASK))


_INSERT_SQL = (
    "INSERT INTO accounts_notification (user_id, kind, key, language, phone, params, text, status, attempts,"
    " next_attempt_at, send_before, claimed_at, last_error, created_at, sent_at)"
    " SELECT n.user_id, n.kind, n.key, n.language, n.phone, n.params::jsonb, n.text, %(status)s, 0,"
    " n.next_attempt_at, n.send_before, NULL, '', n.created_at, NULL"
    " FROM unnest(%(users)s::bigint[], %(kinds)s::text[], %(keys)s::text[], %(languages)s::text[],"
    " %(phones)s::text[], %(params)s::text[], %(texts)s::text[], %(next)s::timestamptz[], %(before)s::timestamptz[],"
    " %(created)s::timestamptz[])"
    " AS n(user_id, kind, key, language, phone, params, text, next_attempt_at, send_before, created_at)"
    " ORDER BY n.key ON CONFLICT (key) DO NOTHING"
)


def _insert_at_once(notifications: list[Notification]) -> None:
    """PostgreSQL: the rows in one INSERT ... SELECT FROM unnest, skipping keys that exist (as bulk_create with
    ignore_conflicts does, without the ORM's per-value work: 5,000 offers' SMS of an 18:00 run cost a second)."""
    params = {
        "status": Notification.Status.PENDING.value,
        "users": [n.user_id for n in notifications],
        "kinds": [n.kind for n in notifications],
        "keys": [n.key for n in notifications],
        "languages": [n.language for n in notifications],
        "phones": [n.phone for n in notifications],
        "params": [json.dumps(n.params, ensure_ascii=False, cls=DjangoJSONEncoder) for n in notifications],
        "texts": [n.text for n in notifications],
        "next": [n.next_attempt_at for n in notifications],
        "before": [n.send_before for n in notifications],
        "created": [n.created_at for n in notifications],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)


# A broker that refused a send is not asked again for this long (per process): requests that commit events must
# not each wait for a broker that is down. The beat sweep sends what was written meanwhile.
DISPATCH_PAUSE_SECONDS = 30.0
_dispatch_paused_until = 0.0


def _dispatch(task: str, *args) -> None:
    """Ask a worker to run `task` now; never raises (the event is committed, and the sweep is the fallback)."""
    global _dispatch_paused_until
    if time.monotonic() < _dispatch_paused_until:
        return
    try:
        current_app.send_task(task, args=list(args), queue=settings.NOTIFICATIONS_QUEUE or None, retry=False)
    except Exception as exc:  # the broker down or unreachable: the beat sweep sends the row within a minute
        _dispatch_paused_until = time.monotonic() + DISPATCH_PAUSE_SECONDS
        logger.warning("notification task %s not sent (%r); the sweep will send it", task, exc)


# --- Sending ---------------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: base x 2^(attempts-1), capped."""
    seconds = settings.NOTIFICATION_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_MAX_SECONDS))


def _claim(due, *, at: dt.datetime, limit: int) -> list[Notification]:
    """Claim up to `limit` rows of `due` (pending and due): pending → sending, one attempt more. Rows another
    worker holds are skipped (SKIP LOCKED), and each UPDATE is conditional on the row still being pending, so a
    row is claimed by one worker only, on every database."""
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        claimed = [
            pk
            for pk in ids
            if Notification.objects.filter(pk=pk, status=Status.PENDING).update(
                status=Status.SENDING, claimed_at=at, attempts=F("attempts") + 1
            )
        ]
    return list(Notification.objects.filter(pk__in=claimed).order_by("next_attempt_at", "pk"))


def _finish(notification: Notification, *, status: str, error: str = "", **fields) -> None:
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=status, last_error=error[:200], **fields
    )
    if status in (Status.SENT, Status.FAILED):
        notification_count(status=status)


def _deliver(notification: Notification, *, at: dt.datetime) -> str:
    """Send one claimed row through the SMS backend and record the outcome; returns the new status."""
    if not notification.phone:
        _finish(notification, status=Status.FAILED, error="the parent has no phone")
        return Status.FAILED
    try:
        sms_send(phone=notification.phone, text=notification.text)
    except Exception as exc:  # any backend failure: retried later, the row never lost
        error = f"{type(exc).__name__}: {exc}"
        if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            logger.error(
                "notification %s to %s failed for good: %s", notification.pk, mask_phone(notification.phone), error
            )
            _finish(notification, status=Status.FAILED, error=error)
            return Status.FAILED
        logger.warning(
            "notification %s to %s failed (attempt %d), retrying: %s",
            notification.pk,
            mask_phone(notification.phone),
            notification.attempts,
            error,
        )
        _finish(
            notification, status=Status.PENDING, error=error, next_attempt_at=at + retry_delay(notification.attempts)
        )
        return Status.PENDING
    _finish(notification, status=Status.SENT, sent_at=at)
    return Status.SENT


def notification_send(*, key: str, at: dt.datetime | None = None) -> str | None:
    """Send the notification named `key` if it is pending and due (the task asked for on commit). Returns its new
    status, or None when there was nothing to send (sent already, claimed by another worker, not due yet)."""
    at = at or timezone.now()
    due = Notification.objects.filter(key=key, status=Status.PENDING, next_attempt_at__lte=at)
    for notification in _claim(due, at=at, limit=1):
        if notification.send_before is not None and notification.send_before <= at:
            _finish(notification, status=Status.FAILED, error="too late: its deadline has passed")
            return Status.FAILED
        return _deliver(notification, at=at)
    return None


def notifications_send_due(*, at: dt.datetime | None = None, batch: int = 20, budget_seconds: float = 50.0) -> dict:
    """The sweep (beat, every minute): gives up rows a lost worker left `sending`, fails reminders whose deadline
    has passed, then claims and sends due rows in batches until none is left or `budget_seconds` have gone (the
    next sweep goes on). A batch is small so that its last row is sent long before
    NOTIFICATION_SENDING_TIMEOUT_SECONDS would take it for abandoned (20 rows at the gateway's 5 s timeout each
    take under 2 minutes). Returns the counts by outcome."""
    at = at or timezone.now()
    counts = {"sent": 0, "failed": 0, "retrying": 0, "abandoned": notifications_abandon(at=at)}
    late = Notification.objects.filter(status=Status.PENDING, send_before__lte=at)
    late_count = late.update(status=Status.FAILED, last_error="too late: its deadline has passed")
    for _row in range(late_count):
        notification_count(status=Status.FAILED)
    counts["failed"] += late_count
    started = time.monotonic()
    due = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=at)
    while time.monotonic() - started < budget_seconds:
        claimed = _claim(due, at=at, limit=batch)
        if not claimed:
            break
        for notification in claimed:
            outcome = _deliver(notification, at=at)
            counts["retrying" if outcome == Status.PENDING else outcome] += 1
    return counts


def notifications_abandon(*, at: dt.datetime) -> int:
    """Rows left `sending` longer than NOTIFICATION_SENDING_TIMEOUT_SECONDS: their worker died during the send,
    so whether the SMS left is unknown. They are marked failed, never sent again (at most once)."""
    stale = at - dt.timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS)
    abandoned = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=stale).update(
        status=Status.FAILED, last_error="interrupted while sending: delivery unknown"
    )
    for _row in range(abandoned):
        notification_count(status=Status.FAILED)
    return abandoned
