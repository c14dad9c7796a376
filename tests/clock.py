"""Time in tests: business moments are written in Astana time, and time is stopped with time-machine, never slept
through (STYLE.md, Tests; DOMAIN.md, Time)."""

import datetime as dt

import time_machine

from schedules.calendar import ASTANA


def astana(*args) -> dt.datetime:
    """A moment in Astana time: astana(2024, 5, 2, 10, 0) is Thu 2 May 2024, 10:00 in Astana."""
    return dt.datetime(*args, tzinfo=ASTANA)


def at(moment: dt.datetime) -> time_machine.travel:
    """Stop the clock at `moment` for a `with` block: every `timezone.now()` inside answers `moment`."""
    return time_machine.travel(moment, tick=False)
