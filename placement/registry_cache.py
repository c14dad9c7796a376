"""The registry's cache: answers never staler than the last place event, and never kept past the clock's next move.

Tokens in the cache say what changed: random values renewed after commit by every path that changes what the
registry shows (`registry_changed`: every service that writes a PlaceEvent, and kindergarten, group, city and
cohort-window edits through the signals below). Per city:

- the *any* token, renewed by every change of the city;
- the *catalog* token, renewed by catalog edits and by changes of many places at once (the 18:00 run);
- one token per cohort and one per kindergarten, renewed by an event of one of its places (issue 15: a claim in
  one cohort leaves every answer about other cohorts, or other kindergartens, in the cache).

An entry stores the tokens it was computed under and the span of time it is true for. An entry that declares what
it covers (`Lookup.cover`: the cohorts or the kindergarten of its filters) depends on the catalog token and those
tokens; any other entry on the any token. It is served only while

- its tokens are still those: the reader fetched them *before* reading the places, and a commit's renewal comes
  after the commit, so any change the reader did not see renews a token after the entry was written (a fresh
  random value, never an increment: two renewals racing cannot leave a value seen before);
- the clock is inside the entry's span: from the moment it was computed to the next moment one of the places it
  covers changes access by itself (a priority place goes general at `priority_until`, a scheduled place opens at
  `entered_priority_at`) with no event until the 18:00 run.

A hit costs one cache round trip (two the first time a process meets an entry with covers) and no query.
`tests/placement/test_registry_cache.py` walks every service that writes a place event and fails if one does not
renew the token. `SAFETY_TIMEOUT` only bounds an entry whose renewal was lost (the cache unreachable right at a
commit; the cache backend also drops its entries after an outage); it is not how entries go stale. Data written
behind the services' back (raw SQL, a restored dump) must call `registry_changed` itself.

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
FORMAT = 4  # 4: the summary names the offered places (issue 14)
ALL_CITIES = "all"  # the answers that cover every city: renewed with any city's token
CITY_LIST = "cities"  # the list of cities (the page's city filter): renewed when a city is edited


def _token_key(scope: int | str, part: str = "") -> str:
    """The any token of a scope, or one of a city's parts: "catalog", "c<birth year>", "k<kindergarten id>"."""
    return f"registry:token:{scope}:{part}" if part else f"registry:token:{scope}"


# --- Invalidation -----------------------------------------------------------------------------------------


def _tokens_renew(keys: Iterable[str]) -> None:
    fresh = {key: uuid.uuid4().hex for key in {*keys, _token_key(ALL_CITIES)}}
    try:
        cache.set_many(fresh, timeout=None)
    except Exception:  # the cache is down: entries end at SAFETY_TIMEOUT at the latest
        logger.warning("registry cache: could not renew the tokens %s", sorted(fresh), exc_info=True)


def registry_changed(*, city_ids: Iterable[int] = (), places: Iterable = (), city_list: bool = False) -> None:
    """What the registry shows changed (or will, once the current transaction commits): everything of these cities
    (`city_ids`), or what these places are part of (`places`, each with its city, kindergarten and group: their
    cohorts and kindergartens).

    Every path that writes a PlaceEvent calls it, and catalog edits do through signals; the tokens are renewed
    after commit (at once outside a transaction), so a reader who took a token before the commit never stores an
    answer under the new one.
    """
    keys = set()
    for city_id in city_ids:
        if city_id is not None:
            keys |= {_token_key(city_id), _token_key(city_id, "catalog")}
    for place in places:
        city_id = place.city_id
        keys |= {_token_key(city_id), _token_key(city_id, f"c{place.group.birth_year}")}
        keys.add(_token_key(city_id, f"k{place.kindergarten_id}"))
    if city_list:
        keys.add(_token_key(CITY_LIST))
    if keys:
        transaction.on_commit(lambda: _tokens_renew(keys))


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
    tokens: dict[str, str]  # the keys of the tokens it depends on, with the values it was computed under
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    value: Any


def entry_key(kind: str, scope: int | str, parts: tuple) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"registry:{FORMAT}:{kind}:{scope}:{digest}"


