"""Writes to the catalog.  Every function is keyword-only, validates with
``full_clean()`` and runs in one transaction; domain conflicts raise
``DomainError`` and bad values raise Django's ``ValidationError`` naming the field.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core import ratelimit
from core.errors import DomainError, InvalidInput
from core.media import OutsideMediaRoot, delete_media, open_media
from library import callnumbers, labels, selectors
from library.circulation import copy_came_free
from library.fulltext import Extraction, check_file, download_name, extract_text
from library.models import (
    Book,
    BookSubject,
    CallNumberCounter,
    Contributor,
    Copy,
    Hold,
    Loan,
    Paper,
    PaperAuthor,
    PaperDownload,
    PaperKeyword,
    subject_key,
)
from library.validators import normalize_barcode


class Person(NamedTuple):
    name: str
    role: str = Contributor.Role.AUTHOR
    #: The romanised form of a name written in another script ("林屋辰三郎" → "Hayashiya, Tatsusaburō"); "" if none.
    name_romanized: str = ""


BOOK_FIELDS = (
    "isbn",
    "title",
    "subtitle",
    "publisher",
    "year",
    "edition",
    "language",
    "clc",
    "call_number",
    "subjects",
    "summary",
    "cover_url",
    "title_romanized",
    "subtitle_romanized",
    "other_titles",
    "responsibility",
    "publisher_romanized",
)
#: Book fields that hold lists of strings.
LIST_FIELDS = ("subjects", "other_titles")
COPY_FIELDS = ("barcode", "location", "shelf", "status", "acquired_on", "note")
PAPER_FIELDS = ("title", "abstract", "keywords", "year", "kind", "awards", "venue", "visibility")


def clean_terms(values: Iterable[str]) -> list[str]:
    """Strip, drop empties and duplicates, keep order."""
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _clean_people(people: Sequence[Person | str]) -> list[Person]:
    cleaned = []
    for person in people:
        if isinstance(person, str):
            person = Person(person)
        name = person.name.strip()
        if not name:
            continue
        if person.role not in Contributor.Role.values:
            raise ValidationError({"contributors": _("未知责任方式 %(role)r") % {"role": person.role}})
        if len(name) > 128:
            raise ValidationError({"authors": _("姓名过长（最多 128 字）：%(name)s…") % {"name": name[:20]}})
        romanized = person.name_romanized.strip()
        if len(romanized) > 128:
            raise ValidationError({"authors": _("姓名过长（最多 128 字）：%(name)s…") % {"name": romanized[:20]}})
        cleaned.append(Person(name, person.role, "" if romanized == name else romanized))
    return cleaned


def _check_isbn_free(book: Book) -> None:
    if book.isbn and Book.objects.filter(isbn=book.isbn).exclude(pk=book.pk).exists():
        existing = Book.objects.filter(isbn=book.isbn).values_list("pk", flat=True).first()
        raise DomainError("duplicate_isbn", _("ISBN %(isbn)s 已在目录中") % {"isbn": book.isbn}, field="isbn",
                          existing=existing)


def _check_call_number_free(book: Book) -> None:
    if book.call_number:
        holder = Book.objects.filter(call_number=book.call_number).exclude(pk=book.pk).values("pk", "title").first()
        if holder is not None:
            raise DomainError(
                "duplicate_call_number",
                _("索书号 %(call_number)s 已被《%(title)s》使用") % {"call_number": book.call_number,
                                                               "title": holder["title"]},
                field="call_number", existing=holder["pk"],
            )


def _check_book_free(book: Book) -> None:
    """The book's ISBN and call number are not another book's."""
    _check_isbn_free(book)
    _check_call_number_free(book)


def _save_checked(obj: Book | Copy, check_free: Callable[[Any], None], update_fields: list[str] | None) -> None:
    """Validate, check the unique number is free, save; a number taken between check and save is the same error."""
    obj.full_clean(validate_constraints=False, validate_unique=False)
    check_free(obj)
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError:
        # Another request took the ISBN or barcode between the check and the save.
        check_free(obj)
        raise


def _save_book(book: Book, update_fields: list[str] | None = None) -> None:
    _save_checked(book, _check_book_free, update_fields)


def _set_contributors(book: Book, people: list[Person]) -> None:
    book.contributors.all().delete()
    Contributor.objects.bulk_create(
        Contributor(book=book, name=p.name, role=p.role, name_romanized=p.name_romanized, position=i)
        for i, p in enumerate(people)
    )


@transaction.atomic
def book_create(
    *,
    title: str,
    contributors: Sequence[Person | str] = (),
    isbn: str | None = None,
    subtitle: str = "",
    publisher: str = "",
    year: int | None = None,
    edition: str = "",
    language: str = "zh",
    clc: str = "",
    call_number: str = "",
    subjects: Sequence[str] = (),
    summary: str = "",
    cover_url: str = "",
    title_romanized: str = "",
    subtitle_romanized: str = "",
    other_titles: Sequence[str] = (),
    responsibility: str = "",
    publisher_romanized: str = "",
) -> Book:
    people = _clean_people(contributors)
    book = Book(
        isbn=isbn,
        title=title,
        subtitle=subtitle,
        publisher=publisher,
        year=year,
        edition=edition,
        language=language,
        clc=clc,
        call_number=call_number,
        subjects=clean_terms(subjects),
        summary=summary,
        cover_url=cover_url,
        title_romanized=title_romanized,
        subtitle_romanized=subtitle_romanized,
        other_titles=clean_terms(other_titles),
        responsibility=responsibility,
        publisher_romanized=publisher_romanized,
    )
    _save_book(book)
    _set_contributors(book, people)
    return book


@transaction.atomic
def book_update(*, book: Book, changes: dict[str, Any], contributors: Sequence[Person | str] | None = None) -> Book:
    """Apply ``changes`` (a subset of BOOK_FIELDS) and, when given, replace the contributors."""
    unknown = set(changes) - set(BOOK_FIELDS)
    if unknown:
        raise ValueError(f"not book fields: {sorted(unknown)}")
    changes = {**changes, **{name: clean_terms(changes[name] or []) for name in LIST_FIELDS if name in changes}}
    for field, value in changes.items():
        setattr(book, field, value)
    if changes:
        _save_book(book, update_fields=[*changes, "updated_at"])
    if contributors is not None:
        _set_contributors(book, _clean_people(contributors))
        if not changes:
            # bulk_create sends no signals: saving the book marks the record
            # changed for everything that follows it (the search index).
            book.save(update_fields=["updated_at"])
    if {"clc", "call_number"} & set(changes) and book.clc and not book.call_number and book.copies.exists():
        # Classified (or its number cleared) after its copies were catalogued: numbered now.
        call_number_assign(book=book)
    return book


@transaction.atomic
def book_delete(*, book: Book) -> None:
    """Delete a book and its copies; refused while any copy is lent or waits on the hold shelf, and
    for a book that was ever lent or held (``book_has_history``): loans and holds keep their book, so
    such a book stays and its copies are withdrawn instead (Koha's rule too)."""
    if book.copies.filter(status__in=Copy.CIRCULATING).exists():
        raise DomainError("copy_in_circulation", _("有复本借出或在预约架上，不能删除"))
    if Loan.objects.filter(book=book).exists() or Hold.objects.filter(book=book).exists():
        raise DomainError(
            "book_has_history",
            _("该书有借阅或预约记录，不能删除；可将其复本剔除（PATCH /copies/{barcode} status=withdrawn）"),
        )
    try:
        book.delete()
    except ProtectedError:  # history written between the check and the delete
        raise DomainError("book_has_history", _("该书有借阅或预约记录，不能删除")) from None


# --- the subject index (library.related's "same subjects") ------------------------------------------------


def _index_terms(values) -> set[str]:
    """The index keys of a subject or keyword list as stored: each distinct non-empty string, as written (the
    lists' own cleaning is the services'; a list the admin saved is indexed as it is)."""
    if not isinstance(values, list):
        return set()
    return {subject_key(v) for v in values if isinstance(v, str) and v}


def subject_index_sync(*, book: Book | None = None, paper: Paper | None = None, created: bool = False) -> None:
    """Bring the subject index rows of ``book`` (its ``subjects``) or ``paper`` (its ``keywords``) in step with
    its list: called after every save (library.receivers).  A new record costs one insert (none without
    terms); a changed one a read of its rows, and writes only for the terms that changed."""
    if book is not None:
        model, owner, obj, values, extra = BookSubject, "book", book, book.subjects, {"year": book.year}
    elif paper is not None:
        model, owner, obj, values, extra = PaperKeyword, "paper", paper, paper.keywords, {}
    else:
        raise TypeError("subject_index_sync needs a book or a paper")
    wanted = _index_terms(values)
    rows = model.objects.filter(**{owner: obj})
    have = {} if created else {row["term"]: row for row in rows.values("term", *extra)}
    if set(have) - wanted:
        rows.filter(term__in=set(have) - wanted).delete()
    if wanted - set(have):
        model.objects.bulk_create([model(**{owner: obj}, term=term, **extra) for term in sorted(wanted - set(have))],
                                  ignore_conflicts=True)
    if extra and any(row["year"] != book.year for term, row in have.items() if term in wanted):
        rows.exclude(term__in=wanted - set(have)).update(**extra)


@transaction.atomic
def subject_index_rebuild(*, batch: int = 5000) -> int:
    """Write the whole subject index again from the books' and papers' lists (after a bulk load that sent no
    signals, or to repair it); returns the rows written."""
    written = 0
    for model, owner, source, field in ((BookSubject, "book_id", Book, "subjects"),
                                        (PaperKeyword, "paper_id", Paper, "keywords")):
        model.objects.all().delete()
        rows = []
        for row in source.objects.order_by("pk").values("pk", field, "year").iterator(chunk_size=batch):
            extra = {"year": row["year"]} if model is BookSubject else {}
            rows += [model(**{owner: row["pk"]}, term=term, **extra) for term in sorted(_index_terms(row[field]))]
            if len(rows) >= batch:
                written += len(model.objects.bulk_create(rows))
                rows = []
        written += len(model.objects.bulk_create(rows))
    return written


def _check_barcode_free(copy: Copy) -> None:
    if Copy.objects.filter(barcode=copy.barcode).exclude(pk=copy.pk).exists():
        raise DomainError("duplicate_barcode", _("条码 %(barcode)s 已被使用") % {"barcode": copy.barcode}, field="barcode")


def _save_copy(copy: Copy, update_fields: list[str] | None = None) -> None:
    _save_checked(copy, _check_barcode_free, update_fields)


def _check_manual_status(status: str) -> None:
    if status in Copy.CIRCULATING:
        raise InvalidInput(
            "status", _("状态 %(status)s 只能由借还流程设置") % {"status": status}, code="status_reserved"
        )


@transaction.atomic
def copy_create(
    *,
    book: Book,
    barcode: str,
    location: str = "院本部",
    shelf: str = "",
    status: str = Copy.Status.AVAILABLE,
    acquired_on: date | None = None,
    note: str = "",
) -> Copy:
    _check_manual_status(status)
    copy = Copy(
        book=book, barcode=barcode, location=location, shelf=shelf, status=status, acquired_on=acquired_on, note=note
    )
    # Numbered before the copy is written: the book's lock is taken first (see call_number_assign).  A copy
    # refused below rolls the number back with it.
    call_number_assign(book=book)
    _save_copy(copy)
    return copy


# --- call numbers ----------------------------------------------------------------------------------------


def _first_author(book: Book) -> str:
    people = list(book.contributors.order_by("position").values_list("name", "role"))
    authors = [name for name, role in people if role == Contributor.Role.AUTHOR]
    return (authors or [name for name, _role in people] or [""])[0]


def _format_call_number(clc: str, mark: str, number: int) -> str:
    """种次号: D923/1, D923/2 …; 著者号: D923/ZM for the first book of that author mark, then D923/ZM2 …"""
    if not mark:
        return f"{clc}/{number}"
    return f"{clc}/{mark}" if number == 1 else f"{clc}/{mark}{number}"


def _carried(clc: str, mark: str) -> list[str]:
    """The book marks (without volume marks) of the books of class ``clc`` whose mark starts with ``mark``."""
    marks = []
    for call_number in Book.objects.filter(call_number__startswith=f"{clc}/{mark}").values_list("call_number",
                                                                                             flat=True):
        parts = callnumbers.split_call_number(call_number)
        if parts.klass == clc and parts.mark.startswith(mark):
            marks.append(parts.mark)
    return marks


def _seed(clc: str, mark: str) -> int:
    """The highest running number books already carry under ``mark`` in ``clc`` (imports, the demo, a
    librarian's own numbers): a new counter starts after it."""
    numbers = [0]
    for carried in _carried(clc, mark):
        digits = carried[len(mark):]
        if digits.isdigit():
            numbers.append(int(digits))
        elif mark and not digits:
            numbers.append(1)
    return max(numbers)


def _next_number(key: str, clc: str, mark: str) -> int:
    """Take the next free running number of ``key`` under its counter's row lock (held to the commit)."""
    counter = CallNumberCounter.objects.select_for_update().filter(key=key).first()
    if counter is None:
        # ON CONFLICT DO NOTHING: the first two books of a class create the row once, and both then wait
        # for its lock.
        CallNumberCounter.objects.bulk_create([CallNumberCounter(key=key, last=_seed(clc, mark))],
                                              ignore_conflicts=True)
        counter = CallNumberCounter.objects.select_for_update().get(key=key)
    number = counter.last + 1
    # A number typed by a librarian (or imported) after the counter was made is skipped, not given twice.
    while (wanted := callnumbers.split_call_number(_format_call_number(clc, mark, number)).mark) in _carried(
            clc, wanted):
        number += 1
    counter.last = number
    counter.save(update_fields=["last"])
    return number


def call_number_assign(*, book: Book, scheme: str | None = None) -> str:
    """Give ``book`` a call number unless it has one or has no CLC class; returns its call number ("" if none).

    ``scheme`` (default ``settings.CALL_NUMBER_SCHEME``): "accession" gives the class and the next 种次号 of
    the class (D923/1, D923/2 …); "author" the class and the first author's mark (``callnumbers.author_mark``)
    with a running number for the second and later books of one mark (D923/ZM, D923/ZM2 …); a book whose
    author gives no letters is numbered as by accession.  A number already set is never changed.

    Runs in the caller's transaction.  Concurrency: the book's row is locked first (two copies of one book
    catalogued at once number it once; FOR NO KEY UPDATE, which a copy's foreign key check does not
    wait for), then the counter's row (two books of one class wait for each other); on SQLite every write
    transaction is IMMEDIATE and runs alone.  The unique constraint on call numbers is the last guard: a
    number a librarian typed meanwhile is a DomainError, never a second book with the same number.
    """
    scheme = scheme or settings.CALL_NUMBER_SCHEME
    if scheme not in ("accession", "author"):
        raise ValueError(f"unknown call number scheme {scheme!r}")
    if book.call_number or not book.clc:
        return book.call_number  # numbered already (never renumbered) or not classified: nothing to lock
    with transaction.atomic():
        current = Book.objects.select_for_update(no_key=True).filter(pk=book.pk).first()
        if current is None or current.call_number or not current.clc:
            book.call_number = current.call_number if current is not None else book.call_number
            return book.call_number
        mark = callnumbers.author_mark(_first_author(current) or current.title) if scheme == "author" else ""
        key = f"{current.clc}/{mark}" if mark else current.clc
        current.call_number = _format_call_number(current.clc, mark, _next_number(key, current.clc, mark))
        # Only the number is written (a full_clean of an old record's other fields must not stop a copy).
        try:
            with transaction.atomic():
                current.save(update_fields=["call_number", "updated_at"])
        except IntegrityError:
            _check_call_number_free(current)  # typed into another book a moment ago
            raise
    book.call_number = current.call_number
    return book.call_number


# --- labels ----------------------------------------------------------------------------------------------


class PrintedLabels(NamedTuple):
    pdf: bytes
    copies: list[Copy]  # in shelf order, as on the sheet
    labels: int


def labels_print(*, kind: str = "both", barcodes: Sequence[str] = (), accessioned_since: date | None = None,
                 unprinted: bool = False, mark_printed: bool = True) -> PrintedLabels:
    """The PDF sheet of spine and/or barcode labels (``kind``: spine, barcode, both) of the chosen copies, in
    shelf order; with ``mark_printed`` their ``label_printed_at`` becomes now (so ``unprinted`` passes them
    over next time).  Choosing: ``barcodes`` (as typed or scanned), ``accessioned_since``, ``unprinted``,
    together narrowing (``selectors.label_copies``).

    Raises InvalidInput naming the field: nothing chosen, barcodes that do not exist, no copy left, or more
    than ``LABELS_MAX_PER_REQUEST`` labels (``too_many_labels``: a sheet is drawn in the request).
    """
    if kind not in labels.KINDS:
        raise InvalidInput("kind", _("标签种类应为 spine、barcode 或 both"), code="invalid")
    wanted = []
    for raw in barcodes:
        try:
            wanted.append(normalize_barcode(raw))
        except ValidationError as exc:
            raise InvalidInput("barcodes", exc.messages[0], code="barcode_format") from None
    wanted = list(dict.fromkeys(wanted))
    field = "barcodes" if wanted else "accessioned_since" if accessioned_since else "unprinted"
    if not wanted and accessioned_since is None and not unprinted:
        raise InvalidInput("barcodes", _("请给出条码、入藏起始日期，或勾选“只打印标签未打印过的复本”"), code="no_selection")
    limit = settings.LABELS_MAX_PER_REQUEST
    per_copy = labels.labels_per_copy(kind)
    chosen = selectors.label_copies(barcodes=wanted, accessioned_since=accessioned_since, unprinted=unprinted)
    copies = list(chosen[: limit // per_copy + 1])
    if len(copies) * per_copy > limit:
        total = chosen.count()
        raise InvalidInput(field, _("一次最多打印 %(limit)d 张标签，所选 %(copies)d 册共 %(labels)d 张；请缩小范围")
                           % {"limit": limit, "copies": total, "labels": total * per_copy}, code="too_many_labels")
    if wanted:
        unknown = sorted(set(wanted) - {copy.barcode for copy in copies}
                         - set(Copy.objects.filter(barcode__in=wanted).values_list("barcode", flat=True)))
        if unknown:
            raise InvalidInput("barcodes", _("没有这些条码：%(barcodes)s") % {"barcodes": "、".join(unknown[:20])},
                               code="unknown_barcodes")
    if not copies:
        raise InvalidInput(field, _("没有符合条件的复本"), code="no_copies")
    copies.sort(key=lambda copy: (callnumbers.shelf_order(copy.book.call_number), copy.barcode))
    pdf = labels.labels_pdf(copies, kind=kind, library_name=settings.LIBRARY_NAME)
    if mark_printed:
        printed_at = timezone.now()
        Copy.objects.filter(pk__in=[copy.pk for copy in copies]).update(label_printed_at=printed_at)
        for copy in copies:
            copy.label_printed_at = printed_at
    return PrintedLabels(pdf=pdf, copies=copies, labels=len(copies) * per_copy)


@transaction.atomic
def copy_update(
    *, copy: Copy, changes: dict[str, Any], actor: AbstractBaseUser | None = None, channel: str = "api"
) -> Copy:
    unknown = set(changes) - set(COPY_FIELDS)
    if unknown:
        raise ValueError(f"not copy fields: {sorted(unknown)}")
    # Lock the row: circulation changes status concurrently.
    current = Copy.objects.select_for_update().get(pk=copy.pk)
    if "status" in changes and changes["status"] != current.status:
        _check_manual_status(changes["status"])
        if current.status in Copy.CIRCULATING:
            raise DomainError(
                "copy_in_circulation", _("复本借出或在预约架上，状态由借还流程管理")
            )
    previous_status = current.status
    for field, value in changes.items():
        setattr(current, field, value)
    if changes:
        _save_copy(current, update_fields=[*changes, "updated_at"])
    if current.status == Copy.Status.AVAILABLE and previous_status != Copy.Status.AVAILABLE:
        # Back from repair (or found again): readers waiting in the queue come before the shelf.
        if copy_came_free(copy=current, from_status=Copy.Status.AVAILABLE, actor=actor, channel=channel):
            current.refresh_from_db()
    return current


@transaction.atomic
def copy_delete(*, copy: Copy) -> None:
    """Delete a copy that never circulated.  A copy with loans or holds is kept for that history
    (409 ``copy_has_history``); taking it out of the holdings is ``status=withdrawn``."""
    current = Copy.objects.select_for_update().get(pk=copy.pk)
    if current.status in Copy.CIRCULATING:
        raise DomainError("copy_in_circulation", _("复本借出或在预约架上，不能删除"))
    history = DomainError(
        "copy_has_history",
        _('复本 %(barcode)s 有借阅或预约记录，不能删除；可改为剔除：PATCH /copies/%(barcode)s {"status": "withdrawn"}')
        % {"barcode": current.barcode},
    )
    if Loan.objects.filter(copy=current).exists() or Hold.objects.filter(copy=current).exists():
        raise history
    try:
        current.delete()
    except ProtectedError:  # history written between the check and the delete
        raise history from None


def _set_paper_authors(paper: Paper, names: Sequence[str]) -> None:
    paper.paper_authors.all().delete()
    PaperAuthor.objects.bulk_create(
        PaperAuthor(paper=paper, name=name, position=i) for i, name in enumerate(clean_terms(names))
    )


def _paper_quota_exempt(actor) -> bool:
    return actor is None or getattr(actor, "is_superuser", False) or user_has_role(actor, Role.LIBRARIAN)


def _paper_rate(actor) -> tuple[str, ratelimit.Limit] | None:
    """A judge enters at most ``PAPERS_CREATED_PER_DAY`` papers in a rolling day (librarians, who catalogue
    the court's papers, and superusers are exempt).  The ninth attack entered 2,000 public papers with long
    abstracts in half a minute: they outranked the real books and slowed every search.  Creations are
    counted, not papers held, so deleting papers frees no quota."""
    if _paper_quota_exempt(actor):
        return None
    return f"papers-created:user:{actor.pk}", ratelimit.Limit(settings.PAPERS_CREATED_PER_DAY, 24 * 3600, buckets=24)


def _take_paper_quota(actor) -> None:
    rate = _paper_rate(actor)
    if rate is None:
        return
    key, limit = rate
    if ratelimit.take(key, limit):
        raise DomainError("too_many_papers",
                          _("24 小时内最多录入 %(limit)s 篇调研成果") % {"limit": limit.limit},
                          status=429)


def _take_paper_edit_quota(actor) -> None:
    """A judge saves changes to papers at most ``PAPER_EDITS_PER_DAY`` times in a rolling day (exempt as for
    creations).  Every save queues the paper, its full text included, for the search index: the twelfth
    attack rewrote 20 papers 1,000 times with 20,000-character abstracts and the index grew from 13 MB to
    590 MB in four minutes."""
    if _paper_quota_exempt(actor):
        return
    limit = ratelimit.Limit(settings.PAPER_EDITS_PER_DAY, 24 * 3600, buckets=24)
    wait = ratelimit.take(f"papers-edited:user:{actor.pk}", limit)
    if wait:
        raise DomainError("too_many_paper_edits",
                          _("24 小时内最多修改调研成果 %(limit)d 次")
                          % {"limit": limit.limit}, status=429, retry_after=wait)


@transaction.atomic
def paper_create(
    *,
    title: str,
    authors: Sequence[str] = (),
    abstract: str = "",
    keywords: Sequence[str] = (),
    year: int | None = None,
    kind: str = Paper.Kind.RESEARCH_PROJECT,
    awards: str = "",
    venue: str = "",
    visibility: str = Paper.Visibility.INTERNAL,
    created_by: AbstractBaseUser | None = None,
) -> Paper:
    paper = Paper(
        title=title,
        abstract=abstract,
        keywords=clean_terms(keywords),
        year=year,
        kind=kind,
        awards=awards,
        venue=venue,
        visibility=visibility,
        created_by=created_by,
    )
    paper.full_clean()
    _take_paper_quota(created_by)  # after validation, so that a refused form costs nothing
    paper.save()
    _set_paper_authors(paper, authors)
    return paper


@transaction.atomic
def paper_update(*, paper: Paper, changes: dict[str, Any], authors: Sequence[str] | None = None,
                 actor: AbstractBaseUser | None = None) -> Paper:
    """Apply ``changes`` (a subset of PAPER_FIELDS) and, when given, replace the authors; a save by ``actor``
    counts against the paper-edit quota (``_take_paper_edit_quota``)."""
    unknown = set(changes) - set(PAPER_FIELDS)
    if unknown:
        raise ValueError(f"not paper fields: {sorted(unknown)}")
    if not Paper.objects.select_for_update().filter(pk=paper.pk).exists():
        raise _paper_gone(paper.pk)  # deleted since it was loaded (saving it was a 500)
    if "keywords" in changes:
        changes = {**changes, "keywords": clean_terms(changes["keywords"] or [])}
    for field, value in changes.items():
        setattr(paper, field, value)
    if changes:
        paper.full_clean()
    if changes or authors is not None:
        _take_paper_edit_quota(actor)  # after validation, so that a refused form costs nothing
    if changes:
        paper.save(update_fields=[*changes, "updated_at"])
    if authors is not None:
        _set_paper_authors(paper, authors)
        if not changes:
            paper.save(update_fields=["updated_at"])
    return paper


def paper_download_record(*, paper: Paper, reader: AbstractBaseUser | None, now=None) -> PaperDownload:
    """Note that ``reader`` (None or an anonymous user: nobody known) downloaded ``paper``'s full text: one
    INSERT, nothing read, so serving the file is not slowed.  The reports count these rows."""
    known = reader if reader is not None and reader.is_authenticated else None
    return PaperDownload.objects.create(paper=paper, reader=known, at=now or timezone.now())


def _file_storage():
    return Paper._meta.get_field("file").storage


def _delete_file_on_commit(name: str) -> None:
    if name:
        storage = _file_storage()
        transaction.on_commit(lambda: delete_media(storage, name, folder="papers"))


def paper_file_discard(*, name: str) -> None:
    """Delete a stored file that no committed paper names (an upload whose transaction failed)."""
    if name:
        delete_media(_file_storage(), name, folder="papers")


def _paper_gone(paper_id: int | None) -> DomainError:
    return DomainError("paper_not_found", _("调研成果 %(id)s 不存在") % {"id": paper_id}, status=404)


@transaction.atomic
def paper_delete(*, paper: Paper) -> None:
    papers_delete(papers=Paper.objects.filter(pk=paper.pk))


@transaction.atomic
def papers_delete(*, papers) -> int:
    """Delete the papers of the queryset ``papers`` and, once that commits, their files; returns how many.

    The file names are read under the rows' locks, not from objects loaded earlier: an upload that
    committed meanwhile replaced the file (and deleted the one such an object names), and an upload still
    running waits for this transaction and then finds its paper gone (``paper_store_file``).
    """
    ids = list(papers.values_list("pk", flat=True))  # the admin's querysets may be DISTINCT: no FOR UPDATE there
    locked = dict(Paper.objects.select_for_update().filter(pk__in=ids).values_list("pk", "file"))
    Paper.objects.filter(pk__in=locked).delete()
    for name in locked.values():
        _delete_file_on_commit(name)
    return len(locked)


def paper_attach_file(*, paper: Paper, data: bytes, filename: str) -> Paper:
    """Check, store and extract the text of a paper's full-text file, replacing any earlier one.

    Runs ``paper_store_file`` and then ``paper_extract_text``, which waits for the sandboxed parser (up to
    ``PAPER_EXTRACT_WALL_SECONDS``): call it outside a transaction, and not in a request (commands, tests;
    requests use ``library.tasks.paper_upload_file``, which leaves the reading to a job).
    """
    paper_store_file(paper=paper, data=data, filename=filename)
    return paper_extract_text(paper=paper)


_STORED_FILE_FIELDS = ("file", "file_name", "file_type", "file_size", "full_text", "extraction_status",
                       "extraction_error")


def paper_store_file(*, paper: Paper, data: bytes, filename: str) -> Paper:
    """Check the type and store a paper's full-text file, replacing any earlier one; its text is pending.

    Raises InvalidInput (field ``file``) for a file too large, empty or of another type, and DomainError
    ``paper_not_found`` (404) for a paper deleted since ``paper`` was loaded; the new file is then not kept,
    nor when the caller's transaction fails (delete it with ``paper_file_discard``).  Parses nothing.
    """
    if len(data) > settings.PAPER_MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "file",
            _("文件超过 %(mb)s MB") % {"mb": settings.PAPER_MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="file_too_large",
        )
    file_type = check_file(data)
    storage = _file_storage()
    before = (paper.file.name, paper.file_type)
    paper.file_type = file_type
    paper.file.save("upload", ContentFile(data), save=False)  # before the row lock: writing takes a while
    new_name = paper.file.name
    try:
        with transaction.atomic():
            # The file being replaced is the one the row names now, under its lock: an upload that committed
            # since ``paper`` was loaded replaced the file ``paper`` names, and two uploads that both took
            # that older name each left the other's file behind (15 at once left 8).  A paper deleted
            # meanwhile is not written back (a 500 before, or a 200 that kept the file of a deleted paper).
            old_name = Paper.objects.select_for_update().filter(pk=paper.pk).values_list("file", flat=True).first()
            if old_name is None:
                raise _paper_gone(paper.pk)
            paper.file_name = download_name(filename, file_type)
            paper.file_size = len(data)
            paper.full_text = ""
            paper.extraction_status = Paper.ExtractionStatus.PENDING
            paper.extraction_error = ""
            paper.save(update_fields=[*_STORED_FILE_FIELDS, "updated_at"])
            _delete_file_on_commit(old_name)
    except BaseException:
        delete_media(storage, new_name, folder="papers")  # the file of an upload that did not happen is not kept
        paper.file, paper.file_type = before
        raise
    return paper


def paper_extract_text(*, paper: Paper) -> Paper:
    """Read the text of the paper's stored file in a sandboxed child process and record the outcome.

    A file that cannot be read, or hits a limit, stays attached: ``extraction_status`` becomes failed and
    ``extraction_error`` says why.  If another upload replaced the file meanwhile, nothing is recorded.
    Slow (see ``fulltext.extract_text``); holds no transaction while the child runs.
    """
    stored_name = paper.file.name
    if not stored_name:
        return paper
    try:
        with open_media(paper.file) as handle:
            data = handle.read()
    except (FileNotFoundError, OutsideMediaRoot):
        extraction = Extraction(error=_("全文文件缺失"))
    else:
        extraction = extract_text(data, paper.file_type)
    with transaction.atomic():
        # Lock the row only for the write, and only if it still holds the file that was read.
        current = Paper.objects.select_for_update().filter(pk=paper.pk, file=stored_name).first()
        if current is None:
            return paper
        current.full_text = extraction.text
        current.extraction_status = Paper.ExtractionStatus.DONE if extraction.ok else Paper.ExtractionStatus.FAILED
        current.extraction_error = extraction.error
        # A save, not update(): post_save brings the text to the search index.
        current.save(update_fields=["full_text", "extraction_status", "extraction_error", "updated_at"])
    paper.full_text, paper.extraction_status, paper.extraction_error = (
        current.full_text, current.extraction_status, current.extraction_error
    )
    paper.updated_at = current.updated_at
    return paper
