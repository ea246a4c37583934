"""Import the catalog from CSV (UTF-8 or GB18030) and ISO 2709 MARC (MARC21 or UNIMARC/CNMARC).

Every row or record becomes one book, its contributors and its copies, written in its own
``transaction.atomic()`` through ``library.services``: a bad row is rolled back whole and reported,
the others still import.  Importing the same file again leaves every book unchanged and duplicates none.

Match rules (which existing book a record is; docs/api.md "Import formats and match rules"):

1. The record's control number, when it has one and a book was imported from the same source:
   MARC 003 + 001, stored on the book as ``source_control_number`` "(003)001" (001 alone when the record
   has no 003; CSV rows have none).  It comes before the ISBN: the same record from the same source is
   the same book, also when a librarian made it a separate book (另建新书) beside the one with its ISBN.
2. Else the ISBN, normalised (ISBN-10 and ISBN-13 of one book are one ISBN).
3. Else the record's copies, when every one of its barcodes is already a copy of one and the same book.
4. Else title + subtitle + year + first contributor, each compared as ``library.matching.match_text``
   leaves it (NFKC, case folded, traditional → simplified, letters and digits only: spacing and ISBD
   punctuation do not count).  A book with an ISBN never matches a record with another ISBN this way.
   Two books that differ only in their subtitle are two books.
5. Never the title alone: a record with neither year nor contributor matches nothing by its title; when
   its title is an existing book's, it is a ``conflict`` of kind "duplicate" (可能与《…》(id N) 重复),
   neither merged nor created until a librarian decides.

A decision to keep is remembered: a record that conflicts with a book is ``unchanged`` ("按 <date> <who> 的决定保留
现有") when an earlier import's record with the same source control number (without one: the same parsed values
and people) was decided "keep" against that book and the book has not changed since (its fingerprint).

What a match does (no silent merge): when the book and the record both have a value for a field and
the values differ (the people too), nothing at all is written to the book: the outcome is ``conflict``
with every differing field and both values, and the parsed record is kept so that a librarian's
decision (keep, replace, new: ``library.imports.import_record_decide``) can be applied later.  Filling
the book's empty fields, giving people to a book that has none, or adding copies is ``updated`` (the
reason says which); nothing new is ``unchanged``.  People differ when their names or their order
differ, or a name's role does; a CSV name without a role marker (著、编、译…) states no role and agrees
with the role the book gives that name ("张文显" against a book edited by 张文显 is no conflict).

Other rules worth knowing:

* A MARC field longer than ISO 2709 allows (9,999 bytes) is split by the exporter into repeated fields
  whose ``$8`` is ``N.k\\x`` (MARC 21 field link type x, "general sequencing": pieces of a long field);
  the importer concatenates the ``$a`` of the fields sharing a linking number N, in sequence order k,
  exactly as written (no separator, no trimming between pieces).  Repeated 520 (or 330) fields that are
  not so linked are separate summaries and are joined with a newline.
* MARC text encoding: leader/09 "a" means UTF-8 when the bytes are UTF-8; when they are not, the record is
  read as GB18030 if it decodes cleanly (Chinese systems set the flag over GBK bytes) with a notice saying so,
  and fails with a reason otherwise (UTF-8 with a few broken bytes included).  With it blank, a record that
  is valid UTF-8 is read as UTF-8, one with MARC-8 escape sequences (ESC) as MARC-8 (MARC 21) or GB18030
  (UNIMARC), and any other record with bytes ≥ 0x80 as GB18030 when it decodes cleanly and looks like
  Chinese double-byte text, else as MARC-8 (ANSEL) for MARC 21.  Such a record that none of these decodes
  cleanly (UTF-8 with a few broken bytes included) fails with a reason rather than importing garbage.
* A directory whose lengths or offsets do not end each field at its field terminator (an over-stated 001
  length would swallow the start of the next field into the 001) is read by its field terminators instead,
  with a notice naming the fields, when they give one field per directory entry; otherwise the record
  fails, naming the fields, rather than losing data silently.
* Control characters and line breaks are folded, never a reason to refuse a row or record: a title,
  name, place, code or subject is one line (``core.text.one_line``: each run of line breaks and
  tabs becomes one space, other C0/C1 control characters and DEL are dropped); the summary keeps its
  line breaks and tabs and loses the other C0 control characters and DEL (what the API refuses in
  it).  Folding is not reported: catalogs exported by other systems carry such characters often
  (a title typed across two lines, an ESC left from MARC-8), and the text means the same without them.
* A file that yields no rows or records at all raises ``InvalidInput("file", …)``.
"""

import contextlib
import csv
import hashlib
import io
import json
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from pymarc import Field, Indicators, Record, Subfield, marc8_mapping, marc8_to_unicode
from tqdm import tqdm

from core.errors import DomainError, InvalidInput
from core.text import CONTROL as CONTROL_CHARS_RE
from core.text import one_line, restore_cell
from library import marcxml, services
from library.callnumbers import normalize_call_number
from library.matching import match_text
from library.models import Book, Contributor, Copy, ImportRecord, Language
from library.services import BOOK_FIELDS, Person
from library.validators import isbn_token, normalize_barcode, normalize_clc, normalize_isbn

#: What ``format`` may name: a container and a dialect (csv; ISO 2709 MARC21 or UNIMARC; MARCXML or UNIMARC
#: XML), or only a container with the dialect judged from the tags ("marc": ISO 2709, "xml": any MARC XML).
FORMATS = ("csv", "marc21", "unimarc", "marcxml", "unimarcxml", "marc", "xml")
#: What a file turns out to be once read (``ParsedFile.format``).
READ_FORMATS = ("csv", "marc21", "unimarc", "marcxml", "unimarcxml")
# Other spellings accepted for ``format``.
FORMAT_ALIASES = {
    "usmarc": "marc21", "marc-21": "marc21", "cnmarc": "unimarc", "iso2709": "marc",
    "marc21xml": "marcxml", "marc21-xml": "marcxml", "marcxml21": "marcxml", "slim": "marcxml",
    "cnmarcxml": "unimarcxml", "cnmarc-xml": "unimarcxml", "unimarc-xml": "unimarcxml",
}
#: The dialect a format forces (None: judged from the tags).
FORMAT_DIALECTS = {"marc21": "marc21", "marcxml": "marc21", "unimarc": "unimarc", "unimarcxml": "unimarc"}
DEFAULT_LOCATION = Copy._meta.get_field("location").default

#: Columns added after the first files were written: last, so that those files keep their column positions.
LATER_CSV_COLUMNS = ("title_romanized", "subtitle_romanized", "other_titles", "responsibility", "publisher_romanized")
# The book's own fields in their catalog order, with its people after the subtitle and its copies last.
CSV_COLUMNS = (
    *BOOK_FIELDS[:3],
    "authors",
    *(f for f in BOOK_FIELDS[3:] if f != "cover_url" and f not in LATER_CSV_COLUMNS),
    "barcodes",
    "location",
    *LATER_CSV_COLUMNS,
)
# Chinese headers a librarian may type instead of the English ones.
CSV_HEADER_ALIASES = {
    "题名": "title",
    "书名": "title",
    "副题名": "subtitle",
    "副书名": "subtitle",
    "责任者": "authors",
    "作者": "authors",
    "著者": "authors",
    "出版者": "publisher",
    "出版社": "publisher",
    "出版年": "year",
    "出版年份": "year",
    "版次": "edition",
    "语种": "language",
    "中图法分类号": "clc",
    "分类号": "clc",
    "索书号": "call_number",
    "主题词": "subjects",
    "内容提要": "summary",
    "摘要": "summary",
    "条码": "barcodes",
    "条码号": "barcodes",
    "馆藏地": "location",
    "其他题名": "other_titles",
    "并列题名": "other_titles",
    "责任说明": "responsibility",
}
LIST_SEPARATOR_RE = re.compile(r"\s*[;；]\s*")

NO_RECORDS = gettext_lazy("没有可导入的记录")

# --- people and their roles ----------------------------------------------------

AUTHOR, EDITOR, TRANSLATOR = Contributor.Role.AUTHOR, Contributor.Role.EDITOR, Contributor.Role.TRANSLATOR

#: Chinese responsibility words written after a name ("王泽鉴 著", "李四 主编", "张三 译").
ROLE_MARKERS = {
    "著": AUTHOR,
    "撰": AUTHOR,
    "著作": AUTHOR,
    "合著": AUTHOR,
    "原著": AUTHOR,
    "编著": AUTHOR,
    "编": EDITOR,
    "主编": EDITOR,
    "副主编": EDITOR,
    "合编": EDITOR,
    "编辑": EDITOR,
    "选编": EDITOR,
    "编选": EDITOR,
    "汇编": EDITOR,
    "译": TRANSLATOR,
    "翻译": TRANSLATOR,
    "合译": TRANSLATOR,
    "编译": TRANSLATOR,
    "译注": TRANSLATOR,
    "编撰": AUTHOR,
    "校注": EDITOR,
    "校订": EDITOR,
    "整理": EDITOR,
    "点校": EDITOR,
    "校点": EDITOR,
    # Traditional script, as Taiwanese and Hong Kong records write them.
    "編著": AUTHOR,
    "編撰": AUTHOR,
    "編": EDITOR,
    "主編": EDITOR,
    "副主編": EDITOR,
    "合編": EDITOR,
    "編輯": EDITOR,
    "選編": EDITOR,
    "編選": EDITOR,
    "彙編": EDITOR,
    "匯編": EDITOR,
    "校註": EDITOR,
    "校訂": EDITOR,
    "點校": EDITOR,
    "校點": EDITOR,
    "譯": TRANSLATOR,
    "翻譯": TRANSLATOR,
    "合譯": TRANSLATOR,
    "編譯": TRANSLATOR,
    "譯注": TRANSLATOR,
    "譯註": TRANSLATOR,
}
#: English ones; these need a space, comma or bracket before them ("Posner, Richard A., editor").
LATIN_ROLE_MARKERS = {
    "author": AUTHOR,
    "editor": EDITOR,
    "editors": EDITOR,
    "ed.": EDITOR,
    "eds.": EDITOR,
    "translator": TRANSLATOR,
    "trans.": TRANSLATOR,
    "tr.": TRANSLATOR,
}
_MARKER_ALTERNATIVES = "|".join(
    re.escape(m) for m in sorted([*ROLE_MARKERS, *LATIN_ROLE_MARKERS], key=len, reverse=True)
)
_PERSON_RE = re.compile(
    rf"^(?P<name>.+?)(?P<sep>\s*[(（\[［]\s*|\s*,\s*|\s+)?(?P<marker>{_MARKER_ALTERNATIVES})\s*[)）\]］]?$",
    re.IGNORECASE,
)

#: MARC relator codes and terms (MARC21 $4/$e, UNIMARC $4 codes 070/340/730, CNMARC's Chinese $4).
RELATORS = {
    "aut": AUTHOR,
    "author": AUTHOR,
    "070": AUTHOR,
    "edt": EDITOR,
    "editor": EDITOR,
    "ed": EDITOR,
    "eds": EDITOR,
    "com": EDITOR,
    "compiler": EDITOR,
    "340": EDITOR,
    "trl": TRANSLATOR,
    "translator": TRANSLATOR,
    "tr": TRANSLATOR,
    "trans": TRANSLATOR,
    "730": TRANSLATOR,
    **ROLE_MARKERS,
}


