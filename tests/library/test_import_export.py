"""Catalog import (CSV, MARC21, UNIMARC) and export (CSV, MARC21): library.importers, library.exporters,
the import_catalog/export_catalog commands and POST /api/v1/imports."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from pymarc import Field, Indicators, Record, Subfield
from stdnum import isbn as stdnum_isbn

from core.errors import InvalidInput
from core.text import is_single_line, neutralize_cell, restore_cell
from library import services
from library.exporters import SUMMARY_TRUNCATED, export_catalog
from library.importers import CSV_COLUMNS, detect_format, import_catalog
from library.models import Book, Contributor, Copy
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db

AUTHOR, EDITOR, TRANSLATOR = "author", "editor", "translator"

# Valid ISBNs (checked in test_fixture_isbns_are_valid).
ISBN_A = "9787301048153"  # also written 7-301-04815-7
ISBN_B = "9787111012344"
ISBN_C = "9787301123454"
ISBN_D = "9780306406157"
ISBN_E = "9787100012348"
BAD_ISBN = "9787301048154"  # ISBN_A with a wrong check digit

HEADER = ",".join(CSV_COLUMNS)
NO_RECORDS = "没有可导入的记录"


def csv_text(*rows: list[str], header: str = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return header + "\n" + buffer.getvalue()


def row(**cells: str) -> list[str]:
    return [cells.get(column, "") for column in CSV_COLUMNS]


def import_csv(text: str, encoding: str = "utf-8", **kwargs) -> dict:
    return import_catalog(data=text.encode(encoding), filename="books.csv", **kwargs).as_dict()


def people(book: Book) -> list[tuple[str, str]]:
    return [(c.name, c.role) for c in book.contributors.order_by("position")]


def copies(book: Book) -> list[tuple[str, str]]:
    return [(c.barcode, c.location) for c in book.copies.order_by("barcode")]


def snapshot() -> list[dict]:
    """The whole catalog without ids or timestamps, so two databases can be compared."""
    return [
        {
            "isbn": b.isbn,
            "title": b.title,
            "subtitle": b.subtitle,
            "publisher": b.publisher,
            "year": b.year,
            "edition": b.edition,
            "language": b.language,
            "clc": b.clc,
            "call_number": b.call_number,
            "subjects": b.subjects,
            "summary": b.summary,
            "contributors": people(b),
            "copies": copies(b),
        }
        for b in Book.objects.order_by("title", "isbn")
    ]


def summary(fmt: str = "csv", created=0, updated=0, unchanged=0, conflicts=0, failed=0, errors=()) -> dict:
    return {
        "format": fmt,
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "conflicts": conflicts,
        "failed": failed,
        "errors": list(errors),
    }


def test_fixture_isbns_are_valid():
    """All ISBNs used as good data pass stdnum's checksum; the bad one does not."""
    assert [stdnum_isbn.is_valid(i) for i in (ISBN_A, ISBN_B, ISBN_C, ISBN_D, ISBN_E, "7-301-04815-7")] == [True] * 6
    assert stdnum_isbn.is_valid(BAD_ISBN) is False


# --- CSV -----------------------------------------------------------------------

TWO_BOOKS = csv_text(
    row(
        isbn="7-301-04815-7",
        title="民法总则",
        authors="王泽鉴 著;张三 译",
        publisher="北京大学出版社",
        year="2020.5",
        edition="第2版",
        language="中文",
        clc="d923.1",
        call_number="D923.1/12",
        subjects="民法;总则",
        summary="民法总则的体系书。",
        barcodes="B001;B002",
        location="棋盘井法庭",
    ),
    row(
        isbn=ISBN_B,
        title="法律的经济分析",
        subtitle="第七版",
        authors="[美]波斯纳 著；蒋兆康 翻译；李四 主编",
        publisher="中国大百科全书出版社",
        year="c2012",
        language="zh",
        clc="D90-059",
        subjects="法律经济学",
        barcodes="B003",
    ),
)


def test_csv_import_creates_books_contributors_and_copies():
    """Every column lands in its field; ISBN-10 becomes ISBN-13, CLC is upper-cased, years are extracted."""
    result = import_csv(TWO_BOOKS)

    assert result == summary(created=2)
    first, second = Book.objects.order_by("id")
    assert (first.isbn, first.title, first.subtitle, first.publisher, first.year, first.edition) == (
        ISBN_A,
        "民法总则",
        "",
        "北京大学出版社",
        2020,
        "第2版",
    )
    assert (first.language, first.clc, first.call_number, first.subjects, first.summary) == (
        "zh",
        "D923.1",
        "D923.1/12",
        ["民法", "总则"],
        "民法总则的体系书。",
    )
    assert people(first) == [("王泽鉴", AUTHOR), ("张三", TRANSLATOR)]
    assert copies(first) == [("B001", "棋盘井法庭"), ("B002", "棋盘井法庭")]
    assert (second.isbn, second.subtitle, second.year, second.clc, second.subjects) == (
        ISBN_B,
        "第七版",
        2012,
        "D90-059",
        ["法律经济学"],
    )
    assert people(second) == [("[美]波斯纳", AUTHOR), ("蒋兆康", TRANSLATOR), ("李四", EDITOR)]
    assert copies(second) == [("B003", "院本部")]


def test_csv_with_utf8_bom_imports_like_without():
    """The BOM Excel writes before the first header is not part of the isbn column's name."""
    result = import_catalog(data=("\ufeff" + TWO_BOOKS).encode("utf-8")).as_dict()

    assert result == summary(created=2)
    assert list(Book.objects.order_by("id").values_list("isbn", "title")) == [
        (ISBN_A, "民法总则"),
        (ISBN_B, "法律的经济分析"),
    ]


def test_csv_with_utf8_bom_reports_bad_rows_on_their_lines():
    text = "\ufeff" + csv_text(row(title="好书"), row(title="坏分类", clc="ZZ9"), row(title="又一本好书"))

    result = import_csv(text)

    assert result == summary(
        created=2,
        failed=1,
        errors=[{"line": 3, "record": None, "reason": "中图法分类号格式错误（应如 D923.2）：ZZ9"}],
    )


