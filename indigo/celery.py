"""The Celery app. The beat schedule lives here, in code, in Astana time (CELERY_TIMEZONE).

Delivery of the 18:00 run is at least once, and the run is idempotent (one transaction per city and protocol day
under the city's lock, catching up missed days in order), so every fault ends in the day published exactly once:

- a worker killed mid-run: the task is acknowledged late, so Redis hands it to another worker after the
  visibility timeout (INDIGO_BROKER_VISIBILITY_TIMEOUT); the days committed before the kill are skipped;
- a broker down when beat sends: the send is retried and every attempt logged (IndigoTask, the publish retry
  policy in settings); a send that still fails is logged as not sent;
- beat or the broker down at 18:00, or a send given up: the catch-up entry sends the same run every
  INDIGO_BEAT_CATCHUP_SECONDS (15 minutes); it publishes nothing unless a day's 18:00 has passed unpublished,
  so a missed 18:00 heals itself within minutes of beat, the broker and a worker being up again;
- two beats at once (a deployment mistake): every run is sent twice, and the second finds the days published.
"""

import logging
import os
from functools import partial

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.schedules import crontab
from celery.utils import uuid
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "indigo.settings")

logger = logging.getLogger("indigo.celery")


def _log_publish_retry(task_name: str, task_id: str, failures: list, exc: Exception, interval: float) -> None:
    failures.append(exc)
    logger.warning(
        "Broker unreachable, task %s[%s] not sent yet, retrying in %.1f s: %s", task_name, task_id, interval, exc
    )


class IndigoTask(DjangoTask):
    """DjangoTask (`delay_on_commit`) whose sends say in the log when the broker is down and when they give up."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, task_id, producer, **options)
        task_id = task_id or uuid()
        policy = {**self.app.conf.task_publish_retry_policy, **(options.pop("retry_policy", None) or {})}
        failures = []
        policy["errback"] = partial(_log_publish_retry, self.name, task_id, failures)
        try:
            return super().apply_async(args, kwargs, task_id, producer, retry_policy=policy, **options)
        except OperationalError as exc:
            logger.error(
                "Task %s[%s] was NOT sent: the broker stayed unreachable through %s retries: %s",
                self.name,
                task_id,
                policy.get("max_retries"),
                exc,
            )
            raise
        except Exception as exc:
            if not failures or producer is None:
                raise
            # When the broker returns, kombu may fail to revive a long-lived producer's channel (beat's: an
            # AttributeError on the closed channel). Send once more on a fresh connection from the app's pool;
            # a message sent twice is harmless, the tasks sent by beat are idempotent.
            logger.warning(
                "Broker back, but the connection of the sender was lost; sending task %s[%s] again: %r",
                self.name,
                task_id,
                exc,
            )
            del policy["errback"]
            return self.apply_async(args, kwargs, task_id, None, retry_policy=policy, **options)


app = Celery("indigo", task_cls=IndigoTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The project-level tasks (health, heartbeat) live outside the apps.
app.conf.imports = ("indigo.tasks",)

# Beat never reads a result: without one its sends do not depend on the result backend being up.
_BEAT = {"ignore_result": True}

app.conf.beat_schedule = {
    # A heartbeat lets the operators see that beat and a worker are alive.
    "heartbeat": {"task": "indigo.tasks.heartbeat", "schedule": 60.0, "options": {**_BEAT, "expires": 60}},
    # The protocol moment of DOMAIN.md: 18:00 Astana time, every calendar day. The run catches up missed days,
    # so a late or repeated delivery is harmless.
    "release-protocol": {
        "task": "placement.tasks.run_daily",
        "schedule": crontab(hour=18, minute=0),
        "options": {**_BEAT, "expires": 23 * 3600},
    },
}


@app.on_after_configure.connect
def _schedule_the_catch_up(sender: Celery, **kwargs) -> None:
    """The same run again every INDIGO_BEAT_CATCHUP_SECONDS (15 minutes): a no-op unless an 18:00 was missed (beat,
    the broker or the workers down, a send given up). It expires after 15 minutes (its interval, when longer):
    a backlog after a worker outage is not run dozens of times, and a send retried through a broker outage
    still runs."""
    from django.conf import settings

    seconds = settings.INDIGO_BEAT_CATCHUP_SECONDS
    sender.conf.beat_schedule["release-protocol-catch-up"] = {
        "task": "placement.tasks.run_daily",
        "schedule": seconds,
        "options": {**_BEAT, "expires": max(seconds, 900)},
    }


@app.on_after_configure.connect
def _schedule_the_notifications(sender: Celery, **kwargs) -> None:
    """The notification outbox (issue 14, accounts.services.notifications): every NOTIFICATIONS_SWEEP_SECONDS
    (a minute) beat sends the sweep, which sends whatever is pending and due: the rows whose on-commit task was
    lost (a crash, a broker outage), the retries after a gateway failure, the rows written in bulk. Every
    15 minutes, the reminders of deadlines within 24 hours (referrals, offers), each enqueued once by its key."""
    from django.conf import settings

    seconds = settings.NOTIFICATIONS_SWEEP_SECONDS
    queue = {"queue": settings.NOTIFICATIONS_QUEUE} if settings.NOTIFICATIONS_QUEUE else {}
    sender.conf.beat_schedule["notifications-sweep"] = {
        "task": "accounts.tasks.notifications_sweep",
        "schedule": seconds,
        "options": {**_BEAT, **queue, "expires": seconds},
    }
    sender.conf.beat_schedule["deadline-reminders"] = {
        "task": "placement.tasks.deadline_reminders",
        "schedule": 900.0,
        "options": {**_BEAT, "expires": 900},
    }
