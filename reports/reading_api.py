"""A person's year in reading as JSON (``/api/v1/reports/me/year``, and ``/api/v1/reports/readers/{id}/year`` for
librarians): the same tables as /me/reading.  Per-person figures go to that person and to librarians only."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError

from accounts.auth import LOGGED_IN
from core.errors import ERRORS
from library.policy import library_today
from reports.reader_reports import may_read_reading_year, reading_year

router = Router(tags=["reports"])
User = get_user_model()


class YearQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="年份，默认今年")


class YearColumnOut(Schema):
    key: str
    label: str
    kind: str


class YearTableOut(Schema):
    key: str
    title: str
    columns: list[YearColumnOut]
    rows: list[list[int | float | str | None]]
    totals: int = Field(description="末尾几行是合计行（全年）")


class ReadingYearOut(Schema):
    user: int
    year: int
    tables: list[YearTableOut] = Field(description="months（每月借阅、活动、调研成果，末行为全年）、books、events")


def _cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return value


def _year(request: HttpRequest, person, query: YearQuery) -> dict:
    today = library_today()
    year = query.year or today.year
    if year > today.year:
        raise HttpError(422, _("year 不能晚于今年"))
    tables = [{"key": t.key, "title": str(t.title),
               "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in t.columns],
               "rows": [[_cell(v) for v in row] for row in t.rows], "totals": t.totals} for t in reading_year(person, year, today)]
    return {"user": person.pk, "year": year, "tables": tables}


@router.get("/reports/me/year", response={200: ReadingYearOut, **ERRORS}, auth=LOGGED_IN,
            summary="我的年度阅读（本人）")
@decorate_view(never_cache)  # a person's own reading, as /me/reading
def my_reading_year(request: HttpRequest, query: Query[YearQuery]):
    return _year(request, request.auth, query)


@router.get("/reports/readers/{user_id}/year", response={200: ReadingYearOut, **ERRORS}, auth=LOGGED_IN,
            summary="一位读者的年度阅读（本人或馆员）")
@decorate_view(never_cache)  # a person's own reading, as /me/reading
def reader_reading_year(request: HttpRequest, user_id: int, query: Query[YearQuery]):
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise HttpError(404, _("读者不存在"))
    if not may_read_reading_year(request.auth, person):
        raise HttpError(403, _("读者个人的阅读情况仅本人和馆员可见"))
    return _year(request, person, query)
