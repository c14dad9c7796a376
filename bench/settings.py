"""Settings for the benchmarks' gunicorn: the project's own, plus a bench-only URLconf with a trivial view (the
floor of the web tier). Static files use the plain storage so that pages render without `collectstatic`."""

from indigo.settings import *  # noqa: F403
from indigo.settings import STORAGES

ROOT_URLCONF = "bench.urls"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