def test_csv_in_gb18030_as_excel_saves_it_on_chinese_windows():
    """GB18030 with CRLF line ends decodes after UTF-8 fails; Chinese text arrives intact."""
    data = TWO_BOOKS.replace("\n", "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = import_catalog(data=data).as_dict()

    assert result == summary(created=2)
    book = Book.objects.get(isbn=ISBN_B)
    assert (book.title, book.publisher) == ("法律的经济分析", "中国大百科全书出版社")
    assert people(book) == [("[美]波斯纳", AUTHOR), ("蒋兆康", TRANSLATOR), ("李四", EDITOR)]


def test_csv_full_width_separators_and_role_markers():
    """； separates list items like ;, and 著/译/编/主编 markers (with or without a space) set the role."""
    text = csv_text(
        row(
            title="合同法研究",
            authors="崔建远著；韩世远 编；李某（译）；王五 主编；赵六",
            subjects="合同；债法;合同",
            barcodes="C001；C002",
        )
    )

    result = import_csv(text)

    assert result == summary(created=1)
    book = Book.objects.get()
    assert people(book) == [
        ("崔建远", AUTHOR),
        ("韩世远", EDITOR),
        ("李某", TRANSLATOR),
        ("王五", EDITOR),
        ("赵六", AUTHOR),
    ]
    assert book.subjects == ["合同", "债法"]
    assert copies(book) == [("C001", "院本部"), ("C002", "院本部")]


def test_csv_bad_rows_reported_with_physical_line_numbers_while_good_rows_import():
    """Line numbers count physical lines (header = 1), including a quoted cell spanning two lines."""
    text = csv_text(
        row(isbn=ISBN_A, title="民法总则", summary="第一行\n第二行"),  # lines 2-3
        row(isbn=BAD_ISBN, title="校验位错误的书"),  # line 4
        row(isbn=ISBN_C, title="好书"),  # line 5
        row(title="未来的书", year="2999"),  # line 6
        row(title="", authors="无名"),  # line 7
    )

    result = import_csv(text)

    assert result == summary(
        created=2,
        failed=3,
        errors=[
            {"line": 4, "record": None, "reason": f"ISBN 校验位错误：{BAD_ISBN}"},
            {"line": 6, "record": None, "reason": "出版年: 年份应在 1000 到明年之间：2999"},
            {"line": 7, "record": None, "reason": "题名不能为空"},
        ],
    )
    assert list(Book.objects.order_by("id").values_list("title", "summary")) == [
        ("民法总则", "第一行\n第二行"),
        ("好书", ""),
    ]


def test_csv_row_with_a_taken_barcode_is_rolled_back_whole():
    """A new book whose 2nd barcode belongs to another book is not created with only its 1st copy."""
    other = services.book_create(title="别的书")
    services.copy_create(book=other, barcode="X1")

    result = import_csv(csv_text(row(isbn=ISBN_A, title="新书", barcodes="N1;X1")))

    assert result == summary(
        failed=1,
        errors=[
            {
                "line": 2,
                "record": None,
                "reason": f"条码 X1 已属于另一种书《别的书》(id {other.pk})",
            }
        ],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["别的书"]
    assert list(Copy.objects.values_list("barcode", flat=True)) == ["X1"]


def test_csv_update_with_a_taken_barcode_changes_nothing():
    """An update rolls back with the row: the publisher it fills in is not kept when a barcode fails."""
    book = services.book_create(title="旧书", isbn=ISBN_A)
    other = services.book_create(title="别的书")
    services.copy_create(book=other, barcode="X1")

    result = import_csv(csv_text(row(isbn=ISBN_A, title="旧书", publisher="新出版社", barcodes="N1;X1")))

    assert result["failed"] == 1
    book.refresh_from_db()
    assert (book.publisher, copies(book)) == ("", [])


def test_reimporting_the_same_file_changes_nothing():
    """The second import finds every book by ISBN and every barcode on its book: all unchanged."""
    import_csv(TWO_BOOKS)
    before = snapshot()

    result = import_csv(TWO_BOOKS)

    assert result == summary(unchanged=2)
    assert snapshot() == before
    assert (Book.objects.count(), Copy.objects.count(), Contributor.objects.count()) == (2, 3, 5)


def test_reimport_with_changed_cells_is_a_conflict_that_writes_nothing():
    """Changed cells are not merged: the matched book keeps its values and gets no copy; the conflict lists
    each differing field with both values."""
    import_csv(TWO_BOOKS)
    changed = TWO_BOOKS.replace("北京大学出版社", "法律出版社").replace("B001;B002", "B001;B002;B009")
    changed = changed.replace("王泽鉴 著;张三 译", "王泽鉴 著")

    result = import_catalog(data=changed.encode())

    assert result.as_dict() == summary(conflicts=1, unchanged=1)
    book = Book.objects.get(isbn=ISBN_A)
    assert (book.publisher, people(book)) == ("北京大学出版社", [("王泽鉴", AUTHOR), ("张三", TRANSLATOR)])
    assert copies(book) == [("B001", "棋盘井法庭"), ("B002", "棋盘井法庭")]
    assert [c for o in result.outcomes for c in o.conflicts] == [
        {"field": "publisher", "label": "出版者", "current": "北京大学出版社", "incoming": "法律出版社"},
        {"field": "contributors", "label": "责任者", "current": "王泽鉴; 张三 (译)", "incoming": "王泽鉴"},
    ]


def test_reimport_with_a_new_barcode_adds_the_copy_as_an_update():
    import_csv(TWO_BOOKS)

    result = import_catalog(data=TWO_BOOKS.replace("B001;B002", "B001;B002;B009").encode())

    assert result.as_dict() == summary(updated=1, unchanged=1)
    assert [o.reason for o in result.outcomes if o.outcome == "updated"] == ["新增 1 个复本"]
    assert copies(Book.objects.get(isbn=ISBN_A))[-1] == ("B009", "棋盘井法庭")


def test_book_without_isbn_is_matched_by_title_year_and_first_author():
    """No ISBN: the same title, year and first author is the same book (a differing publisher is then a
    conflict, not an update); another first author is another book."""
    text = csv_text(row(title="审判实务", authors="张三 著", year="2019", publisher="人民法院出版社"))
    import_csv(text)

    again = import_csv(text.replace("人民法院出版社", "法律出版社"))
    other = import_csv(text.replace("张三 著", "李四 著"))

    assert (again, other) == (summary(conflicts=1), summary(created=1))
    assert list(Book.objects.order_by("id").values_list("publisher", flat=True)) == ["人民法院出版社", "人民法院出版社"]


def test_empty_cells_do_not_blank_existing_fields():
    """An import fills in and corrects; a blank cell leaves the stored value alone."""
    services.book_create(title="民法总则", isbn=ISBN_A, publisher="北京大学出版社", summary="提要")

    result = import_csv(csv_text(row(isbn=ISBN_A, title="民法总则")))

    assert result == summary(unchanged=1)
    assert Book.objects.values_list("publisher", "summary").get() == ("北京大学出版社", "提要")


def test_unknown_columns_are_reported_without_failing_rows():
    """Unknown columns are ignored and named in a notice on the header line; Chinese headers are understood."""
    text = "题名,isbn,价格,备注\n刑法学," + ISBN_C + ",45.00,无\n"

    result = import_csv(text)

    assert result == summary(
        created=1,
        errors=[{"line": 1, "record": None, "reason": "未知或重复的列已忽略：价格, 备注"}],
    )
    assert Book.objects.values_list("title", "isbn").get() == ("刑法学", ISBN_C)


def test_csv_without_title_column_is_rejected_naming_the_file():
    with pytest.raises(InvalidInput) as caught:
        import_csv("isbn,authors\n9787301048153,王泽鉴\n")

    assert (caught.value.field, caught.value.detail) == (
        "file",
        f"缺少 title（题名）列；表头应为 {HEADER}",
    )


def test_undecodable_file_is_rejected_naming_the_file():
    """Bytes that are neither UTF-8 nor GB18030 raise InvalidInput('file') and import nothing."""
    with pytest.raises(InvalidInput) as caught:
        import_catalog(data=b"title\n\x80\x80abc\n")

    assert (caught.value.field, caught.value.detail) == (
        "file",
        "文件既不是 UTF-8 也不是 GB18030 编码的文本，无法读取",
    )
    assert Book.objects.count() == 0


def test_unknown_format_is_rejected_naming_the_format():
    with pytest.raises(InvalidInput) as caught:
        import_catalog(data=TWO_BOOKS.encode(), format="xlsx")

    assert (caught.value.field, caught.value.detail) == (
        "format",
        "未知格式 'xlsx'，可用 csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc、xml",
    )


def test_excel_scientific_isbn_and_bad_language_are_explained():
    text = csv_text(row(isbn="9.78730E+12", title="被 Excel 改坏的"), row(title="语种不明", language="klingon"))

    result = import_csv(text)

    assert result["errors"] == [
        {
            "line": 2,
            "record": None,
            "reason": "ISBN 被 Excel 写成了科学计数法，原号码已丢失；请把 ISBN 列设为“文本”后重新录入：9.78730E+12",
        },
        {
            "line": 3,
            "record": None,
            "reason": "未知语种 klingon；可用 zh、mn、en、ru、ja、de、fr、other 或 中文、英文…",
        },
    ]


def test_csv_cells_with_line_breaks_and_control_characters_are_folded_not_refused():
    """Single-line cells: line breaks and tabs become one space, other controls go; the summary keeps its
    lines and tabs.  Nothing is reported."""
    text = csv_text(
        row(title="民法\r\n总论", subtitle="第\t二卷", authors="张\x7f三 著;李\x854 译", barcodes="B\x1bC",
            location="院本部\n三楼", publisher="\x01法律出版社", summary="第一行\r\n第二行\t缩进\x1b"),
    )

    result = import_csv(text)

    assert result == summary(created=1)
    book = Book.objects.get()
    assert (book.title, book.subtitle, book.publisher, book.summary) == (
        "民法 总论", "第 二卷", "法律出版社", "第一行\r\n第二行\t缩进")
    assert people(book) == [("张三", "author"), ("李 4", "translator")]
    assert copies(book) == [("BC", "院本部 三楼")]


def test_csv_unterminated_quote_fails_its_line_and_earlier_rows_import():
    """strict parsing: the quote opened on line 3 swallows the rest of the file; that line is reported."""
    data = (csv_text(row(isbn=ISBN_A, title="好书")) + ',"未闭合的题名\n,又一本书\n').encode()

    result = import_catalog(data=data).as_dict()

    assert result == summary(
        created=1,
        failed=1,
        errors=[{"line": 3, "record": None, "reason": "引号未闭合，本行起至文件末尾都未能导入"}],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["好书"]


def test_csv_stray_quote_fails_its_line_and_later_rows_import():
    data = (HEADER + '\n,"坏"引号\n,好书\n').encode()

    result = import_catalog(data=data).as_dict()

    assert result == summary(
        created=1,
        failed=1,
        errors=[
            {"line": 2, "record": None, "reason": "CSV 格式错误，本行未导入：',' expected after '\"'"}
        ],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["好书"]


@pytest.mark.parametrize("text", [HEADER + "\n", HEADER + "\r\n\r\n,,\r\n", "题名\n"])
def test_csv_with_only_a_header_is_rejected_as_having_no_records(text):
    with pytest.raises(InvalidInput) as caught:
        import_csv(text)

    assert (caught.value.field, caught.value.code, caught.value.detail) == ("file", "no_records", NO_RECORDS)


# --- MARC ----------------------------------------------------------------------


def field(tag: str, *subfields: str, ind: str = "  ") -> Field:
    """field("245", "a", "Title", "b", "sub") → a pymarc data field."""
    pairs = [Subfield(subfields[i], subfields[i + 1]) for i in range(0, len(subfields), 2)]
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=pairs)


def marc(*records: list[Field], leader: str = "00000nam a2200000 a 4500") -> bytes:
    out = b""
    for fields in records:
        record = Record(force_utf8=True, leader=leader)
        record.add_field(*fields)
        out += record.as_marc()
    return out


def iso2709(fields: list[tuple[str, str]], *, encoding: str, coding: str = " ", tail: str = "450 ") -> bytes:
    """A record written byte by byte, for encodings pymarc does not write (MARC-8, GB18030)."""
    directory, body = b"", b""
    for tag, content in fields:
        data = content.replace("$", "\x1f").encode(encoding) + b"\x1e"
        directory += f"{tag}{len(data):04d}{len(body):05d}".encode("ascii")
        body += data
    base = 24 + len(directory) + 1
    length = base + len(body) + 1
    leader = f"{length:05d}nam{coding} 22{base:05d}   {tail}".encode("ascii")
    return leader + directory + b"\x1e" + body + b"\x1d"


MARC21_POSNER = [
    Field(tag="008", data="140101s2014    nyu           000 0 eng d"),
    field("020", "a", f"{ISBN_D} (pbk.)"),
    field("041", "a", "eng", ind="0 "),
    field("084", "a", "D90-059", "2", "clc"),
    field("090", "a", "D90-059", "b", "P85"),
    field("100", "a", "Posner, Richard A.,", ind="1 "),
    field("245", "a", "Economic analysis of law /", "c", "Richard A. Posner.", ind="10"),
    field("250", "a", "9th ed."),
    field("260", "a", "New York :", "b", "Wolters Kluwer,", "c", "c2014."),
    field("520", "a", "A classic of law and economics."),
    field("650", "a", "Law and economics.", ind=" 0"),
    field("700", "a", "Li, Si,", "e", "editor.", ind="1 "),
    field("700", "a", "张三", "4", "trl", ind="0 "),
    field("852", "b", "院本部", "p", "M001"),
    field("852", "b", "棋盘井法庭", "p", "M002"),
]
MARC21_CHINESE = [
    Field(tag="008", data="200101s2020    ch            000 0 chi d"),
    field("020", "a", ISBN_E),
    field("093", "a", "D923"),
    field("099", "a", "D923/W25"),
    field("245", "a", "民法总论", "b", "第二卷", "c", "王泽鉴著", ind="00"),
    field("264", "a", "北京", "b", "北京大学出版社", "c", "2020", ind=" 1"),
    field("952", "a", "棋盘井法庭", "p", "M010"),
]


def test_marc21_import_maps_fields_relators_and_holdings():
    """ISBD punctuation is trimmed, 700 $e/$4 relators set roles, 852 $p/$b make copies."""
    result = import_catalog(data=marc(MARC21_POSNER, MARC21_CHINESE), filename="x.mrc").as_dict()

    assert result == summary("marc21", created=2)
    posner = Book.objects.get(isbn=ISBN_D)
    assert (posner.title, posner.subtitle, posner.publisher, posner.year, posner.edition, posner.language) == (
        "Economic analysis of law",
        "",
        "Wolters Kluwer",
        2014,
        "9th ed.",
        "en",
    )
    assert (posner.clc, posner.call_number, posner.subjects, posner.summary) == (
        "D90-059",
        "D90-059/P85",
        ["Law and economics"],
        "A classic of law and economics.",
    )
    assert people(posner) == [("Posner, Richard A.", AUTHOR), ("Li, Si", EDITOR), ("张三", TRANSLATOR)]
    assert copies(posner) == [("M001", "院本部"), ("M002", "棋盘井法庭")]
    chinese = Book.objects.get(isbn=ISBN_E)
    assert (chinese.title, chinese.subtitle, chinese.publisher, chinese.year, chinese.language) == (
        "民法总论",
        "第二卷",
        "北京大学出版社",
        2020,
        "zh",
    )
    assert (chinese.clc, chinese.call_number) == ("D923", "D923/W25")
    assert people(chinese) == [("王泽鉴", AUTHOR)]
    assert copies(chinese) == [("M010", "棋盘井法庭")]


def test_marc21_reimport_is_idempotent():
    data = marc(MARC21_POSNER, MARC21_CHINESE)
    import_catalog(data=data)
    before = snapshot()

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", unchanged=2)
    assert snapshot() == before


def test_marc21_in_marc8_is_decoded():
    """A record with leader/09 blank and MARC-8 combining diacritics (0xE2 = acute) reads as Unicode."""
    data = iso2709(
        [
            ("008", "190101s2019    fr            000 0 fre d"),
            ("245", "10$aLa soci\xe2et\xe2e /"),
            ("260", "  $bGallimard,$c2019."),
        ],
        encoding="latin-1",
        tail="4500",
    )

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", created=1)
    assert Book.objects.values_list("title", "publisher", "year", "language").get() == (
        "La société",
        "Gallimard",
        2019,
        "fr",
    )


UNIMARC_CRIMINAL_LAW = [
    field("010", "a", "978-7-301-12345-4", "d", "CNY98.00"),
    field("100", "a", "20210701d2021    em y0chiy50      ea"),
    field("101", "a", "chi", ind="0 "),
    field("200", "a", "刑法学", "e", "总论", "f", "张明楷著", ind="1 "),
    field("205", "a", "第6版"),
    field("210", "a", "北京", "c", "法律出版社", "d", "2021.7"),
    field("330", "a", "刑法学通说教材。"),
    field("606", "a", "刑法", ind="0 "),
    field("606", "a", "刑法学", ind="0 "),
    field("690", "a", "D924.01", "v", "5"),
    field("701", "a", "张明楷", "4", "著", ind=" 0"),
    field("702", "a", "李四", "4", "730", ind=" 0"),
    field("702", "a", "王五", ind=" 0"),
    field("905", "a", "院本部", "b", "U001", "d", "D924.01", "e", "123"),
    field("905", "a", "棋盘井法庭", "b", "U002", "d", "D924.01", "e", "123"),
]


def test_unimarc_import_maps_cnmarc_fields():
    """200/205/210/330/606/690, 701/702 with $4 (702 plain = editor) and 905 holdings with call number."""
    result = import_catalog(data=marc(UNIMARC_CRIMINAL_LAW, leader="00000nam0a2200000   450 ")).as_dict()

    assert result == summary("unimarc", created=1)
    book = Book.objects.get()
    assert (book.isbn, book.title, book.subtitle, book.edition, book.publisher, book.year, book.language) == (
        ISBN_C,
        "刑法学",
        "总论",
        "第6版",
        "法律出版社",
        2021,
        "zh",
    )
    assert (book.clc, book.call_number, book.subjects, book.summary) == (
        "D924.01",
        "D924.01/123",
        ["刑法", "刑法学"],
        "刑法学通说教材。",
    )
    assert people(book) == [("张明楷", AUTHOR), ("李四", TRANSLATOR), ("王五", EDITOR)]
    assert copies(book) == [("U001", "院本部"), ("U002", "棋盘井法庭")]


def test_bad_unimarc_record_is_reported_while_others_import():
    bad = [field("200", "a", "分类号错误的书", ind="1 "), field("690", "a", "ZZ9"), field("210", "d", "2020")]

    result = import_catalog(data=marc(bad, UNIMARC_CRIMINAL_LAW)).as_dict()

    assert result == summary(
        "unimarc",
        created=1,
        failed=1,
        errors=[{"line": None, "record": 1, "reason": "中图法分类号格式错误（应如 D923.2）：ZZ9"}],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["刑法学"]


def test_unimarc_location_option_overrides_holding_location():
    import_catalog(data=marc(UNIMARC_CRIMINAL_LAW), format="unimarc", location="东胜法庭")

    assert copies(Book.objects.get()) == [("U001", "东胜法庭"), ("U002", "东胜法庭")]


def test_cnmarc_in_gb18030_with_blank_leader_coding_is_decoded():
    """Older Chinese systems write GBK and leave leader/09 blank; responsibility comes from 200 $f/$g."""
    data = iso2709(
        [
            ("010", "  $a7-301-04815-7"),
            ("101", "0 $achi"),
            ("200", "1 $a民法总则$f王泽鉴著$g张三译"),
            ("210", "  $a北京$c北京大学出版社$d2009"),
            ("905", "  $a院本部$bG001$dD923.1$e5"),
        ],
        encoding="gb18030",
    )

    result = import_catalog(data=data).as_dict()

    assert result == summary("unimarc", created=1)
    book = Book.objects.get()
    assert (book.isbn, book.title, book.publisher, book.year, book.call_number) == (
        ISBN_A,
        "民法总则",
        "北京大学出版社",
        2009,
        "D923.1/5",
    )
    assert people(book) == [("王泽鉴", AUTHOR), ("张三", TRANSLATOR)]
    assert copies(book) == [("G001", "院本部")]


def test_bad_marc_records_are_reported_by_record_number():
    """Record 2 has a bad ISBN and record 4 is garbage; records 1 and 3 still import."""
    bad = [field("020", "a", BAD_ISBN), field("245", "a", "坏书")]
    data = marc(MARC21_POSNER, bad, MARC21_CHINESE) + b"garbage record\x1d"

    result = import_catalog(data=data).as_dict()

    assert result == summary(
        "marc21",
        created=2,
        failed=2,
        errors=[
            {"line": None, "record": 2, "reason": f"ISBN 校验位错误：{BAD_ISBN}"},
            {"line": None, "record": 4, "reason": "不是有效的 MARC 记录：记录头损坏"},
        ],
    )
    assert sorted(Book.objects.values_list("isbn", flat=True)) == [ISBN_D, ISBN_E]


def test_format_is_detected_from_the_content():
    assert detect_format(TWO_BOOKS.encode("gb18030")) == "csv"
    assert detect_format(marc(MARC21_POSNER)) == "marc21"
    assert detect_format(marc(UNIMARC_CRIMINAL_LAW)) == "unimarc"


def test_forcing_marc_on_a_csv_file_is_rejected_naming_the_file():
    with pytest.raises(InvalidInput) as caught:
        import_catalog(data=TWO_BOOKS.encode(), format="marc21")

    assert (caught.value.field, caught.value.detail) == (
        "file",
        "不是 ISO 2709 MARC 文件：没有记录结束符",
    )


def test_marc21_in_gb18030_with_blank_leader_coding_is_decoded():
    """GBK/GB18030 MARC21 with leader/09 blank is not MARC-8: it reads as Chinese, not '©ʺ̨· €̐·'."""
    data = iso2709(
        [
            ("008", "120101s2012    ch            000 0 chi d"),
            ("020", "  $a978-7-301-12345-4"),
            ("245", "10$a民法物权 /$c王利明著"),
            ("264", " 1$a北京 :$b中国人民大学出版社,$c2012."),
            ("520", "  $a物权法教材。"),
            ("650", " 0$a物权法"),
            ("852", "  $b院本部$pGB01"),
        ],
        encoding="gb18030",
    )
    assert b"\x1b" not in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", created=1)
    book = Book.objects.get()
    assert (book.isbn, book.title, book.publisher, book.year, book.language, book.summary, book.subjects) == (
        ISBN_C,
        "民法物权",
        "中国人民大学出版社",
        2012,
        "zh",
        "物权法教材。",
        ["物权法"],
    )
    assert people(book) == [("王利明", AUTHOR)]
    assert copies(book) == [("GB01", "院本部")]


def test_marc_record_in_no_known_encoding_fails_with_a_reason():
    """Not UTF-8, not GB18030 (0x80, 0xFF) and not MARC-8 (bytes ANSEL lacks): refused, not imported as garbage."""
    bad = iso2709([("245", "10$aBad \x80\xff title")], encoding="latin-1")

    result = import_catalog(data=bad + marc(MARC21_CHINESE)).as_dict()

    assert result == summary(
        "marc21",
        created=1,
        failed=1,
        errors=[
            {
                "line": None,
                "record": 1,
                "reason": "MARC 记录的字符编码无法识别：既不是 UTF-8，也不是 GB18030 或 MARC-8，未导入",
            }
        ],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["民法总论"]


def test_marc_record_in_utf8_with_a_broken_byte_fails_instead_of_importing_replacement_characters():
    """Leader/09 blank, UTF-8 but for one cut character: neither GBK nor clean UTF-8, so it is refused."""
    good = iso2709([("245", "10$a民法总论与民法分论")], encoding="utf-8")
    broken = good.replace("论".encode(), "论".encode()[:2] + b"A", 1)
    offset = broken.index("论".encode()[:2] + b"A")

    result = import_catalog(data=broken + marc(MARC21_CHINESE)).as_dict()

    assert result == summary(
        "marc21",
        created=1,
        failed=1,
        errors=[
            {
                "line": None,
                "record": 1,
                "reason": f"MARC 记录的 UTF-8 编码在偏移 {offset} 字节处损坏，未导入",
            }
        ],
    )
    assert list(Book.objects.values_list("title", flat=True)) == ["民法总论"]


def test_marc_fields_with_control_characters_are_folded_not_refused():
    """A NUL never reaches the database (PostgreSQL cannot store it): it is dropped, the record imports."""
    nul_title = [field("245", "a", "空\x00字符")]
    bel_location = [field("245", "a", "好书"), field("852", "b", "院\x07本部", "p", "K1")]

    result = import_catalog(data=marc(nul_title, bel_location, MARC21_CHINESE)).as_dict()

    assert result == summary("marc21", created=3)
    assert list(Book.objects.values_list("title", flat=True)) == ["空字符", "好书", "民法总论"]
    assert list(Copy.objects.values_list("barcode", "location")) == [("K1", "院本部"), ("M010", "棋盘井法庭")]


DIRTY = "\x1b第\x85一\r\n二\t三\u2028"  # ESC, NEL, CRLF, tab, LINE SEPARATOR


@pytest.mark.parametrize("dialect, leader, records", [
    ("marc21", "00000nam a2200000 a 4500", [
        [field("245", "a", "题名" + DIRTY, "b", "副题" + DIRTY, "c", "王五" + DIRTY + "著", ind="00"),
         field("250", "a", "版" + DIRTY), field("264", "b", "出版" + DIRTY, "c", "2020", ind=" 1"),
         field("650", "a", "主题" + DIRTY), field("852", "b", "馆藏" + DIRTY, "p", "D1")],
        [field("245", "a", "另一本" + DIRTY, ind="00"), field("100", "a", "张" + DIRTY),
         field("700", "a", "李" + DIRTY, "e", "translator")],
    ]),
    ("unimarc", "00000nam0a2200000   450 ", [
        [field("200", "a", "题名" + DIRTY, "e", "副题" + DIRTY, "f", "王五" + DIRTY + "著", ind="1 "),
         field("205", "a", "版" + DIRTY), field("210", "c", "出版" + DIRTY, "d", "2020"),
         field("606", "a", "主题" + DIRTY), field("905", "a", "馆藏" + DIRTY, "b", "D1")],
        [field("200", "a", "另一本" + DIRTY, ind="1 "), field("701", "a", "张" + DIRTY, "b", "三" + DIRTY),
         field("702", "a", "李" + DIRTY)],
    ]),
])
def test_marc_import_stores_every_single_line_field_on_one_line(dialect, leader, records):
    """Titles, names, places, editions, publishers and subjects: one line, without control characters."""
    result = import_catalog(data=marc(*records, leader=leader)).as_dict()

    assert result == summary(dialect, created=2)
    first, second = Book.objects.order_by("id")
    assert (first.title, first.subtitle, first.edition, first.publisher, first.subjects) == (
        "题名第 一 二 三", "副题第 一 二 三", "版第 一 二 三", "出版第 一 二 三", ["主题第 一 二 三"])
    assert second.title == "另一本第 一 二 三"
    assert copies(first) == [("D1", "馆藏第 一 二 三")]
    names = list(Contributor.objects.order_by("book_id", "position").values_list("name", flat=True))
    stored = [text for values in Book.objects.values_list("title", "subtitle", "publisher", "edition", "call_number")
              for text in values] + names + [text for values in Copy.objects.values_list("location", "shelf")
                                             for text in values]
    assert [t for t in stored if not is_single_line(t) or t != t.strip()] == []
    assert names[0].startswith("王五第 一 二 三")


def test_marc_pieces_linked_by_8_join_exactly_in_sequence_order():
    """$8 N.k\\x pieces concatenate in k order without separator or trimming; unlinked 520s are lines."""
    fields = [
        field("245", "a", "分段提要"),
        field("520", "8", "1.2\\x", "a", " 乙"),
        field("520", "a", "另一段提要"),
        field("520", "8", "1.1\\x", "a", "甲 "),
        field("650", "8", "2.1\\x", "a", "物"),
        field("650", "a", "民法"),
        field("650", "8", "2.2\\x", "a", "权法"),
    ]

    result = import_catalog(data=marc(fields, leader="00000nam a2200000 c 4500")).as_dict()

    assert result == summary("marc21", created=1)
    assert Book.objects.values_list("summary", "subjects").get() == ("甲  乙\n另一段提要", ["物权法", "民法"])


@pytest.mark.parametrize("data", [b"\x1d", b"\x1d\x1d\r\n", b"\r\n\x1d\n\x00\x1d", b"not a record\x1dnor this\x1d"])
def test_marc_file_without_records_is_rejected(data):
    """Only record terminators, or nothing that starts like a record: no records, not a 0-record success."""
    with pytest.raises(InvalidInput) as caught:
        import_catalog(data=data)

    assert (caught.value.field, caught.value.code, caught.value.detail) == ("file", "no_records", NO_RECORDS)


def test_marc_file_without_records_is_rejected_when_the_format_is_given():
    with pytest.raises(InvalidInput) as caught:
        import_catalog(data=b"\x1d", format="unimarc")

    assert (caught.value.field, caught.value.detail) == ("file", NO_RECORDS)


# --- export --------------------------------------------------------------------


@pytest.fixture
def catalog():
    """A small catalog exercising every exported column, role and language."""
    a = services.book_create(
        title="民法总则",
        isbn=ISBN_A,
        subtitle="体系书",
        publisher="北京大学出版社",
        year=2020,
        edition="第2版",
        clc="D923.1",
        call_number="D923.1/12",
        subjects=["民法", "总则"],
        summary='第一段，有逗号。\n第二段 "引号"',
        contributors=[services.Person("王泽鉴"), services.Person("张三", TRANSLATOR), services.Person("王小编")],
    )
    services.copy_create(book=a, barcode="A1")
    services.copy_create(book=a, barcode="A2", location="棋盘井法庭")
    services.copy_create(book=a, barcode="A3")
    b = services.book_create(
        title="蒙古族习惯法", language="mn", year=2018, contributors=[services.Person("巴特尔", EDITOR)]
    )
    services.copy_create(book=b, barcode="B1", location="东胜法庭")
    services.book_create(title="无复本的书", isbn=ISBN_B, language="other")
    services.book_create(
        title='=HYPERLINK("http://evil","点我")',
        subtitle="+1",
        publisher="@SUM(A1)",
        edition="'=已转义",
        summary="-减号开头",
    )
    return [a, b]


def export_bytes(fmt: str) -> bytes:
    stream = io.BytesIO()
    export_catalog(format=fmt, stream=stream)
    return stream.getvalue()


def test_csv_export_reimports_to_the_same_catalog(catalog):
    """Export, empty the catalog, import: the same books, contributors (with roles) and copies."""
    before = snapshot()
    data = export_bytes("csv")
    Book.objects.all().delete()

    result = import_catalog(data=data).as_dict()

    # The first book's copies sit in two places: one row per location, the second row adds copies.
    assert result == summary(created=4, updated=1)
    assert snapshot() == before


def test_csv_export_reimported_over_itself_changes_nothing(catalog):
    """Every book is found again (ISBN, copies, title + year + first author) and left unchanged, except the
    one with neither ISBN, copies, year nor contributor: its title alone never matches, so it is reported
    as a possible duplicate and not created again."""
    before = snapshot()

    result = import_catalog(data=export_bytes("csv"))

    assert result.as_dict() == summary(unchanged=4, conflicts=1)
    assert [(o.conflict_kind, o.book_id) for o in result.outcomes if o.outcome == "conflict"] == [
        ("duplicate", Book.objects.get(title__startswith="=HYPERLINK").pk)]
    assert snapshot() == before


def test_csv_export_is_utf8_with_bom_and_importer_columns(catalog):
    data = export_bytes("csv")

    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1] == [
        "978-7-301-04815-3",
        "民法总则",
        "体系书",
        "王泽鉴;张三 译;王小编 著",
        "北京大学出版社",
        "2020",
        "第2版",
        "zh",
        "D923.1",
        "D923.1/12",
        "民法;总则",
        '第一段，有逗号。\n第二段 "引号"',
        "A1;A3",
        "院本部",
        "",
        "",
        "",
        "",
        "",
    ]
    assert rows[2][12:] == ["A2", "棋盘井法庭", "", "", "", "", ""]


def test_csv_export_neutralizes_formula_cells(catalog):
    """Cells starting with = + - @ get one leading ' (one more if already so written); import removes it."""
    rows = list(csv.reader(io.StringIO(export_bytes("csv").decode("utf-8-sig"))))
    formula_row = next(r for r in rows if "HYPERLINK" in r[1])

    assert formula_row[1] == '\'=HYPERLINK("http://evil","点我")'
    assert formula_row[2] == "'+1"
    assert formula_row[4] == "'@SUM(A1)"
    assert formula_row[6] == "''=已转义"
    assert formula_row[11] == "'-减号开头"
    assert (neutralize_cell("\tx"), neutralize_cell("\rx"), neutralize_cell("法=律")) == ("'\tx", "'\rx", "法=律")
    assert (restore_cell("''=x"), restore_cell("'x"), restore_cell("'-1")) == ("'=x", "'x", "-1")


def test_marc_export_reimports_to_the_same_catalog(catalog):
    """Export MARC21, empty the catalog, import: the same books, contributors and copies."""
    before = snapshot()
    data = export_bytes("marc")
    Book.objects.all().delete()

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", created=4)
    assert snapshot() == before
    assert import_catalog(data=data).as_dict() == summary("marc21", unchanged=4)


def test_unknown_export_format_is_rejected():
    with pytest.raises(InvalidInput) as caught:
        export_bytes("xlsx")

    assert (caught.value.field, caught.value.detail) == (
        "format",
        "未知导出格式 'xlsx'，可用 csv、marc21（marc）、marcxml、unimarc、unimarcxml",
    )


def test_csv_export_writes_books_without_copies_and_one_row_per_location(catalog):
    """A book with no copies gets one row with empty barcodes and location; one with copies in two
    places gets a row per place; re-importing into an empty catalog rebuilds exactly those copies."""
    rows = list(csv.reader(io.StringIO(export_bytes("csv").decode("utf-8-sig"))))
    by_title = [(r[1], r[12], r[13]) for r in rows[1:]]

    assert by_title == [
        ("民法总则", "A1;A3", "院本部"),
        ("民法总则", "A2", "棋盘井法庭"),
        ("蒙古族习惯法", "B1", "东胜法庭"),
        ("无复本的书", "", ""),
        ('\'=HYPERLINK("http://evil","点我")', "", ""),
    ]

    data = export_bytes("csv")
    Book.objects.all().delete()
    assert import_catalog(data=data).as_dict() == summary(created=4, updated=1)
    assert copies(Book.objects.get(isbn=ISBN_A)) == [("A1", "院本部"), ("A2", "棋盘井法庭"), ("A3", "院本部")]
    assert copies(Book.objects.get(isbn=ISBN_B)) == []


def test_csv_export_of_a_very_long_summary_reimports(catalog):
    """A cell over the csv module's default 128 KiB field limit still reads back."""
    services.book_update(book=catalog[1], changes={"summary": "草原" * 80_000})
    before = snapshot()
    data = export_bytes("csv")
    Book.objects.all().delete()

    assert import_catalog(data=data).as_dict() == summary(created=4, updated=1)
    assert snapshot() == before


def marc_directory(data: bytes) -> list[tuple[str, int]]:
    """(tag, field length) of each directory entry of the single record ``data``."""
    base = int(data[12:17])
    directory = data[24 : base - 1]
    assert len(directory) % 12 == 0
    return [(directory[i : i + 3].decode(), int(directory[i + 3 : i + 7])) for i in range(0, len(directory), 12)]


def test_marc_export_splits_fields_over_9999_bytes_and_reimports_them_exactly():
    """A 20,000-character summary (66,666 bytes, 3- and 4-byte characters) and a 12,000-byte subject
    become 520/650 pieces of ≤ 9,999 bytes linked by $8 N.k\\x; import joins them back unchanged."""
    long_summary = ("法律𠀀" * 6667)[:20_000]
    long_subject = "法" * 4000
    book = services.book_create(title="长提要", summary=long_summary, subjects=[long_subject, "民法"])
    services.copy_create(book=book, barcode="L1")
    warnings: list[str] = []
    stream = io.BytesIO()

    assert export_catalog(format="marc", stream=stream, warnings=warnings) == 1

    data = stream.getvalue()
    assert warnings == []
    assert int(data[:5]) == len(data) <= 99_999
    assert max(length for _, length in marc_directory(data)) <= 9_999
    record = Record(data, force_utf8=True)
    assert [f["8"] for f in record.get_fields("520")] == [f"1.{k}\\x" for k in range(1, 8)]
    assert "".join(f["a"] for f in record.get_fields("520")) == long_summary
    assert [f.get("8") for f in record.get_fields("650")] == ["2.1\\x", "2.2\\x", None]
    Book.objects.all().delete()

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", created=1)
    imported = Book.objects.get()
    assert imported.summary == long_summary
    assert imported.subjects == [long_subject, "民法"]
    assert copies(imported) == [("L1", "院本部")]


def _kept_characters(warning: str) -> int:
    match = re.search(r"只导出了前 (\d+) 字", warning)
    assert match, warning
    return int(match.group(1))


def test_marc_export_truncates_a_summary_that_would_exceed_99999_bytes_with_a_warning():
    """120,000 bytes of summary cannot fit one record: it is cut, marked and reported; the file re-imports."""
    book = services.book_create(title="超长提要", summary="法" * 40_000)
    warnings: list[str] = []
    stream = io.BytesIO()

    assert export_catalog(format="marc", stream=stream, warnings=warnings) == 1

    data = stream.getvalue()
    # How much fits depends a little on the record's other fields (the id's digits in 001).
    kept = _kept_characters(warnings[0])
    assert 33_100 <= kept <= 33_160
    assert warnings == [
        f"《超长提要》(id {book.pk})：MARC 记录超过 99,999 字节，内容提要只导出了前 {kept} 字（共 40000 字）"
    ]
    # The leader's length is the record's; little room is wasted; every field fits its 4 digits.
    assert int(data[:5]) == len(data)
    assert 99_900 < len(data) <= 99_999
    assert max(length for _, length in marc_directory(data)) <= 9_999
    Book.objects.all().delete()

    result = import_catalog(data=data).as_dict()

    assert result == summary("marc21", created=1)
    assert Book.objects.get().summary == "法" * kept + SUMMARY_TRUNCATED


# --- commands ------------------------------------------------------------------


def test_import_command_prints_summary_and_failures(tmp_path):
    path = tmp_path / "books.csv"
    path.write_bytes(csv_text(row(isbn=ISBN_A, title="民法总则"), row(isbn=BAD_ISBN, title="坏书")).encode("gb18030"))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_catalog", str(path), "--quiet", stdout=out, stderr=err)

    assert out.getvalue() == (
        "导入完成 (csv)：新增 1，更新 0，未变 0，冲突 0（待决定），失败 1\n"
    )
    assert err.getvalue() == f"第 3 行：ISBN 校验位错误：{BAD_ISBN}\n"
    assert list(Book.objects.values_list("title", flat=True)) == ["民法总则"]


def test_import_command_shows_progress_on_stderr_unless_quiet(tmp_path, capsys):
    path = tmp_path / "records.mrc"
    path.write_bytes(marc(UNIMARC_CRIMINAL_LAW))

    call_command("import_catalog", str(path), "--location", "东胜法庭", stdout=io.StringIO())

    # tqdm writes straight to sys.stderr; its timing figures vary, so only the bar's start is fixed.
    assert "导入 unimarc: 100%|" in capsys.readouterr().err
    assert copies(Book.objects.get()) == [("U001", "东胜法庭"), ("U002", "东胜法庭")]


def test_import_command_with_missing_file_raises_command_error(tmp_path):
    missing = tmp_path / "nope.csv"

    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", str(missing), "--quiet")

    assert str(caught.value) == f"无法读取文件 {missing}：No such file or directory"


def test_import_command_with_undecodable_file_or_bad_format_raises_command_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"title\n\x80\x80\n")

    with pytest.raises(CommandError) as undecodable:
        call_command("import_catalog", str(path), "--quiet")
    with pytest.raises(CommandError) as bad_format:
        call_command("import_catalog", str(path), "--format", "pdf", "--quiet")

    assert str(undecodable.value) == (
        f"{path}：文件既不是 UTF-8 也不是 GB18030 编码的文本，无法读取"
    )
    assert str(bad_format.value) == f"{path}：未知格式 'pdf'，可用 csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc、xml"


def test_export_then_import_commands_round_trip(catalog, tmp_path):
    before = snapshot()
    out = io.StringIO()

    call_command("export_catalog", "--format", "marc", str(tmp_path / "catalog.dat"), "--quiet", stdout=out)
    call_command("export_catalog", str(tmp_path / "catalog.csv"), "--quiet", stdout=io.StringIO())
    Book.objects.all().delete()
    call_command("import_catalog", str(tmp_path / "catalog.dat"), "--quiet", stdout=io.StringIO())

    assert out.getvalue() == f"已导出 4 种图书到 {tmp_path / 'catalog.dat'}\n"
    assert snapshot() == before
    assert (tmp_path / "catalog.csv").read_bytes().startswith(b"\xef\xbb\xbfisbn,title,")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_export_command_prints_warnings_and_their_count(tmp_path):
    book = services.book_create(title="超长提要", summary="法" * 40_000)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "catalog.mrc"

    call_command("export_catalog", str(path), "--quiet", stdout=out, stderr=err)

    assert out.getvalue() == f"已导出 1 种图书到 {path}，警告 1 条\n"
    kept = _kept_characters(err.getvalue())
    assert err.getvalue() == (
        f"《超长提要》(id {book.pk})：MARC 记录超过 99,999 字节，内容提要只导出了前 {kept} 字（共 40000 字）\n"
    )
    assert int(path.read_bytes()[:5]) == len(path.read_bytes()) <= 99_999


def test_export_command_needs_a_format_it_can_tell(tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("export_catalog", str(tmp_path / "catalog.txt"))

    assert (
        str(caught.value) == "请用 --format csv 或 --format marc 指定格式"
    )


# --- API -----------------------------------------------------------------------


def upload(client, data: bytes, fields: dict | None = None, name: str = "books.csv"):
    """POST /imports; when accepted (202), run the import job as a worker would and answer GET /imports/{id}."""
    response = client.upload("/api/v1/imports", {"file": SimpleUploadedFile(name, data, "text/csv")}, data=fields)
    if response.status_code != 202:
        return response
    assert response.json()["state"] == "queued"
    run_queued_jobs()
    return client.get(response.json()["url"])


def counts(status: dict) -> dict:
    """The part of an import's status that the inline importer's summary also gives."""
    return {key: status[key] for key in ("format", "created", "updated", "unchanged", "conflicts", "failed", "errors")}


def test_librarian_uploads_csv_and_gets_the_summary(librarian_api):
    data = csv_text(row(isbn=ISBN_A, title="民法总则", barcodes="A1"), row(isbn=BAD_ISBN, title="坏书")).encode()

    response = upload(librarian_api, data)

    assert (response.status_code, response.json()["state"], counts(response.json())) == (
        200,
        "done",
        summary(
            created=1,
            failed=1,
            errors=[{"line": 3, "record": None, "reason": f"ISBN 校验位错误：{BAD_ISBN}"}],
        ),
    )
    assert copies(Book.objects.get()) == [("A1", "院本部")]


def test_librarian_uploads_marc_with_explicit_format(librarian_api):
    response = upload(librarian_api, marc(UNIMARC_CRIMINAL_LAW), {"format": "unimarc"}, name="records.iso")

    assert (response.status_code, counts(response.json())) == (200, summary("unimarc", created=1))


def test_judge_may_not_import(judge_api):
    response = upload(judge_api, TWO_BOOKS.encode())

    assert (response.status_code, response.json()["detail"]) == (403, "需要以下角色之一：librarian")
    assert Book.objects.count() == 0


def test_anonymous_may_not_import(anon_api):
    response = upload(anon_api, TWO_BOOKS.encode())

    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert Book.objects.count() == 0


def test_import_with_unknown_format_is_422_naming_format(librarian_api):
    response = upload(librarian_api, TWO_BOOKS.encode(), {"format": "xlsx"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "format"],
            "field": "format",
            "type": "unknown_format",
            "msg": "未知格式 'xlsx'，可用 csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc、xml",
        }
    ]


def test_import_location_field_places_new_copies(librarian_api):
    data = csv_text(row(isbn=ISBN_A, title="民法总则", barcodes="L1")).encode()

    response = upload(librarian_api, data, {"location": "棋盘井法庭"})

    assert response.status_code == 200
    assert copies(Book.objects.get()) == [("L1", "棋盘井法庭")]


def test_import_of_undecodable_file_fails_its_job_with_the_reason(librarian_api):
    response = upload(librarian_api, b"title\n\x80\x80\n")

    assert (response.status_code, response.json()["state"], response.json()["error"]) == (
        200, "failed", "文件既不是 UTF-8 也不是 GB18030 编码的文本，无法读取"
    )
    assert Book.objects.count() == 0


@pytest.mark.parametrize(("data", "name"), [(b"\x1d", "records.mrc"), (HEADER.encode() + b"\r\n", "books.csv")])
def test_import_of_a_file_without_records_fails_its_job_with_the_reason(librarian_api, data, name):
    response = upload(librarian_api, data, name=name)

    assert (response.status_code, response.json()["state"], response.json()["error"]) == (200, "failed", NO_RECORDS)
    assert (response.json()["records_total"], Book.objects.count()) == (None, 0)


def test_import_of_an_empty_file_is_422_naming_file(librarian_api):
    response = upload(librarian_api, b"  \r\n")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "file"], "field": "file", "type": "empty", "msg": "文件为空"}
    ]


