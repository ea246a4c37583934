"""The books and copies endpoints: behaviour, the authorization matrix and every error path."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from library.models import Book, Copy
from library.services import Person, book_create, copy_create

pytestmark = pytest.mark.django_db

BOOK = {
    "isbn": "978-7-301-04815-3",
    "title": "民法物权",
    "subtitle": "通则·所有权",
    "authors": ["王泽鉴"],
    "publisher": "北京大学出版社",
    "year": 2009,
    "edition": "第2版",
    "language": "zh",
    "clc": "d923.2",
    "call_number": "D923.2/W23",
    "subjects": ["物权法", "担保物权", "物权法"],
    "summary": "台湾地区民法物权的经典教科书。",
    "cover_url": "https://covers.example/9787301048153.jpg",
}


@pytest.fixture
def book():
    b = book_create(title="刑法学", isbn="9787511823458", contributors=[Person("张明楷")], clc="D924", year=2021)
    copy_create(book=b, barcode="FG0001", location="院本部", shelf="A-01")
    copy_create(book=b, barcode="FG0002", location="棋盘井法庭", shelf="Q-02")
    return b


def test_librarian_creates_book_and_gets_normalized_record(librarian_api):
    response = librarian_api.post("/api/v1/books", BOOK)
    assert response.status_code == 201
    body = response.json()
    assert body["isbn"] == "9787301048153"
    assert body["clc"] == "D923.2"
    assert body["subjects"] == ["物权法", "担保物权"]
    assert body["authors"] == ["王泽鉴"]
    assert body["contributors"] == [{"name": "王泽鉴", "role": "author", "name_romanized": ""}]
    assert (body["copies"], body["total_copies"], body["available_copies"]) == ([], 0, 0)
    assert Book.objects.get(pk=body["id"]).publisher == "北京大学出版社"
    # Chinese is sent as UTF-8, not as \u escapes.
    assert "民法物权".encode() in response.content


def test_contributors_keep_order_and_roles(librarian_api):
    payload = {
        "title": "法律的概念",
        "contributors": [{"name": "H. L. A. Hart", "role": "author"}, {"name": "许家馨", "role": "translator"}],
    }
    body = librarian_api.post("/api/v1/books", payload).json()
    assert body["authors"] == ["H. L. A. Hart", "许家馨"]
    assert body["contributors"][1] == {"name": "许家馨", "role": "translator", "name_romanized": ""}


def test_book_without_isbn_is_allowed_twice(librarian_api):
    first = librarian_api.post("/api/v1/books", {"title": "旧书一"})
    second = librarian_api.post("/api/v1/books", {"title": "旧书二", "isbn": ""})
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["isbn"], second.json()["isbn"]) == (None, None)


def test_duplicate_isbn_is_409_in_any_spelling(librarian_api, book):
    response = librarian_api.post("/api/v1/books", {"title": "另一本", "isbn": "978-7-5118-2345-8"})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_isbn"
    assert response.json()["existing"] == book.pk
    assert Book.objects.count() == 1


def test_get_book_shows_copies_and_availability(anon_api, book):
    Copy.objects.filter(barcode="FG0002").update(status=Copy.Status.REPAIR)
    body = anon_api.get(f"/api/v1/books/{book.pk}").json()
    assert body["copies"] == [
        {"barcode": "FG0001", "location": "院本部", "shelf": "A-01", "status": "available"},
        {"barcode": "FG0002", "location": "棋盘井法庭", "shelf": "Q-02", "status": "repair"},
    ]
    assert (body["total_copies"], body["available_copies"]) == (2, 1)


def test_lost_and_withdrawn_copies_do_not_count_as_holdings(anon_api, book):
    Copy.objects.filter(barcode="FG0002").update(status=Copy.Status.WITHDRAWN)
    body = anon_api.get(f"/api/v1/books/{book.pk}").json()
    assert (body["total_copies"], body["available_copies"]) == (1, 1)


def test_list_books_paginates_and_filters(anon_api):
    for i, (clc, lang, year) in enumerate([("D923.2", "zh", 2010), ("D924", "zh", 2015), ("D923.6", "en", 2020)]):
        book_create(title=f"书{i}", clc=clc, language=lang, year=year)
    body = anon_api.get("/api/v1/books", {"limit": 2, "offset": 0}).json()
    assert body["count"] == 3
    assert [b["title"] for b in body["items"]] == ["书0", "书1"]
    assert [b["title"] for b in anon_api.get("/api/v1/books", {"clc": "d923"}).json()["items"]] == ["书0", "书2"]
    assert [b["title"] for b in anon_api.get("/api/v1/books", {"language": "en"}).json()["items"]] == ["书2"]
    titles = [b["title"] for b in anon_api.get("/api/v1/books", {"year_from": 2012, "year_to": 2020}).json()["items"]]
    assert titles == ["书1", "书2"]


@pytest.mark.parametrize("count", [1, 3])
def test_list_books_query_count_does_not_grow_with_items(anon_api, count):
    for i in range(count):
        b = book_create(title=f"书{i}", contributors=["甲", "乙"])
        copy_create(book=b, barcode=f"B{i}")
    with CaptureQueriesContext(connection) as queries:
        response = anon_api.get("/api/v1/books")
    assert response.json()["count"] == count
    # count + page + contributors + copies (no session or user lookups for anonymous readers)
    assert len(queries) == 4


def test_patch_changes_only_given_fields(librarian_api, book):
    response = librarian_api.patch(f"/api/v1/books/{book.pk}", {"subtitle": "第六版", "authors": ["张明楷", "某编辑"]})
    assert response.status_code == 200
    book.refresh_from_db()
    assert (book.title, book.subtitle, book.clc) == ("刑法学", "第六版", "D924")
    assert response.json()["authors"] == ["张明楷", "某编辑"]


def test_patch_can_clear_isbn_and_rejects_bad_one(librarian_api, book):
    bad = librarian_api.patch(f"/api/v1/books/{book.pk}", {"isbn": "9787511823457"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "isbn"
    book.refresh_from_db()
    assert book.isbn == "9787511823458"
    assert librarian_api.patch(f"/api/v1/books/{book.pk}", {"isbn": None}).json()["isbn"] is None


def test_delete_book_removes_it_and_its_copies(librarian_api, book):
    assert librarian_api.delete(f"/api/v1/books/{book.pk}").status_code == 204
    assert (Book.objects.count(), Copy.objects.count()) == (0, 0)
    assert librarian_api.get(f"/api/v1/books/{book.pk}").status_code == 404


def test_delete_book_refused_while_a_copy_is_on_loan(librarian_api, book):
    Copy.objects.filter(barcode="FG0001").update(status=Copy.Status.ON_LOAN)
    response = librarian_api.delete(f"/api/v1/books/{book.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "copy_in_circulation")
    assert Book.objects.filter(pk=book.pk).exists()


# --- copies -------------------------------------------------------------------


def test_librarian_adds_copy(librarian_api, book):
    response = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "FG0003", "location": "棋盘井法庭", "shelf": "Q-1"})
    assert response.status_code == 201
    assert response.json() == {"barcode": "FG0003", "location": "棋盘井法庭", "shelf": "Q-1", "status": "available",
                               "book": book.pk, "acquired_on": None, "note": "", "label_printed_at": None}


def test_duplicate_barcode_is_409(librarian_api, book):
    response = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "FG0001"})
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_barcode")
    assert Copy.objects.count() == 2


def test_copy_cannot_be_created_or_patched_into_circulation_statuses(librarian_api, book):
    created = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "FG9", "status": "on_loan"})
    assert (created.status_code, created.json()["detail"][0]["field"]) == (422, "status")
    patched = librarian_api.patch("/api/v1/copies/FG0001", {"status": "on_hold_shelf"})
    assert (patched.status_code, patched.json()["code"]) == (422, "status_reserved")
    assert Copy.objects.get(barcode="FG0001").status == "available"


def test_copy_on_loan_keeps_its_status_until_returned(librarian_api, book):
    Copy.objects.filter(barcode="FG0001").update(status=Copy.Status.ON_LOAN)
    response = librarian_api.patch("/api/v1/copies/FG0001", {"status": "repair"})
    assert (response.status_code, response.json()["code"]) == (409, "copy_in_circulation")
    assert librarian_api.delete("/api/v1/copies/FG0001").status_code == 409
    # Other fields of a lent copy may still be corrected.
    assert librarian_api.patch("/api/v1/copies/FG0001", {"shelf": "B-9"}).json()["shelf"] == "B-9"


def test_patch_and_delete_copy(librarian_api, book):
    assert librarian_api.patch("/api/v1/copies/FG0002", {"status": "lost", "note": "读者报失"}).json()["status"] == "lost"
    assert Copy.objects.get(barcode="FG0002").note == "读者报失"
    assert librarian_api.delete("/api/v1/copies/FG0002").status_code == 204
    assert librarian_api.get("/api/v1/copies/FG0002").status_code == 404


@pytest.mark.parametrize("typed", ["FG0001", "fg0001", "ＦＧ０００１", " FG0001 "])
def test_barcodes_are_found_as_typed_or_scanned(anon_api, book, typed):
    from urllib.parse import quote

    response = anon_api.get(f"/api/v1/copies/{quote(typed)}")
    assert (response.status_code, response.json()["barcode"]) == (200, "FG0001")


def test_barcodes_differing_only_in_case_are_one_barcode(librarian_api, book):
    response = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "fg0001"})
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_barcode")


def test_invisible_title_is_refused(librarian_api):
    response = librarian_api.post("/api/v1/books", {"title": "\u202e\u200b"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["title"]


def test_rebarcoding_onto_existing_barcode_is_409(librarian_api, book):
    response = librarian_api.patch("/api/v1/copies/FG0002", {"barcode": "FG0001"})
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_barcode")


# --- authorization matrix ---------------------------------------------------------

WRITES = [
    ("post", "/api/v1/books", {"title": "新书"}),
    ("patch", "/api/v1/books/{book}", {"title": "改名"}),
    ("delete", "/api/v1/books/{book}", None),
    ("post", "/api/v1/books/{book}/copies", {"barcode": "NEW1"}),
    ("patch", "/api/v1/copies/FG0001", {"shelf": "Z"}),
    ("delete", "/api/v1/copies/FG0001", None),
]
READS = ["/api/v1/books", "/api/v1/books/{book}", "/api/v1/copies/FG0001"]


def _call(client, method, path, data):
    fn = getattr(client, method)
    return fn(path) if data is None else fn(path, data)


@pytest.mark.parametrize(("method", "path", "data"), WRITES)
@pytest.mark.parametrize(("who", "status"), [("anon_api", 401), ("judge_api", 403), ("organizer_api", 403)])
def test_catalog_writes_need_the_librarian_role(request, book, who, status, method, path, data):
    client = request.getfixturevalue(who)
    before = list(Book.objects.values_list("title", flat=True)), list(Copy.objects.values_list("barcode", "shelf"))
    response = _call(client, method, path.format(book=book.pk), data)
    assert response.status_code == status
    assert response.json()["code"] == {401: "unauthorized", 403: "forbidden"}[status]
    after = list(Book.objects.values_list("title", flat=True)), list(Copy.objects.values_list("barcode", "shelf"))
    assert after == before


def _catalog_state():
    return (sorted(Book.objects.values_list("title", flat=True)),
            sorted(Copy.objects.values_list("barcode", "shelf")))


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "after"),
    [
        ("post", "/api/v1/books", {"title": "新书"}, 201, (["刑法学", "新书"], [("FG0001", "A-01"), ("FG0002", "Q-02")])),
        ("patch", "/api/v1/books/{book}", {"title": "改名"}, 200, (["改名"], [("FG0001", "A-01"), ("FG0002", "Q-02")])),
        ("delete", "/api/v1/books/{book}", None, 204, ([], [])),
        ("post", "/api/v1/books/{book}/copies", {"barcode": "NEW1"}, 201,
         (["刑法学"], [("FG0001", "A-01"), ("FG0002", "Q-02"), ("NEW1", "")])),
        ("patch", "/api/v1/copies/FG0001", {"shelf": "Z"}, 200, (["刑法学"], [("FG0001", "Z"), ("FG0002", "Q-02")])),
        ("delete", "/api/v1/copies/FG0001", None, 204, (["刑法学"], [("FG0002", "Q-02")])),
    ],
)
def test_librarian_may_do_every_catalog_write(librarian_api, book, method, path, data, status, after):
    response = _call(librarian_api, method, path.format(book=book.pk), data)
    assert response.status_code == status
    assert _catalog_state() == after


def test_superuser_may_write_without_roles(db):
    from accounts.services import token_issue
    from tests.conftest import ApiClient, make_user

    boss = make_user("boss")
    boss.is_superuser = True
    boss.save()
    response = ApiClient(token_issue(user=boss).raw).post("/api/v1/books", {"title": "院长荐书"})
    assert response.status_code == 201
    assert Book.objects.get(pk=response.json()["id"]).title == "院长荐书"


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", ["anon_api", "judge_api", "librarian_api", "organizer_api"])
def test_everyone_reads_the_public_catalog(request, book, who, path):
    response = request.getfixturevalue(who).get(path.format(book=book.pk))
    assert response.status_code == 200
    assert "FG0001" in response.content.decode()


@pytest.mark.parametrize("path", READS)
def test_closed_catalog_needs_login(settings, anon_api, judge_api, book, path):
    settings.CATALOG_PUBLIC = False
    response = anon_api.get(path.format(book=book.pk))
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert judge_api.get(path.format(book=book.pk)).status_code == 200


# --- bad input never produces a 500 --------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": "x", "year": "二〇二〇"}, "year"),
        ({"title": "x", "year": 99999}, "year"),
        ({"title": "x", "language": "klingon"}, "language"),
        ({"title": "x", "clc": "W1"}, "clc"),
        ({"title": "x", "isbn": "123"}, "isbn"),
        ({"title": "x", "authors": "王泽鉴"}, "authors"),
        ({"title": "x", "authors": [""]}, "authors.0"),
        ({"title": "x", "subjects": [1, 2]}, "subjects.0"),
        ({"title": "x", "cover_url": "javascript:alert(1)"}, "cover_url"),
        ({"title": "x", "contributors": [{"name": "甲", "role": "ghost"}]}, "contributors.0.role"),
        ({"title": "x", "unknown": 1}, "unknown"),
        ({"title": None}, "title"),
    ],
)
def test_invalid_book_input_is_422_naming_the_field(librarian_api, payload, field):
    response = librarian_api.post("/api/v1/books", payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert field in [e["field"] for e in body["detail"]]
    assert Book.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 422), (b'"text"', 422), (b"", 422), ("\ud800".encode("utf-8", "surrogatepass"), 400)],
)
def test_malformed_bodies_are_4xx_json(librarian_api, body, status):
    response = librarian_api.post_raw("/api/v1/books", body)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/books/abc", "/api/v1/books/99999999999999999999999", "/api/v1/books?limit=-1", "/api/v1/books?limit=x",
     "/api/v1/books?year_from=abc", "/api/v1/books?language=xx"],
)
def test_bad_paths_and_queries_are_4xx(anon_api, path):
    response = anon_api.get(path)
    assert response.status_code in (404, 422)
    assert response.json()["code"] in ("not_found", "invalid")


def test_unknown_book_is_404_with_code(anon_api):
    response = anon_api.get("/api/v1/books/4242")
    assert response.status_code == 404
    assert response.json() == {"detail": "图书 4242 不存在", "code": "not_found"}


@pytest.mark.parametrize(("who", "status"), [("anon_api", 401), ("judge_api", 403), ("organizer_api", 403)])
def test_only_librarians_import(request, who, status):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = "isbn,title\n,进口书\n".encode()
    response = request.getfixturevalue(who).upload("/api/v1/imports", {"file": SimpleUploadedFile("a.csv", csv)})
    assert response.status_code == status
    assert not Book.objects.exists()


# --- deleting what has a history ------------------------------------------------------------------


@pytest.fixture
def lent_and_returned(book, judge, librarian):
    """FG0001 was lent to a judge and returned: the loan is history that keeps the copy and the book."""
    from library.circulation import loan_checkout, loan_return

    loan = loan_checkout(patron=judge, actor=librarian, copy=Copy.objects.get(barcode="FG0001"))
    loan_return(loan=loan, actor=librarian)
    return loan


def test_a_copy_with_loan_history_is_withdrawn_not_deleted(librarian_api, lent_and_returned):
    response = librarian_api.delete("/api/v1/copies/FG0001")
    body = response.json()
    assert (response.status_code, body["code"]) == (409, "copy_has_history")
    assert '{"status": "withdrawn"}' in body["detail"]
    assert Copy.objects.get(barcode="FG0001").status == Copy.Status.AVAILABLE
    withdrawn = librarian_api.patch("/api/v1/copies/FG0001", {"status": "withdrawn"})
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    # A copy that never circulated is still simply deleted.
    assert librarian_api.delete("/api/v1/copies/FG0002").status_code == 204


def test_a_book_with_loan_history_is_refused_with_a_code(librarian_api, book, lent_and_returned):
    response = librarian_api.delete(f"/api/v1/books/{book.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "book_has_history")
    assert (Book.objects.filter(pk=book.pk).count(), Copy.objects.filter(book=book).count()) == (1, 2)


def test_a_copy_kept_by_a_hold_is_refused_with_a_code(librarian_api, book, judge):
    from django.utils import timezone

    from library.circulation import default_pickup_location
    from library.models import Hold

    Hold.objects.create(book=book, patron=judge, copy=Copy.objects.get(barcode="FG0002"), status="cancelled",
                        created_at=timezone.now(), pickup_location=default_pickup_location())
    response = librarian_api.delete("/api/v1/copies/FG0002")
    assert (response.status_code, response.json()["code"]) == (409, "copy_has_history")


def test_a_protected_delete_a_service_forgot_is_a_409_not_a_500(librarian_api, book, lent_and_returned, monkeypatch):
    """Answers 409 ``in_use`` when a delete reaches a protecting foreign key unchecked."""
    from library import services

    monkeypatch.setattr(services, "book_delete", lambda *, book: book.delete())
    response = librarian_api.delete(f"/api/v1/books/{book.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "in_use")
    assert Book.objects.filter(pk=book.pk).exists()


@pytest.mark.parametrize("field, value", [("title", "民法\r\n物权"), ("publisher", "北大\n出版社"),
                                          ("authors", ["王\t泽鉴"]), ("subtitle", "通则\u2028所有权")])
def test_single_line_book_fields_refuse_line_breaks(librarian_api, field, value):
    response = librarian_api.post("/api/v1/books", {**BOOK, field: value})
    assert response.status_code == 422
    assert [e["field"].split(".")[0] for e in response.json()["detail"]] == [field]
    assert Book.objects.count() == 0


def test_copy_location_refuses_a_line_break_but_the_note_keeps_lines(librarian_api, book):
    bad = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "FG7", "location": "院本部\n三楼"})
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "location")
    good = librarian_api.post(f"/api/v1/books/{book.pk}/copies", {"barcode": "FG7", "note": "第一行\n第二行"})
    assert (good.status_code, good.json()["note"]) == (201, "第一行\n第二行")


EN = {"Accept-Language": "en"}


def test_messages_are_chinese_by_default_and_english_with_accept_language_en(anon_api, librarian_api, book):
    """gettext, as for the pages: the request's Accept-Language picks the message; code and fields never change."""
    duplicate = {"title": "另一本", "isbn": "978-7-5118-2345-8"}

    zh = librarian_api.post("/api/v1/books", duplicate)
    en = librarian_api.post("/api/v1/books", duplicate, headers=EN)

    assert (zh.status_code, zh.json()) == (409, {"detail": "ISBN 9787511823458 已在目录中", "code": "duplicate_isbn",
                                                 "field": "isbn", "existing": book.pk})
    assert (en.status_code, en.json()) == (409, {"detail": "ISBN 9787511823458 is already in the catalog",
                                                 "code": "duplicate_isbn", "field": "isbn", "existing": book.pk})
    assert anon_api.get("/api/v1/books/4242", headers=EN).json() == {"detail": "Book 4242 not found", "code": "not_found"}
    bad = librarian_api.patch(f"/api/v1/books/{book.pk}", {"isbn": "9787511823457"}, headers=EN)
    assert bad.json()["detail"] == [{"loc": ["body", "isbn"], "field": "isbn", "msg": "Bad ISBN checksum: 9787511823457",
                                     "type": "invalid"}]
    # A language the site does not offer falls back to the default, Chinese.
    assert anon_api.get("/api/v1/books/4242", headers={"Accept-Language": "fr"}).json()["detail"] == "图书 4242 不存在"
