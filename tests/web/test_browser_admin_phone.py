"""Real-browser checks of issue 18's display fixes where layout is the point: a book's copies in the admin are
usable on a phone (each copy a card of labelled fields at the screen's width, not a table some 2,000 px wide to
scroll sideways through), the admin's desktop table is unchanged, and a book page with original-script names,
romanised forms and parallel titles fits a phone."""

import pytest

from accounts.models import Role
from library.importers import import_catalog
from library.models import Book, Copy
from library.services import book_create, copy_create
from tests.realdata import more
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
#: What sticks out past the screen's right edge (for the message when the page is too wide).
TOO_WIDE = """[...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > 391)
  .slice(0, 5).map((el) => el.tagName + '#' + el.id + '.' + el.className)"""
#: Each visible copy row: its id, [label, left, right] of each visible cell.
COPY_CELLS = """[...document.querySelectorAll('#copies-group tbody tr.form-row')]
  .filter((row) => getComputedStyle(row).display !== 'none')
  .map((row) => [row.id, [...row.children].filter((cell) => getComputedStyle(cell).display !== 'none')
    .map((cell) => { const box = cell.getBoundingClientRect();
                     return [cell.dataset.label || '', Math.round(box.left), Math.round(box.right)]; })])"""
LABELS = ["条码", "馆藏地", "架位", "状态", "入藏日期", "备注"]


def _book_with_copies():
    book = book_create(title="日本の茶書", clc="D923.2")
    copy_create(book=book, barcode="B1")
    copy_create(book=book, barcode="B2", location="棋盘井法庭")
    return book


def test_a_books_copies_in_the_admin_are_labelled_cards_on_a_phone(server, browser, shoot):
    browser_user("lib1", Role.LIBRARIAN, "lib-pass-12345")
    book = _book_with_copies()
    base, _log = server
    page = browser.new_page(**PHONE)
    login(page, base, "lib1", "lib-pass-12345")
    page.goto(f"{base}/admin/library/book/{book.pk}/change/")
    page.wait_for_selector("#copies-group table[data-labelled]")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.evaluate(TOO_WIDE)
    group = page.evaluate("(() => { const g = document.getElementById('copies-group');"
                          " return [g.clientWidth, g.scrollWidth]; })()")
    assert group[1] <= group[0] <= 390  # nothing to scroll sideways inside the copies' box either
    rows = page.evaluate(COPY_CELLS)
    # Two copies and the extra blank form; the template row for 添加另一个 stays hidden.
    assert [row_id for row_id, _cells in rows] == ["copies-0", "copies-1", "copies-2"]
    for _row_id, cells in rows:
        assert [label for label, _left, _right in cells if label in LABELS] == LABELS
        assert all(0 <= left and right <= 390 for _label, left, right in cells), cells
    # Every field one under another at the card's width: the barcode box is as wide as the note box.
    widths = page.evaluate("['#id_copies-0-barcode', '#id_copies-0-note']"
                           ".map((s) => Math.round(document.querySelector(s).getBoundingClientRect().width))")
    assert widths[0] == widths[1] > 300
    # The copy's own name and change link (Django draws them 9 px high over the row) are readable.
    original = page.locator("#copies-0 td.original p")
    assert original.inner_text().split() == ["B1", "修改"]
    assert original.bounding_box()["height"] >= 16
    shoot(page, "admin-copies-phone")

    # A copy added on the phone: its row is a labelled card too, and saving it works.
    page.click("#copies-group .add-row a")
    rows = page.evaluate(COPY_CELLS)
    assert [label for label, _l, _r in rows[-1][1] if label in LABELS] == LABELS
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#id_copies-2-barcode", "B3")
    page.click("input[name=_continue]")
    page.wait_for_selector("#id_copies-2-barcode")
    assert sorted(Copy.objects.filter(book=book).values_list("barcode", flat=True)) == ["B1", "B2", "B3"]


