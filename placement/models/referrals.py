import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indigo.models import actor_field
from schedules.calendar import PROTOCOL_MOMENT, at_astana, counted_days

from .kindergartens import Kindergarten
from .places import Place, reason_label
from .queue import _NUMBER_ALPHABET, Application

REFERRAL_WORKING_DAYS = 5


def referral_number_new() -> str:
    raw = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(12))
    return f"R-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def referral_number_normalize(value) -> str:
    """R-XXXX-XXXX-XXXX from what people type (any case, spaces around); "" when it cannot be a number."""
    number = str(value or "").strip().upper()
    return number if 0 < len(number) <= 20 else ""


def referral_valid_until(issued_at: dt.datetime) -> dt.datetime:
    """18:00 of the 5th counted working day (DOMAIN.md, Referral, enrolment, contract; the counted-day rule of
    Places 2)."""
    return at_astana(counted_days(issued_at, REFERRAL_WORKING_DAYS)[-1], PROTOCOL_MOMENT)


class Referral(models.Model):
    """A claim's result: the place is held for the child until the kindergarten enrols it or the referral ends
    (DOMAIN.md, Referral, enrolment, contract): valid to 18:00 of the 5th counted working day."""

    class Status(models.TextChoices):
        LIVE = "live", _("Valid")
        ENROLLED = "enrolled", _("Child enrolled")
        DECLINED = "declined", _("Declined by the parent")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        # The child was enrolled and the contract then terminated: the place was freed (DOMAIN.md, Places 7).
        TERMINATED = "terminated", _("Contract terminated")

    number = models.CharField(
        _("referral number"), max_length=20, unique=True, default=referral_number_new, editable=False
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("place"))
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("application")
    )
    child = models.ForeignKey(
        "accounts.Child", on_delete=models.PROTECT, related_name="referrals", verbose_name=_("child")
    )
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("parent")
    )
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("kindergarten")
    )
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateTimeField(_("valid until"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.LIVE)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.UniqueConstraint(fields=["place"], condition=Q(status="live"), name="referral_one_live_per_place"),
            models.UniqueConstraint(fields=["child"], condition=Q(status="live"), name="referral_one_live_per_child"),
            models.UniqueConstraint(
                fields=["place"], condition=Q(status="enrolled"), name="referral_one_enrolled_per_place"
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_until"], name="referral_status_valid")]

    def __str__(self) -> str:
        return self.number

    @classmethod
    def issued(cls, *, place, application, parent, at: dt.datetime) -> "Referral":
        """The referral a claim or an accepted offer gives (unsaved): the place held for the application's child,
        valid to 18:00 of the 5th counted working day from `at`."""
        return cls(
            place=place,
            application=application,
            child_id=application.child_id,
            parent=parent,
            kindergarten_id=place.kindergarten_id,
            issued_at=at,
            valid_until=referral_valid_until(at),
        )


class Contract(models.Model):
    """The enrolment: the kindergarten took the child with the referral (DOMAIN.md)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In force")
        TERMINATED = "terminated", _("Terminated")

    referral = models.OneToOneField(
        Referral, on_delete=models.PROTECT, related_name="contract", verbose_name=_("referral")
    )
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("kindergarten")
    )
    child = models.ForeignKey(
        "accounts.Child", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("child")
    )
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("parent")
    )
    enrolled_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    enrolled_by = actor_field(_("enrolled by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    termination_reason = models.CharField(_("reason for termination"), max_length=500, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self) -> str:
        return f"{self.referral.number}"

    @property
    def termination_reason_label(self) -> str:
        return reason_label(self.termination_reason)
