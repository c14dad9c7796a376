"""The Celery app. The beat schedule lives here, in code, in Astana time (CELERY_TIMEZONE)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "indigo.settings")

# DjangoTask gives every task `delay_on_commit`, for tasks started inside a request's transaction.
app = Celery("indigo", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The project-level tasks (health, heartbeat) live outside the apps.
app.conf.imports = ("indigo.tasks",)

app.conf.beat_schedule = {
    # A heartbeat lets the operators see that beat and a worker are alive.
    "heartbeat": {"task": "indigo.tasks.heartbeat", "schedule": 60.0},
    # The protocol moment of DOMAIN.md: 18:00 Astana time, every calendar day. The run catches up missed days,
    # so a late or repeated delivery is harmless.
    "release-protocol": {
        "task": "placement.tasks.run_daily",
        "schedule": crontab(hour=18, minute=0),
        "options": {"expires": 23 * 3600},
    },
}
