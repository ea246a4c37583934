"""ISO 2709 records that lie about themselves (attack round 18): a leader that says UTF-8 over GB18030 bytes (F6)
and a directory whose field lengths do not fit its fields (F9).  Each record is read as well as it can be, with
a notice saying what was assumed, or fails alone with a reason; nothing is stored as U+FFFD and no 001 is lost.
And a CSV name without a role, which is no conflict with the role a book gives the same person."""

import pytest
from pymarc import Field, Indicators, Record, Subfield

from library import marcxml, services
from library.importers import import_catalog
from library.models import Book, Contributor
from tests.library.test_import_export import csv_text, row
from tests.realdata import shared

pytestmark = pytest.mark.django_db

FS, RS = b"\x1e", b"\x1d"


def iso2709(record: Record, *, encoding: str, leader09: str = "a") -> bytes:
    """``record`` in ISO 2709 with its text in ``encoding`` whatever leader/09 (``leader09``) says."""
    directory, data = b"", b""
    for field in record.fields:
        if field.is_control_field():
            body = field.data.encode(encoding) + FS
        else:
            body = (field.indicator1 + field.indicator2).encode() + b"".join(
                b"\x1f" + sub.code.encode() + sub.value.encode(encoding) for sub in field.subfields) + FS
        directory += field.tag.encode() + b"%04d%05d" % (len(body), len(data))
        data += body
    base = 24 + len(directory) + 1
    leader = str(record.leader)
    leader = f"{base + len(data) + 1:05d}{leader[5:9]}{leader09}{leader[10:12]}{base:05d}{leader[17:]}"
    return leader.encode() + directory + FS + data + RS


def cnmarc_record() -> Record:
    """A CNMARC record as a Chinese library system writes it (built here, so it runs on every machine)."""
    record = Record(leader="00000nam0 2200000   450 ")
    record.add_field(Field(tag="001", data="012005002345"))
    record.add_field(Field(tag="010", indicators=Indicators(" ", " "), subfields=[Subfield("a", "978-7-04-050125-4")]))
    record.add_field(Field(tag="200", indicators=Indicators("1", " "),
                           subfields=[Subfield("a", "法理学"), Subfield("f", "张文显主编")]))
    record.add_field(Field(tag="210", indicators=Indicators(" ", " "),
                           subfields=[Subfield("c", "高等教育出版社"), Subfield("d", "2018")]))
    record.add_field(Field(tag="701", indicators=Indicators(" ", "0"),
                           subfields=[Subfield("a", "张文显"), Subfield("4", "主编")]))
    return record


def with_length(data: bytes, index: int, length: int) -> bytes:
    """``data`` (one record) with the length of its directory's entry ``index`` changed to ``length``."""
    at = 24 + 12 * index + 3
    return data[:at] + b"%04d" % length + data[at + 4 :]


# --- F6: leader/09 "a" over GB18030 bytes ----------------------------------------------------------------------


def test_a_record_saying_utf8_but_written_in_gb18030_is_read_as_gb18030_with_a_notice():
    data = iso2709(cnmarc_record(), encoding="gb18030")

    summary = import_catalog(data=data, filename="cnmarc.iso")

    book = Book.objects.get()
    assert (book.title, book.publisher, [c.name for c in book.contributors.all()]) == ("法理学", "高等教育出版社", ["张文显"])
    assert summary.created == 1
    assert summary.errors == [{"line": None, "record": 1,
                               "reason": "记录头第 09 位标明 UTF-8，但内容不是 UTF-8；已按 GB18030 读取，请核对文字"}]


def test_a_real_cnmarc_record_re_encoded_in_gb18030_under_a_utf8_leader_keeps_its_chinese():
    root = marcxml.parse(shared("dp2/sample_cnmarcxml.xml").read_bytes())
    record = marcxml.record_from_element(next(marcxml.marc_elements(root)))
    as_utf8 = import_catalog(data=iso2709(record, encoding="utf-8"), filename="utf8.iso", dry_run=True)

    summary = import_catalog(data=iso2709(record, encoding="gb18030"), filename="gb.iso")

    book = Book.objects.get()
    assert book.title == "'94中国发展报告"
    assert "\ufffd" not in book.title + book.publisher + "".join(c.name for c in book.contributors.all())
    assert [c.name for c in book.contributors.order_by("position")] == ["叶震", "李强", "国家统计局"]  # the corporate body (710) too
    assert (summary.created, summary.failed, as_utf8.errors) == (1, 0, [])


def test_a_record_saying_utf8_that_is_neither_utf8_nor_gb18030_fails_with_the_reason():
    record = cnmarc_record()
    good = iso2709(record, encoding="utf-8")
    at = good.index("法理学".encode())
    broken = good[:at] + b"\xff\xfe" + good[at + 2 :]  # 0xFF starts no UTF-8 or GB18030 character

    summary = import_catalog(data=broken, filename="broken.iso")

    assert (summary.created, summary.failed) == (0, 1)
    assert summary.errors[0]["reason"] == (
        f"记录头第 09 位标明 UTF-8，但内容在偏移 {at} 字节处不是有效的 UTF-8，也不是 GB18030 编码的文字，未导入")
    assert not Book.objects.exists()


