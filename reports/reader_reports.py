"""Readers: active readers per division, a person's own year in reading (``reading_year``: /me/reading and the
API, to that person and to librarians only) and the annual summary (年度阅读报告).  docs/reports.md defines every
figure.

The leadership sees divisions, never a person: the division tables count people, and the records behind them
(which name people) are for librarians (``Records.personal``).
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from events.models import Attendance, Event
from library.models import Loan, Paper, PaperDownload
from reports.base import Chart, Column, Records, Report, Series, Table, may_see_readers, param, reader_name
from reports.event_reports import held, held_attendance, kind_label
from reports.filters import ReportFilter, division_rows, library_tz, person_division
from reports.library_reports import MEASURE, first_authors, month_key, percent, ranking, top_entries
from reports.stats import month_of

User = get_user_model()




def borrowed(f: ReportFilter, person=OuterRef("pk")) -> QuerySet:
    """Loans borrowed in ``f``'s range (by ``person``)."""
    return Loan.objects.filter(patron=person, borrowed_at__gte=f.since, borrowed_at__lt=f.until)


def attended(f: ReportFilter, person=OuterRef("pk")) -> QuerySet:
    """Check-ins of ``person`` at sessions held in ``f``'s range."""
    return held_attendance(f).filter(user=person)


def people(f: ReportFilter) -> QuerySet:
    """Active accounts (of ``f.division``) with ``_division``, ``_borrowed`` and ``_attended`` (whether they borrowed
    / checked in within the range).

    ``pk IN (the range's borrowers)`` rather than an ``EXISTS`` per person: the database builds each set of people
    once (PostgreSQL a hashed subplan, SQLite a temporary index), where a correlated ``EXISTS`` probed the loans of
    every account (bench/report_bench.py: 7× the hand-written SQL on PostgreSQL).  ``DISTINCT`` in the sets: PostgreSQL
    hashes the few thousand people of a ``HashAggregate`` several times faster than the tens of thousands of loans
    into a hashed subplan (EXPLAIN ANALYZE at 100,000 loans: 21 against 57 ms)."""
    borrowers = Loan.objects.filter(borrowed_at__gte=f.since, borrowed_at__lt=f.until).values("patron").distinct()
    attendees = held_attendance(f).values("user").distinct()
    rows = User.objects.filter(is_active=True).annotate(
        _division=person_division("", f),
        _borrowed=ExpressionWrapper(Q(pk__in=borrowers), output_field=BooleanField()),
        _attended=ExpressionWrapper(Q(pk__in=attendees), output_field=BooleanField()))
    return rows.filter(_division=f.division) if f.division is not None else rows


ACTIVE = Q(_borrowed=True) | Q(_attended=True)


