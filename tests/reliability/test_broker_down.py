"""The broker down (issue 7, Faults): nothing is queued into a void. A task sent while the broker is down is sent
when it returns; one that cannot be sent within the retry policy says so in the log. Lost silently: nothing."""

import datetime as dt
import logging
import re
import threading
import uuid

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from indigo.celery import app
from indigo.tasks import ping
from placement.models import Protocol
from placement.services.daily import last_complete_day
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from placement.tasks import run_daily
from schedules import calendar
from tests.clock import astana
from tests.conftest import wait_for
from tests.factories import GroupFactory

from .celery_fixtures import celery_processes, free_port, private_broker, wait_for_log  # noqa: F401 (fixtures)

RETRYING = "Broker unreachable, task {name}["
NOT_SENT = "Task {name}[{id}] was NOT sent: the broker stayed unreachable through {retries} retries"


def messages(caplog, start: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith(start)]


@pytest.mark.django_db(transaction=True)
def test_a_run_sent_while_the_broker_is_down_is_sent_when_it_returns_and_runs(
    postgres, private_broker, celery_processes, caplog  # noqa: F811
):
    caplog.set_level(logging.WARNING, logger="indigo.celery")
    group = GroupFactory(birth_year=2021)
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10))
    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"
    env = {"CELERY_BROKER_URL": private_broker.url, "CELERY_RESULT_BACKEND": private_broker.url}
    worker = celery_processes.worker(queue=queue, env=env)
    assert wait_for_log(worker, "ready."), worker.log()

    private_broker.stop()
    outcome = {}

    def send_as_beat_does():
        # Beat's way: a producer on the broker's connection, no result wanted, the default retry policy.
        try:
            with app.connection_for_write(private_broker.url) as connection:
                producer = app.amqp.Producer(connection, auto_declare=False)
                outcome["result"] = run_daily.apply_async(
                    kwargs={"at": "2024-05-06T18:00:00+05:00"}, queue=queue, ignore_result=True, producer=producer
                )
        except Exception as exc:  # the assertion below names it
            outcome["error"] = exc

    sender = threading.Thread(target=send_as_beat_does)
    sender.start()
    retrying = RETRYING.format(name=run_daily.name)
    assert wait_for(lambda: len(messages(caplog, retrying)) >= 2, timeout=20), caplog.text
    assert Protocol.objects.count() == 0
    private_broker.start()
    sender.join(timeout=60)

    assert not sender.is_alive()
    assert "error" not in outcome, outcome
    assert wait_for(lambda: Protocol.objects.count() == 5, timeout=60), worker.log()
    assert f"run_daily[{outcome['result'].id}] succeeded" in worker.log()
    assert protocols_verify() == []
    assert not messages(caplog, "Task ")  # no "was NOT sent"


def test_a_send_that_cannot_reach_the_broker_within_the_retry_policy_is_logged_as_not_sent(caplog):
    caplog.set_level(logging.WARNING, logger="indigo.celery")
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with app.connection_for_write(dead_broker) as connection, pytest.raises(OperationalError):
        ping.apply_async(
            args=[1],
            connection=connection,
            ignore_result=True,
            task_id="the-ping",
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.05, "interval_max": 0.05},
        )
    assert len(messages(caplog, RETRYING.format(name=ping.name))) >= 2
    [error] = messages(caplog, NOT_SENT.format(name=ping.name, id="the-ping", retries=2))
    assert [r.levelname for r in caplog.records if r.getMessage() == error] == ["ERROR"]


def test_the_default_publish_retry_policy_keeps_trying_for_minutes():
    policy = app.conf.task_publish_retry_policy
    assert app.conf.task_publish_retry is True
    retries = range(policy["max_retries"])
    waits = [min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"]) for n in retries]
    assert 300 <= sum(waits) <= 600  # minutes: longer than a broker restart or failover, short of a hang


@pytest.mark.django_db(transaction=True)
def test_beat_keeps_trying_through_a_broker_outage_and_the_run_it_sent_then_is_delivered(
    postgres, private_broker, celery_processes  # noqa: F811
):
    group = GroupFactory(birth_year=2021)
    four_days_ago = calendar.astana(timezone.now() - dt.timedelta(days=4))
    released = four_days_ago.replace(hour=10, minute=0, second=0, microsecond=0)
    place_release(group=group, count=1, at=released)
    env = {
        "CELERY_BROKER_URL": private_broker.url,
        "CELERY_RESULT_BACKEND": private_broker.url,
        "INDIGO_BEAT_CATCHUP_SECONDS": "1",
    }
    beat = celery_processes.beat(env=env)
    assert wait_for_log(beat, "Sending due task release-protocol-catch-up"), beat.log()

    private_broker.stop()  # and with it every message sent so far: this broker keeps nothing on disk
    retrying = RETRYING.format(name=run_daily.name)
    assert wait_for_log(beat, retrying, count=2, timeout=30), beat.log()
    [task_id] = re.findall(re.escape(retrying) + r"([0-9a-f-]+)\]", beat.log())[:1]
    private_broker.start()

    worker = celery_processes.worker(env=env)
    assert wait_for_log(worker, f"run_daily[{task_id}] succeeded"), worker.log()
    days = list(Protocol.objects.order_by("pk").values_list("day", flat=True))
    assert days == [released.date() + dt.timedelta(days=n) for n in range(len(days))]
    assert days[-1] >= last_complete_day(timezone.now() - dt.timedelta(minutes=5))
    assert protocols_verify() == []
    assert "was NOT sent" not in beat.log()


class ProducerBrokenByTheOutage:
    """A producer whose channel kombu failed to revive when the broker came back, as seen once from beat: the
    retried publish raised AttributeError on the closed channel after the connection was re-established."""

    def __init__(self, connection):
        self.connection = connection

    def publish(self, body, **options):
        options["retry_policy"]["errback"](ConnectionError("Connection reset by peer"), 0)
        raise AttributeError("'NoneType' object has no attribute 'client'")


def test_a_send_whose_producer_was_broken_by_the_outage_is_sent_again_on_a_fresh_connection(caplog):
    caplog.set_level(logging.WARNING, logger="indigo.celery")
    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"
    with app.connection_for_write("memory://") as broken:
        ping.apply_async(
            args=[1], producer=ProducerBrokenByTheOutage(broken), queue=queue, ignore_result=True, task_id="the-ping"
        )
    with app.connection_for_write() as connection:  # the configured broker: Redis, or the embedded file system
        message = connection.SimpleQueue(queue).get(timeout=5)
        message.ack()
    assert message.headers["id"] == "the-ping"
    assert messages(caplog, "Broker back, but the connection of the sender was lost; sending task indigo.tasks.ping")
