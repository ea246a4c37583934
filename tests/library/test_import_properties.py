"""Property tests of the catalog import: whatever bytes arrive, the import reports instead of crashing, and a
row or record it reports as failed leaves nothing behind.

The example-based cases live in test_import_export.py; these draw whole files: well-formed CSV and MARC
whose rows and records fail for every reason a row can fail (some after the book is already written, when
a barcode turns out to be taken or malformed), random bytes, and valid MARC with bytes flipped, cut out or
put in.  Each example runs in a savepoint rolled back afterwards, so every file meets the same catalog.
"""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymarc import Field, Indicators, Record, Subfield

from core.errors import InvalidInput
from library import services
from library.importers import CSV_COLUMNS, CSV_HEADER_ALIASES, import_catalog
from library.models import Book, Copy
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db(transaction=False)

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SEEDED_ISBN = "9787301048153"
TAKEN_BARCODE = "TAKEN1"
# Free text: Chinese, Latin, digits, separators, quotes, spreadsheet formula starters, a newline (inside a
# quoted cell), full-width and four-byte characters.
TEXT = st.text(alphabet=st.sampled_from([*"民法物权刑总论张三李四著译主编等 ;；,，\"'=+-@\t\nabXY019.", "ｆ", "é", "\u3000", "𠀀"]),
               max_size=10)
# Refused in any field; NUL makes a CSV file binary, refused whole.
CONTROL_CHARS = ["\x07", "\x1b", "\x7f", "\x00"]


def mostly(good: list[str], bad: list[str], *, text: bool = False):
    """Good values six times as likely as each bad one; ``text`` adds free text as one more bad value."""
    options = st.sampled_from(good * 6 + bad + (["<text>"] if text else []))
    return options.flatmap(lambda v: TEXT if v == "<text>" else st.just(v))


@pytest.fixture
def seeded_book(db):
    """A book already in the catalog, owning the barcode a drawn row may try to take."""
    book = services.book_create(title="民法物权", isbn=SEEDED_ISBN, year=2009)
    services.copy_create(book=book, barcode=TAKEN_BARCODE)
    return book


def rolled_back(test):
    """Run ``test`` inside a savepoint that is always rolled back."""
    with transaction.atomic():
        try:
            return test()
        finally:
            transaction.set_rollback(True)


def marker(index: int) -> str:
    """A title part no other row carries: whether a row's book survived is a lookup for it."""
    return f"〔第{index}行〕"


@st.composite
def drawn_row(draw, index: int) -> dict:
    """One entry's cells, each value refused now and then; its own barcodes are R<index>X<n>, so whose
    copy a barcode is stays known."""
    own = [f"R{index}X{n}" for n in range(draw(st.integers(0, 2)))]
    # Refused barcodes, one taken by another book, and (when the row has barcodes) one of its own again,
    # in lower case: the same barcode once normalized.
    refused = [TAKEN_BARCODE, "bad code", "X" * 40, "条码", *(own and [f"r{index}x0"])]
    extra = draw(st.sampled_from([[]] * 15 + [[barcode] for barcode in refused]))
    row = {
        "isbn": draw(mostly(["", SEEDED_ISBN, "7-301-04815-7", "9787111012344"], ["9787301048154", "9.78730E+12"],
                            text=True)),
        "title": draw(mostly(["案例" + marker(index), "民法物权", "刑法学"], [""], text=True)),
        "subtitle": draw(TEXT),
        "title_romanized": draw(mostly(["", "Minfa wuquan"], [], text=True)),
        "subtitle_romanized": draw(TEXT),
        "other_titles": draw(mostly(["", "Law and Literature", "法与文学;Law and Literature"], [], text=True)),
        "responsibility": draw(mostly(["", "王泽鉴著"], [], text=True)),
        "publisher": draw(mostly(["", "法律出版社"], [], text=True)),
        "publisher_romanized": draw(mostly(["", "Falü chubanshe"], [], text=True)),
        "edition": draw(TEXT),
        "call_number": draw(mostly(["", "D923/W25"], [], text=True)),
        "authors": draw(mostly(["", "王泽鉴 著;张三 译", "李四（主编）"], [], text=True)),
        "year": draw(mostly(["", "2020", "c2019", "[2018]", "2020.5"], ["二〇二〇", "0999"], text=True)),
        "language": draw(mostly(["", "中文", "zh", "english", "蒙古文"], ["klingon"])),
        "clc": draw(mostly(["", "D923.2", "d92"], ["ZZ9"])),
        "subjects": draw(TEXT),
        "summary": draw(TEXT),
        "barcodes": ";".join(draw(st.permutations(own + extra))),
        "location": draw(mostly(["", "棋盘井法庭", "院本部"], ["馆" * 70])),
    }
    dirty = draw(st.sampled_from([None] * 24 + ["title", "authors", "location", "summary"]))
    if dirty:
        text = row[dirty]
        at = draw(st.integers(0, len(text)))
        row[dirty] = text[:at] + draw(st.sampled_from(CONTROL_CHARS)) + text[at:]
    return {**row, "own_barcodes": own}


