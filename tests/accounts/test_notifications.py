"""The notification outbox (issue 14, Notifications): written in the event's transaction, sent once by a task
after the commit or by the beat's sweep after a crash, retried with backoff after a gateway failure and then
marked failed, in the parent's language."""

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import sms
from accounts.models import Notification
from accounts.services import notifications as outbox
from accounts.services.notifications import (
    TEXTS,
    notification_enqueue,
    notification_render,
    notification_send,
    notifications_send_due,
    retry_delay,
)
from accounts.sms import SmsDeliveryError
from accounts.tasks import notification_send as notification_send_task
from tests.clock import astana
from tests.factories import AdminFactory, ParentFactory
from tests.outbox import delivered
from tests.placement.test_races import run_together

T0 = astana(2024, 5, 7, 12, 0)
KAZAKH_LETTERS = set("әғқңөұүһі")


@pytest.fixture(autouse=True)
def _fresh_outbox(monkeypatch):
    sms.outbox.clear()
    monkeypatch.setattr(outbox, "_dispatch_paused_until", 0.0)
    yield
    sms.outbox.clear()


@pytest.fixture
def sent_tasks(monkeypatch):
    """The tasks asked for on commit, instead of a broker: [(task name, args, queue)]."""
    asked = []

    def send_task(name, args=None, queue=None, **options):
        asked.append((name, tuple(args or ()), queue))

    monkeypatch.setattr(outbox.current_app, "send_task", send_task)
    return asked


@pytest.fixture
def counted(monkeypatch):
    """The notification statuses counted for /metrics."""
    statuses = []
    monkeypatch.setattr(outbox, "notification_count", lambda *, status: statuses.append(status))
    return statuses


def lifted(parent, key="cabinet_lifted:1", **kwargs):
    notification_enqueue(user=parent, kind=Notification.Kind.CABINET_LIFTED, key=key, **kwargs)


class FlakyGateway(sms.BaseBackend):
    """Fails `failures` times, then delivers into accounts.sms.outbox."""

    failures = 0

    def send(self, *, phone: str, text: str) -> None:
        if FlakyGateway.failures > 0:
            FlakyGateway.failures -= 1
            raise SmsDeliveryError("the gateway answered HTTP 503")
        sms.outbox.append(sms.SmsMessage(phone=phone, text=text))


# --- Written in the event's transaction ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_event_rolled_back_sends_nothing(sent_tasks):
    parent = ParentFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        lifted(parent, at=T0)
        assert Notification.objects.count() == 1  # written inside the transaction...
        raise RuntimeError("the event fails after its notification was written")
    assert Notification.objects.count() == 0  # ...and gone with it
    assert sent_tasks == []  # no task asked for
    assert delivered(at=T0 + dt.timedelta(hours=1)) == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_asks_one_task_on_commit_which_sends_it(sent_tasks, settings):
    settings.NOTIFICATIONS_QUEUE = "sms"
    parent = ParentFactory()
    with transaction.atomic():
        lifted(parent, key="cabinet_lifted:7", at=T0)
        assert sent_tasks == []  # nothing leaves before the commit
    assert sent_tasks == [("accounts.tasks.notification_send", ("cabinet_lifted:7",), "sms")]
    assert notification_send_task("cabinet_lifted:7") == "sent"
    [message] = sms.outbox
    assert message.phone == parent.phone
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 1, "")


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_send_sends_exactly_once_after_recovery(monkeypatch):
    def broker_gone(*args, **kwargs):
        raise ConnectionError("the process died, or the broker was down, right after the commit")

    monkeypatch.setattr(outbox.current_app, "send_task", broker_gone)
    parent = ParentFactory()
    with transaction.atomic():
        lifted(parent, at=T0)
    assert Notification.objects.get().status == "pending"  # committed, never sent
    later = T0 + dt.timedelta(minutes=1)
    notifications_send_due(at=later)  # the beat's sweep after recovery
    notifications_send_due(at=later)  # and the next one
    assert notification_send(key="cabinet_lifted:1", at=later) is None  # the lost task arriving at last
    assert [m.phone for m in sms.outbox] == [parent.phone]
    assert Notification.objects.get().status == "sent"


