import datetime as dt

import pytest

from indigo.celery import app
from placement.models import Place, Protocol
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from placement.tasks import run_daily
from schedules.calendar import ASTANA
from tests.clock import astana
from tests.factories import GroupFactory


def test_the_release_protocol_beat_entry_next_runs_at_13_00_utc():
    entry = app.conf.beat_schedule["release-protocol"]
    assert entry["task"] == run_daily.name
    schedule = entry["schedule"]
    schedule.nowfun = lambda: dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    last_run = dt.datetime(2026, 5, 31, 13, 0, tzinfo=dt.UTC)
    next_run = schedule.now() + schedule.remaining_estimate(last_run)
    assert next_run.astimezone(dt.UTC) == dt.datetime(2026, 6, 1, 13, 0, tzinfo=dt.UTC)
    assert next_run.astimezone(ASTANA).hour == 18


@pytest.mark.django_db(transaction=True)
def test_the_18_00_run_goes_through_a_real_worker_on_redis(redis_worker, postgres):
    group = GroupFactory(birth_year=2021)
    place_release(group=group, count=2, at=astana(2024, 5, 2, 10, 0))
    result = run_daily.apply_async(kwargs={"at": "2024-05-06T18:00:00+05:00"}, queue=redis_worker.queue)
    outcome = result.get(timeout=90)
    slug = group.kindergarten.city.slug
    assert outcome["published"] == [f"{slug}/2024-05-0{d}" for d in range(2, 7)], redis_worker.log()
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.GENERAL}
    assert Protocol.objects.count() == 5
    assert protocols_verify() == []


def test_a_missed_18_00_is_caught_up_by_the_same_run_every_15_minutes():
    entry = app.conf.beat_schedule["release-protocol-catch-up"]
    assert entry["task"] == run_daily.name
    assert entry["schedule"] == 900
    assert "args" not in entry and "kwargs" not in entry  # the moment it runs: it publishes only days that are due
    # A copy still queued from an outage expires instead of piling up; one sent through a broker outage still runs.
    assert entry["options"]["expires"] == 900


def test_beat_sends_without_waiting_for_a_result_and_every_entry_expires():
    for name, entry in app.conf.beat_schedule.items():
        assert entry["options"]["ignore_result"] is True, name  # beat keeps working with the result store down
        assert entry["options"]["expires"] > 0, name


def test_the_run_is_acknowledged_late_and_given_back_when_its_worker_dies():
    assert run_daily.acks_late is True
    assert run_daily.reject_on_worker_lost is True
