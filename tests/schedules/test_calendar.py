import datetime as dt

import pytest

from schedules.calendar import (
    add_working_days,
    counted_days,
    is_working_day,
    priority_ends_at,
    protocol_day,
    support_status,
)
from schedules.models import CalendarOverride
from tests.clock import astana

pytestmark = pytest.mark.django_db


def test_may_2024_worked_saturday_and_holidays():
    assert is_working_day(dt.date(2024, 5, 4))  # Saturday worked by government transfer
    assert not is_working_day(dt.date(2024, 5, 1))  # Unity day
    assert not is_working_day(dt.date(2024, 5, 7))  # Defender of the Fatherland day
    assert not is_working_day(dt.date(2024, 5, 8))  # day off moved from 05-04
    assert not is_working_day(dt.date(2024, 5, 9))  # Victory day
    assert not is_working_day(dt.date(2024, 5, 5))  # Sunday
    assert is_working_day(dt.date(2024, 5, 10))


def test_place_released_thursday_may_2_at_10_goes_general_may_6_at_18():
    # DOMAIN.md, Places 2: counted May 3, May 4 (worked Saturday), May 6.
    released = astana(2024, 5, 2, 10, 0)
    assert counted_days(released, 3) == [dt.date(2024, 5, 3), dt.date(2024, 5, 4), dt.date(2024, 5, 6)]
    assert priority_ends_at(released, 3) == astana(2024, 5, 6, 18, 0)


def test_summer_window_from_monday_june_3_goes_general_june_5_at_18():
    # DOMAIN.md, Places 2: free for all on 06.06 as the notice says.
    assert counted_days(astana(2024, 6, 3, 0, 0), 3) == [dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5)]
    assert priority_ends_at(astana(2024, 6, 3, 0, 0), 3) == astana(2024, 6, 5, 18, 0)


def test_entry_before_nine_on_a_working_day_counts_that_day():
    assert counted_days(astana(2024, 5, 2, 8, 59), 1) == [dt.date(2024, 5, 2)]


def test_entry_at_nine_or_later_counts_from_the_next_working_day():
    assert counted_days(astana(2024, 5, 2, 9, 0), 1) == [dt.date(2024, 5, 3)]


def test_entry_on_a_holiday_morning_counts_from_the_next_working_day():
    # 2024-05-07..09 are off: a place released on 05-07 at 08:00 starts counting on Friday 05-10.
    assert counted_days(astana(2024, 5, 7, 8, 0), 3) == [
        dt.date(2024, 5, 10),
        dt.date(2024, 5, 13),
        dt.date(2024, 5, 14),
    ]


def test_place_moves_to_general_after_three_working_days_across_nauryz_2024():
    # Nauryz 2024: 21, 22, 23 (Saturday, moved to Monday 25) March are off.
    released = astana(2024, 3, 20, 12, 0)
    assert counted_days(released, 3) == [dt.date(2024, 3, 26), dt.date(2024, 3, 27), dt.date(2024, 3, 28)]
    assert priority_ends_at(released, 3) == astana(2024, 3, 28, 18, 0)


def test_calendar_override_makes_a_working_day_a_holiday_and_wins():
    released = astana(2024, 5, 2, 10, 0)
    CalendarOverride.objects.create(date=dt.date(2024, 5, 4), kind="holiday", legal_act="Test act No. 1")
    assert not is_working_day(dt.date(2024, 5, 4))
    assert counted_days(released, 3) == [dt.date(2024, 5, 3), dt.date(2024, 5, 6), dt.date(2024, 5, 10)]


def test_calendar_override_makes_a_sunday_a_working_day_and_its_removal_restores_it():
    override = CalendarOverride.objects.create(date=dt.date(2024, 5, 5), kind="working", legal_act="Test act No. 2")
    assert is_working_day(dt.date(2024, 5, 5))
    override.delete()
    assert not is_working_day(dt.date(2024, 5, 5))


def test_moving_an_override_to_another_year_refreshes_both_years():
    override = CalendarOverride.objects.create(date=dt.date(2024, 12, 31), kind="holiday", legal_act="Act")
    assert not is_working_day(dt.date(2024, 12, 31))
    override.date = dt.date(2025, 1, 3)
    override.save()
    assert is_working_day(dt.date(2024, 12, 31))
    assert not is_working_day(dt.date(2025, 1, 3))


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (dt.date(2024, 5, 3), 1, dt.date(2024, 5, 4)),
        (dt.date(2024, 5, 6), 1, dt.date(2024, 5, 10)),
        (dt.date(2024, 5, 10), -1, dt.date(2024, 5, 6)),
        (dt.date(2024, 5, 3), 0, dt.date(2024, 5, 3)),
    ],
)
def test_add_working_days(start, count, expected):
    assert add_working_days(start, count) == expected


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (astana(2024, 6, 5, 18, 0), dt.date(2024, 6, 5)),
        (astana(2024, 6, 5, 18, 0, 0, 1), dt.date(2024, 6, 6)),
        (astana(2024, 6, 5, 0, 0), dt.date(2024, 6, 5)),
        (astana(2024, 6, 4, 18, 30), dt.date(2024, 6, 5)),
    ],
)
def test_protocol_day_is_the_date_whose_18_00_closes_the_event(moment, day):
    assert protocol_day(moment) == day


def test_support_is_open_on_a_working_day_at_noon():
    status = support_status(astana(2024, 5, 4, 12, 0))
    assert status.open_now
    assert status.closes_at == astana(2024, 5, 4, 18, 0)


def test_support_closed_over_the_may_holidays_opens_on_the_next_working_day():
    status = support_status(astana(2024, 5, 6, 18, 0))
    assert not status.open_now
    assert status.opens_at == astana(2024, 5, 10, 9, 0)


def test_support_closed_early_morning_opens_at_nine_the_same_day():
    status = support_status(astana(2024, 5, 3, 7, 30))
    assert status.opens_at == astana(2024, 5, 3, 9, 0)
