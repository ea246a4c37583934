"""The library's reports: circulation by month, rankings (books borrowed, papers downloaded, books requested),
never-borrowed copies, overdue aging, hold wait times and the pull list's lead time.  docs/reports.md defines
every figure; the short form is each class's ``definition``.

Every figure is counted by the database (``values().annotate(Count)``, months in library time with
``reports.stats.month_of``, window functions for percentiles); Python only lays the few aggregated rows out as
tables.  Where a figure belongs:

* a loan, its return and its renewals to the copy's location (``Copy.location``, where it is kept) and to the
  reader's division (``Profile.division``) and role as they are now;
* a hold to its pickup location;
* a month to the library's time zone (``TIME_ZONE``): a loan at 23:30 on 31 March in Beijing is March's.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    CharField,
    Count,
    DateField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from accounts.models import Role
from core.errors import InvalidInput
from core.text import as_id
from library.classification import class_name, class_path
from library.models import CirculationEvent, Copy, Hold, Loan, Paper, PaperDownload
from library.related import book_first_authors
from reports.base import Chart, Column, Records, Report, Series, Table, param, reader_name
from reports.filters import (
    MIN_DATE,
    OTHER_DIVISIONS,
    ReportFilter,
    add_months,
    day_start,
    division_key,
    division_label,
    in_division,
    library_tz,
    person_division,
    role_value,
)
from reports.stats import Seconds, month_of, percentiles

User = get_user_model()

DAY = 86400.0
HOUR = 3600.0


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def parse_month(text: str) -> date:
    """``YYYY-MM`` of a drill-down link, from ``MIN_DATE``'s month on and with a month after it (9999-12 has none);
    InvalidInput naming ``month`` otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
        add_months(first, 1)
    except ValueError:
        raise InvalidInput("month", _("月份格式应为 YYYY-MM")) from None
    if first < MIN_DATE:
        raise InvalidInput("month", _("月份不能早于 %(month)s") % {"month": month_key(MIN_DATE)})
    return first


def role_label(code: str) -> str:
    if code == OTHER_DIVISIONS:
        return _("其他角色")
    return str(Role(code).label) if code in Role.values else _("（无角色）")


def class_label(code: str) -> str:
    if not code:
        return _("（未分类）")
    name = class_name(code)
    return f"{code} {name}" if name else code


def first_authors(book_ids) -> dict[int, str]:
    """The first contributor of each book ("王利明", "张文显 等" when there are more), so that rankings tell apart
    books of one title (法理学 by different authors): one query (``library.related.book_first_authors``, which names
    related works the same way)."""
    return book_first_authors(book_ids)


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _rounded(value: float | None, unit: float) -> float | None:
    return None if value is None else round(value / unit, 2)


# --- what is counted: the measures of circulation ------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One kind of circulation record counted per month: which rows, which instant puts a row in a month, and
    where its location, reader and division are."""

    key: str
    label: Any
    model: type
    when: str  # the instant that puts a row in a month
    location: str  # the path to the location's name
    patron: str  # the path to the reader
    condition: Q = Q()

    def rows(self) -> QuerySet:
        return self.model.objects.filter(self.condition)

    def group(self, by: str, f: ReportFilter):
        if by == "location":
            return Coalesce(F(self.location), Value(""), output_field=CharField())
        if by == "division":
            return person_division(self.patron, f)
        return role_value(self.patron, f.merged_roles)

    def filtered(self, f: ReportFilter, since=None, until=None) -> QuerySet:
        """The rows in ``f``'s range (or ``since``–``until``), location and division."""
        rows = self.rows().filter(**{f"{self.when}__gte": since or f.since, f"{self.when}__lt": until or f.until})
        if f.location is not None:
            rows = rows.filter(**{self.location: f.location.name})
        return in_division(rows, self.patron, f)

    def counts(self, f: ReportFilter, by: str | None = None) -> dict[tuple[str, str], int]:
        """``{(YYYY-MM, group): count}`` (group "" without ``by``): one grouped query."""
        rows = self.filtered(f).annotate(_month=month_of(self.when, f))
        keys = ["_month"]
        if by is not None:
            rows = rows.annotate(_group=self.group(by, f))
            keys.append("_group")
        found = rows.values(*keys).annotate(n=Count("pk")).order_by()
        return {(month_key(entry["_month"]), entry.get("_group", "")): entry["n"] for entry in found}


MEASURES = (
    Measure("loans", pgettext_lazy("report figure", "借出"), Loan, "borrowed_at", "copy__location", "patron"),
    Measure("returns", pgettext_lazy("report figure", "归还"), Loan, "returned_at", "copy__location", "patron",
            Q(returned_at__isnull=False)),
    Measure("renewals", pgettext_lazy("report figure", "续借"), CirculationEvent, "at", "copy__location", "patron",
            Q(action=CirculationEvent.Action.RENEW)),
    Measure("holds_placed", pgettext_lazy("report figure", "预约"), Hold, "created_at", "pickup_location__name", "patron"),
    Measure("holds_filled", pgettext_lazy("report figure", "预约借出"), Hold, "closed_at", "pickup_location__name", "patron",
            Q(status=Hold.Status.FULFILLED)),
)
MEASURE = {m.key: m for m in MEASURES}


