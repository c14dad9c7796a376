from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacementConfig(AppConfig):
    name = "placement"
    verbose_name = _("Placement")

    def ready(self):
        from . import (
            registry_cache,  # noqa: F401  (connects the catalog signals that renew the registry's tokens)
            signals,  # noqa: F401  (re-times what is ahead when an override or a shift changes)
        )
