from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indigo.append_only import AppendOnlyModel
from indigo.models import actor_field

from .validators import validate_iin, validate_phone

# The languages a parent's SMS are written in (DOMAIN.md, Who uses it: Russian or Kazakh).
SMS_LANGUAGES = [("ru", _("Russian")), ("kk", _("Kazakh"))]


class User(AbstractUser):
    """Everyone who logs in: parents (legal representatives), kindergarten staff and department admins.

    The role decides what a user may do; staff are tied to their kindergarten by the placement app.
    """

    class Role(models.TextChoices):
        PARENT = "parent", _("Parent or legal representative")
        STAFF = "staff", _("Kindergarten staff")
        ADMIN = "admin", _("Education department admin")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PARENT)
    middle_name = models.CharField(_("patronymic"), max_length=150, blank=True)
    # Parents: the IIN and the phone they log in with (+7XXXXXXXXXX), and a second phone.
    iin = models.CharField(_("IIN"), max_length=12, unique=True, null=True, blank=True, validators=[validate_iin])
    phone = models.CharField(_("phone"), max_length=16, unique=True, null=True, blank=True, validators=[validate_phone])
    phone_2 = models.CharField(_("second phone"), max_length=16, blank=True, validators=[validate_phone])
    # The language of the parent's SMS (ru or kk): the language of the pages and API they last used
    # (accounts.middleware.SmsLanguageMiddleware), Russian until they use another.
    language = models.CharField(_("language of SMS"), max_length=2, choices=SMS_LANGUAGES, default="ru")
    kindergarten = models.ForeignKey(
        "placement.Kindergarten",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("kindergarten"),
        help_text=_("For kindergarten staff: the only kindergarten they act on."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="staff") | models.Q(kindergarten__isnull=False),
                name="staff_user_has_kindergarten",
            )
        ]

    @property
    def is_parent(self) -> bool:
        return self.role == self.Role.PARENT

    @property
    def is_kindergarten_staff(self) -> bool:
        return self.role == self.Role.STAFF

    @property
    def is_department_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Child(models.Model):
    iin = models.CharField(_("IIN"), max_length=12, unique=True, validators=[validate_iin])
    last_name = models.CharField(_("last name"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150)
    middle_name = models.CharField(_("patronymic"), max_length=150, blank=True)
    birth_date = models.DateField(_("date of birth"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("child")
        verbose_name_plural = _("children")

    def __str__(self) -> str:
        # Initials only: a child's full name is personal data and __str__ ends up in logs and admin history.
        return f"{self.last_name} {self.first_name[:1]}."


class Representation(models.Model):
    """A parent's claim to be the child's legal representative: pending until a department admin confirms it
    (DOMAIN.md, People and security: only a confirmed legal representative may claim a place)."""

    class Kind(models.TextChoices):
        PARENT = "parent", _("Parent")
        GUARDIAN = "guardian", _("Guardian")
        FOSTER = "foster", _("Foster carer")
        ADOPTIVE = "adoptive", _("Adoptive parent")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="representations", verbose_name=_("parent")
    )
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="representations", verbose_name=_("child"))
    kind = models.CharField(_("kind of representation"), max_length=16, choices=Kind.choices)
    document = models.CharField(
        _("document"), max_length=255, help_text=_("The document's name, number and date, e.g. the birth certificate.")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decision_reason = models.CharField(_("reason of the decision"), max_length=500, blank=True)
    decided_by = actor_field(_("decided by"), optional=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("legal representation")
        verbose_name_plural = _("legal representations")
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="representation_one_per_parent_and_child"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""), name="representation_rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.child}"


class OtpChallenge(models.Model):
    """A one-time SMS code: stored hashed, valid 5 minutes, at most 5 tries (issue: parents log in by phone)."""

    phone = models.CharField(_("phone"), max_length=16, db_index=True)
    code_hash = models.CharField(_("code hash"), max_length=128)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    consumed_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["ip", "created_at"], name="otp_ip_created")]

    def __str__(self) -> str:
        return f"{self.phone[:-4]}**** {self.created_at:%Y-%m-%d %H:%M}"


