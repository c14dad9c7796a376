"""The registry's cache: answers never staler than the last place event, and never kept past the clock's next move.

Each city has a token in the cache: a random value renewed after commit by every path that changes what the
registry shows (`registry_changed`: every service that writes a PlaceEvent, and kindergarten, group, city and
cohort-window edits through the signals below). An entry stores the token it was computed under and the span of
time it is true for, and is served only while

- the city's token is still that one: the reader fetched the token *before* reading the places, and a commit's
  renewal comes after the commit, so any change the reader did not see renews the token after the entry was
  written (a fresh random value, never an increment: two renewals racing cannot leave a value seen before);
- the clock is inside the entry's span: from the moment it was computed to the next moment one of the places it
  covers changes access by itself (a priority place goes general at `priority_until`, a scheduled place opens at
  `entered_priority_at`) with no event until the 18:00 run.

A hit costs one cache round trip and no query. `tests/placement/test_registry_cache.py` walks every service that
writes a place event and fails if one does not renew the token. `SAFETY_TIMEOUT` only bounds an entry whose
renewal was lost (the cache unreachable right at a commit; the cache backend also drops its entries after an
outage); it is not how entries go stale. Data written behind the services' back (raw SQL, a restored dump) must
call `registry_changed` itself.

The cache is an optimisation: when it cannot be read or written the registry is served from the database.
"""

import datetime as dt
import hashlib
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from .models import City, Group, Kindergarten

logger = logging.getLogger(__name__)

SAFETY_TIMEOUT = 600  # seconds
# Part of every entry's key: change it when what an entry holds changes shape, so that a deploy never reads the
# previous release's entries.
FORMAT = 2
ALL_CITIES = "all"  # the answers that cover every city: renewed with any city's token
CITY_LIST = "cities"  # the list of cities (the page's city filter): renewed when a city is edited


def _token_key(scope: int | str) -> str:
    return f"registry:token:{scope}"


# --- Invalidation -----------------------------------------------------------------------------------------


def _tokens_renew(scopes: Iterable[int | str]) -> None:
    keys = {_token_key(scope): uuid.uuid4().hex for scope in {*scopes, ALL_CITIES}}
    try:
        cache.set_many(keys, timeout=None)
    except Exception:  # the cache is down: entries end at SAFETY_TIMEOUT at the latest
        logger.warning("registry cache: could not renew the tokens %s", sorted(keys), exc_info=True)


def registry_changed(*, city_ids: Iterable[int], city_list: bool = False) -> None:
    """What the registry shows for these cities changed (or will, once the current transaction commits).

    Every path that writes a PlaceEvent calls it, and catalog edits do through signals; the tokens are renewed
    after commit (at once outside a transaction), so a reader who took a token before the commit never stores an
    answer under the new one.
    """
    scopes = [city_id for city_id in city_ids if city_id is not None] + ([CITY_LIST] if city_list else [])
    if scopes:
        transaction.on_commit(lambda: _tokens_renew(scopes))


def _catalog_changed(sender, instance, **kwargs) -> None:
    if isinstance(instance, City):
        _city_ids.clear()
        registry_changed(city_ids=[instance.pk], city_list=True)
        return
    if isinstance(instance, Kindergarten):
        city_ids = [instance.city_id]
    elif isinstance(instance, Group):
        city_ids = list(Kindergarten.objects.filter(pk=instance.kindergarten_id).values_list("city_id", flat=True))
    else:  # a cohort window: the page labels cohorts with their summer age
        from schedules.models import SummerSchedule

        city_ids = list(SummerSchedule.objects.filter(pk=instance.schedule_id).values_list("city_id", flat=True))
    # A kindergarten or group moved to another city leaves the city it was in too.
    registry_changed(city_ids=[*city_ids, *getattr(instance, "_registry_cities_before", ())])


def _catalog_before_save(sender, instance, **kwargs) -> None:
    """The city a kindergarten or group is in before the save, for `_catalog_changed`."""
    if instance.pk is None:
        return
    if isinstance(instance, Kindergarten):
        before = Kindergarten.objects.filter(pk=instance.pk).values_list("city_id", flat=True)
    else:
        before = Group.objects.filter(pk=instance.pk).values_list("kindergarten__city_id", flat=True)
    instance._registry_cities_before = list(before)


def _catalog_connect() -> None:
    from schedules.models import CohortWindow

    for model in (City, Kindergarten, Group, CohortWindow):
        post_save.connect(_catalog_changed, sender=model, dispatch_uid=f"registry-cache-{model.__name__}")
        post_delete.connect(_catalog_changed, sender=model, dispatch_uid=f"registry-cache-delete-{model.__name__}")
    for model in (Kindergarten, Group):
        pre_save.connect(_catalog_before_save, sender=model, dispatch_uid=f"registry-cache-before-{model.__name__}")