class ActiveReadersReport(Report):
    slug = "readers"
    title = gettext_lazy("活跃读者")
    definition = gettext_lazy(
        "各部门的人数（启用的账号）、时间范围内借过书的人数、签到参加过活动的人数，以及两者之一的活跃读者人数和占比。"
        "部门按读者现在的资料；只显示人数，不显示个人。")
    uses = ("from", "to", "division")

    def tables(self, f: ReportFilter) -> list[Table]:
        table = Table(
            "divisions", _("各部门"),
            [Column("division", _("部门"), "text"), Column("members", _("人数")), Column("borrowers", _("借书人数")),
             Column("attendees", _("参加活动人数")), Column("active", _("活跃读者")),
             Column("share", _("活跃占比（%）"), "percent")],
            chart=Chart(x="division", series=(Series("borrowers"), Series("attendees"), Series("active"))),
            note=_("人数：部门现有的启用账号；活跃读者：时间范围内借过书或签到参加过活动的人（两者都有的只算一次）；"
                   "活跃占比＝活跃读者÷人数。"),
        )
        # People counted per division and per (borrowed, attended): each set of people is then built once.  Four
        # counts per division with a FILTER each made PostgreSQL build the borrowers' set twice (SubPlans 1 and 3
        # of EXPLAIN ANALYZE at a million loans, ~140 ms each: 2.1× the hand-written SQL); the ≤ 4 rows of a division
        # are added up here, as its members are in exactly one of them.
        found: dict[str, dict] = {}
        for entry in people(f).values("_division", "_borrowed", "_attended").annotate(n=Count("pk")).order_by():
            row = found.setdefault(entry["_division"], {"_division": entry["_division"], "members": 0, "borrowers": 0,
                                                        "attendees": 0, "active": 0})
            row["members"] += entry["n"]
            row["borrowers"] += entry["n"] if entry["_borrowed"] else 0
            row["attendees"] += entry["n"] if entry["_attended"] else 0
            row["active"] += entry["n"] if entry["_borrowed"] or entry["_attended"] else 0
        total = {"members": 0, "borrowers": 0, "attendees": 0, "active": 0}
        for label, entry in division_rows(found.values()):
            link = {"figure": "active", "group": entry["_division"]}
            table.add([label, entry["members"], entry["borrowers"], entry["attendees"],
                       entry["active"], percent(entry["active"], entry["members"])],
                      {"borrowers": {**link, "figure": "borrowers"}, "active": link})
            for key in total:  # everyone is in exactly one division: the rows add up to the whole court
                total[key] += entry[key]
        table.add_total([_("全院"), total["members"], total["borrowers"], total["attendees"], total["active"],
                         percent(total["active"], total["members"])])
        return [table]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        figure = param(params, "figure", ("active", "borrowers"))
        rows = people(f).filter(ACTIVE if figure == "active" else Q(_borrowed=True))
        if "group" in params:
            rows = rows.filter(_division=params["group"])
        rows = rows.annotate(_loans=Count("loans", filter=Q(loans__borrowed_at__gte=f.since,
                                                            loans__borrowed_at__lt=f.until), distinct=True))
        columns = [Column("name", _("姓名"), "text"), Column("division", _("部门"), "text"),
                   Column("loans", _("借出次数")), Column("attended", _("参加过活动"), "text")]
        return Records(_("活跃读者") if figure == "active" else _("借书读者"), columns,
                       rows.select_related("profile").order_by("_division", "username"),
                       lambda u: [reader_name(u),
                                  u._division, u._loans, _("是") if u._attended else ""])


# --- a person's year in reading ---------------------------------------------------------------------------------


def year_filter(year: int, today: date) -> ReportFilter:
    """1 January – 31 December of ``year`` (to today in the current year)."""
    return ReportFilter(start=date(year, 1, 1), end=min(date(year, 12, 31), max(today, date(year, 1, 1))), today=today)


def reading_year(user: AbstractBaseUser, year: int, today: date) -> list[Table]:
    """``user``'s year: books borrowed, events attended, the papers on those events' reading lists and the papers
    whose full text they downloaded, by month; the titles, the papers and the sessions.  Per-person figures: shown
    to that person and to librarians only."""
    f = year_filter(year, today)
    loans = borrowed(f, person=user.pk)
    visits = attended(f, person=user.pk)
    downloads = PaperDownload.objects.filter(reader=user.pk, at__gte=f.since, at__lt=f.until)
    month = month_of("borrowed_at", f)
    by_month = {e["_month"]: e for e in loans.annotate(_month=month).values("_month")
                .annotate(loans=Count("pk"), titles=Count("book", distinct=True)).order_by()}
    # The papers join makes one row per paper on a session's reading list: sessions are counted distinct.
    session_month = month_of("_session__start", f)  # where the session was held, moved or not
    sessions = {e["_month"]: e for e in visits.annotate(_month=session_month).values("_month")
                .annotate(events=Count("pk", distinct=True), papers=Count("event__papers", distinct=True)).order_by()}
    read = {e["_month"]: e["n"] for e in downloads.annotate(_month=month_of("at", f)).values("_month")
            .annotate(n=Count("paper", distinct=True)).order_by()}
    months = Table(
        "months", _("每月"),
        [Column("month", _("月份"), "month"), Column("loans", _("借阅图书（次）")), Column("titles", _("图书（种）")),
         Column("events", _("参加活动（场）")), Column("papers", _("活动书目中的调研成果（篇）")),
         Column("downloaded", _("下载全文的调研成果（篇）"))],
        chart=Chart(x="month", series=(Series("loans"), Series("events"))),
    )
    for first in f.months():
        loan, visit = by_month.get(first, {}), sessions.get(first, {})
        months.add([month_key(first), loan.get("loans", 0), loan.get("titles", 0), visit.get("events", 0),
                    visit.get("papers", 0), read.get(first, 0)])
    totals = loans.aggregate(loans=Count("pk"), titles=Count("book", distinct=True))
    visit_totals = visits.aggregate(events=Count("pk", distinct=True), papers=Count("event__papers", distinct=True))
    months.add_total([_("全年"), totals["loans"], totals["titles"], visit_totals["events"], visit_totals["papers"],
                      downloads.aggregate(n=Count("paper", distinct=True))["n"]])
    books = Table("books", _("借阅的图书"),
                  [Column("title", _("题名"), "text"), Column("call_number", _("索书号"), "text"),
                   Column("loans", _("次数")), Column("first", _("首次借出"), "datetime")])
    for entry in (loans.values("book", "book__title", "book__call_number")
                  .annotate(n=Count("pk"), first=Min("borrowed_at")).order_by("first", "book")):
        books.add([entry["book__title"], entry["book__call_number"], entry["n"], entry["first"]],
                  targets={"title": ("book", entry["book"])})
    kinds = {kind.value: str(kind.label) for kind in Paper.Kind}
    papers = Table("papers", _("下载全文的调研成果"),
                   [Column("title", _("题名"), "text"), Column("kind", _("类型"), "text"),
                    Column("downloads", _("下载次数")), Column("first", _("首次下载"), "datetime")])
    for entry in (downloads.values("paper", "paper__title", "paper__kind")
                  .annotate(n=Count("pk"), first=Min("at")).order_by("first", "paper")):
        papers.add([entry["paper__title"], kinds.get(entry["paper__kind"], entry["paper__kind"]), entry["n"],
                    entry["first"]], targets={"title": ("paper", entry["paper"])})
    events = Table("events", _("参加的活动"),
                   [Column("occurrence", pgettext("report column", "场次"), "datetime"),
                    Column("title", pgettext("report column", "活动"), "text"), Column("kind", _("类型"), "text")])
    for visit in visits.annotate(_start=F("_session__start")).select_related("event").order_by("_start", "pk"):
        events.add([visit._start, visit.event.title, kind_label(visit.event.kind)],
                   targets={"title": ("event", visit.event_id)})
    return [months, books, papers, events]


