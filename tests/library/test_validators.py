import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from library.models import Book, Copy
from library.validators import format_isbn, isbn_token, normalize_barcode, normalize_clc, normalize_isbn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9787301048153", "9787301048153"),
        ("978-7-301-04815-3", "9787301048153"),
        ("978 7 301 04815 3", "9787301048153"),
        ("7-301-04815-7", "9787301048153"),
        ("7301048157", "9787301048153"),
        ("0-306-40615-2", "9780306406157"),
        ("ISBN 978-7-302-12345-3", "9787302123453"),
        ("ISBN-10: 0-306-40615-2", "9780306406157"),
        ("９７８７３０１０４８１５３", "9787301048153"),  # full-width digits from a Chinese input method
    ],
)
def test_isbn_is_normalized_to_isbn13(raw, expected):
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9787301048152", "isbn_checksum"),
        ("7-301-04815-8", "isbn_checksum"),
        ("97873010481", "isbn_length"),
        ("978-7-301-0481X-3", "isbn_format"),
        ("not an isbn", "isbn_format"),
    ],
)
def test_isbn_rejects_bad_checksum_length_and_format(raw, code):
    with pytest.raises(ValidationError) as info:
        normalize_isbn(raw)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("9787301048153 (pbk.)", "9787301048153"),
        ("7-301-04815-7 : CNY45.00", "7-301-04815-7"),
        ("ISBN：７-３０１-０４８１５-７", "7-301-04815-7"),
        ("URN:ISBN:978-3-259-00518-7", "978-3-259-00518-7"),
        ("isbn-13 978 7 301 04815 3", "978 7 301 04815 3"),
        ("7-5037-2790-x（精装）", "7-5037-2790-x"),
        ("9787301048154", "9787301048154"),  # the shape of one: its check digit is normalize_isbn's question
        ("978730104815", ""),  # 12 digits
        ("73010481570", ""),  # 11 digits
        ("990002180740203961", ""),  # a system number
        ("(aleph)000095383BNU03", ""),
        ("CNY45.00", ""),
        ("", ""),
    ],
)
def test_isbn_token_finds_the_isbn_a_field_begins_with_by_its_shape(text, token):
    assert isbn_token(text) == token


@given(st.from_regex(r"978[0-9]{9}", fullmatch=True), st.sampled_from(["", "ISBN ", "ISBN：", "urn:isbn:"]),
       st.sampled_from(["", " (pbk.)", " : CNY45.00", "（精装）"]))
def test_a_valid_isbn_written_any_way_is_found_and_normalized_back(digits, prefix, suffix):
    isbn = digits + ean.calc_check_digit(digits)

    assert normalize_isbn(isbn_token(f"{prefix}{format_isbn(isbn)}{suffix}")) == isbn


@given(st.text(max_size=30))
def test_isbn_normalization_never_raises_anything_but_validation_error(text):
    try:
        result = normalize_isbn(text)
    except ValidationError:
        return
    assert len(result) == 13 and result.isdigit()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("D923.2", "D923.2"), (" d92 ", "D92"), ("TP311.13", "TP311.13"), ("D9", "D9"), ("D920.4-44", "D920.4-44"),
     ("D923.2(235)", "D923.2(235)"), ("Ｄ９２３", "D923"), ("K", "K")],
)
def test_clc_accepts_classes_and_normalizes(raw, expected):
    assert normalize_clc(raw) == expected


@pytest.mark.parametrize("raw", ["", "W1", "923.2", "D92 3", "D923..2", "DD923", "D923.2)", "L1"])
def test_clc_rejects_what_is_not_a_class(raw):
    with pytest.raises(ValidationError) as info:
        normalize_clc(raw)
    assert info.value.code == "clc_format"


@pytest.mark.parametrize("raw", ["", " ", "a b", "x" * 33, "条码1", "../etc"])
def test_barcode_rejects_bad_values(raw):
    with pytest.raises(ValidationError):
        normalize_barcode(raw)


def test_barcode_accepts_letters_digits_dot_dash_underscore():
    assert normalize_barcode(" FG-000_1.2 ") == "FG-000_1.2"


def test_book_clean_normalizes_isbn_and_clc_and_empties_isbn_to_null():
    book = Book(title=" 民法物权 ", isbn="7-301-04815-7", clc="d923.2")
    book.full_clean(validate_constraints=False)
    assert (book.title, book.isbn, book.clc) == ("民法物权", "9787301048153", "D923.2")
    nobook = Book(title="旧书", isbn="")
    nobook.full_clean(validate_constraints=False)
    assert nobook.isbn is None


def test_book_clean_reports_each_bad_field():
    book = Book(title="", isbn="9787301048152", clc="W1", year=3000, subjects="物权")
    with pytest.raises(ValidationError) as info:
        book.full_clean(validate_constraints=False)
    assert set(info.value.message_dict) == {"title", "isbn", "clc", "year", "subjects"}


@pytest.mark.django_db
def test_database_refuses_two_books_with_one_isbn_but_allows_many_without():
    from django.db import IntegrityError, transaction

    Book.objects.create(title="a", isbn="9787301048153")
    Book.objects.create(title="b", isbn=None)
    Book.objects.create(title="c", isbn=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Book.objects.create(title="d", isbn="9787301048153")
    assert Book.objects.count() == 3


@pytest.mark.django_db
def test_database_refuses_duplicate_barcode_and_unknown_status():
    from django.db import IntegrityError, transaction

    book = Book.objects.create(title="a")
    Copy.objects.create(book=book, barcode="FG1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Copy.objects.create(book=book, barcode="FG1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Copy.objects.create(book=book, barcode="FG2", status="borrowed")
    assert list(Copy.objects.values_list("barcode", flat=True)) == ["FG1"]


def test_str_uses_own_columns_only():
    assert str(Book(title="刑法学")) == "刑法学"
    assert str(Copy(barcode="FG9")) == "FG9"
