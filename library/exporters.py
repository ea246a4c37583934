"""Export the catalog as CSV (the importer's columns, UTF-8 with BOM for Excel), MARC21 or UNIMARC (ISO 2709,
UTF-8), MARCXML or UNIMARC XML.

What an export writes, ``library.importers`` reads back to the same books, contributors and copies.
Not carried: cover URLs and a copy's shelf, status, acquisition date and note; a name's romanised form in CSV
(its authors cell holds names and roles) and the publisher's romanised form in UNIMARC (which has no place for
it).  A UNIMARC 200 $f is the book's statement of responsibility, else one made of its contributors.
MARC 21 writes a romanised form in its field and the original script in an 880 linked to it (245, 264,
100/700), as the Library of Congress does.

ISO 2709 limits: a field's length has 4 digits in the directory (at most 9,999 bytes) and a record's
5 digits in the leader (at most 99,999 bytes).  A longer summary (520) or subject (650) is written as
several fields of at most 9,999 bytes, cut between characters, each starting with ``$8 N.k\\x`` (MARC 21
field link type x, general sequencing: linking number N, piece k); the importer joins them back exactly.
A record that would still exceed 99,999 bytes gets its summary cut short, ending in
``SUMMARY_TRUNCATED``, and a warning; a record that cannot be made valid is left out with a warning.
No invalid record is ever written.
"""

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pymarc import Field, Indicators, Record, Subfield, record_to_xml
from tqdm import tqdm

from core.errors import InvalidInput
from core.text import neutralize_cell
from core.xlsx import xlsx_bytes
from library import selectors
from library.importers import CONTROL_CHARS_RE, CSV_COLUMNS, MARC_LANGUAGES, parse_person
from library.models import Book, Contributor, ImportRecord, Language
from library.services import Person
from library.validators import format_isbn

FORMATS = ("csv", "marc21", "marcxml", "unimarc", "unimarcxml")
#: "marc" is MARC21 ISO 2709, as before the other formats existed.
FORMAT_ALIASES = {"marc": "marc21", "mrc": "marc21", "usmarc": "marc21", "cnmarc": "unimarc", "cnmarcxml": "unimarcxml",
                  "xml": "marcxml"}
MARCXML_NAMESPACE = "http://www.loc.gov/MARC21/slim"
#: The namespace SRU's UNIMARC XML schema uses (CNMARC XML from the National Library of China uses http://www.nlc.cn/;
#: the importer reads either).
UNIMARCXML_NAMESPACE = "info:srw/schema/8/unimarcxml-v0.1"

ROLE_SUFFIXES = {Contributor.Role.EDITOR: "编", Contributor.Role.TRANSLATOR: "译"}
MARC_LANGUAGE_CODES = {value: code for code, value in reversed(MARC_LANGUAGES.items())} | {Language.OTHER: "und"}
#: UNIMARC relator codes ($4) for each role.
UNIMARC_RELATORS = {Contributor.Role.AUTHOR: "070", Contributor.Role.EDITOR: "340", Contributor.Role.TRANSLATOR: "730"}
# UNIMARC leader: new, language material, monograph, level 1 (hierarchy), full level, ISBD.
UNIMARC_LEADER = "00000nam0 2200000   450 "
MARC_RELATORS = {
    Contributor.Role.AUTHOR: ("author", "aut"),
    Contributor.Role.EDITOR: ("editor", "edt"),
    Contributor.Role.TRANSLATOR: ("translator", "trl"),
}
# leader/05-09 new, language material, monograph, -, UTF-8; 17-19 full level, ISBD punctuation omitted.
MARC_LEADER = "00000nam a2200000 c 4500"
MARC_MAX_FIELD_BYTES = 9_999  # the directory's 4-digit field length
MARC_MAX_RECORD_BYTES = 99_999  # the leader's 5-digit record length
#: Ends a summary shortened to fit a record into 99,999 bytes (in the language of the export: the default,
#: Chinese, for ``manage.py export_catalog``).
SUMMARY_TRUNCATED = gettext_lazy("……〔内容提要过长，导出时已截断〕")


