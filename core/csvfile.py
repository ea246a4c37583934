"""One way to write a table as CSV for Excel: UTF-8 with a byte-order mark (so Excel reads Chinese), every text
cell neutralised by ``core.text.neutralize_cell`` (``=1+1`` → ``'=1+1``, the rule ``core.xlsx`` applies too), aware
datetimes in library time to the minute, dates as YYYY-MM-DD, numbers as written, None as an empty cell."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import content_disposition_header

from core.text import neutralize_cell

BOM = "\ufeff"


def cell_text(value) -> str:
    """``value`` as the text of a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(settings.TIME_ZONE))
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return neutralize_cell(str(value))


def csv_text(header: Sequence | None, rows: Iterable[Sequence]) -> str:
    """The table as CSV text starting with the BOM (``header`` None: rows only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header is not None:
        writer.writerow([cell_text(str(name)) for name in header])
    for row in rows:
        writer.writerow([cell_text(value) for value in row])
    return BOM + out.getvalue()


def csv_response(header: Sequence | None, rows: Iterable[Sequence], *, filename: str) -> HttpResponse:
    """``csv_text`` as a download named ``filename`` (non-ASCII names as RFC 6266 ``filename*``)."""
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