@st.composite
def csv_files(draw):
    rows = [draw(drawn_row(index)) for index in range(draw(st.integers(1, 6)))]
    columns = draw(st.permutations(CSV_COLUMNS))
    chinese = {english: alias for alias, english in CSV_HEADER_ALIASES.items()}
    header = [chinese[c] if c in chinese and draw(st.booleans()) else c for c in columns]
    overflow = draw(st.sampled_from([None] * 3 + list(range(len(rows)))))  # a row with a cell past the header
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return rows, columns, header, overflow, encoding


def serialize(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def counts() -> tuple[int, int]:
    return Book.objects.count(), Copy.objects.count()


def assert_summary_consistent(summary, before: tuple[int, int], entries: int | None = None) -> None:
    """The report adds up, and its ``created`` is exactly the number of new books."""
    where = "line" if summary.format == "csv" else "record"
    numbers = [error[where] for error in summary.errors]
    assert all(isinstance(n, int) and n >= 1 for n in numbers), summary.errors
    assert numbers == sorted(set(numbers)), summary.errors
    assert all(isinstance(error["reason"], str) and error["reason"].strip() for error in summary.errors)
    assert len(summary.errors) >= summary.failed
    if entries is not None:
        assert summary.created + summary.updated + summary.unchanged + summary.conflicts + summary.failed == entries
    assert Book.objects.count() == before[0] + summary.created


def assert_failed_entries_left_nothing(entries: dict[int, dict], failed: set[int], before: tuple[int, int]) -> None:
    """A failed entry (or a conflict, which writes nothing until a librarian decides) wrote no book and no
    copy; every other entry added all of its own barcodes."""
    for number, entry in entries.items():
        stored = set(Copy.objects.filter(barcode__in=entry["own_barcodes"]).values_list("barcode", flat=True))
        if number in failed:
            assert stored == set(), (number, entry)
            assert not Book.objects.filter(title__contains=marker(entry["index"])).exists(), (number, entry)
        else:
            assert stored == set(entry["own_barcodes"]), (number, entry)
    added = sum(len(entry["own_barcodes"]) for number, entry in entries.items() if number not in failed)
    assert Copy.objects.count() == before[1] + added


# --- CSV -------------------------------------------------------------------------------------------------


@PROPERTY
@given(drawn=csv_files())
def test_a_drawn_csv_file_imports_in_whole_rows(seeded_book, drawn):
    rows, columns, header, overflow, encoding = drawn
    text = serialize(header)
    entries: dict[int, dict] = {}
    line = 2
    for index, row in enumerate(rows):
        cells = [row[c] for c in columns] + (["多余"] if index == overflow else [])
        if any(cell.strip() for cell in cells):
            entries[line] = {**row, "index": index}
        serialized = serialize(cells)
        text += serialized
        line += serialized.count("\n")
    before = counts()

    def run():
        try:
            summary = import_catalog(data=text.encode(encoding), filename="books.csv")
        except InvalidInput as exc:
            # Refused whole, with nothing written: a file with NUL in it, or one of blank rows only.
            expected = "file_type" if "\x00" in text else "no_records" if not entries else None
            assert (exc.field, exc.code) == ("file", expected)
            assert counts() == before
            return
        assert "\x00" not in text
        assert summary.format == "csv"
        assert_summary_consistent(summary, before, entries=len(entries))
        assert len(summary.errors) == summary.failed  # the header names known columns only
        failed = {error["line"] for error in summary.errors}
        failed |= {outcome.number for outcome in summary.outcomes if outcome.outcome == "conflict"}
        assert failed <= set(entries)
        assert_failed_entries_left_nothing(entries, failed, before)

    rolled_back(run)


def test_a_row_whose_copy_fails_after_its_book_was_written_leaves_no_book(seeded_book):
    """Rolled back whole: the barcode is refused only after the new book is saved."""
    text = serialize(["title", "barcodes"]) + serialize(["新书" + marker(1), f"R1X0;{TAKEN_BARCODE}"])
    before = counts()

    summary = import_catalog(data=text.encode())

    assert (summary.created, summary.failed, [e["line"] for e in summary.errors]) == (0, 1, [2])
    assert counts() == before
    assert not Book.objects.filter(title__contains=marker(1)).exists()


@PROPERTY
@given(data=st.binary(max_size=300) | st.text(max_size=120).map(str.encode),
       format=st.sampled_from([None, "csv", "marc", "unimarc"]))
def test_random_bytes_are_reported_never_raised(seeded_book, data, format):
    before = counts()

    def run():
        try:
            summary = import_catalog(data=data, filename="upload", format=format)
        except InvalidInput as exc:
            assert exc.field == "file" and exc.detail.strip()
            assert counts() == before
            return
        assert_summary_consistent(summary, before)

    rolled_back(run)


# --- MARC ------------------------------------------------------------------------------------------------


def marc_record(row: dict, dialect: str) -> bytes:
    """The row as a MARC 21 or UNIMARC record; empty cells leave their subfield out."""

    def add(tag: str, *pairs: str, ind: str = "  ") -> None:
        subfields = [Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2) if pairs[i + 1]]
        if subfields:
            record.add_field(Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields))

    barcodes = [barcode for barcode in row["barcodes"].split(";") if barcode]
    if dialect == "marc21":
        record = Record(force_utf8=True, leader="00000nam a2200000 a 4500")
        record.add_field(Field(tag="008", data="200101s2020    ch            000 0 chi d"))
        add("020", "a", row["isbn"])
        add("245", "a", row["title"], "c", row["authors"], ind="10")
        add("264", "b", "法律出版社", "c", row["year"], ind=" 1")
        add("852", "b", row["location"], *[x for barcode in barcodes for x in ("p", barcode)])
    else:
        record = Record(force_utf8=True, leader="00000nam0a2200000   450 ")
        add("010", "a", row["isbn"])
        add("200", "a", row["title"], "f", row["authors"], ind="1 ")
        add("210", "c", "法律出版社", "d", row["year"])
        add("905", "a", row["location"], *[x for barcode in barcodes for x in ("b", barcode)])
    return record.as_marc()


