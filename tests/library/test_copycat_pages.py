"""Copy cataloguing through the API and the pages (django.test.Client, the whole middleware stack), against
the local SRU server (tests/library/sru_server.py)."""

import pytest
from django.test import Client

from library import copycat, importers
from library.models import Book, SruTarget
from library.services import book_create, book_update
from tests.conftest import api_for
from tests.library.sru_server import diagnostic_response, marc21_record, search_response
from tests.realdata import shared

pytestmark = pytest.mark.django_db

QUERY = 'bath.isbn = "9787301048153"'


def answer_one(server, **fields):
    record = marc21_record(**{"title": "民法总论", "isbn": "9787301048153", "author": "王泽鉴",
                              "publisher": "北京大学出版社", "year": 2009, "control": "LC001", **fields})
    server.answer(QUERY, search_response([record]))


@pytest.fixture
def target(sru_server):
    return copycat.sru_target_create(name="国家图书馆", base_url=sru_server.url, internal_network=True)


# --- API -----------------------------------------------------------------------------------------------------


def test_api_manages_targets(librarian):
    api = api_for(librarian)

    created = api.post("/api/v1/sru-targets", {"name": "市图书馆", "base_url": "http://localhost:8/sru",
                                               "record_schema": "cnmarcxml"})
    target_id = created.json()["id"]
    patched = api.patch(f"/api/v1/sru-targets/{target_id}", {"title_index": "title", "enabled": False})
    listed = api.get("/api/v1/sru-targets")
    deleted = api.delete(f"/api/v1/sru-targets/{target_id}")

    assert created.status_code == 201
    assert (patched.json()["title_index"], patched.json()["enabled"]) == ("title", False)
    assert [t["name"] for t in listed.json()["items"]] == ["市图书馆"]
    assert deleted.status_code == 204 and not SruTarget.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "base_url": "ftp://127.0.0.1/"}, "base_url"),
    ({"name": "x", "base_url": "http://localhost/", "isbn_index": 'bath.isbn="1"'}, "isbn_index"),
    ({"name": "x", "base_url": "http://localhost/", "version": "3.0"}, "version"),
])
def test_api_refuses_a_bad_target_naming_the_field(librarian, body, field):
    response = api_for(librarian).post("/api/v1/sru-targets", body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == [field]


def test_api_search_then_import_then_import_again(librarian, target, sru_server):
    answer_one(sru_server)
    api = api_for(librarian)

    found = api.get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9787301048153"}).json()
    token = found["candidates"][0]["token"]
    first = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()
    again = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()

    book = Book.objects.get()
    assert (found["total"], found["query_by"], found["candidates"][0]["fields"]["title"]) == (1, "isbn", "民法总论")
    assert found["candidates"][0]["local_book_id"] is None
    assert (first["outcome"], first["book_id"]) == ("created", book.pk)
    assert (again["outcome"], again["book_id"]) == ("unchanged", book.pk)
    assert sru_server.queries() == [QUERY]


def test_api_search_shows_the_local_book_and_what_differs(librarian, target, sru_server):
    local = book_create(title="民法总论", isbn="9787301048153", publisher="北大出版社", year=2009, contributors=["王泽鉴"])
    answer_one(sru_server)

    candidate = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search",
                                       {"isbn": "9787301048153"}).json()["candidates"][0]

    assert candidate["local_book_id"] == local.pk
    assert candidate["differences"] == [{"field": "publisher", "label": "出版者", "theirs": "北京大学出版社",
                                         "ours": "北大出版社"}]


def test_api_search_needs_exactly_one_term(librarian, target):
    response = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "1", "title": "x"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "isbn"


def test_api_tells_a_diagnostic_as_409_with_plain_words(librarian, target, sru_server):
    sru_server.answer(QUERY, diagnostic_response(66, "marcxml", "Unknown schema"))

    response = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9787301048153"})

    assert response.status_code == 409
    assert response.json()["code"] == "sru_diagnostic"
    assert response.json()["detail"].startswith("国家图书馆：对方服务器不提供所选的记录格式")