def parse_person(text: str) -> Person:
    """``"王泽鉴 著"`` → Person("王泽鉴", author); ``"张三译"`` → translator; ``"李四（主编）"`` → editor.

    A one-character marker glued to the name counts only when at least two characters of name
    remain, so a name such as "李译" is left alone.  A trailing 等 ("张三等著") is dropped.
    """
    text = text.strip()
    match = _PERSON_RE.match(text)
    if match:
        name, sep, marker = match["name"].strip(), match["sep"], match["marker"].lower()
        latin = marker in LATIN_ROLE_MARKERS
        if name and (sep or (not latin and (len(marker) > 1 or len(name) >= 2))):
            name = re.sub(r"\s*等$", "", name).rstrip(" ,，") or name
            return Person(name, LATIN_ROLE_MARKERS[marker] if latin else ROLE_MARKERS[marker])
    return Person(text)


def parse_responsibility(text: str) -> list[Person]:
    """Split a statement of responsibility ("张三, 李四主编 ; 王五译") into people.

    A marker at the end of a group applies to every name of the group that carries none itself.
    """
    people = []
    for group in re.split(r"\s*[;；]\s*", text):
        group = re.sub(r"^(?:by|edited by)\s+", "", group.strip(), flags=re.IGNORECASE)
        names = [n.strip() for n in re.split(r"\s*[,，、]\s*|\s+and\s+", group) if n.strip()]
        if not names:
            continue
        last = parse_person(names[-1])
        group_role = AUTHOR if last == Person(names[-1]) else last.role
        for name in names[:-1]:
            person = parse_person(name)
            people.append(person if person != Person(name) else Person(name, group_role))
        people.append(last)
    return [p for p in people if p.name]


# --- values --------------------------------------------------------------------

#: ISO 639-2 codes used by MARC 008/041 and UNIMARC 101, bibliographic and terminology forms.
MARC_LANGUAGES = {
    "chi": "zh",
    "zho": "zh",
    "mon": "mn",
    "eng": "en",
    "rus": "ru",
    "jpn": "ja",
    "ger": "de",
    "deu": "de",
    "fre": "fr",
    "fra": "fr",
}
_LANGUAGE_WORDS = {
    **MARC_LANGUAGES,
    **{value: value for value in Language.values},
    # Language's labels, spelled out: str() on a lazy label at import time needs the app registry.
    "中文": "zh",
    "蒙古文": "mn",
    "英文": "en",
    "俄文": "ru",
    "日文": "ja",
    "德文": "de",
    "法文": "fr",
    "其他": "other",
    "chinese": "zh",
    "汉语": "zh",
    "中": "zh",
    "mongolian": "mn",
    "蒙文": "mn",
    "蒙古语": "mn",
    "english": "en",
    "英语": "en",
    "russian": "ru",
    "俄语": "ru",
    "japanese": "ja",
    "日语": "ja",
    "german": "de",
    "德语": "de",
    "french": "fr",
    "法语": "fr",
}
YEAR_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# Excel shows a 13-digit ISBN as 9.78730E+12 and saves it that way: the digits are gone.
EXCEL_NUMBER_RE = re.compile(r"^\d(?:\.\d+)?E\+\d+$", re.IGNORECASE)


def extract_year(text: str) -> int | None:
    """The first four-digit year in "2020.5", "c2019", "[2018]"…; None when there is none."""
    match = YEAR_RE.search(text or "")
    return int(match[1]) if match else None


def marc_language(code: str) -> str | None:
    """MARC language code → Language value; blank or fill characters → None, other codes → "other"."""
    code = (code or "").strip().lower()[:3]
    if not code or not code.isalpha():
        return None
    return MARC_LANGUAGES.get(code, Language.OTHER)


