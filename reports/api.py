"""The reports as JSON (``/api/v1/reports/…``): the same tables as the pages, under the same rules — librarians
and the court's leadership read the library-wide reports; records that name readers are for librarians only."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from ninja import Query, Router
from ninja.decorators import decorate_view
from ninja.errors import HttpError, Throttled

from accounts.auth import LOGGED_IN
from core.errors import ERRORS
from reports.base import Report, may_see_readers, min_group
from reports.filters import FilterForm, ReportFilter
from reports.registry import report_get, reports_for
from reports.schemas import RecordsOut, RecordsQuery, ReportOut, ReportQuery, ReportSummaryOut
from reports.throttle import ReportBusy, report_slot

router = Router(tags=["reports"])


def _report(request: HttpRequest, slug: str) -> Report:
    report = report_get(slug)
    if report is None:
        raise HttpError(404, _("报表 %(slug)s 不存在") % {"slug": slug})
    if not report.allowed(request.auth):
        raise HttpError(403, _("无权查看该报表"))
    return report


def _filter(request: HttpRequest, query: ReportQuery) -> ReportFilter:
    """The filter checked by the page's form: a bad value is 422 naming the field."""
    form = FilterForm(query.form_data(), min_group=min_group(request.auth))
    if not form.is_valid():
        raise ValidationError({field: errors for field, errors in form.errors.as_data().items()})
    return form.report_filter()


def _cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def _columns(columns) -> list[dict]:
    return [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in columns]


@router.get("/reports", response={200: list[ReportSummaryOut], **ERRORS}, auth=LOGGED_IN,
            summary="报表目录（馆员、院领导；活动组织者为活动报表）")
def list_reports(request: HttpRequest):
    """The reports the caller may read (organizers: the events reports); 403 when none."""
    reports = reports_for(request.auth)
    if not reports:
        raise HttpError(403, _("无权查看报表"))
    return [{"slug": r.slug, "title": str(r.title), "definition": str(r.definition), "uses": list(r.uses)}
            for r in reports]


@router.get("/reports/{slug}", response={200: ReportOut, **ERRORS}, auth=LOGGED_IN,
            summary="一张报表的数字（与报表页、导出文件相同）")
def get_report(request: HttpRequest, slug: str, query: Query[ReportQuery]):
    report = _report(request, slug)
    f = _filter(request, query)
    tables = []
    try:
        with report_slot(request.auth):
            computed = report.tables(f)
            links = [report.links_for(request.auth, f, table) for table in computed]
    except ReportBusy as exc:
        raise Throttled(wait=exc.wait) from None
    for table, table_links in zip(computed, links, strict=True):
        tables.append({
            "key": table.key, "title": str(table.title), "columns": _columns(table.columns),
            "rows": [[_cell(v) for v in row] for row in table.rows],
            "links": table_links,
            "chart": table.chart.spec() if table.chart is not None else None,
            "totals": table.totals,
        })
    return {"slug": report.slug, "title": str(report.title), "definition": str(report.definition),
            "uses": list(report.uses),
            "filter": {"from_": f.start, "to": f.end, "location": f.location.code if f.location else None,
                       "division": f.division, "by": f.by, "clc": f.clc, "top": f.top},
            "tables": tables}


@router.get("/reports/{slug}/records", response={200: RecordsOut, **ERRORS}, auth=LOGGED_IN,
            summary="一个数字背后的记录（分页；含读者的记录仅馆员可见）")
@decorate_view(never_cache)  # records name readers: never in a shared cache
def get_records(request: HttpRequest, slug: str, query: Query[RecordsQuery]):
    report = _report(request, slug)
    f = _filter(request, query)
    records = report.records(f, query.figure_params())
    if records.personal and not may_see_readers(request.auth):
        raise HttpError(403, _("读者个人的借阅明细仅馆员可见"))
    try:
        with report_slot(request.auth):
            page = records.queryset[query.offset: query.offset + query.limit]
            return {"title": str(records.title), "columns": _columns(records.columns),
                    "count": records.queryset.count(), "offset": query.offset, "limit": query.limit,
                    "rows": [[_cell(v) for v in records.row(obj)] for obj in page]}
    except ReportBusy as exc:
        raise Throttled(wait=exc.wait) from None
