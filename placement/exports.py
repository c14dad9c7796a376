"""CSV and XLSX downloads of one published protocol day, with headers in the reader's language.

Entries carry no personal data; the download shows exactly the entries' fields. Free text (a withdrawal reason)
is written so that a spreadsheet never runs it as a formula. The CSV is the chronology, one table; the XLSX adds the
day's hashes and, on a day the offer-mode run allocated places, its allocation section (a sheet of its own).
"""

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from schedules.calendar import astana

from .models import Protocol
from .selectors.offers import protocol_allocation
from .selectors.protocols import ProtocolRow, protocol_rows

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_filename(*, protocol: Protocol, extension: str) -> str:
    return f"protocol-{protocol.city.slug}-{protocol.day.isoformat()}.{extension}"


def _place_headers() -> list[str]:
    """The columns that say which place: in the chronology and in the allocation alike."""
    return [
        _("Place"),
        _("Kindergarten code"),
        _("Kindergarten"),
        _("Birth year"),
        _("Language of instruction"),
        _("Group type"),
    ]


def export_headers() -> list[str]:
    return [_("Time (Astana)"), _("Event"), *_place_headers(), _("Access"), _("Reason")]


def _row_values(row: ProtocolRow) -> list:
    return [
        row.at,
        row.event_label,
        row.place,
        row.kindergarten_code,
        row.kindergarten_name,
        row.birth_year,
        row.language_label,
        row.group_type_label,
        row.access_label,
        row.reason,
    ]


def _csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def protocol_csv(*, protocol: Protocol) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens Cyrillic and Kazakh letters correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(export_headers())
    for row in protocol_rows(protocol=protocol):
        values = _row_values(row)
        values[0] = row.at.strftime(TIME_FORMAT)
        writer.writerow([_csv_safe(value) for value in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _table(sheet, *, header: list[str], rows: Iterable[list], widths: list[int]) -> None:
    """The header in bold, then the rows; text stays text even when it starts with "=" (never a formula)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"


def _allocation_rows(protocol: Protocol) -> Iterator[list]:
    """The allocation section as the protocol page shows it, in the run's walk order."""
    for row in protocol_allocation(city=protocol.city, day=protocol.day).rows:
        kindergarten = row.kindergarten
        place = [row.place_id, kindergarten.code, kindergarten.name, row.birth_year, row.language_label]
        yield [*place, row.group_type_label, row.queue_position, row.rank or _("any other")]


def protocol_xlsx(*, protocol: Protocol) -> bytes:
    """One sheet with the chronology, one with the allocation on a day the run allocated places, and one with the
    day's hashes."""
    from openpyxl import Workbook

    workbook = Workbook()
    chronology = workbook.active
    chronology.title = _("Chronology")[:31]
    # Spreadsheets have no time zones: the Astana wall-clock time, as the header says.
    rows = ([row.at.replace(tzinfo=None), *_row_values(row)[1:]] for row in protocol_rows(protocol=protocol))
    _table(chronology, header=export_headers(), rows=rows, widths=[20, 28, 10, 16, 40, 12, 18, 22, 22, 40])
    for cell in chronology["A"][1:]:
        cell.number_format = "DD.MM.YYYY HH:MM:SS"
    if protocol.allocated:
        header = [*_place_headers(), _("Queue position at the run"), _("Rank of the kindergarten in the choices")]
        allocation = workbook.create_sheet(_("Allocation")[:31])  # no colon in a sheet title
        _table(allocation, header=header, rows=_allocation_rows(protocol), widths=[10, 16, 40, 12, 18, 22, 16, 16])

    hashes = workbook.create_sheet(_("Hashes")[:31])
    for label, value in (
        (_("City"), protocol.city.slug),
        (_("Protocol day"), protocol.day.isoformat()),
        (_("Published at (Astana)"), astana(protocol.published_at).strftime(TIME_FORMAT)),
        (_("Number of entries"), protocol.entry_count),
        (_("SHA-256 of this day"), protocol.sha256),
        (_("SHA-256 of the previous day"), protocol.previous_sha256),
        *([(_("SHA-256 of the run's inputs"), protocol.inputs_sha256)] if protocol.allocated else []),
    ):
        hashes.append([label, value])
    hashes.column_dimensions["A"].width = 32
    hashes.column_dimensions["B"].width = 70

    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