# --- the summary ---------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did.

    ``created``, ``updated``, ``unchanged`` (already up to date), ``conflicts`` (matched a book and
    disagreed with it, or may duplicate one: nothing written, a librarian decides) and ``failed`` count
    rows (CSV) or records (MARC).  ``errors`` lists every failed row, in file order, as
    ``{"line": int | None, "record": int | None, "reason": str}``: CSV sets ``line`` (the physical
    line in the file, the header being line 1) and MARC sets ``record`` (1-based); the other key is
    None.  A notice that fails no row (unknown CSV columns, which are ignored) is listed the same way,
    on the header's line, without counting in ``failed``.  ``outcomes`` holds every row's ``Outcome``.
    """

    format: str
    where: str = "line"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)
    outcomes: list["Outcome"] = field(default_factory=list, repr=False)

    def count(self, outcome: "Outcome") -> None:
        name = COUNTS[outcome.outcome]
        setattr(self, name, getattr(self, name) + 1)
        self.outcomes.append(outcome)
        if outcome.outcome == "failed" or outcome.notice:
            self.errors.append({"line": None, "record": None, self.where: outcome.number,
                                "reason": outcome.reason if outcome.outcome == "failed" else outcome.notice})

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "errors": self.errors,
        }


#: Outcome → the count it adds to (ImportSummary's and CatalogImport's).
COUNTS = {"created": "created", "updated": "updated", "unchanged": "unchanged", "conflict": "conflicts",
          "failed": "failed"}


def error_text(error: dict) -> str:
    """One error of ``ImportSummary.errors`` as a line for a terminal."""
    if error.get("record") is not None:
        return _("第 %(n)s 条记录：%(reason)s") % {"n": error["record"], "reason": error["reason"]}
    return _("第 %(n)s 行：%(reason)s") % {"n": error["line"], "reason": error["reason"]}


# --- one book as read from the file --------------------------------------------


@dataclass
class Entry:
    """A book as a row or record describes it, before it touches the database.

    ``values`` holds only the book fields the source gives (empty ones are left out, so an import
    fills in and corrects a book but never blanks a field); ``holdings`` are (barcode, location or
    None) pairs.  ``control_number`` is a MARC record's 001, for reports.  ``notices`` are problems of the
    record that fail nothing (pymarc's warnings: bad indicators, subfield codes), for the report.
    ``create_defaults`` are values a new book takes when ``values`` lacks them, never written over a
    stored book (``{"language": ""}``: a MARC record without 008/041 or 100/101 has no language, rather
    than the model's default, Chinese).
    """

    values: dict[str, Any]
    people: list[Person]
    holdings: list[tuple[str, str | None]]
    control_number: str = ""
    control_source: str = ""  # MARC 003: whose control number it is
    notices: list[str] = field(default_factory=list)
    create_defaults: dict[str, Any] = field(default_factory=dict)
    #: Names whose role the source does not state (a CSV name without 著/编/译): read as author for a new book,
    #: and agreeing with whatever role a stored book gives the same name.
    unstated_roles: frozenset[str] = frozenset()


#: Book fields kept with their line breaks; every other text an import takes is one line.
MULTI_LINE = ("summary",)


def _folded(entry: "Entry") -> "Entry":
    """``entry`` with its text folded as the module docstring says (nothing is refused for it)."""

    def fold(name: str, value):
        if isinstance(value, list):
            return [fold(name, item) for item in value]
        if not isinstance(value, str):
            return value
        return CONTROL_CHARS_RE.sub("", value) if name in MULTI_LINE else one_line(value)

    return Entry(
        values={name: fold(name, value) for name, value in entry.values.items()},
        people=[Person(one_line(person.name), person.role, one_line(person.name_romanized)) for person in entry.people],
        holdings=[(one_line(barcode), location and one_line(location)) for barcode, location in entry.holdings],
        control_number=entry.control_number,
        control_source=entry.control_source,
        notices=entry.notices,
        create_defaults=entry.create_defaults,
        unstated_roles=frozenset(one_line(name) for name in entry.unstated_roles),
    )


def _split_list(text: str) -> list[str]:
    return [item for item in LIST_SEPARATOR_RE.split(text.strip()) if item]


def _csv_entry(cells: dict[str, str]) -> Entry:
    values: dict[str, Any] = {}
    for name in ("isbn", "title", "subtitle", "publisher", "edition", "clc", "call_number", "summary", "title_romanized",
                 "subtitle_romanized", "responsibility", "publisher_romanized"):
        if cells.get(name):
            values[name] = cells[name]
    if cells.get("other_titles"):
        values["other_titles"] = _split_list(cells["other_titles"])
    if EXCEL_NUMBER_RE.match(values.get("isbn", "")):
        raise ValidationError(
            _("ISBN 被 Excel 写成了科学计数法，原号码已丢失；请把 ISBN 列设为“文本”后重新录入：%(value)s"),
            params={"value": values["isbn"]},
        )
    if cells.get("year"):
        year = extract_year(cells["year"])
        if year is None:
            raise ValidationError(_("出版年无法识别（没有四位数的年份）：%(value)s"), params={"value": cells["year"]})
        values["year"] = year
    if cells.get("language"):
        language = _LANGUAGE_WORDS.get(cells["language"].strip().lower())
        if language is None:
            raise ValidationError(
                _("未知语种 %(value)s；可用 zh、mn、en、ru、ja、de、fr、other 或 中文、英文…"),
                params={"value": cells["language"]},
            )
        values["language"] = language
    if cells.get("subjects"):
        values["subjects"] = _split_list(cells["subjects"])
    names = _split_list(cells.get("authors", ""))
    people = [parse_person(item) for item in names]
    # "张文显" says who, not in what role: a book that has him as its editor agrees with the row.
    unstated = frozenset(person.name for person, item in zip(people, names, strict=True) if person.name == item.strip())
    location = cells.get("location") or None
    holdings = [(barcode, location) for barcode in _split_list(cells.get("barcodes", ""))]
    return Entry(values=values, people=people, holdings=holdings, unstated_roles=unstated)


def _trim(text: str | None, *, form: str, period: bool = False) -> str:
    """Strip whitespace and the ISBD punctuation that ends a subfield, as leader/18 (``form``) says.

    "c" (punctuation omitted, as the exporter writes) keeps the text as it is.  Any other form drops a
    final " /", " :", " ;", " =" or "," (also the Arabic "،" "؛" and the full-width "，" "；" "：" of an 880 in the
    original script): records marked blank ("non-ISBD") often carry them anyway.
    "a" and "i" (AACR2, ISBD) also drop a final period where ``period`` asks for it (titles, subjects).
    """
    text = (text or "").strip()
    if form != "c":
        text = re.sub(r"\s*[/:;=,،؛，；：]$", "", text).strip()
        if period and form in "ai":
            text = _without_final_period(text)
    return text


def _without_final_period(text: str) -> str:
    """``text`` without a final period that ends a word of two letters or more ("Yokoi, Kiyoshi." → "Yokoi,
    Kiyoshi"), an initial's kept ("Posner, Richard A.").  Combining marks (MARC-8's decomposed "ī") are part
    of their letter."""
    if not text.endswith("."):
        return text
    letters = "".join(c for c in text[:-1] if not unicodedata.combining(c))
    return text[:-1] if re.search(r"\w\w$", letters) else text


def _first(record: Record, tags: tuple[str, ...], code: str) -> str:
    for f in record.get_fields(*tags):
        value = f.get(code)
        if value and value.strip():
            return value
    return ""


#: $8 of a piece of a field split for length: "linking number.sequence number\\x" (field link type x).
SEQUENCE_LINK_RE = re.compile(r"^\s*(\d+)\.(\d+)\\x\s*$")


def _joined(fields: list[Field], code: str) -> list[str]:
    """The ``code`` subfield of each field, the pieces of a field split for length joined back.

    Fields whose $8 is ``N.k\\x`` with the same linking number N are one text, concatenated exactly (no
    separator, no trimming) in order of k, at the place of the first piece; other fields stand alone.
    """
    texts: list[str | list[tuple[int, str]]] = []
    groups: dict[str, list[tuple[int, str]]] = {}
    for f in fields:
        text = f.get(code) or ""
        link = next(filter(None, map(SEQUENCE_LINK_RE.match, f.get_subfields("8"))), None)
        if link is None:
            texts.append(text)
            continue
        if link[1] not in groups:
            groups[link[1]] = []
            texts.append(groups[link[1]])
        groups[link[1]].append((int(link[2]), text))
    return [t if isinstance(t, str) else "".join(piece for _position, piece in sorted(t, key=lambda p: p[0])) for t in texts]


def _relator(f: Field, default: str | None) -> str | None:
    for value in [*f.get_subfields("4"), *f.get_subfields("e")]:
        role = RELATORS.get(value.strip().strip(".,").lower())
        if role:
            return role
    return default


def _plausible_year(year: int | None) -> int | None:
    """``year`` when a book can have it (as ``models.validate_year``): placeholders (0001, 9999) are none."""
    return year if year is not None and 1000 <= year <= date.today().year + 1 else None


def _coded_year(text: str) -> int | None:
    """The year of a coded date (MARC21 008/07-10, UNIMARC 100 $a/09-12); "uuuu", "0000", "9999" are none."""
    # isascii: "²²²²" is digits to str.isdigit() and not to int() (the thirteenth attack failed a whole import).
    return _plausible_year(int(text)) if len(text) == 4 and text.isascii() and text.isdigit() else None


def _record_year(coded: str, transcribed: list[str]) -> int | None:
    """The coded year when it is a real one, else the first plausible year in the transcribed dates.

    The coded date (008, 100) is in the Gregorian calendar by definition; 260/264 $c and 210 $d copy the
    title page, which may count in another era ("民國89年", 昭和, the Buddhist era, Hijri) or hold a
    placeholder ("[19--]", "0001-", "9999"): such a date is never a reason to lose the record.
    """
    year = _coded_year(coded)
    if year is not None:
        return year
    for text in transcribed:
        year = _plausible_year(extract_year(text))
        if year is not None:
            return year
    return None


def _isbn_token(text: str) -> str:
    """The ISBN of "9787301048153 (pbk.)" or "7-301-04815-7 : CNY45.00" (``validators.isbn_token``); a field
    that does not begin with one is kept whole, so the record's report says what it held."""
    return isbn_token(text) or text.strip()


def _control_number(record: Record) -> str:
    field = record.get("001")
    return one_line(field.data or "")[:64] if field is not None and field.data else ""


def _control_source(record: Record) -> str:
    field = record.get("003")
    return one_line(field.data or "")[:32] if field is not None and field.data else ""
#: Non-sorting marks: NSB/NSE (U+0088/U+0089, UNIMARC, ISO 6630), U+0098/U+009C (MARC 21), and their 7-bit
#: ISO 6429 forms ESC H / ESC I.  The words between them stay ("\x88The \x89Title" → "The Title").
NON_SORTING_RE = re.compile(r"\x1b[HI]|[\x88\x89\x98\x9c]")
#: DEL and C1 control characters but NEL (a line break, folded like the others); C0 ones are folded later (``_folded``).
_C1_RE = re.compile(r"[\x7f-\x84\x86-\x9f]")


#: MARC 21's lossless form of a character MARC-8 cannot hold: "&#x8ECA;" (the last ";" sometimes lost).
_NCR_RE = re.compile(r"&#x([0-9A-Fa-f]{2,6})(?:;|$)")


def _character(match: re.Match) -> str:
    code = int(match[1], 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match[0]


def _clean_text(value):
    if isinstance(value, list):
        return [_clean_text(item) for item in value]
    if isinstance(value, str):
        return _C1_RE.sub("", NON_SORTING_RE.sub("", _NCR_RE.sub(_character, value)))
    return value


def _marc_entry(record: Record, values: dict[str, Any], people: list[Person],
                holdings: list[tuple[str, str | None]]) -> Entry:
    """The Entry of a MARC record: non-sorting marks and control characters gone, empty values left out,
    each person once, and no language at all (rather than Chinese) when the record codes none."""
    values = {k: _clean_text(v) for k, v in values.items()}
    if values.get("other_titles"):
        # Each other title once, and none that only repeats the title.
        own = {values.get("title"), values.get("title_romanized")}
        values["other_titles"] = [t for t in dict.fromkeys(t.strip() for t in values["other_titles"]) if t not in own]
    values = {k: v for k, v in values.items() if v not in ("", None, [])}
    unique: list[Person] = []
    for person in people:
        person = Person(_clean_text(person.name).strip(), person.role, _clean_text(person.name_romanized).strip())
        if person.name and person not in unique:
            unique.append(person)
    return Entry(values=values, people=unique, holdings=[(_clean_text(code), place and _clean_text(place)) for code, place in holdings],
                 control_number=_control_number(record), control_source=_control_source(record),
                 create_defaults={} if values.get("language") else {"language": ""})


def _marc_name(text: str, role: str | None, *, form: str = "c") -> Person:
    """A person of a MARC name field: ISBD punctuation and a final period after a word trimmed, a role word
    written apart after the name ("許家馨 譯", "王五（主编）") taken as the role unless a relator code gave one.
    A marker glued to the name ("王小编") is part of the name here: a name field holds a name."""
    name = _trim(text, form=form)
    if form != "c":
        name = _without_final_period(name)
    match = _PERSON_RE.match(name)
    if match and match["sep"] and match["name"].strip():
        person = parse_person(name)
        return Person(person.name, role or person.role)
    return Person(name, role or AUTHOR)


#: 880 linkage ($6 "245-01/$1"): the tag it stands beside and the occurrence number.
_LINKAGE_RE = re.compile(r"^\s*(\d{3})-(\d{2})")


def _vernacular(record: Record) -> dict[str, list[Field]]:
    """880 fields by the tag they give in the original script (from $6), in record order."""
    found: dict[str, list[Field]] = {}
    for f in record.get_fields("880"):
        match = _LINKAGE_RE.match(f.get("6") or "")
        if match:
            found.setdefault(match[1], []).append(f)
    return found


def _occurrence(f: Field) -> str:
    """The occurrence number of a field's $6 linkage ("880-04" → "04"); "" without one, "00" when unlinked."""
    match = _LINKAGE_RE.match(f.get("6") or "")
    return match[2] if match else ""


def _linked(vernacular: dict[str, list[Field]], f: Field) -> Field | None:
    """The 880 that gives ``f`` in the original script: ``f``'s $6 "880-04" and the 880's $6 "700-04"."""
    number = _occurrence(f)
    if not number or number == "00" or not (f.get("6") or "").lstrip().startswith("880"):
        return None
    return next((v for v in vernacular.get(f.tag, []) if _occurrence(v) == number), None)


def _unlinked(vernacular: dict[str, list[Field]], *tags: str) -> list[Field]:
    """880 fields of ``tags`` that stand beside no romanised field (occurrence number 00), in record order."""
    return [v for tag in tags for v in vernacular.get(tag, []) if _occurrence(v) == "00"]


#: Letters of scripts written without spaces between words: Han (with 々〆〇 and the radicals), kana (with ー and
#: ・), and CJK and full-width punctuation.  Hangul is not among them: Korean separates its words with spaces.
_CJK = ("\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
        "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\uff66-\uff9f\U00020000-\U0003ffff")
_CJK_SPACE_RE = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")


def cjk_unspaced(text: str) -> str:
    """``text`` without the spaces the Library of Congress puts between Chinese and Japanese words in 880 fields
    ("日本 の 茶書" → "日本の茶書", "林屋 辰三郎" → "林屋辰三郎"): a space between two Han, kana or CJK punctuation
    characters goes; a space next to anything else (a Latin word, a digit, Hangul) stays."""
    return _CJK_SPACE_RE.sub("", text or "")


def _as_vernacular(text: str, *, form: str) -> str:
    """An 880's text as stored: ``cjk_unspaced`` unless the record says it keeps its text as written (leader/18
    "c", ISBD punctuation omitted: this catalogue's own exports, whose 880 holds the title exactly)."""
    return text if form == "c" else cjk_unspaced(text)


def _both(original: str, romanized: str) -> str:
    """An original-script and a romanised text as one (the ISBD parallel form), or whichever exists."""
    if original and romanized and original != romanized:
        return f"{original} = {romanized}"
    return original or romanized


def _apart(original: str, romanized: str) -> tuple[str, str]:
    """(text, romanised form) of a value given in both scripts: the original script first; the romanised form
    only when there is an original and it differs from it."""
    if original and original != romanized:
        return original, romanized
    return romanized, ""


#: The most names a contributor may have (``Contributor.name``).
NAME_MAX = Contributor._meta.get_field("name").max_length


def _heading(f: Field, *, form: str, corporate: bool) -> str:
    """The name of a MARC 21 100/700 ($a) or 110/710 ($a and its subordinate units $b) field, as written."""
    if not corporate:
        return f.get("a") or ""
    parts = [_trim(part, form=form) for part in f.get_subfields("a", "b")]
    name = " ".join(part for part in parts if part)
    if len(name) > NAME_MAX:
        name = parts[0] if parts else ""  # the body without its subdivisions rather than no name at all
    return name


def _marc21_people(record: Record, vernacular: dict[str, list[Field]], *, form: str) -> list[Person]:
    """The people and bodies of 100, 110, 700 and 710 in record order, each in its original script (the 880
    linked through $6) first and its romanised form beside it; an 880 of a name without a romanised field too.
    A 700/710 with $t is a name-title entry (a work contained or related), not a contributor.  A body whose name
    is too long for a contributor even without its subdivisions is left out."""
    people = []
    for f in [*record.get_fields("100", "110", "700", "710"), *_unlinked(vernacular, "100", "110", "700", "710")]:
        if not f.get("a") or f.get("t"):
            continue
        corporate = f.tag in ("110", "710") or f.tag == "880" and (f.get("6") or "").lstrip()[:3] in ("110", "710")
        linked = _linked(vernacular, f) if f.tag != "880" else None
        relator = _relator(f, None) or (linked is not None and _relator(linked, None)) or None
        romanized = _marc_name(_heading(f, form=form, corporate=corporate), relator, form=form)
        if linked is not None and linked.get("a"):
            original = _marc_name(_as_vernacular(_heading(linked, form=form, corporate=corporate), form=form), relator,
                                  form=form)
            # A role word written after the name in either script ("刘宁 译", "Liu, Ning, translator").
            role = original.role if original.role != AUTHOR else romanized.role
            person = Person(original.name, role,
                            romanized.name if romanized.name != original.name and len(romanized.name) <= NAME_MAX
                            else "")
        else:
            person = romanized if f.tag != "880" else Person(_as_vernacular(romanized.name, form=form), romanized.role)
        if person.name and (not corporate or len(person.name) <= NAME_MAX):
            people.append(person)
    return people


def _title_text(f: Field, *, form: str) -> str:
    """A title field's title ($a) with its other title information or parallel title ($b), as ISBD joins them."""
    title = (f.get("a") or "").strip()
    rest = _trim(f.get("b"), form=form, period=True)
    text = _trim(title, form=form, period=not rest)
    if rest:
        text = re.sub(r"\s*[/:;=,]$", "", text)
        text = f"{text} {'=' if title.endswith('=') else ':'} {rest}"
    return text


def _marc21_other_titles(record: Record, vernacular: dict[str, list[Field]], *, form: str) -> list[str]:
    """Varying forms of the title (246: parallel titles, cover titles …), each in its original script (the linked
    880, or an 880 246 standing alone) before its romanised form."""
    titles = []
    for f in [*record.get_fields("246"), *_unlinked(vernacular, "246")]:
        linked = _linked(vernacular, f) if f.tag != "880" else f
        if linked is not None:
            titles.append(_as_vernacular(_title_text(linked, form=form), form=form))
        if f.tag != "880":
            titles.append(_title_text(f, form=form))
    return titles


def _marc21_entry(record: Record) -> Entry:
    form = str(record.leader)[18:19] or " "
    values: dict[str, Any] = {}
    vernacular = _vernacular(record)

    def original(tag: str, code: str, *, period: bool = False) -> str:
        # Without the spaces LC puts between Chinese and Japanese words (``_as_vernacular``).
        return _as_vernacular(next((_trim(f.get(code), form=form, period=period) for f in vernacular.get(tag, [])
                                    if f.get(code)), ""), form=form)

    isbn = _first(record, ("020",), "a")
    if isbn:
        values["isbn"] = _isbn_token(isbn)
    f245 = record.get("245")
    if f245 is not None:
        title = _trim(f245.get("a"), form=form, period=True)
        subtitle = _trim(f245.get("b"), form=form, period=True)
        original_title, original_subtitle = original("245", "a", period=True), original("245", "b", period=True)
        if original_title and original_title != title:
            # The original script is the title; the romanised 245 is kept beside it.
            values["title"], values["title_romanized"] = original_title, title
            values["subtitle"], values["subtitle_romanized"] = original_subtitle, subtitle
        else:
            values["title"], values["subtitle"] = title, subtitle
        values["responsibility"] = original("245", "c", period=True) or _trim(f245.get("c"), form=form, period=True)
    values["other_titles"] = _marc21_other_titles(record, vernacular, form=form)
    values["edition"] = _both(original("250", "a"), _trim(_first(record, ("250",), "a"), form=form))
    published = [f for f in record.get_fields("264") if f.indicator2 == "1"] + record.get_fields("260", "264")
    publisher = next((_trim(f.get("b"), form=form) for f in published if f.get("b")), "")
    # The original script is the publisher ("平凡社"), its romanised form ("Heibonsha") kept beside it.
    values["publisher"], values["publisher_romanized"] = _apart(original("264", "b") or original("260", "b"),
                                                                publisher)
    f008 = record.get("008")
    control = f008.data if f008 is not None and f008.data else ""
    dates = [control[7:11]]
    if control[6:7] == "r" and _coded_year(control[11:15]) and (_coded_year(control[7:11]) or 0) < _coded_year(
            control[11:15]):
        # A reprint codes the reprint's year first; some records have the two the wrong way round.
        dates = [control[11:15]]
    values["year"] = _record_year(dates[0], [f.get("c") for f in published if f.get("c")])
    values["language"] = marc_language(_first(record, ("041",), "a")) or marc_language(control[35:38])
    for f in record.get_fields("084"):
        if f.get("a") and any(s.strip().lower().startswith("clc") for s in f.get_subfields("2")):
            values["clc"] = f["a"].strip()
            break
    else:
        values["clc"] = _first(record, ("093",), "a").strip()
    call_number = _first(record, ("099",), "a").strip()
    if not call_number and record.get("090") is not None:
        call_number = "/".join(p.strip() for p in record["090"].get_subfields("a", "b") if p.strip())
    values["call_number"] = call_number
    subjects = [_trim(text, form=form, period=True) for text in _joined(record.get_fields("650"), "a") if text]
    subjects += [_trim(f.get("a"), form=form, period=True) for f in vernacular.get("650", []) if f.get("a")]
    values["subjects"] = list(dict.fromkeys(s for s in subjects if s))
    # Separate 520 fields are separate summaries, one per line; pieces of one long summary join exactly.
    values["summary"] = "\n".join(text.strip() for text in _joined(record.get_fields("520"), "a") if text.strip())
    people = _marc21_people(record, vernacular, form=form)
    if not people and values.get("responsibility"):
        people = parse_responsibility(values["responsibility"])
    holdings = []
    for f in record.get_fields("852", "952"):
        location = (f.get("b") or f.get("a") or "").strip() or None
        holdings += [(barcode, location) for barcode in f.get_subfields("p") if barcode.strip()]
    return _marc_entry(record, values, people, holdings)


def _unimarc_name(f: Field) -> str:
    """A UNIMARC 70X name: "$a, $b" with $d (numerals) and $c (additions), never a doubled comma; a 71X body:
    "$a. $b" (the body and its subdivisions)."""
    if f.tag.startswith("71"):
        parts = [part.strip().rstrip(".").strip() for part in f.get_subfields("a", "b")]
        name = ". ".join(part for part in parts if part)
        return name if len(name) <= NAME_MAX else parts[0] if parts else ""
    entry = (f.get("a") or "").strip()
    rest = (f.get("b") or "").strip().strip(",，").strip()
    if rest:
        entry = entry.rstrip(",，").strip()
    name = f"{entry}, {rest}" if entry and rest else entry
    numerals = (f.get("d") or "").strip().strip(",，").strip()
    if name and numerals:
        name = f"{name} {numerals}"
    additions = [c.strip().strip(",，()（）").strip() for c in f.get_subfields("c")]
    additions = [c for c in additions if c]
    if name and additions:
        name = f"{name} ({', '.join(additions)})"
    return name


def _unimarc_entry(record: Record) -> Entry:
    values: dict[str, Any] = {}
    isbn = _first(record, ("010",), "a")
    if isbn:
        values["isbn"] = _isbn_token(isbn)
    f200 = record.get("200")
    if f200 is not None:
        values["title"] = (f200.get("a") or "").strip()
        values["subtitle"] = (f200.get("e") or "").strip()
        # CNMARC writes the pinyin of the title in $A and $E.
        values["title_romanized"] = (f200.get("A") or "").strip()
        values["subtitle_romanized"] = (f200.get("E") or "").strip()
        # $f the first statement of responsibility, $g the others ("国家统计局编", "张三译").
        values["responsibility"] = " ; ".join(text.strip().strip(";；").strip()
                                              for text in f200.get_subfields("f", "g") if text.strip())
    # Parallel titles (200 $d, 510) and other forms of the title (512 cover, 513 added title page, 514 caption,
    # 515 running, 516 spine, 517 other variant titles).
    other_titles = [text.strip().lstrip("=").strip() for text in (f200.get_subfields("d") if f200 is not None else [])]
    for f in record.get_fields("510", "512", "513", "514", "515", "516", "517"):
        title = (f.get("a") or "").strip()
        rest = " : ".join(text.strip() for text in f.get_subfields("e") if text.strip())
        other_titles.append(f"{title} : {rest}" if title and rest else title)
    values["other_titles"] = other_titles
    values["edition"] = _first(record, ("205",), "a").strip()
    values["publisher"] = _first(record, ("210", "214"), "c").strip()
    f100 = _first(record, ("100",), "a")
    values["year"] = _record_year(f100[9:13], [f.get("d") for f in record.get_fields("210", "214") if f.get("d")])
    values["language"] = marc_language(_first(record, ("101",), "a"))
    values["clc"] = _first(record, ("690",), "a").strip()
    values["subjects"] = [text.strip() for text in _joined(record.get_fields("606"), "a") if text.strip()]
    values["summary"] = "\n".join(text.strip() for text in _joined(record.get_fields("330"), "a") if text.strip())
    people = []
    # Persons (700 main, 701 alternative, 702 secondary responsibility), then bodies (710, 711, 712); CNMARC
    # gives a name's pinyin in $A.
    for f in record.get_fields("700", "701", "702", "710", "711", "712"):
        name = _unimarc_name(f)
        if name:
            person = _marc_name(name, _relator(f, None))
            romanized = (f.get("A") or "").strip()
            people.append(Person(person.name, person.role if _relator(f, None) or person.name != name
                                 else EDITOR if f.tag in ("702", "712") else AUTHOR,
                                 romanized if len(romanized) <= NAME_MAX else ""))
    if not people and f200 is not None:
        for statement in f200.get_subfields("f", "g"):
            people += parse_responsibility(statement)
    holdings = []
    for f in record.get_fields("905"):
        location = (f.get("a") or "").strip() or None
        holdings += [(barcode, location) for barcode in f.get_subfields("b") if barcode.strip()]
        if "call_number" not in values and f.get("d"):
            values["call_number"] = "/".join(p.strip() for p in (f.get("d"), f.get("e")) if p and p.strip())
    return _marc_entry(record, values, people, holdings)



# --- reading files -------------------------------------------------------------


def resolve_format(format: str | None) -> str | None:
    if format is None or not format.strip():
        return None
    name = format.strip().lower()
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise InvalidInput(
            "format",
            _("未知格式 %(format)r，可用 csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc、xml")
            % {"format": format},
            code="unknown_format",
        )
    return name


def _looks_like_marc(data: bytes) -> bool:
    # ISO 2709: a leader of 5 digits of record length, …, "22" (indicator and subfield code counts)
    # and 5 digits of base address; or simply the record terminator, which no text file contains.
    return b"\x1d" in data or re.match(rb"\d{5}[ -~]{5}22\d{5}", data[:17]) is not None


def _split_marc(data: bytes) -> list[bytes]:
    """Split on the record terminator rather than trusting each leader's length, so one record whose
    length is wrong (common after a GBK → UTF-8 conversion) does not take the rest of the file with it."""
    chunks = [chunk.lstrip(b"\r\n\t \x00\x1a") for chunk in data.split(b"\x1d")]
    return [chunk + b"\x1d" for chunk in chunks if chunk]


def _directory_tags(chunk: bytes) -> set[str]:
    try:
        base = int(chunk[12:17])
    except ValueError:
        return set()
    directory = chunk[24 : base - 1]
    return {directory[i : i + 3].decode("ascii", "replace") for i in range(0, len(directory) - 11, 12)}


def detect_marc_dialect(chunks: list[bytes]) -> str:
    """Return "unimarc" when most records carry UNIMARC's 200/010/210 rather than MARC21's 245/020/260/264."""
    votes = sum(_dialect_vote(_directory_tags(chunk)) for chunk in chunks)
    return "unimarc" if votes > 0 else "marc21"


def _dialect_vote(tags: set[str]) -> int:
    """+1 for a record that looks UNIMARC (200/010/210), -1 for MARC21 (245/020/260/264), 0 undecided."""
    unimarc, marc21 = len(tags & {"200", "010", "210"}), len(tags & {"245", "020", "260", "264"})
    return (unimarc > marc21) - (marc21 > unimarc)


def detect_format(data: bytes) -> str:
    """Return "csv", "marc21", "unimarc", "marcxml" or "unimarcxml", judged from the content."""
    if _looks_like_marc(data):
        return detect_marc_dialect(_split_marc(data))
    if marcxml.looks_like_xml(data):
        return read_file(data=data).format
    return "csv"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_leader(chunk: bytes) -> bool:
    return len(chunk) >= 25 and chunk[:5].isdigit()


#: Bytes ≥ 0x80 that MARC-8's default G1 set (ANSEL) defines.
_ANSEL_BYTES = frozenset(code for code in marc8_mapping.CODESETS[0x45] if code >= 0x80) | {0x88, 0x89, 0x98, 0x9C}


def _without_gb18030_marks(chunk: bytes) -> bytes:
    """8-bit non-sorting marks (ISO 6630 NSB/NSE 0x88/0x89, MARC 21's 0x98/0x9C) in a record read as GB18030,
    where each would swallow the next byte as half a character, replaced by DEL (same length, so the
    directory stays right; dropped with the other controls).  Walking character by character: a start mark
    right after a subfield code or a space, an end mark after a start mark in the same subfield."""
    out = bytearray(chunk)
    i, opened = 0, False
    while i < len(chunk):
        byte = chunk[i]
        if byte < 0x80:
            opened = opened and byte != 0x1F
            i += 1
        elif byte in (0x88, 0x98) and ((i >= 2 and chunk[i - 2] == 0x1F) or chunk[i - 1] == 0x20):
            out[i], opened = 0x7F, True
            i += 1
        elif byte in (0x89, 0x9C) and opened:
            out[i], opened = 0x7F, False
            i += 1
        else:
            i += 4 if i + 1 < len(chunk) and 0x30 <= chunk[i + 1] <= 0x39 else 2
    return bytes(out)


def _mostly_utf8(chunk: bytes) -> bool:
    """Valid UTF-8 but for a few bytes (a character cut in two by a careless conversion), not GBK:
    GBK text decodes as UTF-8 only here and there."""
    text = chunk.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(len(c.encode()) for c in text if "\x80" <= c != "\ufffd")
    return good >= 9 * bad


def _gb18030_looking(chunk: bytes) -> bool:
    """Most multi-byte characters have a second byte ≥ 0x80, as Chinese GB2312/GBK text does.

    MARC-8 (ANSEL) puts a combining accent before a plain letter ("soci\\xe2et\\xe2e" = "société"),
    which GB18030 also decodes, but as pairs whose second byte is ASCII.
    """
    high = low = 0
    i = 0
    while i < len(chunk):
        if chunk[i] < 0x80:
            i += 1
            continue
        second = chunk[i + 1] if i + 1 < len(chunk) else 0
        if 0x30 <= second <= 0x39:  # a four-byte GB18030 sequence
            high += 1
            i += 4
        else:
            if second >= 0x80:
                high += 1
            else:
                low += 1
            i += 2
    return high > low


def _misaddressed(chunk: bytes) -> bool:
    """True when the leader's base address does not point just past the directory (the first field
    terminator): an exporter wrote a record longer than ISO 2709 can address (over 99,999 bytes)."""
    end = chunk.find(b"\x1e")
    try:
        return end >= 24 and int(chunk[12:17]) != end + 1
    except ValueError:
        return False


def _misfit_fields(chunk: bytes) -> list[str]:
    """The tags of the directory entries whose field does not end, where their length and offset say, with
    a field terminator (and only there): a directory that over- or under-states a length.  Empty for a
    directory that cannot be read at all (pymarc says why)."""
    end = chunk.find(b"\x1e")
    try:
        base = int(chunk[12:17])
    except ValueError:
        return []
    directory = chunk[24:end] if end >= 24 else b""
    if not directory or len(directory) % 12:
        return []
    misfit = []
    for position in range(0, len(directory), 12):
        entry = directory[position : position + 12]
        if not entry[3:12].isdigit():
            return []
        length, offset = int(entry[3:7]), int(entry[7:12])
        data = chunk[base + offset : base + offset + length]
        if length < 1 or not data.endswith(b"\x1e") or b"\x1e" in data[:-1]:
            misfit.append(entry[:3].decode("ascii", "replace"))
    return misfit


def _terminators_match(chunk: bytes) -> bool:
    """Whether the field terminators after the directory mark exactly one field per directory entry."""
    end = chunk.find(b"\x1e")
    entries = (end - 24) // 12
    fields = chunk[end + 1 :].rstrip(b"\x1d").split(b"\x1e")
    if fields and fields[-1] == b"":
        fields.pop()  # after the last field's terminator
    return entries > 0 and len(fields) == entries


def _loose_record(chunk: bytes, options: dict[str, Any]) -> Record:
    """The record read field by field, trusting its directory's tags (in field order) and its field
    terminators, not its lengths and offsets (see ``_misaddressed``)."""
    end = chunk.find(b"\x1e")
    directory = chunk[24:end]
    tags = []
    position = offset = 0
    while position + 12 <= len(directory):
        # An offset past 99,999 is written with six digits: the expected offset (the lengths so far) says so.
        tags.append(directory[position : position + 3].decode("ascii", "replace"))
        length = int(directory[position + 3 : position + 7]) if directory[position + 3 : position + 7].isdigit() else 0
        written = b"%05d" % offset
        position += 7 + (len(written) if directory[position + 7 :].startswith(written) else 5)
        offset += length
    fields = chunk[end + 1 :].rstrip(b"\x1d").split(b"\x1e")
    if not tags or len(fields) < len(tags):
        raise ValueError("directory and fields do not match")
    if options.get("file_encoding") == "gb18030":
        def decode(data: bytes) -> str:
            return data.decode("gb18030", "replace")
    elif options.get("force_utf8"):
        def decode(data: bytes) -> str:
            return data.decode("utf-8", "replace")
    else:
        def decode(data: bytes) -> str:
            return marc8_to_unicode(data, hide_utf8_warnings=True)
    record = Record(force_utf8=True, leader=chunk[:24].decode("ascii", "replace"))
    for tag, data in zip(tags, fields, strict=False):
        if tag < "010" and tag.isdigit():
            record.add_field(Field(tag=tag, data=decode(data)))
            continue
        indicators, *parts = data.split(b"\x1f")
        indicators = indicators.decode("ascii", "replace").ljust(2)
        record.add_field(Field(tag=tag, indicators=Indicators(indicators[0], indicators[1]),
                               subfields=[Subfield(decode(part[:1]), decode(part[1:])) for part in parts if part]))
    return record


def _utf8_error_at(chunk: bytes) -> int | None:
    """The offset of the first byte of ``chunk`` that is not UTF-8 (None when it all is)."""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _gb18030_decodes(chunk: bytes) -> bool:
    try:
        _without_gb18030_marks(chunk).decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _decoding_options(chunk: bytes, dialect: str, notes: list[str]) -> dict[str, Any]:
    """pymarc options for the record's text encoding (see the module docstring); what was guessed against the
    record's own leader is added to ``notes``."""
    utf8: dict[str, Any] = {"force_utf8": True, "utf8_handling": "replace"}
    if chunk[9:10] == b"a":
        if _is_utf8(chunk):
            return utf8
        # The leader says UTF-8, the bytes are not: GBK/GB18030 from a Chinese system that set leader/09 anyway
        # (read as UTF-8 it would be stored as U+FFFD).  UTF-8 with a few broken bytes is not GB18030 text.
        if not _mostly_utf8(chunk) and _gb18030_decodes(chunk):
            notes.append(str(_("记录头第 09 位标明 UTF-8，但内容不是 UTF-8；已按 GB18030 读取，请核对文字")))
            return {"file_encoding": "gb18030"}
        raise ValidationError(
            _("记录头第 09 位标明 UTF-8，但内容在偏移 %(position)s 字节处不是有效的 UTF-8，也不是 GB18030 编码的文字，未导入"),
            params={"position": _utf8_error_at(chunk)},
        )
    if b"\x1b" in chunk:  # escape sequences: MARC-8 (MARC 21), ISO 2022-style designations (UNIMARC)
        return {"file_encoding": "gb18030"} if dialect == "unimarc" else {"hide_utf8_warnings": True}
    if _is_utf8(chunk):
        # UTF-8 whatever leader/09 says: many Chinese systems write UTF-8 and leave it blank.
        return utf8
    if _mostly_utf8(chunk):
        # Not GBK misread: UTF-8 with a few broken bytes.  Importing it would put U+FFFD in the text.
        raise ValidationError(
            _("MARC 记录的 UTF-8 编码在偏移 %(position)s 字节处损坏，未导入"),
            params={"position": _utf8_error_at(chunk)},
        )
    gb18030 = _gb18030_decodes(chunk)
    ansel = dialect == "marc21" and {byte for byte in chunk if byte >= 0x80} <= _ANSEL_BYTES
    if gb18030 and (not ansel or _gb18030_looking(chunk)):
        # GBK from older Chinese systems, CNMARC and MARC 21 alike; GB18030 decodes it and more.
        return {"file_encoding": "gb18030"}
    if ansel:
        return {"hide_utf8_warnings": True}  # MARC-8
    raise ValidationError(
        _("MARC 记录的字符编码无法识别：既不是 UTF-8，也不是 GB18030 或 MARC-8，未导入")
    )


class _PymarcNotes(logging.Handler):
    """Keeps what pymarc logs (``logging.getLogger("pymarc")``: "more than 2 indicators found" …) for the
    record being read in this thread, instead of letting it reach stderr without a record number."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        notes = getattr(self.local, "notes", None)
        if notes is not None:
            notes.append(_pymarc_note(record.getMessage()))


_PYMARC_NOTES = _PymarcNotes()
_pymarc_logger = logging.getLogger("pymarc")
_pymarc_logger.addHandler(_PYMARC_NOTES)
_pymarc_logger.propagate = False


def _pymarc_note(text: str) -> str:
    return _("MARC 数据不规范（已尽量读取）：%(text)s") % {"text": one_line(text)[:300]}


@contextlib.contextmanager
def _captured_warnings():
    """Collect pymarc's logged messages and Python warnings raised while a record is read, as notices."""
    notes: list[str] = []
    _PYMARC_NOTES.local.notes = notes
    # pymarc's MARC-8 decoder writes to sys.stderr directly ("Multi-byte position … exceeds length").
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(printed):
            warnings.simplefilter("always")
            yield notes
    finally:
        _PYMARC_NOTES.local.notes = None
    # Warnings about the data only: a ResourceWarning is the garbage collector finding some other object's file
    # unclosed at this moment (it reached an import's report once), a deprecation is about code.
    notes.extend(_pymarc_note(str(w.message)) for w in caught if not issubclass(w.category, _NOT_ABOUT_DATA))
    notes.extend(_pymarc_note(line) for line in printed.getvalue().splitlines() if line.strip())


_NOT_ABOUT_DATA = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning)


def _parse_record(chunk: bytes, dialect: str, notes: list[str]) -> Record:
    """The record of one ISO 2709 chunk; what was read despite a problem is added to ``notes``."""
    if not _has_leader(chunk):
        raise ValidationError(_("不是有效的 MARC 记录：记录头损坏"))
    options = _decoding_options(chunk, dialect, notes)
    if options.get("file_encoding") == "gb18030":
        # DEL has the same length (the directory stays right) and is dropped with the other controls.
        chunk = _without_gb18030_marks(chunk)
        # pymarc reads every record whose leader/09 is "a" as UTF-8, whatever it is told.
        chunk = chunk[:9] + b" " + chunk[10:]
    try:
        if _misaddressed(chunk):
            return _loose_record(chunk, options)
        misfit = _misfit_fields(chunk)
        if misfit:
            # pymarc cuts each field where the directory says: a length one too long swallows the next field's
            # start into this one (a 001 "ocm123\x1e20180…"), one too short cuts it.  The field terminators say
            # where each field really ends; when they give one field per directory entry, the record is read by
            # them, otherwise it cannot be read without losing data.
            if not _terminators_match(chunk):
                raise ValidationError(
                    _("MARC 记录的目录与字段不一致（字段 %(tags)s 的长度或位置不对），无法完整读取，未导入"),
                    params={"tags": "、".join(misfit)})
            notes.append(str(_("MARC 记录的目录中字段 %(tags)s 的长度或位置与字段结束符不一致；已按字段结束符读取")
                             % {"tags": "、".join(misfit)}))
            return _loose_record(chunk, options)
        return Record(chunk, to_unicode=True, **options)
    except ValidationError:
        raise
    except Exception as exc:  # pymarc raises assorted exception types for malformed data
        raise ValidationError(
            _("MARC 记录无法解析：%(error)s"),
            params={"error": f"{type(exc).__name__} {exc}".strip()},
        ) from None


def _decode_text(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            "file",
            _("这是 Excel 工作簿或压缩包，请在 Excel 中“另存为 CSV”后再导入"),
            code="file_type",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")  # Excel's "Unicode text"
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput(
                "file",
                _("文件既不是 UTF-8 也不是 GB18030 编码的文本，无法读取"),
                code="file_encoding",
            )
    if "\x00" in text:
        raise InvalidInput("file", _("文件含有二进制内容，不是 CSV"), code="file_type")
    return text


def _csv_error_reason(exc: csv.Error) -> str:
    if "end of data" in str(exc):
        # strict=True: the file ended inside a quoted cell, which took in every line after this one.
        return _("引号未闭合，本行起至文件末尾都未能导入")
    return _("CSV 格式错误，本行未导入：%(error)s") % {"error": exc}


def _failed_row(reason: str) -> Callable[[], Entry]:
    def parse() -> Entry:
        raise ValidationError(reason)

    return parse


#: The longest line a CSV file may have: a real record with a long summary is a few thousand characters;
#: one line of 40 million empty cells took the import worker to 1.2 GB (the thirteenth attack).
CSV_MAX_LINE_CHARS = 1_000_000


def _check_line_lengths(text: str) -> None:
    start, number = 0, 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if end - start > CSV_MAX_LINE_CHARS:
            raise InvalidInput("file", _("CSV 第 %(line)s 行过长（超过 %(most)s 个字符）") % {
                "line": number, "most": f"{CSV_MAX_LINE_CHARS:,}"}, code="line_too_long")
        start, number = end + 1, number + 1


def _read_csv(data: bytes, summary: ImportSummary) -> list[tuple[int, Callable[[], Entry]]]:
    text = _decode_text(data)
    _check_line_lengths(text)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    # A long summary (the exporter writes any length) must not trip the csv module's default 128 KiB limit;
    # the limit is process-wide, so it is only ever raised.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    # strict: an unterminated quote raises instead of quietly swallowing the rest of the file into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str | None] | None = None
    rows: list[tuple[int, Callable[[], Entry]]] = []
    while True:
        line = reader.line_num + 1  # physical line where the next row starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise InvalidInput(
                    "file", _("CSV 第 %(line)s 行（表头）格式错误：%(error)s") % {"line": line, "error": exc}, code="csv"
                ) from None
            rows.append((line, _failed_row(_csv_error_reason(exc))))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = _read_header(cells, line, summary)
            continue
        if len(rows) >= settings.IMPORT_MAX_RECORDS:
            raise too_many_records()
        rows.append((line, _row_parser(header, cells)))
    if header is None:
        raise InvalidInput("file", _("文件为空，没有表头"), code="empty")
    return rows


def _read_header(cells: list[str], line: int, summary: ImportSummary) -> list[str | None]:
    columns: list[str | None] = []
    ignored = []
    for cell in cells:
        name = cell.strip().lstrip("\ufeff").strip()
        key = CSV_HEADER_ALIASES.get(name, name.lower())
        if key in CSV_COLUMNS and key not in columns:
            columns.append(key)
        else:
            columns.append(None)
            if name:
                ignored.append(name)
    if "title" not in columns:
        raise InvalidInput(
            "file",
            _("缺少 title（题名）列；表头应为 %(columns)s") % {"columns": ",".join(CSV_COLUMNS)},
            code="missing_column",
        )
    if ignored:
        summary.errors.append(
            {
                "line": line,
                "record": None,
                "reason": _("未知或重复的列已忽略：%(columns)s") % {"columns": ", ".join(ignored)},
            }
        )
    return columns


def _row_parser(header: list[str | None], cells: list[str]) -> Callable[[], Entry]:
    # Only the cells of known columns are kept until the row is parsed: a file of a thousand rows of
    # 16,000 cells each held every cell (the twelfth attack took the worker from 0.3 to 1.65 GB).
    extra = len(cells) if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]) else 0
    known = [(name, cell) for name, cell in zip(header, cells, strict=False) if name]

    def parse() -> Entry:
        if extra:
            raise ValidationError(
                _("本行有 %(cells)s 个单元格，多于表头的 %(columns)s 列（是否有未加引号的逗号？）"),
                params={"cells": extra, "columns": len(header)},
            )
        return _csv_entry({name: restore_cell(cell).strip() for name, cell in known})

    return parse


def _read_xml(data: bytes, dialect: str | None) -> tuple[str, list[tuple[int, Callable[[], Entry]]], list[dict]]:
    """The MARC records of an XML file (see ``library.marcxml``), each converted when it is written."""
    try:
        root = marcxml.parse(data)
    except marcxml.XMLRefused as exc:
        raise InvalidInput("file", _("XML 文件无法读取：%(error)s") % {"error": exc}, code="xml") from None
    elements = list(marcxml.marc_elements(root))
    if not elements:
        found = marcxml.diagnostics(root)
        message = _("这是 XML 文件，但其中没有 MARC 记录（MARCXML、UNIMARC/CNMARC XML）")
        if found:
            message += _("；文件中的诊断信息：%(messages)s") % {"messages": "; ".join(found)[:500]}
        raise InvalidInput("file", message, code="no_records")
    if len(elements) > settings.IMPORT_MAX_RECORDS:
        raise too_many_records()
    if dialect is None:
        votes = sum(_dialect_vote(marcxml.tags(element)) for element in elements)
        dialect = "unimarc" if votes > 0 else "marc21"
    to_entry = _unimarc_entry if dialect == "unimarc" else _marc21_entry

    def parser(element) -> Callable[[], Entry]:
        def parse() -> Entry:
            with _captured_warnings() as notes:
                try:
                    record = marcxml.record_from_element(element)
                except ValueError as exc:
                    raise ValidationError(_("MARC 记录无法解析：%(error)s"), params={"error": exc}) from None
            entry = to_entry(record)
            entry.notices[:0] = notes
            return entry

        return parse

    return dialect, [(number, parser(element)) for number, element in enumerate(elements, start=1)], []


def _read_marc(data: bytes, dialect: str | None) -> tuple[str, list[tuple[int, Callable[[], Entry]]]]:
    if b"\x1d" not in data:
        raise InvalidInput(
            "file",
            _("不是 ISO 2709 MARC 文件：没有记录结束符"),
            code="file_type",
        )
    chunks = _split_marc(data)
    if not any(_has_leader(chunk) for chunk in chunks):
        # Only record terminators, or nothing that even starts like a record.
        raise InvalidInput("file", NO_RECORDS, code="no_records")
    dialect = dialect if dialect in ("marc21", "unimarc") else detect_marc_dialect(chunks)
    to_entry = _unimarc_entry if dialect == "unimarc" else _marc21_entry

    def parser(chunk: bytes) -> Callable[[], Entry]:
        def parse() -> Entry:
            with _captured_warnings() as notes:
                record = _parse_record(chunk, dialect, notes)
            entry = to_entry(record)
            entry.notices[:0] = notes
            return entry

        return parse

    if len(chunks) > settings.IMPORT_MAX_RECORDS:
        raise too_many_records()
    return dialect, [(number, parser(chunk)) for number, chunk in enumerate(chunks, start=1)]


# --- writing -------------------------------------------------------------------


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    """The values as the model stores them, so comparing with a saved book finds real changes only."""
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if values.get("isbn"):
        values["isbn"] = normalize_isbn(values["isbn"])
    if values.get("clc"):
        values["clc"] = normalize_clc(values["clc"])
    if values.get("call_number"):
        values["call_number"] = normalize_call_number(values["call_number"])
    for name in services.LIST_FIELDS:
        if name in values:
            values[name] = services.clean_terms(values[name])
    return {k: v for k, v in values.items() if v not in ("", None, [])}


def source_key(control_number: str, control_source: str) -> str:
    """The key a book remembers its record by: "(003)001", or the 001 alone; "" without a 001."""
    if not control_number:
        return ""
    return (f"({control_source}){control_number}" if control_source else control_number)[:100]


def _barcodes(holdings: list[tuple[str, str | None]]) -> list[str]:
    found = []
    for barcode, _place in holdings:
        try:
            found.append(normalize_barcode(barcode))
        except ValidationError:
            continue  # reported when the copies are written
    return found


def _find_book(values: dict[str, Any], people: list[Person], source: str = "",
               holdings: list[tuple[str, str | None]] = ()) -> tuple[Book | None, str]:
    """The book a record describes, and how it was found, by the match rule of the module docstring:
    (book, "isbn" | "control_number" | "decided_new" | "barcode" | "title"), (book, "duplicate") for a record that may
    only repeat a book's title, or (None, "")."""
    isbn = values.get("isbn")
    if source:
        # First: a record from the same source with the same 001/003 is the same record, even when a librarian
        # made it a book of its own beside the one with its ISBN (另建新书).
        book = Book.objects.filter(source_control_number=source).order_by("id").first()
        if book is not None:
            return book, "control_number"
    else:
        # Without a control number (a CSV row), the same record a librarian made a book of its own is found by
        # that decision: else its ISBN or title would lead to the first book again, and to the same conflict.
        book = _made_new_before(values, people)
        if book is not None:
            return book, "decided_new"
    if isbn:
        book = Book.objects.filter(isbn=isbn).first()
        if book is not None:
            return book, "isbn"
    barcodes = set(_barcodes(holdings))
    if barcodes:
        owners = dict(Copy.objects.filter(barcode__in=barcodes).values_list("barcode", "book_id"))
        if len(owners) == len(barcodes) and len(set(owners.values())) == 1:
            return Book.objects.get(pk=next(iter(owners.values()))), "barcode"
    title_key = match_text(values.get("title"))[:500]
    if not title_key:
        return None, ""
    candidates = Book.objects.filter(title_key=title_key).annotate(
        first_name=Subquery(Contributor.objects.filter(book=OuterRef("pk"), position=0).values("name")[:1])
    ).order_by("id")
    year, first = values.get("year"), people[0].name if people else ""
    if year is None and not first:
        # Never the title alone: such a record is neither merged nor created without a librarian.
        return candidates.first(), "duplicate"
    subtitle_key, first_key = match_text(values.get("subtitle")), match_text(first)
    for book in candidates.filter(year=year):
        if isbn and book.isbn:
            continue  # a book with another ISBN is another edition, whatever its title
        if match_text(book.subtitle) == subtitle_key and match_text(book.first_name) == first_key:
            return book, "title"
    return None, ""


def _prepared(entry: Entry) -> tuple[Entry, dict[str, Any], list[Person], str]:
    """``entry`` folded, with its values as stored, its named people and its source key (what matching and
    writing compare)."""
    entry = _folded(entry)
    people = [Person(p.name.strip(), p.role, p.name_romanized.strip()) for p in entry.people if p.name.strip()]
    return entry, _normalized(entry.values), people, source_key(entry.control_number, entry.control_source)


def find_match(entry: Entry) -> Book | None:
    """The stored book that writing ``entry`` would update (the import's match rule), or None: for showing a
    candidate record beside the local one before anything is written (copy cataloguing)."""
    entry, values, people, source = _prepared(entry)
    return _find_book(values, people, source, entry.holdings)[0]


def _create_book(values: dict[str, Any], people: list[Person], *, defaults: dict[str, Any], source: str,
                 holdings, location: str | None) -> Book:
    """A new book from a record (with the record's source key) and its copies."""
    book = services.book_create(**{**defaults, **values}, contributors=people)
    if source:
        Book.objects.filter(pk=book.pk).update(source_control_number=source)
    _add_copies(book, holdings, location)
    return book


def _add_copies(book: Book, holdings: list[tuple[str, str | None]], location: str | None) -> int:
    added = 0
    seen = set()
    for raw_barcode, own_location in holdings:
        barcode = normalize_barcode(raw_barcode)
        if barcode in seen:
            continue
        seen.add(barcode)
        existing = Copy.objects.filter(barcode=barcode).values("book_id", "book__title").first()
        if existing is not None:
            if existing["book_id"] == book.pk:
                continue
            raise ValidationError(
                _("条码 %(barcode)s 已属于另一种书《%(title)s》(id %(id)s)"),
                params={"barcode": barcode, "title": existing["book__title"], "id": existing["book_id"]},
            )
        services.copy_create(book=book, barcode=barcode, location=location or own_location or DEFAULT_LOCATION)
        added += 1
    return added


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def _people_text(people: list[Person]) -> str:
    labels = dict(Contributor.Role.choices)

    def name(p: Person) -> str:
        return f"{p.name} = {p.name_romanized}" if p.name_romanized else p.name

    return "; ".join(name(p) if p.role == AUTHOR else f"{name(p)} ({labels.get(p.role, p.role)})" for p in people)


def _current_people(book: Book) -> list[Person]:
    return [Person(c.name, c.role, c.name_romanized) for c in book.contributors.order_by("position")]


def person_json(person: Person) -> list[str]:
    """A person as an import keeps it (``ImportRecord.entry``, fingerprints): [name, role], with the romanised
    form third when there is one (so what was stored before names had one reads and digests the same)."""
    return [person.name, person.role, *([person.name_romanized] if person.name_romanized else [])]


#: Book fields added after conflicts were first kept: a fingerprint counts them only when they hold a value, so
#: a conflict kept before they existed still matches its unchanged book.
_LATER_FIELDS = ("other_titles", "responsibility", "publisher_romanized")


def book_fingerprint(book: Book) -> str:
    """A digest of what an import compares on ``book`` (its catalog fields and people): a conflict keeps it,
    and a decision refuses to apply when the book has changed since."""
    data = [[name, getattr(book, name)] for name in BOOK_FIELDS
            if name not in _LATER_FIELDS or getattr(book, name) not in ("", None, [])]
    data.append([person_json(p) for p in _current_people(book)])
    return hashlib.sha256(json.dumps(data, default=str, ensure_ascii=False).encode()).hexdigest()


def _same_people(current: list[Person], incoming: list[Person], unstated: frozenset[str]) -> bool:
    """The same names in the same order, each in the same role or in a role the record does not state, and with
    the same romanised form where the record gives one (a record that romanises a name differently, or where
    the book has none, is a 责任者 conflict for the librarian, not a silent change)."""
    return len(current) == len(incoming) and all(
        have.name == given.name and (have.role == given.role or given.name in unstated)
        and (not given.name_romanized or have.name_romanized == given.name_romanized)
        for have, given in zip(current, incoming, strict=True))


def _compare(book: Book, values: dict[str, Any], people: list[Person], *,
             unstated: frozenset[str] = frozenset()) -> tuple[dict, list[Person] | None, list[dict]]:
    """What ``values`` and ``people`` would do to ``book``: the empty fields they fill, the people they give a
    book that has none, and the fields where both have a value and the values differ (with both values).
    A name in ``unstated`` (no role given) agrees with the role the book gives it."""
    fills: dict[str, Any] = {}
    conflicts = []
    for name, incoming in values.items():
        current = getattr(book, name)
        if current in ("", None, []):
            fills[name] = incoming
        elif current != incoming:
            conflicts.append({"field": name, "label": field_label(name), "current": _value_text(current),
                              "incoming": _value_text(incoming)})
    current_people = _current_people(book)
    new_people = None
    if people and not _same_people(current_people, people, unstated):
        if current_people:
            conflicts.append({"field": "contributors", "label": field_label("contributors"),
                              "current": _people_text(current_people), "incoming": _people_text(people)})
        else:
            new_people = people
    return fills, new_people, conflicts


def _identity(values: dict[str, Any], people: list[Person]) -> dict:
    """A record's parsed values and people as an import keeps them in ``ImportRecord.entry``: what says that two
    records without a source control number are the same record."""
    return {"values": json.loads(json.dumps(values, default=str)), "people": [person_json(p) for p in people]}


def _same_record(entry: dict | None, source: str, identity: dict) -> bool:
    """Whether a kept ``ImportRecord.entry`` is this record: the same source control number, or, without one on
    either side, the same values and people."""
    entry = entry or {}
    if source or entry.get("source"):
        return entry.get("source") == source
    return {"values": entry.get("values"), "people": entry.get("people")} == identity


def _made_new_before(values: dict[str, Any], people: list[Person]) -> Book | None:
    """The book a librarian created from this same record (the same values and people, no source) by deciding
    另建新书 on an earlier import's conflict, if it still exists; else None.  Looked up through the books of the
    record's title (the title index), so that a large import pays one indexed query a record."""
    title_key = match_text(values.get("title"))[:500]
    if not title_key:
        return None
    identity = _identity(values, people)
    earlier = (ImportRecord.objects.filter(book__in=Book.objects.filter(title_key=title_key),
                                           decision=ImportRecord.Decision.NEW)
               .select_related("book").order_by("-decided_at")[:50])
    return next((record.book for record in earlier if _same_record(record.entry, "", identity)), None)


def _kept_before(book: Book, values: dict[str, Any], people: list[Person], source: str) -> str:
    """The reason to leave ``book`` as it is when a librarian already decided to keep it against this record
    (same source control number, or without one the same values and people) and it has not changed since;
    else ""."""
    identity = _identity(values, people)
    earlier = ImportRecord.objects.filter(book=book, decision=ImportRecord.Decision.KEEP,
                                          fingerprint=book_fingerprint(book)
                                          ).select_related("decided_by").order_by("-decided_at")
    for record in earlier:
        if not _same_record(record.entry, source, identity):
            continue
        who = record.decided_by.get_username() if record.decided_by else _("馆员")
        when = timezone.localdate(record.decided_at).isoformat() if record.decided_at else ""
        return _("按 %(date)s %(who)s 的决定保留现有") % {"date": when, "who": who}
    return ""


def _labels(names) -> str:
    return "、".join(field_label(name) for name in names)


def _record_json(values: dict, people: list[Person], holdings, location: str | None, entry: "Entry") -> dict:
    return {"values": values, "people": [person_json(p) for p in people], "create_defaults": entry.create_defaults,
            "holdings": [[barcode, place] for barcode, place in holdings], "location": location,
            "control_number": entry.control_number, "source": source_key(entry.control_number, entry.control_source)}


def _drop_taken(values: dict[str, Any], *, book: Book | None = None) -> str:
    """Drop from ``values`` the ISBN and the call number another book than ``book`` already has (each is one
    book's), and say so for the record's report; "" when neither is taken.  Every writer calls it before it
    writes, so a value left off is never left off silently.

    An ISBN: the book a librarian made beside the one with this ISBN (另建新书), found again by its control
    number.  A call number: sources shelve a yearly series under one call number; this catalogue gives each
    book its own, so the record is imported without it and the librarian gives one when adding copies."""
    notes = []
    for name in ("isbn", "call_number"):
        value = values.get(name)
        if not value:
            continue
        holders = Book.objects.filter(**{name: value})
        if book is not None:
            holders = holders.exclude(pk=book.pk)
        other = holders.values("pk", "title").first()
        if other is None:
            continue
        del values[name]
        if name == "isbn":
            notes.append(_("ISBN %(isbn)s 已属于另一种书《%(title)s》(id %(id)s)，未采用") % {
                "isbn": value, "title": other["title"], "id": other["pk"]})
        else:
            notes.append(_("来源索书号 %(call_number)s 已被《%(title)s》使用，未采用；添加复本时将另行分配") % {
                "call_number": value, "title": other["title"]})
    return "；".join(notes)


def _write(entry: Entry, location: str | None) -> "Outcome":
    """Create, update (fill empty fields, add copies) or leave one book; or report a conflict and write
    nothing (see "Match rules" in the module docstring).  The returned Outcome's ``number`` is 0."""
    entry, values, people, source = _prepared(entry)
    with transaction.atomic():
        book, how = _find_book(values, people, source, entry.holdings)
        if book is None:
            if not values.get("title"):
                raise ValidationError(_("题名不能为空"))
            note = _drop_taken(values)
            book = _create_book(values, people, defaults=entry.create_defaults, source=source,
                                holdings=entry.holdings, location=location)
            return Outcome(0, "created", note, book_id=book.pk)
        fills, new_people, conflicts = _compare(book, values, people, unstated=entry.unstated_roles)
        if how == "duplicate" or conflicts:
            kept = _kept_before(book, values, people, source)
            if kept:
                return Outcome(0, "unchanged", kept, book_id=book.pk)
            if how == "duplicate":
                kind = "duplicate"
                reason = _("可能与《%(title)s》(id %(id)s) 重复：只有题名相同（没有出版年和责任者），请决定") % {
                    "title": book.title, "id": book.pk}
            else:
                kind = "fields"
                reason = _("与《%(title)s》(id %(id)s) 不一致：%(fields)s；未写入，请决定") % {
                    "title": book.title, "id": book.pk, "fields": _labels(c["field"] for c in conflicts)}
            return Outcome(0, "conflict", reason, book_id=book.pk, conflict_kind=kind, conflicts=conflicts,
                           entry=_record_json(values, people, entry.holdings, location, entry),
                           fingerprint=book_fingerprint(book))
        note = _drop_taken(fills, book=book)
        if fills or new_people is not None:
            services.book_update(book=book, changes=fills, contributors=new_people)
        if source and not book.source_control_number:
            Book.objects.filter(pk=book.pk).update(source_control_number=source)
        added = _add_copies(book, entry.holdings, location)
        changed = [*fills, *(["contributors"] if new_people is not None else [])]
        if not changed and not added:
            return Outcome(0, "unchanged", note, book_id=book.pk)
        parts = [_("补充了 %(fields)s") % {"fields": _labels(changed)}] if changed else []
        if added:
            parts.append(ngettext("新增 %(n)s 个复本", "新增 %(n)s 个复本", added) % {"n": added})
        if note:
            parts.append(note)
        return Outcome(0, "updated", "；".join(parts), book_id=book.pk)


def _copies_left_out(holdings: list[tuple[str, str]]) -> str:
    """What "keep" leaves out of a record's holdings, for its report ("" when it has none)."""
    if not holdings:
        return ""
    barcodes = [barcode for barcode, _place in holdings if barcode]
    if barcodes:
        return _("导入记录中的复本未添加：%(barcodes)s") % {"barcodes": "、".join(barcodes)}
    return ngettext("导入记录中的 %(n)s 个复本未添加", "导入记录中的 %(n)s 个复本未添加", len(holdings)) % {"n": len(holdings)}


def apply_decision(*, book: Book | None, record: dict, action: str) -> tuple[str, Book | None, str]:
    """Carry out a librarian's decision on a conflict (``record`` is ``ImportRecord.entry``): "keep" writes
    nothing (its note names the record's copies left out); "replace" writes every incoming value that differs
    onto ``book`` (its people too) and adds the copies; "new" creates a separate book with the copies.  Either
    leaves off an ISBN or a call number another book has (``_drop_taken``), which the returned note says.
    Returns (outcome, book, note); raises ValidationError when the copies or values cannot be written.  Call it
    in a transaction."""
    values = dict(record["values"])
    people = [Person(*person) for person in record["people"]]
    holdings = [(barcode, place) for barcode, place in record["holdings"]]
    location = record.get("location")
    if action == "keep":
        # The copies stay out with the record (they may be another book's): the report says which, so that
        # the librarian adds them to the book kept, or decides otherwise next time.
        return "unchanged", book, _copies_left_out(holdings)
    if action == "replace":
        assert book is not None
        changes = {name: value for name, value in values.items() if getattr(book, name) != value}
        taken = _drop_taken(changes, book=book)
        new_people = people if people and people != _current_people(book) else None
        services.book_update(book=book, changes=changes, contributors=new_people)
        _add_copies(book, holdings, location)
        done = _("以导入为准：%(fields)s") % {
            "fields": _labels([*changes, *(["contributors"] if new_people is not None else [])]) or "—"}
        return "updated", book, "；".join(part for part in (done, taken) if part)
    note = _drop_taken(values)
    created = _create_book(values, people, defaults=record.get("create_defaults", {}), source=record.get("source", ""),
                           holdings=holdings, location=location)
    return "created", created, note


def field_label(name: str) -> str:
    own = {"contributors": _("责任者"), "authors": _("责任者"), "barcodes": _("条码")}
    if name in own:
        return own[name]
    for model in (Book, Copy):
        try:
            return str(model._meta.get_field(name).verbose_name)
        except (FieldDoesNotExist, AttributeError):
            continue
    return name


def error_reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, ValidationError):
        if not hasattr(exc, "error_dict"):
            return "; ".join(exc.messages)
        parts = []
        for name, messages in exc.message_dict.items():
            label = field_label(name)
            for message in messages:
                # Prefix the field unless the message already names it ("ISBN 校验位错误…").
                named = name == NON_FIELD_ERRORS or name.lower() in message.lower() or label in message
                parts.append(message if named else f"{label}: {message}")
        return "; ".join(parts)
    return _("数据库错误：%(error)s") % {"error": exc}


