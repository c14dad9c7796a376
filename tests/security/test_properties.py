"""Hypothesis on the IIN validator, the working-day arithmetic and the import commands (issue 7, Hostile and bad
input; DOMAIN.md, People and security and Time)."""

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import holidays
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.models import Child, Representation
from accounts.validators import is_valid_iin
from placement.demo import background_queue_rows
from placement.models import Application, City, Group, Kindergarten
from schedules.calendar import (
    ASTANA,
    PROTOCOL_MOMENT,
    add_working_days,
    counted_days,
    is_working_day,
    priority_ends_at,
)
from tests.clock import astana
from tests.factories import CityFactory

DATA = Path(__file__).resolve().parent.parent / "data"

# --- IIN ---------------------------------------------------------------------------------------------------


def reference_iin_valid(value: str) -> bool:
    """DOMAIN.md, People and security, written again from the rule (not from accounts.validators): weights 1..11,
    sum mod 11; if 10, weights 3..11,1,2; if 10 again the IIN is invalid; else it must equal digit 12."""
    if len(value) != 12 or not all(c in "0123456789" for c in value):
        return False
    digits = [int(c) for c in value]
    first = sum(w * d for w, d in zip(range(1, 12), digits[:11], strict=True)) % 11
    if first == 10:
        second_weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        first = sum(w * d for w, d in zip(second_weights, digits[:11], strict=True)) % 11
        if first == 10:
            return False
    return first == digits[11]


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_twelve_digits_validate_exactly_when_the_reference_checksum_says_so(value):
    assert is_valid_iin(value) == reference_iin_valid(value)


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_twelve_digit_numbers_drawn_uniformly_agree_with_the_reference(number):
    value = f"{number:012d}"
    assert is_valid_iin(value) == reference_iin_valid(value)


@given(st.text(max_size=20))
def test_anything_but_twelve_ascii_digits_is_never_a_valid_iin(value):
    assume(not (len(value) == 12 and all(c in "0123456789" for c in value)))
    assert not is_valid_iin(value)


# --- Working days ------------------------------------------------------------------------------------------
# The calendar reads CalendarOverride rows from the database (none here) and caches each year.

KZ_HOLIDAYS = holidays.country_holidays("KZ", years=range(2022, 2028))
WORKED_WEEKEND_DAYS = set(KZ_HOLIDAYS.weekend_workdays)
DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 12, 31))


@pytest.fixture(autouse=True)
def _calendar_db(db):
    """The calendar reads CalendarOverride rows (none here)."""


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(day=DAYS, n=st.integers(min_value=0, max_value=30))
def test_adding_n_working_days_then_subtracting_them_returns_the_start(day, n):
    assume(is_working_day(day))
    assert add_working_days(add_working_days(day, n), -n) == day


@SETTINGS
@given(day=DAYS, n=st.integers(min_value=1, max_value=30))
def test_adding_working_days_lands_on_a_working_day_and_skips_only_days_off(day, n):
    later = add_working_days(day, n)
    assert is_working_day(later)
    between = [day + dt.timedelta(days=i) for i in range(1, (later - day).days + 1)]
    assert sum(1 for d in between if is_working_day(d)) == n


def holiday_or_unworked_weekend(day: dt.date) -> bool:
    if day in WORKED_WEEKEND_DAYS:
        return False
    return day in KZ_HOLIDAYS or day.weekday() >= 5


MOMENTS = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2026, 12, 20)).map(
    lambda naive: naive.replace(tzinfo=ASTANA)
)


@SETTINGS
@given(entered_at=MOMENTS, count=st.integers(min_value=1, max_value=10))
def test_counted_days_never_include_a_holiday_or_a_weekend_day_that_is_not_worked(entered_at, count):
    days = counted_days(entered_at, count)
    assert len(days) == count == len(set(days))
    assert days == sorted(days)
    assert not [day for day in days if holiday_or_unworked_weekend(day)]
    assert days[0] >= entered_at.date()


@SETTINGS
@given(entered_at=MOMENTS, count=st.integers(min_value=1, max_value=10))
def test_priority_ends_at_18_00_astana_of_a_working_day(entered_at, count):
    ends = priority_ends_at(entered_at, count).astimezone(ASTANA)
    assert ends.time() == PROTOCOL_MOMENT == dt.time(18, 0)
    assert ends.utcoffset() == dt.timedelta(hours=5 if ends.date() >= dt.date(2024, 3, 1) else 6)
    assert is_working_day(ends.date()) and not holiday_or_unworked_weekend(ends.date())
    assert ends > entered_at


# --- Imports -----------------------------------------------------------------------------------------------


