"""A worker killed in the middle of the 18:00 run (issue 7, Faults): the run is delivered again and completes every
city's days exactly once; the protocol chain still verifies. Lost: nothing."""

import datetime as dt
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest

from placement.models import PlaceEvent, Protocol
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from placement.tasks import run_daily
from tests.clock import astana
from tests.conftest import wait_for
from tests.factories import GroupFactory

from .celery_fixtures import celery_processes, city_row_held, sessions_waiting_on_a_lock  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = [dt.date(2024, 5, 2) + dt.timedelta(days=n) for n in range(5)]  # May 2 to May 6


def test_a_worker_killed_mid_run_is_redelivered_and_publishes_each_city_day_exactly_once(
    postgres, redis_url, celery_processes  # noqa: F811
):
    groups = [GroupFactory(birth_year=2021) for _ in range(2)]
    first, second = (group.kindergarten.city for group in groups)
    assert first.pk < second.pk  # the run goes city by city in pk order
    for group in groups:
        place_release(group=group, count=2, at=astana(2024, 5, 2, 10))
    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"
    # A visibility timeout of seconds, so the test need not wait the production ten minutes.
    env = {"INDIGO_BROKER_VISIBILITY_TIMEOUT": "2"}

    with city_row_held(second):
        killed = celery_processes.worker(queue=queue, env=env)
        sent = run_daily.apply_async(kwargs={"at": "2024-05-06T18:00:00+05:00"}, queue=queue, ignore_result=True)
        # The first city's days are committed, one transaction each; the run now waits on the second city's row.
        def first_city_done_and_second_waiting() -> bool:
            return Protocol.objects.filter(city=first).count() == len(DAYS) and sessions_waiting_on_a_lock() > 0

        assert wait_for(first_city_done_and_second_waiting, timeout=60), killed.log()
        killed.kill()
    # The killed worker's session is gone with it: nothing of the second city was written.
    assert not Protocol.objects.filter(city=second).exists()

    retried = celery_processes.worker(queue=queue, env=env)
    assert wait_for(lambda: Protocol.objects.filter(city=second).count() == len(DAYS), timeout=60), retried.log()
    assert wait_for(lambda: f"run_daily[{sent.id}] succeeded" in retried.log(), timeout=30), retried.log()

    assert f"run_daily[{sent.id}] received" in retried.log()  # the same message, delivered again
    for city in (first, second):
        assert list(Protocol.objects.filter(city=city).order_by("pk").values_list("day", flat=True)) == DAYS
    assert protocols_verify() == []
    kinds = Counter(PlaceEvent.objects.values_list("place_id", "kind"))
    assert set(kinds.values()) == {1}, kinds  # no event twice
    assert Counter(kind for _, kind in kinds) == {"released": 4, "to_general": 4}


def test_a_pool_process_killed_mid_run_gives_the_run_back_and_the_worker_completes_it_exactly_once(
    postgres, redis_url, celery_processes  # noqa: F811
):
    groups = [GroupFactory(birth_year=2021) for _ in range(2)]
    first, second = (group.kindergarten.city for group in groups)
    for group in groups:
        place_release(group=group, count=2, at=astana(2024, 5, 2, 10))
    queue = f"indigo-test-{uuid.uuid4().hex[:10]}"

    with city_row_held(second):
        worker = celery_processes.worker(queue=queue, concurrency=1)  # prefork: a parent and one pool process
        sent = run_daily.apply_async(kwargs={"at": "2024-05-06T18:00:00+05:00"}, queue=queue, ignore_result=True)

        def first_city_done_and_second_waiting() -> bool:
            return Protocol.objects.filter(city=first).count() == len(DAYS) and sessions_waiting_on_a_lock() > 0

        assert wait_for(first_city_done_and_second_waiting, timeout=60), worker.log()
        [pool_process] = pool_processes(worker.process.pid)
        os.kill(pool_process, signal.SIGKILL)  # the OOM killer takes the process that runs the task
        # reject_on_worker_lost: the parent gives the message back at once, a new pool process takes it.
        assert wait_for(lambda: worker.log().count(f"run_daily[{sent.id}] received") == 2, timeout=60), worker.log()
        assert not Protocol.objects.filter(city=second).exists()

    assert wait_for(lambda: f"run_daily[{sent.id}] succeeded" in worker.log(), timeout=60), worker.log()
    assert "WorkerLostError" in worker.log()
    for city in (first, second):
        assert list(Protocol.objects.filter(city=city).order_by("pk").values_list("day", flat=True)) == DAYS
    assert protocols_verify() == []
    kinds = Counter(PlaceEvent.objects.values_list("place_id", "kind"))
    assert set(kinds.values()) == {1}, kinds


def pool_processes(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]
