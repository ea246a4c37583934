"""The events and readers reports, a person's year and the annual summary over a known history
(tests/reports/event_history.py): every figure exact, the records behind figures, the pages, and who may see what.
Runs on SQLite and PostgreSQL alike (``DATABASE_URL``)."""

import io
from datetime import UTC, date, datetime

import lxml.html
import openpyxl
import pytest
from django.test import Client, override_settings

from events import services as events
from events.selectors import session_rosters
from reports.filters import FilterForm
from reports.reader_reports import reading_year, reading_years
from reports.registry import REPORTS
from tests.conftest import ApiClient, make_user
from tests.reports import event_history
from tests.reports.history import RANGE, at, history_fixtures

#: The history, built once for the module; each test runs in a savepoint of it.
shared_history, world = history_fixtures(event_history.build)


def report_filter(**params):
    form = FilterForm({**RANGE, **params})
    assert form.is_valid(), form.errors
    return form.report_filter()


def rows(slug: str, key: str, **params) -> list[list]:
    return {t.key: t for t in REPORTS[slug].tables(report_filter(**params))}[key].rows


def records(slug: str, link: dict, **params) -> list[list]:
    found = REPORTS[slug].records(report_filter(**params), link)
    return [found.row(obj) for obj in found.queryset]


def api(user) -> ApiClient:
    client = Client()
    client.force_login(user)
    return ApiClient(client=client)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


E4_START, E1_START = utc(2026, 3, 1, 2), utc(2026, 3, 5, 6)
APR, JUN = utc(2026, 4, 10, 7), utc(2026, 6, 10, 7)


# --- occurrences -------------------------------------------------------------------------------------------------


def test_occurrences_by_month_and_kind_count_held_and_cancelled_sessions(world):
    assert rows("event-occurrences", "months") == [
        ["2026-03", "读者沙龙", 1, 0], ["2026-03", "读书活动", 1, 0], ["2026-04", "法官茶座", 1, 0],
        ["2026-05", "法学研讨会", 0, 1], ["2026-05", "法官茶座", 0, 1], ["2026-06", "法官茶座", 1, 0]]
    assert rows("event-occurrences", "kinds") == [
        ["读者沙龙", 1, 0], ["法学研讨会", 0, 1], ["法官茶座", 2, 1], ["读书活动", 1, 0], ["讲座", 0, 0]]


def test_occurrence_records_list_the_sessions_behind_a_figure(world):
    found = records("event-occurrences", {"figure": "occurrences", "kind": "tea_talk"})
    assert [(r[0], r[1], r[4]) for r in found] == [(APR, "法官茶座", "已安排"), (JUN, "法官茶座", "已安排")]
    cancelled = records("event-occurrences", {"figure": "occurrences", "month": "2026-05", "status": "cancelled"})
    assert sorted(r[1] for r in cancelled) == ["法学研讨会：执行难", "法官茶座"]


def test_a_range_leaves_out_the_sessions_outside_it(world):
    assert rows("event-occurrences", "months", **{"from": "2026-04-01", "to": "2026-04-30"}) == [
        ["2026-04", "法官茶座", 1, 0]]


# --- registrations vs capacity vs attendance ------------------------------------------------------------------------


def test_sessions_show_capacity_registrations_waitlist_and_check_ins(world):
    assert rows("event-attendance", "sessions") == [
        [E4_START, "读书活动：刑法学", "读书活动", 30, 2, 0, 1, 6.7, 50.0],
        [E1_START, "读者沙龙：民法典", "读者沙龙", 2, 2, 1, 2, 100.0, 100.0],
        [APR, "法官茶座", "法官茶座", None, 1, 0, 1, None, 100.0],
        [JUN, "法官茶座", "法官茶座", None, 3, 0, 3, None, 100.0],
    ]
    assert rows("event-attendance", "kinds") == [
        ["读者沙龙", 1, 2, 2, 2, 100.0], ["法官茶座", 2, 0, 4, 4, 100.0], ["读书活动", 1, 30, 2, 1, 50.0]]


def test_a_division_counts_only_its_people(world):
    assert [r[4:7] for r in rows("event-attendance", "sessions", division="民事审判庭")] == [
        [1, 0, 0], [1, 1, 1], [1, 0, 1], [1, 0, 1]]