def data_counts() -> dict[str, int]:
    models = [City, Kindergarten, Group, get_user_model(), Child, Representation, Application]
    return {model.__name__: model.objects.count() for model in models}


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def good_kindergarten_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO((DATA / "kindergartens-good.csv").read_text())))


def good_queue_rows() -> list[list[str]]:
    rows = background_queue_rows(city_slug="prop-city", count=3, now=astana(2024, 6, 1, 12))
    header = list(rows[0])
    return [header] + [[row[column] for column in header] for row in rows]


NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "9" * 30, "2021-02-30", "31.12.2021", "=cmd|' /C calc'!A0", "\x00", "NaN"]),
)


@st.composite
def malformed_tables(draw, good_rows):
    """A good file spoilt: a cell replaced, a row cut short, a column dropped, junk bytes or a broken encoding."""
    rows = [list(row) for row in good_rows]
    kind = draw(st.sampled_from(["cell", "cut", "drop_column", "junk", "latin1", "extra_row", "bom_only"]))
    return kind, _spoil(draw, rows, kind)


def _spoil(draw, rows, kind) -> bytes:
    if kind == "cell":
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            r = draw(st.integers(min_value=1, max_value=len(rows) - 1))
            c = draw(st.integers(min_value=0, max_value=len(rows[r]) - 1))
            rows[r][c] = draw(NASTY_TEXT)
        return csv_bytes(rows)
    if kind == "cut":
        r = draw(st.integers(min_value=1, max_value=len(rows) - 1))
        rows[r] = rows[r][: draw(st.integers(min_value=0, max_value=len(rows[r]) - 1))]
        return csv_bytes(rows)
    if kind == "drop_column":
        c = draw(st.integers(min_value=0, max_value=len(rows[0]) - 1))
        return csv_bytes([row[:c] + row[c + 1 :] for row in rows])
    if kind == "junk":
        return draw(st.binary(max_size=300))
    if kind == "latin1":
        return csv_bytes(rows).decode().encode("cp1251", errors="replace") + b"\xff\xfe"
    if kind == "extra_row":
        # A good file with a broken last row: nothing of the good rows may stay.
        extra = [draw(NASTY_TEXT) for _ in rows[0]]
        extra[0] = rows[1][0]
        return csv_bytes([*rows, extra])
    return b"\xef\xbb\xbf"


IMPORT_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def run_import(command: str, content: bytes, *args: str):
    with tempfile.NamedTemporaryFile(suffix=".csv") as file:
        file.write(content)
        file.flush()
        call_command(command, file.name, *args, stdout=io.StringIO(), stderr=io.StringIO())


# Spoilings no importer may accept: no table at all, a broken encoding, a duplicate of a good row. The others (a
# cell, a cut row, a dropped column) may still leave a valid file, which then imports whole.
MUST_REFUSE = {"junk", "latin1", "extra_row", "bom_only"}


def assert_all_or_nothing(command: str, spoilt: tuple[str, bytes], *args: str) -> None:
    kind, content = spoilt
    before = data_counts()
    try:
        run_import(command, content, *args)
    except CommandError:
        assert data_counts() == before, "a refused import left rows behind"
    else:
        assert kind not in MUST_REFUSE, f"a file spoilt by {kind} was imported"
    # Anything else (a ValueError, an IntegrityError, a UnicodeError) propagates and fails the test.


@IMPORT_SETTINGS
@given(content=malformed_tables(good_kindergarten_rows()))
def test_a_malformed_kindergarten_file_imports_nothing_and_fails_only_with_a_command_error(content):
    assert_all_or_nothing("import_kindergartens", content)


@IMPORT_SETTINGS
@given(content=malformed_tables(good_queue_rows()))
def test_a_malformed_queue_file_imports_nothing_and_fails_only_with_a_command_error(content):
    CityFactory(slug="prop-city")
    assert_all_or_nothing("import_queue", content)


@pytest.mark.parametrize("command", ["import_kindergartens", "import_queue"])
def test_an_xlsx_that_is_no_spreadsheet_is_refused_cleanly(command, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    before = data_counts()
    with pytest.raises(CommandError):
        call_command(command, str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert data_counts() == before


def test_the_good_files_the_properties_spoil_do_import():
    """The strategies start from files that import, so that a spoilt one is refused for the spoiling."""
    run_import("import_kindergartens", csv_bytes(good_kindergarten_rows()))
    CityFactory(slug="prop-city")
    run_import("import_queue", csv_bytes(good_queue_rows()))
    assert Application.objects.filter(city__slug="prop-city").count() == 3