def test_utf8_with_one_broken_character_under_a_utf8_leader_fails_instead_of_storing_a_replacement():
    record = cnmarc_record()
    record["200"]["a"] = "中华人民共和国民法典评注：总则编与物权编合订本"
    good = iso2709(record, encoding="utf-8")
    at = good.index("典".encode())
    broken = good[:at] + good[at : at + 2] + b"\x20" + good[at + 3 :]  # the last byte of 典 lost

    summary = import_catalog(data=broken, filename="broken.iso")

    assert (summary.created, summary.failed) == (0, 1)
    assert summary.errors[0]["reason"].startswith(f"记录头第 09 位标明 UTF-8，但内容在偏移 {at} 字节处不是有效的 UTF-8")
    assert not Book.objects.exists()


# --- F9: a directory whose lengths do not fit ---------------------------------------------------------------------


@pytest.mark.parametrize("length", [13 + 20, 13 + 1, 13 - 4])
def test_a_directory_that_misstates_the_001_length_keeps_the_001_and_says_so(length):
    good = iso2709(cnmarc_record(), encoding="utf-8")
    assert good[24:31] == b"0010013"  # 001, 13 bytes with its terminator

    summary = import_catalog(data=with_length(good, 0, length), filename="records.iso")

    book = Book.objects.get()
    assert (book.title, book.source_control_number.endswith("012005002345")) == ("法理学", True)
    assert summary.outcomes[0].control_number == "012005002345"
    assert summary.errors == [{"line": None, "record": 1,
                               "reason": "MARC 记录的目录中字段 001 的长度或位置与字段结束符不一致；已按字段结束符读取"}]


def test_a_real_record_with_an_overstated_001_imports_as_the_intact_one(settings):
    good = shared("marc4j_u335.mrc").read_bytes()
    intact = import_catalog(data=good, filename="u335.mrc", dry_run=True).outcomes[0]
    entry = good[24:36]
    assert entry[:3] == b"001"

    summary = import_catalog(data=with_length(good, 0, int(entry[3:7]) + 7), filename="u335.mrc", dry_run=True)

    outcome = summary.outcomes[0]
    assert (outcome.outcome, outcome.control_number) == ("created", intact.control_number)
    assert intact.control_number and intact.notice == ""
    assert outcome.notice == "MARC 记录的目录中字段 001 的长度或位置与字段结束符不一致；已按字段结束符读取"


def test_a_record_whose_fields_cannot_be_told_apart_fails_naming_the_field():
    good = iso2709(cnmarc_record(), encoding="utf-8")
    at = good.index(b"012005002345") + len(b"012005002345")
    merged = good[:at] + b"X" + good[at + 1 :]  # the 001's terminator overwritten: 001 runs into 010

    summary = import_catalog(data=merged, filename="records.iso")

    assert (summary.created, summary.failed) == (0, 1)
    assert summary.errors[0]["reason"] == (
        "MARC 记录的目录与字段不一致（字段 001 的长度或位置不对），无法完整读取，未导入")


# --- a name without a role ----------------------------------------------------------------------------------------


def falixue(authors: str) -> bytes:
    return csv_text(row(isbn="9787040501254", title="法理学", authors=authors, publisher="高等教育出版社", year="2018",
                        edition="第五版")).encode()


def test_a_csv_name_without_a_role_agrees_with_the_books_editor_on_every_import():
    """The demo's 法理学 has 张文显 as its editor; a row naming him plainly was a 责任者 conflict on every import,
    because an unmarked name was compared as 著 (author)."""
    book = services.book_create(title="法理学", isbn="9787040501254", publisher="高等教育出版社", year=2018,
                                edition="第五版", contributors=[services.Person("张文显", Contributor.Role.EDITOR)])

    first = import_catalog(data=falixue("张文显"), filename="books.csv")
    again = import_catalog(data=falixue("张文显"), filename="books.csv")

    assert [(o.outcome, o.reason) for o in first.outcomes + again.outcomes] == [("unchanged", ""), ("unchanged", "")]
    assert [(c.name, c.role) for c in book.contributors.all()] == [("张文显", "editor")]


@pytest.mark.parametrize("authors", ["张文显 译", "张文显;李四", "李四"])
def test_a_csv_name_with_another_role_or_other_names_is_still_a_conflict(authors):
    services.book_create(title="法理学", isbn="9787040501254", publisher="高等教育出版社", year=2018, edition="第五版",
                         contributors=[services.Person("张文显", Contributor.Role.EDITOR)])

    summary = import_catalog(data=falixue(authors), filename="books.csv")

    assert [(o.outcome, [c["field"] for c in o.conflicts]) for o in summary.outcomes] == [("conflict", ["contributors"])]


def test_a_csv_name_without_a_role_makes_a_new_book_s_author():
    import_catalog(data=falixue("张文显"), filename="books.csv")

    assert [(c.name, c.role) for c in Book.objects.get().contributors.all()] == [("张文显", "author")]
