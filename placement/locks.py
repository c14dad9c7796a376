"""How rows that race are locked, the same way everywhere (STYLE.md; Saleor's lock_objects).

Every row lock of the portal is taken here, with `SELECT ... FOR NO KEY UPDATE` of the row alone (a plain UPDATE of
non-key columns takes the same lock, which is how a claim takes its place and application in one statement each).
The order, always, when a transaction takes more than one:

    city (the 18:00 run, re-timing)  →  parent (the user row)  →  place  →  application

A claim takes the parent, then the place, then the application; a cabinet block takes the parent first, so a
claim in flight and a block of the same parent never interleave; the 18:00 run takes the city, then the places due
(`row_lock_clause` in its set-based statements, ordered by id). Short transactions; partial unique constraints
(one live referral per place, one per child; one active application per child and city) are the last line of
defence.
"""

from django.contrib.auth import get_user_model
from django.db import connection

from .models import Application, City, Place


def rows_lock(queryset):
    """The rows of `queryset` locked (the row alone, FOR NO KEY UPDATE) when it is read; order it by the lock order."""
    return queryset.select_for_update(of=("self",), no_key=True)


def city_lock(*, city_id: int) -> City:
    """Serialise the 18:00 run of one city: a second runner waits here, then sees the day already published."""
    return rows_lock(City.objects).get(pk=city_id)


def parent_lock(*, user_id: int) -> None:
    """The parent's row: every claim and every cabinet block of that parent pass here one at a time."""
    rows_lock(get_user_model().objects).filter(pk=user_id).values("pk").get()


def place_lock(*, place_id: int, fields: tuple[str, ...] = ()) -> Place | dict:
    """The place's row, read under the lock: the place with its group and city, or only `fields` as a dict."""
    places = rows_lock(Place.objects).filter(pk=place_id)
    if fields:
        return places.values(*fields).get()
    return places.select_related("group", "city").get()


def application_lock(*, application_id: int) -> Application:
    return rows_lock(Application.objects).select_related("city").get(pk=application_id)


def row_lock_clause() -> str:
    """The locking suffix for raw set-based statements (SQLite locks the whole database for a writer instead)."""
    return " FOR NO KEY UPDATE OF p" if connection.features.has_select_for_update_of else ""
