"""Export the catalog as CSV (the importer's columns, UTF-8 with BOM for Excel) or MARC21 (ISO 2709, UTF-8).

What an export writes, ``library.importers`` reads back to the same books, contributors and copies.
Not carried: cover URLs and a copy's shelf, status, acquisition date and note.
"""

import csv
import io
from collections.abc import Iterable
from typing import BinaryIO

from pymarc import Field, Indicators, Record, Subfield
from tqdm import tqdm

from library import selectors
from library.importers import CSV_COLUMNS, MARC_LANGUAGES, neutralize_cell, parse_person
from library.models import Book, Contributor, Language
from library.validators import format_isbn
from shuyuan.errors import InvalidInput

FORMATS = ("csv", "marc")
FORMAT_ALIASES = {"marc21": "marc", "mrc": "marc"}

ROLE_SUFFIXES = {Contributor.Role.EDITOR: "编", Contributor.Role.TRANSLATOR: "译"}
MARC_LANGUAGE_CODES = {value: code for code, value in reversed(MARC_LANGUAGES.items())} | {Language.OTHER: "und"}
MARC_RELATORS = {
    Contributor.Role.AUTHOR: ("author", "aut"),
    Contributor.Role.EDITOR: ("editor", "edt"),
    Contributor.Role.TRANSLATOR: ("translator", "trl"),
}
# leader/05-09 new, language material, monograph, -, UTF-8; 17-19 full level, ISBD punctuation omitted.
MARC_LEADER = "00000nam a2200000 c 4500"


def person_cell(contributor: Contributor) -> str:
    """Return "王泽鉴", "李四 编" or "张三 译": the form ``importers.parse_person`` reads back to the same person."""
    name = contributor.name
    if contributor.role in ROLE_SUFFIXES:
        return f"{name} {ROLE_SUFFIXES[contributor.role]}"
    # A name that happens to end in a marker ("王小编") gets an explicit 著 so it is not read as one.
    return name if parse_person(name) == (name, Contributor.Role.AUTHOR) else f"{name} 著"


def csv_rows(book: Book) -> list[list[str]]:
    """The CSV rows of one book: one per location of its copies (one row when it has none).

    Uses the prefetched ``contributors`` and ``copies`` of ``selectors.book_queryset()``.
    """
    by_location: dict[str, list[str]] = {}
    for copy in book.copies.all():
        by_location.setdefault(copy.location, []).append(copy.barcode)
    common = {
        "isbn": format_isbn(book.isbn) if book.isbn else "",  # hyphens keep Excel from turning it into 9.78E+12
        "title": book.title,
        "subtitle": book.subtitle,
        "authors": ";".join(person_cell(c) for c in book.contributors.all()),
        "publisher": book.publisher,
        "year": str(book.year) if book.year else "",
        "edition": book.edition,
        "language": book.language,
        "clc": book.clc,
        "call_number": book.call_number,
        "subjects": ";".join(book.subjects or []),
        "summary": book.summary,
    }
    rows = []
    for location, barcodes in by_location.items() or [("", [])]:
        cells = {**common, "barcodes": ";".join(barcodes), "location": location}
        rows.append([neutralize_cell(cells[column]) for column in CSV_COLUMNS])
    return rows


def marc_record(book: Book) -> Record:
    """One book as a MARC21 record (UTF-8); uses the prefetched ``contributors`` and ``copies``."""
    record = Record(force_utf8=True, leader=MARC_LEADER)
    entered = book.created_at.strftime("%y%m%d") if book.created_at else "000000"
    dates = f"s{book.year:04d}    " if book.year else "nuuuuuuuu"
    language = MARC_LANGUAGE_CODES.get(book.language, "und")
    record.add_field(
        Field(tag="001", data=f"shuyuan-{book.pk}"),
        Field(tag="008", data=f"{entered}{dates}xx {' ' * 11}000 0 {language} d"),
    )
    if book.isbn:
        record.add_field(Field(tag="020", subfields=[Subfield("a", book.isbn)]))
    record.add_field(Field(tag="041", indicators=Indicators("0", " "), subfields=[Subfield("a", language)]))
    if book.clc:
        record.add_field(Field(tag="084", subfields=[Subfield("a", book.clc), Subfield("2", "clc")]))
    if book.call_number:
        record.add_field(Field(tag="099", subfields=[Subfield("a", book.call_number)]))
    contributors = list(book.contributors.all())
    main = contributors[0] if contributors and contributors[0].role == Contributor.Role.AUTHOR else None
    if main is not None:
        record.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", main.name)]))
    title = [Subfield("a", book.title)] + ([Subfield("b", book.subtitle)] if book.subtitle else [])
    record.add_field(Field(tag="245", indicators=Indicators("1" if main else "0", "0"), subfields=title))
    if book.edition:
        record.add_field(Field(tag="250", subfields=[Subfield("a", book.edition)]))
    published = ([Subfield("b", book.publisher)] if book.publisher else []) + (
        [Subfield("c", str(book.year))] if book.year else []
    )
    if published:
        record.add_field(Field(tag="264", indicators=Indicators(" ", "1"), subfields=published))
    if book.summary:
        record.add_field(Field(tag="520", subfields=[Subfield("a", book.summary)]))
    for subject in book.subjects or []:
        record.add_field(Field(tag="650", indicators=Indicators(" ", "4"), subfields=[Subfield("a", subject)]))
    for contributor in contributors[1:] if main is not None else contributors:
        term, code = MARC_RELATORS[contributor.role]
        record.add_field(
            Field(
                tag="700",
                indicators=Indicators("1", " "),
                subfields=[Subfield("a", contributor.name), Subfield("e", term), Subfield("4", code)],
            )
        )
    for copy in book.copies.all():
        record.add_field(Field(tag="852", subfields=[Subfield("b", copy.location), Subfield("p", copy.barcode)]))
    return record


def _resolve_format(format: str) -> str:
    name = (format or "").strip().lower()
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise InvalidInput("format", f"未知导出格式 {format!r}，可用 csv、marc (unknown format)", code="unknown_format")
    return name


def export_catalog(
    *, format: str, stream: BinaryIO, books: Iterable[Book] | None = None, progress: bool = False
) -> int:
    """Write ``books`` (default: the whole catalog, by id) to the binary ``stream``; returns how many.

    ``format`` is "csv" (UTF-8 with BOM, CRLF, cells that a spreadsheet would run as a formula
    prefixed with ``'``) or "marc" (MARC21 ISO 2709 in UTF-8).  Pass ``books`` from
    ``selectors.book_queryset()`` so contributors and copies are prefetched.
    """
    fmt = _resolve_format(format)
    if books is None:
        books = selectors.book_queryset().order_by("id").iterator(chunk_size=500)
        total = Book.objects.count() if progress else None
    else:
        total = None
    count = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if fmt == "csv":
        stream.write("\ufeff".encode())
        writer.writerow(CSV_COLUMNS)
    for book in tqdm(books, total=total, disable=not progress, desc=f"导出 {fmt}", unit="种"):
        if fmt == "csv":
            writer.writerows(csv_rows(book))
        else:
            stream.write(marc_record(book).as_marc())
        if buffer.tell():
            stream.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
        count += 1
    if buffer.tell():
        stream.write(buffer.getvalue().encode("utf-8"))
    return count