def test_registration_and_check_in_records_name_the_people(world):
    link = {"figure": "registrations", "event": str(world.events["e1"].pk), "occurrence": E1_START.isoformat()}
    assert [(r[3], r[5]) for r in records("event-attendance", link)] == [("张明", "已确认"), ("王芳", "已确认")]
    waiting = records("event-attendance", {**link, "status": "waitlisted"})
    assert [(r[3], r[5]) for r in waiting] == [("赵强", "候补")]
    june = {"figure": "attendance", "event": str(world.events["e2"].pk), "occurrence": JUN.isoformat()}
    assert [(r[3], r[5]) for r in records("event-attendance", june)] == [("张明", ""), ("巴特尔", ""), ("高远", "是")]


# --- waitlist conversions --------------------------------------------------------------------------------------------


def test_waitlist_conversions_by_month_and_kind(world):
    assert rows("event-waitlist", "months") == [["2026-02", 2, 1, 1, 0, 50.0]]
    assert rows("event-waitlist", "kinds") == [["读者沙龙", 2, 1, 1, 0, 50.0]]
    promoted = records("event-waitlist", {"figure": "waitlist", "outcome": "promoted"})
    assert [(r[3], r[5]) for r in promoted] == [("王芳", "已确认")]
    assert promoted[0][6] == utc(2026, 2, 25, 2)


# --- attendance per division -----------------------------------------------------------------------------------------


def test_attendance_per_division(world):
    assert rows("event-divisions", "divisions") == [
        ["执行局", 2, 1], ["政治部", 1, 1], ["民事审判庭", 3, 1], ["院领导", 1, 1]]
    assert rows("event-divisions", "kinds") == [
        ["执行局", "法官茶座", 1, 1], ["执行局", "读书活动", 1, 1], ["政治部", "读者沙龙", 1, 1],
        ["民事审判庭", "读者沙龙", 1, 1], ["民事审判庭", "法官茶座", 2, 1], ["院领导", "法官茶座", 1, 1]]


def test_a_session_still_to_come_has_no_turnout_and_leaves_its_kinds_rate_alone(world):
    """Tonight's session showed 到场率 0.0% (nobody can have come yet) and pulled its kind's rate down (routine walk)."""
    june = {"from": "2026-06-01", "to": "2026-06-15"}
    before = {r[0]: r for r in rows("event-attendance", "kinds", **june)}
    tonight = events.event_create(data=events.EventData(
        title="法官茶座：今晚", kind="tea_talk", start=at(2026, 6, 15, 19), end=at(2026, 6, 15, 20), capacity=10),
        actor=world.users["org"])
    events.registration_create(event=tonight, user=world.users["j1"])

    sessions = rows("event-attendance", "sessions", **june)
    after = {r[0]: r for r in rows("event-attendance", "kinds", **june)}

    assert sessions[-1] == [utc(2026, 6, 15, 11), "法官茶座：今晚", "法官茶座", 10, 1, 0, 0, 10.0, None]
    assert after["法官茶座"][1:5] == [before["法官茶座"][1] + 1, before["法官茶座"][2] + 10,
                                   before["法官茶座"][3] + 1, before["法官茶座"][4]]
    assert after["法官茶座"][5] == before["法官茶座"][5]  # the rate of the sessions held


def test_a_session_moved_across_a_month_boundary_counts_its_check_ins_at_its_new_start(world):
    """The tea talk of 10 June (j1, j2 and mgr checked in) moved to 31 May afterwards: its three check-ins are
    May's everywhere — 报名与签到 (the session's row), the annual summary, 各部门参加活动, 活跃读者 and j1's year —
    as the session is, not lost between its original start's month and its new one's."""
    events.override_set(event=world.events["e2"], actor=world.users["org"], recurrence_id=JUN,
                        changes={"start": at(2026, 5, 31, 15)}, force=True)
    may, moved = {"from": "2026-05-01", "to": "2026-05-31"}, utc(2026, 5, 31, 7)

    assert rows("event-attendance", "sessions", **may) == [[moved, "法官茶座", "法官茶座", None, 3, 0, 3, None, 100.0]]
    headline = {r[0]: r[1] for r in rows("annual", "headline", **may)}
    assert (headline["举办活动（场）"], headline["活动签到（人次）"], headline["参加活动（人）"]) == (1, 3, 3)
    assert rows("annual", "months", **may) == [["2026-05", 1, 3]]
    assert rows("annual", "kinds", **may) == [["法官茶座", 1, 3]]
    assert rows("event-divisions", "divisions", **may) == [["执行局", 1, 1], ["民事审判庭", 1, 1], ["院领导", 1, 1]]
    assert rows("readers", "divisions", **may) == [
        ["办公室", 1, 0, 0, 0, 0.0], ["执行局", 1, 1, 1, 1, 100.0], ["政治部", 1, 0, 0, 0, 0.0],
        ["民事审判庭", 2, 0, 1, 1, 50.0], ["院领导", 1, 0, 1, 1, 100.0], ["全院", 6, 1, 3, 3, 50.0]]
    months, _books, _papers, attended = reading_year(world.users["j1"], 2026, date(2026, 6, 15))
    assert [r[3] for r in months.rows] == [0, 0, 1, 1, 1, 0, 3]
    assert attended.rows[-1] == [moved, "法官茶座", "法官茶座"]
    # The month of its original start no longer holds it.
    june = {"from": "2026-06-01", "to": "2026-06-15"}
    assert rows("event-attendance", "sessions", **june) == []
    assert rows("annual", "months", **june) == [["2026-06", 0, 0]]


