from django.db import models, router, transaction
from django.utils.translation import gettext_lazy as _


class SavedWithItsEffects(models.Model):
    """A row whose saving changes deadlines elsewhere (placement's receivers of post_save re-time them, DOMAIN.md,
    Places 6): the row and those effects are written in one transaction, also outside the admin (a shell, a
    script), so that neither is kept without the other. A delete is one already (Django's collector)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using") or router.db_for_write(type(self), instance=self)):
            super().save(*args, **kwargs)


class CalendarOverride(SavedWithItsEffects):
    """An admin's correction of the production calendar: this date is a holiday, or a working day.

    Overrides win over the `holidays` package's KZ calendar (DOMAIN.md, Time). Each cites its legal act.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Day off")
        WORKING = "working", _("Working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    legal_act = models.CharField(_("legal act"), max_length=255)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y}: {self.get_kind_display()}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so that moving an override to another year also refreshes the year it left.
        instance._loaded_date = instance.date
        return instance


class SummerSchedule(models.Model):
    """A city's summer placement campaign of one year: the cohort windows of the notice (DOMAIN.md, seed)."""

    city = models.ForeignKey(
        "placement.City", on_delete=models.PROTECT, related_name="summer_schedules", verbose_name=_("city")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    campaign_start = models.DateField(
        _("campaign starts"),
        help_text=_(
            "From this date, a released place of a cohort with a window waits (scheduled) until the window opens."
        ),
    )
    note = models.TextField(_("note"), blank=True)  # translated

    class Meta:
        ordering = ["city", "-year"]
        verbose_name = _("summer schedule")
        verbose_name_plural = _("summer schedules")
        constraints = [models.UniqueConstraint(fields=["city", "year"], name="summer_schedule_one_per_city_year")]

    def __str__(self) -> str:
        return f"{self.city} {self.year}"


class CohortWindow(models.Model):
    """One row of the schedule: a cohort's places enter priority access at 00:00 of `priority_start`."""

    schedule = models.ForeignKey(
        SummerSchedule, on_delete=models.CASCADE, related_name="windows", verbose_name=_("summer schedule")
    )
    birth_year = models.PositiveSmallIntegerField(_("cohort (birth year)"))
    age = models.PositiveSmallIntegerField(_("age, years"))
    priority_start = models.DateField(_("priority access starts"))

    class Meta:
        ordering = ["schedule", "priority_start", "-age"]
        verbose_name = _("cohort window")
        verbose_name_plural = _("cohort windows")
        constraints = [models.UniqueConstraint(fields=["schedule", "birth_year"], name="cohort_window_one_per_cohort")]

    def __str__(self) -> str:
        return f"{self.birth_year}: {self.priority_start:%d.%m.%Y}"


class KindergartenShift(SavedWithItsEffects):
    """A kindergarten that starts a cohort's window on another date (repairs, illness...), with its reason."""

    window = models.ForeignKey(
        CohortWindow, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("cohort window")
    )
    kindergarten = models.ForeignKey(
        "placement.Kindergarten",
        on_delete=models.CASCADE,
        related_name="schedule_shifts",
        verbose_name=_("kindergarten"),
    )
    shifted_start = models.DateField(_("shifted priority start"))
    reason = models.CharField(_("reason"), max_length=500)  # translated

    class Meta:
        ordering = ["window", "kindergarten"]
        verbose_name = _("kindergarten shift")
        verbose_name_plural = _("kindergarten shifts")
        constraints = [
            models.UniqueConstraint(fields=["window", "kindergarten"], name="shift_one_per_window_and_kindergarten")
        ]

    def __str__(self) -> str:
        return f"{self.kindergarten}: {self.shifted_start:%d.%m.%Y}"
