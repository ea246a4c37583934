"""Real-browser check of a book's related works at phone size (issue 19 §4, after the routine walk): each work is
listed once, in the first section it belongs to, and the borrowed-together section keeps its minimum of readers."""

from accounts.models import Role
from library import circulation
from library.services import book_create, copy_create
from tests.conftest import make_user
from tests.web.browsing import BROWSER_TEST

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _lend(reader, *books) -> None:
    for book in books:
        loan = circulation.loan_checkout(patron=reader, actor=reader, book=book)
        circulation.loan_return(loan=loan, actor=None)


def test_a_book_page_lists_each_related_work_once_on_a_phone(server, browser, shoot):
    """民法物权 shares its subject and class with 物权法精解 and is borrowed with it by three readers: 物权法精解 shows
    under 主题相同 only (it showed in all three sections); 合同法精解 shares the class and the readers: under 同类图书
    only; 政治学原理 only the readers.  中国政治, borrowed by two of them, never shows."""
    book = book_create(title="民法物权", clc="D923.2", subjects=["物权"])
    both = book_create(title="物权法精解", clc="D923.2", subjects=["物权"])
    klass = book_create(title="合同法精解", clc="D923.6")
    other = book_create(title="政治学原理", clc="D0")
    pair = book_create(title="中国政治", clc="D6")
    for n, b in enumerate([book, both, klass, other, pair]):
        copy_create(book=b, barcode=f"R{n}")
    readers = [make_user(f"reader{n}", Role.JUDGE) for n in range(3)]
    for reader in readers:
        _lend(reader, book, both, klass, other)
    for reader in readers[:2]:
        _lend(reader, pair)
    base, _log = server
    page = browser.new_page(**PHONE)

    page.goto(f"{base}/books/{book.pk}")

    sections = {name: page.locator(f"#related-{name} > li > a").all_inner_texts()
                for name in ("subjects", "class", "borrowed")}
    assert sections == {"subjects": ["物权法精解"], "class": ["合同法精解"], "borrowed": ["政治学原理"]}
    titles = page.locator("#related .related-list > li > a").all_inner_texts()
    assert sorted(titles) == sorted(set(titles))
    assert "中国政治" not in page.locator("#related").inner_text()
    assert page.locator("#related").get_by_text("只列出至少 3 位读者都借过的书，不显示读者是谁。").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "phone-related")
