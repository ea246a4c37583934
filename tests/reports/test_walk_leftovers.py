"""Issue 20's routine walk, its leftovers: titles and sessions link to their pages (for those who may open them), one
annual page, exports that state their filter.  Over the events history (tests/reports/event_history.py), on SQLite
and PostgreSQL alike."""

import csv
import io
from datetime import datetime
from urllib.parse import unquote

import lxml.html
import openpyxl
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from events.models import Event
from library.models import Location, Paper
from reports import targets
from reports.base import Table
from tests.conftest import ApiClient
from tests.reports import event_history
from tests.reports.history import NOW, RANGE, history_fixtures

REPORT_TABLES = '//table[contains(concat(" ", @class, " "), " report ")]'


#: The history, built once for the module; each test runs in a savepoint of it.
shared_history, world = history_fixtures(event_history.build)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def title_links(html: str, table: str) -> dict[str, str]:
    """The links of a table's cells that are not figures: the text of the cell → where it leads."""
    doc = lxml.html.fromstring(html)
    return {a.text_content().strip(): a.get("href")
            for a in doc.xpath(f'//table[@id="table-{table}"]//td//a') if "/records?" not in a.get("href")}


# --- 2. titles and sessions link to their pages ------------------------------------------------------------------


def test_ranked_titles_link_to_their_catalogue_pages_and_sessions_to_their_events(world):
    books, papers, events = world.base.books, world.events, world.events  # EventHistory keeps papers with events
    for user in ("lib", "mgr"):
        client = client_for(world.users[user])
        ranked = title_links(client.get("/reports/top-books", RANGE).content.decode(), "books")
        assert ranked["民法典评注"] == f"/books/{books['b1'].pk}" and ranked["刑法学"] == f"/books/{books['b2'].pk}"
        requested = title_links(client.get("/reports/top-requested", RANGE).content.decode(), "books")
        assert requested["民法典评注"] == f"/books/{books['b1'].pk}"
        downloaded = title_links(client.get("/reports/top-papers", RANGE).content.decode(), "papers")
        assert downloaded == {"民法典适用调研": f"/papers/{papers['p1'].pk}", "执行案款管理研究": f"/papers/{papers['p2'].pk}",
                              "一起借贷纠纷的评析": f"/papers/{papers['p3'].pk}"}
        sessions = title_links(client.get("/reports/event-attendance", RANGE).content.decode(), "sessions")
        assert sessions["读者沙龙：民法典"] == f"/events/{events['e1'].pk}"
        reading = title_links(client.get("/reports/event-reading", RANGE).content.decode(), "sessions")
        assert reading["读者沙龙：民法典"] == f"/events/{events['e1'].pk}"
        annual = client.get("/reports/annual", {"year": "2026"}).content.decode()
        assert title_links(annual, "top")["民法典评注"] == f"/books/{books['b1'].pk}"
        assert title_links(annual, "top_papers")["民法典适用调研"] == f"/papers/{papers['p1'].pk}"
        # A title's page names no reader; the leadership still follows no figure to the people behind it.
        if user == "mgr":
            assert "/records?" not in annual
            assert "/records?" not in client.get("/reports/top-books", RANGE).content.decode()
    # A judge's own year links the titles and the sessions too.
    mine = client_for(world.users["j1"]).get("/me/reading", {"year": "2026"}).content.decode()
    assert title_links(mine, "books")["民法典评注"] == f"/books/{books['b1'].pk}"
    assert title_links(mine, "events")["读者沙龙：民法典"] == f"/events/{events['e1'].pk}"


def test_a_record_the_viewer_may_not_open_is_not_linked(world):
    """The links are asked of the pages' own rules: for anonymous viewers an internal paper or event is not linked
    (no report reaches them today, but no title of the reports may lead past the rule that guards the page)."""
    p1, p3, e1 = world.events["p1"], world.events["p3"], world.events["e1"]
    Paper.objects.filter(pk=p3.pk).update(visibility=Paper.Visibility.PUBLIC)
    table = Table("t", "t", [])
    table.add([], targets={"title": ("paper", p1.pk)})
    table.add([], targets={"title": ("paper", p3.pk)})
    table.add([], targets={"title": ("event", e1.pk)})
    table.add([], targets={"title": ("paper", 10**9)})  # gone
    Event.objects.filter(pk=e1.pk).update(visibility=Event.Visibility.INTERNAL)

    assert targets.hrefs_for(AnonymousUser(), [table]) == [[{}, {"title": f"/papers/{p3.pk}"}, {}, {}]]
    assert targets.hrefs_for(world.users["j1"], [table]) == [[
        {"title": f"/papers/{p1.pk}"}, {"title": f"/papers/{p3.pk}"}, {"title": f"/events/{e1.pk}"}, {}]]