def group_label(by: str, value: str) -> str:
    if by == "role":
        return role_label(value)
    if by == "division":
        return division_label(value)
    return value or _("（未知）")


def group_key(by: str, value: str):
    """How group rows are ordered: by label, the merged small divisions (or roles) last."""
    if by == "division":
        return division_key(value)
    return by == "role" and value == OTHER_DIVISIONS, group_label(by, value)


def _loan_records(title, rows: QuerySet, *, order: str = "borrowed_at") -> Records:
    columns = [Column("borrowed_at", gettext_lazy("借出时间"), "datetime"),
               Column("returned_at", gettext_lazy("归还时间"), "datetime"),
               Column("barcode", gettext_lazy("条码"), "text"), Column("title", gettext_lazy("题名"), "text"),
               Column("reader", gettext_lazy("读者"), "text"), Column("division", gettext_lazy("部门"), "text"),
               Column("location", gettext_lazy("馆藏地"), "text"),
               Column("due_date", gettext_lazy("应还日期"), "date")]

    def row(loan: Loan) -> list:
        profile = getattr(loan.patron, "profile", None)
        return [loan.borrowed_at, loan.returned_at, loan.copy.barcode, loan.book.title,
                reader_name(loan.patron),
                profile.division if profile else "", loan.copy.location, loan.due_date]

    return Records(title, columns, rows.select_related("copy", "book", "patron__profile").order_by(order, "pk"), row)


def _hold_records(title, rows: QuerySet, *, order: str = "created_at") -> Records:
    columns = [Column("created_at", gettext_lazy("预约时间"), "datetime"),
               Column("ready_at", gettext_lazy("到书时间"), "datetime"),
               Column("closed_at", gettext_lazy("结束时间"), "datetime"),
               Column("status", gettext_lazy("状态"), "text"), Column("title", gettext_lazy("题名"), "text"),
               Column("reader", gettext_lazy("读者"), "text"), Column("division", gettext_lazy("部门"), "text"),
               Column("pickup", gettext_lazy("取书地点"), "text")]

    def row(hold: Hold) -> list:
        profile = getattr(hold.patron, "profile", None)
        return [hold.created_at, hold.ready_at, hold.closed_at, hold.get_status_display(), hold.book.title,
                reader_name(hold.patron),
                profile.division if profile else "", hold.pickup_location.name]

    return Records(title, columns, rows.select_related("book", "patron__profile", "pickup_location")
                   .order_by(order, "pk"), row)


def _event_records(title, rows: QuerySet) -> Records:
    columns = [Column("at", gettext_lazy("时间"), "datetime"), Column("barcode", gettext_lazy("条码"), "text"),
               Column("title", gettext_lazy("题名"), "text"), Column("reader", gettext_lazy("读者"), "text"),
               Column("division", gettext_lazy("部门"), "text")]

    def row(event: CirculationEvent) -> list:
        patron = event.patron
        profile = getattr(patron, "profile", None) if patron else None
        return [event.at, event.copy.barcode if event.copy else "", event.book.title if event.book else "",
                reader_name(patron) if patron else "",
                profile.division if profile else ""]

    return Records(title, columns, rows.select_related("copy", "book", "patron__profile").order_by("at", "pk"), row)


def measure_records(measure: Measure, f: ReportFilter, *, month: date | None, by: str | None, group: str | None,
                    title) -> Records:
    """The rows one circulation figure counted: ``measure`` in ``f`` (within ``month`` when given; of one group
    when ``by``/``group`` are given)."""
    since, until = f.since, f.until
    if month is not None:
        since = max(since, day_start(month))
        until = min(until, day_start(add_months(month, 1)))
    rows = measure.filtered(f, since=since, until=until)
    if by is not None and group is not None:
        rows = rows.annotate(_group=measure.group(by, f)).filter(_group=group)
    if measure.model is Loan:
        return _loan_records(title, rows, order=measure.when)
    if measure.model is Hold:
        return _hold_records(title, rows, order=measure.when)
    return _event_records(title, rows)


# --- 1. circulation by month ----------------------------------------------------------------------------------


