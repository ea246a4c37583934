"""The library's reports over a known history (tests/reports/history.py): every figure exact, the records behind
figures, the filter's checks, the same figures on the page, in the XLSX and CSV files and in the API, and who may
see what.  Runs on SQLite and PostgreSQL alike (``DATABASE_URL``)."""

import csv
import io
from urllib.parse import parse_qsl, urlsplit

import lxml.html
import openpyxl
import pytest
from django.test import Client

from reports.filters import FilterForm
from reports.registry import REPORTS
from tests.conftest import ApiClient
from tests.reports import history
from tests.reports.history import RANGE, history_fixtures

#: The history, built once for the module; each test runs in a savepoint of it.
shared_history, world = history_fixtures(history.build)


def tables(slug: str, **params) -> dict:
    form = FilterForm({**RANGE, **params})
    assert form.is_valid(), form.errors
    return {t.key: t for t in REPORTS[slug].tables(form.report_filter())}


def rows(slug: str, key: str, **params) -> list[list]:
    return tables(slug, **params)[key].rows


def records(slug: str, link: dict, **params) -> list[list]:
    form = FilterForm({**RANGE, **params})
    assert form.is_valid(), form.errors
    found = REPORTS[slug].records(form.report_filter(), link)
    return [found.row(obj) for obj in found.queryset]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the figures -----------------------------------------------------------------------------------------------