def test_a_single_event_moved_after_it_was_held_keeps_its_registrations_and_check_ins(world):
    """The salon E1 (5 March 14:00; j1 and org checked in, j3 waitlisted) has its date corrected to 6 March through
    the API afterwards: its check-ins are keyed by a single event's start (``Attendance.occurrence``), so they follow
    it (``services.event_start_moved``) and still count — on 6 March — in 报名与签到, 各部门参加活动, the organizer's
    attendee list and page and j1's year; before, they no longer matched the session and dropped out of all of them."""
    e1, org = world.events["e1"], world.users["org"]
    moved = utc(2026, 3, 6, 6)
    response = api(org).patch(f"/api/v1/events/{e1.pk}?force=true", {
        "start": at(2026, 3, 6, 14).isoformat(), "end": at(2026, 3, 6, 16).isoformat()})
    assert response.status_code == 200, response.content

    assert rows("event-attendance", "sessions")[:2] == [
        [E4_START, "读书活动：刑法学", "读书活动", 30, 2, 0, 1, 6.7, 50.0],
        [moved, "读者沙龙：民法典", "读者沙龙", 2, 2, 1, 2, 100.0, 100.0]]
    checked = {"figure": "attendance", "event": str(e1.pk), "occurrence": moved.isoformat()}
    assert sorted(r[3] for r in records("event-attendance", checked)) == ["张明", "王芳"]
    assert rows("event-divisions", "divisions") == [
        ["执行局", 2, 1], ["政治部", 1, 1], ["民事审判庭", 3, 1], ["院领导", 1, 1]]
    assert rows("event-divisions", "kinds")[2:4] == [["政治部", "读者沙龙", 1, 1], ["民事审判庭", "读者沙龙", 1, 1]]
    # The organizer's attendee list and page: two of the three registered came, on the new date.
    e1.refresh_from_db()
    session = events.session_of(e1, None)
    roster = session_rosters(e1, [session])[0][1]
    assert session.start == moved
    assert sorted((r["user"], r["status"], r["checked_in_at"] is not None) for r in roster) == [
        ("j1", "confirmed", True), ("j3", "waitlisted", False), ("org", "confirmed", True)]
    client = Client()
    client.force_login(org)
    page = client.get(f"/organize/{e1.pk}/attendees").content.decode()
    assert "已签到 2 / 2 · 候补 1 人" in page and "2026-03-06" in page  # the waitlisted j3 is not expected
    # j1's year: the salon is March's, at its new start, on /me/reading too.
    months, _books, _papers, attended = reading_year(world.users["j1"], 2026, date(2026, 6, 15))
    assert months.rows[2] == ["2026-03", 1, 1, 1, 2, 1] and months.rows[-1] == ["全年", 3, 3, 3, 2, 1]
    assert attended.rows[0] == [moved, "读者沙龙：民法典", "读者沙龙"]
    client.force_login(world.users["j1"])
    reading = lxml.html.fromstring(client.get("/me/reading", {"year": "2026"}).content.decode())
    assert [td.text_content().strip() for td in reading.xpath('//table[@id="table-events"]/tbody/tr[1]/td')][1:] == [
        "读者沙龙：民法典", "读者沙龙"]
    assert "2026-03-06" in reading.xpath('//table[@id="table-events"]/tbody/tr[1]/td')[0].text_content()