class LoginRecord(models.Model):
    """A successful login, shown in the parent's cabinet so they can see whether someone else used it."""

    class Method(models.TextChoices):
        OTP = "otp", _("SMS code")
        PASSWORD = "password", _("Password")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="logins", verbose_name=_("user")
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=255, blank=True)
    session_key = models.CharField(_("session"), max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("login")
        verbose_name_plural = _("logins")
        indexes = [models.Index(fields=["user", "-at"], name="login_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_method_display()}"


class AuditEntry(AppendOnlyModel):
    """Who did what, when and from where: every state change and every admin action. Append-only."""

    append_only_message = "the audit log is append-only"

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = actor_field(_("who"), optional=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit record")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"


class CabinetBlockQuerySet(models.QuerySet):
    def active_at(self, at):
        """Blocks in force at `at`: begun, not ended, not lifted (the one home of that rule)."""
        return self.filter(lifted_at__isnull=True, starts_at__lte=at, ends_at__gt=at)


class CabinetBlock(models.Model):
    """A department admin's block of a parent's cabinet, 6 months by the rules (DOMAIN.md, People and security):
    handing cabinet access to third parties is forbidden. Active while `starts_at <= now < ends_at` and not lifted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="blocks", verbose_name=_("user")
    )
    starts_at = models.DateTimeField(_("blocked from"))
    ends_at = models.DateTimeField(_("blocked until"))
    reason = models.CharField(_("reason"), max_length=500)
    created_by = actor_field(_("blocked by"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = actor_field(_("lifted by"), optional=True)
    lift_reason = models.CharField(_("reason for lifting"), max_length=500, blank=True)

    objects = CabinetBlockQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("cabinet block")
        verbose_name_plural = _("cabinet blocks")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="block_ends_after_start"),
            models.CheckConstraint(condition=~Q(reason=""), name="block_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%d.%m.%Y}-{self.ends_at:%d.%m.%Y}"

    def state_at(self, at) -> str:
        """active, lifted or ended (a block is never shown before it starts: it starts when it is made)."""
        if self.lifted_at is not None:
            return "lifted"
        return "active" if self.starts_at <= at < self.ends_at else "ended"


class Notification(models.Model):
    """One SMS to a parent about an event of their case, in the transactional outbox (issue 14, Notifications).

    Written in the transaction of the event it reports, so an event rolled back leaves no notification; sent
    after the commit by a Celery task, and by the beat sweep when that task never ran. `key` names the event,
    so an event reported twice (a retried task, a second sweep, a run caught up) makes one row. The text is
    rendered in the parent's language when the event happens and kept as sent (accounts.services.notifications).
    """

    class Kind(models.TextChoices):
        REPRESENTATION_CONFIRMED = "representation_confirmed", _("Representation confirmed")
        REPRESENTATION_REJECTED = "representation_rejected", _("Representation rejected")
        PRIVILEGE_CONFIRMED = "privilege_confirmed", _("Privilege confirmed")
        PRIVILEGE_REJECTED = "privilege_rejected", _("Privilege rejected")
        REFERRAL_ISSUED = "referral_issued", _("Referral issued")
        REFERRAL_EXPIRING = "referral_expiring", _("Referral expires in 24 hours")
        CABINET_BLOCKED = "cabinet_blocked", _("Cabinet blocked")
        CABINET_LIFTED = "cabinet_lifted", _("Cabinet block lifted")
        OFFER_MADE = "offer_made", _("Place offered")
        OFFER_EXPIRING = "offer_expiring", _("Offer expires in 24 hours")
        APPLICATION_PAUSED = "application_paused", _("Application paused")
        GENERAL_ACCESS = "general_access", _("A place in general access")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Not delivered")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    key = models.CharField(_("event key"), max_length=120, unique=True)
    language = models.CharField(_("language"), max_length=2, choices=SMS_LANGUAGES)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    send_before = models.DateTimeField(_("pointless after"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_created"),
            # The sweep: what is due, and what a lost worker left in `sending`.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
