import datetime as dt

import pytest

from indigo.celery import app
from placement.models import Place, Protocol
from placement.services import place_release, protocols_verify
from placement.tasks import run_daily
from schedules.calendar import ASTANA
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
    place_release(group=group, count=2, at=dt.datetime(2024, 5, 2, 10, 0, tzinfo=ASTANA))
    result = run_daily.apply_async(kwargs={"at": "2024-05-06T18:00:00+05:00"}, queue=redis_worker.queue)
    outcome = result.get(timeout=90)
    slug = group.kindergarten.city.slug
    assert outcome["published"] == [f"{slug}/2024-05-0{d}" for d in range(2, 7)], redis_worker.log()
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.GENERAL}
    assert Protocol.objects.count() == 5
    assert protocols_verify() == []
