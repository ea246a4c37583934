"""An import's pages on a phone (390 × 844): the form fits, a long file name wraps, and inside a record's card
the conflict table is labelled with its own headers (字段 / 现有书目 / 导入记录), not the outer table's."""

from accounts.models import Role
from library import tasks
from library.services import Person, book_create
from tests.jobs.worker import run_queued_jobs
from tests.library.test_import_export import csv_text, row
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def test_a_conflict_inside_a_record_card_has_its_own_labels_on_a_phone(server, browser, shoot):
    base, _log = server
    librarian = browser_user("lina", Role.LIBRARIAN, "librarian-pass-2026", display_name="李娜")
    book_create(title="民法总则", isbn="9787301048153", publisher="北京大学出版社", contributors=[Person("王泽鉴")])
    data = csv_text(row(isbn="9787301048153", title="民法总则", publisher="法律出版社", authors="王泽鉴")).encode()
    name = "二〇二六年十二月院本部馆藏目录导出_包括全部复本与索书号_第一批_最终版本.csv"
    job = tasks.catalog_import_start(data=data, filename=name, format=None, location=None, started_by=librarian)
    run_queued_jobs()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, base, "lina", "librarian-pass-2026")

    page.goto(f"{base}/catalog/import")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{base}/catalog/import/{job.pk}")
    page.wait_for_selector("#import-records[data-labelled] table.conflict[data-labelled]")
    shoot(page, "phone-import-conflict")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    labels = page.eval_on_selector_all("table.conflict tbody tr:first-child > *", "cells => cells.map(c => c.dataset.label)")
    assert labels == ["字段", "现有书目", "导入记录"]
    before = page.evaluate("getComputedStyle(document.querySelector('table.conflict tbody td'), '::before').content")
    assert before == '"现有书目："'
    outer = page.eval_on_selector_all("#import-records > tbody > tr:first-child > td", "cells => cells.map(c => c.dataset.label)")
    assert outer[:2] == ["记录", "控制号"]
    context.close()


def lines(page, selector: str) -> list[int]:
    """How many lines the text of each element matching ``selector`` takes."""
    return page.eval_on_selector_all(selector, """cells => cells.map(cell => {
        const range = document.createRange(); range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; })""")


def test_an_import_report_on_a_wide_screen_keeps_the_record_number_and_the_outcome_whole(server, browser, shoot):
    """At 1366 px the long titles and reasons take the width: 第 2 行 and 冲突 are never broken a character a
    line, nor a conflict's field names; the counts do not stretch across the page."""
    base, _log = server
    librarian = browser_user("lina", Role.LIBRARIAN, "librarian-pass-2026", display_name="李娜")
    long_title = "最高人民法院民法典合同编通则司法解释理解与适用（上下册）" * 2
    book_create(title=long_title, isbn="9787301048153", publisher="北京大学出版社", year=2020,
                contributors=[Person("最高人民法院民事审判第二庭")])
    data = csv_text(row(isbn="9787301048153", title=long_title + "（第二版）", publisher="人民法院出版社", year="2024",
                        authors="最高人民法院民事审判第二庭 编著", clc="D923.64", subjects="合同法；司法解释"),
                    row(title=long_title + "（续编）", year="2025", authors="某人")).encode()
    job = tasks.catalog_import_start(data=data, filename="books.csv", format=None, location=None, started_by=librarian)
    run_queued_jobs()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, base, "lina", "librarian-pass-2026")

    page.goto(f"{base}/catalog/import/{job.pk}")
    shoot(page, "desktop-import-report")

    assert lines(page, "#import-records > tbody > tr > td:first-child") == [1, 1]
    assert lines(page, "#import-records > thead th") == [1] * 7
    assert page.eval_on_selector_all("#import-records > tbody > tr > td:nth-child(5)",
                                     "cells => cells.map(c => c.textContent.trim())") == ["冲突", "新增"]
    assert lines(page, "#import-records > tbody > tr > td:nth-child(5)") == [1, 1]
    assert lines(page, "#import-records table.conflict th") == [1] * len(
        page.query_selector_all("#import-records table.conflict th"))
    assert page.eval_on_selector("#import-counts", "t => t.getBoundingClientRect().width") < 600
    context.close()
