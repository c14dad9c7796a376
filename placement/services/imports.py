"""Importing a city's kindergartens and groups from a table (CSV or XLSX); the columns are in docs/IMPORT.md.

All or nothing: every row is checked first and every problem is collected with its row number and column; only a
table without a single problem is written, in one transaction. Importing the same table twice changes nothing.
"""

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from indigo.errors import DomainError

from ..models import City, Group, GroupType, Kindergarten, Language

# Columns of one kindergarten, repeated on each of its group rows; they must agree across those rows.
KINDERGARTEN_COLUMNS = (
    "name_ru",
    "name_kk",
    "name_en",
    "address_ru",
    "address_kk",
    "district_ru",
    "district_kk",
    "phone",
    "email",
    "latitude",
    "longitude",
)
CITY_COLUMNS = ("city_slug", "city_name_ru", "city_name_kk", "city_name_en")
GROUP_COLUMNS = ("group_name_ru", "group_name_kk", "birth_year", "language", "group_type")
REQUIRED_COLUMNS = ("kindergarten_code", "name_ru", "name_kk", "birth_year", "language")
ALL_COLUMNS = (*CITY_COLUMNS, "kindergarten_code", *KINDERGARTEN_COLUMNS, *GROUP_COLUMNS)

MAX_LENGTHS = {
    "city_slug": 50,
    "city_name_ru": 120,
    "city_name_kk": 120,
    "city_name_en": 120,
    "kindergarten_code": 32,
    "name_ru": 255,
    "name_kk": 255,
    "name_en": 255,
    "address_ru": 255,
    "address_kk": 255,
    "district_ru": 120,
    "district_kk": 120,
    "phone": 64,
    "email": 254,
    "group_name_ru": 120,
    "group_name_kk": 120,
}
BIRTH_YEAR_RANGE = (2000, 2100)
# The first data row is row 2 of the file: row 1 holds the column names, as a spreadsheet numbers them.
FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class ImportProblem:
    row: int  # 1 is the header row
    column: str  # "" when the problem is the whole file
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("row %(row)s, column %(column)s: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


class ImportRejected(DomainError, code="import_rejected", status=400):
    """The table was not imported; `problems` names the row and column of each problem. Nothing was written."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


class Tally:
    """An import's counts: `changed` when any of those named in CHANGES is not zero (counts of rows left as they
    were, `*_unchanged`, are not changes)."""

    CHANGES: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return any(getattr(self, name) for name in self.CHANGES)


@dataclass
class ImportResult(Tally):
    CHANGES = ("city_created", "kindergartens_created", "kindergartens_updated", "groups_created", "groups_updated")

    city: City
    city_created: bool = False
    kindergartens_created: int = 0
    kindergartens_updated: int = 0
    kindergartens_unchanged: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_unchanged: int = 0


# --- Reading files -------------------------------------------------------------------------------------------


def _cell_text(value) -> str:
    """A cell as text: spreadsheets give numbers and dates, the import compares text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _rows_from_matrix(matrix: Iterable[list]) -> list[dict[str, str]]:
    """Header row + data rows → one dict per data row (column → text); blank rows are kept so numbering holds."""
    rows = iter(matrix)
    header = next(rows, None)
    if header is None or not any(_cell_text(cell) for cell in header):
        raise ImportRejected([ImportProblem(row=1, column="", message=_("The file is empty: no header row."))])
    columns = [_cell_text(cell).lower() for cell in header]
    while columns and not columns[-1]:
        columns.pop()
    problems = []
    for position, name in enumerate(columns, start=1):
        if not name:
            problems.append(ImportProblem(row=1, column="", message=_("Column %(n)s has no name.") % {"n": position}))
    if len(set(columns)) != len(columns):
        duplicates = sorted({name for name in columns if columns.count(name) > 1 and name})
        problems.append(
            ImportProblem(
                row=1, column="", message=_("Repeated columns: %(names)s.") % {"names": ", ".join(duplicates)}
            )
        )
    if problems:
        raise ImportRejected(problems)
    result = []
    for number, raw in enumerate(rows, start=FIRST_DATA_ROW):
        cells = [_cell_text(cell) for cell in raw]
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            problems.append(
                ImportProblem(
                    row=number,
                    column="",
                    message=_("The row has %(cells)s cells but the header names %(columns)s columns.")
                    % {"cells": len(cells), "columns": len(columns)},
                )
            )
            continue
        cells += [""] * (len(columns) - len(cells))
        result.append(dict(zip(columns, cells, strict=False)))
    if problems:
        raise ImportRejected(problems)
    return result


