from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = _("Schedules and calendar")

    def ready(self) -> None:
        from . import signals  # noqa: F401
