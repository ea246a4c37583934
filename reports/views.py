"""The report pages (/reports/…): the index, a report with its filter, charts and tables, each table as XLSX or
CSV, and the records behind a figure.

Librarians and the court's leadership (``manager``) read the library-wide reports; the records behind a figure
that name readers are for librarians only (the leadership sees divisions, never a person's reading), so their
links are not shown to others and the page answers 403.  A bad filter is a form error on the page (400).
"""

import json
from dataclasses import replace
from datetime import date, datetime
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.errors import InvalidInput
from library.policy import library_today
from reports import exports
from reports.base import (
    SECTIONS,
    Records,
    Report,
    Table,
    may_see_readers,
    merged_divisions,
    min_group,
)
from reports.filters import FilterForm, ReportFilter
from reports.reader_reports import MY_YEAR, reading_year, reading_years, year_filter
from reports.registry import report_get, reports_for
from reports.targets import hrefs_for
from reports.throttle import ReportBusy, report_slot

#: Filter parameters.  A records URL names its figure with the others (and ``by``, which both read).
FILTER_KEYS = ("from", "to", "location", "division", "by", "clc", "top")
NOT_FIGURE = ("from", "to", "location", "division", "clc", "top", "page")
RECORDS_PER_PAGE = 50
#: The longest list of records exported as one file.
RECORDS_EXPORT_MAX = 10_000


def busy(request: HttpRequest, exc: ReportBusy) -> HttpResponse:
    """429 with Retry-After: too many reports being computed, or this person asked for too many
    (reports/throttle.py)."""
    if exc.busy:
        message = _("其他报表正在计算，请 %(seconds)s 秒后再试。") % {"seconds": exc.wait}
    else:
        message = _("报表查询过于频繁，请 %(seconds)s 秒后再试。") % {"seconds": exc.wait}
    response = render(request, "reports/busy.html", {"nav": "reports", "message": message}, status=429)
    response["Retry-After"] = str(exc.wait)
    return response


def _report(request: HttpRequest, slug: str) -> Report:
    report = report_get(slug)
    if report is None:
        raise Http404
    if not report.allowed(request.user):
        raise PermissionDenied
    return report


def display(value) -> str:
    """A cell as the page shows it."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if timezone.is_aware(value) else f"{value:%Y-%m-%d %H:%M}"
    return str(value)


#: A table of more columns than this is laid out as one card per row on a phone (reports.css, ``stack``); so is
#: one of more than ``STACK_COLUMNS - 1`` when one of them is a time (which never wraps: 2026-03-05 14:00).
STACK_COLUMNS = 4


def stacked(table: Table) -> bool:
    """Whether the table is too wide for a phone's 390 pixels as a table (tests/web/test_browser_reports.py
    measures every report's tables there)."""
    timed = any(column.kind in ("date", "datetime") for column in table.columns)
    return len(table.columns) > STACK_COLUMNS - (1 if timed else 0)


def table_view(report: Report, table: Table, f: ReportFilter, links: list[dict],
               hrefs: list[dict[str, str]] | None = None) -> dict:
    """What the template needs of a table: cells with their shown text, their number (``data-v`` for the
    chart), their column's label (``data-label``: the card layout on a phone) and their link: to the records
    behind a figure, or to the page a title or session names (``hrefs``, from ``reports.targets.hrefs_for``)."""
    records = reverse("report-records", args=[report.slug])
    query = f.query()
    # The cell that names the row (a title, a division; else the first: a month) heads its card on a phone.
    head = next((i for i, column in enumerate(table.columns) if column.kind == "text"), 0)
    rows = []
    for i, row in enumerate(table.rows):
        cells = []
        for column, value in zip(table.columns, row, strict=True):
            link = links[i].get(column.key) if i < len(links) else None
            if value == 0 or value is None:
                link = None  # nothing behind it: a link would open an empty list
            href = f"{records}?{urlencode({**query, **link})}" if link is not None else None
            if href is None and hrefs is not None and i < len(hrefs):
                href = hrefs[i].get(column.key)
            cells.append({
                "text": display(value),
                "number": value if isinstance(value, int | float) and not isinstance(value, bool) else None,
                "href": href,
                "kind": column.kind + (" head" if len(cells) == head else ""),
                "label": column.label,
            })
        rows.append(cells)
    exports_query = urlencode(query)
    return {
        "key": table.key, "title": table.title, "note": table.note, "columns": table.columns, "rows": rows,
        "stack": stacked(table),
        "body": rows[:len(rows) - table.totals], "foot": rows[len(rows) - table.totals:],
        "chart": json.dumps(table.chart.spec(), ensure_ascii=False) if table.chart is not None else "",
        "xlsx": f"{reverse('report-xlsx', args=[report.slug, table.key])}?{exports_query}",
        "csv": f"{reverse('report-csv', args=[report.slug, table.key])}?{exports_query}",
    }


