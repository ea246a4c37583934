"""Call numbers (索书号): shelf order, author marks, assignment when a copy is catalogued (both schemes, by
every path: services, API, imports, admin), uniqueness, and the assign_call_numbers command."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from core.errors import DomainError
from library.callnumbers import (
    author_mark,
    call_number_sort_key,
    normalize_call_number,
    shelf_order,
    spine_lines,
)
from library.importers import import_catalog
from library.models import Book, CallNumberCounter, Copy
from library.services import Person, book_create, book_update, call_number_assign, copy_create
from tests.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db


def shelved(*call_numbers: str) -> list[str]:
    return sorted(call_numbers, key=shelf_order)


# --- shelf order -----------------------------------------------------------------------------------------


def test_classes_file_digit_by_digit_shorter_first():
    assert shelved("D923.6", "D90", "D923", "D9") == ["D9", "D90", "D923", "D923.6"]


def test_running_numbers_file_as_numbers():
    assert shelved("D923.6/10", "D923.6/2", "D923.6/1") == ["D923.6/1", "D923.6/2", "D923.6/10"]


def test_a_whole_class_files_before_its_subdivisions_and_subclasses():
    assert shelved("D923.1", "D924", "D923-44/1", "D923/7", "D923/12", "D93") == [
        "D923/7", "D923/12", "D923-44/1", "D923.1", "D924", "D93"]


def test_auxiliary_notations_file_general_region_period_ethnic_in_that_order():
    assert shelved('D923"1"', "D923=5", "D923(235)", "D923-44", "D923") == [
        "D923", "D923-44", "D923(235)", "D923=5", 'D923"1"']


def test_author_marks_file_by_letters_then_number_and_volumes_after_their_book():
    assert shelved("D90/ZM10", "D90/ZM2", "D90/ZM", "D90/Z43", "D90/Z5") == [
        "D90/Z5", "D90/Z43", "D90/ZM", "D90/ZM2", "D90/ZM10"]
    assert shelved("D923/13", "D923/12:10", "D923/12", "D923/12:2") == ["D923/12", "D923/12:2", "D923/12:10",
                                                                           "D923/13"]


def test_main_classes_file_alphabetically_with_t_before_its_two_letter_subclasses():
    assert shelved("TP311", "TB1", "T1", "K2", "D9") == ["D9", "K2", "T1", "TB1", "TP311"]


def test_free_text_files_after_classified_numbers_and_none_last():
    assert shelved("", "馆藏01", "Z1/1", "A1/1") == ["A1/1", "Z1/1", "馆藏01", ""]


def test_the_sort_key_compares_as_plain_text_so_the_index_can_keep_it():
    expected = ["D9", "D90", "D923", "D923-44", "D923.6", "D923.6/2", "D923.6/10", "D923.6/ZM", "D93"]
    assert sorted(expected[::-1], key=call_number_sort_key) == expected
    assert call_number_sort_key("ｄ923.6 / 10") == call_number_sort_key("D923.6/10") == "D9236 210"


def test_call_numbers_are_normalized_half_width_upper_case_without_spaces_round_the_slash():
    assert normalize_call_number("  ｄ９２３．６ / １２ ") == "D923.6/12"


@pytest.mark.parametrize("call_number, lines", [
    ("D923.6/12", ["D923.6", "12"]),
    ("D923.6/12:2", ["D923.6", "12", ":2"]),
    ("D90-03/L13", ["D90-03", "L13"]),
    ("D923.6", ["D923.6"]),
    ("", []),
])
def test_spine_lines_put_class_mark_and_volume_on_lines_of_their_own(call_number, lines):
    assert spine_lines(call_number) == lines


@pytest.mark.parametrize("name, mark", [
    ("张明", "ZM"),
    ("欧阳修", "OYX"),
    ("曾国藩", "ZGF"),  # a surname read as a surname (pypinyin alone reads ceng)
    ("单雄信", "SXX"),
    ("[美] 波斯纳", "BSN"),
    ("H. L. A. Hart", "HLAH"),
    ("Émile Durkheim", "ED"),
    ("最高人民法院民事审判第一庭", "ZGRM"),
    ("解放军出版社", "JFJC"),  # an institution, not a person: 解 keeps its common reading
    ("ᠮᠣᠩᠭᠣᠯ", ""),
])
def test_author_marks_are_pinyin_initials_of_the_name(name, mark):
    assert author_mark(name) == mark


# --- assignment by accession (种次号) ---------------------------------------------------------------------


def _book(title, clc="D923", **extra):
    return book_create(title=title, clc=clc, **extra)


def test_the_first_copy_gives_a_classified_book_the_next_number_of_its_class():
    first, second, other = _book("合同法"), _book("物权法"), _book("刑法学", clc="D924")
    for barcode, book in (("A1", first), ("B1", second), ("C1", other)):
        copy_create(book=book, barcode=barcode)

    assert [Book.objects.get(pk=b.pk).call_number for b in (first, second, other)] == ["D923/1", "D923/2", "D924/1"]
    assert dict(CallNumberCounter.objects.values_list("key", "last")) == {"D923": 2, "D924": 1}


def test_more_copies_keep_the_number_and_a_book_without_a_class_gets_none():
    book, unclassified = _book("合同法"), _book("无分类的书", clc="")
    copy_create(book=book, barcode="A1")
    copy_create(book=book, barcode="A2")
    copy_create(book=unclassified, barcode="N1")

    assert (Book.objects.get(pk=book.pk).call_number, Book.objects.get(pk=unclassified.pk).call_number) == ("D923/1", "")
    assert CallNumberCounter.objects.get(key="D923").last == 1


def test_a_call_number_already_given_is_never_replaced():
    book = _book("合同法", call_number="D923/W25")
    copy_create(book=book, barcode="A1")
    book_update(book=book, changes={"clc": "D923.6"})

    assert Book.objects.get(pk=book.pk).call_number == "D923/W25"
    assert not CallNumberCounter.objects.exists()


def test_numbers_books_already_carry_are_skipped_and_a_new_counter_starts_after_them():
    _book("旧书一", call_number="D923/57")
    _book("旧书二", call_number="D923/12:2")
    first = _book("新书一")
    copy_create(book=first, barcode="A1")
    _book("馆员编的号", call_number="D923/59")  # typed after the counter exists
    second, third = _book("新书二"), _book("新书三")
    copy_create(book=second, barcode="B1")
    copy_create(book=third, barcode="C1")

    assert [Book.objects.get(pk=b.pk).call_number for b in (first, second, third)] == ["D923/58", "D923/60", "D923/61"]


def test_a_book_classified_after_its_copies_were_catalogued_is_numbered_then():
    book = _book("先有复本后分类", clc="")
    copy_create(book=book, barcode="A1")
    book_update(book=book, changes={"clc": "d923.2"})

    assert Book.objects.get(pk=book.pk).call_number == "D923.2/1"


def test_a_copy_refused_takes_no_number():
    book = _book("合同法")
    copy_create(book=_book("另一本", clc=""), barcode="TAKEN")

    with pytest.raises(DomainError) as refused:
        copy_create(book=book, barcode="TAKEN")

    assert refused.value.code == "duplicate_barcode"
    assert Book.objects.get(pk=book.pk).call_number == ""
    assert not CallNumberCounter.objects.filter(key="D923").exists()


# --- assignment by author (著者号) ------------------------------------------------------------------------


def test_the_author_scheme_uses_the_first_authors_initials_and_a_digit_for_the_next_books(settings):
    settings.CALL_NUMBER_SCHEME = "author"
    books = [
        _book("合同法总论", contributors=[Person("韩世远")]),
        _book("合同法各论", contributors=[Person("李四", "editor"), Person("韩世远")]),  # the first *author*
        _book("合同法研究", contributors=[Person("何诗远")]),  # another name with the same initials
        _book("民法总则", contributors=[Person("张明")]),
        _book("无责任者的书"),  # the title's initials
        _book("ᠮᠣᠩᠭᠣᠯ", contributors=[Person("ᠪᠠᠲᠤ")]),  # no letters at all: by accession
    ]
    for n, book in enumerate(books):
        copy_create(book=book, barcode=f"A{n}")

    assert [Book.objects.get(pk=b.pk).call_number for b in books] == [
        "D923/HSY", "D923/HSY2", "D923/HSY3", "D923/ZM", "D923/WZRZ", "D923/1"]


def test_the_author_scheme_skips_a_mark_a_librarian_gave(settings):
    settings.CALL_NUMBER_SCHEME = "author"
    _book("已编号", call_number="D923/ZM2")
    first, second = (_book(t, contributors=[Person("张明")]) for t in ("甲", "乙"))
    copy_create(book=first, barcode="A1")
    copy_create(book=second, barcode="A2")

    assert [Book.objects.get(pk=b.pk).call_number for b in (first, second)] == ["D923/ZM3", "D923/ZM4"]


def test_an_explicit_scheme_overrides_the_setting():
    book = _book("合同法", contributors=[Person("韩世远")])
    Copy.objects.create(book=book, barcode="RAW1")  # a copy written around the services

    assert call_number_assign(book=book, scheme="author") == "D923/HSY"
    assert Book.objects.get(pk=book.pk).call_number == "D923/HSY"


# --- uniqueness -------------------------------------------------------------------------------------------


def test_the_database_refuses_a_second_book_with_the_same_call_number():
    _book("甲", call_number="D923/1")
    other = _book("乙")

    with pytest.raises(IntegrityError), transaction.atomic():
        Book.objects.filter(pk=other.pk).update(call_number="D923/1")


def test_a_taken_call_number_is_refused_by_name(librarian_api):
    taken = _book("甲", call_number="D923/1")
    other = _book("乙")

    with pytest.raises(DomainError) as refused:
        book_update(book=other, changes={"call_number": "d923 / 1"})
    response = librarian_api.patch(f"/api/v1/books/{other.pk}", {"call_number": "D923/1"})

    assert (refused.value.code, refused.value.extra) == ("duplicate_call_number",
                                                         {"field": "call_number", "existing": taken.pk})
    assert refused.value.detail == "索书号 D923/1 已被《甲》使用"
    assert response.status_code == 409
    assert response.json() == {"detail": "索书号 D923/1 已被《甲》使用", "code": "duplicate_call_number",
                               "field": "call_number", "existing": taken.pk}


def test_the_api_shows_and_takes_a_call_number(librarian_api):
    response = librarian_api.post("/api/v1/books", {"title": "合同法", "clc": "D923"})
    book_id = response.json()["id"]
    assert response.json()["call_number"] == ""

    librarian_api.post(f"/api/v1/books/{book_id}/copies", {"barcode": "FG1"})
    assert librarian_api.get(f"/api/v1/books/{book_id}").json()["call_number"] == "D923/1"
    response = librarian_api.patch(f"/api/v1/books/{book_id}", {"call_number": "d923/w25"})
    assert (response.status_code, response.json()["call_number"]) == (200, "D923/W25")


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))
    return client


def test_the_admin_refuses_a_taken_call_number_naming_its_book_and_keeps_a_free_one(admin_client):
    _book("甲", call_number="D923/1")
    other = _book("乙")
    copy_create(book=other, barcode="B1")
    url = f"/admin/library/book/{other.pk}/change/"
    form = admin_form_data(admin_client, url)

    refused = admin_client.post(url, {**form, "call_number": ["d923/1"]})
    saved = admin_client.post(url, {**form, "call_number": ["D923/W25"]})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"call_number": ["索书号 D923/1 已被《甲》使用"]}
    assert saved.status_code == 302
    assert Book.objects.get(pk=other.pk).call_number == "D923/W25"


def test_copies_added_in_the_admin_number_their_book(admin_client):
    book = _book("合同法")
    other = _book("物权法")
    url = f"/admin/library/book/{book.pk}/change/"
    form = admin_form_data(admin_client, url)
    form.update({"copies-0-barcode": ["AD1"], "copies-0-location": ["院本部"], "copies-0-status": ["available"]})

    inline = admin_client.post(url, form)
    single = admin_client.post("/admin/library/copy/add/", {"book": other.pk, "barcode": "AD2", "location": "院本部",
                                                             "shelf": "", "status": "available", "acquired_on": "",
                                                             "note": ""})

    assert (inline.status_code, single.status_code) == (302, 302)
    assert [Book.objects.get(pk=b.pk).call_number for b in (book, other)] == ["D923/1", "D923/2"]


# --- imports ----------------------------------------------------------------------------------------------


def test_imported_books_are_numbered_and_a_taken_call_number_is_replaced_by_a_new_one():
    _book("已在馆", call_number="D923/W25")
    csv = ("title,clc,call_number,barcodes\n"
           "合同法,D923,,IM1\n"
           "物权法,D923,d923/w25,IM2\n"
           "刑法学,D924,D924/X1,IM3\n").encode()

    summary = import_catalog(data=csv)

    # The source's call number is another book's here: the book comes in without it (the report says so) and
    # gets the next number of its class when its copy is catalogued.
    assert (summary.created, summary.failed) == (3, 0)
    assert dict(Book.objects.exclude(title="已在馆").values_list("title", "call_number")) == {
        "合同法": "D923/1", "物权法": "D923/2", "刑法学": "D924/X1"}


def test_importing_the_same_file_again_changes_nothing():
    csv = "title,clc,call_number,barcodes\n合同法,D923,d923 / w25,IM1\n".encode()
    import_catalog(data=csv)

    again = import_catalog(data=csv)

    assert (again.unchanged, again.updated) == (1, 0)


# --- the command --------------------------------------------------------------------------------------------


def _unnumbered(title, clc, barcode):
    """A book catalogued before numbering: its copy written around the services."""
    book = book_create(title=title, clc=clc)
    Copy.objects.create(book=book, barcode=barcode)
    return book


def test_assign_call_numbers_dry_run_reports_each_book_and_changes_nothing():
    a, b = _unnumbered("合同法", "D923", "A1"), _unnumbered("刑法学", "D924", "B1")
    _unnumbered("无分类", "", "C1")
    book_create(title="无复本", clc="D925")
    out = io.StringIO()

    call_command("assign_call_numbers", "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        f"D923/1\t#{a.pk}\t合同法",
        f"D924/1\t#{b.pk}\t刑法学",
        "试运行：将为 2 种书编索书号（未写入）；1 种有复本的书没有中图法分类号，未编号",
    ]
    assert list(Book.objects.exclude(call_number="").values_list("call_number", flat=True)) == []
    assert not CallNumberCounter.objects.exists()


def test_assign_call_numbers_numbers_the_books_with_copies_and_a_class(settings):
    settings.CALL_NUMBER_SCHEME = "author"
    a = _unnumbered("合同法", "D923", "A1")
    a.contributors.create(name="韩世远", position=0)
    b = _unnumbered("刑法学", "D924", "B1")
    out = io.StringIO()

    call_command("assign_call_numbers", stdout=out)

    assert out.getvalue().splitlines() == [f"D923/HSY\t#{a.pk}\t合同法", f"D924/XFX\t#{b.pk}\t刑法学",
                                           "已为 2 种书编索书号"]
    assert [Book.objects.get(pk=x.pk).call_number for x in (a, b)] == ["D923/HSY", "D924/XFX"]
    out = io.StringIO()
    call_command("assign_call_numbers", stdout=out)
    assert out.getvalue().splitlines() == ["已为 0 种书编索书号"]
