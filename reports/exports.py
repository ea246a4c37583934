"""A report's table as a file: XLSX through ``core.xlsx`` and CSV (UTF-8 with a BOM for Excel) through
``core.csvfile``; both neutralise cells that a spreadsheet would run as formulas.  The header is the columns'
labels; the rows are the table's own values, so the file holds the page's figures.

Each file says what it counts (walk 20: an exported table did not say its range or filter):

* XLSX: the first sheet is the table alone (a header row and rows, as Koha's and Excel's users filter, pivot and
  import it); a second sheet **说明** lists the report and table, the range (or the day) the figures cover, each
  filter the report reads (馆藏地, 部门, 分组, 分类, 条数), for records the figure they are behind, the definition and
  the time the file was written (``about``).
* CSV: stays a plain table, no comment or title lines above the header (they break Excel's and every program's
  reading of the header row); its file name carries the report, the table (or figure), the range and the location
  and division filters (``report-table-YYYYMMDD-YYYYMMDD[-location][-division].csv``).
"""

import re

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import csvfile, xlsx
from reports.base import Records, Report, Table
from reports.filters import BY_CHOICES, ReportFilter

#: What a file name part may not hold (path separators, characters Windows refuses, spaces).
_NOT_IN_NAME = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def _part(text: str) -> str:
    return _NOT_IN_NAME.sub("_", text).strip("._")[:40]


def name_of(report: Report, what: str, f: ReportFilter, ext: str) -> str:
    """``report-what-YYYYMMDD-YYYYMMDD[-location][-division].ext``: the range, and the location and division when
    the report reads them and they are set."""
    parts = [report.slug, what, f"{f.start:%Y%m%d}", f"{f.end:%Y%m%d}"]
    if "location" in report.uses and f.location is not None:
        parts.append(_part(f.location.code))
    if "division" in report.uses and f.division is not None:
        parts.append(_part(f.division))
    return "-".join(part for part in parts if part) + f".{ext}"


def filename(report: Report, table: Table, f: ReportFilter, ext: str) -> str:
    return name_of(report, table.key, f, ext)


def about(report: Report, title, f: ReportFilter, extra: list[tuple[str, object]] = ()) -> list[tuple[str, object]]:
    """The 说明 sheet's lines: what the file holds, the period and the filters the report reads, when written."""
    lines: list[tuple[str, object]] = [(_("报表"), str(report.title)), (_("表格"), str(title)),
                                       (_("统计时间"), report.period(f))]
    if "location" in report.uses:
        lines.append((_("馆藏地"), f.location.name if f.location is not None else _("全部")))
    if "division" in report.uses:
        lines.append((_("部门"), f.division if f.division is not None else _("全部")))
    if "by" in report.uses:
        lines.append((_("分组"), str(dict(BY_CHOICES)[f.by])))
    if "clc" in report.uses:
        lines.append((_("分类号"), f.clc or _("全部")))
    if "top" in report.uses:
        lines.append((_("排行条数"), f.top))
    lines += list(extra)
    lines += [(_("定义"), str(report.definition)), (_("生成时间"), timezone.now())]
    return lines


def table_response(report: Report, table: Table, f: ReportFilter, fmt: str) -> HttpResponse:
    header = [str(column.label) for column in table.columns]
    if fmt == "xlsx":
        return xlsx.xlsx_response(header, table.rows, filename=filename(report, table, f, "xlsx"),
                                  title=f"{report.title} {table.title}", about=about(report, table.title, f))
    return csvfile.csv_response(header, table.rows, filename=filename(report, table, f, "csv"))


def records_response(report: Report, records: Records, f: ReportFilter, params: dict[str, str],
                     fmt: str) -> HttpResponse:
    """The records behind a figure, every one, as a file named after the report, the figure and the range."""
    header = [str(column.label) for column in records.columns]
    rows = (records.row(obj) for obj in records.queryset.iterator(chunk_size=2000))
    figure = re.sub(r"[^a-z0-9_-]", "", params.get("figure", "")) or "records"
    name = name_of(report, figure, f, fmt)
    if fmt == "xlsx":
        figure_line = (_("明细"), "; ".join(f"{key}={value}" for key, value in params.items()))
        return xlsx.xlsx_response(header, rows, filename=name, title=str(records.title), autofilter=True,
                                  about=about(report, records.title, f, [figure_line]))
    return csvfile.csv_response(header, rows, filename=name)