class MyYear(Report):
    """Not listed (not in ``REPORTS``): names the exports of /me/reading's tables."""

    slug = "my-year"
    title = gettext_lazy("我的年度阅读")


MY_YEAR = MyYear()


def reading_years(user: AbstractBaseUser, today: date) -> list[int]:
    """The years a year selector offers: from the person's first loan or check-in (its year in library time) to this
    year, newest first."""
    first = [*Loan.objects.filter(patron=user).order_by("borrowed_at").values_list("borrowed_at", flat=True)[:1],
             *Attendance.objects.filter(user=user).order_by("occurrence").values_list("occurrence", flat=True)[:1]]
    start = min([*(timezone.localtime(d, library_tz()).year for d in first if d), today.year])
    return list(range(today.year, start - 1, -1))


# --- the annual summary -----------------------------------------------------------------------------------------

#: Titles the annual summary ranks.
ANNUAL_TOP = 10


def change(now: int, before: int) -> float | None:
    return round(100.0 * (now - before) / before, 1) if before else None


class AnnualReport(Report):
    slug = "annual"
    title = gettext_lazy("年度阅读报告")
    definition = gettext_lazy(
        "一年（或所选时间范围）的主要数字，供全院年度工作总结引用：借出、归还、续借、借书人数、借阅图书种数、活跃读者、"
        "举办活动场次、签到人次、参加活动人数，与上年同期对比；每月借出与签到；各部门；借阅最多的 10 种图书；"
        "全文下载最多的 10 篇调研成果；各类活动。"
        "各数字的定义与相应报表相同。")
    uses = ("from", "to")

    def headline(self, f: ReportFilter) -> dict[str, int]:
        loans = MEASURE["loans"].filtered(f).aggregate(
            n=Count("pk"), readers=Count("patron", distinct=True), titles=Count("book", distinct=True))
        visits = held_attendance(f).aggregate(n=Count("pk"), people=Count("user", distinct=True))
        return {
            "loans": loans["n"], "returns": MEASURE["returns"].filtered(f).count(),
            "renewals": MEASURE["renewals"].filtered(f).count(), "borrowers": loans["readers"],
            "titles": loans["titles"], "active": people(f).filter(ACTIVE).count(),
            "sessions": held(f).count(), "check_ins": visits["n"], "attendees": visits["people"],
        }

    HEADLINE = (("loans", gettext_lazy("借出（次）")), ("returns", gettext_lazy("归还（次）")),
                ("renewals", gettext_lazy("续借（次）")), ("borrowers", gettext_lazy("借书人数")),
                ("titles", gettext_lazy("借阅图书（种）")), ("active", gettext_lazy("活跃读者（人）")),
                ("sessions", gettext_lazy("举办活动（场）")), ("check_ins", gettext_lazy("活动签到（人次）")),
                ("attendees", gettext_lazy("参加活动（人）")))

    def tables(self, f: ReportFilter) -> list[Table]:
        now, before = self.headline(f), self.headline(f.last_year())
        headline = Table(
            "headline", _("主要数字"),
            [Column("figure", pgettext("report headline", "项目"), "text"), Column("value", _("本期")),
             Column("last_year", _("上年同期")), Column("change", _("增减（%）"), "percent")],
            note=_("借出：借书的次数，续借不算新的借出；借书人数：借过书的不同的人；借阅图书（种）：借出过的不同图书；"
                   "活跃读者：借过书或签到参加过活动的人；举办活动（场）：未取消的活动场次，系列活动每次算一场；"
                   "活动签到（人次）：每人每场签到算一次；参加活动（人）：签到过至少一场的不同的人；"
                   "增减：比上年同期多（+）或少（−）的百分比，上年同期为 0 时不计算（—）。"),
        )
        for key, label in self.HEADLINE:
            headline.add([str(label), now[key], before[key], change(now[key], before[key])])
        loans_by_month = MEASURE["loans"].counts(f)
        month = month_of("_session__start", f)
        visits_by_month = {month_key(e["_month"]): e["n"] for e in held_attendance(f).annotate(_month=month)
                           .values("_month").annotate(n=Count("pk")).order_by()}
        months = Table("months", _("每月借出与签到"),
                       [Column("month", _("月份"), "month"), Column("loans", pgettext("report figure", "借出")),
                        Column("check_ins", pgettext("report figure", "签到"))],
                       chart=Chart(x="month", series=(Series("loans"), Series("check_ins", "line"))))
        for first in f.months():
            key = month_key(first)
            months.add([key, loans_by_month.get((key, ""), 0), visits_by_month.get(key, 0)])
        divisions = ActiveReadersReport().tables(f)[0]
        divisions.links = [{} for _row in divisions.rows]
        ranked = top_entries(MEASURE["loans"].filtered(f), "book", ("book__title",), ANNUAL_TOP, n=Count("pk"),
                             readers=Count("patron", distinct=True))
        authors = first_authors(e["book"] for e in ranked)
        top = ranking("top", _("借阅最多的图书"),
                      [Column("title", _("题名"), "text"), Column("author", pgettext("report column", "作者"), "text"),
                       Column("loans", _("借出次数")), Column("readers", _("读者数"))],
                      ranked, lambda e: [e["book__title"], authors.get(e["book"]), e["n"], e["readers"]],
                      bars=("loans",), detail="author")
        papers = ranking("top_papers", _("下载最多的调研成果"),
                         [Column("title", _("题名"), "text"), Column("downloads", _("下载次数")),
                          Column("readers", _("读者数"))],
                         top_entries(PaperDownload.objects.filter(at__gte=f.since, at__lt=f.until), "paper",
                                     ("paper__title",), ANNUAL_TOP, n=Count("pk"), readers=Count("reader", distinct=True)),
                         lambda e: [e["paper__title"], e["n"], e["readers"]], bars=("downloads",), target="paper")
        kinds = Table("kinds", _("各类活动"),
                      [Column("kind", _("类型"), "text"), Column("sessions", _("举办场次")),
                       Column("check_ins", _("签到人次"))],
                      chart=Chart(x="kind", series=(Series("sessions"), Series("check_ins"))))
        sessions = dict(held(f).values("kind").annotate(n=Count("pk")).values_list("kind", "n").order_by())
        check_ins = dict(held_attendance(f).values("event__kind").annotate(n=Count("pk"))
                         .values_list("event__kind", "n").order_by())
        for kind in Event.Kind:
            if sessions.get(kind.value) or check_ins.get(kind.value):
                kinds.add([str(kind.label), sessions.get(kind.value, 0), check_ins.get(kind.value, 0)])
        return [headline, months, divisions, top, papers, kinds]


REPORTS: tuple[Report, ...] = (ActiveReadersReport(), AnnualReport())


def may_read_reading_year(viewer: AbstractBaseUser | AnonymousUser, person: AbstractBaseUser) -> bool:
    """A person's own year: that person, and librarians."""
    return viewer.is_authenticated and (viewer.pk == person.pk or may_see_readers(viewer))