# --- reading lists around their event --------------------------------------------------------------------------------


def test_reading_list_loans_in_the_30_days_before_and_after(world):
    assert rows("event-reading", "sessions") == [
        [E4_START, "读书活动：刑法学", "读书活动", 1, 0, 1, 0],
        [E1_START, "读者沙龙：民法典", "读者沙龙", 1, 1, 1, 1],
    ]
    link = {"figure": "loans", "event": str(world.events["e1"].pk), "occurrence": E1_START.isoformat()}
    assert [(r[0], r[4]) for r in records("event-reading", {**link, "when": "before"})] == [
        (utc(2026, 2, 12, 2), "王芳")]
    assert [(r[0], r[4]) for r in records("event-reading", {**link, "when": "after"})] == [
        (utc(2026, 3, 31, 16, 30), "王芳")]


def test_by_attendees_of_a_session_with_fewer_attendees_than_the_minimum_is_blank_for_non_librarians(world):
    """其中签到者借出 of a session of one or two attendees tells an organizer whether those people borrowed the list's
    books: below REPORT_MIN_GROUP (3) attendees it is blank (None, "—") for everyone but librarians, a 0 too (E4's
    one attendee did not borrow b2); with the minimum at 2, E1's two attendees show their 1 again."""
    query = "/api/v1/reports/event-reading?from=2026-01-01&to=2026-06-15"
    assert [r[6] for r in table_rows(api(world.users["lib"]).get(query), "sessions")] == [0, 1]
    for user in ("org", "mgr"):
        assert [r[4:7] for r in table_rows(api(world.users[user]).get(query), "sessions")] == [[0, 1, None],
                                                                                               [1, 1, None]]
    with override_settings(REPORT_MIN_GROUP=2):
        assert [r[6] for r in table_rows(api(world.users["org"]).get(query), "sessions")] == [None, 1]
    client = Client()
    client.force_login(world.users["org"])
    page = client.get("/reports/event-reading", RANGE).content.decode()
    cells = [td.text_content().strip() for td in lxml.html.fromstring(page).xpath(
        '//table[@id="table-sessions"]/tbody/tr/td[last()]')]
    assert cells == ["—", "—"] and "签到不足 3 人的场次" in page


# --- readers ------------------------------------------------------------------------------------------------------------


def test_active_readers_per_division(world):
    assert rows("readers", "divisions") == [
        ["办公室", 1, 0, 0, 0, 0.0], ["执行局", 1, 1, 1, 1, 100.0], ["政治部", 1, 1, 1, 1, 100.0],
        ["民事审判庭", 2, 1, 1, 1, 50.0], ["院领导", 1, 0, 1, 1, 100.0], ["全院", 6, 3, 4, 4, 66.7]]


def test_a_judges_year_in_reading(world):
    months, books, papers, events = reading_year(world.users["j1"], 2026, date(2026, 6, 15))
    # month, loans, titles, sessions attended, papers on their reading lists, papers whose full text was downloaded
    # E1's reading list holds two papers: one session attended, two papers (a check-in is counted once, however
    # many papers its event lists).
    assert months.rows == [["2026-01", 1, 1, 0, 0, 1], ["2026-02", 0, 0, 0, 0, 0], ["2026-03", 1, 1, 1, 2, 1],
                           ["2026-04", 1, 1, 1, 0, 0], ["2026-05", 0, 0, 0, 0, 0], ["2026-06", 0, 0, 1, 0, 0],
                           ["全年", 3, 3, 3, 2, 1]]
    assert [r[0] for r in books.rows] == ["民法典评注", "刑法学", "公司法"]
    assert papers.rows == [["民法典适用调研", "调研课题", 2, utc(2026, 1, 10, 2)]]
    assert events.rows == [[E1_START, "读者沙龙：民法典", "读者沙龙"], [APR, "法官茶座", "法官茶座"],
                           [JUN, "法官茶座", "法官茶座"]]
    last_year = reading_year(world.users["j1"], 2025, date(2026, 6, 15))
    assert last_year[0].rows[2] == ["2025-03", 1, 1, 0, 0, 0]
    assert last_year[0].rows[4] == ["2025-05", 0, 0, 0, 0, 1]
    assert last_year[0].rows[-1] == ["全年", 1, 1, 0, 0, 1]
    assert last_year[2].rows == [["民法典适用调研", "调研课题", 1, utc(2025, 5, 10, 2)]]
    # Downloads are the reader's own: j2's year shows their one download, org's the April one (00:30 Beijing).
    assert reading_year(world.users["j2"], 2026, date(2026, 6, 15))[0].rows[-1][-1] == 1
    assert [r[-1] for r in reading_year(world.users["org"], 2026, date(2026, 6, 15))[0].rows] == [0, 0, 0, 1, 0, 0, 1]