class CirculationReport(Report):
    slug = "circulation"
    title = gettext_lazy("流通月报")
    definition = gettext_lazy(
        "每月的借出、归还、续借、预约与预约借出，与去年同月对比。借出按借出时间、归还按归还时间、续借按续借时间、"
        "预约按提出时间、预约借出按读者借走预约书的时间计入月份（北京时间）。借阅计入复本的馆藏地，预约计入取书地点；"
        "部门和读者角色按读者现在的资料。")
    uses = ("from", "to", "location", "division", "by")

    def tables(self, f: ReportFilter) -> list[Table]:
        last = f.last_year()
        current = {m.key: m.counts(f, f.by) for m in MEASURES}
        previous = {m.key: m.counts(last, f.by) for m in MEASURES}
        months = f.months()
        by_month = Table(
            "months", _("每月流通"),
            [Column("month", _("月份"), "month"),
             *(Column(m.key, m.label) for m in MEASURES),
             *(Column(f"{m.key}_ly", _("%(label)s（去年同月）") % {"label": m.label}) for m in MEASURES)],
            chart=Chart(x="month", series=(Series("loans"), Series("returns"), Series("loans_ly", "line"))),
        )

        def total(counts: dict, month: str) -> int:
            return sum(n for (m, _group), n in counts.items() if m == month)

        for month in months:
            key, ly_key = month_key(month), month_key(add_months(month, -12))
            by_month.add(
                [key, *(total(current[m.key], key) for m in MEASURES),
                 *(total(previous[m.key], ly_key) for m in MEASURES)],
                {**{m.key: {"figure": m.key, "month": key} for m in MEASURES},
                 **{f"{m.key}_ly": {"figure": m.key, "month": ly_key, "year": "last"} for m in MEASURES}},
            )
        by_label = dict(BY_LABELS)[f.by]
        groups = Table(
            "groups", str(dict(BY_TITLES)[f.by]),
            [Column("month", _("月份"), "month"), Column("group", by_label, "text"),
             *(Column(m.key, m.label) for m in MEASURES),
             Column("loans_ly", _("借出（去年同月）"))],
            chart=Chart(x="month", group="group", value="loans", stack=True),
        )
        for month in months:
            key, ly_key = month_key(month), month_key(add_months(month, -12))
            present = {g for m in MEASURES for (mk, g) in current[m.key] if mk == key}
            present |= {g for (mk, g) in previous["loans"] if mk == ly_key}
            for group in sorted(present, key=lambda g: group_key(f.by, g)):
                link = {"month": key, "by": f.by, "group": group}
                groups.add(
                    [key, group_label(f.by, group), *(current[m.key].get((key, group), 0) for m in MEASURES),
                     previous["loans"].get((ly_key, group), 0)],
                    {**{m.key: {"figure": m.key, **link} for m in MEASURES},
                     "loans_ly": {"figure": "loans", **link, "month": ly_key, "year": "last"}},
                )
        return [by_month, groups]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        measure = MEASURE[param(params, "figure", MEASURE)]
        if params.get("year") not in (None, "last"):
            raise InvalidInput("year", _("year 只能是 last"))
        scope = f.last_year() if params.get("year") == "last" else f
        month = parse_month(param(params, "month"))
        by, group = _group_param(f, params)
        title = _("%(month)s %(figure)s") % {"month": month_key(month), "figure": measure.label}
        if group is not None:
            title = f"{title} · {group_label(by, group)}"
        return measure_records(measure, scope, month=month, by=by, group=group, title=title)


BY_LABELS = (("location", gettext_lazy("馆藏地")), ("division", gettext_lazy("部门")),
             ("role", gettext_lazy("读者角色")))
#: The titles of the grouped tables (whole phrases: "By location", not "By" + a capitalised column label).
BY_TITLES = (("location", gettext_lazy("按馆藏地")), ("division", gettext_lazy("按部门")),
             ("role", gettext_lazy("按读者角色")))


def _group_param(f: ReportFilter, params: dict[str, str]) -> tuple[str, str | None]:
    """The grouping (``by``, else the filter's) and the group a drill-down asks for (None: every group)."""
    by = params.get("by", f.by)
    if by not in dict(BY_LABELS):
        raise InvalidInput("by", _("分组应为 location、division 或 role"))
    return by, params.get("group")


# --- 2. rankings: most borrowed, most requested ----------------------------------------------------------------


def top_entries(rows: QuerySet, by: str, fields: tuple[str, ...], top: int, **aggregates) -> list[dict]:
    """``rows`` grouped by ``by`` (a foreign key: a book, a paper) with ``aggregates`` per group (``n`` the one
    ranked by): the ``top`` groups with the highest ``n``, ties by ``by``, each with ``fields`` of it
    (``book__title`` …).

    Two queries, as a hand-written ranking does it: the rows are grouped by the key alone, and only the ``top``
    keys are looked up for their fields.  Grouping a million loans by the book's title and call number as well
    joined every loan to its book and sorted the text (bench/report_bench.py: 1.8× the hand-written SQL)."""
    ranked = list(rows.values(by).annotate(**aggregates).order_by("-n", by)[:top])
    if fields and ranked:
        names = {field: field.removeprefix(f"{by}__") for field in fields}
        model = rows.model._meta.get_field(by).related_model
        found = {e["pk"]: e for e in model.objects.filter(pk__in=[e[by] for e in ranked]).values("pk", *names.values())}
        for entry in ranked:
            entry.update({field: found[entry[by]][name] for field, name in names.items()})
    return ranked


def ranking(key: str, title, columns: list[Column], entries, row: Callable[[dict], list], *,
            links: Callable[[dict], dict] | None = None, bars: tuple[str, ...], detail: str = "",
            target: str = "book") -> Table:
    """A ranking table: a 名次 (rank) column, then ``columns`` filled by ``row(entry)`` for each of ``entries`` (in
    rank order, from ``top_entries``), ``links(entry)`` the drill-downs of a row; drawn as horizontal bars of the
    columns ``bars`` by title (two of one title told apart by the column ``detail``: ``Chart.detail``).  The title
    links to the page of the record ranked (``target``: ``book`` or ``paper``, the entry's key)."""
    table = Table(key, title, [Column("rank", _("名次")), *columns],
                  chart=Chart(x="title", series=tuple(Series(bar) for bar in bars), horizontal=True, detail=detail))
    for rank, entry in enumerate(entries, start=1):
        table.add([rank, *row(entry)], links(entry) if links else None, {"title": (target, entry[target])})
    return table


