"""The events reports: occurrences by kind and month, registrations against capacity and attendance, waitlist
conversions, attendance per division, and the borrowing of reading-list titles around their event.
docs/reports.md defines every figure; the short form is each class's ``definition``.

Where a figure belongs:

* an occurrence to the month its (possibly moved) start falls in, in library time; the occurrences are the rows
  ``events.listing`` keeps (``ListedOccurrence``: every single event, and each session of a series with an
  exception applied), so a moved session counts where it was held;
* a registration or a check-in to its occurrence: ``Attendance.occurrence`` and ``Registration.occurrence`` hold
  the session's original start (``ListedOccurrence.recurrence_id``; a single event's start), and a registration
  for a whole series (``occurrence`` NULL) counts for every session of it;
* a person to their division as it is now (``Profile.division``).

Who reads them: librarians, the court's leadership and the events' organizers (``may_read_event_reports``).  The
records behind a figure that name people are for librarians only (``Records.personal``); organizers see their
own events' attendees on the events pages, the leadership sees divisions.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core.errors import InvalidInput
from core.text import as_id
from events.models import Attendance, Event, ListedOccurrence, Registration
from library.models import Loan
from reports.base import Chart, Column, Records, Report, Series, Table, param, reader_name
from reports.filters import (
    ReportFilter,
    add_months,
    day_start,
    division_rows,
    in_division,
    person_division,
)
from reports.library_reports import _loan_records, month_key, parse_month, percent
from reports.stats import month_of

#: A reading-list title counts as borrowed "around" its event within this many days before and after it starts.
AROUND = timedelta(days=30)
KINDS = tuple(Event.Kind)
HELD = Event.Status.SCHEDULED


def may_read_event_reports(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Librarians, the leadership and organizers (superusers hold every role)."""
    return user_has_role(user, Role.LIBRARIAN, Role.MANAGER, Role.ORGANIZER)


def kind_labels() -> dict[str, str]:
    """``{kind: label}`` in the active language.  A table asks once and looks its rows up: a lazy label's gettext
    (with the active language read from a thread-local) costs ~0.1 ms, half of the sessions table's time at 160
    rows when asked per row."""
    return _kind_labels(get_language())


@lru_cache(maxsize=16)
def _kind_labels(language: str | None) -> dict[str, str]:
    return {kind.value: str(kind.label) for kind in KINDS}


def kind_label(code: str) -> str:
    return kind_labels().get(code, code)


def occurrences(f: ReportFilter, since=None, until=None) -> QuerySet:
    """The sessions starting in ``f``'s range (or ``since``–``until``), held or cancelled."""
    return ListedOccurrence.objects.filter(start__gte=since or f.since, start__lt=until or f.until)


def held(f: ReportFilter) -> QuerySet:
    """The sessions held in ``f``'s range: neither the session nor its event cancelled."""
    return occurrences(f).filter(status=HELD, event__status=HELD)


def _for_session(rows: QuerySet) -> QuerySet:
    """``rows`` (registrations) that hold a place at the session ``OuterRef`` names: made for it, or for its whole
    series (``occurrence`` NULL; a single event's registrations are all so)."""
    return rows.filter(event=OuterRef("event")).filter(Q(occurrence=OuterRef("recurrence_id"))
                                                       | Q(occurrence__isnull=True))


def _count(rows: QuerySet):
    """``COUNT(*)`` of ``rows`` (correlated with the outer query through ``OuterRef``) as a scalar subquery.
    A ``Func`` rather than ``Count``: an aggregate would make Django group the subquery.  ``COUNT(*)``, not
    ``COUNT(id)``: PostgreSQL then counts from the index alone (an index-only scan of ``registration_queue``;
    counting ids read every registration's row, 2.5× the hand-written SQL at 160 sessions)."""
    return Subquery(rows.order_by().annotate(_n=Func(template="COUNT(*)", output_field=IntegerField()))
                    .values("_n")[:1], output_field=IntegerField())


