from functools import cache

from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indigo.append_only import AppendOnlyModel
from indigo.models import actor_field

from .kindergartens import City, Group, GroupType, Kindergarten, Language


class Access(models.TextChoices):
    """What the registry and the protocol say of a live place (DOMAIN.md, Places and their access)."""

    SCHEDULED = "scheduled", _("Scheduled")
    PRIORITY = "priority", _("Priority access")
    GENERAL = "general", _("General access")


class ReturnReason(models.TextChoices):
    """Why the portal itself ended a referral, an offer or a contract and returned its place. The services record
    the code (in the place's `returned` event, so the public protocol stays language-neutral, and in the row's own
    reason); each reader reads it in their language (`reason_label`). A reason people type (a withdrawal's) is
    recorded as typed."""

    REFERRAL_DECLINED = "referral_declined", _("Declined by the parent")
    REFERRAL_EXPIRED = "referral_expired", _("Expired")
    CABINET_BLOCKED = "cabinet_blocked", _("Cabinet blocked")
    CONTRACT_TERMINATED = "contract_terminated", _("Contract terminated")
    OFFER_DECLINED = "offer_declined", _("Offer declined by the parent")
    OFFER_EXPIRED = "offer_expired", _("Offer expired unanswered")
    OFFER_WITHDRAWN = "offer_withdrawn", _("Offer withdrawn: the application was withdrawn")
    OFFER_BLOCKED = "offer_blocked", _("Offer withdrawn: the parent's cabinet is blocked")


@cache
def _labels(choices: type[models.Choices]) -> dict:
    return dict(choices.choices)


def choice_label(choices: type[models.Choices], value: str) -> str:
    """`value`'s label in the reader's language; a value `choices` does not know (one a later release adds, typed
    text) as it is."""
    label = _labels(choices).get(value)
    return value if label is None else str(label)


def reason_label(reason: str) -> str:
    """A recorded reason in the reader's language: a `ReturnReason` code's label; typed text (or text recorded
    before the codes) as it is."""
    return choice_label(ReturnReason, reason)


def access_condition(access: str, at, *, prefix: str = "") -> Q:
    """Free places whose access at `at` is `access`, as a condition (`prefix` reaches places through a relation,
    e.g. "places__"). The one home of "a place's access follows the clock" (DOMAIN.md, Places and their access):
    scheduled until `entered_priority_at`, in priority until `priority_until`, in general access from then on,
    whatever state the last 18:00 run wrote; `Place.access_at` is the same rule for a place in hand."""
    live = Q(**{f"{prefix}state__in": Place.LIVE_STATES})
    if access == Access.SCHEDULED:
        return live & Q(**{f"{prefix}entered_priority_at__gt": at})
    opened = live & Q(**{f"{prefix}entered_priority_at__lte": at})
    if access == Access.PRIORITY:
        return opened & Q(**{f"{prefix}priority_until__gt": at})
    return opened & Q(**{f"{prefix}priority_until__lte": at})


def access_expression(at) -> Case:
    """A free place's access at `at` as a database value (access_condition's rule, for an annotation)."""
    return Case(
        When(entered_priority_at__gt=at, then=Value(Access.SCHEDULED.value)),
        When(priority_until__gt=at, then=Value(Access.PRIORITY.value)),
        default=Value(Access.GENERAL.value),
    )


class PlaceQuerySet(models.QuerySet):
    def live(self):
        """Places still free: scheduled, in priority or in general access (the state may lag the clock)."""
        return self.filter(state__in=Place.LIVE_STATES)

    def open_at(self, at):
        """Free places a parent can see at `at`: their priority start has come. Access follows the clock,
        so the registry is exact between two 18:00 runs and even when a run is late."""
        return self.live().filter(entered_priority_at__lte=at)

    def in_priority_at(self, at):
        return self.filter(access_condition(Access.PRIORITY, at))

    def in_general_at(self, at):
        return self.filter(access_condition(Access.GENERAL, at))

    def with_access(self, at):
        """Free places, each with `access` at `at`."""
        return self.live().annotate(access=access_expression(at))