#: A readable reason for a row's or a decision's ValidationError, DomainError or DatabaseError.

#: Rows committed together (each in its own savepoint): settings.IMPORT_BATCH_SIZE.
BATCH_SIZE = settings.IMPORT_BATCH_SIZE


@dataclass
class ParsedFile:
    """A catalog file read but not yet written: ``items`` are (line or record number, parser) in file order."""

    format: str
    where: str  # "line" (CSV) or "record" (MARC): what the numbers count
    items: list[tuple[int, Callable[[], Entry]]]
    notices: list[dict]  # problems that fail no row, in ImportSummary.errors' shape


@dataclass
class Outcome:
    """What became of one row or record: created, updated, unchanged, conflict or failed (with the reason).

    ``book_id`` is the book it created, updated, left or conflicts with; a conflict also carries its kind
    ("fields" or "duplicate"), the differing fields with both values, the parsed record (``entry``, to apply a
    decision later) and the book's fingerprint."""

    number: int
    outcome: str
    reason: str = ""
    control_number: str = ""
    isbn: str = ""
    book_id: int | None = None
    conflict_kind: str = ""
    conflicts: list[dict] = field(default_factory=list)
    entry: dict | None = None
    fingerprint: str = ""
    notice: str = ""  # what reading the record warned about (it was read all the same)