def session_figures(f: ReportFilter) -> QuerySet:
    """Held sessions with ``_capacity`` (the event's, else its venue's; NULL: unlimited), ``_confirmed``,
    ``_waitlisted`` (registrations now) and ``_attended`` (check-ins), people of ``f.division`` only."""
    registrations = in_division(Registration.objects.all(), "user", f)
    attended = in_division(Attendance.objects.filter(event=OuterRef("event"), occurrence=OuterRef("recurrence_id")),
                           "user", f)
    return held(f).annotate(
        _capacity=Coalesce("event__capacity", "venue__capacity"),
        _confirmed=_count(_for_session(registrations.filter(status=Registration.Status.CONFIRMED))),
        _waitlisted=_count(_for_session(registrations.filter(status=Registration.Status.WAITLISTED))),
        _attended=_count(attended),
    )


#: The columns of a session a table shows (rows as dicts: no model instances for a table's rows).
SESSION_COLUMNS = ("start", "title", "kind", "event_id", "recurrence_id")


def session_key(occ: dict) -> dict[str, str]:
    """The drill-down parameters naming a session (a row with ``SESSION_COLUMNS``)."""
    return {"event": str(occ["event_id"]), "occurrence": occ["recurrence_id"].isoformat()}


def _event_id(params: dict[str, str]) -> int:
    event = as_id(params.get("event"))
    if event is None:
        raise InvalidInput("event", _("event 应为活动编号"))
    return event


def _occurrence(params: dict[str, str]):
    text = param(params, "occurrence")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("occurrence", _("occurrence 应为 ISO 8601 时间")) from None
    if value.tzinfo is None:
        raise InvalidInput("occurrence", _("occurrence 应带时区"))
    try:
        value.astimezone(UTC)  # the database compares it in UTC: 0001-01-01T00:00+14:00 is before year 1 there
    except OverflowError:
        raise InvalidInput("occurrence", _("occurrence 超出可表示的时间范围")) from None
    return value


def _person_columns() -> list[Column]:
    return [Column("name", gettext_lazy("姓名"), "text"), Column("division", gettext_lazy("部门"), "text")]


def _person(user) -> list:
    profile = getattr(user, "profile", None)
    return [reader_name(user), profile.division if profile else ""]


def attendance_records(title, rows: QuerySet) -> Records:
    columns = [Column("checked_in_at", gettext_lazy("签到时间"), "datetime"),
               Column("event", pgettext_lazy("report column", "活动"), "text"),
               Column("occurrence", pgettext_lazy("report column", "场次"), "datetime"),
               *_person_columns(), Column("walk_in", gettext_lazy("现场加入"), "text")]
    return Records(title, columns, rows.select_related("event", "user__profile").order_by("occurrence", "checked_in_at",
                                                                                          "pk"),
                   lambda a: [a.checked_in_at, a.event.title, a.occurrence, *_person(a.user),
                              _("是") if a.walk_in else ""])


def registration_records(title, rows: QuerySet) -> Records:
    columns = [Column("created_at", gettext_lazy("报名时间"), "datetime"),
               Column("event", pgettext_lazy("report column", "活动"), "text"),
               Column("occurrence", pgettext_lazy("report column", "场次"), "datetime"),
               *_person_columns(), Column("status", gettext_lazy("状态"), "text"),
               Column("promoted_at", gettext_lazy("候补转正时间"), "datetime")]
    return Records(title, columns, rows.select_related("event", "user__profile").order_by("created_at", "pk"),
                   lambda r: [r.created_at, r.event.title, r.occurrence, *_person(r.user), r.get_status_display(),
                              r.promoted_at])