def test_the_years_offered_start_with_the_year_of_the_first_loan_in_beijing(world):
    """j3's first loan at 00:30 on 1 January 2025 in Beijing (16:30 on 31 December 2024 in UTC) is 2025's: the year
    selector offers 2026 and 2025, not 2024."""
    from library import circulation
    from library.models import Copy

    j3 = world.users["j3"]
    circulation.loan_checkout(patron=j3, actor=world.users["lib"], copy=Copy.objects.get(barcode="C5"),
                              now=at(2025, 1, 1, 0, 30))
    assert reading_years(j3, date(2026, 6, 15)) == [2026, 2025]


# --- most downloaded papers -------------------------------------------------------------------------------------------


def test_most_downloaded_papers_and_kinds(world):
    # rank, title, kind, year, downloads, distinct readers (the anonymous download counts, not as a reader)
    assert rows("top-papers", "papers") == [[1, "民法典适用调研", "调研课题", 2025, 3, 2],
                                            [2, "执行案款管理研究", "论文", 2024, 2, 1],
                                            [3, "一起借贷纠纷的评析", "案例分析", 2026, 1, 1]]
    # kind, downloads, papers, readers
    assert rows("top-papers", "kinds") == [["调研课题", 3, 1, 2], ["论文", 2, 1, 1], ["案例分析", 1, 1, 1]]
    assert rows("top-papers", "papers", top="1") == [[1, "民法典适用调研", "调研课题", 2025, 3, 2]]
    # April in Beijing: org's download at 00:30 on 1 April is in a range starting that day.
    assert rows("top-papers", "papers", **{"from": "2026-04-01", "to": "2026-06-15"}) == [
        [1, "执行案款管理研究", "论文", 2024, 1, 1], [2, "一起借贷纠纷的评析", "案例分析", 2026, 1, 1]]
    # A division counts its readers' downloads only (j1 and j3 are 民事审判庭; anonymous downloads have none).
    assert rows("top-papers", "papers", division="民事审判庭") == [[1, "民法典适用调研", "调研课题", 2025, 2, 1],
                                                                [2, "一起借贷纠纷的评析", "案例分析", 2026, 1, 1]]


def test_download_records_name_the_readers_for_librarians_only(world):
    p1, p2 = world.events["p1"], world.events["p2"]
    assert records("top-papers", {"figure": "paper", "paper": str(p1.pk)}) == [
        [utc(2026, 1, 10, 2), "民法典适用调研", "张明", "民事审判庭"],
        [utc(2026, 1, 12, 2), "民法典适用调研", "巴特尔", "执行局"],
        [utc(2026, 3, 2, 2), "民法典适用调研", "张明", "民事审判庭"]]
    assert records("top-papers", {"figure": "kind", "kind": "article"}) == [
        [utc(2026, 2, 1, 2), "执行案款管理研究", "（未登录）", ""],
        [utc(2026, 3, 31, 16, 30), "执行案款管理研究", "王芳", "政治部"]]
    link = {**RANGE, "figure": "paper", "paper": str(p2.pk)}
    for user, status in (("lib", 200), ("mgr", 403), ("org", 403), ("j1", 403)):
        client = Client()
        client.force_login(world.users[user])
        assert client.get("/reports/top-papers/records", link).status_code == status
        assert api(world.users[user]).get("/api/v1/reports/top-papers/records", link).status_code == status
    mgr = Client()
    mgr.force_login(world.users["mgr"])
    page = mgr.get("/reports/top-papers", RANGE)
    assert page.status_code == 200 and "执行案款管理研究" in page.content.decode()
    assert "/reports/top-papers/records?" not in page.content.decode()  # counts only: no links to the people


@pytest.mark.parametrize(("link", "field"), [({"figure": "paper", "paper": "x"}, "paper"),
                                             ({"figure": "kind", "kind": "poem"}, "kind"),
                                             ({"figure": "downloads"}, "figure")])
