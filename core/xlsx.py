"""One way to write a table as an XLSX workbook: every export and report that offers Excel writes through here.

A table is a header row and an iterable of rows (a queryset's iterator will do: the workbook is write-only,
so rows are streamed into the file and never held as cell objects).  What a cell becomes:

* text: stripped of the characters XML 1.0 cannot hold (C0 controls but tab, line feed and carriage return; lone
  surrogates; U+FFFE, U+FFFF), then neutralised by ``core.text.neutralize_cell``, the CSV exports' rule, so a
  cell that starts with = + - @ is never run as a formula (``=1+1`` is written as ``'=1+1``, as in the CSV);
  cut to Excel's 32,767 characters, ending in "…";
* an aware datetime: a real date and time in library time (``settings.TIME_ZONE``), shown to the minute; a
  naive one is taken to be library time already; a date: a real date;
* numbers and booleans as themselves; None as an empty cell; anything else (lazy translations …) as text.

The header row is frozen, the columns get the widths given (else one fitted to the header), and an optional
autofilter covers the header and every row written.
"""

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from core.text import neutralize_cell

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: What XML 1.0 cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE, plus lone surrogates and the two non-characters).
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The most characters an Excel cell holds.
MAX_CELL_CHARS = 32_767
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
#: Characters Excel refuses in a sheet's name (at most 31 characters).
_NOT_IN_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def cell_text(value) -> str:
    """``value`` as the text of a cell: XML-safe, never a formula, at most ``MAX_CELL_CHARS`` long.  Illegal
    characters go first, so a hidden NUL cannot put "=" at the start after neutralising."""
    text = neutralize_cell(NOT_IN_XML.sub("", str(value)))
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def sheet_title(text: str, *, default: str = "Sheet1") -> str:
    """A name Excel accepts for a sheet: without []:*?/\\ and controls, no apostrophe at either end, at most
    31 characters; ``default`` when nothing is left."""
    title = _NOT_IN_TITLE.sub("", str(text or "")).strip().strip("'")[:31].strip()
    return title or default


def _width(text: str) -> float:
    """A column width (in Excel's character units) that fits ``text``: wide (CJK) characters count double."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return min(max(shown + 2, 8), 60)


def _cell(sheet, value):
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return cell_text(value) or None


def xlsx_bytes(header: Sequence, rows: Iterable[Sequence], *, title: str, widths: Sequence[float] | None = None,
               autofilter: bool = False, about: Sequence[tuple[str, object]] = (),
               about_title: str | None = None) -> bytes:
    """The table as an XLSX file with one sheet named ``title`` (see ``sheet_title``): ``header`` in the
    first row, frozen; then ``rows``.  ``widths`` are the columns' widths in characters (by default fitted
    to the header's text); ``autofilter`` puts Excel's filter buttons on the header over every row.

    ``about``: (item, value) lines — what the table is and how it was made (a report's title, range and filters,
    when it was written) — on a second sheet ``about_title``, so the first sheet stays the table alone (a header
    row and rows, ready for a filter, a pivot table or an import).  The sheet is named 说明 (its translation) unless
    ``about_title`` says otherwise."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(title))
    header = [str(name) for name in header]
    for number, width in enumerate(widths or [_width(name) for name in header], start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, name) for name in header])
    count = 1
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
    if autofilter and header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count}"
    if about:
        notes = workbook.create_sheet(sheet_title(about_title or gettext("说明"), default="About"))
        notes.column_dimensions["A"].width = max(_width(str(item)) for item, _value in about)
        notes.column_dimensions["B"].width = 60
        for item, value in about:
            notes.append([_cell(notes, str(item)), _cell(notes, value)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_response(header: Sequence, rows: Iterable[Sequence], *, filename: str, title: str,
                  widths: Sequence[float] | None = None, autofilter: bool = False,
                  about: Sequence[tuple[str, object]] = (), about_title: str | None = None) -> HttpResponse:
    """``xlsx_bytes`` as a download named ``filename`` (non-ASCII names as RFC 6266 ``filename*``)."""
    response = HttpResponse(xlsx_bytes(header, rows, title=title, widths=widths, autofilter=autofilter, about=about,
                                       about_title=about_title),
                            content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
