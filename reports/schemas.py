"""The reports API's schemas: the filter as query parameters, a report's tables, the records behind a figure."""

from datetime import date
from typing import Literal

from ninja import Field, Schema

from core.schema_types import SingleLine
from reports.filters import MAX_TOP

Kind = Literal["text", "int", "number", "percent", "month", "date", "datetime"]
Cell = int | float | str | None


class ReportQuery(Schema):
    """The filter (docs/reports.md): every report accepts all of it and reads what it uses."""

    from_: date | None = Field(None, alias="from", description="开始日期（含），默认十一个月前的月初")
    to: date | None = Field(None, description="结束日期（含），默认今天")
    location: SingleLine(32, 1) | None = Field(None, description="馆藏地代码（GET /api/v1/locations）")
    division: SingleLine(64, 1) | None = Field(None, description="部门（读者资料中的部门）")
    by: Literal["location", "division", "role"] | None = Field(None, description="分组：馆藏地、部门或读者角色")
    clc: SingleLine(32, 1) | None = Field(None, description="中图法分类号前缀，例如 D9")
    top: int | None = Field(None, ge=1, le=MAX_TOP, description="排行条数（默认 20）")

    def form_data(self) -> dict[str, str]:
        """The filter as the page's form reads it (one set of rules for pages and API)."""
        data = {"from": self.from_, "to": self.to, "location": self.location, "division": self.division,
                "by": self.by, "clc": self.clc, "top": self.top}
        return {k: str(v) for k, v in data.items() if v is not None}


class RecordsQuery(ReportQuery):
    """The filter, the figure (the ``links`` entry of a table's cell) and a page of the records."""

    figure: SingleLine(32, 1) = Field(description="见报表表格中各数字的 links")
    month: SingleLine(7, 1) | None = Field(None, description="YYYY-MM")
    year: Literal["last"] | None = None
    group: SingleLine(64) | None = None
    book: SingleLine(19, 1) | None = None
    paper: SingleLine(19, 1) | None = Field(None, description="调研成果编号")
    class_: SingleLine(32) | None = Field(None, alias="class", description="中图法类目：大类字母，选了分类号时其下一级类目（D923）")
    bucket: Literal["1-7", "8-30", "31+"] | None = None
    stage: Literal["ready", "collected", "total"] | None = None
    # The events reports' figures (reports.event_reports).
    event: SingleLine(19, 1) | None = Field(None, description="活动编号")
    occurrence: SingleLine(40, 1) | None = Field(None, description="场次的原定开始（ISO 8601，带时区）")
    kind: SingleLine(32, 1) | None = Field(None, description="活动类型；调研成果下载排行中为调研成果类型")
    status: Literal["cancelled", "waitlisted"] | None = None
    outcome: Literal["promoted", "waiting", "dropped"] | None = None
    when: Literal["before", "after"] | None = None
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=500)

    def figure_params(self) -> dict[str, str]:
        data = {"figure": self.figure, "month": self.month, "year": self.year, "group": self.group,
                "book": self.book, "paper": self.paper, "class": self.class_, "bucket": self.bucket, "stage": self.stage, "by": self.by,
                "event": self.event, "occurrence": self.occurrence, "kind": self.kind, "status": self.status,
                "outcome": self.outcome, "when": self.when}
        return {k: v for k, v in data.items() if v is not None}


class ColumnOut(Schema):
    key: str
    label: str
    kind: Kind


class SeriesOut(Schema):
    column: str
    type: Literal["bar", "line"]


class ChartOut(Schema):
    x: str = Field(description="类目所在的列")
    series: list[SeriesOut]
    group: str = Field(description="非空时：按此列的值把长表转为多个系列")
    value: str
    stack: bool
    horizontal: bool
    detail: str = Field(description="非空时：类目相同的行在图上加注此列的值（同名图书加注作者）")


class TableOut(Schema):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[list[Cell]] = Field(description="每行的值，与 columns 一一对应")
    links: list[dict[str, dict[str, str]]] = Field(
        description="每行：列 → 该数字背后明细的参数（GET /api/v1/reports/{slug}/records）；读者个人的明细仅馆员可见")
    chart: ChartOut | None
    totals: int = Field(description="末尾几行是合计行（全院、全年）：表格页脚显示，图表不画")


class FilterOut(Schema):
    from_: date = Field(serialization_alias="from")
    to: date
    location: str | None = Field(description="馆藏地代码")
    division: str | None
    by: str
    clc: str
    top: int


class ReportOut(Schema):
    slug: str
    title: str
    definition: str
    uses: list[str] = Field(description="报表读取的筛选项")
    filter: FilterOut
    tables: list[TableOut]


class ReportSummaryOut(Schema):
    slug: str
    title: str
    definition: str
    uses: list[str]


class RecordsOut(Schema):
    title: str
    columns: list[ColumnOut]
    count: int
    offset: int
    limit: int
    rows: list[list[Cell]]