_catalog_connect()


# --- Reading ----------------------------------------------------------------------------------------------

# A city's slug to its id, per process: it only says which token to check. An answer is stored only when the
# request's validation found that same city, and a city edit renews its token, so a stale pair serves nothing.
_city_ids: dict[str, int] = {}


# What a cached answer may be keyed by: the registry's own parameters, each in its one canonical spelling. Any
# other parameter, or another spelling of a value (a leading zero, a letter), is not cached: the answer is computed
# (and refused if invalid), so that no one can fill the cache with variants of the same request.
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")
_NUMBER = re.compile(r"[1-9][0-9]{0,5}")
_WORD = re.compile(r"[a-z_]{1,16}")
QUERY_PATTERNS = {
    "city": _SLUG,
    "birth_year": _NUMBER,
    "language": _WORD,
    "group_type": _WORD,
    "access": _WORD,
    "kindergarten": _NUMBER,
    "page": _NUMBER,
    "page_size": _NUMBER,
}


def query_parts(query) -> tuple | None:
    """The request's query as part of a cache key, or None when the request must not be cached."""
    parts = []
    for name in sorted(query.keys()):
        values = query.getlist(name)
        pattern = QUERY_PATTERNS.get(name)
        if pattern is None or len(values) != 1 or not pattern.fullmatch(values[0]):
            return None
        parts.append((name, values[0]))
    return tuple(parts)


def city_scope(slug: str | None) -> int | str | None:
    """The token scope of a request naming `slug` (every city when None); None for a slug of no city."""
    if slug is None:
        return ALL_CITIES
    if slug not in _city_ids:
        city_id = City.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if city_id is None:
            return None
        _city_ids[slug] = city_id
    return _city_ids[slug]


def city_scope_forget(slug: str) -> None:
    _city_ids.pop(slug, None)


@dataclass(frozen=True)
class Entry:
    token: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    value: Any


def entry_key(kind: str, scope: int | str, parts: tuple) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"registry:{FORMAT}:{kind}:{scope}:{digest}"


class Lookup:
    """The entries of one scope (a city, every city, the city list), fetched with its token in one round trip.

    `get(kind, parts)` answers a stored value still true at `at`, else None; `put` stores one under the token
    fetched here, before the caller read the database. A scope of None (an unknown city) caches nothing.
    """

    def __init__(self, *, scope: int | str | None, at: dt.datetime, wanted: Iterable[tuple[str, tuple]]):
        self.scope = scope
        self.at = at
        self.token = None
        self.found: dict[str, Entry] = {}
        if scope is None:
            return
        keys = [entry_key(kind, scope, parts) for kind, parts in wanted]
        token_key = _token_key(scope)
        try:
            values = cache.get_many([token_key, *keys])
            self.token = values.get(token_key)
            if self.token is None:
                # No token yet (or it was evicted): a new one, so that nothing stored before can match it.
                fresh = uuid.uuid4().hex
                self.token = fresh if cache.add(token_key, fresh, timeout=None) else cache.get(token_key)
        except Exception:  # the cache is down: serve from the database
            logger.warning("registry cache: unreachable, serving from the database", exc_info=True)
            self.token = None
            return
        self.found = {key: values[key] for key in keys if key in values}

    def get(self, kind: str, parts: tuple) -> Any | None:
        entry = self.found.get(entry_key(kind, self.scope, parts)) if self.scope is not None else None
        if (
            entry is None
            or self.token is None
            or entry.token != self.token
            or self.at < entry.valid_from
            or (entry.valid_until is not None and self.at >= entry.valid_until)
        ):
            return None
        return entry.value

    def put(self, kind: str, parts: tuple, value: Any, *, valid_until: dt.datetime | None) -> None:
        if self.token is None or self.scope is None:
            return
        timeout = SAFETY_TIMEOUT
        if valid_until is not None:
            # The entry checks its own span against the reader's clock; the timeout only frees the memory.
            left = (valid_until - self.at).total_seconds()
            if left <= 0:
                return
            timeout = max(1, min(SAFETY_TIMEOUT, int(left) + 1))
        entry = Entry(token=self.token, valid_from=self.at, valid_until=valid_until, value=value)
        try:
            cache.set(entry_key(kind, self.scope, parts), entry, timeout=timeout)
        except Exception:  # not stored: the next reader computes it again
            logger.warning("registry cache: could not store an entry", exc_info=True)
