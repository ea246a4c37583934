"""Circulation through the API and the services: every rule and refusal, the queue, closed days, notices."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from accounts.models import Role
from library import circulation, notices
from library.models import Channel, CirculationEvent, ClosedDay, Copy, Hold, Loan, LoanPolicy
from library.policy import DEFAULT, due_date_after, library_today, next_open_day, policy_for
from library.services import book_create, copy_create, copy_update
from notices.models import Notice
from tests import clock as library_clock
from tests.clock import NOW, judges_with_email
from tests.clock import SH as SHANGHAI
from tests.conftest import ApiClient, api_for, apply_index_outbox, make_user
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db
clock = library_clock.clock  # autouse: time stands at NOW in every test of this module

@pytest.fixture
def judges(db):
    return judges_with_email(3)


@pytest.fixture
def desk(librarian):
    return api_for(librarian)


@pytest.fixture
def book(db):
    b = book_create(title="民法典评注", clc="D923")
    copy_create(book=b, barcode="C1")
    return b


@pytest.fixture
def two_copy_book(db):
    b = book_create(title="担保物权研究", clc="D923.2")
    copy_create(book=b, barcode="D1")
    copy_create(book=b, barcode="D2")
    return b


def borrow(api, book):
    """Self-checkout of a copy of ``book`` on its shelf (the reader scans it)."""
    on_shelf = book.copies.filter(status=Copy.Status.AVAILABLE).order_by("id").first()
    return api.post("/api/v1/loans", {"barcode": on_shelf.barcode if on_shelf else book.copies.first().barcode})


def error_fields(body) -> list[str]:
    if isinstance(body["detail"], list):
        return [e["field"] for e in body["detail"]]
    return [body.get("field")]


def copy_status(barcode):
    return Copy.objects.get(barcode=barcode).status


# --- policy and calendar ------------------------------------------------------------------------------


def test_defaults_apply_without_rows(judges):
    assert policy_for(judges[0]) == DEFAULT
    assert (DEFAULT.loan_days, DEFAULT.max_renewals, DEFAULT.renewal_days) == (30, 2, 30)
    assert (DEFAULT.max_loans, DEFAULT.pickup_days, DEFAULT.max_holds) == (10, 3, 5)


def test_most_specific_policy_row_wins(judges, librarian):
    LoanPolicy.objects.create(role="", location="", loan_days=20)
    LoanPolicy.objects.create(role=Role.JUDGE, location="", loan_days=40)
    LoanPolicy.objects.create(role="", location="棋盘井法庭", loan_days=14)
    LoanPolicy.objects.create(role=Role.JUDGE, location="棋盘井法庭", loan_days=21)
    assert policy_for(judges[0]).loan_days == 40
    assert policy_for(judges[0], "棋盘井法庭").loan_days == 21
    assert policy_for(librarian, "棋盘井法庭").loan_days == 14
    assert policy_for(librarian, "院本部").loan_days == 20


def test_closed_days_move_deadlines_to_the_next_open_day():
    ClosedDay.objects.bulk_create([ClosedDay(date=date(2027, 1, 1) + timedelta(days=i), name="元旦") for i in range(3)])
    assert next_open_day(date(2026, 12, 31)) == date(2026, 12, 31)
    assert next_open_day(date(2027, 1, 1)) == date(2027, 1, 4)
    assert due_date_after(date(2026, 12, 2), 30) == date(2027, 1, 4)  # 2027-01-01 is closed


def test_today_is_the_library_date_not_the_utc_date(clock):
    clock.move_to(datetime(2026, 12, 3, 17, 30, tzinfo=ZoneInfo("UTC")))  # 01:30 on the 4th in Shanghai
    assert library_today() == date(2026, 12, 4)


# --- borrowing -------------------------------------------------------------------------------------


def test_judge_borrows_a_book_for_themself(judges, book):
    response = borrow(api_for(judges[0]), book)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["book"] == book.pk and body["barcode"] == "C1" and body["patron"] == "judge1"
    assert (body["due_date"], body["renewals"], body["status"], body["returned_at"]) == ("2027-01-01", 0, "active", None)
    assert body["borrowed_at"].startswith("2026-12-02T10:00:00")
    assert copy_status("C1") == Copy.Status.ON_LOAN
    event = CirculationEvent.objects.get(action="checkout")
    assert (event.actor.username, event.patron.username, event.channel, event.copy.barcode) == (
        "judge1", "judge1", "api", "C1"
    )


def test_due_date_skips_a_closed_day(judges, book):
    ClosedDay.objects.create(date=date(2027, 1, 1), name="元旦")
    assert borrow(api_for(judges[0]), book).json()["due_date"] == "2027-01-02"


def test_not_available_says_a_hold_can_be_placed(judges, book):
    assert borrow(api_for(judges[0]), book).status_code == 201
    response = borrow(api_for(judges[1]), book)
    assert response.status_code == 409
    assert response.json()["code"] == "not_available" and response.json()["can_hold"] is True


def test_already_borrowed(judges, two_copy_book):
    api = api_for(judges[0])
    assert borrow(api, two_copy_book).status_code == 201
    response = borrow(api, two_copy_book)
    assert (response.status_code, response.json()["code"]) == (409, "already_borrowed")
    assert copy_status("D2") == Copy.Status.AVAILABLE


def test_loan_limit(judges):
    LoanPolicy.objects.create(role=Role.JUDGE, max_loans=2)
    api = api_for(judges[0])
    books = [book_create(title=f"书{i}") for i in range(3)]
    for i, b in enumerate(books):
        copy_create(book=b, barcode=f"L{i}")
    assert [borrow(api, b).status_code for b in books[:2]] == [201, 201]
    response = borrow(api, books[2])
    assert (response.status_code, response.json()["code"], response.json()["limit"]) == (409, "loan_limit", 2)


def test_overdue_loans_block_new_loans(judges, book, two_copy_book, clock):
    api = api_for(judges[0])
    assert borrow(api, book).status_code == 201
    clock.move_to(datetime(2027, 1, 2, 9, 0, tzinfo=SHANGHAI))  # due 2027-01-01
    response = borrow(api, two_copy_book)
    assert (response.status_code, response.json()["code"]) == (409, "overdue_block")
    listed = api.get("/api/v1/loans", {"status": "overdue"}).json()
    assert [item["barcode"] for item in listed["items"]] == ["C1"] and listed["items"][0]["overdue"] is True


def test_desk_checkout_by_barcode(desk, judges, book):
    response = desk.post("/api/v1/loans", {"barcode": " c1 ", "patron": "judge2"})
    assert response.status_code == 201
    assert (response.json()["patron"], response.json()["barcode"]) == ("judge2", "C1")
    event = CirculationEvent.objects.get(action="checkout")
    assert (event.actor.username, event.patron.username) == ("librarian1", "judge2")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"barcode": "C1", "patron": "nobody"}, "patron"),
        ({"barcode": "NOPE", "patron": "judge1"}, "barcode"),
        ({"book": 1, "barcode": "C1"}, "book"),
        ({}, "barcode"),
        ({"book": 99999}, "barcode"),
        ({"book": "x"}, "book"),
        ({"book": 1, "extra": 1}, "extra"),
    ],
)
def test_bad_loan_requests_name_the_field(desk, judges, book, payload, field):
    if payload.get("book") == 1:
        payload = {**payload, "book": book.pk}
    response = desk.post("/api/v1/loans", payload)
    assert response.status_code == 422, response.content
    assert field in error_fields(response.json())
    assert Loan.objects.count() == 0


def test_a_loan_needs_the_copy_a_book_is_requested(judges, book):
    """POST /loans {"book"} is refused with a code that says what to do instead: scan a copy, or request."""
    response = api_for(judges[0]).post("/api/v1/loans", {"book": book.pk})
    assert (response.status_code, response.json()["code"]) == (422, "barcode_required")
    assert "/api/v1/holds" in response.json()["detail"][0]["msg"]
    assert Loan.objects.count() == 0 and copy_status("C1") == "available"


def test_self_checkout_by_barcode_lends_that_copy_to_the_caller(judges, two_copy_book):
    response = api_for(judges[0]).post("/api/v1/loans", {"barcode": "d2"})  # typed in lower case
    assert response.status_code == 201, response.content
    assert (response.json()["barcode"], response.json()["patron"]) == ("D2", "judge1")
    assert (copy_status("D1"), copy_status("D2")) == ("available", "on_loan")
    # Naming oneself as the patron is the same self-checkout; naming someone else is the desk's.
    other = api_for(judges[1]).post("/api/v1/loans", {"barcode": "D1", "patron": "judge2"})
    assert other.status_code == 201 and other.json()["patron"] == "judge2"


def test_without_a_patron_the_caller_borrows_a_librarian_too(desk, book):
    response = desk.post("/api/v1/loans", {"barcode": "C1"})
    assert (response.status_code, response.json()["patron"]) == (201, "librarian1")


def test_desk_checkout_needs_a_librarian(judges, book):
    response = api_for(judges[0]).post("/api/v1/loans", {"barcode": "C1", "patron": "judge2"})
    assert response.status_code == 403
    assert Loan.objects.count() == 0


def test_anonymous_cannot_borrow(anon_api, book):
    assert borrow(anon_api, book).status_code == 401


def test_unavailable_copy_at_the_desk(desk, judges, book):
    copy_update(copy=Copy.objects.get(barcode="C1"), changes={"status": Copy.Status.REPAIR})
    response = desk.post("/api/v1/loans", {"barcode": "C1", "patron": "judge1"})
    assert (response.status_code, response.json()["code"]) == (409, "not_available")


# --- renewing ------------------------------------------------------------------------------------------


def test_renewals_extend_from_the_due_date_until_the_limit(judges, book):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    first = api.post(f"/api/v1/loans/{loan_id}/renew")
    assert (first.status_code, first.json()["due_date"], first.json()["renewals"]) == (200, "2027-01-31", 1)
    second = api.post(f"/api/v1/loans/{loan_id}/renew")
    assert (second.json()["due_date"], second.json()["renewals"]) == ("2027-03-02", 2)
    third = api.post(f"/api/v1/loans/{loan_id}/renew")
    assert (third.status_code, third.json()["code"]) == (409, "renewal_limit")
    assert Loan.objects.get(pk=loan_id).due_date == date(2027, 3, 2)
    assert CirculationEvent.objects.filter(action="renew").count() == 2


def test_no_renewal_while_others_wait(judges, book):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    assert api_for(judges[1]).post("/api/v1/holds", {"book": book.pk}).status_code == 201
    response = api.post(f"/api/v1/loans/{loan_id}/renew")
    assert (response.status_code, response.json()["code"]) == (409, "holds_waiting")


def test_no_renewal_when_overdue(judges, book, clock):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    clock.move_to(datetime(2027, 1, 2, 8, 0, tzinfo=SHANGHAI))
    response = api.post(f"/api/v1/loans/{loan_id}/renew")
    assert (response.status_code, response.json()["code"]) == (409, "overdue")


def test_someone_elses_loan_is_not_found(judges, book):
    loan_id = borrow(api_for(judges[0]), book).json()["id"]
    other = api_for(judges[1])
    assert other.get(f"/api/v1/loans/{loan_id}").status_code == 404
    assert other.post(f"/api/v1/loans/{loan_id}/renew").status_code == 404
    assert other.get("/api/v1/loans").json()["count"] == 0


def test_librarian_sees_every_loan_and_filters_by_patron(desk, judges, book, two_copy_book):
    borrow(api_for(judges[0]), book)
    borrow(api_for(judges[1]), two_copy_book)
    assert desk.get("/api/v1/loans").json()["count"] == 2
    mine = desk.get("/api/v1/loans", {"patron": "judge2"}).json()
    assert [i["patron"] for i in mine["items"]] == ["judge2"]
    assert desk.get("/api/v1/loans", {"status": "bogus"}).status_code == 422


# --- returning ---------------------------------------------------------------------------------------


def test_desk_return_puts_the_copy_back(desk, judges, book, clock):
    loan_id = borrow(api_for(judges[0]), book).json()["id"]
    clock.shift(timedelta(days=3))
    response = desk.post("/api/v1/returns", {"barcode": "C1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["to_hold"], body["loan"]["status"], body["loan"]["id"]) == (False, "returned", loan_id)
    assert body["loan"]["returned_at"].startswith("2026-12-05T10:00:00")
    assert copy_status("C1") == Copy.Status.AVAILABLE
    again = desk.post("/api/v1/returns", {"barcode": "C1"})
    assert again.status_code == 409


def test_self_return_only_when_enabled(settings, judges, book):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    settings.SELF_RETURN = False
    assert api.post(f"/api/v1/loans/{loan_id}/return").status_code == 403
    settings.SELF_RETURN = True
    assert api.post(f"/api/v1/loans/{loan_id}/return").status_code == 200
    assert copy_status("C1") == Copy.Status.AVAILABLE


def test_return_goes_to_the_first_hold_and_notifies_them(desk, judges, book, django_capture_on_commit_callbacks):
    borrow(api_for(judges[0]), book)
    assert api_for(judges[1]).post("/api/v1/holds", {"book": book.pk}).json()["position"] == 1
    assert api_for(judges[2]).post("/api/v1/holds", {"book": book.pk}).json()["position"] == 2
    ClosedDay.objects.create(date=date(2026, 12, 5), name="闭馆")
    with django_capture_on_commit_callbacks(execute=True):
        body = desk.post("/api/v1/returns", {"barcode": "C1"}).json()
    assert (body["to_hold"], body["hold_patron"], body["pickup_by"]) == (True, "judge2", "2026-12-06")
    assert copy_status("C1") == Copy.Status.ON_HOLD_SHELF
    hold = Hold.objects.get(patron__username="judge2")
    assert (hold.status, hold.copy.barcode, hold.pickup_by) == ("ready", "C1", date(2026, 12, 6))
    # The return only recorded the notice and queued its delivery; a worker mails it.
    assert (mail.outbox, Notice.objects.get(kind="hold_ready").sent_at) == ([], None)
    assert [(job.key, job.state) for job in run_queued_jobs(key="notices.send")] == [("notices.send", "done")]
    assert [m.to for m in mail.outbox] == [["judge2@court.test"]]
    assert "民法典评注" in mail.outbox[0].subject and "2026-12-06" in mail.outbox[0].body
    assert Notice.objects.get(kind="hold_ready").sent_at is not None
    # The third judge moves up to first in line.
    assert api_for(judges[2]).get("/api/v1/holds").json()["items"][0]["position"] == 1


def test_a_held_copy_is_lent_only_to_its_reader(desk, judges, book):
    borrow(api_for(judges[0]), book)
    api_for(judges[1]).post("/api/v1/holds", {"book": book.pk})
    desk.post("/api/v1/returns", {"barcode": "C1"})
    # Someone else: refused, by book or at the desk.
    refused = borrow(api_for(judges[2]), book)
    assert (refused.status_code, refused.json()["code"]) == (409, "reserved")
    at_desk = desk.post("/api/v1/loans", {"barcode": "C1", "patron": "judge3"})
    assert (at_desk.status_code, at_desk.json()["code"]) == (409, "reserved")
    # Its reader borrows it, which fulfils the hold.
    taken = borrow(api_for(judges[1]), book)
    assert taken.status_code == 201 and taken.json()["barcode"] == "C1"
    assert Hold.objects.get(patron__username="judge2").status == "fulfilled"
    assert CirculationEvent.objects.filter(action="hold_fulfilled").count() == 1


def test_queue_is_served_in_order_across_several_returns(desk, judges, two_copy_book, clock):
    extra = [make_user(f"reader{i}", Role.JUDGE) for i in range(3)]
    borrow(api_for(judges[0]), two_copy_book)
    borrow(api_for(judges[1]), two_copy_book)
    for reader in extra:  # placed one minute apart
        clock.shift(timedelta(minutes=1))
        assert api_for(reader).post("/api/v1/holds", {"book": two_copy_book.pk}).status_code == 201
    first = desk.post("/api/v1/returns", {"barcode": "D2"}).json()
    second = desk.post("/api/v1/returns", {"barcode": "D1"}).json()
    assert (first["hold_patron"], second["hold_patron"]) == ("reader0", "reader1")
    # reader0 borrows; reader1 gives up; the copy goes on to reader2.
    assert api_for(extra[0]).post("/api/v1/loans", {"barcode": "D2"}).json()["barcode"] == "D2"
    hold1 = Hold.objects.get(patron=extra[1])
    assert api_for(extra[1]).delete(f"/api/v1/holds/{hold1.pk}").status_code == 204
    hold2 = Hold.objects.get(patron=extra[2])
    assert (hold2.status, hold2.copy.barcode) == ("ready", "D1")


def test_copy_back_from_repair_serves_the_queue(judges, two_copy_book, librarian):
    copy_update(copy=Copy.objects.get(barcode="D2"), changes={"status": Copy.Status.REPAIR})
    borrow(api_for(judges[0]), two_copy_book)
    api_for(judges[1]).post("/api/v1/holds", {"book": two_copy_book.pk})
    copy_update(copy=Copy.objects.get(barcode="D2"), changes={"status": Copy.Status.AVAILABLE}, actor=librarian)
    assert copy_status("D2") == Copy.Status.ON_HOLD_SHELF
    assert Hold.objects.get(patron=judges[1]).status == "ready"


# --- holds ----------------------------------------------------------------------------------------------


def test_a_request_for_a_book_on_the_shelf_sets_a_copy_aside(judges, book):
    response = api_for(judges[0]).post("/api/v1/holds", {"book": book.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["barcode"], body["pickup_location"], body["position"]) == ("pulling", "C1", "main", None)
    assert copy_status("C1") == "on_pull_list"
    # Nobody else can take it off the shelf meanwhile: it is the only copy.
    refused = borrow(api_for(judges[1]), book)
    assert (refused.status_code, refused.json()["code"]) == (409, "reserved")


def test_hold_shape_duplicate_and_own_loan(judges, book):
    borrow(api_for(judges[0]), book)
    api = api_for(judges[1])
    response = api.post("/api/v1/holds", {"book": book.pk})
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("book", "patron", "position", "status", "pickup_by")} == {
        "book": book.pk, "patron": "judge2", "position": 1, "status": "waiting", "pickup_by": None,
    }
    assert body["created_at"].startswith("2026-12-02T10:00:00")
    assert api.post("/api/v1/holds", {"book": book.pk}).json()["code"] == "hold_exists"
    assert api_for(judges[0]).post("/api/v1/holds", {"book": book.pk}).json()["code"] == "already_borrowed"


def test_hold_limit(judges):
    LoanPolicy.objects.create(role=Role.JUDGE, max_holds=1)
    lender, api = api_for(judges[0]), api_for(judges[1])
    books = []
    for i in range(2):
        b = book_create(title=f"热门书{i}")
        copy_create(book=b, barcode=f"H{i}")
        borrow(lender, b)
        books.append(b)
    assert api.post("/api/v1/holds", {"book": books[0].pk}).status_code == 201
    response = api.post("/api/v1/holds", {"book": books[1].pk})
    assert (response.status_code, response.json()["code"]) == (409, "hold_limit")


def test_a_reader_places_at_most_holds_placed_per_hour_cancelled_ones_included(judges, book, clock):
    """Attack round 12: one judge placed and cancelled 147 holds in 15 s (294 audit rows)."""
    borrow(api_for(judges[0]), book)
    api = api_for(judges[1])
    for _ in range(30):  # HOLDS_PLACED_PER_HOUR's default, each cancelled at once
        hold_id = api.post("/api/v1/holds", {"book": book.pk}).json()["id"]
        assert api.delete(f"/api/v1/holds/{hold_id}").status_code == 204

    refused = api.post("/api/v1/holds", {"book": book.pk})

    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_holds_placed")
    assert 0 < refused.json()["retry_after"] <= 3600
    assert Hold.objects.filter(patron=judges[1]).count() == 30
    assert CirculationEvent.objects.filter(patron=judges[1]).count() == 60
    clock.move_to(NOW + timedelta(hours=1, minutes=5))  # a rolling hour: the first ones have left it
    assert api.post("/api/v1/holds", {"book": book.pk}).status_code == 201


def test_a_refused_hold_costs_nothing_and_a_librarians_hold_for_a_reader_is_not_counted(settings, desk, judges,
                                                                                          book):
    settings.HOLDS_PLACED_PER_HOUR = 1
    borrow(api_for(judges[0]), book)
    api = api_for(judges[1])
    assert api.post("/api/v1/holds", {"book": 999_999}).status_code == 422
    hold_id = api.post("/api/v1/holds", {"book": book.pk}).json()["id"]
    assert api.post("/api/v1/holds", {"book": book.pk}).json()["code"] == "hold_exists"  # refused, not counted
    api.delete(f"/api/v1/holds/{hold_id}")
    assert api.post("/api/v1/holds", {"book": book.pk}).json()["code"] == "too_many_holds_placed"

    assert desk.post("/api/v1/holds", {"book": book.pk, "patron": "judge2"}).status_code == 201


def test_the_book_page_refuses_a_hold_past_the_hourly_limit_with_the_reason(settings, judges, book):
    from django.test import Client

    settings.HOLDS_PLACED_PER_HOUR = 1
    borrow(api_for(judges[0]), book)
    client = Client()
    client.force_login(judges[1])
    client.post(f"/books/{book.pk}/hold")
    circulation.hold_cancel(hold=Hold.objects.get(patron=judges[1]), actor=judges[1], channel=Channel.WEB)

    page = client.post(f"/books/{book.pk}/hold", follow=True).content.decode()

    assert "一小时内最多预约 1 次" in page
    assert Hold.objects.filter(patron=judges[1]).count() == 1


def test_book_without_circulating_copies_cannot_be_held(judges):
    b = book_create(title="孤本")
    copy_create(book=b, barcode="X1", status=Copy.Status.LOST)
    response = api_for(judges[0]).post("/api/v1/holds", {"book": b.pk})
    assert (response.status_code, response.json()["code"]) == (409, "not_holdable")


def test_cancelling_someone_elses_hold_is_not_found_but_a_librarian_can(desk, judges, book):
    borrow(api_for(judges[0]), book)
    hold_id = api_for(judges[1]).post("/api/v1/holds", {"book": book.pk}).json()["id"]
    assert api_for(judges[2]).delete(f"/api/v1/holds/{hold_id}").status_code == 404
    assert desk.delete(f"/api/v1/holds/{hold_id}").status_code == 204
    assert Hold.objects.get(pk=hold_id).status == "cancelled"
    assert desk.delete(f"/api/v1/holds/{hold_id}").json()["code"] == "hold_closed"


def test_librarian_places_a_hold_for_a_patron(desk, judges, book):
    borrow(api_for(judges[0]), book)
    response = desk.post("/api/v1/holds", {"book": book.pk, "patron": "judge3"})
    assert (response.status_code, response.json()["patron"]) == (201, "judge3")
    assert api_for(judges[1]).post("/api/v1/holds", {"book": book.pk, "patron": "judge3"}).status_code == 403


def test_expired_holds_pass_the_copy_on(desk, judges, book, clock, django_capture_on_commit_callbacks):
    borrow(api_for(judges[0]), book)
    api_for(judges[1]).post("/api/v1/holds", {"book": book.pk})
    clock.shift(timedelta(minutes=1))
    api_for(judges[2]).post("/api/v1/holds", {"book": book.pk})
    desk.post("/api/v1/returns", {"barcode": "C1"})  # judge2's, pickup by 2026-12-05
    clock.move_to(datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI))
    assert circulation.holds_expire() == 0  # the last day still counts
    clock.move_to(datetime(2026, 12, 6, 8, 0, tzinfo=SHANGHAI))
    with django_capture_on_commit_callbacks(execute=True):
        assert circulation.holds_expire() == 1
    assert circulation.holds_expire() == 0  # idempotent
    assert Hold.objects.get(patron=judges[1]).status == "expired"
    nxt = Hold.objects.get(patron=judges[2])
    assert (nxt.status, nxt.copy.barcode, nxt.pickup_by) == ("ready", "C1", date(2026, 12, 9))
    assert {n.kind for n in Notice.objects.all()} == {"hold_ready", "hold_expired"}
    assert CirculationEvent.objects.filter(action="hold_expired", channel="command").count() == 1


def test_last_hold_expiring_puts_the_copy_back_on_the_shelf(desk, judges, book, clock):
    borrow(api_for(judges[0]), book)
    api_for(judges[1]).post("/api/v1/holds", {"book": book.pk})
    desk.post("/api/v1/returns", {"barcode": "C1"})
    clock.move_to(datetime(2026, 12, 9, 8, 0, tzinfo=SHANGHAI))
    assert circulation.holds_expire() == 1
    assert copy_status("C1") == Copy.Status.AVAILABLE


# --- notices --------------------------------------------------------------------------------------------


def test_notices_due_soon_then_overdue_weekly_never_twice(judges, book, clock, django_capture_on_commit_callbacks):
    borrow(api_for(judges[0]), book)  # due 2027-01-01
    clock.move_to(datetime(2026, 12, 28, 7, 0, tzinfo=SHANGHAI))
    assert notices.send_notices()["due_soon"] == 0
    clock.move_to(datetime(2026, 12, 29, 7, 0, tzinfo=SHANGHAI))
    assert notices.send_notices()["due_soon"] == 1
    assert notices.send_notices()["due_soon"] == 0
    kinds_by_day = {}
    for day in range(2, 17):  # overdue from 2027-01-02
        clock.move_to(datetime(2027, 1, day, 7, 0, tzinfo=SHANGHAI))
        result = notices.send_notices()
        kinds_by_day[day] = result["overdue"]
        assert notices.send_notices()["overdue"] == 0  # a second run the same day sends nothing
    assert [d for d, n in kinds_by_day.items() if n] == [2, 9, 16]
    assert len(mail.outbox) == 4
    assert all(m.to == ["judge1@court.test"] for m in mail.outbox)
    assert "逾期" in mail.outbox[-1].subject


def test_renewal_gets_a_new_due_soon_notice(judges, book, clock):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SHANGHAI))
    assert notices.send_notices()["due_soon"] == 1
    api.post(f"/api/v1/loans/{loan_id}/renew")  # due 2027-01-31
    clock.move_to(datetime(2027, 1, 29, 7, 0, tzinfo=SHANGHAI))
    assert notices.send_notices()["due_soon"] == 1


def test_a_notice_that_failed_to_send_is_retried(judges, book, clock, monkeypatch):
    borrow(api_for(judges[0]), book)
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SHANGHAI))

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("notices.channels.send_mail", broken)
    assert notices.send_notices() == {"due_soon": 1, "overdue": 0, "hold_ready": 0, "hold_expired": 0, "sent": 0}
    monkeypatch.undo()
    assert notices.send_notices()["sent"] == 0  # its next try is NOTICE_RETRY_SECONDS (5 minutes) later
    clock.move_to(datetime(2026, 12, 30, 7, 5, tzinfo=SHANGHAI))
    assert notices.send_notices() == {"due_soon": 0, "overdue": 0, "hold_ready": 0, "hold_expired": 0, "sent": 1}
    assert len(mail.outbox) == 1


def test_send_notices_command(judges, book, clock, capsys):
    from django.core.management import call_command

    borrow(api_for(judges[0]), book)
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SHANGHAI))
    call_command("send_notices")
    call_command("send_notices")
    assert len(mail.outbox) == 1
    assert "due_soon" in capsys.readouterr().out


# --- availability and the audit trail --------------------------------------------------------------------


def test_book_detail_shows_availability(desk, judges, two_copy_book, anon_api):
    borrow(api_for(judges[0]), two_copy_book)
    body = anon_api.get(f"/api/v1/books/{two_copy_book.pk}").json()
    assert (body["available_copies"], body["total_copies"], body["earliest_due"], body["holds_waiting"]) == (
        1, 2, "2027-01-01", 0,
    )
    borrow(api_for(judges[1]), two_copy_book)
    api_for(judges[2]).post("/api/v1/holds", {"book": two_copy_book.pk})
    body = anon_api.get(f"/api/v1/books/{two_copy_book.pk}").json()
    assert (body["available_copies"], body["holds_waiting"]) == (0, 1)


def test_audit_trail_per_book_and_patron(desk, judges, book):
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    api.post(f"/api/v1/loans/{loan_id}/renew")
    desk.post("/api/v1/returns", {"barcode": "C1"})
    events = desk.get("/api/v1/circulation/events", {"book": book.pk}).json()["items"]
    assert [e["action"] for e in events] == ["return", "renew", "checkout"]
    assert events[0]["actor"] == "librarian1" and events[0]["patron"] == "judge1"
    assert events[1]["detail"] == {"old_due_date": "2027-01-01", "due_date": "2027-01-31"}
    assert desk.get("/api/v1/circulation/events", {"patron": "judge2"}).json()["count"] == 0
    assert api.get("/api/v1/circulation/events").status_code == 403


def test_services_record_the_channel(judges, book, librarian):
    loan = circulation.loan_checkout(patron=judges[0], actor=librarian, book=book, channel=Channel.WEB)
    circulation.loan_return(loan=loan, actor=librarian, channel=Channel.ADMIN)
    assert list(CirculationEvent.objects.order_by("id").values_list("action", "channel")) == [
        ("checkout", "web"), ("return", "admin"),
    ]


def test_database_refuses_a_second_active_loan_of_a_copy(judges, book):
    from django.db import IntegrityError, transaction

    copy = Copy.objects.get(barcode="C1")
    Loan.objects.create(copy=copy, book=book, patron=judges[0], borrowed_at=NOW, due_date=date(2027, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(copy=copy, book=book, patron=judges[1], borrowed_at=NOW, due_date=date(2027, 1, 1))


def test_database_refuses_two_ready_holds_on_one_copy(judges, book):
    from django.db import IntegrityError, transaction

    copy = Copy.objects.get(barcode="C1")
    main = circulation.default_pickup_location()
    Hold.objects.create(book=book, patron=judges[0], created_at=NOW, status="ready", copy=copy,
                        pickup_by=date(2026, 12, 5), pickup_location=main)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.create(book=book, patron=judges[1], created_at=NOW, status="pulling", copy=copy,
                            pickup_location=main)


def test_search_results_carry_availability_after_each_circulation_change(
    desk, judges, book, django_capture_on_commit_callbacks
):
    from search_index import searcher, services

    services.index_rebuild()

    def hit():
        searcher.reset()
        result = services.search("民法典评注", filters=services.Filters())
        return next(h for h in result.items if h.id == book.pk)

    assert (hit().available_copies, hit().earliest_due, hit().holds_waiting) == (1, None, 0)
    with django_capture_on_commit_callbacks(execute=True):
        borrow(api_for(judges[0]), book)
    apply_index_outbox()
    assert (hit().available_copies, hit().earliest_due, hit().holds_waiting) == (0, date(2027, 1, 1), 0)
    with django_capture_on_commit_callbacks(execute=True):
        api_for(judges[1]).post("/api/v1/holds", {"book": book.pk})
    apply_index_outbox()
    assert hit().holds_waiting == 1
    with django_capture_on_commit_callbacks(execute=True):
        desk.post("/api/v1/returns", {"barcode": "C1"})
    apply_index_outbox()
    assert (hit().available_copies, hit().earliest_due, hit().holds_waiting) == (0, None, 0)
    api = ApiClient()
    item = next(i for i in api.get("/api/v1/search", {"q": "民法典评注"}).json()["items"] if i["id"] == book.pk)
    assert (item["available_copies"], item["earliest_due"], item["holds_waiting"]) == (0, None, 0)


def test_a_reader_returning_their_own_loan_is_not_told_who_is_next(settings, judges, book):
    """Attack round 16: with SELF_RETURN the answer named the next reader in the queue."""
    settings.SELF_RETURN = True
    api = api_for(judges[0])
    loan_id = borrow(api, book).json()["id"]
    assert api_for(judges[1]).post("/api/v1/holds", {"book": book.pk}).status_code == 201
    body = api.post(f"/api/v1/loans/{loan_id}/return").json()
    assert (body["to_hold"], body["hold_patron"], body["next"]["to"], body["next"]["hold_patron"]) == (
        True, None, "hold_shelf", None)
    assert Hold.objects.get(patron=judges[1]).status == "ready"
