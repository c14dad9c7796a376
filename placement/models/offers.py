from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .kindergartens import City, Kindergarten
from .places import Place, reason_label
from .protocols import CityDayRecord
from .queue import Application
from .referrals import Referral

# DOMAIN.md, Allocation modes: an application paused by an expired offer may be resumed by its parent, once,
# within this many days, keeping its time; after that it needs an admin.
RESUME_DAYS = 28


class Offer(models.Model):
    """A place the 18:00 run offered to an application in offer mode (issue 14; DOMAIN.md, Allocation modes).

    Live until `valid_until` (18:00 of the city's `offer_working_days`-th counted working day); the parent accepts
    (a referral, `referral`) or declines; unanswered, it expires and pauses the application. `rank` is the
    kindergarten's rank in the application's choices at the run, None when the place came as "any other";
    `queue_position` is the application's position in its cohort's queue at the run. Written only by
    `placement.services.offers`.
    """

    class State(models.TextChoices):
        LIVE = "live", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="offers", verbose_name=_("place"))
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="offers", verbose_name=_("application")
    )
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers", verbose_name=_("parent")
    )
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="offers", verbose_name=_("kindergarten")
    )
    rank = models.PositiveSmallIntegerField(_("rank of the kindergarten in the choices"), null=True, blank=True)
    queue_position = models.PositiveIntegerField(_("queue position at the run"))
    made_at = models.DateTimeField(_("made at"))
    valid_until = models.DateTimeField(_("valid until"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.LIVE)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    close_reason = models.CharField(_("reason"), max_length=500, blank=True)
    referral = models.OneToOneField(
        Referral,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offer",
        verbose_name=_("referral"),
    )
    protocol_day = models.DateField(_("protocol day"))

    class Meta:
        ordering = ["-made_at", "pk"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(fields=["place"], condition=Q(state="live"), name="offer_one_live_per_place"),
            models.UniqueConstraint(
                fields=["application"], condition=Q(state="live"), name="offer_one_live_per_application"
            ),
            models.CheckConstraint(
                condition=Q(state="live") | Q(decided_at__isnull=False), name="offer_decided_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(state="accepted") | Q(referral__isnull=False), name="offer_accepted_has_referral"
            ),
        ]
        indexes = [models.Index(fields=["state", "valid_until"], name="offer_state_valid")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.place_id}"

    def answerable(self, at) -> bool:
        """Live and before its deadline: what the parent can still accept or decline at `at`."""
        return self.state == self.State.LIVE and self.valid_until > at

    @property
    def close_reason_label(self) -> str:
        return reason_label(self.close_reason)


class AllocationRun(CityDayRecord):
    """The inputs of one city's allocation at one day's 18:00 run (issue 14, Publication): the document of
    `placement.allocation.inputs_document` (queue order and choices under per-run pseudonyms, the free places) and
    its SHA-256, which the day's protocol publishes. `manage.py verify_allocation` re-runs the allocation from it."""

    append_only_message = "an allocation run's inputs never change"

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="allocation_runs", verbose_name=_("city"))
    day = models.DateField(_("protocol day"))
    made_at = models.DateTimeField(_("made at"))
    inputs = models.JSONField(_("inputs document"))
    inputs_sha256 = models.CharField(_("SHA-256 of the inputs"), max_length=64)

    class Meta(CityDayRecord.Meta):
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        constraints = [models.UniqueConstraint(fields=["city", "day"], name="allocation_run_one_per_city_and_day")]