def test_api_refuses_a_forged_token(librarian, target):
    forged = copycat.sign_record(target, b"x")[:-3] + "abc"

    response = api_for(librarian).post(f"/api/v1/sru-targets/{target.pk}/import", {"token": forged})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "token"
    assert Book.objects.count() == 0


def test_judges_may_not_search_or_import(judge, target):
    api = api_for(judge)

    assert api.get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "1"}).status_code == 403
    assert api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": "x"}).status_code == 403


# --- pages ---------------------------------------------------------------------------------------------------


def logged_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_page_search_lists_candidates_and_import_lands_on_the_book_page(librarian, target, sru_server):
    answer_one(sru_server)
    client = logged_in(librarian)

    page = client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"})
    token = page.context["rows"][0]["candidate"].token
    imported = client.post("/catalog/copy/import", {"target": target.pk, "token": token}, follow=True)

    book = Book.objects.get()
    assert page.status_code == 200
    assert "民法总论" in page.content.decode() and "北京大学出版社" in page.content.decode()
    assert imported.redirect_chain == [(f"/books/{book.pk}?imported=created", 302)]
    body = imported.content.decode()
    assert "已从 国家图书馆 导入《民法总论》。下一步：添加复本、确定索书号。" in body
    assert f"/admin/library/book/{book.pk}/change/?next=/books/{book.pk}#copies-group" in body


def test_page_says_when_a_record_is_already_here(librarian, target, sru_server):
    answer_one(sru_server)
    client = logged_in(librarian)
    token = client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"}
                       ).context["rows"][0]["candidate"].token
    client.post("/catalog/copy/import", {"target": target.pk, "token": token})

    again = client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"})
    reimported = client.post("/catalog/copy/import", {"target": target.pk, "token": token}, follow=True)

    assert "本馆已有此记录" in again.content.decode()
    assert "《民法总论》已是 国家图书馆 的这条记录，没有变化。" in reimported.content.decode()
    # The next step offered is the book (and its copies), not an import that would change nothing.
    book = Book.objects.get()
    candidate = again.content.decode().split('id="candidate-1"')[1].split("</article>")[0]
    assert f'<a class="button" href="/books/{book.pk}">查看本馆图书</a>' in candidate
    assert "/catalog/copy/import" not in candidate


def test_page_shows_a_timeout_in_plain_words(librarian, target, sru_server, settings):
    settings.SRU_READ_TIMEOUT = 0.5
    sru_server.answer(QUERY, search_response([]), delay=3)

    page = logged_in(librarian).get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"})

    assert page.status_code == 200
    assert page.context["problem"] == "国家图书馆 没有及时回答（超时），请稍后再试"


# --- real answers (tests/fixtures/realdata), zero hits and a diagnostic, on the page and through the API ----------

DP2_QUERY = 'bath.isbn = "7-5037-1744-0"'


@pytest.fixture
def cnmarc_target(sru_server):
    """A Chinese library's SRU server answering CNMARC: dp2Catalog's saved answer (42 hits, the first ten)."""
    sru_server.answer(DP2_QUERY, shared("dp2/sample_cnmarcxml.xml").read_bytes())
    return copycat.sru_target_create(name="国家图书馆", base_url=sru_server.url, internal_network=True,
                                     record_schema="cnmarcxml")


def test_page_lists_a_real_cnmarc_answer_and_imports_its_first_record(librarian, cnmarc_target):
    client = logged_in(librarian)

    page = client.get("/catalog/copy", {"target": cnmarc_target.pk, "by": "isbn", "q": "7-5037-1744-0"})
    token = page.context["rows"][0]["candidate"].token
    imported = client.post("/catalog/copy/import", {"target": cnmarc_target.pk, "token": token}, follow=True)

    body = page.content.decode()
    assert "国家图书馆：共 42 条" in body
    assert body.count('class="card candidate"') == 10 and "记录无法读取" not in body
    assert "#1 &#x27;94中国发展报告" in body and "ISBN 978-7-5037-1744-4" in body
    assert "第 1 / 5 页" in body
    book = Book.objects.get()
    assert (book.title, book.publisher, book.year) == ("'94中国发展报告", "中国统计出版社", 1994)
    assert imported.redirect_chain == [(f"/books/{book.pk}?imported=created", 302)]