def _clc_filter(rows: QuerySet, f: ReportFilter, path: str = "book__clc") -> QuerySet:
    return rows.filter(**{f"{path}__startswith": f.clc}) if f.clc else rows


def _book_id(params: dict[str, str]) -> int:
    book = as_id(params.get("book"))
    if book is None:
        raise InvalidInput("book", _("book 应为图书编号"))
    return book


class TopBooksReport(Report):
    slug = "top-books"
    title = gettext_lazy("借阅排行")
    definition = gettext_lazy(
        "时间范围内借出次数最多的图书（按借出时间计；续借不算新的借出），以及各中图法大类的借出次数。"
        "读者数为借过该书的不同读者。可按分类号前缀只看一类。")
    uses = ("from", "to", "location", "division", "clc", "top")

    def loans(self, f: ReportFilter) -> QuerySet:
        return _clc_filter(MEASURE["loans"].filtered(f), f)

    def tables(self, f: ReportFilter) -> list[Table]:
        ranked = top_entries(self.loans(f), "book", ("book__title", "book__call_number", "book__clc"), f.top,
                             n=Count("pk"), readers=Count("patron", distinct=True))
        authors = first_authors(e["book"] for e in ranked)
        books = ranking(
            "books", _("借出最多的图书"),
            [Column("title", _("题名"), "text"), Column("author", pgettext("report column", "作者"), "text"),
             Column("call_number", _("索书号"), "text"), Column("clc", _("分类号"), "text"),
             Column("loans", _("借出次数")), Column("readers", _("读者数"))],
            ranked,
            lambda e: [e["book__title"], authors.get(e["book"]), e["book__call_number"], e["book__clc"], e["n"],
                       e["readers"]],
            links=lambda e: {"loans": {"figure": "book", "book": str(e["book"])}}, bars=("loans",), detail="author")
        classes = Table(
            "classes", _("各大类借出"),
            [Column("class", _("中图法大类"), "text"), Column("loans", _("借出次数")),
             Column("titles", _("图书种数")), Column("readers", _("读者数"))],
            chart=Chart(x="class", series=(Series("loans"),)),
        )
        by_class = (self.loans(f).annotate(_class=Substr("book__clc", 1, 1)).values("_class")
                    .annotate(n=Count("pk"), titles=Count("book", distinct=True),
                              readers=Count("patron", distinct=True)).order_by("_class"))
        for entry in by_class:
            classes.add([class_label(entry["_class"]), entry["n"], entry["titles"], entry["readers"]],
                        {"loans": {"figure": "class", "class": entry["_class"]}})
        return [books, classes]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        figure = param(params, "figure", ("book", "class"))
        rows = self.loans(f)
        if figure == "book":
            book = _book_id(params)
            rows = rows.filter(book_id=book)
            title = _("借出记录 · 图书 %(id)s") % {"id": book}
        else:
            code = param(params, "class")
            rows = rows.annotate(_class=Substr("book__clc", 1, 1)).filter(_class=code)
            title = _("借出记录 · %(class)s") % {"class": class_label(code)}
        return _loan_records(title, rows)


class TopRequestedReport(Report):
    slug = "top-requested"
    title = gettext_lazy("预约排行")
    definition = gettext_lazy(
        "时间范围内提出预约最多的图书（按预约时间计，取消或过期的预约也算），其中已借走的预约数，"
        "以及现在仍在排队的人数。预约计入取书地点。")
    uses = ("from", "to", "location", "division", "clc", "top")

    def holds(self, f: ReportFilter) -> QuerySet:
        return _clc_filter(MEASURE["holds_placed"].filtered(f), f)

    def tables(self, f: ReportFilter) -> list[Table]:
        waiting = (Hold.objects.filter(book=OuterRef("book"), status=Hold.Status.WAITING).order_by()
                   .values("book").annotate(n=Count("pk")).values("n"))
        return [ranking(
            "books", _("预约最多的图书"),
            [Column("title", _("题名"), "text"), Column("call_number", _("索书号"), "text"),
             Column("holds", _("预约次数")), Column("fulfilled", _("已借走")), Column("waiting", _("仍在排队"))],
            top_entries(self.holds(f), "book", ("book__title", "book__call_number"), f.top, n=Count("pk"),
                        fulfilled=Count("pk", filter=Q(status=Hold.Status.FULFILLED)),
                        waiting=Coalesce(Subquery(waiting), 0)),
            lambda e: [e["book__title"], e["book__call_number"], e["n"], e["fulfilled"], e["waiting"]],
            links=lambda e: {"holds": {"figure": "book", "book": str(e["book"])}}, bars=("holds", "fulfilled"))]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("book",))
        book = _book_id(params)
        return _hold_records(_("预约记录 · 图书 %(id)s") % {"id": book}, self.holds(f).filter(book_id=book))