def test_the_admin_copies_stay_a_table_on_a_desktop(server, browser, shoot):
    browser_user("lib1", Role.LIBRARIAN, "lib-pass-12345")
    book = _book_with_copies()
    base, _log = server
    page = browser.new_page(**DESKTOP)
    login(page, base, "lib1", "lib-pass-12345")
    page.goto(f"{base}/admin/library/book/{book.pk}/change/")
    page.wait_for_selector("#copies-group table[data-labelled]")

    displays = page.evaluate("['#copies-group thead', '#copies-0', '#copies-0 td.field-barcode']"
                             ".map((s) => getComputedStyle(document.querySelector(s)).display)")
    assert displays == ["table-header-group", "table-row", "table-cell"]
    # One row: the barcode and the note side by side.
    tops = page.evaluate("['#id_copies-0-barcode', '#id_copies-0-status']"
                         ".map((s) => Math.round(document.querySelector(s).getBoundingClientRect().top))")
    assert tops[0] == tops[1]
    shoot(page, "admin-copies-desktop")


def test_a_japanese_880_book_page_fits_a_phone(server, browser, shoot):
    import_catalog(data=more("openlibrary/880_Nihon_no_chasho.mrc").read_bytes())
    book = Book.objects.get()
    base, _log = server
    page = browser.new_page(**PHONE)
    page.goto(f"{base}/books/{book.pk}")

    assert page.inner_text("h1") == "日本の茶書"
    assert page.inner_text("#responsibility") == "林屋辰三郎, 横井清, 楢林忠男編注"
    assert page.inner_text("#book-language") == "语种：日文"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.evaluate(TOO_WIDE)
    shoot(page, "book-880-phone")


#: The first row of the law names' list: [class, width, lines] of each cell (lines: the text's line boxes), and
#: [text, lines] of each short form.
LAW_ROW = """(() => { const row = document.querySelector('#result_list tbody tr');
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size; };
  return [[...row.children].map((c) => [c.className.split(' ')[0], Math.round(c.getBoundingClientRect().width), lines(c)]),
          [...row.querySelectorAll('.short-form')].map((s) => [s.textContent, s.getClientRects().length])]; })()"""


def test_the_law_names_list_keeps_each_short_form_whole_on_a_phone(server, browser, shoot):
    """Routine walk (issue 19): on a phone the law names' columns were squeezed until 类别 read 法 / 律 and the short
    forms 民 / 诉 / 法, a character a line.  Each form and the kind stay whole, the title keeps 10 characters a
    line, and the table scrolls in its own box; the page itself never scrolls sideways."""
    from search_index.models import LawName

    browser_user("lib1", Role.LIBRARIAN, "lib-pass-12345")
    law = LawName.objects.get(code="f0183")
    base, _log = server
    page = browser.new_page(**PHONE)
    login(page, base, "lib1", "lib-pass-12345")

    page.goto(f"{base}/admin/search_index/lawname/?q={law.title}")

    cells, forms = page.evaluate(LAW_ROW)
    by_class = {name: (width, lines) for name, width, lines in cells}
    assert forms == [["民事诉讼法", 1], ["民诉法", 1], ["民诉", 1]]
    assert by_class["field-kind"][1] == 1  # 法律 on one line
    assert by_class["field-title"][0] >= 160  # 10em of 16 px: 中华人民共和国民事诉讼法 in two lines, not six
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.evaluate(TOO_WIDE)
    box = page.evaluate("(() => { const r = document.querySelector('#changelist-form .results');"
                        " return [r.clientWidth, r.scrollWidth]; })()")
    assert box[0] <= 390 < box[1]  # the rest of the row is a sideways scroll inside the table's box
    shoot(page, "admin-law-names-phone")


@pytest.fixture(autouse=True)
def _places(db):
    from library.models import Location

    # The places of a fresh installation (a test before this one may have flushed the migration's rows).
    Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