def occurrence_records(title, rows: QuerySet) -> Records:
    columns = [Column("start", gettext_lazy("开始"), "datetime"),
               Column("title", pgettext_lazy("report column", "活动"), "text"),
               Column("kind", gettext_lazy("类型"), "text"), Column("venue", gettext_lazy("场地"), "text"),
               Column("status", gettext_lazy("状态"), "text")]
    return Records(title, columns, rows.select_related("venue").order_by("start", "event_id"),
                   lambda o: [o.start, o.title, kind_label(o.kind), o.venue.name if o.venue else _("线上"),
                              o.get_status_display()],
                   personal=False)


class EventReport(Report):
    """An events report: read by organizers too."""

    uses = ("from", "to", "division")

    def allowed(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        return may_read_event_reports(user)


def _month_bounds(f: ReportFilter, params: dict[str, str]):
    """The part of ``f``'s range in the month ``params`` names (all of it without ``month``)."""
    if "month" not in params:
        return f.since, f.until
    month = parse_month(params["month"])
    return max(f.since, day_start(month)), min(f.until, day_start(add_months(month, 1)))


def _kind_param(params: dict[str, str]) -> str | None:
    if "kind" not in params:
        return None
    return param(params, "kind", Event.Kind.values)


# --- 1. occurrences by kind and month ---------------------------------------------------------------------------


class OccurrencesReport(EventReport):
    slug = "event-occurrences"
    section = "events"
    title = gettext_lazy("活动场次")
    definition = gettext_lazy(
        "时间范围内开始的每一场活动（单次活动一场，系列活动每次一场），按类型和月份（北京时间）统计。改期的场次计入实际举办的月份；"
        "取消的场次（整场活动或单次取消）另列，不计入举办场次。")
    uses = ("from", "to")

    COUNTS = {"held": Count("pk", filter=Q(status=HELD, event__status=HELD)),
              "cancelled": Count("pk", filter=~Q(status=HELD, event__status=HELD))}

    def tables(self, f: ReportFilter) -> list[Table]:
        found = occurrences(f).annotate(_month=month_of("start", f)).values("_month", "kind").annotate(
            **self.COUNTS).order_by()
        counts = {(month_key(e["_month"]), e["kind"]): (e["held"], e["cancelled"]) for e in found}
        months = Table(
            "months", _("每月场次"),
            [Column("month", _("月份"), "month"), Column("kind", _("类型"), "text"), Column("held", _("举办场次")),
             Column("cancelled", _("取消场次"))],
            chart=Chart(x="month", group="kind", value="held", stack=True),
        )
        for month in f.months():
            key = month_key(month)
            for kind in KINDS:
                n_held, n_cancelled = counts.get((key, kind.value), (0, 0))
                if n_held or n_cancelled:
                    link = {"figure": "occurrences", "month": key, "kind": kind.value}
                    months.add([key, str(kind.label), n_held, n_cancelled],
                               {"held": link, "cancelled": {**link, "status": "cancelled"}})
        kinds = Table(
            "kinds", _("各类型合计"),
            [Column("kind", _("类型"), "text"), Column("held", _("举办场次")), Column("cancelled", _("取消场次"))],
            chart=Chart(x="kind", series=(Series("held"),)),
        )
        per_kind = {e["kind"]: e for e in occurrences(f).values("kind").annotate(**self.COUNTS).order_by()}
        for kind in KINDS:
            entry = per_kind.get(kind.value, {"held": 0, "cancelled": 0})
            link = {"figure": "occurrences", "kind": kind.value}
            kinds.add([str(kind.label), entry["held"], entry["cancelled"]],
                      {"held": link, "cancelled": {**link, "status": "cancelled"}})
        return [months, kinds]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("occurrences",))
        since, until = _month_bounds(f, params)
        rows = occurrences(f, since, until)
        if params.get("status") == "cancelled":
            rows = rows.exclude(status=HELD, event__status=HELD)
        elif "status" in params:
            raise InvalidInput("status", _("status 只能是 cancelled"))
        else:
            rows = rows.filter(status=HELD, event__status=HELD)
        kind = _kind_param(params)
        if kind is not None:
            rows = rows.filter(kind=kind)
        return occurrence_records(_("活动场次"), rows)


