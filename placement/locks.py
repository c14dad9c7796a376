"""How rows that race are locked, the same way everywhere (STYLE.md; Saleor's lock_objects)."""

from django.db import connection

from .models import City, Place


def city_lock(*, city_id: int) -> City:
    """Serialise the 18:00 run of one city: a second runner waits here, then sees the day already published."""
    return City.objects.select_for_update(of=("self",), no_key=True).get(pk=city_id)


def place_lock(*, place_id: int) -> Place:
    return Place.objects.select_for_update(of=("self",), no_key=True).select_related("group").get(pk=place_id)


def row_lock_clause() -> str:
    """The locking suffix for raw set-based statements (SQLite locks the whole database for a writer instead)."""
    return " FOR NO KEY UPDATE OF p" if connection.features.has_select_for_update_of else ""