class TopPapersReport(Report):
    slug = "top-papers"
    title = gettext_lazy("调研成果下载排行")
    definition = gettext_lazy(
        "调研成果不外借，读者下载全文即阅读：时间范围内全文下载次数最多的调研成果（每下载一次计一次），下载过的不同读者数，"
        "以及各类型调研成果的下载次数。未登录的下载计入次数，不计读者；选部门时只计该部门读者的下载。")
    uses = ("from", "to", "division", "top")

    def downloads(self, f: ReportFilter) -> QuerySet:
        return in_division(PaperDownload.objects.filter(at__gte=f.since, at__lt=f.until), "reader", f)

    def tables(self, f: ReportFilter) -> list[Table]:
        kinds = {kind.value: str(kind.label) for kind in Paper.Kind}
        papers = ranking(
            "papers", _("下载最多的调研成果"),
            [Column("title", _("题名"), "text"), Column("kind", _("类型"), "text"), Column("year", _("年份")),
             Column("downloads", _("下载次数")), Column("readers", _("读者数"))],
            top_entries(self.downloads(f), "paper", ("paper__title", "paper__kind", "paper__year"), f.top,
                        n=Count("pk"), readers=Count("reader", distinct=True)),
            lambda e: [e["paper__title"], kinds.get(e["paper__kind"], e["paper__kind"]), e["paper__year"], e["n"],
                       e["readers"]],
            links=lambda e: {"downloads": {"figure": "paper", "paper": str(e["paper"])}}, bars=("downloads",),
            target="paper")
        by_kind = Table(
            "kinds", _("各类型下载"),
            [Column("kind", _("类型"), "text"), Column("downloads", _("下载次数")),
             Column("papers", _("调研成果篇数")), Column("readers", _("读者数"))],
            chart=Chart(x="kind", series=(Series("downloads"),)),
        )
        found = {e["paper__kind"]: e for e in self.downloads(f).values("paper__kind").annotate(
            n=Count("pk"), papers=Count("paper", distinct=True), readers=Count("reader", distinct=True)).order_by()}
        for code, label in kinds.items():
            if code in found:
                entry = found[code]
                by_kind.add([label, entry["n"], entry["papers"], entry["readers"]],
                            {"downloads": {"figure": "kind", "kind": code}})
        return [papers, by_kind]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        figure = param(params, "figure", ("paper", "kind"))
        rows = self.downloads(f)
        if figure == "paper":
            paper = as_id(params.get("paper"))
            if paper is None:
                raise InvalidInput("paper", _("paper 应为调研成果编号"))
            rows, title = rows.filter(paper_id=paper), _("全文下载 · 调研成果 %(id)s") % {"id": paper}
        else:
            kind = param(params, "kind", Paper.Kind.values)
            rows, title = rows.filter(paper__kind=kind), _("全文下载 · %(kind)s") % {"kind": Paper.Kind(kind).label}
        columns = [Column("at", _("下载时间"), "datetime"), Column("title", _("题名"), "text"),
                   Column("reader", _("读者"), "text"), Column("division", _("部门"), "text")]

        def row(download: PaperDownload) -> list:
            reader = download.reader
            profile = getattr(reader, "profile", None) if reader else None
            name = reader_name(reader) if reader else _("（未登录）")
            return [download.at, download.paper.title, name, profile.division if profile else ""]

        return Records(title, columns, rows.select_related("paper", "reader__profile").order_by("at", "pk"), row)


# --- 3. never borrowed since accession (weeding) ------------------------------------------------------------------


def next_class(clc: str, prefix: str) -> str:
    """The class one level below ``prefix`` that the class number ``clc`` stands under (``D923.2`` under D92:
    D923; under D923: D923.2), ``prefix`` itself for a number that goes no deeper (D92, or D92-62 with only an
    auxiliary notation below it).  The levels are the browse tree's (``library.classification.class_path``)."""
    deeper = [code for code in class_path(clc) if len(code) > len(prefix) and code.startswith(prefix)]
    return deeper[0] if deeper else prefix