def too_many_records() -> InvalidInput:
    limit = settings.IMPORT_MAX_RECORDS
    return InvalidInput("file", _("文件超过 %(limit)s 条记录的上限，请分成几个文件导入") % {"limit": f"{limit:,}"},
                        code="too_many_records")


def xml_too_large() -> InvalidInput:
    return InvalidInput("file", _("XML 文件超过 %(mb)s MB 的上限（IMPORT_XML_MAX_BYTES），请分成几个文件导入") % {
        "mb": round(settings.IMPORT_XML_MAX_BYTES / 1024 / 1024, 1)}, code="too_large")


def xml_too_many_elements() -> InvalidInput:
    return InvalidInput("file", _(
        "XML 文件的元素超过 %(limit)s 个的上限（IMPORT_XML_MAX_ELEMENTS；一条 MARCXML 记录通常有几十到一二百个），"
        "未导入；请检查文件或分成几个文件导入") % {"limit": f"{settings.IMPORT_XML_MAX_ELEMENTS:,}"},
        code="too_many_elements")


def check_xml_size(data: bytes) -> None:
    """Refuse an XML file over IMPORT_XML_MAX_BYTES or IMPORT_XML_MAX_ELEMENTS before it is parsed: the
    elements are counted as they stream past (``marcxml.count_elements``), never built into a tree."""
    if len(data) > settings.IMPORT_XML_MAX_BYTES:
        raise xml_too_large()
    try:
        counted = marcxml.count_elements(data, settings.IMPORT_XML_MAX_ELEMENTS)
    except marcxml.XMLRefused as exc:
        raise InvalidInput("file", _("XML 文件无法读取：%(error)s") % {"error": exc}, code="xml") from None
    if counted > settings.IMPORT_XML_MAX_ELEMENTS:
        raise xml_too_many_elements()