def test_a_bad_download_figure_is_refused_naming_the_parameter(world, link, field):
    found = api(world.users["lib"]).get("/api/v1/reports/top-papers/records", {**RANGE, **link})
    assert (found.status_code, [e["field"] for e in found.json()["detail"]]) == (422, [field])


def test_every_link_of_every_table_leads_to_as_many_records_as_its_figure(world):
    """Over the events history (the library's is checked in test_library_reports.py): a figure and the list
    behind it agree."""
    checked = 0
    f = report_filter()
    for slug, report in REPORTS.items():
        for table in report.tables(f):
            for row, links in zip(table.rows, table.links, strict=True):
                for column, link in links.items():
                    assert len(records(slug, link)) == row[table.column_index(column)], (slug, table.key, row, column)
                    checked += 1
    assert checked > 100


# --- the annual summary -----------------------------------------------------------------------------------------------


ANNUAL_HEADLINE = [
    ["借出（次）", 7, 1, 600.0], ["归还（次）", 4, 1, 300.0], ["续借（次）", 1, 0, None], ["借书人数", 3, 1, 200.0],
    ["借阅图书（种）", 3, 1, 200.0], ["活跃读者（人）", 4, 1, 300.0], ["举办活动（场）", 4, 0, None],
    ["活动签到（人次）", 7, 0, None], ["参加活动（人）", 4, 0, None]]


def test_annual_summary_headline_and_tables(world):
    assert rows("annual", "headline") == ANNUAL_HEADLINE
    assert rows("annual", "months") == [["2026-01", 2, 0], ["2026-02", 1, 0], ["2026-03", 1, 3], ["2026-04", 2, 1],
                                        ["2026-05", 1, 0], ["2026-06", 0, 3]]
    assert rows("annual", "top") == [[1, "民法典评注", "王利明 等", 4, 3], [2, "刑法学", "张明楷", 2, 2],
                                     [3, "公司法", None, 1, 1]]
    # The papers most read (full-text downloads), as 调研成果下载排行 counts them.
    assert rows("annual", "top_papers") == [[1, "民法典适用调研", 3, 2], [2, "执行案款管理研究", 2, 1],
                                            [3, "一起借贷纠纷的评析", 1, 1]]
    assert rows("annual", "kinds") == [["读者沙龙", 1, 2], ["法官茶座", 2, 4], ["读书活动", 1, 1]]


def test_annual_page_prints_the_year_and_its_xlsx_holds_the_figures(world):
    client = Client()
    client.force_login(world.users["mgr"])
    page = client.get("/reports/annual", {"year": "2026"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "2026 年度阅读报告" in body and 'data-v="600.0"' in body and "/records" not in body
    xlsx = client.get("/reports/annual/headline.xlsx", {"from": "2026-01-01", "to": "2026-06-15"})
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1:] == ANNUAL_HEADLINE
    assert client.get("/reports/annual", {"year": "1999"}).status_code == 400


# --- who may see what ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "index", "event_page", "library_page", "annual"), [
    ("lib", 200, 200, 200, 200), ("mgr", 200, 200, 200, 200), ("org", 200, 200, 403, 403), ("j1", 403, 403, 403, 403)])
def test_pages_per_role(world, user, index, event_page, library_page, annual):
    client = Client()
    client.force_login(world.users[user])
    assert client.get("/reports/").status_code == index
    assert client.get("/reports/event-attendance", RANGE).status_code == event_page
    assert client.get("/reports/readers", RANGE).status_code == library_page
    assert client.get("/reports/annual").status_code == annual


def test_organizers_and_managers_see_figures_but_not_the_people_behind_them(world):
    link = {**RANGE, "figure": "attendance", "group": "民事审判庭"}
    for user, status in (("lib", 200), ("mgr", 403), ("org", 403)):
        client = Client()
        client.force_login(world.users[user])
        assert client.get("/reports/event-divisions/records", link).status_code == status
        page = client.get("/reports/event-divisions", RANGE).content.decode()
        assert ("/reports/event-divisions/records?" in page) is (user == "lib")


