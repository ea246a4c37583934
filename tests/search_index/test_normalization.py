"""One normalisation (issue 19 §3, docs/search.md "One normalisation"): every written form of an ISBN, a class
number, a call number, an article citation and a word is read the same at index time and at query time —
the catalogue's fold (library.validators, library.classification, library.callnumbers) is the analyzers' and
the query's."""

import pytest

from library import callnumbers, classification, validators
from library.services import book_create, paper_create
from search_index import analysis, laws, services
from search_index.services import Filters

pytestmark = pytest.mark.django_db

PUBLIC = Filters()


@pytest.fixture
def records(db):
    laws.forget()  # a dictionary another test's database left in this process
    book = book_create(title="担保物权研究", isbn="9787301048153", clc="D923.2", call_number="D923.2/12",
                       year=2017, subjects=["Judgment enforcement"])
    other = book_create(title="刑法学", isbn="9787040393293", clc="D924", call_number="D924/3", year=2016)
    paper = paper_create(title="流押条款的效力", year=2024, visibility="public", abstract="依照民法典第三百九十四条，抵押权人有权优先受偿。")
    services.index_rebuild()
    yield {"book": ("book", book.id), "other": ("book", other.id), "paper": ("paper", paper.id)}
    laws.forget()


def found(query: str, filters: Filters = PUBLIC) -> list[tuple[str, int]]:
    result = services.search(query, filters=filters, as_typed=True)
    return [(hit.type, hit.id) for hit in result.items]


def tokens(analyzer, value: str) -> set[str]:
    return {t.text for t in analyzer(value)}


ISBN_FORMS = [
    "9787301048153",
    "978-7-301-04815-3",
    "978 7 301 04815 3",
    "ISBN 978-7-301-04815-3",
    "ISBN-13: 978-7-301-04815-3",
    "isbn:9787301048153",
    "ＩＳＢＮ　９７８－７－３０１－０４８１５－３",  # full-width letters, digits, hyphens and space
    "９７８７３０１０４８１５３",
    "978‐7‐301‐04815‐3",  # U+2010 HYPHEN
    "978–7–301–04815–3",  # en dashes
    "7-301-04815-7",  # the ISBN-10
    "７３０１０４８１５７",
]


def test_every_form_of_an_isbn_is_one_isbn_in_the_catalogue_the_index_and_the_query(records):
    read = {form: (validators.normalize_isbn(form),  # the catalogue's validation
                   tokens(analysis.isbn_analyzer(), form),  # the index
                   found(form))  # the query
            for form in ISBN_FORMS}

    assert read == {form: ("9787301048153", {"9787301048153", "7301048157"}, [records["book"]]) for form in ISBN_FORMS}


CLC_FORMS = ["D923.2", "d923.2", "Ｄ９２３．２", "D923．2", "D923。2", " D923.2 ", "ｄ９２３。２"]


def test_every_form_of_a_class_number_is_one_class(records):
    read = {form: (validators.normalize_clc(form),
                   classification.class_path(form),  # the browse tree
                   tokens(analysis.clc_analyzer(), form),  # the index
                   found(form),  # a query that is a class
                   found(f"clc:{form.strip()}"),
                   found("", Filters(clc=form)))  # the filter
            for form in CLC_FORMS}

    book = [records["book"]]
    assert read == {form: ("D923.2", ["D", "D9", "D92", "D923", "D923.2"], {"d", "d9", "d92", "d923", "d923.2"},
                           book, book, book) for form in CLC_FORMS}


def test_a_broader_class_in_any_form_finds_every_book_under_it(records):
    both = sorted([records["book"], records["other"]])
    assert {form: sorted(found("", Filters(clc=form))) for form in ["D92", "ｄ９２", "Ｄ92"]} == {
        "D92": both, "ｄ９２": both, "Ｄ92": both}


def test_the_browse_tree_and_the_index_take_their_prefixes_from_one_rule():
    assert classification.clc_prefixes("TP311") == ["T", "TP", "TP3", "TP31", "TP311"]
    assert classification.clc_prefixes("D923.2-44") == ["D", "D9", "D92", "D923", "D923.2", "D923.2-4", "D923.2-44"]
    assert tokens(analysis.clc_analyzer(), "D923.2-44") == {p.lower() for p in classification.clc_prefixes("D923.2-44")}
    assert classification.class_path("D923.2-44") == ["D", "D9", "D92", "D923", "D923.2"]  # the main number only


CALL_NUMBER_FORMS = ["D923.2/12", "d923.2/12", "ｄ923.2 / 12", "Ｄ９２３．２／１２", "D923。2/12"]


def test_every_form_of_a_call_number_is_one_call_number(records):
    read = {form: (callnumbers.normalize_call_number(form), tokens(analysis.call_number_analyzer(), form), found(form))
            for form in CALL_NUMBER_FORMS}

    expected = ("D923.2/12", tokens(analysis.call_number_analyzer(), "D923.2/12"), [records["book"]])
    assert read == dict.fromkeys(CALL_NUMBER_FORMS, expected)


CITATION_FORMS = [
    "民法典第三百九十四条",
    "民法典第394条",
    "民法典第３９４条",  # full-width digits
    "民法典第三百九十四條",  # traditional
    "《民法典》394条",
    "《中华人民共和国民法典》第三百九十四条",
    "民法典第三百九十四条第一款",
]


def test_every_form_of_an_article_citation_is_one_article(records):
    dictionary = laws.current()
    read = {form: (laws.citation_terms([form], dictionary),  # the index's cites terms
                   found(form))  # the query
            for form in CITATION_FORMS}

    assert read == dict.fromkeys(CITATION_FORMS, (["f0186a394"], [records["paper"]]))


def test_a_bare_number_after_a_name_is_a_citation_in_a_query(records):
    assert found("民法典394") == [records["paper"]]


@pytest.mark.parametrize(("forms", "record"), [
    (["担保物权", "擔保物權", "担保物權"], "book"),
    (["judgment", "JUDGMENT", "ｊｕｄｇｍｅｎｔ", "Judgments"], "book"),
])
def test_every_form_of_a_word_finds_the_same_records(records, forms, record):
    assert {form: found(form) for form in forms} == {form: [records[record]] for form in forms}
    index = {form: tokens(analysis.text_analyzer(), form) for form in forms}
    assert len(set(map(frozenset, index.values()))) == 1, index
