"""Real-browser checks of browsing by class (issue 19 §4) at phone and desktop size: the tree starts folded
below the main classes, a tap on a class opens it, every count and row is a tap target of at least 44 px, the
page never scrolls sideways, and a count leads to the search filtered by that class."""

import pytest

from library.services import book_create
from search_index import services as search
from tests.conftest import apply_index_outbox
from tests.web.browsing import BROWSER_TEST

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
#: [text, width, height] of every visible tap target of the tree.
TARGETS = """[...document.querySelectorAll('#clc-tree summary, #clc-tree a')]
  .filter((el) => el.getClientRects().length)
  .map((el) => { const box = el.getBoundingClientRect();
                 return [el.textContent.trim().slice(0, 20), Math.round(box.width), Math.round(box.height)]; })"""


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_class_tree_folds_opens_on_a_tap_and_leads_to_the_filtered_search(server, browser, shoot, size):
    search.index_rebuild()
    book_create(title="担保物权研究", clc="D923.2")
    book_create(title="合同法精解", clc="D923.6")
    book_create(title="计算机程序设计", clc="TP311")
    apply_index_outbox()
    base, _log = server
    page = browser.new_page(**(PHONE if size == "phone" else DESKTOP))
    width = 390 if size == "phone" else 1280

    page.goto(f"{base}/browse")
    tree = page.locator("#clc-tree")
    law = tree.locator("> li > details", has=page.locator("> summary .clc-code", has_text="D"))
    assert law.get_attribute("open") is None  # folded: only the main classes holding books show
    assert page.locator("#clc-tree > li > details > summary .clc-code").all_inner_texts() == ["D", "T"]
    empty = page.locator("#clc-empty-classes > details")
    assert empty.locator("> summary").inner_text() == "其他 20 类无馆藏"  # the rest, one folded row
    assert page.locator("#clc-tree > li").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    law.locator("> summary .clc-name").click()  # a tap on the row, not on the count

    assert law.get_attribute("open") == ""
    nine = law.locator("> ul > li > details", has=page.locator("> summary .clc-code", has_text="D9"))
    assert nine.locator("> summary .clc-name").inner_text() == "法律"
    nine.locator("> summary .clc-name").click()
    china = nine.locator("> ul > li .clc-leaf", has=page.locator(".clc-code", has_text="D92"))
    assert china.locator(".clc-count").inner_text() == "2"
    shoot(page, f"{size}-open")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    targets = page.evaluate(TARGETS)
    assert targets and all(h >= 44 and w >= 44 for _text, w, h in targets), targets

    china.locator(".clc-more").click()  # the deeper levels open on a page of their own
    page.wait_for_url("**/browse?clc=D92")
    assert page.locator(".breadcrumbs").inner_text() == "全部大类 › D 政治、法律 › D9 法律"

    civil = page.locator("#clc-tree details", has=page.locator("> summary .clc-code", has_text="D923"))
    assert civil.get_attribute("open") == ""  # the only class of D92 holding books opens without a tap
    page.locator("#clc-tree .clc-leaf", has=page.locator(".clc-code", has_text="D923.6")).locator(".clc-count").click()
    page.wait_for_url("**/?clc=D923.6")
    assert page.locator("ol.results h3").all_inner_texts() == ["合同法精解"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_main_classes_without_books_are_one_row_that_opens_on_their_names(server, browser, shoot, size):
    """Routine walk (issue 19): a phone showed 21 main classes of 0 books around D.  Now D alone, and one row,
    其他 21 类无馆藏, a tap target like every row, that opens on the 21 codes and names (no count to tap)."""
    book_create(title="担保物权研究", clc="D923.2")
    base, _log = server
    page = browser.new_page(**(PHONE if size == "phone" else DESKTOP))
    width = 390 if size == "phone" else 1280

    page.goto(f"{base}/browse")

    rows = page.locator("#clc-tree > li")
    assert rows.count() == 2
    assert rows.nth(0).locator("> details > summary .clc-code").inner_text() == "D"
    empty = page.locator("#clc-empty-classes > details")
    assert empty.get_attribute("open") is None
    summary = empty.locator("> summary")
    assert summary.inner_text() == "其他 21 类无馆藏"
    assert summary.bounding_box()["height"] >= 44
    assert not empty.locator(".clc-code").first.is_visible()
    shoot(page, f"{size}-folded")

    summary.click()

    assert empty.get_attribute("open") == ""
    codes = empty.locator(".clc-code")
    assert codes.all_inner_texts() == list("ABCEFGHIJKNOPQRSTUVXZ")
    assert empty.locator(".clc-name").first.inner_text() == "马克思主义、列宁主义、毛泽东思想、邓小平理论"
    assert empty.locator("a, .clc-count").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, f"{size}-empty-open")