def table_read_csv(content: bytes) -> list[dict[str, str]]:
    """CSV in UTF-8 (a byte-order mark is allowed), separated by commas or, as Excel writes it here, semicolons."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [
                ImportProblem(
                    row=1, column="", message=_("The file is not CSV text in UTF-8 (byte %(at)s).") % {"at": exc.start}
                )
            ]
        ) from exc
    if "\x00" in text:
        raise ImportRejected([ImportProblem(row=1, column="", message=_("The file is not CSV text in UTF-8."))])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        matrix = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportRejected(
            [ImportProblem(row=1, column="", message=_("The file is not valid CSV: %(error)s") % {"error": exc})]
        ) from exc
    return _rows_from_matrix(matrix)


def table_read_xlsx(content: bytes) -> list[dict[str, str]]:
    """The first sheet of an XLSX workbook; row 1 holds the column names."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRejected(
            [ImportProblem(row=1, column="", message=_("The file is not a valid XLSX workbook."))]
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return _rows_from_matrix([list(row) for row in sheet.iter_rows(values_only=True)])
    finally:
        workbook.close()


def table_read(path: Path | str) -> list[dict[str, str]]:
    """Read a .csv or .xlsx file by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".csv": table_read_csv, ".xlsx": table_read_xlsx}
    if suffix not in readers:
        raise ImportRejected(
            [
                ImportProblem(
                    row=1, column="", message=_("Use a .csv or .xlsx file (got %(name)s).") % {"name": path.name}
                )
            ]
        )
    return readers[suffix](path.read_bytes())


# --- Checking rows -------------------------------------------------------------------------------------------


@dataclass
class _KindergartenRow:
    row: int
    code: str
    values: dict  # field → value, for Kindergarten
    groups: list = field(default_factory=list)  # (row, key, values)


def table_rows(
    rows: list[Mapping[str, str]], *, known: Iterable[str], required: Iterable[str], check_columns=None
) -> list[tuple[int, Mapping[str, str]]]:
    """The table's rows with their row numbers in the file, blank lines left out. ImportRejected when it has no
    data rows, or an unknown or missing column (or a problem `check_columns(columns)` finds): nothing is read."""
    if not rows:
        raise _no_data_rows()
    columns = set(rows[0].keys())
    problems = []
    unknown = sorted(columns - set(known))
    if unknown:
        problems.append(
            ImportProblem(row=1, column="", message=_("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)})
        )
    missing = [name for name in required if name not in columns]
    if missing:
        problems.append(
            ImportProblem(row=1, column="", message=_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
        )
    problems += check_columns(columns) if check_columns else []
    if problems:
        raise ImportRejected(problems)
    numbered = [
        (number, row)
        for number, row in enumerate(rows, start=FIRST_DATA_ROW)
        if any((value or "").strip() for value in row.values())  # else a blank line in a spreadsheet
    ]
    if not numbered:
        raise _no_data_rows()
    return numbered


def _no_data_rows() -> ImportRejected:
    return ImportRejected([ImportProblem(row=FIRST_DATA_ROW, column="", message=_("The file has no data rows."))])


def _coordinates_both_or_neither(columns: set[str]) -> list[ImportProblem]:
    if ("latitude" in columns) == ("longitude" in columns):
        return []
    return [ImportProblem(row=1, column="", message=_("Give both latitude and longitude columns, or neither."))]


def _decimal(text: str, *, bound: int) -> Decimal:
    value = Decimal(text.replace(",", "."))
    if not value.is_finite() or not -bound <= value <= bound:
        raise InvalidOperation
    return value.quantize(Decimal("0.000001"))


def _row_values(number: int, row: Mapping[str, str], problems: list[ImportProblem]) -> dict:
    """The checked values of one row; each problem is added to `problems` with its row and column."""

    def problem(column, message):
        problems.append(ImportProblem(row=number, column=column, message=message))

    values = {name: (row.get(name) or "").strip() for name in ALL_COLUMNS if name in row}
    for name in REQUIRED_COLUMNS:
        if name in row and not values[name]:
            problem(name, _("This field is required."))
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            problem(name, _("At most %(max)s characters (got %(got)s).") % {"max": limit, "got": len(values[name])})

    if values.get("birth_year"):
        low, high = BIRTH_YEAR_RANGE
        try:
            year = int(values["birth_year"])
            if not low <= year <= high:
                raise ValueError
            values["birth_year"] = year
        except ValueError:
            problem(
                "birth_year",
                _("A whole year from %(low)s to %(high)s is required (got “%(value)s”).")
                % {"low": low, "high": high, "value": values["birth_year"]},
            )
    if values.get("language"):
        values["language"] = values["language"].lower()
        if values["language"] not in Language.values:
            problem(
                "language",
                _("Must be one of %(choices)s (got “%(value)s”).")
                % {"choices": ", ".join(Language.values), "value": values["language"]},
            )
    values["group_type"] = (values.get("group_type") or GroupType.GENERAL).lower()
    if values["group_type"] not in GroupType.values:
        problem(
            "group_type",
            _("Must be one of %(choices)s (got “%(value)s”).")
            % {"choices": ", ".join(GroupType.values), "value": values["group_type"]},
        )
    for name, bound in (("latitude", 90), ("longitude", 180)):
        if name not in values:
            continue
        if not values[name]:
            values[name] = None
            continue
        try:
            values[name] = _decimal(values[name], bound=bound)
        except (InvalidOperation, ValueError):
            problem(
                name,
                _("A number from %(low)s to %(high)s is required (got “%(value)s”).")
                % {"low": -bound, "high": bound, "value": values[name]},
            )
    coordinates_problem = any(p.row == number and p.column in {"latitude", "longitude"} for p in problems)
    if (
        "latitude" in values
        and not coordinates_problem
        and (values["latitude"] is None) != (values["longitude"] is None)
    ):
        column = "longitude" if values["latitude"] is not None else "latitude"
        problem(column, _("Give both coordinates or neither."))
    if values.get("email"):
        try:
            validate_email(values["email"])
        except ValidationError:
            problem("email", _("Not a valid email address (got “%(value)s”).") % {"value": values["email"]})
    return values


def _kindergarten_fields(values: dict) -> dict:
    return {name: values[name] for name in KINDERGARTEN_COLUMNS if name in values}


def _group_key(values: dict) -> tuple:
    """A group is identified in its kindergarten by cohort, language, type and Russian name."""
    return (values.get("birth_year"), values.get("language"), values.get("group_type"), values.get("group_name_ru", ""))


def _display(value) -> str:
    return "" if value is None else str(value)


def _resolve_city(
    *, rows: list[dict], numbered: list[tuple[int, dict]], city: str | City | None, problems: list[ImportProblem]
) -> tuple[City | None, dict]:
    """The one city of the table: `city` when given (rows may leave city_slug empty or repeat it), else city_slug."""
    slug = city.slug if isinstance(city, City) else (city or "").strip()
    names: dict[str, str] = {}
    for number, values in numbered:
        row_slug = values.get("city_slug", "")
        if slug and row_slug and row_slug != slug:
            problems.append(
                ImportProblem(
                    row=number,
                    column="city_slug",
                    message=_("Every row must be of city “%(city)s” (got “%(value)s”).")
                    % {"city": slug, "value": row_slug},
                )
            )
        elif not slug and not row_slug:
            problems.append(ImportProblem(row=number, column="city_slug", message=_("This field is required.")))
        elif not slug:
            slug = row_slug
        for name in ("city_name_ru", "city_name_kk", "city_name_en"):
            if values.get(name):
                if names.get(name, values[name]) != values[name]:
                    problems.append(
                        ImportProblem(
                            row=number,
                            column=name,
                            message=_("Differs from an earlier row of the same city (“%(value)s”).")
                            % {"value": names[name]},
                        )
                    )
                names.setdefault(name, values[name])
    if isinstance(city, City):
        return city, names
    existing = City.objects.filter(slug=slug).first() if slug else None
    if slug and existing is None and not (names.get("city_name_ru") and names.get("city_name_kk")):
        column = "city_slug" if any("city_slug" in row for row in rows) else ""
        problems.append(
            ImportProblem(
                row=FIRST_DATA_ROW,
                column=column,
                message=_(
                    "There is no city “%(city)s”: create it in the admin, or give city_name_ru and city_name_kk "
                    "to create it."
                )
                % {"city": slug},
            )
        )
    return existing, {**names, "slug": slug}


def kindergartens_import(*, rows: list[Mapping[str, str]], city: str | City | None = None) -> ImportResult:
    """Create or update one city's kindergartens (by city and code) and their groups, all or nothing.

    `rows`: one mapping per group row (column → text), in file order; row numbers count from 2 as in the file.
    `city`: the city (or its slug) every row belongs to; without it the rows' city_slug names it. A missing city
    is created only when the rows give city_name_ru and city_name_kk. Existing cities are never renamed, and
    kindergartens and groups absent from the table are left alone (places may refer to them).
    Raises ImportRejected, naming the row and column of every problem, without writing anything.
    """
    rows = list(rows)
    required = ([] if city else ["city_slug"]) + list(REQUIRED_COLUMNS)
    table = table_rows(rows, known=ALL_COLUMNS, required=required, check_columns=_coordinates_both_or_neither)
    problems = []
    numbered = [(number, _row_values(number, row, problems)) for number, row in table]

    existing_city, city_names = _resolve_city(rows=rows, numbered=numbered, city=city, problems=problems)

    kindergartens: dict[str, _KindergartenRow] = {}
    seen_groups: dict[tuple, int] = {}
    for number, values in numbered:
        code = values.get("kindergarten_code", "")
        if not code:
            continue
        fields = _kindergarten_fields(values)
        first = kindergartens.get(code)
        if first is None:
            kindergartens[code] = first = _KindergartenRow(row=number, code=code, values=fields)
        else:
            for name, value in fields.items():
                if value != first.values.get(name):
                    problems.append(
                        ImportProblem(
                            row=number,
                            column=name,
                            message=_("Differs from row %(row)s of the same kindergarten %(code)s (“%(value)s” there).")
                            % {"row": first.row, "code": code, "value": _display(first.values.get(name))},
                        )
                    )
        key = (code, *_group_key(values))
        if key in seen_groups:
            problems.append(
                ImportProblem(
                    row=number,
                    column="birth_year",
                    message=_("The same group as row %(row)s (kindergarten, birth year, language, type and name).")
                    % {"row": seen_groups[key]},
                )
            )
        else:
            seen_groups[key] = number
            first.groups.append((number, values))

    if problems:
        raise ImportRejected(
            sorted(problems, key=lambda p: (p.row, ALL_COLUMNS.index(p.column) if p.column in ALL_COLUMNS else -1))
        )

    with transaction.atomic():
        return _write(existing_city=existing_city, city_names=city_names, kindergartens=kindergartens)


def _apply(instance, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        current = getattr(instance, name)
        if isinstance(value, str) and current is None:
            current = ""  # translated fields are nullable; an empty cell means the same as a missing value
        if current != value:
            setattr(instance, name, value)
            changed = True
    return changed


def _write(*, existing_city: City | None, city_names: dict, kindergartens: dict[str, _KindergartenRow]) -> ImportResult:
    city = existing_city
    created = False
    if city is None:
        city, created = City.objects.get_or_create(
            slug=city_names["slug"],
            defaults={
                "name_ru": city_names["city_name_ru"],
                "name_kk": city_names["city_name_kk"],
                "name_en": city_names.get("city_name_en", ""),
            },
        )
    result = ImportResult(city=city, city_created=created)
    for code, row in kindergartens.items():
        kindergarten = Kindergarten.objects.filter(city=city, code=code).first()
        if kindergarten is None:
            kindergarten = Kindergarten.objects.create(city=city, code=code, **row.values)
            result.kindergartens_created += 1
        elif _apply(kindergarten, row.values):
            kindergarten.save()
            result.kindergartens_updated += 1
        else:
            result.kindergartens_unchanged += 1
        existing = {(g.birth_year, g.language, g.group_type, g.name_ru or ""): g for g in kindergarten.groups.all()}
        for _number, values in row.groups:
            group_values = {"name_ru": values.get("group_name_ru", ""), "name_kk": values.get("group_name_kk", "")}
            if "group_name_kk" not in values:
                group_values.pop("name_kk")
            group = existing.get(_group_key(values))
            if group is None:
                Group.objects.create(
                    kindergarten=kindergarten,
                    birth_year=values["birth_year"],
                    language=values["language"],
                    group_type=values["group_type"],
                    **group_values,
                )
                result.groups_created += 1
            elif _apply(group, group_values):
                group.save()
                result.groups_updated += 1
            else:
                result.groups_unchanged += 1
    return result
