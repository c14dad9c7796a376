import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kindergartens import City, GroupType

# Crockford's base32 without look-alikes: 12 characters are 60 bits, far beyond enumeration.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def application_number_new() -> str:
    raw = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def application_number_normalize(value) -> str:
    """XXXX-XXXX-XXXX from what people type: any case, with or without dashes and spaces; Crockford's
    look-alikes (O for 0, I and L for 1) read as the digits they stand for. "" when it cannot be a number."""
    raw = "".join(ch for ch in str(value or "").upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(raw) != 12 or not raw.isascii():
        return ""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class Application(models.Model):
    """A child's place in a city's queue for one cohort (DOMAIN.md, Queue).

    `queue_category` is the category the queue ranks it by: a privilege counts only once confirmed.
    """

    class Language(models.TextChoices):
        KK = "kk", _("Kazakh")
        RU = "ru", _("Russian")
        ANY = "any", _("Kazakh or Russian")

    class Privilege(models.TextChoices):
        NONE = "none", _("No privilege")
        EXTRAORDINARY = "extraordinary", _("Extraordinary right")
        PRIORITY = "priority", _("Priority right")

    class PrivilegeStatus(models.TextChoices):
        NONE = "none", _("Not claimed")
        PENDING = "pending", _("Pending confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    class Status(models.TextChoices):
        QUEUED = "queued", _("In the queue")
        REFERRED = "referred", _("Referral issued")
        HELD = "held", _("Held out of the queue for a while")
        ENROLLED = "enrolled", _("Enrolled")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Category(models.IntegerChoices):
        EXTRAORDINARY = 0, _("Extraordinary right")
        PRIORITY = 1, _("Priority right")
        GENERAL = 2, _("General")

    ACTIVE_STATUSES = (Status.QUEUED, Status.REFERRED, Status.HELD)

    number = models.CharField(
        _("application number"), max_length=16, unique=True, default=application_number_new, editable=False
    )
    child = models.ForeignKey(
        "accounts.Child", on_delete=models.PROTECT, related_name="applications", verbose_name=_("child")
    )
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications", verbose_name=_("applicant")
    )
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="applications", verbose_name=_("city"))
    birth_year = models.PositiveSmallIntegerField(_("cohort (birth year)"))
    language = models.CharField(_("language of instruction"), max_length=3, choices=Language.choices)
    group_type = models.CharField(_("group type"), max_length=16, choices=GroupType.choices, default=GroupType.GENERAL)
    privilege = models.CharField(_("privilege"), max_length=16, choices=Privilege.choices, default=Privilege.NONE)
    privilege_document = models.CharField(_("privilege document"), max_length=255, blank=True)
    privilege_status = models.CharField(
        _("privilege status"), max_length=16, choices=PrivilegeStatus.choices, default=PrivilegeStatus.NONE
    )
    privilege_reason = models.CharField(_("reason of the privilege decision"), max_length=500, blank=True)
    queue_category = models.PositiveSmallIntegerField(
        _("queue category"), choices=Category.choices, default=Category.GENERAL
    )
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    # After a cancelled or expired referral a city may hold the child out of the queue for some days.
    held_until = models.DateTimeField(_("held out of the queue until"), null=True, blank=True)
    # Offer mode (issue 14): the flag beside the ranked choices, and the pause after an offer left unanswered.
    any_other = models.BooleanField(
        _("any other matching place"),
        default=False,
        db_default=False,  # rows written by raw SQL (the scale data, the benchmarks) get it too
        help_text=_("Offer any other matching place when none of the chosen kindergartens has one."),
    )
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    # The parent's one resume of a paused application (a second pause needs an admin).
    resumed_at = models.DateTimeField(_("resumed by the parent at"), null=True, blank=True)

    class Meta:
        ordering = ["applied_at", "pk"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "city"],
                condition=Q(status__in=["queued", "referred", "held"]),
                name="application_one_active_per_child_and_city",
            ),
            models.CheckConstraint(
                condition=Q(queue_category=2) | Q(privilege_status="confirmed"),
                name="application_privileged_category_needs_confirmation",
            ),
        ]
        indexes = [
            # The queue: one range per (city, cohort, category), ordered by time; only queued applications.
            models.Index(
                fields=["city", "birth_year", "queue_category", "applied_at", "id"],
                condition=Q(status="queued"),
                name="application_queue_order",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ApplicationChoice(models.Model):
    """One ranked kindergarten of an application in offer mode (issue 14; DOMAIN.md, Allocation modes): rank 1 is
    the first choice. Written only by `placement.services.choices.choices_set`."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="choices", verbose_name=_("application")
    )
    kindergarten = models.ForeignKey(
        "placement.Kindergarten", on_delete=models.PROTECT, related_name="+", verbose_name=_("kindergarten")
    )
    rank = models.PositiveSmallIntegerField(_("rank"))

    class Meta:
        ordering = ["application", "rank"]
        verbose_name = _("kindergarten choice")
        verbose_name_plural = _("kindergarten choices")
        constraints = [
            models.UniqueConstraint(fields=["application", "rank"], name="choice_one_per_rank"),
            models.UniqueConstraint(fields=["application", "kindergarten"], name="choice_kindergarten_once"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} #{self.rank}"
