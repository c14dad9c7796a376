"""Model pieces that every app shares and that know no app."""

from django.conf import settings
from django.db import models


def actor_field(verbose_name, *, optional: bool = False) -> models.ForeignKey:
    """The user who acted on a row (decided it, blocked, lifted, enrolled, recorded it): the row keeps them
    (PROTECT) and the user gets no reverse accessor. `optional` where nobody has acted yet, or where the portal
    acted alone (the 18:00 run, a sweep)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=optional,
        blank=optional,
        related_name="+",
        verbose_name=verbose_name,
    )