# --- 2. registrations vs capacity vs attendance -----------------------------------------------------------------


class AttendanceReport(EventReport):
    slug = "event-attendance"
    section = "events"
    title = gettext_lazy("报名与签到")
    definition = gettext_lazy(
        "时间范围内举办的每一场活动：名额（活动的名额，未设时取场地容纳人数；空白为不限）、现在已确认的报名（含报名整个系列的人）、"
        "仍在候补的报名和签到人数。报满率＝已确认÷名额，到场率＝签到÷已确认（尚未开始的场次不计到场率）。选部门时只计该部门的人。")

    def tables(self, f: ReportFilter) -> list[Table]:
        sessions = Table(
            "sessions", _("各场次"),
            [Column("start", _("开始"), "datetime"), Column("title", pgettext("report column", "活动"), "text"),
             Column("kind", _("类型"), "text"),
             Column("capacity", _("名额")), Column("confirmed", _("已确认")), Column("waitlisted", _("候补")),
             Column("attended", pgettext("report figure", "签到")), Column("fill", _("报满率（%）"), "percent"),
             Column("turnout", _("到场率（%）"), "percent")],
            chart=Chart(x="start", series=(Series("capacity", "line"), Series("confirmed"), Series("attended"))),
        )
        found = list(session_figures(f).values(*SESSION_COLUMNS, "_capacity", "_confirmed", "_waitlisted", "_attended")
                     .order_by("start", "event_id"))
        labels = kind_labels()
        # A session still to come has no turnout yet (it showed 0%, and pulled its kind's rate down with it).
        now = timezone.now()
        for occ in found:
            link = session_key(occ)
            sessions.add(
                [occ["start"], occ["title"], labels.get(occ["kind"], occ["kind"]), occ["_capacity"], occ["_confirmed"],
                 occ["_waitlisted"], occ["_attended"], percent(occ["_confirmed"], occ["_capacity"] or 0),
                 percent(occ["_attended"], occ["_confirmed"]) if occ["start"] <= now else None],
                {"confirmed": {"figure": "registrations", **link},
                 "waitlisted": {"figure": "registrations", "status": "waitlisted", **link},
                 "attended": {"figure": "attendance", **link}},
                {"title": ("event", occ["event_id"])})
        kinds = Table(
            "kinds", _("各类型合计"),
            [Column("kind", _("类型"), "text"), Column("sessions", pgettext("report column", "场次")),
             Column("capacity", _("名额（有限额的场次）")),
             Column("confirmed", _("已确认")), Column("attended", pgettext("report figure", "签到")),
             Column("turnout", _("到场率（%）"), "percent")],
            chart=Chart(x="kind", series=(Series("capacity"), Series("confirmed"), Series("attended"))),
        )
        # Summed from the sessions' rows (held sessions in the range are few: one per event or session), not by
        # grouping the per-session subqueries again in the database, which ran them all a second time.
        for kind in KINDS:
            mine = [occ for occ in found if occ["kind"] == kind.value]
            if not mine:
                continue
            confirmed, attended = sum(o["_confirmed"] for o in mine), sum(o["_attended"] for o in mine)
            begun = sum(o["_confirmed"] for o in mine if o["start"] <= now)
            kinds.add([str(kind.label), len(mine), sum(o["_capacity"] or 0 for o in mine), confirmed, attended,
                       percent(attended, begun)],
                      {"attended": {"figure": "attendance", "kind": kind.value}})
        return [sessions, kinds]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        figure = param(params, "figure", ("registrations", "attendance"))
        if figure == "attendance":
            # The check-ins of held sessions only, as the table counts them.
            rows = in_division(held_attendance(f), "user", f)
            if "kind" in params:
                rows = rows.filter(event__kind=_kind_param(params))
            if "event" in params:
                rows = rows.filter(event_id=_event_id(params), occurrence=_occurrence(params))
            return attendance_records(pgettext("report figure", "签到"), rows)
        event, occurrence = _event_id(params), _occurrence(params)
        status = param(params, "status", ("waitlisted",)) if "status" in params else Registration.Status.CONFIRMED
        rows = in_division(Registration.objects.filter(event_id=event, status=status)
                           .filter(Q(occurrence=occurrence) | Q(occurrence__isnull=True)), "user", f)
        return registration_records(_("报名"), rows)