@st.composite
def marc_files(draw, min_records: int = 1):
    dialect = draw(st.sampled_from(["marc21", "unimarc"]))
    rows = [draw(drawn_row(index)) for index in range(draw(st.integers(min_records, 4)))]
    return dialect, rows


@PROPERTY
@given(drawn=marc_files())
def test_a_drawn_marc_file_imports_in_whole_records(seeded_book, drawn):
    dialect, rows = drawn
    data = b"".join(marc_record(row, dialect) for row in rows)
    entries = {number: {**row, "index": number - 1} for number, row in enumerate(rows, start=1)}
    before = counts()

    def run():
        summary = import_catalog(data=data, filename="records.mrc")
        assert summary.format == dialect
        assert_summary_consistent(summary, before, entries=len(rows))
        assert len(summary.errors) == summary.failed
        failed = {error["record"] for error in summary.errors}
        failed |= {outcome.number for outcome in summary.outcomes if outcome.outcome == "conflict"}
        assert_failed_entries_left_nothing(entries, failed, before)

    rolled_back(run)


@st.composite
def mutated_marc(draw):
    dialect, rows = draw(marc_files(min_records=2))
    data = bytearray(b"".join(marc_record(row, dialect) for row in rows))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        position = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "flip", "delete", "insert", "truncate"]))
        if kind == "flip":
            data[position] = draw(st.sampled_from([0x00, 0x1B, 0x1D, 0x1E, 0x1F, 0x20, 0x30, 0x39, 0x61, 0x80, 0xC3, 0xE4, 0xFF])
                                  | st.integers(0, 255))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[position:]
        if not data:
            data = bytearray(b"\x1d")
    return bytes(data), draw(st.sampled_from([None, "marc", dialect]))