# Per process: the tokens an entry depends on, by the entry's key, so that a hit reads them with the entry in one
# round trip. A wrong or missing guess costs a second round trip, never a stale answer.
_dependencies: dict[str, tuple[str, ...]] = {}
_DEPENDENCIES_KEPT = 10_000


def _tokens_fetch(keys: Iterable[str], *, found: dict | None = None) -> dict[str, str]:
    """The current values of these tokens (from `found` where it has them), creating the ones that do not exist
    yet (or were evicted): a new one matches nothing stored before."""
    values = dict(found or {})
    missing = [key for key in keys if values.get(key) is None]
    if missing:
        values.update(cache.get_many(missing))
    for key in keys:
        if values.get(key) is None:
            fresh = uuid.uuid4().hex
            values[key] = fresh if cache.add(key, fresh, timeout=None) else cache.get(key)
    return {key: values[key] for key in keys}


class Lookup:
    """The entries of one scope (a city, every city, the city list), fetched with their tokens in one round trip.

    `get(kind, parts)` answers a stored value still true at `at`, else None. Before reading the database for a
    missing answer, a caller that knows what the answer covers says so (`cover`: the cohorts or the kindergarten of
    its filters); `put` stores the answer under the tokens fetched before the read. A scope of None (an unknown
    city) caches nothing.
    """

    def __init__(self, *, scope: int | str | None, at: dt.datetime, wanted: Iterable[tuple[str, tuple]]):
        self.scope = scope
        self.at = at
        self.token = None
        self.covered: dict[str, str] | None = None
        self.found: dict[str, Entry] = {}
        self.values: dict[str, str] = {}
        if scope is None:
            return
        keys = [entry_key(kind, scope, parts) for kind, parts in wanted]
        tokens = {_token_key(scope), *(key for entry in keys for key in _dependencies.get(entry, ()))}
        try:
            fetched = cache.get_many([*tokens, *keys])
            self.found = {key: fetched[key] for key in keys if key in fetched}
            needed = tokens | {key for entry in self.found.values() for key in entry.tokens}
            self.values = _tokens_fetch(sorted(needed), found=fetched)
        except Exception:  # the cache is down: serve from the database
            logger.warning("registry cache: unreachable, serving from the database", exc_info=True)
            self.found, self.values = {}, {}
            return
        self.token = self.values[_token_key(scope)]

    def get(self, kind: str, parts: tuple) -> Any | None:
        if self.scope is None or self.token is None:
            return None
        key = entry_key(kind, self.scope, parts)
        entry = self.found.get(key)
        if entry is None:
            return None
        if len(_dependencies) > _DEPENDENCIES_KEPT:
            _dependencies.clear()
        _dependencies[key] = tuple(entry.tokens)
        if any(self.values.get(token) != value for token, value in entry.tokens.items()):
            return None
        if self.at < entry.valid_from or (entry.valid_until is not None and self.at >= entry.valid_until):
            return None
        return entry.value

    def cover(self, *, cohorts: Iterable[int] = (), kindergarten_id: int | None = None) -> None:
        """What the answer about to be read covers, in a city: its kindergarten (when the filters name one) or its
        cohorts. Called before the database is read, so that the tokens are the ones the answer was read under."""
        if not isinstance(self.scope, int) or self.token is None:
            return
        parts = [f"k{kindergarten_id}"] if kindergarten_id is not None else [f"c{year}" for year in sorted(cohorts)]
        try:
            self.covered = _tokens_fetch([_token_key(self.scope, part) for part in ("catalog", *parts)])
        except Exception:  # the cache is down: the answer depends on the any token, as if nothing was said
            logger.warning("registry cache: could not read the covering tokens", exc_info=True)

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
        tokens = self.covered if self.covered is not None else {_token_key(self.scope): self.token}
        entry = Entry(tokens=tokens, valid_from=self.at, valid_until=valid_until, value=value)
        try:
            cache.set(entry_key(kind, self.scope, parts), entry, timeout=timeout)
        except Exception:  # not stored: the next reader computes it again
            logger.warning("registry cache: could not store an entry", exc_info=True)
