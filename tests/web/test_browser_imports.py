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
