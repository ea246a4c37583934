"""Copy cataloguing in a real browser, on a desktop and on a phone: search the local SRU server by ISBN, see
the candidate beside the local book, import another with a click and land on its page with the next steps."""

import pytest

from accounts.models import Role
from library.models import Book, SruTarget
from library.services import book_create
from tests.library.sru_server import marc21_record, search_response
from tests.live import start_server
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST


@pytest.fixture
def copy_server(tmp_path, sru_server):
    """The live server, with the local SRU server listed as on the court's network (SRU_INTERNAL_HOSTS)."""
    with start_server(tmp_path, workers=2, env={"SRU_INTERNAL_HOSTS": sru_server.endpoint}) as running:
        yield running


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_librarian_copies_a_record_from_another_library(copy_server, browser, shoot, sru_server, width, height):
    base, _log = copy_server
    browser_user("lina", Role.LIBRARIAN, "librarian-pass-2026", display_name="李娜")
    SruTarget.objects.create(name="国家图书馆", base_url=sru_server.url, internal_network=True)
    local = book_create(title="债法原理", isbn="9787301048160", publisher="北大出版社", year=2013, contributors=["王泽鉴"])
    sru_server.answer('bath.isbn = "978-7-301"', search_response([
        marc21_record(title="民法总论", subtitle="第二版", isbn="9787301048153", author="王泽鉴",
                      publisher="北京大学出版社", year=2009, control="LC001"),
        marc21_record(title="债法原理", isbn="9787301048160", author="王泽鉴", publisher="北京大学出版社", year=2013,
                      control="LC002"),
    ]))
    page = browser.new_page(viewport={"width": width, "height": height})
    login(page, base, "lina", "librarian-pass-2026")

    page.goto(f"{base}/catalog/import")
    page.click("#copy-catalog-link")
    page.fill("#id_q", "978-7-301")
    with page.expect_navigation():
        page.click("#copy-search button[type=submit]")
    shoot(page, "candidates")

    assert page.inner_text("#results") == "国家图书馆：共 2 条"
    second = page.locator("#candidate-2")
    assert "本馆有此书，记录不同" in second.inner_text() and "不同：出版者" in second.inner_text()
    # Compact: title, author, year, ISBN, the badge and 导入; the field-by-field table folded.
    assert "王泽鉴 · 2013 · ISBN 978-7-301-04816-0" in second.inner_text()
    assert "北大出版社" not in second.inner_text()
    assert page.evaluate("document.querySelector('#candidate-1').getBoundingClientRect().height") < 260
    second.locator("summary").click()
    assert "北大出版社" in second.inner_text() and "北京大学出版社" in second.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with page.expect_navigation():
        page.locator("#candidate-1 button[type=submit]").click()
    shoot(page, "imported")

    book = Book.objects.exclude(pk=local.pk).get()
    assert page.url == f"{base}/books/{book.pk}?imported=created"
    assert "已从 国家图书馆 导入《民法总论》" in page.inner_text("main")
    assert page.locator("#cataloguing-steps a.button").inner_text() == "添加复本"
    assert (book.title, book.subtitle, book.publisher) == ("民法总论", "第二版", "北京大学出版社")