def person_cell(contributor: Contributor) -> str:
    """Return "王泽鉴", "李四 编" or "张三 译": the form ``importers.parse_person`` reads back to the same person."""
    name = contributor.name
    if contributor.role in ROLE_SUFFIXES:
        return f"{name} {ROLE_SUFFIXES[contributor.role]}"
    # A name that happens to end in a marker ("王小编") gets an explicit 著 so it is not read as one.
    return name if parse_person(name) == Person(name) else f"{name} 著"


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
        "title_romanized": book.title_romanized,
        "subtitle_romanized": book.subtitle_romanized,
        "other_titles": ";".join(book.other_titles or []),
        "responsibility": book.responsibility,
        "publisher_romanized": book.publisher_romanized,
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


def _utf8_prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` whose UTF-8 form fits in ``limit`` bytes, cut between characters."""
    return text.encode()[: max(limit, 0)].decode("utf-8", "ignore")


def _marc_text(text: str) -> str:
    """``text`` without control characters: 0x1D-0x1F are ISO 2709's own separators."""
    return CONTROL_CHARS_RE.sub("", text)


def long_fields(tag: str, indicators: Indicators, code: str, text: str, links: Iterator[int]) -> list[Field]:
    """One field holding ``text`` in subfield ``code``; several when it would exceed 9,999 bytes.

    The pieces each start with ``$8 N.k\\x``: N the next number from ``links`` (unique in the record),
    k = 1, 2, … — see the module docstring.
    """
    field = Field(tag=tag, indicators=indicators, subfields=[Subfield(code, text)])
    if len(field.as_marc("utf-8")) <= MARC_MAX_FIELD_BYTES:
        return [field]
    number = next(links)
    fields: list[Field] = []
    rest = text
    while rest:
        link = Subfield("8", f"{number}.{len(fields) + 1}\\x")
        overhead = len(Field(tag=tag, indicators=indicators, subfields=[link, Subfield(code, "")]).as_marc("utf-8"))
        piece = _utf8_prefix(rest, MARC_MAX_FIELD_BYTES - overhead)
        fields.append(Field(tag=tag, indicators=indicators, subfields=[link, Subfield(code, piece)]))
        rest = rest[len(piece) :]
    return fields


def marc_record(book: Book, *, summary: str | None = None) -> Record:
    """One book as a MARC21 record (UTF-8); uses the prefetched ``contributors`` and ``copies``.

    ``summary`` replaces the book's summary (``marc_bytes`` passes a shortened one).  Fields over
    9,999 bytes are split (``long_fields``); the record's total length is not checked here.
    """
    record = Record(force_utf8=True, leader=MARC_LEADER)
    links = itertools.count(1)
    entered = book.created_at.strftime("%y%m%d") if book.created_at else "000000"
    dates = f"s{book.year:04d}    " if book.year else "nuuuuuuuu"
    # A book whose language is not known codes none (blank 008/35-37, no 041), so it reads back as unknown.
    language = MARC_LANGUAGE_CODES.get(book.language, "und") if book.language else "   "
    record.add_field(
        Field(tag="001", data=f"shuyuan-{book.pk}"),
        Field(tag="008", data=f"{entered}{dates}xx {' ' * 11}000 0 {language} d"),
    )
    if book.isbn:
        record.add_field(Field(tag="020", subfields=[Subfield("a", book.isbn)]))
    if book.language:
        record.add_field(Field(tag="041", indicators=Indicators("0", " "), subfields=[Subfield("a", language)]))
    if book.clc:
        record.add_field(Field(tag="084", subfields=[Subfield("a", _marc_text(book.clc)), Subfield("2", "clc")]))
    if book.call_number:
        record.add_field(Field(tag="099", subfields=[Subfield("a", _marc_text(book.call_number))]))
    contributors = list(book.contributors.all())
    main = contributors[0] if contributors and contributors[0].role == Contributor.Role.AUTHOR else None
    # MARC 21 keeps a romanised form in the field and the original script in an 880 linked to it through $6
    # ("880-01" ↔ "245-01"); each pair has its own occurrence number.
    occurrences = (f"{n:02d}" for n in itertools.count(1))
    vernacular: list[Field] = []

    def add(tag: str, indicators: Indicators, original: list[Subfield], romanized: list[Subfield] | None) -> None:
        if not romanized:
            record.add_field(Field(tag=tag, indicators=indicators, subfields=original))
            return
        number = next(occurrences)
        record.add_field(Field(tag=tag, indicators=indicators, subfields=[Subfield("6", f"880-{number}"), *romanized]))
        vernacular.append(Field(tag="880", indicators=indicators, subfields=[Subfield("6", f"{tag}-{number}"),
                                                                           *original]))

    if main is not None:
        add("100", Indicators("1", " "), [Subfield("a", _marc_text(main.name))],
            [Subfield("a", _marc_text(main.name_romanized))] if main.name_romanized else None)
    title = [Subfield("a", _marc_text(book.title))] + (
        [Subfield("b", _marc_text(book.subtitle))] if book.subtitle else []
    ) + ([Subfield("c", _marc_text(book.responsibility))] if book.responsibility else [])
    romanized = [Subfield("a", _marc_text(book.title_romanized))] + (
        [Subfield("b", _marc_text(book.subtitle_romanized))] if book.subtitle_romanized else []
    )
    add("245", Indicators("1" if main else "0", "0"), title, romanized if book.title_romanized else None)
    for other in book.other_titles or []:
        record.add_field(Field(tag="246", indicators=Indicators("3", " "), subfields=[Subfield("a", _marc_text(other))]))
    if book.edition:
        record.add_field(Field(tag="250", subfields=[Subfield("a", _marc_text(book.edition))]))
    if book.publisher:
        add("264", Indicators(" ", "1"),
            [Subfield("b", _marc_text(book.publisher))] + ([Subfield("c", str(book.year))] if book.year else []),
            [Subfield("b", _marc_text(book.publisher_romanized))] + ([Subfield("c", str(book.year))] if book.year else [])
            if book.publisher_romanized else None)
    elif book.year:
        record.add_field(Field(tag="264", indicators=Indicators(" ", "1"), subfields=[Subfield("c", str(book.year))]))
    summary = _marc_text(book.summary if summary is None else summary)
    if summary:
        record.add_field(*long_fields("520", Indicators(" ", " "), "a", summary, links))
    for subject in book.subjects or []:
        record.add_field(*long_fields("650", Indicators(" ", "4"), "a", _marc_text(subject), links))
    for contributor in contributors[1:] if main is not None else contributors:
        term, code = MARC_RELATORS[contributor.role]
        relator = [Subfield("e", term), Subfield("4", code)]
        add("700", Indicators("1", " "), [Subfield("a", _marc_text(contributor.name)), *relator],
            [Subfield("a", _marc_text(contributor.name_romanized)), *relator] if contributor.name_romanized else None)
    for copy in book.copies.all():
        record.add_field(
            Field(
                tag="852",
                subfields=[Subfield("b", _marc_text(copy.location)), Subfield("p", _marc_text(copy.barcode))],
            )
        )
    if vernacular:
        record.add_field(*vernacular)
    return record


def unimarc_record(book: Book, *, summary: str | None = None) -> Record:
    """One book as a UNIMARC record (UTF-8), the fields ``importers`` reads back: 001, 010, 100 (with the
    year and language), 101, 200 $a $e ($A $E romanised) $f, 205, 210 $c $d, 330, 517 (other titles), 606, 690,
    700/701/702 with $4 relator codes 070/340/730 ($A the romanised name), and 905 holdings ($a location, $b barcode, $d $e call number)."""
    record = Record(force_utf8=True, leader=UNIMARC_LEADER)
    links = itertools.count(1)
    entered = book.created_at.strftime("%Y%m%d") if book.created_at else "00000000"
    language = MARC_LANGUAGE_CODES.get(book.language, "und") if book.language else ""
    # 100 $a: entry date, d + year (or "uuuu"), audience, government, modified, cataloguing language, …
    year = f"{book.year:04d}" if book.year else "uuuu"
    general = f"{entered}d{year}    k  y0{(language or 'und'):3}y0150    ba"
    record.add_field(Field(tag="001", data=f"shuyuan-{book.pk}"))
    if book.isbn:
        record.add_field(Field(tag="010", subfields=[Subfield("a", book.isbn)]))
    record.add_field(Field(tag="100", subfields=[Subfield("a", general)]))
    if language:
        record.add_field(Field(tag="101", indicators=Indicators("0", " "), subfields=[Subfield("a", language)]))
    contributors = list(book.contributors.all())
    title = [Subfield("a", _marc_text(book.title))]
    if book.title_romanized:
        title.append(Subfield("A", _marc_text(book.title_romanized)))
    if book.subtitle:
        title.append(Subfield("e", _marc_text(book.subtitle)))
    if book.subtitle_romanized:
        title.append(Subfield("E", _marc_text(book.subtitle_romanized)))
    # The title page's statement of responsibility, else one made of the contributors (what other systems show).
    responsibility = book.responsibility or "; ".join(person_cell(c) for c in contributors)
    if responsibility:
        title.append(Subfield("f", _marc_text(responsibility)))
    record.add_field(Field(tag="200", indicators=Indicators("1", " "), subfields=title))
    if book.edition:
        record.add_field(Field(tag="205", subfields=[Subfield("a", _marc_text(book.edition))]))
    published = ([Subfield("c", _marc_text(book.publisher))] if book.publisher else []) + (
        [Subfield("d", str(book.year))] if book.year else []
    )
    if published:
        record.add_field(Field(tag="210", subfields=published))
    summary = _marc_text(book.summary if summary is None else summary)
    if summary:
        record.add_field(*long_fields("330", Indicators(" ", " "), "a", summary, links))
    for other in book.other_titles or []:
        record.add_field(Field(tag="517", indicators=Indicators("1", " "), subfields=[Subfield("a", _marc_text(other))]))
    for subject in book.subjects or []:
        record.add_field(*long_fields("606", Indicators("0", " "), "a", _marc_text(subject), links))
    if book.clc:
        record.add_field(Field(tag="690", subfields=[Subfield("a", _marc_text(book.clc)), Subfield("v", "5")]))
    for position, contributor in enumerate(contributors):
        if contributor.role == Contributor.Role.AUTHOR:
            tag = "700" if position == 0 else "701"
        else:
            tag = "702"
        romanized = [Subfield("A", _marc_text(contributor.name_romanized))] if contributor.name_romanized else []
        record.add_field(Field(tag=tag, indicators=Indicators(" ", "0"), subfields=[
            Subfield("a", _marc_text(contributor.name)), *romanized, Subfield("4", UNIMARC_RELATORS[contributor.role])]))
    call_number = _marc_text(book.call_number)
    shelf_mark = [Subfield(code, part) for code, part in zip("de", call_number.split("/", 1), strict=False) if part]
    copies = list(book.copies.all())
    for copy in copies:
        record.add_field(Field(tag="905", subfields=[
            Subfield("a", _marc_text(copy.location)), Subfield("b", _marc_text(copy.barcode)), *shelf_mark]))
    if not copies and shelf_mark:
        record.add_field(Field(tag="905", subfields=shelf_mark))
    return record


#: The record builder of each MARC dialect.
RECORD_BUILDERS = {"marc21": marc_record, "unimarc": unimarc_record}


def _marc_length(record: Record) -> tuple[int, int]:
    """(record length, longest field) in bytes, as ``Record.as_marc`` would write them."""
    lengths = [len(f.as_marc("utf-8")) for f in record.fields]
    return 24 + 12 * len(lengths) + 1 + sum(lengths) + 1, max(lengths, default=0)


def _book_name(book: Book) -> str:
    return f"《{book.title}》(id {book.pk})"


def _control_warnings(book: Book) -> list[str]:
    texts = [book.title, book.subtitle, book.publisher, book.edition, book.clc, book.call_number, book.summary]
    texts += [book.title_romanized, book.subtitle_romanized, book.responsibility, book.publisher_romanized,
              *(book.other_titles or [])]
    texts += [*(book.subjects or []), *(c.name for c in book.contributors.all()),
              *(c.name_romanized for c in book.contributors.all())]
    texts += [text for copy in book.copies.all() for text in (copy.barcode, copy.location)]
    if any(CONTROL_CHARS_RE.search(text or "") for text in texts):
        return [_("%(book)s：控制字符未导出") % {"book": _book_name(book)}]
    return []


def marc_xml(book: Book, *, dialect: str = "marc21") -> tuple[bytes, list[str]]:
    """The book as one ``<record>`` element of MARCXML or UNIMARC XML (in the collection's namespace) and
    any warnings.  XML has no length limits: nothing is shortened."""
    return record_to_xml(RECORD_BUILDERS[dialect](book)), _control_warnings(book)


def marc_bytes(book: Book, *, dialect: str = "marc21") -> tuple[bytes | None, list[str]]:
    """The book's ISO 2709 record (MARC21 or UNIMARC) and any warnings; None instead of the record when it
    cannot be valid.

    A record over 99,999 bytes gets its summary shortened (ending in ``SUMMARY_TRUNCATED``) until it fits.
    """
    build = RECORD_BUILDERS[dialect]
    warnings = _control_warnings(book)
    record = build(book)
    length, longest = _marc_length(record)
    if length > MARC_MAX_RECORD_BYTES and book.summary:
        summary = _marc_text(book.summary)
        truncated = str(SUMMARY_TRUNCATED)
        budget = len(summary.encode()) - (length - MARC_MAX_RECORD_BYTES) - len(truncated.encode())
        while True:
            kept = _utf8_prefix(summary, budget)
            record = build(book, summary=kept + truncated)
            length, longest = _marc_length(record)
            if length <= MARC_MAX_RECORD_BYTES or budget <= 0:
                break
            budget -= length - MARC_MAX_RECORD_BYTES
        if length <= MARC_MAX_RECORD_BYTES:
            warnings.append(
                _("%(book)s：MARC 记录超过 %(limit)s 字节，内容提要只导出了前 %(kept)s 字（共 %(total)s 字）")
                % {"book": _book_name(book), "limit": f"{MARC_MAX_RECORD_BYTES:,}", "kept": len(kept),
                   "total": len(summary)}
            )
    if length > MARC_MAX_RECORD_BYTES or longest > MARC_MAX_FIELD_BYTES:
        warnings.append(
            _("%(book)s：MARC 记录超过 %(limit)s 字节，未导出") % {"book": _book_name(book),
                                                              "limit": f"{MARC_MAX_RECORD_BYTES:,}"}
        )
        return None, warnings
    data = record.as_marc()
    if len(data) != length:  # never write a record whose leader and directory would not match its bytes
        warnings.append(_("%(book)s：MARC 记录无法生成，未导出") % {"book": _book_name(book)})
        return None, warnings
    return data, warnings


def _resolve_format(format: str) -> str:
    name = (format or "").strip().lower()
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise InvalidInput("format", _("未知导出格式 %(format)r，可用 csv、marc21（marc）、marcxml、unimarc、unimarcxml")
                           % {"format": format},
                           code="unknown_format")
    return name


def export_catalog(
    *,
    format: str,
    stream: BinaryIO,
    books: Iterable[Book] | None = None,
    progress: bool = False,
    warnings: list[str] | None = None,
) -> int:
    """Write ``books`` (default: the whole catalog, by id) to the binary ``stream``; returns how many.

    ``format`` is "csv" (UTF-8 with BOM, CRLF, cells that a spreadsheet would run as a formula
    prefixed with ``'``), "marc21" (also "marc": MARC21 ISO 2709 in UTF-8), "unimarc" (ISO 2709, UTF-8),
    "marcxml" (MARC21 slim, one ``collection``) or "unimarcxml" (UNIMARC XML, one ``collection``).  Pass ``books`` from
    ``selectors.book_queryset()`` so contributors and copies are prefetched.  ``warnings``, when
    given, receives one line per book whose MARC record had to be shortened or was left out (see the
    module docstring); a left-out book is not counted.
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
    xml = fmt.endswith("xml")
    dialect = "unimarc" if fmt.startswith("unimarc") else "marc21"
    if fmt == "csv":
        stream.write("\ufeff".encode())
        writer.writerow(CSV_COLUMNS)
    elif xml:
        namespace = UNIMARCXML_NAMESPACE if dialect == "unimarc" else MARCXML_NAMESPACE
        stream.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="{namespace}">\n'.encode())
    for book in tqdm(books, total=total, disable=not progress, desc=_("导出 %(format)s") % {"format": fmt}, unit=_("种")):
        if fmt == "csv":
            writer.writerows(csv_rows(book))
        elif xml:
            data, notes = marc_xml(book, dialect=dialect)
            if warnings is not None:
                warnings.extend(notes)
            stream.write(data + b"\n")
        else:
            data, notes = marc_bytes(book, dialect=dialect)
            if warnings is not None:
                warnings.extend(notes)
            if data is None:
                continue
            stream.write(data)
        if buffer.tell():
            stream.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
        count += 1
    if buffer.tell():
        stream.write(buffer.getvalue().encode("utf-8"))
    if xml:
        stream.write(b"</collection>\n")
    return count


# --- an import's report ---------------------------------------------------------------------------------

IMPORT_REPORT_HEADER = [gettext_lazy("序号"), gettext_lazy("行号"), gettext_lazy("记录号"), gettext_lazy("控制号"),
                        "ISBN", gettext_lazy("题名"), gettext_lazy("结果"), gettext_lazy("原因"), gettext_lazy("书目 id"),
                        gettext_lazy("不一致的字段（现有 → 导入）"), gettext_lazy("决定")]
#: Column widths of the XLSX report (characters), in IMPORT_REPORT_HEADER's order.
IMPORT_REPORT_WIDTHS = (6, 6, 8, 20, 16, 36, 14, 60, 9, 48, 14)


def _import_report_rows(records: Iterable[ImportRecord]) -> Iterator[list]:
    """The report's header, then one row per record, in the language active when called (the reasons as
    the import wrote them)."""
    labels = {value: f"{label} ({value})" for value, label in ImportRecord.Outcome.choices}
    decisions = {value: f"{label} ({value})" for value, label in ImportRecord.Decision.choices}
    yield [str(cell) for cell in IMPORT_REPORT_HEADER]
    for record in records:
        differences = "; ".join(f"{c['label']}: {c['current']} → {c['incoming']}" for c in record.conflicts or [])
        yield [record.position, record.line, record.record, record.control_number, record.isbn, record.title,
               labels.get(record.outcome, record.outcome), record.reason, record.book_id, differences,
               decisions.get(record.decision, record.decision)]


def import_report_lines(records: Iterable[ImportRecord]) -> Iterator[str]:
    """An import's report as CSV text for Excel: BOM, CRLF, one line per row or record, every cell
    neutralized against formula injection.  The header and the outcomes are in the language active
    when this is called (the request's; a streaming response reads the lines after the request's
    language is gone, so the header is made now); the reasons as the import wrote them."""
    rows = _import_report_rows(records)
    header = next(rows)
    return _csv_lines(itertools.chain([header], rows))


def _csv_lines(rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralize_cell("" if cell is None else str(cell)) for cell in cells])
        return buffer.getvalue()

    for number, row in enumerate(rows):
        yield ("\ufeff" if number == 0 else "") + line(row)


def import_report_xlsx(records: Iterable[ImportRecord], *, dry_run: bool = False) -> bytes:
    """The same report as an XLSX workbook (``core.xlsx``: numbers as numbers, text neutralized as in the CSV
    and stripped of what XML cannot hold); the header row frozen and filterable, the columns sized for their
    text, and a dry run's sheet named 试导入报告."""
    rows = _import_report_rows(records)
    header = next(rows)
    return xlsx_bytes(header, rows, title=_("试导入报告") if dry_run else _("导入报告"), widths=IMPORT_REPORT_WIDTHS,
                      autofilter=True)
