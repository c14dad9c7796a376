"""Reads of the published release protocols (DOMAIN.md, The 18:00 run): the days of a city, one day, and its
chronology for a reader (the document its hash is computed over is `Protocol.document`)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Min, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from schedules.calendar import astana

from ..errors import ProtocolMissing
from ..models import Access, City, GroupType, Language, PlaceEvent, Protocol, reason_label
from ..models.places import choice_label


def protocol_list(*, city: City, with_events_only: bool = False) -> QuerySet[Protocol]:
    """The published days of a city, newest first, without their (possibly large) entries; `with_events_only`
    leaves out the days on which nothing happened (they are published all the same, to keep the chain)."""
    days = Protocol.objects.filter(city=city).defer("entries").order_by("-day")
    return days.filter(entry_count__gt=0) if with_events_only else days


def protocol_span(*, city: City) -> tuple[dt.date | None, dt.date | None]:
    """The first and the last published day of a city (None, None before the first)."""
    span = Protocol.objects.filter(city=city).aggregate(first=Min("day"), last=Max("day"))
    return span["first"], span["last"]


def protocol_day_parse(value: str) -> dt.date | None:
    """A protocol day from a URL: exactly YYYY-MM-DD, else None."""
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def protocol_get(*, city: City, day: dt.date) -> Protocol | None:
    return Protocol.objects.filter(city=city, day=day).first()


def protocol_neighbours(*, protocol: Protocol) -> tuple[dt.date | None, dt.date | None]:
    """The published days just before and just after `protocol`'s day."""
    days = Protocol.objects.filter(city_id=protocol.city_id)
    previous = days.filter(day__lt=protocol.day).order_by("-day").values_list("day", flat=True).first()
    following = days.filter(day__gt=protocol.day).order_by("day").values_list("day", flat=True).first()
    return previous, following


@dataclass(frozen=True)
class ProtocolRow:
    """One entry of a published protocol, ready to show in the reader's language."""

    at: dt.datetime
    event: str
    event_label: str
    place: int
    kindergarten_id: int | None
    kindergarten_code: str
    kindergarten_name: str
    birth_year: int | None
    language: str
    language_label: str
    group_type: str
    group_type_label: str
    access: str
    access_label: str
    reason: str


def entry_name(names, *, language: str | None = None) -> str:
    """The kindergarten's name as the entry recorded it, in `language`, else Russian, else Kazakh."""
    if isinstance(names, str):
        return names
    names = names or {}
    language = (language or get_language() or "ru").split("-")[0]
    for code in (language, "ru", "kk", "en"):
        if names.get(code):
            return names[code]
    return ""


def protocol_rows(*, protocol: Protocol, language: str | None = None) -> list[ProtocolRow]:
    """The day's chronology for a reader: Astana times, translated labels, the name in the reader's language."""
    rows = []
    for entry in protocol.entries:
        kindergarten = entry.get("kindergarten") or {}
        rows.append(
            ProtocolRow(
                at=astana(dt.datetime.fromisoformat(entry["at"])),
                event=entry.get("event", ""),
                event_label=choice_label(PlaceEvent.Kind, entry.get("event", "")),
                place=entry.get("place"),
                kindergarten_id=kindergarten.get("id"),
                kindergarten_code=kindergarten.get("code", ""),
                kindergarten_name=entry_name(kindergarten.get("name"), language=language),
                birth_year=entry.get("birth_year"),
                language=entry.get("language", ""),
                language_label=choice_label(Language, entry.get("language", "")),
                group_type=entry.get("group_type", ""),
                group_type_label=choice_label(GroupType, entry.get("group_type", "")),
                access=entry.get("access", ""),
                access_label=choice_label(Access, entry.get("access", "")),
                reason=reason_label(entry.get("reason", "")),  # a code in the reader's words
            )
        )
    return rows


def protocol_find(*, city_slug: str, day: str) -> Protocol:
    """The published protocol of a city's day as a URL names them; ProtocolMissing (404) says what is missing: the
    city, a date, or the day's publication (each day's protocol is published at 18:00 Astana time)."""
    city = City.objects.filter(slug=city_slug).first()
    if city is None:
        raise ProtocolMissing(_("There is no such city."))
    parsed = protocol_day_parse(day)
    if parsed is None:
        raise ProtocolMissing(_("This is not a date: use the form YYYY-MM-DD, e.g. 2024-06-05."), city=city)
    protocol = protocol_get(city=city, day=parsed)
    if protocol is None:
        message = _(
            "The protocol of %(day)s for %(city)s has not been published yet. "
            "Each day's protocol is published at 18:00 Astana time."
        ) % {"day": parsed.strftime("%d.%m.%Y"), "city": city.name}
        raise ProtocolMissing(message, city=city)
    return protocol