def test_api_lists_a_real_cnmarc_answer(librarian, cnmarc_target):
    found = api_for(librarian).get(f"/api/v1/sru-targets/{cnmarc_target.pk}/search", {"isbn": "7-5037-1744-0"})

    body = found.json()
    assert found.status_code == 200
    assert (body["total"], len(body["candidates"])) == (42, 10)
    first = body["candidates"][0]
    assert (first["position"], first["fields"]["title"], first["fields"]["publisher"], first["problem"]) == (
        1, "'94中国发展报告", "中国统计出版社", "")


def test_zero_hits_say_nothing_was_found_on_the_page_and_in_the_api(librarian, target, sru_server):
    client = logged_in(librarian)

    page = client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9780000000002"})
    found = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9780000000002"})

    body = page.content.decode()
    assert page.status_code == 200
    assert "国家图书馆：共 0 条" in body and "没有找到记录。可以换个检索途径或检索词再试。" in body
    assert 'id="copy-problem"' not in body
    assert (found.status_code, found.json()["total"], found.json()["candidates"]) == (200, 0, [])
    assert sru_server.queries() == ['bath.isbn = "9780000000002"'] * 2


@pytest.mark.parametrize("sru2", [False, True])
def test_page_tells_a_diagnostic_in_plain_words(librarian, target, sru_server, sru2):
    sru_server.answer('dc.title all "民法"', diagnostic_response(16, "dc.title", "Unsupported index", sru2=sru2))

    page = logged_in(librarian).get("/catalog/copy", {"target": target.pk, "by": "title", "q": "民法"})

    assert page.status_code == 200
    assert page.context["problem"] == ("国家图书馆：对方服务器不支持所用的检索点（请在检索目标中改用它的检索点名称）"
                                       " [info:srw/diagnostic/1/16]（Unsupported index；dc.title）")
    assert 'id="copy-problem"' in page.content.decode() and page.context["rows"] == []


def test_page_import_needs_the_csrf_token(librarian, target):
    token = copycat.sign_record(target, marc21_record(title="书").encode())

    response = logged_in(librarian, csrf=True).post("/catalog/copy/import", {"target": target.pk, "token": token})

    assert response.status_code == 403
    assert Book.objects.count() == 0


def test_the_book_list_and_the_new_book_form_link_to_copy_cataloguing(librarian):
    client = logged_in(librarian)

    for url in ("/admin/library/book/", "/admin/library/book/add/", "/catalog/import"):
        assert 'href="/catalog/copy"' in client.get(url).content.decode(), url


# --- conflicts ------------------------------------------------------------------------------------------------


def conflicting_local_book():
    return book_create(title="民法总论", isbn="9787301048153", publisher="北大出版社", year=2009,
                       contributors=["王泽鉴"])


def test_page_import_of_a_conflicting_candidate_shows_both_values(librarian, target, sru_server):
    local = conflicting_local_book()
    answer_one(sru_server)
    client = logged_in(librarian)
    token = client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"}
                       ).context["rows"][0]["candidate"].token

    response = client.post("/catalog/copy/import", {"target": target.pk, "token": token})

    body = response.content.decode()
    assert response.status_code == 200
    assert "记录冲突，未导入" in body
    assert "北京大学出版社" in body and "北大出版社" in body
    local.refresh_from_db()
    assert local.publisher == "北大出版社"


def test_api_import_of_a_conflicting_candidate_lists_both_values(librarian, target, sru_server):
    local = conflicting_local_book()
    answer_one(sru_server)
    api = api_for(librarian)
    token = api.get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9787301048153"}).json()["candidates"][0]["token"]

    answer = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()

    assert (answer["outcome"], answer["book_id"]) == ("conflict", local.pk)
    assert [(c["field"], c["theirs"], c["ours"]) for c in answer["conflicts"]] == [
        ("publisher", "北京大学出版社", "北大出版社")]