# --- 3. waitlist conversions ------------------------------------------------------------------------------------


class WaitlistReport(EventReport):
    slug = "event-waitlist"
    section = "events"
    title = gettext_lazy("候补转正")
    definition = gettext_lazy(
        "时间范围内（按报名时间）因名额已满进入候补的报名：其中后来转为确认的（有人取消或名额增加）、仍在候补的、"
        "候补时取消的。转正率＝转正÷候补。按报名月份和活动类型统计；选部门时只计该部门的人。")

    def waitlisted(self, f: ReportFilter) -> QuerySet:
        return in_division(Registration.objects.filter(was_waitlisted=True, created_at__gte=f.since,
                                                       created_at__lt=f.until), "user", f)

    COUNTS = {
        "waitlisted": Q(),
        "promoted": Q(promoted_at__isnull=False),
        "waiting": Q(status=Registration.Status.WAITLISTED),
        "dropped": Q(status=Registration.Status.CANCELLED, promoted_at__isnull=True),
    }

    def _table(self, key, title, column: Column, rows: list[tuple[str, str, dict]], found: dict) -> Table:
        table = Table(key, title, [column, Column("waitlisted", _("候补")), Column("promoted", _("转正")),
                                   Column("waiting", _("仍在候补")), Column("dropped", _("候补时取消")),
                                   Column("rate", _("转正率（%）"), "percent")],
                      chart=Chart(x=column.key, series=(Series("waitlisted"), Series("promoted"))))
        for value, label, link in rows:
            entry = found.get(value)
            if entry is None:
                continue
            table.add([label, *(entry[k] for k in self.COUNTS), percent(entry["promoted"], entry["waitlisted"])],
                      {k: {"figure": "waitlist", **link, **({"outcome": k} if k != "waitlisted" else {})}
                       for k in self.COUNTS})
        return table

    def tables(self, f: ReportFilter) -> list[Table]:
        counts = {k: Count("pk", filter=q) for k, q in self.COUNTS.items()}
        by_month = (self.waitlisted(f).annotate(_month=month_of("created_at", f))
                    .values("_month").annotate(**counts).order_by())
        months = self._table("months", _("按报名月份"), Column("month", _("月份"), "month"),
                             [(m, month_key(m), {"month": month_key(m)}) for m in f.months()],
                             {e["_month"]: e for e in by_month})
        by_kind = self.waitlisted(f).values("event__kind").annotate(**counts).order_by()
        kinds = self._table("kinds", _("按活动类型"), Column("kind", _("类型"), "text"),
                            [(k.value, str(k.label), {"kind": k.value}) for k in KINDS],
                            {e["event__kind"]: e for e in by_kind})
        return [months, kinds]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("waitlist",))
        since, until = _month_bounds(f, params)
        rows = self.waitlisted(f).filter(created_at__gte=since, created_at__lt=until)
        kind = _kind_param(params)
        if kind is not None:
            rows = rows.filter(event__kind=kind)
        if "outcome" in params:
            rows = rows.filter(self.COUNTS[param(params, "outcome", [k for k in self.COUNTS if k != "waitlisted"])])
        return registration_records(pgettext("report figure", "候补报名"), rows)


# --- 4. attendance per division ---------------------------------------------------------------------------------


