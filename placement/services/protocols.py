"""The release protocol: publishing a day, and checking that no published day was rewritten.

DOMAIN.md, The 18:00 run: a published protocol never changes; each carries the SHA-256 of its content and of
the previous day's protocol, so anyone can check that history was not rewritten.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import JSONField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from schedules.calendar import astana

from ..models import City, Kindergarten, PlaceEvent, Protocol


def canonical_json(value) -> str:
    """The canonical JSON of the protocols: sorted keys, no spaces, UTF-8 text (not \\u-escaped)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _document_digest(protocol: Protocol, *, entries_json: str) -> str:
    # The canonical JSON of `protocol.document()` with the entries' canonical text spliced in: a dict's canonical
    # JSON is its sorted "key":value pairs joined by commas, so this is exactly canonical_json(document) without
    # encoding the entries a second time.
    allocated = protocol.allocated
    canonical = (
        (f'{{"allocation":{canonical_json(protocol.allocation)},' if allocated else "{")
        + f'"city":{canonical_json(protocol.city.slug)},"day":{canonical_json(protocol.day.isoformat())},'
        + f'"entries":{entries_json},'
        + (f'"inputs_sha256":{canonical_json(protocol.inputs_sha256)},' if allocated else "")
        + f'"previous_sha256":{canonical_json(protocol.previous_sha256)}}}'
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def protocol_digest(protocol: Protocol) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the day's protocol and its link
    (`Protocol.document`): with the allocation section and the SHA-256 of the run's inputs on a day the run
    allocated places (offer mode)."""
    return _document_digest(protocol, entries_json=canonical_json(protocol.entries))


def kindergarten_names(city: City) -> dict[int, dict]:
    return {
        k.pk: {
            "id": k.pk,
            "code": k.code,
            "name": {"ru": k.name_ru or "", "kk": k.name_kk or "", "en": k.name_en or ""},
        }
        for k in Kindergarten.objects.filter(city=city).only("pk", "code", "name_ru", "name_kk", "name_en")
    }


# The entry's values other than the place, in the order of the entry's sorted keys, and then the place.
_ENTRY_COLUMNS = (
    "access",
    "at",
    "birth_year",
    "kind",
    "group_type",
    "kindergarten_id",
    "language",
    "reason",
    "recorded_at",
    "place_id",
)


def _memo(encode):
    """`encode` memoised per distinct value."""
    memo: dict = {}

    def encoded(value):
        text = memo.get(value)
        if text is None:
            text = memo[value] = encode(value)
        return text

    return encoded


def protocol_entries_json(*, city: City, day: dt.date) -> tuple[str, int]:
    """The canonical JSON of the chronology of every place event of the protocol day, without personal data, and
    the number of entries.

    Each entry is {access, at, birth_year, event, group_type, kindergarten: {id, code, name: {ru, kk, en}},
    language, place, reason, recorded_at}, times in Astana time (ISO 8601 with the offset, from the pinned tzdata
    as everywhere else). The text is written directly in canonical form (keys in sorted order, values encoded by
    `json` itself), and everything but the place is encoded once per distinct combination: a day's events share
    few (a release's places, the run's moves of one group), so the day's 100,000 events cost a dict lookup and a
    concatenation each, not a dict, two time conversions and a sorted encoding.
    `canonical_json(protocol.entries)` gives back exactly this text (tests/placement/test_daily_run.py).
    """
    kindergartens = {pk: canonical_json(k) for pk, k in kindergarten_names(city).items()}
    moment = _memo(lambda at: canonical_json(astana(at).isoformat()))
    text = _memo(canonical_json)

    def around_place(values: tuple) -> tuple[str, str]:
        # The entry's text before and after the place id: "place" sorts between "language" and "reason".
        access, at, birth_year, kind, group_type, kindergarten_id, language, reason, recorded_at = values
        before = (
            f'{{"access":{text(access)},"at":{moment(at)},"birth_year":{int(birth_year)},"event":{text(kind)},'
            f'"group_type":{text(group_type)},"kindergarten":{kindergartens[kindergarten_id]},'
            f'"language":{text(language)},"place":'
        )
        return before, f',"reason":{text(reason)},"recorded_at":{moment(recorded_at)}}}'

    rendered = _memo(around_place)
    rows = (
        PlaceEvent.objects.filter(city=city, protocol_day=day)
        .order_by("at", "pk")
        .values_list(*_ENTRY_COLUMNS)
        .iterator(chunk_size=5000)
    )
    entries = []
    for row in rows:
        before, after = rendered(row[:-1])
        entries.append(f"{before}{int(row[-1])}{after}")
    return "[" + ",".join(entries) + "]", len(entries)


def protocol_publish(
    *,
    city: City,
    day: dt.date,
    at: dt.datetime | None = None,
    allocation: list[dict] | None = None,
    inputs_sha256: str = "",
) -> Protocol:
    """Publish the protocol of `day`, chained to the city's previous published day. Call inside the city lock.
    In offer mode the day's run gives its allocation section and the SHA-256 of its inputs document, stored with
    the protocol and covered by its digest.

    The entries are encoded once: the same canonical text is hashed and stored (the database parses it into its
    JSON column), never encoded again by the field. The returned protocol's `entries` load on first access.
    """
    previous = Protocol.objects.filter(city=city, day__lt=day).order_by("-day").values_list("sha256", flat=True)
    previous_sha256 = previous.first() or Protocol.GENESIS
    entries_json, count = protocol_entries_json(city=city, day=day)
    protocol = Protocol(
        city=city,
        day=day,
        published_at=at or timezone.now(),
        entries=Cast(Value(entries_json), output_field=JSONField()),
        entry_count=count,
        previous_sha256=previous_sha256,
        allocation=allocation or [],
        inputs_sha256=inputs_sha256,
    )
    protocol.sha256 = _document_digest(protocol, entries_json=entries_json)
    protocol.save(force_insert=True)
    del protocol.entries  # deferred: the expression is not the value; read back from the database when asked
    # Deferred too: a run catching up (or a national day's 20 cities) keeps every protocol it published, and a
    # day's allocation section holds a row per offer.
    del protocol.allocation
    return protocol


@dataclass(frozen=True)
class ProtocolProblem:
    city: str
    day: dt.date
    why: str

    def __str__(self) -> str:
        return f"{self.city} {self.day.isoformat()}: {self.why}"


def _city_problems(city: City) -> Iterator[ProtocolProblem]:
    expected_previous = Protocol.GENESIS
    expected_day = None
    for protocol in city.protocols.order_by("day").iterator(chunk_size=50):  # each knows its city
        if expected_day is not None and protocol.day != expected_day:
            yield ProtocolProblem(city.slug, expected_day, "missing: the chain has a gap")
            return
        if protocol.previous_sha256 != expected_previous:
            yield ProtocolProblem(city.slug, protocol.day, "its link to the previous day does not match")
            return
        digest = protocol_digest(protocol)
        if digest != protocol.sha256:
            yield ProtocolProblem(city.slug, protocol.day, "its content does not match its SHA-256")
            return
        expected_previous = protocol.sha256
        expected_day = protocol.day + dt.timedelta(days=1)


def protocols_verify(*, city: City | None = None) -> list[ProtocolProblem]:
    """Recompute every city's chain; return the first bad day of each city whose history was altered."""
    cities = [city] if city else City.objects.order_by("slug")
    return [problem for c in cities for problem in _city_problems(c)]