def conflict_token(client, target) -> str:
    return client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"}
                      ).context["rows"][0]["candidate"].token


def test_the_conflict_page_offers_the_three_decisions_as_csrf_forms_with_the_token(librarian, target, sru_server):
    local = conflicting_local_book()
    answer_one(sru_server)
    client = logged_in(librarian)
    token = conflict_token(client, target)

    body = client.post("/catalog/copy/import", {"target": target.pk, "token": token}).content.decode()

    form = body[body.index('id="conflict-decisions"'):body.index("</form>", body.index('id="conflict-decisions"'))]
    assert "csrfmiddlewaretoken" in form and f'value="{token}"' in form
    assert f'name="fingerprint" value="{importers.book_fingerprint(local)}"' in form
    assert ['name="on_conflict" value="keep"' in form, 'name="on_conflict" value="replace"' in form,
            'name="on_conflict" value="new"' in form] == [True, True, True]
    assert "保留本馆记录" in form and "以导入为准" in form and "另建新书" in form


@pytest.mark.parametrize(("decision", "publisher", "books", "message"), [
    ("keep", "北大出版社", 1, "保留了本馆的《民法总论》，没有写入 国家图书馆 的记录。"),
    ("replace", "北京大学出版社", 1, "已以 国家图书馆 的记录为准修改《民法总论》。"),
    ("new", "北大出版社", 2, "已按 国家图书馆 的记录另建新书《民法总论》。"),
])
def test_page_decides_a_conflict(librarian, target, sru_server, decision, publisher, books, message):
    local = conflicting_local_book()
    answer_one(sru_server)
    client = logged_in(librarian)
    token = conflict_token(client, target)
    shown = client.post("/catalog/copy/import", {"target": target.pk, "token": token}).context["result"]

    response = client.post("/catalog/copy/import", {"target": target.pk, "token": token, "on_conflict": decision,
                                                    "fingerprint": shown.fingerprint}, follow=True)

    local.refresh_from_db()
    assert local.publisher == publisher
    assert Book.objects.count() == books
    assert message in response.content.decode()
    landed = Book.objects.exclude(pk=local.pk).get() if decision == "new" else local
    assert response.redirect_chain[-1][0].startswith(f"/books/{landed.pk}?imported=")
    if decision == "new":
        assert landed.publisher == "北京大学出版社" and not landed.isbn  # the ISBN stays with the local book
        assert f"ISBN 9787301048153 已属于另一种书《民法总论》(id {local.pk})，未采用" in response.content.decode()


def test_page_decision_refuses_a_forged_token(librarian, target):
    forged = copycat.sign_record(target, b"x")[:-3] + "abc"

    response = logged_in(librarian).post("/catalog/copy/import",
                                         {"target": target.pk, "token": forged, "on_conflict": "new"}, follow=True)

    assert "候选记录无效（签名不符），请重新检索" in response.content.decode()
    assert Book.objects.count() == 0


@pytest.mark.parametrize(("decision", "outcome", "publisher", "books"), [
    ("keep", "unchanged", "北大出版社", 1),
    ("replace", "updated", "北京大学出版社", 1),
    ("new", "created", "北大出版社", 2),
])
def test_api_decides_a_conflict(librarian, target, sru_server, decision, outcome, publisher, books):
    local = conflicting_local_book()
    before = importers.book_fingerprint(local)
    answer_one(sru_server)
    api = api_for(librarian)
    token = api.get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9787301048153"}).json()["candidates"][0]["token"]
    fingerprint = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()["fingerprint"]

    answer = api.post(f"/api/v1/sru-targets/{target.pk}/import",
                      {"token": token, "on_conflict": decision, "fingerprint": fingerprint}).json()

    assert fingerprint == before  # the local book's, as compared
    local.refresh_from_db()
    assert (answer["outcome"], answer["fingerprint"]) == (outcome, "")
    assert answer["book_id"] == (local.pk if decision != "new" else Book.objects.exclude(pk=local.pk).get().pk)
    assert (local.publisher, Book.objects.count()) == (publisher, books)


