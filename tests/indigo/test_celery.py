import datetime as dt

from django.conf import settings

from indigo.tasks import ping
from tests.conftest import wait_for


def test_a_task_runs_through_a_real_worker_on_redis(redis_worker):
    result = ping.apply_async(args=[41], queue=redis_worker.queue)
    assert result.get(timeout=60) == 42, redis_worker.log()
    assert "redis://" in settings.CELERY_BROKER_URL


def test_a_task_runs_through_a_real_worker_on_the_configured_broker(celery_worker):
    # On the embedded default this is kombu's file-system transport, as `make run` uses it.
    result = ping.apply_async(args=[1], queue=celery_worker.queue)
    assert wait_for(result.ready, timeout=60), celery_worker.log()
    assert result.get(timeout=5) == 2


def test_the_beat_schedule_lives_in_code_in_astana_time():
    from indigo.celery import app

    assert app.conf.timezone == "Asia/Almaty"
    assert "heartbeat" in app.conf.beat_schedule
    assert dt.timedelta(seconds=60) >= dt.timedelta(seconds=app.conf.beat_schedule["heartbeat"]["schedule"])


def test_tasks_started_inside_a_transaction_are_sent_only_on_commit(db, django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch.object(ping, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ping.delay_on_commit(5)
        send.assert_not_called()
        assert len(callbacks) == 1
        callbacks[0]()
        send.assert_called_once_with((5,), {})


def test_an_unacknowledged_task_goes_back_to_the_redis_queue_within_minutes(redis_url):
    from indigo.celery import app

    options = app.conf.broker_transport_options
    # Longer than the national 18:00 run (about 11 s) by far, short enough that a killed run is redone soon.
    assert 60 <= options["visibility_timeout"] <= 900
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10


def test_a_producer_retries_sending_while_the_broker_is_down():
    from indigo.celery import app

    assert app.conf.task_publish_retry is True
    assert app.conf.task_publish_retry_policy["max_retries"] >= 10
