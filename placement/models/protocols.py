from django.db import models
from django.utils.translation import gettext_lazy as _

from indigo.append_only import AppendOnlyModel

from .kindergartens import City


class CityDayRecord(AppendOnlyModel):
    """What one city's 18:00 run writes once for one protocol day (the protocol, the allocation run's inputs):
    append-only, one per city and day, listed by city, latest day first. Each declares its own `city` (with its
    own reverse name), `day` and the unique constraint naming them."""

    class Meta:
        abstract = True
        ordering = ["city", "-day"]

    def __str__(self) -> str:
        return f"{self.city} {self.day:%d.%m.%Y}"


class Protocol(CityDayRecord):
    """The published release protocol of one city and protocol day: immutable, hash-chained to the day before.

    `sha256` is the SHA-256 of the canonical JSON of its `document()`; see
    `placement.services.protocols.protocol_digest`. Changing any published day breaks its hash and every later link.
    """

    append_only_message = "a published protocol never changes"

    GENESIS = "0" * 64

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="protocols", verbose_name=_("city"))
    day = models.DateField(_("protocol day"))
    published_at = models.DateTimeField(_("published at"))
    entries = models.JSONField(_("entries"), default=list)
    entry_count = models.PositiveIntegerField(_("number of entries"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    previous_sha256 = models.CharField(_("SHA-256 of the previous day"), max_length=64)
    # Offer mode (issue 14): the offers the day's 18:00 run made, without personal data, and the SHA-256 of the
    # run's inputs document (`AllocationRun`); both covered by `sha256` when present.
    allocation = models.JSONField(_("allocation"), default=list, blank=True)
    inputs_sha256 = models.CharField(_("SHA-256 of the allocation's inputs"), max_length=64, blank=True)

    class Meta(CityDayRecord.Meta):
        verbose_name = _("release protocol")
        verbose_name_plural = _("release protocols")
        constraints = [models.UniqueConstraint(fields=["city", "day"], name="protocol_one_per_city_and_day")]

    @property
    def allocated(self) -> bool:
        """A day the offer-mode run allocated places: its document carries the allocation and the inputs' hash."""
        return bool(self.inputs_sha256 or self.allocation)

    def document(self) -> dict:
        """Exactly what `sha256` is the hash of: (city, day, previous_sha256, entries), and on a day the run
        allocated places also (allocation, inputs_sha256), so a day without them keeps its digest."""
        document = {
            "city": self.city.slug,
            "day": self.day.isoformat(),
            "previous_sha256": self.previous_sha256,
            "entries": self.entries,
        }
        if self.allocated:
            document |= {"allocation": self.allocation, "inputs_sha256": self.inputs_sha256}
        return document