def api_conflict(api, target) -> tuple[str, str]:
    """The token of the search's candidate and the fingerprint its conflict answered."""
    token = api.get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "9787301048153"}).json()["candidates"][0]["token"]
    return token, api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()["fingerprint"]


@pytest.mark.parametrize("decision", ["keep", "replace"])
def test_api_refuses_a_decision_on_a_book_changed_since_the_conflict_and_writes_nothing(librarian, target, sru_server,
                                                                                     decision):
    local = conflicting_local_book()
    answer_one(sru_server)
    api = api_for(librarian)
    token, fingerprint = api_conflict(api, target)
    book_update(book=local, changes={"edition": "第2版"})

    response = api.post(f"/api/v1/sru-targets/{target.pk}/import",
                        {"token": token, "on_conflict": decision, "fingerprint": fingerprint})

    assert (response.status_code, response.json()["code"]) == (409, "book_changed")
    assert response.json()["detail"] == "比较之后本馆的这种书已被修改或删除；请重新导入此记录，比较后再决定"
    local.refresh_from_db()
    assert (local.publisher, local.edition, Book.objects.count()) == ("北大出版社", "第2版", 1)


def test_api_refuses_a_decision_on_a_book_deleted_since_the_conflict_and_creates_nothing(librarian, target,
                                                                                      sru_server):
    """The rerun of the import finds no book and creates one from the record: rolled back with the refusal."""
    local = conflicting_local_book()
    answer_one(sru_server)
    api = api_for(librarian)
    token, fingerprint = api_conflict(api, target)
    local.delete()

    response = api.post(f"/api/v1/sru-targets/{target.pk}/import",
                        {"token": token, "on_conflict": "keep", "fingerprint": fingerprint})

    assert (response.status_code, response.json()["code"]) == (409, "book_changed")
    assert Book.objects.count() == 0


def test_api_decides_again_after_comparing_the_changed_book_anew(librarian, target, sru_server):
    local = conflicting_local_book()
    answer_one(sru_server)
    api = api_for(librarian)
    token, stale = api_conflict(api, target)
    book_update(book=local, changes={"edition": "第2版"})
    refused = api.post(f"/api/v1/sru-targets/{target.pk}/import",
                       {"token": token, "on_conflict": "replace", "fingerprint": stale})

    fresh = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token}).json()["fingerprint"]
    answer = api.post(f"/api/v1/sru-targets/{target.pk}/import",
                      {"token": token, "on_conflict": "replace", "fingerprint": fresh}).json()

    local.refresh_from_db()
    assert (refused.status_code, fresh != stale, answer["outcome"]) == (409, True, "updated")
    assert (local.publisher, local.edition) == ("北京大学出版社", "第2版")


@pytest.mark.parametrize("decision", ["keep", "replace"])
def test_api_keep_or_replace_without_the_fingerprint_is_422_naming_it(librarian, target, sru_server, decision):
    local = conflicting_local_book()
    answer_one(sru_server)
    api = api_for(librarian)
    token, _fingerprint = api_conflict(api, target)

    response = api.post(f"/api/v1/sru-targets/{target.pk}/import", {"token": token, "on_conflict": decision})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "fingerprint"
    local.refresh_from_db()
    assert local.publisher == "北大出版社"


