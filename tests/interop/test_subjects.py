"""``dc.subject`` is one database query (SQLite's json_each, PostgreSQL's jsonb_array_elements) with the rules
it had when it was matched in Python over every book: an exact subject (``==``), a term within a subject
(``=``, ``adj``), every or any word within some subject (``all``, ``any``), case-insensitively; books by
subjects and CLC class, public papers by keywords."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from interop import catalogue
from interop.cqlquery import Clause
from library.models import Book, Paper
from library.services import book_create, paper_create


def subject_keys(relation: str, term: str) -> set:
    return catalogue.evaluate(Clause(index="dc.subject", relation=relation, term=term)).keys


def reference(values: list, relation: str, text: str) -> bool:
    """The Python matching this replaced (interop.catalogue._list_matches before the change)."""
    folded = [v.casefold() for v in values if isinstance(v, str)]
    needle = text.casefold()
    if relation == "==":
        return needle in folded
    if relation in ("=", "adj"):
        return any(needle in v for v in folded)
    words = [w.casefold() for w in text.split()]
    hit = [any(w in v for v in folded) for w in words]
    return all(hit) if relation == "all" else any(hit)


@pytest.fixture
def shelf(db):
    return {
        "civil": book_create(title="民法典评注", clc="D923", subjects=["民法", "物权法 总论", "Civil Law"]),
        "percent": book_create(title="折扣", subjects=["100% 赔偿", "a_b"]),
        "none": book_create(title="无主题"),
        "paper": paper_create(title="公开", keywords=["民法典", "担保物权"], visibility=Paper.Visibility.PUBLIC),
        "secret": paper_create(title="内部", keywords=["民法"], visibility=Paper.Visibility.INTERNAL),
    }


def keys(*items) -> set:
    return {("book" if isinstance(i, Book) else "paper", i.pk) for i in items}


def test_relations(shelf):
    civil, paper = shelf["civil"], shelf["paper"]

    assert subject_keys("==", "民法") == keys(civil)  # the whole subject; the internal paper never
    assert subject_keys("==", "civil law") == keys(civil)  # case-insensitive
    assert subject_keys("==", "物权法") == set()  # a part is not the subject
    assert subject_keys("=", "物权") == keys(civil, paper)  # within a subject or keyword
    assert subject_keys("adj", "法 总") == keys(civil)
    assert subject_keys("=", "d92") == keys(civil)  # the CLC class
    assert subject_keys("==", "d923") == keys(civil)
    assert subject_keys("all", "总论 civil") == keys(civil)  # each word in some subject
    assert subject_keys("all", "总论 担保") == set()  # …of the same record
    assert subject_keys("any", "总论 担保") == keys(civil, paper)


def test_like_wildcards_in_a_term_are_plain_characters(shelf):
    assert subject_keys("=", "%") == keys(shelf["percent"])
    assert subject_keys("=", "_") == keys(shelf["percent"])
    assert subject_keys("==", "a_b") == keys(shelf["percent"])
    assert subject_keys("==", "aXb") == set()
    assert subject_keys("=", "100%") == keys(shelf["percent"])


def test_odd_stored_values_do_not_match_or_fail(shelf):
    # Written past the model's validation: a JSON string, a number in the list, an object.
    Book.objects.filter(pk=shelf["none"].pk).update(subjects="民法")
    Book.objects.filter(pk=shelf["percent"].pk).update(subjects=[1923, {"民法": "x"}, None])

    assert subject_keys("=", "民法") == keys(shelf["civil"], shelf["paper"])
    assert subject_keys("=", "1923") == set()


def test_the_subjects_are_filtered_in_the_database_not_read(shelf):
    with CaptureQueriesContext(connection) as queries:
        found = subject_keys("any", "民法 物权 civil")

    assert found == keys(shelf["civil"], shelf["paper"])
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2  # one for books, one for papers
    for sql in selects:
        selected = sql.split(" FROM ", 1)[0]
        assert "subjects" not in selected and "keywords" not in selected, sql


# Terms and subjects over an alphabet whose letters fold the same in Python, SQLite and PostgreSQL (ASCII and
# Chinese), with LIKE's wildcards and escape, quotes and spaces.
ALPHABET = st.sampled_from(list("aAbBzZ民法物权 %_\\'\"-"))
WORD = st.text(ALPHABET, min_size=1, max_size=4)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lists=st.lists(st.lists(WORD, max_size=3), min_size=1, max_size=5),
       relation=st.sampled_from(["=", "==", "adj", "all", "any"]), term=WORD)
@pytest.mark.django_db
def test_the_database_matches_as_the_python_did(lists, relation, term):
    text = " ".join(term.split())
    if not text:
        return
    with transaction.atomic():
        books = Book.objects.bulk_create([Book(title=f"书{i}", subjects=subjects) for i, subjects in enumerate(lists)])
        expected = {("book", b.pk) for b, subjects in zip(books, lists, strict=True)
                    if reference(subjects, relation, text)}

        found = catalogue._subject(relation, text)

        transaction.set_rollback(True)
    assert found == expected
