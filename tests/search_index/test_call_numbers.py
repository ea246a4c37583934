"""Finding books by call number or class, and the shelf-order sort: through the service, the API and the page."""

import pytest
from django.test import Client

from library.services import book_create, copy_create, paper_create
from search_index import services
from search_index.analysis import call_number_analyzer
from search_index.services import Filters
from tests.conftest import apply_index_outbox

pytestmark = pytest.mark.django_db

PUBLIC = Filters()


@pytest.fixture
def shelf(db):
    """Books whose call numbers sort differently as text and on the shelf (D9 < D90, /2 < /10), one in a
    subclass, one with a volume mark, one without any, and a paper."""
    books = {}
    for key, title, clc, call_number in [
        ("casebook", "合同法案例", "D923.6", "D923.6/10"),
        ("subclass", "合同法分则", "D923.61", "D923.61/1"),
        ("tort", "侵权法", "D923.7", "D923.7/1"),
        ("contract", "合同法", "D923.6", "D923.6/2"),
        ("civil", "民法学", "D923", "D923/1"),
        ("jurisprudence", "法理学", "D90", "D90/1"),
        ("intro", "法学导论", "D9", "D9/2"),
        ("volume", "合同法评注", "D923.6", "D923.6/12:2"),
        ("none", "未编目的书", "", ""),
    ]:
        books[key] = book_create(title=title, clc=clc, call_number=call_number)
        copy_create(book=books[key], barcode=f"S-{key}")
    books["paper"] = paper_create(title="合同法调研", visibility="public")
    services.index_rebuild()
    return books


def found(result) -> list[tuple[str, int]]:
    return [(hit.type, hit.id) for hit in result.items]


def test_the_analyzer_indexes_the_class_prefixes_and_the_number_with_and_without_its_volume():
    assert [t.text for t in call_number_analyzer()("D923.6/12:2")] == [
        "d", "d9", "d92", "d923", "d923.6", "d923.6/12", "d923.6/12:2"]
    assert [t.text for t in call_number_analyzer()("ｄ923.6 / 12", mode="query")] == ["d923.6/12"]


@pytest.mark.parametrize("query", ["D923.6/10", "d923.6/10", "ｄ９２３．６／１０", " D923.6 / 10 "])
def test_a_call_number_finds_its_book(shelf, query):
    result = services.search(query, filters=PUBLIC)

    assert found(result) == [("book", shelf["casebook"].pk)]
    assert result.items[0].call_number == "D923.6/10"


def test_a_call_number_finds_every_volume_of_its_book(shelf):
    assert found(services.search("D923.6/12", filters=PUBLIC)) == [("book", shelf["volume"].pk)]


def test_a_class_finds_its_books_and_its_subclasses_in_shelf_order(shelf):
    result = services.search("D923.6", filters=PUBLIC)

    assert [hit.call_number for hit in result.items] == ["D923.6/2", "D923.6/10", "D923.6/12:2", "D923.61/1"]


def test_a_call_number_nobody_has_is_searched_as_words(shelf):
    result = services.search("D923.6/99", filters=PUBLIC)

    assert (result.count, result.items) == (0, [])


def test_sorting_by_call_number_is_shelf_order_with_the_unnumbered_last(shelf):
    result = services.search("", filters=PUBLIC, sort="call_number")

    assert [hit.call_number for hit in result.items] == [
        "D9/2", "D90/1", "D923/1", "D923.6/2", "D923.6/10", "D923.6/12:2", "D923.61/1", "D923.7/1", "", ""]
    assert found(result)[-2:] == [("book", shelf["none"].pk), ("paper", shelf["paper"].pk)]


def test_the_order_holds_across_index_segments_and_pages(shelf):
    """A book indexed after the rebuild sits in a segment of its own; it still files between its neighbours."""
    added = book_create(title="合同法新论", clc="D923.6", call_number="D923.6/3")
    copy_create(book=added, barcode="S-added")
    apply_index_outbox()

    first = services.search("合同法", filters=PUBLIC, sort="call_number", limit=2)
    second = services.search("合同法", filters=PUBLIC, sort="call_number", limit=2, offset=2)

    assert [h.call_number for h in first.items + second.items] == ["D923.6/2", "D923.6/3", "D923.6/10", "D923.6/12:2"]


def test_the_api_sorts_by_call_number_and_shows_it(shelf, anon_api):
    response = anon_api.get("/api/v1/search", {"q": "D90", "sort": "call_number"})

    assert response.status_code == 200
    assert [(item["title"], item["call_number"]) for item in response.json()["items"]] == [
        ("法理学", "D90/1")]


def test_the_search_page_offers_the_call_number_order_and_shows_call_numbers(shelf):
    page = Client().get("/", {"q": "合同法", "sort": "call_number"}).content.decode()

    assert '<a href="?q=%E5%90%88%E5%90%8C%E6%B3%95&amp;sort=call_number" aria-current="true">索书号</a>' in page
    assert page.index("D923.6/2") < page.index("D923.6/10") < page.index("D923.61/1")


def test_the_book_page_shows_the_call_number(shelf):
    page = Client().get(f"/books/{shelf['casebook'].pk}").content.decode()

    assert '<p id="call-number">索书号：<strong class="call-number">D923.6/10</strong></p>' in page