def held_attendance(f: ReportFilter) -> QuerySet:
    """Check-ins at the sessions held in ``f``'s range: in the range by the session's actual start
    (``_session__start``), which a moved session no longer shares with ``Attendance.occurrence`` (its original
    start): a session moved across the range's edge keeps its check-ins where it is counted.

    The session is joined (its event's listed occurrence whose ``recurrence_id`` is the check-in's ``occurrence``:
    one at most, ``listed_occurrence_once``) rather than asked for with a correlated ``EXISTS`` per check-in: so
    the database can start from the range's few sessions and read their check-ins from the (event, occurrence)
    index, as the hand-written SQL does (bench/report_bench.py: the ``EXISTS`` made 各部门参加活动 3× slower on
    SQLite)."""
    session = "event__listed_occurrences__"
    return (Attendance.objects
            .annotate(_session=FilteredRelation("event__listed_occurrences", condition=Q(**{
                f"{session}recurrence_id": F("occurrence"), f"{session}start__gte": f.since,
                f"{session}start__lt": f.until, f"{session}status": HELD})))
            .filter(_session__isnull=False, event__status=HELD))


class DivisionAttendanceReport(EventReport):
    slug = "event-divisions"
    section = "events"
    title = gettext_lazy("各部门参加活动")
    definition = gettext_lazy(
        "时间范围内举办的活动中，各部门的签到人次和参加人数（签到过至少一场的不同人），以及按活动类型的签到人次。"
        "部门按读者现在的资料。")

    def tables(self, f: ReportFilter) -> list[Table]:
        rows = held_attendance(f).annotate(_division=person_division("user", f))
        if f.division is not None:
            rows = rows.filter(_division=f.division)
        divisions = Table(
            "divisions", _("各部门"),
            [Column("division", _("部门"), "text"), Column("check_ins", _("签到人次")),
             Column("people", _("参加人数"))],
            chart=Chart(x="division", series=(Series("check_ins"), Series("people"))),
        )
        found = rows.values("_division").annotate(check_ins=Count("pk"), people=Count("user", distinct=True)).order_by()
        for label, entry in division_rows(found):
            divisions.add([label, entry["check_ins"], entry["people"]],
                          {"check_ins": {"figure": "attendance", "group": entry["_division"]}})
        kinds = Table(
            "kinds", _("各部门按活动类型"),
            [Column("division", _("部门"), "text"), Column("kind", _("类型"), "text"),
             Column("check_ins", _("签到人次")), Column("people", _("参加人数"))],
            chart=Chart(x="division", group="kind", value="check_ins", stack=True),
        )
        order = {kind.value: i for i, kind in enumerate(KINDS)}
        per_kind = (rows.values("_division", "event__kind")
                    .annotate(check_ins=Count("pk"), people=Count("user", distinct=True)).order_by())
        labels = kind_labels()
        for label, entry in division_rows(per_kind, then=lambda e: order[e["event__kind"]]):
            kinds.add([label, labels[entry["event__kind"]], entry["check_ins"], entry["people"]],
                      {"check_ins": {"figure": "attendance", "group": entry["_division"],
                                     "kind": entry["event__kind"]}})
        return [divisions, kinds]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("attendance",))
        rows = in_division(held_attendance(f), "user", f).annotate(_division=person_division("user", f))
        if "group" in params:
            rows = rows.filter(_division=params["group"])
        kind = _kind_param(params)
        if kind is not None:
            rows = rows.filter(event__kind=kind)
        return attendance_records(pgettext("report figure", "签到"), rows)


# --- 5. reading-list titles borrowed around their event ---------------------------------------------------------


def _around(kind: str):
    """Loans of the session's reading-list titles (``OuterRef``) in the 30 days before its start (``before``) or
    from its start on (``after``)."""
    loans = Loan.objects.filter(book__events=OuterRef("event"))
    if kind == "before":
        return loans.filter(borrowed_at__gte=OuterRef("_before"), borrowed_at__lt=OuterRef("start"))
    return loans.filter(borrowed_at__gte=OuterRef("start"), borrowed_at__lt=OuterRef("_after"))