class NeverBorrowedReport(Report):
    slug = "never-borrowed"
    section = "work"
    title = gettext_lazy("零借阅（剔旧参考）")
    definition = gettext_lazy(
        "结束日期当天及以前入藏、至今从未借出过的复本，按中图法大类统计；选了分类号时按其下一级类目统计（D9：D90、D91、D92……）。"
        "入藏日期取复本的入藏日期，没有时取其登记日期；遗失和已剔除的复本不计。")
    uses = ("to", "location", "clc")

    def copies(self, f: ReportFilter) -> QuerySet:
        accessioned = Coalesce("acquired_on", TruncDate("created_at", tzinfo=library_tz()), output_field=DateField())
        rows = Copy.objects.exclude(status__in=Copy.GONE).annotate(_accession=accessioned).filter(
            _accession__lte=f.end)
        if f.location is not None:
            rows = rows.filter(location=f.location.name)
        return _clc_filter(rows, f).annotate(
            _class=Substr("book__clc", 1, 1),
            _borrowed=Exists(Loan.objects.filter(copy=OuterRef("pk"))))

    def classes(self, f: ReportFilter) -> list[dict]:
        """Per class, copies and never-lent copies: by main class (counted by the database), or with a class
        prefix by the class one level below it (counted per class number by the database, the few rows of a
        class added up here: ``next_class``), in class order."""
        if not f.clc:
            return list(self.copies(f).values("_class").annotate(
                n=Count("pk"), never=Count("pk", filter=Q(_borrowed=False))).order_by("_class"))
        found: dict[str, dict] = {}
        for entry in (self.copies(f).values("book__clc")
                      .annotate(n=Count("pk"), never=Count("pk", filter=Q(_borrowed=False))).order_by()):
            key = next_class(entry["book__clc"], f.clc)
            row = found.setdefault(key, {"_class": key, "n": 0, "never": 0})
            row["n"] += entry["n"]
            row["never"] += entry["never"]
        return [found[key] for key in sorted(found)]

    def tables(self, f: ReportFilter) -> list[Table]:
        table = Table(
            "classes", _("各类零借阅复本") if f.clc else _("各大类零借阅复本"),
            [Column("class", _("中图法类目") if f.clc else _("中图法大类"), "text"), Column("copies", _("复本数")),
             Column("never", _("从未借出")), Column("share", _("占比（%）"), "percent")],
            chart=Chart(x="class", series=(Series("copies"), Series("never"))),
        )
        for entry in self.classes(f):
            label = class_label(entry["_class"])
            if f.clc and entry["_class"] == f.clc:
                label = _("%(class)s（本类，未再细分）") % {"class": label}
            table.add([label, entry["n"], entry["never"], percent(entry["never"], entry["n"])],
                      {"never": {"figure": "never", "class": entry["_class"]}})
        return [table]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("never",))
        code = param(params, "class")
        rows = self.copies(f).filter(_borrowed=False)
        if not f.clc:
            rows = rows.filter(_class=code)
        else:
            # The class numbers counted under ``code`` (those of the prefix's own row go no deeper than it).
            numbers = {clc for clc in self.copies(f).values_list("book__clc", flat=True).distinct()
                       if next_class(clc, f.clc) == code}
            rows = rows.filter(book__clc__in=sorted(numbers))
        columns = [Column("barcode", _("条码"), "text"), Column("title", _("题名"), "text"),
                   Column("call_number", _("索书号"), "text"), Column("location", _("馆藏地"), "text"),
                   Column("accession", _("入藏日期"), "date"), Column("status", _("状态"), "text")]
        return Records(_("从未借出的复本 · %(class)s") % {"class": class_label(code)}, columns,
                       rows.select_related("book").order_by("_accession", "pk"),
                       lambda c: [c.barcode, c.book.title, c.book.call_number, c.location, c._accession,
                                  c.get_status_display()],
                       personal=False)


# --- 4. overdue aging -------------------------------------------------------------------------------------------

#: (key, label, fewest days overdue, most days overdue or None)
BUCKETS = (("1-7", gettext_lazy("1–7 天"), 1, 7), ("8-30", gettext_lazy("8–30 天"), 8, 30),
           ("31+", gettext_lazy("31 天以上"), 31, None))


def _bucket_q(today: date, low: int, high: int | None) -> Q:
    """Loans ``low``–``high`` days past their due date on ``today``."""
    q = Q(due_date__lte=today - timedelta(days=low))
    return q & Q(due_date__gte=today - timedelta(days=high)) if high is not None else q


class OverdueReport(Report):
    slug = "overdue"
    section = "work"
    title = gettext_lazy("逾期账龄")
    definition = gettext_lazy(
        "今天仍未归还且已过应还日期的借阅，按逾期天数（今天减应还日期）分为 1–7 天、8–30 天和 31 天以上。"
        "这是今天的情况，不受日期范围影响；按馆藏地、部门或读者角色分组。")
    uses = ("location", "division", "by")

    def overdue(self, f: ReportFilter) -> QuerySet:
        rows = Loan.objects.filter(status=Loan.Status.ACTIVE, due_date__lt=f.today)
        if f.location is not None:
            rows = rows.filter(copy__location=f.location.name)
        return in_division(rows, "patron", f)

    def tables(self, f: ReportFilter) -> list[Table]:
        buckets = Table(
            "buckets", _("逾期天数"),
            [Column("bucket", _("逾期"), "text"), Column("loans", _("借阅数")), Column("readers", _("读者数"))],
            chart=Chart(x="bucket", series=(Series("loans"),)),
        )
        aggregates = {"n": Count("pk"), "r": Count("patron", distinct=True)}
        for key, _label, low, high in BUCKETS:
            q = _bucket_q(f.today, low, high)
            aggregates[f"n_{key}"] = Count("pk", filter=q)
            aggregates[f"r_{key}"] = Count("patron", filter=q, distinct=True)
        found = self.overdue(f).aggregate(**aggregates)
        for key, label, _low, _high in BUCKETS:
            buckets.add([str(label), found[f"n_{key}"], found[f"r_{key}"]],
                        {"loans": {"figure": "overdue", "bucket": key}})
        # Every overdue loan in one list: the day's list to chase.  Readers are counted once however many
        # buckets their loans fall in.
        buckets.add_total([_("合计"), found["n"], found["r"]], {"loans": {"figure": "overdue"}})
        by_label = dict(BY_LABELS)[f.by]
        groups = Table(
            "groups", str(dict(BY_TITLES)[f.by]),
            [Column("group", by_label, "text"), *(Column(key, label) for key, label, _l, _h in BUCKETS),
             Column("total", _("合计"))],
            chart=Chart(x="group", series=tuple(Series(key) for key, *_rest in BUCKETS), stack=True),
        )
        counts = {f"n_{key}": Count("pk", filter=_bucket_q(f.today, low, high)) for key, _label, low, high in BUCKETS}
        per_group = (self.overdue(f).annotate(_group=MEASURE["loans"].group(f.by, f)).values("_group")
                     .annotate(total=Count("pk"), **counts).order_by())
        for entry in sorted(per_group, key=lambda e: group_key(f.by, e["_group"])):
            link = {"figure": "overdue", "by": f.by, "group": entry["_group"]}
            groups.add([group_label(f.by, entry["_group"]), *(entry[f"n_{key}"] for key, *_r in BUCKETS),
                        entry["total"]],
                       {**{key: {**link, "bucket": key} for key, *_r in BUCKETS}, "total": link})
        return [buckets, groups]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("overdue",))
        rows = self.overdue(f)
        title = _("逾期借阅")
        if "bucket" in params:
            key = param(params, "bucket", [b[0] for b in BUCKETS])
            _key, label, low, high = next(b for b in BUCKETS if b[0] == key)
            rows = rows.filter(_bucket_q(f.today, low, high))
            title = f"{title} · {label}"
        by, group = _group_param(f, params)
        if group is not None:
            rows = rows.annotate(_group=MEASURE["loans"].group(by, f)).filter(_group=group)
            title = f"{title} · {group_label(by, group)}"
        return _overdue_records(title, rows, f.today)