def test_the_same_event_reported_twice_makes_one_notification(db):
    parent = ParentFactory()
    lifted(parent, at=T0)
    lifted(parent, at=T0 + dt.timedelta(seconds=1))
    assert Notification.objects.count() == 1
    assert len(delivered(at=T0 + dt.timedelta(minutes=1))) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_notification_once(postgres, settings):
    """Two sweeps released together over 40 due rows, claiming five at a time: every SMS leaves once."""
    parents = [ParentFactory() for _ in range(40)]
    with transaction.atomic():
        for parent in parents:
            lifted(parent, key=f"cabinet_lifted:{parent.pk}", at=T0)
    later = T0 + dt.timedelta(minutes=1)
    results = run_together(*[lambda: notifications_send_due(at=later, batch=5)] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(m.phone for m in sms.outbox) == sorted(p.phone for p in parents)
    assert sum(r["sent"] for r in results) == 40
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_claimed_row_is_never_claimed_again(db):
    """Two tasks asked for the same row (a redelivered message): the first sends, the second finds nothing."""
    parent = ParentFactory()
    lifted(parent, at=T0)
    assert notification_send(key="cabinet_lifted:1", at=T0) == "sent"
    assert notification_send(key="cabinet_lifted:1", at=T0) is None
    assert len(sms.outbox) == 1


# --- Retries, failures, deadlines ------------------------------------------------------------------------


def test_a_gateway_failure_is_retried_with_backoff_and_then_marked_failed(db, settings, counted):
    settings.SMS_BACKEND = f"{__name__}.FlakyGateway"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_SECONDS = 60
    FlakyGateway.failures = 10
    parent = ParentFactory()
    lifted(parent, at=T0)

    def state():
        row = Notification.objects.get()
        return row.status, row.attempts, row.next_attempt_at

    notifications_send_due(at=T0)
    assert state() == ("pending", 1, T0 + dt.timedelta(seconds=60))
    assert "HTTP 503" in Notification.objects.get().last_error
    notifications_send_due(at=T0 + dt.timedelta(seconds=59))  # not due yet: no attempt
    assert state()[1] == 1
    notifications_send_due(at=T0 + dt.timedelta(seconds=60))
    assert state() == ("pending", 2, T0 + dt.timedelta(seconds=60 + 120))  # the wait doubles
    notifications_send_due(at=T0 + dt.timedelta(seconds=179))
    assert state()[1] == 2
    notifications_send_due(at=T0 + dt.timedelta(seconds=180))
    assert state()[:2] == ("failed", 3)  # the third failure is the last
    notifications_send_due(at=T0 + dt.timedelta(days=1))
    assert state()[:2] == ("failed", 3) and sms.outbox == []
    assert counted == ["failed"]


def test_a_gateway_that_recovers_delivers_on_the_next_attempt(db, settings, counted):
    settings.SMS_BACKEND = f"{__name__}.FlakyGateway"
    FlakyGateway.failures = 1
    parent = ParentFactory()
    lifted(parent, at=T0)
    notifications_send_due(at=T0)
    notifications_send_due(at=T0 + retry_delay(1))
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, T0 + retry_delay(1))
    assert [m.phone for m in sms.outbox] == [parent.phone]
    assert counted == ["sent"]


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.NOTIFICATION_RETRY_SECONDS = 60
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 600
    assert [retry_delay(n).total_seconds() for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


def test_a_row_a_lost_worker_left_sending_is_marked_failed_and_never_sent_twice(db, settings, counted):
    settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS = 600
    parent = ParentFactory()
    lifted(parent, at=T0)
    Notification.objects.update(status="sending", claimed_at=T0, attempts=1)  # the worker died mid-send
    notifications_send_due(at=T0 + dt.timedelta(seconds=599))
    assert Notification.objects.get().status == "sending"  # it may still be sending
    notifications_send_due(at=T0 + dt.timedelta(seconds=601))
    row = Notification.objects.get()
    assert (row.status, row.last_error) == ("failed", "interrupted while sending: delivery unknown")
    assert sms.outbox == [] and counted == ["failed"]


def test_a_reminder_is_not_sent_after_its_deadline(db):
    parent = ParentFactory()
    deadline = T0 + dt.timedelta(hours=2)
    lifted(parent, at=T0, send_before=deadline)
    assert delivered(at=deadline) == []
    row = Notification.objects.get()
    assert (row.status, row.last_error) == ("failed", "too late: its deadline has passed")


def test_a_broker_that_refused_a_send_is_left_alone_for_a_while(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox.current_app, "send_task", refuse)
    outbox._dispatch("accounts.tasks.notification_send", "a")  # logged, never raised: the event is committed
    outbox._dispatch("accounts.tasks.notification_send", "b")
    assert len(calls) == 1  # the second waits for the sweep instead of for the broker


# --- Texts ------------------------------------------------------------------------------------------------

PARAMS = {
    "child": "Сапаров А.",
    "reason": "нет документа",
    "number": "AB12-CD34-EF56",
    "referral": "R-AB12-CD34-EF56",
    "kindergarten": "KG-01 Балапан",
    "until": astana(2024, 5, 16, 18, 0),
}


@pytest.mark.parametrize("kind", list(TEXTS))
def test_every_notification_reads_in_russian_and_kazakh_with_all_its_facts(kind):
    english, shown = notification_render(kind=kind, language="en", params=PARAMS)
    russian, _shown = notification_render(kind=kind, language="ru", params=PARAMS)
    kazakh, _shown = notification_render(kind=kind, language="kk", params=PARAMS)
    assert russian != english and kazakh != english and russian != kazakh
    assert not KAZAKH_LETTERS & set(russian.lower()) and KAZAKH_LETTERS & set(kazakh.lower())
    with translation.override("en"):
        facts = re.findall(r"%\((\w+)\)s", str(TEXTS[kind]))
    for text in (russian, kazakh):
        assert text.startswith("INDIGO: ") and "%(" not in text
        for name in facts:
            assert str(shown[name]) in text, (kind, name)  # every fact of the English text, in both languages
    assert shown["until"] == "16.05.2024 18:00"  # Astana time, as every deadline on the portal


def test_the_text_is_kept_in_the_parents_language_as_it_was_sent(db):
    kazakh_reader = ParentFactory(language="kk")
    notification_enqueue(
        user=kazakh_reader,
        kind=Notification.Kind.REFERRAL_ISSUED,
        key="referral_issued:1",
        at=T0,
        referral="R-AB12-CD34-EF56",
        number="AB12-CD34-EF56",
        until=dt.datetime(2024, 5, 16, 13, 0, tzinfo=dt.UTC),
    )
    row = Notification.objects.get()
    assert (row.language, row.phone) == ("kk", kazakh_reader.phone)
    assert row.params == {"referral": "R-AB12-CD34-EF56", "number": "AB12-CD34-EF56", "until": "16.05.2024 18:00"}
    assert row.text == (
        "INDIGO: AB12-CD34-EF56 өтініші бойынша R-AB12-CD34-EF56 жолдамасы берілді. "
        "Ол 16.05.2024 18:00 дейін жарамды (Астана уақыты)."
    )
    [message] = delivered(at=T0)
    assert message.text == row.text


# --- The parent's language ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sms_language_follows_the_pages_and_the_api_a_parent_uses(client):
    parent = ParentFactory()
    assert parent.language == "ru"
    client.force_login(parent)
    client.get("/kk/cabinet/")
    parent.refresh_from_db()
    assert parent.language == "kk"
    client.get("/en/cabinet/")  # English pages: SMS stay in the last of ru and kk
    parent.refresh_from_db()
    assert parent.language == "kk"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=parent).key}")
    api.get("/api/v1/me/")  # no Accept-Language: no choice made
    parent.refresh_from_db()
    assert parent.language == "kk"
    api.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ru")
    parent.refresh_from_db()
    assert parent.language == "ru"


@pytest.mark.django_db
def test_a_parent_who_keeps_their_language_costs_no_write(client):
    parent = ParentFactory(language="kk")
    client.force_login(parent)
    with CaptureQueriesContext(connection) as context:
        client.get("/kk/cabinet/")
    assert not [q for q in context.captured_queries if q["sql"].startswith("UPDATE") and "language" in q["sql"]]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_department_admins_see_the_notifications_and_their_delivery_with_phones_masked(db, client, language):
    parent = ParentFactory(phone="+77015550123")
    lifted(parent, at=T0)
    notifications_send_due(at=T0)
    client.force_login(AdminFactory())
    listing = client.get(f"/{language}/admin/accounts/notification/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "+7701***0123" in html and "+77015550123" not in html
    detail = client.get(f"/{language}/admin/accounts/notification/{Notification.objects.get().pk}/change/")
    assert detail.status_code == 200 and "INDIGO: " in detail.content.decode()
    assert client.post(f"/{language}/admin/accounts/notification/add/").status_code == 403
