"""A report's table as a file: XLSX through ``core.xlsx`` and CSV (UTF-8 with a BOM for Excel) through
``core.csvfile``; both neutralise cells that a spreadsheet would run as formulas.  The header is the columns'
labels; the rows are the table's own values, so the file holds the page's figures."""

import re

from django.http import HttpResponse

from core import csvfile, xlsx
from reports.base import Records, Report, Table
from reports.filters import ReportFilter


def filename(report: Report, table: Table, f: ReportFilter, ext: str) -> str:
    return f"{report.slug}-{table.key}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.{ext}"


def table_response(report: Report, table: Table, f: ReportFilter, fmt: str) -> HttpResponse:
    header = [str(column.label) for column in table.columns]
    if fmt == "xlsx":
        return xlsx.xlsx_response(header, table.rows, filename=filename(report, table, f, "xlsx"),
                                  title=f"{report.title} {table.title}")
    return csvfile.csv_response(header, table.rows, filename=filename(report, table, f, "csv"))


def records_response(report: Report, records: Records, f: ReportFilter, params: dict[str, str],
                     fmt: str) -> HttpResponse:
    """The records behind a figure, every one, as a file named after the report, the figure and the range."""
    header = [str(column.label) for column in records.columns]
    rows = (records.row(obj) for obj in records.queryset.iterator(chunk_size=2000))
    figure = re.sub(r"[^a-z0-9_-]", "", params.get("figure", "")) or "records"
    name = f"{report.slug}-{figure}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.{fmt}"
    if fmt == "xlsx":
        return xlsx.xlsx_response(header, rows, filename=name, title=str(records.title), autofilter=True)
    return csvfile.csv_response(header, rows, filename=name)