class Place(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        PRIORITY = "priority", _("Priority access")
        GENERAL = "general", _("General access")
        OFFERED = "offered", _("Offered")
        TAKEN = "taken", _("Taken (referral issued)")
        ENROLLED = "enrolled", _("Enrolled")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    LIVE_STATES = (State.SCHEDULED, State.PRIORITY, State.GENERAL)
    WITHDRAWABLE_STATES = (State.SCHEDULED, State.PRIORITY, State.GENERAL)

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="places", verbose_name=_("group"))
    # Copied from the group: the 18:00 run works a city at a time and staff a kindergarten at a time.
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="places", verbose_name=_("city"))
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="places", verbose_name=_("kindergarten")
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    released_at = models.DateTimeField(_("released at"))
    entered_priority_at = models.DateTimeField(_("enters priority access at"))
    priority_until = models.DateTimeField(_("priority access until"))
    general_since = models.DateTimeField(_("in general access since"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdraw_reason = models.CharField(_("reason for withdrawal"), max_length=500, blank=True)

    objects = PlaceQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("place")
        verbose_name_plural = _("places")
        indexes = [
            models.Index(fields=["city", "state", "priority_until"], name="place_city_state_due"),
            models.Index(fields=["city", "state", "entered_priority_at"], name="place_city_state_start"),
            models.Index(fields=["kindergarten", "state"], name="place_kindergarten_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority_until__gt=models.F("entered_priority_at")), name="place_priority_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(state="withdrawn") | (Q(withdrawn_at__isnull=False) & ~Q(withdraw_reason="")),
                name="place_withdrawn_has_time_and_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="general") | Q(general_since__isnull=False), name="place_general_has_since"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.group}"

    def access_at(self, at=None) -> str | None:
        """The place's access at `at`, from the clock (None once it is no longer free)."""
        at = at or timezone.now()
        if self.state not in self.LIVE_STATES:
            return None
        if at < self.entered_priority_at:
            return Access.SCHEDULED
        return Access.PRIORITY if at < self.priority_until else Access.GENERAL


class PlaceEvent(AppendOnlyModel):
    """The append-only chronology of every place (DOMAIN.md, The 18:00 run). The protocol of a day is its events.

    `at` is the time the rules give (a move to general happens at 18:00 even when the run is late);
    `recorded_at` is when the portal wrote it. The place's attributes are copied so that the protocol of a day
    never changes when a group is edited later.
    """

    append_only_message = "place events are append-only"

    class Kind(models.TextChoices):
        RELEASED = "released", _("Released")
        SCHEDULED = "scheduled", _("Scheduled for its summer window")
        TO_PRIORITY = "to_priority", _("Entered priority access")
        TO_GENERAL = "to_general", _("Moved to general access")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        OFFERED = "offered", _("Offered")
        TAKEN = "taken", _("Taken")
        RETURNED = "returned", _("Returned")
        ENROLLED = "enrolled", _("Enrolled")
        RETIMED = "retimed", _("Re-timed")

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="events", verbose_name=_("place"))
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="+", verbose_name=_("city"))
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="+", verbose_name=_("kindergarten")
    )
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("time"))
    protocol_day = models.DateField(_("protocol day"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    by = actor_field(_("by"), optional=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("cohort (birth year)"))
    language = models.CharField(_("language of instruction"), max_length=2, choices=Language.choices)
    group_type = models.CharField(_("group type"), max_length=16, choices=GroupType.choices)
    access = models.CharField(_("access"), max_length=16, choices=Access.choices, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("place event")
        verbose_name_plural = _("place events")
        indexes = [models.Index(fields=["city", "protocol_day", "at"], name="event_city_day_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()} #{self.place_id}"

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason)


class ReleaseSubmission(models.Model):
    """One row per submitted release form, or per staff API request with an Idempotency-Key: a second POST of the
    same form (a double click, a resubmitted page) finds its token taken and releases nothing; an API retry gets the
    first answer again. Kept in the database, in the release's own transaction, so the
    guard holds when the cache is down."""

    token = models.CharField(_("form token"), max_length=64, primary_key=True)
    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.CASCADE, related_name="+", verbose_name=_("kindergarten")
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    # An API request's Idempotency-Key (issue 12) is kept here too: the SHA-256 of the request it came with and the
    # first answer, replayed to a retry of the same request.
    request_sha256 = models.CharField(_("request's SHA-256"), max_length=64, blank=True)
    response_status = models.PositiveSmallIntegerField(_("answer's status"), null=True, blank=True)
    response_body = models.JSONField(_("answer"), null=True, blank=True)

    class Meta:
        verbose_name = _("release submission")
        verbose_name_plural = _("release submissions")

    def __str__(self):
        return self.token