@require_safe
@login_required
def report_index(request: HttpRequest) -> HttpResponse:
    """The reports the user may read: every report for librarians and the leadership, the events reports for
    organizers; 403 for others."""
    reports = reports_for(request.user)
    if not reports:
        raise PermissionDenied
    sections = [(label, [r for r in reports if r.section == key]) for key, label in SECTIONS]
    return render(request, "reports/index.html", {"nav": "reports", "reports": reports,
                                                  "sections": [(label, found) for label, found in sections if found]})


def _unlinked(user, report: Report, tables: list[Table], f: ReportFilter) -> list[dict]:
    """Tables without links to records (the annual summary's and a person's own year); their titles and sessions
    still link to their pages."""
    return [table_view(report, table, f, [{} for _row in table.rows], hrefs)
            for table, hrefs in zip(tables, hrefs_for(user, tables), strict=True)]


class YearForm(forms.Form):
    """``year``: a calendar year from 2000 to this one (default: this one)."""

    year = forms.IntegerField(label=_("年份"), min_value=2000, required=False)

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["year"].validators.append(MaxValueValidator(today.year))

    def clean_year(self) -> int:
        return self.cleaned_data.get("year") or self.today.year


@require_safe
@login_required
def annual_summary(request: HttpRequest) -> HttpResponse:
    """年度阅读报告 (``/reports/annual``, the one page of the ``annual`` report; ``/reports/annual/`` redirects here):
    the annual report's tables for one calendar year (``year``, default this one), laid out to print on A4 — or,
    given ``from``/``to`` and no ``year``, for that range, as the API's ``GET /api/v1/reports/annual`` counts."""
    report = _report(request, "annual")
    today = library_today()
    form = YearForm(request.GET, today=today)
    context = {"nav": "reports", "report": report, "form": form, "years": range(today.year, today.year - 10, -1)}
    year = None
    if "year" not in request.GET and ("from" in request.GET or "to" in request.GET):
        ranged = _filter_form(request)
        if not ranged.is_valid():
            # Every field's error, those the annual report does not read too (``top``, ``division``): refused
            # all the same (as the API refuses them), so the page says why.
            errors = [(name, error) for name, found in ranged.errors.items() for error in found]
            return render(request, "reports/annual.html", {**context, "errors": errors}, status=400)
        f = ranged.report_filter()
    else:
        if not form.is_valid():
            return render(request, "reports/annual.html", context, status=400)
        year = form.cleaned_data["year"]
        f = replace(year_filter(year, today), merged=merged_divisions(request.user))
    try:
        with report_slot(request.user):
            tables = _unlinked(request.user, report, report.tables(f), f)
    except ReportBusy as exc:
        return busy(request, exc)
    return render(request, "reports/annual.html", {**context, "year": year, "filter": f, "tables": tables})


@never_cache  # a person's own reading: never in a shared cache
@require_safe
@login_required
def my_year(request: HttpRequest) -> HttpResponse:
    """我的年度阅读: the signed-in person's own year (books, papers, events by month), with a year selector."""
    today = library_today()
    form = YearForm(request.GET, today=today)
    years = reading_years(request.user, today)
    context = {"nav": "me", "form": form, "years": years}
    if not form.is_valid():
        return render(request, "reports/my_year.html", context, status=400)
    year = form.cleaned_data["year"]
    tables = _unlinked(request.user, MY_YEAR, reading_year(request.user, year, today), year_filter(year, today))
    return render(request, "reports/my_year.html", {**context, "year": year, "tables": tables,
                                                    "months": tables[0]})


def _filter_form(request: HttpRequest) -> FilterForm:
    return FilterForm({k: v for k, v in request.GET.items() if k in FILTER_KEYS}, min_group=min_group(request.user))


def _fields(report: Report, form: FilterForm) -> dict:
    """The filter fields the report shows, and the errors of those it does not (still named)."""
    return {"fields": [form[name] for name in report.uses],
            "other_errors": [(name, error) for name, errors in form.errors.items() if name not in report.uses
                             for error in errors]}


