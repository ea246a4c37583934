"""``Idempotency-Key`` on the POSTs that create loans, holds and registrations (core/idempotency.py).

The crash cases (a worker killed with SIGKILL in the middle of a borrow or a registration, then the
client's retry) run against a live server in tests/shuyuan/test_faults.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import IdempotencyRecord
from events.models import Registration
from events.services import EventData, event_create
from library.models import Copy, Hold, Loan
from library.services import book_create, copy_create
from tests.conftest import api_for, copy_barcode, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    book = book_create(title="民法典评注")
    copy_create(book=book, barcode="IDEM1")
    return book


def test_a_retried_borrow_returns_the_first_answer_and_lends_once(judge_api, book):
    key = {"Idempotency-Key": "borrow-7f3a91c2"}
    first = judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key)
    again = judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Loan.objects.filter(book=book).count() == 1
    # Without the key the same request is a new request, refused by the rules (the reader has it already).
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}).status_code == 409


def test_the_same_key_for_another_request_is_refused_naming_the_header(judge_api, book):
    other = book_create(title="担保物权研究")
    copy_create(book=other, barcode="IDEM2")
    key = {"Idempotency-Key": "reused-key-0001"}
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 201
    response = judge_api.post("/api/v1/loans", {"barcode": copy_barcode(other)}, headers=key)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "Idempotency-Key"
    assert not Loan.objects.filter(book=other).exists()


def test_a_refusal_is_not_remembered_and_the_retry_can_succeed(judge_api, librarian_api, book):
    lender = make_user("lender", "judge")
    copy = Copy.objects.get(barcode="IDEM1")
    assert api_for(lender).post("/api/v1/loans", {"barcode": copy_barcode(book)}).status_code == 201
    key = {"Idempotency-Key": "after-return-01"}
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 409
    assert not IdempotencyRecord.objects.exists()
    assert librarian_api.post("/api/v1/returns", {"barcode": copy.barcode}).status_code == 200
    Hold.objects.all().delete()
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 201


def test_keys_belong_to_one_credential(judge_api, book):
    second = book_create(title="第二本")
    copy_create(book=second, barcode="IDEM3")
    colleague = api_for(make_user("judge2", "judge"))
    key = {"Idempotency-Key": "shared-guess-1"}
    mine = judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key)
    assert mine.status_code == 201 and mine.json()["patron"] == "judge1"
    # Another reader using the same key value never receives the first reader's loan.
    theirs = colleague.post("/api/v1/loans", {"barcode": copy_barcode(second)}, headers=key)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert theirs.json()["patron"] == "judge2" and theirs.json()["book"] == second.pk


@pytest.mark.parametrize("value", ["", "has space", "x" * 256, "中文键"])
def test_malformed_keys_are_refused_before_anything_is_written(judge_api, book, value):
    response = judge_api.client.post("/api/v1/loans", {"barcode": copy_barcode(book)}, content_type="application/json",
                                     HTTP_AUTHORIZATION=f"Bearer {judge_api.token}",
                                     HTTP_IDEMPOTENCY_KEY=value.encode().decode("latin-1"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "Idempotency-Key"
    assert not Loan.objects.exists()


def test_anonymous_requests_with_a_key_are_still_refused(anon_api, book):
    response = anon_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers={"Idempotency-Key": "anon-key-01"})
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_holds_and_registrations_are_idempotent_too(judge_api, organizer, book):
    assert api_for(make_user("holder", "judge")).post("/api/v1/loans", {"barcode": copy_barcode(book)}).status_code == 201
    key = {"Idempotency-Key": "hold-0000001"}
    first = judge_api.post("/api/v1/holds", {"book": book.pk}, headers=key)
    again = judge_api.post("/api/v1/holds", {"book": book.pk}, headers=key)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert Hold.objects.filter(book=book).count() == 1

    start = timezone.now() + timedelta(days=3)
    event = event_create(data=EventData(kind="salon", title="读者沙龙", start=start, end=start + timedelta(hours=1),
                                        capacity=10), actor=organizer)
    key = {"Idempotency-Key": "register-00001"}
    first = judge_api.post(f"/api/v1/events/{event.pk}/registrations", {}, headers=key)
    again = judge_api.post(f"/api/v1/events/{event.pk}/registrations", {}, headers=key)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert Registration.objects.filter(event=event).count() == 1


def test_keys_expire_after_a_day(judge_api, book):
    key = {"Idempotency-Key": "old-key-000001"}
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # A day later the key is new again: the request is carried out (and refused: the loan exists).
    assert judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 409


def test_the_header_is_documented_in_the_openapi_schema(anon_api):
    schema = anon_api.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/loans", "/api/v1/holds", "/api/v1/events/{event_id}/registrations"]:
        names = [p["name"] for p in schema["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path


def test_a_revoked_token_gets_nothing_replayed(judge, book):
    from accounts.models import ApiToken

    api = api_for(judge)
    key = {"Idempotency-Key": "before-revoke-1"}
    assert api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key).status_code == 201
    ApiToken.objects.all().delete()
    refused = api.post("/api/v1/loans", {"barcode": copy_barcode(book)}, headers=key)
    assert refused.status_code == 401 and "Idempotent-Replayed" not in refused