def read_file(*, data: bytes, format: str | None = None) -> ParsedFile:
    """Split a CSV or MARC file into rows or records (parsed lazily, one by one, when written).

    Raises ``InvalidInput`` as ``import_catalog`` says: an unknown format, a file that cannot be read at
    all or that holds no rows or records.
    """
    fmt = resolve_format(format)
    if not data.strip():
        raise InvalidInput("file", _("文件为空"), code="empty")
    # The container is judged from the content whatever ``format`` says (an XML file is never read as CSV
    # or ISO 2709); ``format`` decides the dialect, and refuses XML or MARC when it asks for CSV.
    xml = marcxml.looks_like_xml(data) and not _looks_like_marc(data)
    if fmt == "csv" and xml:
        raise InvalidInput("file", _("这是 XML 文件，不是 CSV；请选 marcxml、unimarcxml 或按内容识别"), code="file_type")
    if fmt is None:
        fmt = "xml" if xml else "marc" if _looks_like_marc(data) else "csv"
    if fmt == "csv":
        header_notices = ImportSummary(format="csv")
        items = _read_csv(data, header_notices)
        parsed = ParsedFile(format="csv", where="line", items=items, notices=header_notices.errors)
    elif xml:
        check_xml_size(data)
        dialect, items, notices = _read_xml(data, FORMAT_DIALECTS.get(fmt))
        parsed = ParsedFile(format=f"{dialect}xml".replace("marc21xml", "marcxml"), where="record", items=items,
                            notices=notices)
    else:
        dialect, items = _read_marc(data, FORMAT_DIALECTS.get(fmt))
        parsed = ParsedFile(format=dialect, where="record", items=items, notices=[])
    if not parsed.items:
        raise InvalidInput("file", NO_RECORDS, code="no_records")
    return parsed