def _overdue_records(title, rows: QuerySet, today: date) -> Records:
    """Overdue loans as a list to chase: the longest overdue first, with the days overdue and how to reach the
    reader (the profile's phone and the account's e-mail)."""
    columns = [Column("due_date", gettext_lazy("应还日期"), "date"), Column("days", gettext_lazy("逾期天数")),
               Column("barcode", gettext_lazy("条码"), "text"), Column("title", gettext_lazy("题名"), "text"),
               Column("reader", gettext_lazy("读者"), "text"), Column("division", gettext_lazy("部门"), "text"),
               Column("phone", gettext_lazy("电话"), "text"), Column("email", gettext_lazy("电子邮箱"), "text"),
               Column("location", gettext_lazy("馆藏地"), "text"),
               Column("borrowed_at", gettext_lazy("借出时间"), "datetime")]

    def row(loan: Loan) -> list:
        profile = getattr(loan.patron, "profile", None)
        return [loan.due_date, (today - loan.due_date).days, loan.copy.barcode, loan.book.title,
                reader_name(loan.patron),
                profile.division if profile else "", profile.phone if profile else "", loan.patron.email,
                loan.copy.location, loan.borrowed_at]

    return Records(title, columns, rows.select_related("copy", "book", "patron__profile").order_by("due_date", "pk"),
                   row)


# --- 5. hold wait time --------------------------------------------------------------------------------------------

#: (key, label, start field, end field, condition)
STAGES = (
    ("ready", gettext_lazy("提出预约 → 到书"), "created_at", "ready_at", Q(ready_at__isnull=False)),
    ("collected", gettext_lazy("到书 → 取走"), "ready_at", "closed_at",
     Q(status=Hold.Status.FULFILLED, ready_at__isnull=False)),
    ("total", gettext_lazy("提出预约 → 取走"), "created_at", "closed_at", Q(status=Hold.Status.FULFILLED)),
)
FRACTIONS = (0.5, 0.9)


class HoldWaitReport(Report):
    slug = "hold-wait"
    section = "work"
    title = gettext_lazy("预约等待时间")
    definition = gettext_lazy(
        "时间范围内提出的预约，从提出到到书（放上预约架）、从到书到取走、从提出到取走各用了多少天：中位数和第 90 百分位数。"
        "“取走”指读者借走了为他留出的书（预约已借）；取消、过期的预约只计入已经走完的阶段。预约计入取书地点。")

    def holds(self, f: ReportFilter) -> QuerySet:
        return MEASURE["holds_placed"].filtered(f)

    def tables(self, f: ReportFilter) -> list[Table]:
        stages = Table(
            "stages", _("各阶段用时（天）"),
            [Column("stage", _("阶段"), "text"), Column("holds", _("预约数")),
             Column("median", _("中位数（天）"), "number"), Column("p90", _("第 90 百分位（天）"), "number")],
            chart=Chart(x="stage", series=(Series("median"), Series("p90"))),
        )
        for key, label, start, end, condition in STAGES:
            figures = percentiles(self.holds(f).filter(condition), Seconds(end, start), FRACTIONS).get(None)
            n = figures["n"] if figures else 0
            stages.add([str(label), n, _rounded(figures and figures[0.5], DAY), _rounded(figures and figures[0.9], DAY)],
                       {"holds": {"figure": "stage", "stage": key}})
        locations = Table(
            "locations", _("按取书地点"),
            [Column("location", _("取书地点"), "text"), Column("placed", _("预约数")),
             Column("ready", _("已到书")), Column("collected", _("已取走")),
             Column("median", _("提出→取走 中位数（天）"), "number"),
             Column("p90", _("提出→取走 第 90 百分位（天）"), "number")],
            chart=Chart(x="location", series=(Series("median"), Series("p90"))),
        )
        counts = (self.holds(f).values("pickup_location__name")
                  .annotate(placed=Count("pk"), ready=Count("pk", filter=Q(ready_at__isnull=False)),
                            collected=Count("pk", filter=Q(status=Hold.Status.FULFILLED)))
                  .order_by("pickup_location__position", "pickup_location__name"))
        _key, _label, start, end, condition = STAGES[2]
        waits = percentiles(self.holds(f).filter(condition), Seconds(end, start), FRACTIONS,
                            group=F("pickup_location__name"))
        for entry in counts:
            name = entry["pickup_location__name"]
            figures = waits.get(name)
            locations.add([name, entry["placed"], entry["ready"], entry["collected"],
                           _rounded(figures and figures[0.5], DAY), _rounded(figures and figures[0.9], DAY)],
                          {"placed": {"figure": "location", "group": name}})
        return [stages, locations]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        figure = param(params, "figure", ("stage", "location"))
        rows = self.holds(f)
        if figure == "stage":
            key = param(params, "stage", [s[0] for s in STAGES])
            _key, label, _start, _end, condition = next(s for s in STAGES if s[0] == key)
            return _hold_records(_("预约 · %(stage)s") % {"stage": label}, rows.filter(condition))
        name = param(params, "group")
        return _hold_records(_("预约 · %(location)s") % {"location": name}, rows.filter(pickup_location__name=name))


