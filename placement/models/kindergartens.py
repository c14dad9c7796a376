from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    KK = "kk", _("Kazakh")
    RU = "ru", _("Russian")


class GroupType(models.TextChoices):
    GENERAL = "general", _("General")
    SPECIAL = "special", _("Special (correctional)")
    SANATORIUM = "sanatorium", _("Sanatorium")


class City(models.Model):
    """A city whose education department runs placement; its settings parametrise the rules of DOMAIN.md."""

    class AllocationMode(models.TextChoices):
        """How places in priority access reach the queue (DOMAIN.md, Allocation modes; issue 14)."""

        CLAIM = "claim", _("Claim: the head of the queue takes a place")
        OFFER = "offer", _("Offer: the 18:00 run offers places by ranked choices")

    name = models.CharField(_("name"), max_length=120)  # translated: name_ru, name_kk, name_en
    slug = models.SlugField(_("slug"), unique=True)
    priority_working_days = models.PositiveSmallIntegerField(
        _("working days of priority access"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("How many working days a released place stays in priority access (3 by the rules)."),
    )

    queue_general_per_priority = models.PositiveSmallIntegerField(
        _("general applications per priority one"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("The queue interleaves one confirmed priority right with this many general applications."),
    )
    referral_holdout_days = models.PositiveSmallIntegerField(
        _("days held out of the queue after a lost referral"),
        default=0,
        validators=[MaxValueValidator(60)],
        help_text=_("After a referral is cancelled or expires, the child returns to the queue after these days."),
    )
    # DOMAIN.md, Queue: a city serves the cohorts it has groups for, within an age range at the campaign start.
    min_age_years = models.PositiveSmallIntegerField(
        _("youngest age served, years"),
        default=1,
        validators=[MaxValueValidator(7)],
        help_text=_("Children younger than this at the campaign start wait in the queue for a later campaign."),
    )
    max_age_years = models.PositiveSmallIntegerField(
        _("oldest age served, years"),
        default=6,
        validators=[MaxValueValidator(7)],
        help_text=_("A child older than this at the campaign start cannot apply."),
    )
    allocation_mode = models.CharField(
        _("allocation mode"),
        max_length=8,
        choices=AllocationMode.choices,
        default=AllocationMode.CLAIM,
        help_text=_("Claim mode: parents take places themselves. Offer mode: the 18:00 run offers them."),
    )
    choices_max = models.PositiveSmallIntegerField(
        _("kindergartens an application may choose"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("In offer mode, how many ranked kindergartens an application may name."),
    )
    offer_working_days = models.PositiveSmallIntegerField(
        _("working days to answer an offer"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("An offer holds its place until 18:00 of this counted working day."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_age_years__lte=models.F("max_age_years")), name="city_age_range_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Kindergarten(models.Model):
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="kindergartens", verbose_name=_("city"))
    code = models.CharField(_("code"), max_length=32, help_text=_("The kindergarten's code in the city's register."))
    name = models.CharField(_("name"), max_length=255)  # translated
    address = models.CharField(_("address"), max_length=255, blank=True)  # translated
    district = models.CharField(_("district"), max_length=120, blank=True)  # translated
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["city", "code"]
        verbose_name = _("kindergarten")
        verbose_name_plural = _("kindergartens")
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="kindergarten_code_unique_in_city")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def languages(self) -> list[str]:
        """The languages of instruction, from the kindergarten's groups."""
        return sorted({group.language for group in self.groups.all()})


class Group(models.Model):
    """A kindergarten group: places are released into it and inherit its cohort, language and type."""

    kindergarten = models.ForeignKey(
        Kindergarten, on_delete=models.PROTECT, related_name="groups", verbose_name=_("kindergarten")
    )
    name = models.CharField(_("name"), max_length=120, blank=True)  # translated
    birth_year = models.PositiveSmallIntegerField(
        _("cohort (birth year)"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    language = models.CharField(_("language of instruction"), max_length=2, choices=Language.choices)
    group_type = models.CharField(_("group type"), max_length=16, choices=GroupType.choices, default=GroupType.GENERAL)

    class Meta:
        ordering = ["kindergarten", "birth_year", "language", "name"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self) -> str:
        label = self.name or f"{self.birth_year} {self.get_language_display()}"
        return f"{self.kindergarten.code} · {label}"