@pytest.mark.filterwarnings("ignore::pymarc.exceptions.BadSubfieldCodeWarning")  # broken bytes, as meant
@PROPERTY
@given(drawn=mutated_marc())
def test_mutated_marc_is_reported_never_raised_and_a_second_import_adds_nothing(seeded_book, drawn):
    """Importing the same file twice never duplicates a book (the module's contract), broken records or not."""
    data, format = drawn
    before = counts()

    def run():
        try:
            first = import_catalog(data=data, filename="records.mrc", format=format)
        except InvalidInput as exc:
            assert exc.field == "file" and exc.detail.strip()
            assert counts() == before
            return
        assert_summary_consistent(first, before)
        # Every failed record is listed, and so is every record read despite a problem (its notice).
        noticed = sum(1 for outcome in first.outcomes if outcome.outcome != "failed" and outcome.notice)
        assert len(first.errors) == first.failed + noticed
        after_first = counts()

        second = import_catalog(data=data, filename="records.mrc", format=format)

        assert (second.created, second.failed) == (0, first.failed)
        assert counts() == after_first

    rolled_back(run)


# --- the command and the API ---------------------------------------------------------------------------

SUMMARY_LINE = re.compile(
    r"^导入完成 \((csv|marc21|unimarc)\)：新增 (\d+)，更新 (\d+)，未变 (\d+)，冲突 (\d+)（待决定），失败 (\d+)\n$"
)
FILES = st.binary(max_size=200) | mutated_marc().map(lambda drawn: drawn[0]) | csv_files().map(
    lambda drawn: (serialize(drawn[2]) + "".join(serialize([r[c] for c in drawn[1]]) for r in drawn[0])).encode()
)


@pytest.mark.filterwarnings("ignore::pymarc.exceptions.BadSubfieldCodeWarning")
@settings(PROPERTY, max_examples=25)
@given(data=FILES)
def test_import_command_prints_a_summary_or_a_clear_error(seeded_book, tmp_path, data):
    path = tmp_path / "upload.dat"
    path.write_bytes(data)
    before = counts()

    def run():
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_catalog", str(path), "--quiet", stdout=out, stderr=err)
        except CommandError as exc:
            assert str(exc).startswith(f"{path}：") and len(str(exc)) > len(f"{path}：")
            assert counts() == before
            return
        match = SUMMARY_LINE.match(out.getvalue())
        assert match, out.getvalue()
        created, failed = int(match[2]), int(match[6])
        # One "第 N 行/条记录" line per problem (a reason quoting a cell may run over more lines).
        problems = [line for line in err.getvalue().splitlines() if line.startswith("第 ")]
        assert len(problems) >= failed and err.getvalue().startswith("第 " if failed else ""), err.getvalue()
        assert Book.objects.count() == before[0] + created

    rolled_back(run)


@pytest.mark.filterwarnings("ignore::pymarc.exceptions.BadSubfieldCodeWarning")
@settings(PROPERTY, max_examples=25)
@given(data=FILES, format=st.sampled_from(["", "csv", "marc21", "unimarc", "pdf"]))
def test_import_api_answers_a_job_that_ends_with_counts_or_a_reason_or_422_naming_the_field(
        seeded_book, librarian_api, data, format):
    before = counts()

    def run():
        upload = SimpleUploadedFile("upload.dat", data, "application/octet-stream")
        response = librarian_api.upload("/api/v1/imports", {"file": upload}, data={"format": format})
        body = response.json()
        if response.status_code == 422:
            assert [e["field"] for e in body["detail"]] == ["format" if format == "pdf" else "file"]
            assert all(e["msg"].strip() for e in body["detail"])
            assert counts() == before
            return
        assert (response.status_code, body["state"]) == (202, "queued"), body
        run_queued_jobs()
        body = librarian_api.get(body["url"]).json()
        if body["state"] == "failed":
            assert body["error"].strip() and body["records_total"] is None
            assert counts() == before
            return
        assert body["state"] == "done", body
        assert body["records_done"] == body["records_total"] == sum(
            body[k] for k in ("created", "updated", "unchanged", "conflicts", "failed"))
        assert len(body["errors"]) >= min(body["failed"], 20)
        assert Book.objects.count() == before[0] + body["created"]

    rolled_back(run)