def test_page_decision_on_a_book_changed_since_the_conflict_says_so_and_writes_nothing(librarian, target, sru_server):
    local = conflicting_local_book()
    answer_one(sru_server)
    client = logged_in(librarian)
    token = conflict_token(client, target)
    shown = client.post("/catalog/copy/import", {"target": target.pk, "token": token}).context["result"]
    book_update(book=local, changes={"edition": "第2版"})

    response = client.post("/catalog/copy/import", {"target": target.pk, "token": token, "on_conflict": "replace",
                                                    "fingerprint": shown.fingerprint}, follow=True)

    assert response.redirect_chain == [("/catalog/copy", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "比较之后本馆的这种书已被修改或删除；请重新导入此记录，比较后再决定"]
    local.refresh_from_db()
    assert (local.publisher, Book.objects.count()) == ("北大出版社", 1)


def test_api_refuses_an_unknown_decision_naming_on_conflict(librarian, target):
    token = copycat.sign_record(target, marc21_record(title="书").encode())

    response = api_for(librarian).post(f"/api/v1/sru-targets/{target.pk}/import",
                                       {"token": token, "on_conflict": "merge"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "on_conflict"
    assert Book.objects.count() == 0


# --- what the comparison shows --------------------------------------------------------------------------------


def search_page(client, target):
    return client.get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "9787301048153"})


def test_differing_subjects_are_a_difference_not_already_here(librarian, target, sru_server):
    book_create(title="民法总论", isbn="9787301048153", publisher="北京大学出版社", year=2009, contributors=["王泽鉴"],
                subjects=["民法"])
    answer_one(sru_server, subjects=["民法", "法学理论"])
    client = logged_in(librarian)

    page = search_page(client, target)
    candidate = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search",
                                       {"isbn": "9787301048153"}).json()["candidates"][0]

    body = page.content.decode()
    assert "本馆已有此记录" not in body and "本馆有此书，记录不同" in body
    assert "导入（补充本馆记录）" in body  # a different record may still be imported onto the book
    assert candidate["differences"] == [{"field": "subjects", "label": "主题词", "theirs": "民法；法学理论",
                                         "ours": "民法"}]


def test_the_same_subjects_in_another_order_are_no_difference(librarian, target, sru_server):
    book_create(title="民法总论", isbn="9787301048153", publisher="北京大学出版社", year=2009, contributors=["王泽鉴"],
                subjects=["法学理论", "民法"])
    answer_one(sru_server, subjects=["民法", "法学理论"])

    assert "本馆已有此记录" in search_page(logged_in(librarian), target).content.decode()


def test_the_other_librarys_call_number_is_a_suggestion_not_a_difference(librarian, target, sru_server):
    book_create(title="民法总论", isbn="9787301048153", publisher="北京大学出版社", year=2009, contributors=["王泽鉴"],
                clc="D923", call_number="D923/1")
    answer_one(sru_server, call_number=("D923.1", "W12"))

    body = search_page(logged_in(librarian), target).content.decode()
    candidate = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search",
                                       {"isbn": "9787301048153"}).json()["candidates"][0]

    assert (candidate["suggested_call_number"], candidate["differences"]) == ("D923.1/W12", [])
    assert "本馆已有此记录" in body
    assert "D923.1/W12" in body and "（对方的，仅供参考，不导入）" in body and "D923/1" in body


def test_isbn_10_and_13_of_one_book_look_alike(librarian, target, sru_server):
    book_create(title="民法总论", isbn="9787301048153", publisher="北京大学出版社", year=2009, contributors=["王泽鉴"])
    answer_one(sru_server, isbn="7-301-04815-7")

    page = search_page(logged_in(librarian), target)

    row = next(item for item in page.context["rows"][0]["compared"] if item["field"] == "isbn")
    assert (row["theirs"], row["ours"]) == ("978-7-301-04815-3", "978-7-301-04815-3")
    assert "本馆已有此记录" in page.content.decode()


def test_a_record_with_a_wrong_isbn_check_digit_is_listed_not_a_500(librarian, target, sru_server):
    answer_one(sru_server, isbn="7-301-04815-0")

    page = search_page(logged_in(librarian), target)

    assert page.status_code == 200
    assert "ISBN 校验位错误：7-301-04815-0" in page.content.decode()


# --- after importing: 添加复本 comes back to the book page ------------------------------------------------------


def admin_book_data(book, **changes):
    data = {"title": book.title, "subtitle": "", "title_romanized": "", "subtitle_romanized": "", "isbn": "",
            "publisher": "", "year": "", "edition": "", "language": "zh", "clc": "", "call_number": "",
            "subjects": "[]", "summary": "", "cover_url": "",
            "contributors-TOTAL_FORMS": "0", "contributors-INITIAL_FORMS": "0", "contributors-MIN_NUM_FORMS": "0",
            "contributors-MAX_NUM_FORMS": "1000", "copies-TOTAL_FORMS": "1", "copies-INITIAL_FORMS": "0",
            "copies-MIN_NUM_FORMS": "0", "copies-MAX_NUM_FORMS": "1000", "copies-0-barcode": "FG7001",
            "copies-0-location": "院本部", "copies-0-shelf": "", "copies-0-status": "available",
            "copies-0-acquired_on": "", "copies-0-note": ""}
    return {**data, **changes}


