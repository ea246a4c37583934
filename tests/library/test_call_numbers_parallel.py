"""Call numbers under real parallel load: books of one class catalogued at the same moment never share a number.

Threads on their own database connections calling the service, and a live multi-process server (gunicorn,
four workers) hit by simultaneous API requests.  Both run on SQLite and on PostgreSQL (``make test-pg``),
where the counter's row lock, not SQLite's one writer at a time, is what keeps the numbers apart.
"""

import threading

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import token_issue
from library.callnumbers import shelf_order
from library.models import Book, CallNumberCounter, Copy
from library.services import Person, book_create, copy_create
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log, post

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(calls) -> list[BaseException | None]:
    """Run the calls in threads released together, each on its own database connection; their errors."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def call_numbers(books) -> list[str]:
    return sorted(Book.objects.filter(pk__in=[b.pk for b in books]).values_list("call_number", flat=True),
                  key=shelf_order)


def test_eight_books_of_one_class_catalogued_in_threads_get_eight_numbers():
    books = [book_create(title=f"并发编目{i}", clc="D923.6") for i in range(8)]

    errors = in_threads([lambda b=b, i=i: copy_create(book=b, barcode=f"T{i}") for i, b in enumerate(books)])

    assert errors == [None] * 8
    assert call_numbers(books) == [f"D923.6/{n}" for n in range(1, 9)]
    assert CallNumberCounter.objects.get(key="D923.6").last == 8


def test_books_of_one_author_catalogued_in_threads_get_distinct_marks(settings):
    settings.CALL_NUMBER_SCHEME = "author"
    books = [book_create(title=f"张明文集{i}", clc="D923", contributors=[Person("张明")]) for i in range(6)]

    errors = in_threads([lambda b=b, i=i: copy_create(book=b, barcode=f"A{i}") for i, b in enumerate(books)])

    assert errors == [None] * 6
    assert call_numbers(books) == ["D923/ZM", "D923/ZM2", "D923/ZM3", "D923/ZM4", "D923/ZM5", "D923/ZM6"]


def test_copies_of_one_book_catalogued_in_threads_number_it_once():
    book = book_create(title="热门新书", clc="D924")

    errors = in_threads([lambda i=i: copy_create(book=book, barcode=f"C{i}") for i in range(6)])

    assert errors == [None] * 6
    assert (Book.objects.get(pk=book.pk).call_number, Copy.objects.filter(book=book).count()) == ("D924/1", 6)
    assert CallNumberCounter.objects.get(key="D924").last == 1


def test_ten_librarians_cataloguing_books_of_one_class_at_once_give_ten_numbers(server):
    base, log = server
    books = [book_create(title=f"同类新书{i}", clc="D925") for i in range(10)]
    tokens = [token_issue(user=make_user(f"cataloguer{i}", Role.LIBRARIAN), name="parallel").raw for i in range(10)]

    results = all_at_once([lambda b=b, t=t, i=i: post(f"{base}/api/v1/books/{b.pk}/copies", t, {"barcode": f"P{i}"})
                           for i, (b, t) in enumerate(zip(books, tokens, strict=True))])

    assert sorted(status for status, _ in results) == [201] * 10
    assert call_numbers(books) == [f"D925/{n}" for n in range(1, 11)]
    assert CallNumberCounter.objects.get(key="D925").last == 10
    assert_clean_log(log)