def import_items(items: list[tuple[int, Callable[[], Entry]]], *, location: str | None,
                 dry_run: bool = False, where: str = "record") -> list[Outcome]:
    """Write rows or records, each whole or not at all (a savepoint each); call it in a transaction, one
    batch at a time.  ``dry_run`` judges them the same way and rolls every write back (the outcomes of
    created books then carry no book id)."""
    location = one_line(location or "") or None
    outcomes = []
    with transaction.atomic():
        for number, parse in items:
            entry = None
            try:
                entry = parse()
                outcome = _write(entry, location)
                outcome.number = number
            except (ValidationError, DomainError, DatabaseError) as exc:
                outcome = Outcome(number, "failed", error_reason(exc))
            if entry is not None:
                if entry.notices:
                    # The record was read despite these (pymarc's warnings): the report says so beside it.
                    outcome.notice = "; ".join(dict.fromkeys(entry.notices))
                    outcome.reason = outcome.reason or outcome.notice
                outcome.control_number = entry.control_number
                outcome.isbn = one_line(str(entry.values.get("isbn") or ""))[:32]
            outcomes.append(outcome)
        if dry_run:
            _remember_created_titles(outcomes)
            # Books, copies, index outbox rows and their on-commit work all go with the savepoint.
            transaction.set_rollback(True)
    if dry_run:
        _forget_rolled_back_books(outcomes, where)
    return outcomes