class ReadingListReport(EventReport):
    slug = "event-reading"
    section = "events"
    title = gettext_lazy("活动书目的借阅")
    definition = gettext_lazy(
        "时间范围内举办、列有书目（活动的“书目”）的每一场活动：书目中的图书在活动开始前 30 天内（开始前 30×24 小时至开始）"
        "和开始后 30 天内（开始至开始后 30×24 小时）各被借出多少次，以及开始后借阅中出自签到者的次数。续借不算新的借出。")
    uses = ("from", "to")

    def sessions(self, f: ReportFilter) -> QuerySet:
        titles = Event.books.through.objects.filter(event=OuterRef("event"))
        after = _around("after")
        attended = Attendance.objects.filter(event=OuterRef(OuterRef("event")),
                                             occurrence=OuterRef(OuterRef("recurrence_id")),
                                             user=OuterRef("patron"))
        attendees = Attendance.objects.filter(event=OuterRef("event"), occurrence=OuterRef("recurrence_id"))
        return (held(f).filter(Exists(titles))
                .annotate(_before=F("start") - AROUND, _after=F("start") + AROUND)
                .annotate(_titles=_count(titles), _attendees=_count(attendees),
                          _loans_before=_count(_around("before")),
                          _loans_after=_count(after),
                          _by_attendees=_count(after.filter(Exists(attended)))))

    def tables(self, f: ReportFilter) -> list[Table]:
        table = Table(
            "sessions", _("各场次"),
            [Column("start", _("开始"), "datetime"), Column("title", pgettext("report column", "活动"), "text"),
             Column("kind", _("类型"), "text"),
             Column("titles", _("书目种数")), Column("before", _("开始前 30 天借出")),
             Column("after", _("开始后 30 天借出")), Column("by_attendees", _("其中签到者借出"))],
            chart=Chart(x="title", series=(Series("before"), Series("after")), horizontal=True),
            note=_("其中签到者借出：开始后 30 天的借出中，借书人签到参加了这一场的次数；签到不足 %(n)s 人的场次只有馆员能看到"
                   "（其他人看到的是“—”：少数几个人是否借了书，就是他们个人的阅读）。") % {"n": settings.REPORT_MIN_GROUP},
        )
        labels = kind_labels()
        for occ in (self.sessions(f).values(*SESSION_COLUMNS, "_titles", "_loans_before", "_loans_after",
                                            "_attendees", "_by_attendees").order_by("start", "event_id")):
            link = {"figure": "loans", **session_key(occ)}
            # Of one or two attendees, "borrowed by attendees" (0 included) is what those people read.
            hidden = 0 < occ["_attendees"] < f.min_group
            table.add([occ["start"], occ["title"], labels.get(occ["kind"], occ["kind"]), occ["_titles"], occ["_loans_before"],
                       occ["_loans_after"], None if hidden else occ["_by_attendees"]],
                      {"before": {**link, "when": "before"}, "after": {**link, "when": "after"}},
                      {"title": ("event", occ["event_id"])})
        return [table]

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        param(params, "figure", ("loans",))
        when = param(params, "when", ("before", "after"))
        event, occurrence = _event_id(params), _occurrence(params)
        session = held(f).filter(event_id=event, recurrence_id=occurrence).first()
        if session is None:
            raise InvalidInput("occurrence", _("时间范围内没有这一场活动"))
        rows = Loan.objects.filter(book__events=event)
        if when == "before":
            rows = rows.filter(borrowed_at__gte=session.start - AROUND, borrowed_at__lt=session.start)
        else:
            rows = rows.filter(borrowed_at__gte=session.start, borrowed_at__lt=session.start + AROUND)
        return _loan_records(_("活动书目的借阅"), rows)


REPORTS: tuple[Report, ...] = (OccurrencesReport(), AttendanceReport(), WaitlistReport(), DivisionAttendanceReport(),
                               ReadingListReport())