def test_my_year_page_shows_only_my_own_figures(world):
    client = Client()
    client.force_login(world.users["j1"])
    page = client.get("/me/reading", {"year": "2026"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "我的 2026 年阅读" in body and "民法典评注" in body and 'class="chart"' in body
    assert page["Cache-Control"].startswith("max-age=0")
    assert client.get("/me/reading", {"year": "2999"}).status_code == 400
    assert 'action="/me/reading"' in client.get("/me").content.decode()


def test_reading_year_api_is_for_the_person_and_librarians(world):
    j1, j2, lib = world.users["j1"], world.users["j2"], world.users["lib"]
    mine = api(j1).get("/api/v1/reports/me/year?year=2026")
    assert mine.status_code == 200
    assert mine["Cache-Control"].startswith("max-age=0") and "private" in mine["Cache-Control"]  # as /me/reading
    assert mine.json()["tables"][0]["rows"][-1] == ["全年", 3, 3, 3, 2, 1]
    assert [table["totals"] for table in mine.json()["tables"]] == [1, 0, 0, 0]  # months end with 全年
    assert api(j2).get(f"/api/v1/reports/readers/{j1.pk}/year?year=2026").status_code == 403
    assert api(world.users["mgr"]).get(f"/api/v1/reports/readers/{j1.pk}/year").status_code == 403
    theirs = api(lib).get(f"/api/v1/reports/readers/{j1.pk}/year?year=2026")
    assert theirs.json()["tables"][0]["rows"] == mine.json()["tables"][0]["rows"]
    assert api(j1).get("/api/v1/reports/me/year?year=1990").status_code == 422


def test_a_new_reader_without_profile_counts_under_no_division(world):
    make_user("newbie", "judge")
    assert rows("readers", "divisions")[-2:] == [["（未填部门）", 1, 0, 0, 0, 0.0], ["全院", 7, 3, 4, 4, 57.1]]


def test_the_api_gives_the_events_figures_and_their_records(world):
    lib, org = api(world.users["lib"]), api(world.users["org"])
    found = lib.get("/api/v1/reports/event-waitlist", RANGE).json()
    assert found["tables"][0]["rows"] == [["2026-02", 2, 1, 1, 0, 50.0]]
    link = {"figure": "registrations", "event": str(world.events["e1"].pk), "occurrence": E1_START.isoformat()}
    records_found = lib.get("/api/v1/reports/event-attendance/records", {**RANGE, **link})
    assert records_found.status_code == 200
    assert [r[3] for r in records_found.json()["rows"]] == ["张明", "王芳"]
    assert org.get("/api/v1/reports/event-waitlist", RANGE).json()["tables"][0]["links"] == [{}]
    assert org.get("/api/v1/reports/event-attendance/records", {**RANGE, **link}).status_code == 403
    bad = lib.get("/api/v1/reports/event-attendance/records", {**RANGE, **link, "occurrence": "soon"})
    assert bad.status_code == 422 and "occurrence" in str(bad.json()["detail"])


@pytest.mark.parametrize(("slug", "link", "field"), [
    ("event-attendance", {"figure": "attendance", "occurrence": "0001-01-01T00:00+14:00"}, "occurrence"),
    ("event-attendance", {"figure": "registrations", "occurrence": "9999-12-31T23:00-14:00"}, "occurrence"),
    ("event-reading", {"figure": "loans", "when": "before", "occurrence": "0001-01-01T00:00+14:00"}, "occurrence"),
    ("event-occurrences", {"figure": "occurrences", "month": "9999-12"}, "month"),
    ("event-waitlist", {"figure": "waitlist", "month": "0001-01"}, "month"),
])
def test_an_occurrence_or_month_out_of_range_is_refused_naming_it(world, slug, link, field):
    """A session's start that cannot be put in UTC, a month without a next one or before 1900: 400 on the page,
    422 naming the parameter in the API, never a 500."""
    lib = Client()
    lib.force_login(world.users["lib"])
    query = {**RANGE, "event": str(world.events["e1"].pk), **link}

    page = lib.get(f"/reports/{slug}/records", query)
    found = api(world.users["lib"]).get(f"/api/v1/reports/{slug}/records", query)

    assert (page.status_code, f"{field}：" in page.content.decode()) == (400, True)
    assert (found.status_code, [e["field"] for e in found.json()["detail"]]) == (422, [field])


# --- small divisions: merged for everyone but librarians (REPORT_MIN_GROUP) ------------------------------------------

READERS_ALL = [["办公室", 1, 0, 0, 0, 0.0], ["执行局", 1, 1, 1, 1, 100.0], ["政治部", 1, 1, 1, 1, 100.0],
               ["民事审判庭", 2, 1, 1, 1, 50.0], ["院领导", 1, 0, 1, 1, 100.0], ["全院", 6, 3, 4, 4, 66.7]]


def table_rows(response, key: str) -> list[list]:
    assert response.status_code == 200, response.content
    return {t["key"]: t for t in response.json()["tables"]}[key]["rows"]


@override_settings(REPORT_MIN_GROUP=2)
def test_managers_see_divisions_smaller_than_the_minimum_merged_into_other_divisions(world):
    """办公室, 执行局, 政治部 and 院领导 have one member each: for the manager they are one row 其他部门 (last),
    the sum of theirs; 民事审判庭 (two) stays; the librarian sees every division."""
    query = "/api/v1/reports/readers?from=2026-01-01&to=2026-06-15"
    assert table_rows(api(world.users["lib"]).get(query), "divisions") == READERS_ALL
    assert {t["key"]: t["totals"] for t in api(world.users["lib"]).get(query).json()["tables"]} == {"divisions": 1}
    assert table_rows(api(world.users["mgr"]).get(query), "divisions") == [
        ["民事审判庭", 2, 1, 1, 1, 50.0], ["其他部门", 4, 2, 3, 3, 75.0], ["全院", 6, 3, 4, 4, 66.7]]
    # Check-ins per division (j1 3, j3 0 in 民事审判庭; j2 2, org 1, mgr 1 elsewhere), for managers and organizers.
    events = "/api/v1/reports/event-divisions?from=2026-01-01&to=2026-06-15"
    for user in ("mgr", "org"):
        assert table_rows(api(world.users[user]).get(events), "divisions") == [["民事审判庭", 3, 1], ["其他部门", 4, 3]]
    assert [r[0] for r in table_rows(api(world.users["lib"]).get(events), "divisions")] == [
        "执行局", "政治部", "民事审判庭", "院领导"]
    # Circulation by division: the loans of j2 (L2, L5) and org (L1b, L4) are 其他部门's, j1's (L1, L3, L6)
    # 民事审判庭's; in each month 其他部门 comes last.
    circulation = "/api/v1/reports/circulation?from=2026-01-01&to=2026-06-15&by=division"
    groups = table_rows(api(world.users["mgr"]).get(circulation), "groups")
    assert [(r[0], r[1], r[2]) for r in groups if r[2]] == [
        ("2026-01", "民事审判庭", 1), ("2026-01", "其他部门", 1), ("2026-02", "其他部门", 1),
        ("2026-03", "民事审判庭", 1), ("2026-04", "民事审判庭", 1), ("2026-04", "其他部门", 1),
        ("2026-05", "其他部门", 1)]
    assert {r[1] for r in table_rows(api(world.users["lib"]).get(circulation), "groups")} == {
        "民事审判庭", "执行局", "政治部"}


@override_settings(REPORT_MIN_GROUP=2)
def test_a_small_division_cannot_be_chosen_as_the_filter_by_managers(world):
    """Filtering by a division of one person would show that person's figures: 422 naming ``division`` in the API,
    a form error (400) on the page, for the manager; the librarian may."""
    query = "/api/v1/reports/readers?from=2026-01-01&to=2026-06-15&division=执行局"
    refused = api(world.users["mgr"]).get(query)
    assert refused.status_code == 422 and "division" in str(refused.json()["detail"])
    assert table_rows(api(world.users["lib"]).get(query), "divisions")[0] == ["执行局", 1, 1, 1, 1, 100.0]
    assert table_rows(api(world.users["mgr"]).get(query.replace("执行局", "民事审判庭")), "divisions")[0] == [
        "民事审判庭", 2, 1, 1, 1, 50.0]
    client = Client()
    client.force_login(world.users["mgr"])
    page = client.get("/reports/readers", {**RANGE, "division": "执行局"})
    assert page.status_code == 400 and "其数字计入“其他部门”" in page.content.decode()


def test_by_default_divisions_under_three_people_are_merged_for_the_annual_summary_of_managers(world):
    """REPORT_MIN_GROUP is 3: every division of the history (two people at most) is 其他部门 on the manager's annual
    summary; the librarian's lists them."""
    client = Client()
    client.force_login(world.users["mgr"])
    body = client.get("/reports/annual", {"year": "2026"}).content.decode()
    assert "其他部门" in body and "执行局" not in body and "民事审判庭" not in body
    client.force_login(world.users["lib"])
    body = client.get("/reports/annual", {"year": "2026"}).content.decode()
    assert "其他部门" not in body and "执行局" in body and "民事审判庭" in body