def test_circulation_counts_each_month_and_the_same_month_last_year(world):
    assert rows("circulation", "months") == [
        # month, loans, returns, renewals, holds placed, holds filled, then the same five a year earlier
        ["2026-01", 2, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        ["2026-02", 1, 1, 0, 1, 1, 0, 0, 0, 0, 0],
        ["2026-03", 1, 3, 0, 1, 1, 1, 1, 0, 1, 0],
        ["2026-04", 2, 0, 0, 1, 0, 0, 0, 0, 0, 0],  # L4 at 00:30 on 1 April in Beijing is April's
        ["2026-05", 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ["2026-06", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]


def test_circulation_by_location_division_and_role(world):
    assert rows("circulation", "groups") == [
        ["2026-01", "棋盘井法庭", 1, 0, 0, 0, 0, 0],
        ["2026-01", "院本部", 1, 0, 1, 0, 0, 0],
        ["2026-02", "院本部", 1, 1, 0, 1, 1, 0],
        ["2026-03", "棋盘井法庭", 0, 1, 0, 0, 0, 0],
        ["2026-03", "院本部", 1, 2, 0, 1, 1, 1],
        ["2026-04", "棋盘井法庭", 1, 0, 0, 0, 0, 0],
        ["2026-04", "院本部", 1, 0, 0, 1, 0, 0],
        ["2026-05", "院本部", 1, 0, 0, 1, 0, 0],
    ]
    assert rows("circulation", "groups", by="division") == [
        ["2026-01", "执行局", 1, 0, 0, 0, 0, 0],
        ["2026-01", "民事审判庭", 1, 0, 1, 0, 0, 0],
        ["2026-02", "政治部", 1, 0, 0, 1, 1, 0],
        ["2026-02", "民事审判庭", 0, 1, 0, 0, 0, 0],
        ["2026-03", "执行局", 0, 1, 0, 0, 0, 0],
        ["2026-03", "政治部", 0, 1, 0, 0, 0, 0],
        ["2026-03", "民事审判庭", 1, 1, 0, 1, 1, 1],
        ["2026-04", "执行局", 0, 0, 0, 1, 0, 0],
        ["2026-04", "政治部", 1, 0, 0, 0, 0, 0],
        ["2026-04", "民事审判庭", 1, 0, 0, 0, 0, 0],
        ["2026-05", "执行局", 1, 0, 0, 0, 0, 0],
        ["2026-05", "民事审判庭", 0, 0, 0, 1, 0, 0],
    ]
    assert rows("circulation", "groups", by="role") == [
        ["2026-01", "法官", 2, 0, 1, 0, 0, 0],
        ["2026-02", "法官", 0, 1, 0, 0, 0, 0],
        ["2026-02", "活动组织者", 1, 0, 0, 1, 1, 0],
        ["2026-03", "法官", 1, 2, 0, 1, 1, 1],
        ["2026-03", "活动组织者", 0, 1, 0, 0, 0, 0],
        ["2026-04", "法官", 1, 0, 0, 1, 0, 0],
        ["2026-04", "活动组织者", 1, 0, 0, 0, 0, 0],
        ["2026-05", "法官", 1, 0, 0, 1, 0, 0],
    ]


def test_circulation_keeps_to_a_location_and_a_division(world):
    assert [r[:2] for r in rows("circulation", "months", location="qpj")] == [
        ["2026-01", 1], ["2026-02", 0], ["2026-03", 0], ["2026-04", 1], ["2026-05", 0], ["2026-06", 0]]
    assert [r[:6] for r in rows("circulation", "months", division="执行局")] == [
        ["2026-01", 1, 0, 0, 0, 0], ["2026-02", 0, 0, 0, 0, 0], ["2026-03", 0, 1, 0, 0, 0],
        ["2026-04", 0, 0, 0, 1, 0], ["2026-05", 1, 0, 0, 0, 0], ["2026-06", 0, 0, 0, 0, 0]]
    # A range that starts mid-month counts from its first day: L1 (5 January) is left out.
    assert rows("circulation", "months", **{"from": "2026-01-10", "to": "2026-01-31"}) == [
        ["2026-01", 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]]


def test_most_borrowed_books_and_classes(world):
    b = world.books
    # The first author tells apart books of one title ("王利明 等": more than one contributor; 公司法 has none).
    assert rows("top-books", "books") == [
        [1, "民法典评注", "王利明 等", b["b1"].call_number, "D923", 4, 3],
        [2, "刑法学", "张明楷", b["b2"].call_number, "D924", 2, 2],
        [3, "公司法", None, b["b3"].call_number, "D922.291", 1, 1],
    ]
    assert rows("top-books", "classes") == [["D 政治、法律", 7, 3, 3]]
    assert [r[1:] for r in rows("top-books", "books", clc="D923")] == [
        ["民法典评注", "王利明 等", b["b1"].call_number, "D923", 4, 3]]
    assert [r[1] for r in rows("top-books", "books", top="1")] == ["民法典评注"]
    assert [r[1] for r in rows("top-books", "books", division="执行局")] == ["民法典评注", "刑法学"]


def test_most_requested_books(world):
    b = world.books
    assert rows("top-requested", "books") == [
        [1, "民法典评注", b["b1"].call_number, 2, 1, 0],
        [2, "刑法学", b["b2"].call_number, 1, 1, 0],
        [3, "公司法", b["b3"].call_number, 1, 0, 0],
    ]


def test_never_borrowed_copies_by_class(world):
    # C7 came after the range's end, C8 is withdrawn; C5 and C6 were never lent.
    assert rows("never-borrowed", "classes") == [
        ["B 哲学、宗教", 1, 1, 100.0], ["D 政治、法律", 4, 0, 0.0], ["T 工业技术", 1, 1, 100.0]]
    assert rows("never-borrowed", "classes", location="qpj") == [["D 政治、法律", 2, 0, 0.0]]
    assert rows("never-borrowed", "classes", to="2026-06-20") == [
        ["B 哲学、宗教", 1, 1, 100.0], ["D 政治、法律", 4, 0, 0.0], ["T 工业技术", 2, 2, 100.0]]
    assert records("never-borrowed", {"figure": "never", "class": "T"}) == [
        ["C5", "计算机基础", world.books["b4"].call_number, "院本部", history.date(2020, 1, 1), "在架"]]


def test_never_borrowed_copies_one_level_below_a_chosen_class(world):
    """Weeding in D92 reads D922, D923, D924 (not "D 政治、法律" again); a number that goes no deeper than the chosen
    class is its own row; each row leads to its copies."""
    assert rows("never-borrowed", "classes", clc="D92") == [
        ["D922 行政法", 1, 0, 0.0], ["D923 民法", 2, 0, 0.0], ["D924 刑法", 1, 0, 0.0]]
    assert rows("never-borrowed", "classes", clc="T", to="2026-06-20") == [["TP 自动化技术、计算机技术", 2, 2, 100.0]]
    assert rows("never-borrowed", "classes", clc="TP3") == [["TP3（本类，未再细分）", 1, 1, 100.0]]
    assert [r[0] for r in records("never-borrowed", {"figure": "never", "class": "TP"}, clc="T", to="2026-06-20")] == [
        "C5", "C7"]
    assert tables("never-borrowed", clc="D92")["classes"].columns[0].label == "中图法类目"


def test_overdue_aging(world):
    # Today is 2026-06-15: L5 due 06-11 (4 days), L6 due 05-26 (20 days), L4 due 05-01 (45 days).
    # The last row adds them up: every overdue loan, each reader once.
    assert rows("overdue", "buckets") == [["1–7 天", 1, 1], ["8–30 天", 1, 1], ["31 天以上", 1, 1], ["合计", 3, 3]]
    assert tables("overdue")["buckets"].totals == 1
    assert rows("overdue", "groups") == [["棋盘井法庭", 0, 1, 0, 1], ["院本部", 1, 0, 1, 2]]
    assert rows("overdue", "groups", by="division") == [
        ["执行局", 1, 0, 0, 1], ["政治部", 0, 0, 1, 1], ["民事审判庭", 0, 1, 0, 1]]
    assert [r[-1] for r in records("overdue", {"figure": "overdue", "bucket": "31+"})] == [
        history.at(2026, 4, 1, 0, 30)]
    assert [r[2] for r in records("overdue", {"figure": "overdue", "by": "location", "group": "院本部"})] == ["C1", "C3"]


def test_the_overdue_list_to_chase_puts_the_longest_overdue_first_with_the_readers_contacts(world):
    """The total's list holds every overdue loan, the longest overdue first, with the days overdue and the reader's
    phone and e-mail."""
    from django.contrib.auth import get_user_model

    from accounts.models import Profile

    Profile.objects.filter(user=world.users["org"]).update(phone="0477-1234567")
    get_user_model().objects.filter(pk=world.users["j2"].pk).update(email="batu@court.example")
    found = records("overdue", {"figure": "overdue"})
    assert [r[:9] for r in found] == [
        [history.date(2026, 5, 1), 45, "C1", "民法典评注", "王芳", "政治部", "0477-1234567", "", "院本部"],
        [history.date(2026, 5, 26), 20, "C4", "公司法", "张明", "民事审判庭", "", "", "棋盘井法庭"],
        [history.date(2026, 6, 11), 4, "C3", "刑法学", "巴特尔", "执行局", "", "batu@court.example", "院本部"]]


def test_hold_wait_median_and_p90(world):
    # placed → ready: H2 4 h, H3 2 d, H1 9 d; ready → collected: H1 2 d, H2 8 d 20 h; placed → collected: 9 d, 11 d.
    assert rows("hold-wait", "stages") == [
        ["提出预约 → 到书", 3, 2.0, 7.6], ["到书 → 取走", 2, 5.42, 8.15], ["提出预约 → 取走", 2, 10.0, 10.8]]
    assert rows("hold-wait", "locations") == [["院本部", 4, 3, 2, 10.0, 10.8]]
    assert rows("hold-wait", "stages", **{"from": "2026-04-01"}) == [
        ["提出预约 → 到书", 1, 2.0, 2.0], ["到书 → 取走", 0, None, None], ["提出预约 → 取走", 0, None, None]]


def test_pull_list_lead_time(world):
    # H2 listed 03-01 10:00, pulled 14:00 (main); H3 listed 04-20 10:00, pulled 04-21 10:00 (qpj).  H4 was never
    # pulled (cancelled) and H0 is last year's.
    assert rows("pull-lead", "locations") == [
        ["棋盘井法庭", 1, 24.0, 24.0], ["院本部", 1, 4.0, 4.0], ["全部", 2, 14.0, 22.0]]
    assert tables("pull-lead")["locations"].totals == 1  # 全部 is the footer, not a bar beside the places it sums
    assert records("pull-lead", {"figure": "pulled", "group": "棋盘井法庭"}) == [
        [history.at(2026, 4, 20), history.at(2026, 4, 21), 24.0, "C4", "公司法", "棋盘井法庭"]]


def test_records_behind_circulation_figures(world):
    loans = records("circulation", {"figure": "loans", "month": "2026-04"})
    assert [(r[0], r[2], r[4], r[5]) for r in loans] == [
        (history.at(2026, 4, 1, 0, 30), "C1", "王芳", "政治部"), (history.at(2026, 4, 26), "C4", "张明", "民事审判庭")]
    assert [r[2] for r in records("circulation", {"figure": "loans", "month": "2025-03", "year": "last"})] == ["C1"]
    assert [r[2] for r in records("circulation", {"figure": "returns", "month": "2026-03", "by": "location",
                                                  "group": "院本部"})] == ["C1", "C3"]
    assert [r[1] for r in records("circulation", {"figure": "renewals", "month": "2026-01"})] == ["C1"]
    assert [r[4] for r in records("circulation", {"figure": "holds_filled", "month": "2026-02"})] == ["民法典评注"]
    assert [r[6] for r in records("circulation", {"figure": "loans", "month": "2026-01", "by": "role",
                                                  "group": "judge"})] == ["院本部", "棋盘井法庭"]


def test_every_link_of_every_table_leads_to_as_many_records_as_its_figure(world):
    """A figure and the list behind it agree: the count of records is the number in the cell."""
    checked = 0
    for slug in REPORTS:
        for table in tables(slug).values():
            for row, links in zip(table.rows, table.links, strict=True):
                for column, link in links.items():
                    figure = row[table.column_index(column)]
                    assert len(records(slug, link)) == figure, (slug, table.key, row, column)
                    checked += 1
    assert checked > 100


@pytest.mark.parametrize("params", [{}, {"clc": "D92"}, {"clc": "D9"}, {"clc": "T", "to": "2026-06-20"},
                                    {"clc": "TP3"}])
def test_every_never_borrowed_link_opens_through_the_api(world, params):
    """With a class chosen the rows are one level below it (D92: D923, D922.2 …): each row's ``links`` entry, as the
    API gives it, opens its records through the API (``class`` was at most two characters there)."""
    lib = ApiClient(client=client_for(world.users["lib"]))
    query = {**RANGE, **params}
    found = {t["key"]: t for t in lib.get("/api/v1/reports/never-borrowed", query).json()["tables"]}["classes"]
    opened = []
    for row, links in zip(found["rows"], found["links"], strict=True):
        for column, link in links.items():
            response = lib.get("/api/v1/reports/never-borrowed/records", {**query, **link})
            assert response.status_code == 200, (link, response.json())
            opened.append((link["class"], response.json()["count"], row[[c["key"] for c in found["columns"]].index(column)]))
    assert opened and all(count == figure for _code, count, figure in opened)
    assert len({code for code, *_rest in opened}) == len(opened)


def test_the_records_behind_a_figure_are_never_cached(world):
    """Records name readers: the page, its files and the API answer ``private, no-store`` (as /me/reading does), so no
    shared cache keeps a copy and the browser does not show one after logout."""
    lib = client_for(world.users["lib"])
    link = {**RANGE, "figure": "loans", "month": "2026-01"}
    for response in (lib.get("/reports/circulation/records", link), lib.get("/reports/circulation/records.csv", link),
                     lib.get("/reports/circulation/records.xlsx", link),
                     ApiClient(client=lib).get("/api/v1/reports/circulation/records", link)):
        assert response.status_code == 200
        assert {"private", "no-store", "max-age=0"} <= {part.strip() for part in response["Cache-Control"].split(",")}


# --- the filter -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
    ({"from": "2010-01-01", "to": "2026-01-01"}, "to"), ({"location": "nowhere"}, "location"),
    ({"division": "没有的庭"}, "division"), ({"by": "colour"}, "by"), ({"clc": "中文"}, "clc"), ({"top": "0"}, "top"),
    ({"top": "101"}, "top"),
])
def test_a_bad_filter_is_refused_naming_the_field(world, params, field):
    lib = world.users["lib"]
    slug = "top-books" if field in ("clc", "top") else "circulation"  # a report whose form shows the field

    page = client_for(lib).get(f"/reports/{slug}", params)
    api = ApiClient(client=client_for(lib)).get(f"/api/v1/reports/{slug}", params)

    assert page.status_code == 400
    errors = lxml.html.fromstring(page.content.decode()).xpath(f'//input[@name="{field}"]/../span | '
                                                                f'//select[@name="{field}"]/../span')
    assert [e.text_content().strip() != "" for e in errors] == [True]
    assert api.status_code == 422
    assert [e["field"] for e in api.json()["detail"]] == [field]


#: Today (2026-06-15) and a year: the latest date a filter may name.
BOUNDS = "1900-01-01 至 2027-06-16"


@pytest.mark.parametrize(("slug", "params", "fields"), [
    ("circulation", {"from": "0001-01-01", "to": "0001-06-01"}, ["from", "to"]),
    ("circulation", {"to": "0001-06-01"}, ["to"]),
    ("circulation", {"from": "1899-12-31", "to": "1900-06-01"}, ["from"]),
    ("top-books", {"from": "9999-01-01", "to": "9999-12-31"}, ["from", "to"]),
    ("top-books", {"from": "2027-06-01", "to": "2027-06-17"}, ["to"]),
    ("annual", {"from": "9999-01-01", "to": "9999-12-31"}, ["from", "to"]),
])
def test_dates_out_of_bounds_are_refused_naming_the_field_and_the_bounds(world, slug, params, fields):
    """A date before 1900 or more than a year after today is a form error on the page (400, the bounds said) and
    a 422 naming the field in the API, never a 500 (year 1 and 9999 overflowed a year before or a day after)."""
    lib = client_for(world.users["lib"])

    page = lib.get(f"/reports/{slug}", params)
    api = ApiClient(client=lib).get(f"/api/v1/reports/{slug}", params)

    assert (page.status_code, BOUNDS in page.content.decode()) == (400, True)
    assert api.status_code == 422
    assert [e["field"] for e in api.json()["detail"]] == fields
    assert [e["loc"] for e in api.json()["detail"]] == [["query", field] for field in fields]  # not "body"
    assert {e["msg"] for e in api.json()["detail"]} == {f"日期应在 {BOUNDS}（今天之后一年）之间"}


def test_the_bounds_themselves_are_accepted(world):
    assert rows("circulation", "months", **{"from": "1900-01-01", "to": "1900-02-28"}) == [
        ["1900-01", *[0] * 10], ["1900-02", *[0] * 10]]
    assert rows("top-books", "books", **{"from": "2027-01-01", "to": "2027-06-16"}) == []
    assert FilterForm({"to": "1900-05-31"}).is_valid()  # the default start (eleven months before) stops at 1900


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1899-12", "0000-01", "2026-13"])
def test_a_records_month_out_of_bounds_is_refused_naming_month(world, month):
    lib = client_for(world.users["lib"])
    link = {**RANGE, "figure": "loans", "month": month}

    page = lib.get("/reports/circulation/records", link)
    api = ApiClient(client=lib).get("/api/v1/reports/circulation/records", link)

    assert (page.status_code, "month：" in page.content.decode()) == (400, True)
    assert (api.status_code, [e["field"] for e in api.json()["detail"]]) == (422, ["month"])


def test_the_default_range_is_the_last_twelve_months(world):
    form = FilterForm({})
    assert form.is_valid()
    f = form.report_filter()
    assert (f.start, f.end, len(f.months())) == (history.date(2025, 7, 1), history.date(2026, 6, 15), 12)


def test_a_bad_figure_is_refused_naming_the_parameter(world):
    lib = client_for(world.users["lib"])

    page = lib.get("/reports/circulation/records", {"figure": "loans", "month": "2026-99"})
    api = ApiClient(client=lib).get("/api/v1/reports/circulation/records", {"figure": "sales", "month": "2026-01"})

    assert page.status_code == 400
    assert "month" in page.content.decode()
    assert (api.status_code, [e["field"] for e in api.json()["detail"]]) == (422, ["figure"])


# --- the page, the files and the API hold the same figures -----------------------------------------------------------


#: The report tables of a page (class "report", and "stack" when laid out as cards on a phone).
REPORT_TABLES = '//table[contains(concat(" ", @class, " "), " report ")]'


def _page_tables(html: str) -> dict[str, list[list[str]]]:
    """Each table's rows as the page shows them: the body's, then the footer's (total rows, their first cell a
    row header)."""
    doc = lxml.html.fromstring(html)
    found = {}
    for table in doc.xpath(REPORT_TABLES):
        found[table.get("id").removeprefix("table-")] = [
            [td.get("data-v") if td.get("data-v") is not None else td.text_content().strip()
             for td in tr.xpath("th|td")]
            for tr in table.xpath("tbody/tr|tfoot/tr")]
    return found


def _as_text(value) -> str:
    return "—" if value is None else str(value)


def test_an_error_in_a_field_the_report_does_not_show_is_named_on_the_page(world):
    page = client_for(world.users["lib"]).get("/reports/circulation", {"top": "0"})

    assert page.status_code == 400
    assert lxml.html.fromstring(page.content.decode()).xpath('//p[@data-field="top"]/text()')[0].startswith("top")


@pytest.mark.parametrize("slug", list(REPORTS))
def test_page_xlsx_csv_and_api_hold_the_same_figures(world, slug):
    lib = client_for(world.users["lib"])
    expected = tables(slug)

    page = lib.get(f"/reports/{slug}", RANGE)
    api = ApiClient(client=lib).get(f"/api/v1/reports/{slug}", RANGE).json()

    assert page.status_code == 200
    shown = _page_tables(page.content.decode())
    assert sorted(shown) == sorted(k for k, t in expected.items() if t.rows)
    for key, table in expected.items():
        header = [str(c.label) for c in table.columns]
        if table.rows:
            assert shown[key] == [[_as_text(v) for v in row] for row in table.rows]
        workbook = openpyxl.load_workbook(io.BytesIO(lib.get(f"/reports/{slug}/{key}.xlsx", RANGE).content))
        sheet = workbook.worksheets[0]
        assert [list(r) for r in sheet.iter_rows(values_only=True)] == [header, *table.rows]
        text = lib.get(f"/reports/{slug}/{key}.csv", RANGE).content.decode("utf-8")
        assert text.startswith("\ufeff")
        assert list(csv.reader(io.StringIO(text[1:]))) == [header, *[["" if v is None else str(v) for v in row]
                                                                     for row in table.rows]]
        out = next(t for t in api["tables"] if t["key"] == key)
        assert (out["columns"][0]["label"], out["rows"]) == (header[0], table.rows)


def test_exports_neutralise_formula_cells(world):
    """A title that a spreadsheet would run (=HYPERLINK…) is text in both files."""
    from library.models import Book

    Book.objects.filter(pk=world.books["b1"].pk).update(title='=HYPERLINK("http://x","y")')
    lib = client_for(world.users["lib"])

    text = lib.get("/reports/top-books/books.csv", RANGE).content.decode("utf-8")
    sheet = openpyxl.load_workbook(io.BytesIO(lib.get("/reports/top-books/books.xlsx", RANGE).content)).worksheets[0]

    assert list(csv.reader(io.StringIO(text[1:])))[1][1] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert sheet.cell(row=2, column=2).value == "'=HYPERLINK(\"http://x\",\"y\")"
    assert sheet.cell(row=2, column=2).data_type == "s"


# --- who sees what ---------------------------------------------------------------------------------------------------


def _links(html: str) -> list[str]:
    """The links of the report tables to the records behind figures (not a title's link to its page)."""
    return [href for href in lxml.html.fromstring(html).xpath(f'{REPORT_TABLES}//a/@href') if "/records?" in href]


def test_librarians_follow_every_figure_to_its_records(world):
    lib = client_for(world.users["lib"])
    links = _links(lib.get("/reports/circulation", RANGE).content.decode())
    april = next(href for href in links if dict(parse_qsl(urlsplit(href).query)).get("month") == "2026-04"
                 and dict(parse_qsl(urlsplit(href).query)).get("figure") == "loans"
                 and "group" not in dict(parse_qsl(urlsplit(href).query)))

    page = lib.get(april)

    assert page.status_code == 200
    cells = lxml.html.fromstring(page.content.decode()).xpath("//table//tbody/tr/td[3]/text()")
    assert cells == ["C1", "C4"]


def test_the_leadership_sees_divisions_and_never_a_readers_records(world):
    mgr = client_for(world.users["mgr"])
    api = ApiClient(client=mgr)

    page = mgr.get("/reports/circulation", {**RANGE, "by": "division"})
    records_page = mgr.get("/reports/circulation/records", {**RANGE, "figure": "loans", "month": "2026-04"})
    records_api = api.get("/api/v1/reports/circulation/records", {**RANGE, "figure": "loans", "month": "2026-04"})
    report_api = api.get("/api/v1/reports/circulation", RANGE).json()
    weeding = mgr.get("/reports/never-borrowed/records", {**RANGE, "figure": "never", "class": "T"})

    assert page.status_code == 200
    assert _links(page.content.decode()) == []
    # Every division of the history is smaller than REPORT_MIN_GROUP: one row 其他部门, and the filter offers
    # none of them (choosing one would be refused).
    doc = lxml.html.fromstring(page.content.decode())
    assert {row[1] for row in _page_tables(page.content.decode())["groups"]} == {"其他部门"}
    assert doc.xpath('//select[@name="division"]/option/@value') == [""]
    assert (records_page.status_code, records_api.status_code) == (403, 403)
    assert {str(link) for t in report_api["tables"] for link in t["links"]} == {"{}"}
    assert weeding.status_code == 200  # copies, not people
    assert _links(mgr.get("/reports/never-borrowed", RANGE).content.decode()) != []


@pytest.mark.parametrize(("who", "index"), [("j1", 403), ("org", 200)])
def test_judges_and_organizers_are_refused(world, who, index):
    """Judges read no report; organizers only the events reports (tests/reports/test_event_reports.py), so the
    index and the list answer them, and every library report refuses them."""
    client = client_for(world.users[who])
    api = ApiClient(client=client)

    answers = [client.get("/reports/").status_code, client.get("/reports/circulation").status_code,
               client.get("/reports/circulation/months.xlsx").status_code,
               api.get("/api/v1/reports").status_code, api.get("/api/v1/reports/overdue").status_code]

    assert answers == [index, 403, 403, index, 403]


def test_the_menu_links_reports_for_those_who_may_read_them(world):
    def has_link(user) -> bool:
        return 'href="/reports/"' in client_for(user).get("/events").content.decode()

    # Organizers read the events reports.
    assert [has_link(world.users[u]) for u in ("lib", "mgr", "j1", "org")] == [True, True, False, True]


def test_the_index_lists_every_report(world):
    listed = ApiClient(client=client_for(world.users["mgr"])).get("/api/v1/reports").json()
    assert [r["slug"] for r in listed] == ["circulation", "top-books", "top-papers", "top-requested", "never-borrowed",
                                           "overdue", "hold-wait", "pull-lead", "event-occurrences", "event-attendance",
                                           "event-waitlist", "event-divisions", "event-reading", "readers", "annual"]
    organizer = ApiClient(client=client_for(world.users["org"])).get("/api/v1/reports").json()
    assert [r["slug"] for r in organizer] == ["event-occurrences", "event-attendance", "event-waitlist",
                                              "event-divisions", "event-reading"]


# --- the page as a librarian reads it (walk 20) ----------------------------------------------------------------------


def test_the_date_fields_show_the_range_the_figures_cover(world):
    """Empty dates mean the last twelve months: the fields say which, so the range can be adjusted from it."""
    lib = client_for(world.users["lib"])

    doc = lxml.html.fromstring(lib.get("/reports/circulation").content.decode())
    chosen = lxml.html.fromstring(lib.get("/reports/circulation", {"to": "2026-03-31"}).content.decode())

    assert doc.xpath('//input[@name="from"]/@value') == ["2025-07-01"]
    assert doc.xpath('//input[@name="to"]/@value') == ["2026-06-15"]
    assert chosen.xpath('//input[@name="from"]/@value') == ["2025-04-01"]
    assert chosen.xpath('//p[@class="period"]/text()') == ["统计时间：2025-04-01 至 2026-03-31"]


def test_reports_without_a_range_say_what_day_they_show(world):
    """Overdue loans are today's; never-borrowed copies are counted up to the end date: neither claims a range."""
    lib = client_for(world.users["lib"])

    def period(slug: str, **params) -> list[str]:
        return lxml.html.fromstring(lib.get(f"/reports/{slug}", {**RANGE, **params}).content.decode()).xpath(
            '//p[@class="period"]/text()')

    assert period("overdue") == ["今天（2026-06-15）的情况"]
    assert period("never-borrowed", to="2026-05-31") == ["统计截至 2026-05-31"]
    assert period("hold-wait") == ["统计时间：2026-01-01 至 2026-06-15"]


def test_a_zero_is_not_a_link_to_an_empty_list(world):
    """Only figures with records behind them link to them."""
    lib = client_for(world.users["lib"])
    doc = lxml.html.fromstring(lib.get("/reports/circulation", RANGE).content.decode())

    linked = [a.text_content() for a in doc.xpath('//table[@id="table-months"]//a')]
    unlinked = doc.xpath('//table[@id="table-months"]//td[@data-v="0"][not(a)]')

    assert linked and "0" not in linked
    assert len(unlinked) == len(doc.xpath('//table[@id="table-months"]//td[@data-v="0"]')) > 0


def test_the_overdue_total_links_to_every_overdue_loan(world):
    lib = client_for(world.users["lib"])
    doc = lxml.html.fromstring(lib.get("/reports/overdue", RANGE).content.decode())
    (total,) = doc.xpath('//table[@id="table-buckets"]/tfoot//a/@href')

    listed = lxml.html.fromstring(lib.get(total).content.decode())

    assert listed.xpath("//h1/text()") == ["逾期借阅"]
    assert listed.xpath("//table//tbody/tr/td[3]/text()") == ["C1", "C4", "C3"]


def test_the_records_behind_a_figure_export_as_the_list_they_are(world):
    """The overdue list to chase and the weeding list as files: every record (not a page of 50), the columns of the
    page; readers' lists for librarians only, copies for the leadership too."""
    lib, mgr = client_for(world.users["lib"]), client_for(world.users["mgr"])
    overdue = {**RANGE, "figure": "overdue"}

    page = lxml.html.fromstring(lib.get("/reports/overdue/records", overdue).content.decode())
    xlsx_link, csv_link = page.xpath('//span[contains(@class, "exports")]/a/@href')
    sheet = openpyxl.load_workbook(io.BytesIO(lib.get(xlsx_link).content)).worksheets[0]
    text = lib.get(csv_link).content.decode("utf-8")

    header = ["应还日期", "逾期天数", "条码", "题名", "读者", "部门", "电话", "电子邮箱", "馆藏地", "借出时间"]
    got = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert got[0] == header and [r[:6] for r in got[1:]] == [
        [history.datetime(2026, 5, 1), 45, "C1", "民法典评注", "王芳", "政治部"],
        [history.datetime(2026, 5, 26), 20, "C4", "公司法", "张明", "民事审判庭"],
        [history.datetime(2026, 6, 11), 4, "C3", "刑法学", "巴特尔", "执行局"]]
    assert [row[2] for row in list(csv.reader(io.StringIO(text[1:])))[1:]] == ["C1", "C4", "C3"]
    assert lib.get(xlsx_link)["Content-Disposition"] == 'attachment; filename="overdue-overdue-20260101-20260615.xlsx"'
    assert mgr.get(xlsx_link).status_code == 403
    weeding = mgr.get("/reports/never-borrowed/records.csv", {**RANGE, "figure": "never", "class": "T"})
    assert (weeding.status_code, [r[0] for r in csv.reader(io.StringIO(weeding.content.decode()[1:]))]) == (
        200, ["条码", "C5"])


def test_a_list_too_long_to_export_is_refused_with_advice(world, monkeypatch):
    from reports import views

    monkeypatch.setattr(views, "RECORDS_EXPORT_MAX", 2)
    lib = client_for(world.users["lib"])

    page = lib.get("/reports/overdue/records", {**RANGE, "figure": "overdue"}).content.decode()
    refused = lib.get("/reports/overdue/records.xlsx", {**RANGE, "figure": "overdue"})

    assert "超过 2 条，缩小范围后可以导出" in page and "records.xlsx" not in page
    assert refused.status_code == 400 and "请缩小范围" in refused.content.decode()


def test_the_index_groups_the_reports_under_headings(world):
    """Reading first (what the leadership asks), then the events, then the desk's daily work; an organizer sees
    the events heading only."""
    def index(user) -> list[tuple[str, list[str]]]:
        doc = lxml.html.fromstring(client_for(user).get("/reports/").content.decode())
        return [(h2.text_content(), [a.get("href").removeprefix("/reports/")
                                     for a in h2.getnext().xpath("li/a")]) for h2 in doc.xpath("//main//h2")]

    assert index(world.users["mgr"]) == [
        ("借阅与读者", ["circulation", "top-books", "top-papers", "top-requested", "readers", "annual"]),
        ("活动", ["event-occurrences", "event-attendance", "event-waitlist", "event-divisions", "event-reading"]),
        ("馆藏与日常工作", ["never-borrowed", "overdue", "hold-wait", "pull-lead"])]
    assert [heading for heading, _slugs in index(world.users["org"])] == ["活动"]