# --- 6. the pull list's lead time ---------------------------------------------------------------------------------


class PullLeadReport(Report):
    slug = "pull-lead"
    section = "work"
    title = gettext_lazy("备书时长")
    definition = gettext_lazy(
        "时间范围内从架上取出的预约书（取书单上的“已取出”），从列入取书单到取出用了多少小时：中位数和第 90 百分位数。"
        "同一预约多次列入取书单（找不到后换了复本）时，从最后一次列入算起。按复本的馆藏地统计。")
    uses = ("from", "to", "location")

    def pulled(self, f: ReportFilter) -> QuerySet:
        set_aside = (CirculationEvent.objects.filter(hold=OuterRef("hold"), action=CirculationEvent.Action.HOLD_PULL,
                                                     at__lte=OuterRef("at"))
                     .order_by().values("hold").annotate(last=Max("at")).values("last"))
        rows = CirculationEvent.objects.filter(action=CirculationEvent.Action.HOLD_PULLED, at__gte=f.since,
                                               at__lt=f.until, hold__isnull=False)
        if f.location is not None:
            rows = rows.filter(copy__location=f.location.name)
        return rows.annotate(_listed=Subquery(set_aside), _where=Coalesce(F("copy__location"), Value(""),
                                                                           output_field=CharField()))

    def tables(self, f: ReportFilter) -> list[Table]:
        table = Table(
            "locations", _("按馆藏地"),
            [Column("location", _("馆藏地"), "text"), Column("pulled", _("取出册数")),
             Column("median", _("中位数（小时）"), "number"), Column("p90", _("第 90 百分位（小时）"), "number")],
            chart=Chart(x="location", series=(Series("median"), Series("p90"))),
        )
        lead = Seconds("at", "_listed")
        per_place = percentiles(self.pulled(f), lead, FRACTIONS, group=F("_where"))
        counts = self.pulled(f).values("_where").annotate(n=Count("pk")).order_by()
        for entry in sorted(counts, key=lambda e: e["_where"]):
            figures = per_place.get(entry["_where"])
            table.add([entry["_where"] or _("（未知）"), entry["n"], _rounded(figures and figures[0.5], HOUR),
                       _rounded(figures and figures[0.9], HOUR)],
                      {"pulled": {"figure": "pulled", "group": entry["_where"]}})
        overall = percentiles(self.pulled(f), lead, FRACTIONS).get(None)
        table.add_total([_("全部"), self.pulled(f).count(), _rounded(overall and overall[0.5], HOUR),
                         _rounded(overall and overall[0.9], HOUR)], {"pulled": {"figure": "pulled"}})
        return [table]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("pulled",))
        rows = self.pulled(f)
        title = _("已取出的预约书")
        if "group" in params:
            rows = rows.filter(_where=params["group"])
            title = f"{title} · {params['group'] or _('（未知）')}"
        columns = [Column("listed", _("列入取书单"), "datetime"), Column("pulled", _("取出"), "datetime"),
                   Column("hours", _("用时（小时）"), "number"), Column("barcode", _("条码"), "text"),
                   Column("title", _("题名"), "text"), Column("location", _("馆藏地"), "text")]
        return Records(title, columns,
                       rows.annotate(_seconds=Seconds("at", "_listed")).select_related("copy", "book")
                       .order_by("at", "pk"),
                       lambda e: [e._listed, e.at, _rounded(e._seconds, HOUR), e.copy.barcode if e.copy else "",
                                  e.book.title if e.book else "", e._where],
                       personal=False)


REPORTS: tuple[Report, ...] = (CirculationReport(), TopBooksReport(), TopPapersReport(), TopRequestedReport(),
                               NeverBorrowedReport(), OverdueReport(), HoldWaitReport(), PullLeadReport())
