"""Rows that are written once and never changed: the place chronology, published protocols, the audit log.

The model refuses updates and deletes through the ORM; on PostgreSQL a trigger (placement migration 0002,
accounts migration 0005) refuses them for raw SQL and other clients too.
"""

from django.db import models


class AppendOnlyModel(models.Model):
    append_only_message = "this table is append-only"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(self.append_only_message)