def _remember_created_titles(outcomes: list[Outcome]) -> None:
    """Before a dry run's rollback: each book it created lends its title (as the import would store it) to its
    outcome's ``entry``, so that the report names the book a real import would create, though the book goes."""
    created = {o.book_id: o for o in outcomes if o.outcome == "created" and o.book_id is not None and o.entry is None}
    for pk, title in Book.objects.filter(pk__in=created).values_list("pk", "title"):
        created[pk].entry = {"values": {"title": title}}


def _forget_rolled_back_books(outcomes: list[Outcome], where: str = "record") -> None:
    """After a dry run's rollback: no outcome names a book that only the dry run had created, neither by its
    book id nor in its reason ("(id 87)" becomes "（本文件第 4 条记录）", the record that created it)."""
    ids = {outcome.book_id for outcome in outcomes if outcome.book_id is not None}
    kept = set(Book.objects.filter(pk__in=ids).values_list("pk", flat=True))
    made = {o.book_id: o.number for o in outcomes if o.outcome == "created" and o.book_id not in (None, *kept)}
    label = _("本文件第 %(n)s 行") if where == "line" else _("本文件第 %(n)s 条记录")
    for outcome in outcomes:
        for book_id, number in made.items():
            outcome.reason = re.sub(rf" ?\(id {book_id}\) ?", f"（{label % {'n': number}}）", outcome.reason)
        if outcome.book_id not in kept:
            outcome.book_id = None


def import_catalog(
    *,
    data: bytes,
    filename: str = "",
    format: str | None = None,
    progress: bool = False,
    location: str | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Import books and copies from a CSV or ISO 2709 MARC file's bytes.

    ``format`` is "csv", "marc21" or "unimarc" (also "cnmarc", "usmarc", or "marc" for MARC of
    either dialect); None detects it from the content: a MARC leader or record terminator means MARC,
    UNIMARC when its tags (200/010/210) outnumber MARC21's (245/020/260/264), CSV otherwise.
    ``filename`` is not used to judge the format, since Excel and vendors name files freely.
    ``location``, when given, is where every new copy goes; otherwise a copy goes to its row's or
    holding field's location, else 院本部.  ``progress`` shows a tqdm bar on stderr.  ``dry_run``
    judges every record against the catalog as the import would leave it (one transaction, rolled
    back at the end) and writes nothing.

    Raises ``InvalidInput("format", …)`` for an unknown format and ``InvalidInput("file", …)`` for a
    file that cannot be read at all (undecodable, no header, no ``title`` column, not MARC) or that
    holds no rows or records (a header line only, only record terminators).  Problems
    with single rows are not raised; they are counted and listed in the returned summary, whose
    ``outcomes`` hold every record's outcome in file order.
    """
    parsed = read_file(data=data, format=format)
    summary = ImportSummary(format=parsed.format, where=parsed.where, errors=list(parsed.notices))
    items = parsed.items
    bar = tqdm(total=len(items), disable=not progress, desc=_("导入 %(format)s") % {"format": summary.format},
               unit=_("条"))
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        for start in range(0, len(items), BATCH_SIZE):
            # Rows commit in batches (each row still in its own savepoint, so a bad
            # row rolls back whole): fewer commits, and the search index is updated
            # once per batch instead of once per row.  Batches stay short so that
            # other writers (the lending desk) are not held up for long on SQLite.
            # A dry run keeps them all in the one outer transaction and rolls it back.
            with transaction.atomic():
                outcomes = import_items(items[start : start + BATCH_SIZE], location=location)
            for outcome in outcomes:
                summary.count(outcome)
            bar.update(len(outcomes))
        if dry_run:
            _remember_created_titles(summary.outcomes)
            transaction.set_rollback(True)
    if dry_run:
        _forget_rolled_back_books(summary.outcomes, summary.where)
    bar.close()
    return summary
