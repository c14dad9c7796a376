"""Writing the chronology: one helper builds every PlaceEvent, so each carries the same snapshot."""

import datetime as dt

from schedules.calendar import protocol_day

from ..models import Place, PlaceEvent


def place_event_build(
    *, place: Place, kind: str, at: dt.datetime, by=None, reason: str = "", access: str = ""
) -> PlaceEvent:
    group = place.group
    return PlaceEvent(
        place=place,
        city_id=place.city_id,
        kindergarten_id=place.kindergarten_id,
        kind=kind,
        at=at,
        protocol_day=protocol_day(at),
        by=by,
        reason=reason,
        birth_year=group.birth_year,
        language=group.language,
        group_type=group.group_type,
        access=access,
    )
