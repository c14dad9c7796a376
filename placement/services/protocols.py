"""The release protocol: publishing a day, and checking that no published day was rewritten.

DOMAIN.md, The 18:00 run: a published protocol never changes; each carries the SHA-256 of its content and of
the previous day's protocol, so anyone can check that history was not rewritten.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone

from schedules.calendar import astana

from ..models import City, Kindergarten, PlaceEvent, Protocol


def protocol_digest(*, city_slug: str, day: dt.date, previous_sha256: str, entries: list[dict]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the day's protocol and its link."""
    document = {"city": city_slug, "day": day.isoformat(), "previous_sha256": previous_sha256, "entries": entries}
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _kindergarten_names(city: City) -> dict[int, dict]:
    return {
        k.pk: {
            "id": k.pk,
            "code": k.code,
            "name": {"ru": k.name_ru or "", "kk": k.name_kk or "", "en": k.name_en or ""},
        }
        for k in Kindergarten.objects.filter(city=city).only("pk", "code", "name_ru", "name_kk", "name_en")
    }


def protocol_entries(*, city: City, day: dt.date) -> list[dict]:
    """The chronology of every place event of the protocol day, without personal data."""
    kindergartens = _kindergarten_names(city)
    events = (
        PlaceEvent.objects.filter(city=city, protocol_day=day)
        .order_by("at", "pk")
        .values_list(
            "at",
            "recorded_at",
            "kind",
            "place_id",
            "kindergarten_id",
            "birth_year",
            "language",
            "group_type",
            "access",
            "reason",
        )
    )
    keys = (
        "at",
        "recorded_at",
        "event",
        "place",
        "kindergarten",
        "birth_year",
        "language",
        "group_type",
        "access",
        "reason",
    )
    entries = []
    for row in events.iterator(chunk_size=5000):
        entry = dict(zip(keys, row, strict=True))
        entry["at"] = astana(entry["at"]).isoformat()
        entry["recorded_at"] = astana(entry["recorded_at"]).isoformat()
        entry["kindergarten"] = kindergartens[entry["kindergarten"]]
        entries.append(entry)
    return entries


def protocol_publish(*, city: City, day: dt.date, at: dt.datetime | None = None) -> Protocol:
    """Publish the protocol of `day`, chained to the city's previous published day. Call inside the city lock."""
    previous = Protocol.objects.filter(city=city, day__lt=day).order_by("-day").values_list("sha256", flat=True)
    previous_sha256 = previous.first() or Protocol.GENESIS
    entries = protocol_entries(city=city, day=day)
    return Protocol.objects.create(
        city=city,
        day=day,
        published_at=at or timezone.now(),
        entries=entries,
        entry_count=len(entries),
        previous_sha256=previous_sha256,
        sha256=protocol_digest(city_slug=city.slug, day=day, previous_sha256=previous_sha256, entries=entries),
    )


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
    for protocol in Protocol.objects.filter(city=city).order_by("day").iterator(chunk_size=50):
        if expected_day is not None and protocol.day != expected_day:
            yield ProtocolProblem(city.slug, expected_day, "missing: the chain has a gap")
            return
        if protocol.previous_sha256 != expected_previous:
            yield ProtocolProblem(city.slug, protocol.day, "its link to the previous day does not match")
            return
        digest = protocol_digest(
            city_slug=city.slug, day=protocol.day, previous_sha256=protocol.previous_sha256, entries=protocol.entries
        )
        if digest != protocol.sha256:
            yield ProtocolProblem(city.slug, protocol.day, "its content does not match its SHA-256")
            return
        expected_previous = protocol.sha256
        expected_day = protocol.day + dt.timedelta(days=1)


def protocols_verify(*, city: City | None = None) -> list[ProtocolProblem]:
    """Recompute every city's chain; return the first bad day of each city whose history was altered."""
    cities = [city] if city else City.objects.order_by("slug")
    return [problem for c in cities for problem in _city_problems(c)]