def test_a_wide_csv_keeps_only_the_cells_of_known_columns_until_its_rows_are_parsed():
    """The twelfth attack: 1,000 rows of 16,000 cells took the import worker from 0.3 to 1.65 GB, because
    every row's whole cell list waited in memory for its parse.  Measured by what reading leaves allocated."""
    import tracemalloc

    from library.importers import ImportSummary, _read_csv

    wide = ",".join(["title", "isbn"] + [f"extra{i}" for i in range(5000)]) + "\n"
    rows = "".join(f"书{i},,{','.join(['x'] * 5000)}\n" for i in range(200))
    data = (wide + rows).encode()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parsed = _read_csv(data, ImportSummary(format="csv"))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert len(parsed) == 200 and parsed[7][1]().values["title"] == "书7"
    # 200 rows × 5,002 cells would keep over 8 MB of list slots alone; two known columns a row keep little.
    assert kept < 2_000_000, kept


def test_a_csv_line_too_long_to_be_a_record_is_refused_before_it_is_parsed(settings):
    """The thirteenth attack: one line of 40 million empty cells took the import worker to 1.2 GB."""
    from library.importers import CSV_MAX_LINE_CHARS

    data = ("title,isbn\n民法总论,\n" + "," * (CSV_MAX_LINE_CHARS + 1) + "\n").encode()

    with pytest.raises(InvalidInput) as refused:
        import_catalog(data=data, format="csv")

    assert (refused.value.field, refused.value.code) == ("file", "line_too_long")
    assert "第 3 行过长" in refused.value.detail
    assert not Book.objects.exists()


def test_a_marc_coded_year_of_other_digits_is_no_year_not_a_failed_import():
    """The thirteenth attack: "²²²²" in 008/07-10 passed str.isdigit() and failed int(): the whole import."""
    from library.importers import _coded_year

    assert (_coded_year("²²²²"), _coded_year("２０２６"), _coded_year("2026"), _coded_year("uuuu")) == (None, None, 2026, None)


def test_a_warning_about_code_or_an_unclosed_file_is_no_notice_of_the_record():
    """The garbage collector's ResourceWarning for another object's file, raised while a record was read, once
    reached an import's report as a MARC notice (make test-pg, 2026-12-06)."""
    import warnings

    from library.importers import _captured_warnings

    with _captured_warnings() as notes:
        warnings.warn("unclosed file <_io.FileIO name='oai.xsl'>", ResourceWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        warnings.warn("Bad subfield code", UserWarning, stacklevel=1)

    assert notes == ["MARC 数据不规范（已尽量读取）：Bad subfield code"]