def test_add_copies_from_the_book_page_comes_back_to_the_book_page(librarian):
    book = book_create(title="民法总论")
    page = logged_in(librarian).get(f"/books/{book.pk}").content.decode()
    link = f"/admin/library/book/{book.pk}/change/?next=/books/{book.pk}#copies-group"
    assert f'href="{link}"' in page

    saved = logged_in(librarian).post(link.split("#")[0], admin_book_data(book))

    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert saved["Location"] == f"/books/{book.pk}"
    assert book.copies.get().barcode == "FG7001"


def test_the_admin_ignores_a_next_to_another_site_and_save_and_continue(librarian):
    book = book_create(title="民法总论")
    client = logged_in(librarian)
    url = f"/admin/library/book/{book.pk}/change/"

    elsewhere = client.post(f"{url}?next=https://evil.example.org/", admin_book_data(book))
    continued = client.post(f"{url}?next=/books/{book.pk}", admin_book_data(book, **{"_continue": "1",
                                                                                    "copies-TOTAL_FORMS": "0"}))

    assert elsewhere["Location"] == "/admin/library/book/"
    assert continued["Location"].startswith(url)


def test_a_candidate_is_a_compact_summary_with_the_fields_folded(librarian, target, sru_server):
    conflicting_local_book()
    answer_one(sru_server)

    body = search_page(logged_in(librarian), target).content.decode()

    article = body[body.index('id="candidate-1"'):body.index("</article>", body.index('id="candidate-1"'))]
    summary, folded = article.split('<details class="candidate-fields">')
    assert "王泽鉴 · 2009 · ISBN 978-7-301-04815-3" in summary and "不同：出版者" in summary
    assert "本馆有此书，记录不同" in summary and 'type="submit"' in summary
    assert '<table class="cards compare">' in folded and "北大出版社" in folded and "北大出版社" not in summary


# --- small things -------------------------------------------------------------------------------------------


def test_api_refuses_letters_as_an_isbn_naming_isbn(librarian, target, sru_server):
    response = api_for(librarian).get(f"/api/v1/sru-targets/{target.pk}/search", {"isbn": "abc"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "isbn"
    assert "ISBN 只能包含数字、连字符和末位的 X" in response.json()["detail"][0]["msg"]
    assert sru_server.queries() == []


def test_page_shows_letters_as_an_isbn_as_a_form_error(librarian, target, sru_server):
    page = logged_in(librarian).get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "abc"})

    assert page.status_code == 400
    assert page.context["form"].errors["q"] == ["ISBN 只能包含数字、连字符和末位的 X：abc"]
    assert sru_server.queries() == []


def test_a_part_of_an_isbn_and_full_width_digits_are_still_searched(librarian, target, sru_server):
    page = logged_in(librarian).get("/catalog/copy", {"target": target.pk, "by": "isbn", "q": "９７８-7-301"})

    assert page.status_code == 200 and page.context["form"].errors == {}


def test_a_private_address_points_to_the_internal_network_checkbox(librarian, settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    response = api_for(librarian).post("/api/v1/sru-targets", {"name": "市图书馆", "base_url": "http://10.1.2.3/sru"})

    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["field"] == "base_url"
    assert detail["msg"] == ("地址不能指向内部网络。如果这台服务器确在法院内网，请系统管理员把它的主机和端口加入设置 "
                             "SRU_INTERNAL_HOSTS，再由超级管理员勾选“位于法院内网”。")


def test_the_target_form_in_the_admin_links_back_to_copy_cataloguing(librarian):
    body = logged_in(librarian).get("/admin/library/srutarget/add/").content.decode()

    assert '<a href="/catalog/copy">从其他图书馆复制编目</a>' in body
