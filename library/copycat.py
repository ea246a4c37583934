"""Copy cataloguing: search another library's SRU server, compare its records with ours, import one.

A search runs inside the request, one target at a time, bounded by the SRU timeouts (connect 5 s, read
15 s, the whole answer at most 35 s) and size cap (library/sru.py): the librarian waits for the answer
anyway, there is nothing to write until a record is chosen, and a job would only add polling.  Only
librarians search.

A candidate travels to the browser and back as a token signed with ``django.core.signing`` (the target's id
and the record's XML, compressed): ``copycat_import`` writes only a record this server fetched itself, and
writes it through ``importers.import_items`` so the import's own match rule and conflict rules decide
whether it creates, updates or leaves a book.  What a record of another library says about its own copies
(holdings, barcodes, its call number) is not copied: the branch adds its copies and call number after.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from lxml import etree

from core.errors import DomainError, InvalidInput
from library import importers, marcxml
from library.importers import Entry, parse_person
from library.models import Book, SruTarget
from library.sru import SearchAnswer, SruError, search
from library.validators import ISBN_PREFIX_RE, format_isbn, isbn_token, normalize_isbn

TOKEN_SALT = "library.copycat.record"
#: How long a candidate's token may be sent back to import it (seconds): a day's cataloguing session.
TOKEN_MAX_AGE = 24 * 3600
#: The record's fields shown side by side with the local book, in this order.
COMPARED = ("title", "subtitle", "authors", "publisher", "year", "isbn", "edition", "clc", "subjects")
#: Subjects are shown joined by this and compared as a set.
SUBJECT_SEPARATOR = "；"
#: What another library's record says about its own shelves: never copied.
NOT_COPIED = ("call_number",)
TARGET_FIELDS = ("name", "base_url", "version", "record_schema", "isbn_index", "title_index", "author_index",
                 "internal_network", "enabled", "position")


# --- targets --------------------------------------------------------------------------------------------------


def sru_target_create(**fields: Any) -> SruTarget:
    target = SruTarget(**{name: value for name, value in fields.items() if name in TARGET_FIELDS})
    target.full_clean()
    target.save()
    return target


def sru_target_update(*, target: SruTarget, changes: dict[str, Any]) -> SruTarget:
    for name, value in changes.items():
        if name in TARGET_FIELDS:
            setattr(target, name, value)
    target.full_clean()
    target.save()
    return target


def sru_target_delete(*, target: SruTarget) -> None:
    target.delete()


def sru_target_list(*, enabled_only: bool = False):
    targets = SruTarget.objects.all()
    return targets.filter(enabled=True) if enabled_only else targets


def sru_target_get(*, target_id: int, enabled_only: bool = False) -> SruTarget | None:
    return sru_target_list(enabled_only=enabled_only).filter(pk=target_id).first()


# --- records --------------------------------------------------------------------------------------------------

DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def dc_entry(xml: bytes) -> Entry:
    """A Dublin Core record (SRU's ``dc`` schema) as an import Entry: title (a ``Title : subtitle`` split),
    creators and contributors (role words such as 主编 taken off), the last publisher (dp2 and Aleph write the
    place first), the first four-digit year, the first identifier shaped like an ISBN (``validators.isbn_token``)
    and not typed as another kind (``xsi:type="dnb:IDN"``, ``tel:URN``), subjects, description, language.  A
    record with no Dublin Core element at all is refused (the server answered in another schema)."""
    root = marcxml.parse(xml)
    if next(root.iter(f"{{{DC_NS}}}*"), None) is None:  # another schema than the one asked for (sruthi's isad)
        raise InvalidInput("record", _("记录不是 Dublin Core 格式（而是 %(element)s），请在检索目标中选择对方提供的记录格式")
                           % {"element": etree.QName(root).localname})

    def values_of(name: str) -> list[str]:
        return [" ".join((e.text or "").split()) for e in root.iter(f"{{{DC_NS}}}{name}") if (e.text or "").strip()]

    values: dict[str, Any] = {}
    titles = values_of("title")
    if titles:
        title, _sep, subtitle = titles[0].partition(" : ")
        values["title"], values["subtitle"] = title.strip(), subtitle.strip()
    publishers = values_of("publisher")
    if publishers:
        values["publisher"] = publishers[-1].rpartition(" : ")[2]
    for date in values_of("date"):
        year = importers.extract_year(date)
        if year:
            values["year"] = year
            break
    for identifier in root.iter(f"{{{DC_NS}}}identifier"):
        kind = identifier.get(XSI_TYPE, "")
        if kind and kind.rpartition(":")[2].upper() != "ISBN":
            continue  # typed as something else: the DNB's IDN has an ISBN-10's shape and check digit
        token = isbn_token(" ".join((identifier.text or "").split()))  # the import's rule: shaped like an ISBN
        if token:
            values["isbn"] = token
            break
    values["subjects"] = values_of("subject")
    values["summary"] = "\n".join(values_of("description"))
    languages = values_of("language")
    if languages:
        values["language"] = importers.marc_language(languages[0])
    people = []
    for name in values_of("creator") + values_of("contributor"):
        person = parse_person(name)
        if person.name and person not in people:
            people.append(person)
    values = {k: v for k, v in values.items() if v not in ("", None, [])}
    return Entry(values=values, people=people, holdings=[],
                 create_defaults={} if values.get("language") else {"language": ""})


def record_entry(schema: str, xml: bytes) -> Entry:
    """The import Entry of one record in ``schema``; ``InvalidInput``/``ValidationError`` when unreadable.
    Holdings and the other library's call number are dropped (see the module docstring)."""
    return _record_entry(schema, xml)[0]


def _record_entry(schema: str, xml: bytes) -> tuple[Entry, str]:
    """``record_entry`` and the call number the record gives (shown as a suggestion, never copied)."""
    if schema == SruTarget.Schema.DC:
        try:
            entry = dc_entry(xml)
        except marcxml.XMLRefused as exc:
            raise InvalidInput("record", _("记录无法读取：%(error)s") % {"error": exc}) from None
    else:
        parsed = importers.read_file(data=xml, format="marcxml" if schema == SruTarget.Schema.MARCXML else "unimarcxml")
        entry = parsed.items[0][1]()
    entry.holdings = []
    call_number = " ".join(str(entry.values.get("call_number") or "").split())
    entry.values = {k: v for k, v in entry.values.items() if k not in NOT_COPIED}
    return entry, call_number


def shown_isbn(text: str) -> str:
    """An ISBN as the pages show it: ISBN-10 and ISBN-13 of one book alike (978-…); as written if invalid."""
    try:
        return format_isbn(normalize_isbn(text)) if text else ""
    except ValidationError:
        return text


def _shown(values: dict[str, Any], people) -> dict[str, str]:
    shown = {name: str(values.get(name) or "") for name in COMPARED if name not in ("authors", "subjects")}
    shown["authors"] = "、".join(p.name for p in people)
    shown["subjects"] = SUBJECT_SEPARATOR.join(values.get("subjects") or [])
    shown["isbn"] = shown_isbn(shown["isbn"])
    return shown


def book_shown(book: Book) -> dict[str, str]:
    values = {name: getattr(book, name) for name in COMPARED if name != "authors"}
    return _shown(values, list(book.contributors.order_by("position")))


@dataclass
class Candidate:
    """One record of a search: its fields for the list, a token to import it, the matching local book (by
    the import's match rule) with the fields that differ; or ``problem`` when the record cannot be read."""

    position: int
    fields: dict[str, str] = field(default_factory=dict)
    control_number: str = ""
    token: str = ""
    local: Book | None = None
    local_fields: dict[str, str] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    #: The other library's call number: a suggestion for ours (never copied, never a difference).
    call_number: str = ""
    problem: str = ""
    digest: str = ""  # the first 16 hex digits of the record XML's SHA-256


@dataclass
class CandidatePage:
    target: SruTarget
    by: str
    term: str
    page: int
    total: int
    page_size: int
    candidates: list[Candidate]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def sign_record(target: SruTarget, xml: bytes) -> str:
    """A token carrying ``xml`` for ``target``, signed (see ``token_record``)."""
    return signing.dumps({"t": target.pk, "x": xml.decode("utf-8")}, salt=TOKEN_SALT, compress=True)


def _candidate(target: SruTarget, position: int, xml: bytes | None, problem: str) -> Candidate:
    if xml is None:
        return Candidate(position, problem=problem)
    try:
        entry, call_number = _record_entry(target.record_schema, xml)
    except (DomainError, ValidationError) as exc:
        return Candidate(position, problem=importers.error_reason(exc))
    entry = importers._folded(entry)
    candidate = Candidate(position, fields=_shown(entry.values, entry.people), control_number=entry.control_number,
                          token=sign_record(target, xml), digest=hashlib.sha256(xml).hexdigest()[:16],
                          call_number=call_number)
    if entry.values.get("title"):
        try:
            candidate.local = importers.find_match(entry)
        except ValidationError as exc:  # an ISBN with a wrong check digit: listed, matched with nothing
            candidate.problem, candidate.token = importers.error_reason(exc), ""
    if candidate.local is not None:
        candidate.local_fields = book_shown(candidate.local)
        candidate.differences = [name for name in COMPARED if candidate.fields.get(name)
                                 and _comparable(name, candidate.fields[name]) != _comparable(name,
                                                                                              candidate.local_fields[name])]
    return candidate


def _comparable(name: str, text: str) -> str:
    if name == "isbn":
        try:
            return normalize_isbn(text) if text else ""
        except ValidationError:
            return text
    if name == "subjects":
        return SUBJECT_SEPARATOR.join(sorted({" ".join(s.split()) for s in text.split(SUBJECT_SEPARATOR)} - {""}))
    return " ".join(text.split())


def isbn_term_problem(term: str) -> str:
    """Why ``term`` cannot be an ISBN search ("" when it can): digits, hyphens, spaces and a final X only, as
    written on a book (a leading "ISBN" is allowed); a part of one (978-7-301) is fine, letters are not."""
    text = ISBN_PREFIX_RE.sub("", unicodedata.normalize("NFKC", term).strip(), count=1)
    if not re.fullmatch(r"[0-9][0-9 \-]*[0-9Xx]?", text):
        return _("ISBN 只能包含数字、连字符和末位的 X：%(term)s") % {"term": term}
    return ""


def copycat_search(*, target: SruTarget, by: str, term: str, page: int = 1, page_size: int | None = None
                   ) -> CandidatePage:
    """One page of ``target``'s records for ``term`` searched by ``by`` (isbn, title, author)."""
    term = " ".join((term or "").split())
    if by not in ("isbn", "title", "author"):
        raise InvalidInput("by", _("只能按 ISBN、题名或责任者检索"))
    if not term:
        raise InvalidInput(by, _("请输入检索词"))
    if len(term) > 200:
        raise InvalidInput(by, _("检索词不能超过 200 个字"))
    if by == "isbn" and isbn_term_problem(term):
        raise InvalidInput("isbn", isbn_term_problem(term))
    if page < 1 or page > 1000:
        raise InvalidInput("page", _("页码应在 1 到 1000 之间"))
    if not target.enabled:
        raise SruError("sru_disabled", _("检索目标 %(name)s 已停用") % {"name": target.name})
    page_size = page_size or settings.SRU_PAGE_SIZE
    answer: SearchAnswer = search(target, by=by, term=term, start=(page - 1) * page_size + 1, maximum=page_size)
    return CandidatePage(target=target, by=by, term=term, page=page, total=answer.total, page_size=page_size,
                         # A server may send more than it was asked for (15,843 records took a worker past its
                         # timeout in the attack of issue 18): a page is page_size candidates, whatever came.
                         candidates=[_candidate(target, r.position, r.xml, r.problem)
                                     for r in answer.records[:page_size]])


# --- importing one --------------------------------------------------------------------------------------------


@dataclass
class CopyResult:
    """What importing one record did: ``outcome`` as the import says (created, updated, unchanged, conflict,
    failed), the book, the reason, and for
    a conflict the differing fields with both values."""

    outcome: str
    book: Book | None
    reason: str = ""
    conflicts: list[dict] = field(default_factory=list)
    #: For a conflict, the local book's fingerprint as compared (``importers.book_fingerprint``): sent back with
    #: the decision, which is refused when the book has changed since.
    fingerprint: str = ""


def token_record(*, target: SruTarget, token: str) -> bytes:
    """The record XML a token carries, if this server signed it for ``target`` within TOKEN_MAX_AGE."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidInput("token", _("候选记录已过期，请重新检索"), code="expired") from None
    except signing.BadSignature:
        raise InvalidInput("token", _("候选记录无效（签名不符），请重新检索"), code="bad_signature") from None
    if not isinstance(data, dict) or data.get("t") != target.pk or not isinstance(data.get("x"), str):
        raise InvalidInput("token", _("候选记录不属于这个检索目标，请重新检索"), code="bad_signature")
    return data["x"].encode("utf-8")


#: What a librarian may decide on a conflict (as for a file import's conflict): keep the local record, replace
#: its differing fields with the record's, or create a separate book.
ON_CONFLICT = ("keep", "replace", "new")


def copycat_import(*, target: SruTarget, token: str, on_conflict: str = "", fingerprint: str = "") -> CopyResult:
    """Write the record ``token`` carries as the import writes a record (created, updated, left or reported
    as a conflict by the import's rules); copies and a call number are the librarian's next steps.

    ``on_conflict`` (keep, replace, new) decides a conflict in the same transaction — ``importers.apply_decision``,
    the file import's decision: "keep" writes nothing (unchanged), "replace" writes the differing fields through
    ``library.services`` (updated), "new" creates a separate book (created).  Without it a conflict is reported
    (with the book's ``fingerprint``) and nothing is written.  As for a file import's decision, "keep" and
    "replace" need the ``fingerprint`` the conflict came with and are refused (``DomainError`` 409
    ``book_changed``, nothing written) when the book the record matches now is not that book as it was: edited,
    deleted, or decided by another librarian meanwhile."""
    if on_conflict and on_conflict not in ON_CONFLICT:
        raise InvalidInput("on_conflict", _("冲突时只能选择 keep、replace 或 new"))
    checked = on_conflict in ("keep", "replace")
    if checked and not fingerprint:
        raise InvalidInput("fingerprint", _("保留或以导入为准须附上冲突时本馆记录的 fingerprint"), code="required")
    xml = token_record(target=target, token=token)
    try:
        entry = record_entry(target.record_schema, xml)
    except (DomainError, ValidationError) as exc:
        return CopyResult("failed", None, importers.error_reason(exc))
    with transaction.atomic():
        outcome = importers.import_items([(1, lambda: entry)], location=None)[0]
        if checked and outcome.book_id is not None:
            # Under the book's lock, as a file import's decision: of two decisions sent at once the second sees
            # the first one's writes; a rerun that wrote (the book went, so the record created one) rolls back.
            book = Book.objects.select_for_update().filter(pk=outcome.book_id).first()
            if book is None or importers.book_fingerprint(book) != fingerprint:
                raise DomainError("book_changed", _("比较之后本馆的这种书已被修改或删除；请重新导入此记录，比较后再决定"))
        if outcome.outcome == "conflict" and on_conflict:
            book = Book.objects.select_for_update().filter(pk=outcome.book_id).first()
            try:
                with transaction.atomic():
                    name, written, note = importers.apply_decision(book=book, record=outcome.entry,
                                                                   action=on_conflict)
            except (ValidationError, DatabaseError) as exc:
                return CopyResult("failed", None, importers.error_reason(exc))
            return CopyResult(name, written, note)
    book = Book.objects.filter(pk=outcome.book_id).first() if outcome.book_id and outcome.outcome != "failed" else None
    # The import's conflicts (current / incoming) in this page's terms (ours / theirs).
    conflicts = [{"field": c["field"], "label": c["label"], "theirs": c["incoming"], "ours": c["current"]}
                 for c in outcome.conflicts]
    return CopyResult(outcome.outcome, book, outcome.reason, conflicts, outcome.fingerprint)


def differences(fields: dict[str, str], local_fields: dict[str, str], names: list[str]) -> list[dict]:
    """``[{"field", "label", "theirs", "ours"}]`` for the fields named (for pages and the API)."""
    return [{"field": name, "label": importers.field_label(name), "theirs": fields.get(name, ""),
             "ours": local_fields.get(name, "")} for name in names]


def record_fields(*, target: SruTarget, token: str) -> dict[str, str]:
    """The shown fields of the record a token carries (for a conflict page without the import's own list)."""
    entry = importers._folded(record_entry(target.record_schema, token_record(target=target, token=token)))
    return _shown(entry.values, entry.people)
