"""The load_demo command on a database of its own: what it prints, and what it adds to an older demo (the
demo it loads is tested in test_demo.py, loaded once for that module)."""

from library.models import Book, Hold, Loan
from tests.web.test_demo import _reader_loans, load
from web.demo_data import DEMO_ACCOUNTS, DEMO_OVERDUE_LOANS, DEMO_READER_LOANS


def test_output_lists_each_demo_account_with_its_password(db):
    output = load()

    for account in DEMO_ACCOUNTS:
        line = next(line for line in output.splitlines() if line.split()[:1] == [account["username"]])
        assert line.split()[:2] == [account["username"], account["password"]]


def test_output_reports_created_then_existing_counts(db):
    first = load()
    second = load()

    books = Book.objects.count()
    assert f"图书：新建 {books:>3}，已存在   0" in first
    assert f"图书：新建   0，已存在 {books:>3}" in second


def test_quiet_prints_nothing(db):
    assert load(quiet=True) == ""


def test_years_without_a_table_get_the_fixed_date_holidays():
    from datetime import date

    from web.management.commands.load_demo import holidays_of

    assert [d for d, _ in holidays_of(2031)] == [
        date(2031, 1, 1), date(2031, 5, 1), date(2031, 5, 2), date(2031, 10, 1), date(2031, 10, 2), date(2031, 10, 3),
    ]


def test_a_demo_made_before_the_history_readers_gets_their_loans_and_keeps_its_own(db, monkeypatch):
    from web import demo_data

    monkeypatch.setattr(demo_data, "DEMO_READERS", ())
    load(quiet=True)
    before = list(Loan.objects.order_by("pk").values_list("pk", "copy__barcode", "status", "returned_at"))
    holds = list(Hold.objects.order_by("pk").values_list("pk", "status", "copy_id"))
    monkeypatch.undo()

    output = load()

    assert list(Loan.objects.filter(pk__in=[row[0] for row in before]).order_by("pk")
                .values_list("pk", "copy__barcode", "status", "returned_at")) == before
    assert list(Hold.objects.order_by("pk").values_list("pk", "status", "copy_id")) == holds
    assert len(_reader_loans()) == len(DEMO_READER_LOANS)
    assert f"借阅记录：新建  {len(DEMO_READER_LOANS) + len(DEMO_OVERDUE_LOANS)}，已存在   5" in output
