"""Whatever a client sends, the API answers with a 2xx or a 4xx JSON error — never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from library.services import book_create, copy_create, paper_create

pytestmark = pytest.mark.django_db

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "978-7-301-04815-3", "D923.2", "zh", "available", "on_loan", "public", "\x00", "x" * 600]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

BOOK_KEYS = ["isbn", "title", "subtitle", "authors", "contributors", "publisher", "year", "edition", "language",
             "clc", "call_number", "subjects", "summary", "cover_url"]
COPY_KEYS = ["barcode", "location", "shelf", "status", "acquired_on", "note"]
PAPER_KEYS = ["title", "authors", "abstract", "keywords", "year", "kind", "awards", "venue", "visibility"]


def bodies(keys):
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), VALUES, max_size=6) | VALUES


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@pytest.fixture
def catalog():
    book = book_create(title="民法物权")
    copy_create(book=book, barcode="FG1")
    paper = paper_create(title="调研", visibility="public")
    return book, paper


def _assert_clean(response):
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert "detail" in response.json()


@FUZZ
@given(body=bodies(BOOK_KEYS))
def test_book_writes_never_500(librarian_api, catalog, body):
    book, _ = catalog
    _assert_clean(librarian_api.post("/api/v1/books", body))
    _assert_clean(librarian_api.patch(f"/api/v1/books/{book.pk}", body))


@FUZZ
@given(body=bodies(COPY_KEYS))
def test_copy_writes_never_500(librarian_api, catalog, body):
    book, _ = catalog
    _assert_clean(librarian_api.post(f"/api/v1/books/{book.pk}/copies", body))
    _assert_clean(librarian_api.patch("/api/v1/copies/FG1", body))


@FUZZ
@given(body=bodies(PAPER_KEYS))
def test_paper_writes_never_500(librarian_api, catalog, body):
    _, paper = catalog
    _assert_clean(librarian_api.post("/api/v1/papers", body))
    _assert_clean(librarian_api.patch(f"/api/v1/papers/{paper.pk}", body))


@FUZZ
@given(body=bodies(["username", "password", "name"]))
def test_login_never_500(anon_api, body):
    _assert_clean(anon_api.post("/api/v1/auth/token", body))


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["limit", "offset", "language", "clc", "year_from", "year_to", "kind",
                                               "year", "visibility"]), st.text(max_size=12), max_size=4),
       ident=st.text(min_size=1, max_size=12))
def test_reads_never_500(anon_api, catalog, params, ident):
    from urllib.parse import quote

    _assert_clean(anon_api.get("/api/v1/books", params))
    _assert_clean(anon_api.get("/api/v1/papers", params))
    _assert_clean(anon_api.get(f"/api/v1/copies/{quote(ident, safe='')}"))
    _assert_clean(anon_api.get(f"/api/v1/books/{quote(ident, safe='')}"))


@FUZZ
@given(raw=st.binary(max_size=64))
def test_raw_bytes_never_500(librarian_api, raw):
    _assert_clean(librarian_api.post_raw("/api/v1/books", raw))


def test_nul_in_a_title_is_422_naming_the_field(librarian_api):
    response = librarian_api.post("/api/v1/books", {"title": "民法\x00物权"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["title"]
    assert json.loads(response.content)["code"] == "invalid"


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/books/1/nothing", "/api/v1/copies//"])
def test_unknown_api_paths_are_json_404(anon_api, path):
    response = anon_api.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_post_to_an_unknown_api_path_is_a_json_404_without_a_csrf_token(judge):
    """The thirteenth attack: a POST there met the CSRF check first, a 403 "Forbidden" page."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(judge)
    response = client.post("/api/v1/no-such-endpoint", "{}", content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_wrong_method_is_405_json(anon_api):
    response = anon_api.client.put("/api/v1/books", "{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.json()["detail"] and "POST" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/books", "/api/v1/papers", "/api/v1/me/tokens"])
@pytest.mark.parametrize("offset", [2**63, 10**30, -1])
def test_huge_offsets_are_422_not_500(judge_api, path, offset):
    response = judge_api.get(path, {"offset": offset})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "offset"


def test_body_over_the_size_limit_is_413_json(settings, librarian_api):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = librarian_api.post("/api/v1/books", {"title": "x", "summary": "y" * 2000})
    assert (response.status_code, response.json()["code"]) == (413, "too_large")


def test_broken_multipart_is_400_json(librarian_api, catalog):
    _, paper = catalog
    body = b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc"
    response = librarian_api.post_raw(f"/api/v1/papers/{paper.pk}/file", body, content_type="multipart/form-data; boundary=")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