@require_safe
@login_required
def report_page(request: HttpRequest, slug: str) -> HttpResponse:
    report = _report(request, slug)
    form = _filter_form(request)
    context = {"nav": "reports", "report": report, "form": form, "reports": reports_for(request.user),
               **_fields(report, form)}
    if not form.is_valid():
        return render(request, "reports/report.html", context, status=400)
    f = form.report_filter()
    # The date fields show the range the figures cover, the default one included (empty fields read as it).
    form.data = {**form.data, "from": f.start.isoformat(), "to": f.end.isoformat()}
    try:
        with report_slot(request.user):
            computed = report.tables(f)
            tables = [table_view(report, table, f, report.links_for(request.user, f, table), hrefs)
                      for table, hrefs in zip(computed, hrefs_for(request.user, computed), strict=True)]
    except ReportBusy as exc:
        return busy(request, exc)
    return render(request, "reports/report.html", {**context, "filter": f, "tables": tables,
                                                   "period": report.period(f)})


@require_safe
@login_required
def report_export(request: HttpRequest, slug: str, table: str, fmt: str) -> HttpResponse:
    report = _report(request, slug)
    form = _filter_form(request)
    if not form.is_valid():
        return render(request, "reports/report.html", {"nav": "reports", "report": report, "form": form,
                                                       **_fields(report, form)}, status=400)
    f = form.report_filter()
    try:
        with report_slot(request.user):
            found = next((t for t in report.tables(f) if t.key == table), None)
    except ReportBusy as exc:
        return busy(request, exc)
    if found is None:
        raise Http404
    return exports.table_response(report, found, f, fmt)


def _records(request: HttpRequest, report: Report) -> tuple[FilterForm, ReportFilter | None, dict, Records | None,
                                                             InvalidInput | None]:
    """The records a records URL names: its filter, the figure's parameters, and the records (None with the form's
    or the parameters' error).  PermissionDenied when they name readers and the user may not see readers."""
    form = _filter_form(request)
    params = {k: v for k, v in request.GET.items() if k not in NOT_FIGURE}
    if not form.is_valid():
        return form, None, params, None, None
    f = form.report_filter()
    try:
        records = report.records(f, params)
    except InvalidInput as exc:
        return form, f, params, None, exc
    if records.personal and not may_see_readers(request.user):
        raise PermissionDenied
    return form, f, params, records, None


@never_cache  # records name readers: never in a shared cache
@require_safe
@login_required
def report_records(request: HttpRequest, slug: str) -> HttpResponse:
    """The records behind one figure, 50 a page, with the whole list as XLSX or CSV (up to
    ``RECORDS_EXPORT_MAX`` rows)."""
    report = _report(request, slug)
    form, f, params, records, error = _records(request, report)
    context = {"nav": "reports", "report": report, "form": form, "error": error}
    if records is None:
        return render(request, "reports/records.html", context, status=400)
    try:
        with report_slot(request.user):
            page = Paginator(records.queryset, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
            rows = [[display(value) for value in records.row(obj)] for obj in page.object_list]
    except ReportBusy as exc:
        return busy(request, exc)
    base = urlencode({**f.query(), **params})
    return render(request, "reports/records.html", {
        **context, "records": records, "rows": rows, "page": page, "base": base,
        "back": f"{reverse('report', args=[report.slug])}?{urlencode(f.query())}",
        "title": _("%(report)s · 明细") % {"report": report.title},
        "exports": page.paginator.count <= RECORDS_EXPORT_MAX, "export_max": RECORDS_EXPORT_MAX,
        "xlsx": f"{reverse('report-records-xlsx', args=[report.slug])}?{base}",
        "csv": f"{reverse('report-records-csv', args=[report.slug])}?{base}",
    })


@never_cache
@require_safe
@login_required
def report_records_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The records behind one figure as one file (the weeding list, the overdue loans to chase): at most
    ``RECORDS_EXPORT_MAX`` rows, so one request cannot write a file of the whole collection; a longer list is
    refused (400) with the advice to narrow it."""
    report = _report(request, slug)
    form, f, params, records, error = _records(request, report)
    if records is None:
        return render(request, "reports/records.html", {"nav": "reports", "report": report, "form": form,
                                                        "error": error}, status=400)
    try:
        with report_slot(request.user):  # the file is written inside: as costly as a report
            if records.queryset.count() > RECORDS_EXPORT_MAX:
                error = InvalidInput("figure", _("超过 %(n)s 条，请缩小范围（日期、馆藏地、分类）后再导出") % {
                    "n": RECORDS_EXPORT_MAX})
                return render(request, "reports/records.html", {"nav": "reports", "report": report, "form": form,
                                                                "error": error}, status=400)
            return exports.records_response(report, records, f, params, fmt)
    except ReportBusy as exc:
        return busy(request, exc)