# --- 3. one annual page ------------------------------------------------------------------------------------------


def test_the_annual_report_has_one_page_and_its_old_address_redirects_there(world):
    mgr = client_for(world.users["mgr"])

    moved = mgr.get("/reports/annual/", {"year": "2026"})
    assert (moved.status_code, moved["Location"]) == (301, "/reports/annual?year=2026")
    index = mgr.get("/reports/").content.decode()
    assert index.count('href="/reports/annual"') == 1 and 'href="/reports/annual/"' not in index
    page = mgr.get("/reports/annual", {"year": "2026"})
    assert page.status_code == 200 and "2026 年度阅读报告" in page.content.decode()
    # A range (what the reports' links and the API use) is the same page, with the API's figures.
    ranged = mgr.get("/reports/annual", RANGE)
    api = ApiClient(client=mgr).get("/api/v1/reports/annual", RANGE).json()
    headline = next(t for t in api["tables"] if t["key"] == "headline")
    shown = lxml.html.fromstring(ranged.content.decode()).xpath('//table[@id="table-headline"]/tbody/tr/td[2]/@data-v')
    assert ranged.status_code == 200 and [int(v) for v in shown] == [row[1] for row in headline["rows"]]
    assert "统计时间：2026-01-01 至 2026-06-15" in ranged.content.decode()
    bad = mgr.get("/reports/annual", {"from": "2026-13-01"})
    assert bad.status_code == 400 and 'data-field="from"' in bad.content.decode()
    # A field the annual report does not read is still refused (as the API refuses it), and says why.
    for field, value in (("top", "0"), ("division", "没有的庭")):
        bad = mgr.get("/reports/annual", {**RANGE, field: value})
        errors = lxml.html.fromstring(bad.content.decode()).xpath(f'//p[@data-field="{field}"]/text()')
        assert (bad.status_code, len(errors)) == (400, 1) and errors[0].startswith(f"{field}：")


# --- 4. exports state their filter ------------------------------------------------------------------------------


def _about(response) -> tuple[list[list], dict]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[1] == "说明"
    return ([list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)],
            dict(workbook.worksheets[1].iter_rows(values_only=True)))


def test_an_exported_table_states_its_report_range_filters_and_when_it_was_written(world):
    lib = client_for(world.users["lib"])
    main = Location.objects.get(name="院本部")
    query = {**RANGE, "location": main.code, "division": "民事审判庭"}

    xlsx = lib.get("/reports/top-books/books.xlsx", query)
    table, about = _about(xlsx)
    assert table[0][:3] == ["名次", "题名", "作者"]  # the first sheet is the table alone
    assert about["报表"] == "借阅排行" and about["表格"] == "借出最多的图书"
    assert about["统计时间"] == "统计时间：2026-01-01 至 2026-06-15"
    assert (about["馆藏地"], about["部门"], about["分类号"], about["排行条数"]) == ("院本部", "民事审判庭", "全部", 20)
    assert isinstance(about["生成时间"], datetime) and about["生成时间"].date() == NOW.date()
    assert "续借不算新的借出" in about["定义"]

    response = lib.get("/reports/top-books/books.csv", query)
    name = unquote(response["Content-Disposition"].split("filename*=utf-8''")[1])
    assert name == f"top-books-books-20260101-20260615-{main.code}-民事审判庭.csv"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:])))
    assert rows[0] == table[0] and len(rows) == len(table)  # still a plain table: the header comes first

    # A report without the filter does not claim it; a snapshot states its day.
    _table, overdue = _about(lib.get("/reports/overdue/buckets.xlsx", RANGE))
    assert overdue["统计时间"] == "今天（2026-06-15）的情况" and "排行条数" not in overdue and "分组" in overdue
    plain = lib.get("/reports/overdue/buckets.csv", RANGE)
    assert plain["Content-Disposition"] == 'attachment; filename="overdue-buckets-20260101-20260615.csv"'


def test_exported_records_state_the_figure_they_are_behind(world):
    lib = client_for(world.users["lib"])
    b1 = world.base.books["b1"]
    table, about = _about(lib.get("/reports/top-books/records.xlsx", {**RANGE, "figure": "book", "book": b1.pk}))
    assert about["明细"] == f"figure=book; book={b1.pk}" and about["报表"] == "借阅排行"
    assert about["统计时间"] == "统计时间：2026-01-01 至 2026-06-15" and len(table) > 1
