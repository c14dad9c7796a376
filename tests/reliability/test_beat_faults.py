"""Beat faults (issue 7, Faults): beat down for a weekend, and two beats running at once. Lost or doubled: nothing."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from placement.models import City, Place, PlaceEvent, Protocol
from placement.services.daily import last_complete_day
from placement.services.daily import run_daily as run_daily_service
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from placement.tasks import run_daily
from schedules import calendar
from tests.clock import astana
from tests.conftest import wait_for
from tests.factories import GroupFactory

from .celery_fixtures import (  # noqa: F401 (fixtures)
    celery_processes,
    city_row_held,
    private_broker,
    sessions_waiting_on_a_lock,
    wait_for_log,
)

pytestmark = pytest.mark.django_db(transaction=True)


def days_of(city: City) -> list[dt.date]:
    """The city's protocol days in the order they were published."""
    return list(Protocol.objects.filter(city=city).order_by("pk").values_list("day", flat=True))


def assert_each_event_once() -> None:
    kinds = Counter(PlaceEvent.objects.values_list("place_id", "kind"))
    assert set(kinds.values()) == {1}, kinds


def test_after_beat_was_down_friday_to_sunday_the_catch_up_publishes_each_day_in_order_with_the_rules_times(
    redis_worker, postgres
):
    group = GroupFactory(birth_year=2021)
    city = group.kindergarten.city
    # Released on Tuesday April 30 and Thursday May 2 (May 1 is a holiday): each goes general at 18:00 after its
    # working days, which the outage of Friday to Sunday and the late run on Monday must not change.
    place_release(group=group, count=1, at=astana(2024, 4, 30, 10, 0))
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily_service(at=astana(2024, 5, 2, 18, 0))  # Thursday's run was the last before beat went down
    assert days_of(city)[-1] == dt.date(2024, 5, 2)

    # Beat is back on Monday: its first run comes at 18:30, late, through a real worker.
    sent_at = timezone.now()
    result = run_daily.apply_async(kwargs={"at": "2024-05-06T18:30:00+05:00"}, queue=redis_worker.queue)
    outcome = result.get(timeout=90)

    missed = [dt.date(2024, 5, 3), dt.date(2024, 5, 4), dt.date(2024, 5, 5), dt.date(2024, 5, 6)]
    assert outcome["published"] == [f"{city.slug}/{day.isoformat()}" for day in missed], redis_worker.log()
    assert days_of(city) == [dt.date(2024, 4, 30), dt.date(2024, 5, 1), dt.date(2024, 5, 2), *missed]
    events = PlaceEvent.objects.filter(kind=PlaceEvent.Kind.TO_GENERAL).select_related("place").order_by("at")
    assert len(events) == 2
    for event in events:
        rule_time = event.place.priority_until  # the end of its working days, fixed at its release
        assert event.place.state == Place.State.GENERAL
        assert event.place.general_since == rule_time
        assert calendar.astana(rule_time).time() == dt.time(18, 0)
        assert event.at == rule_time  # the chronology shows the rule's time ...
        assert event.protocol_day == calendar.astana(rule_time).date()
        assert event.recorded_at >= sent_at > event.at  # ... and the time it was recorded, by the catch-up
        entries = Protocol.objects.get(city=city, day=event.protocol_day).entries
        assert [(e["event"], e["at"]) for e in entries] == [("to_general", calendar.astana(rule_time).isoformat())]
    assert events[0].protocol_day in missed[:-1]  # the first moved while beat was down ...
    assert events[1].protocol_day == dt.date(2024, 5, 6)  # ... the second on Monday, 30 minutes before the run
    assert protocols_verify() == []
    assert_each_event_once()


def test_two_beats_running_at_once_still_publish_one_protocol_per_city_and_day(
    postgres, private_broker, celery_processes  # noqa: F811
):
    groups = [GroupFactory(birth_year=2021) for _ in range(2)]
    cities = [group.kindergarten.city for group in groups]
    four_days_ago = calendar.astana(timezone.now() - dt.timedelta(days=4))
    released = four_days_ago.replace(hour=10, minute=0, second=0, microsecond=0)
    for group in groups:
        place_release(group=group, count=2, at=released)
    last_day = last_complete_day(timezone.now())
    # Both beats and the worker on a broker of their own; the catch-up entry every second.
    env = {
        "CELERY_BROKER_URL": private_broker.url,
        "CELERY_RESULT_BACKEND": private_broker.url,
        "INDIGO_BEAT_CATCHUP_SECONDS": "1",
    }
    worker = celery_processes.worker(concurrency=2, env=env)
    assert wait_for_log(worker, "ready."), worker.log()

    with city_row_held(cities[0]):
        beats = [celery_processes.beat(env=env), celery_processes.beat(env=env)]
        # Both worker processes are inside a run, each waiting for the first city's lock: the runs overlap.
        assert wait_for(lambda: sessions_waiting_on_a_lock() >= 2, timeout=60), worker.log()
    for beat in beats:
        assert wait_for_log(beat, "Sending due task release-protocol-catch-up", count=3), beat.log()
    assert wait_for_log(worker, "succeeded", count=4), worker.log()
    for beat in beats:
        beat.stop()

    for city in cities:
        days = days_of(city)
        # Every day from the first release up to the last whose 18:00 has come, once each and in order.
        assert days == [released.date() + dt.timedelta(days=n) for n in range(len(days))]
        assert days[-1] >= last_day
    assert protocols_verify() == []
    assert_each_event_once()
    assert "Traceback" not in worker.log()
