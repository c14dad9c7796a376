from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .queue import Application


class GeneralAccessSubscription(models.Model):
    """A parent asked for an SMS when a place their child can take enters general access (issue 14: claim mode's
    subscription, at most one SMS per application a day). One row per application and parent: either parent who
    sees the application may subscribe, and each gets their own SMS."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("application")
    )
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("parent")
    )
    created_at = models.DateTimeField(_("subscribed at"), default=timezone.now)

    class Meta:
        verbose_name = _("general access subscription")
        verbose_name_plural = _("general access subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["application", "parent"], name="subscription_one_per_application_parent")
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.parent_id}"
