"""Circulation under real parallel load: a live multi-process server (gunicorn, 4 workers) on the test
database, hit by many simultaneous requests.  Runs on SQLite and on PostgreSQL (``make test-pg``)."""

import pytest

from accounts.models import Role
from accounts.services import token_issue
from library.models import CirculationEvent, Copy, Hold, Loan, LoanPolicy, Location
from library.services import book_create, copy_create
from tests.conftest import copy_barcode, make_user
from tests.live import all_at_once, assert_clean_log, post

pytestmark = pytest.mark.django_db(transaction=True)


def _judges(n: int, prefix: str = "pj"):
    users = [make_user(f"{prefix}{i}", Role.JUDGE) for i in range(n)]
    return users, [token_issue(user=u, name="parallel").raw for u in users]


def test_fifty_judges_one_copy_exactly_one_loan(server):
    base, log = server
    book = book_create(title="民法典评注（热门）")
    copy_create(book=book, barcode="HOT1")
    _, tokens = _judges(50)
    results = all_at_once([lambda t=t: post(f"{base}/api/v1/loans", t, {"barcode": copy_barcode(book)}) for t in tokens])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 49, statuses
    assert {body["code"] for status, body in results if status == 409} == {"not_available"}
    assert Loan.objects.filter(status="active").count() == 1
    assert Copy.objects.get(barcode="HOT1").status == Copy.Status.ON_LOAN
    assert CirculationEvent.objects.filter(action="checkout").count() == 1
    assert_clean_log(log)


def test_one_judge_twenty_requests_at_once_keeps_the_loan_limit(server):
    base, log = server
    LoanPolicy.objects.create(role=Role.JUDGE, max_loans=10)
    books = []
    for i in range(20):
        b = book_create(title=f"并发借阅{i}")
        copy_create(book=b, barcode=f"LIM{i:02d}")
        books.append(b)
    (judge,), (token,) = _judges(1, "limit")
    results = all_at_once([lambda b=b: post(f"{base}/api/v1/loans", token, {"barcode": copy_barcode(b)}) for b in books])
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 10, statuses
    assert {body["code"] for status, body in results if status == 409} == {"loan_limit"}
    assert Loan.objects.filter(patron=judge, status="active").count() == 10
    assert Copy.objects.filter(status=Copy.Status.ON_LOAN).count() == 10
    assert_clean_log(log)


def test_parallel_holds_form_one_queue_served_in_order(server):
    base, log = server
    book = book_create(title="担保物权研究（排队）")
    copy_create(book=book, barcode="Q1")
    (lender,), (lender_token,) = _judges(1, "lender")
    assert post(f"{base}/api/v1/loans", lender_token, {"barcode": copy_barcode(book)})[0] == 201
    users, tokens = _judges(20, "queue")
    results = all_at_once([lambda t=t: post(f"{base}/api/v1/holds", t, {"book": book.pk}) for t in tokens])
    assert [status for status, _ in results] == [201] * 20
    assert sorted(body["position"] for _, body in results) == list(range(1, 21))
    first = min(results, key=lambda r: r[1]["position"])[1]["patron"]
    librarian = make_user("desk-parallel", Role.LIBRARIAN)
    desk = token_issue(user=librarian, name="desk").raw
    status, body = post(f"{base}/api/v1/returns", desk, {"barcode": "Q1"})
    assert (status, body["to_hold"], body["hold_patron"]) == (200, True, first)
    assert Hold.objects.filter(status="ready").count() == 1
    assert_clean_log(log)


def test_the_same_copy_returned_ten_times_at_once_is_returned_once(server):
    base, log = server
    book = book_create(title="刑法学（还书）")
    copy_create(book=book, barcode="RET1")
    (judge,), (token,) = _judges(1, "ret")
    assert post(f"{base}/api/v1/loans", token, {"barcode": copy_barcode(book)})[0] == 201
    desks = [token_issue(user=make_user(f"desk{i}", Role.LIBRARIAN), name="d").raw for i in range(10)]
    results = all_at_once([lambda t=t: post(f"{base}/api/v1/returns", t, {"barcode": "RET1"}) for t in desks])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 9, statuses
    assert CirculationEvent.objects.filter(action="return").count() == 1
    assert Copy.objects.get(barcode="RET1").status == Copy.Status.AVAILABLE
    assert_clean_log(log)


def test_parallel_requests_set_each_copy_aside_once_and_queue_the_rest(server):
    base, log = server
    book = book_create(title="民事诉讼法（预借）")
    copy_create(book=book, barcode="RQ1")
    copy_create(book=book, barcode="RQ2")
    _, tokens = _judges(12, "req")
    results = all_at_once([lambda t=t: post(f"{base}/api/v1/holds", t, {"book": book.pk}) for t in tokens])
    assert [status for status, _ in results] == [201] * 12
    pulling = sorted(body["barcode"] for _, body in results if body["status"] == "pulling")
    assert pulling == ["RQ1", "RQ2"]
    assert sorted(body["position"] for _, body in results if body["status"] == "waiting") == list(range(1, 11))
    assert set(Copy.objects.filter(book=book).values_list("status", flat=True)) == {Copy.Status.ON_PULL_LIST}
    assert_clean_log(log)


def test_a_pulled_copy_scanned_at_the_desk_and_by_another_reader_at_once(server):
    """The librarian scans the only copy off the pull list while another reader, who found it on the shelf,
    scans it on their phone: whichever comes first, the copy is the requester's (hold shelf) and the other
    reader is refused ``reserved``."""
    base, log = server
    book = book_create(title="执行程序（抢书）")
    copy_create(book=book, barcode="RC1")
    (owner, other), (owner_token, other_token) = _judges(2, "race")
    assert post(f"{base}/api/v1/holds", owner_token, {"book": book.pk})[0] == 201
    desk = token_issue(user=make_user("desk-race", Role.LIBRARIAN), name="desk").raw
    here = Location.objects.get(name="院本部").code
    results = all_at_once([lambda: post(f"{base}/api/v1/checkins", desk, {"barcode": "RC1", "location": here}),
                           lambda: post(f"{base}/api/v1/loans", other_token, {"barcode": "RC1"})])
    (desk_status, desk_body), (loan_status, loan_body) = results
    assert (desk_status, desk_body["next"]["to"]) == (200, "hold_shelf"), desk_body
    assert (loan_status, loan_body["code"]) == (409, "reserved")
    assert Copy.objects.get(barcode="RC1").status == "on_hold_shelf"
    assert (Hold.objects.get(patron=owner).status, Loan.objects.count()) == ("ready", 0)
    assert_clean_log(log)
