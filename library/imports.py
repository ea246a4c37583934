"""Catalog imports run as background jobs: the upload is stored, a worker imports it in batches.

``catalog_import_create`` (in the request) checks what is cheap to check and stores the file;
``catalog_import_run`` (in the job) reads it and writes it in batches of ``importers.BATCH_SIZE``.  Each
batch commits its books, its ``ImportRecord`` rows (the report), the counts and the import's
``position`` together, so progress is visible batch by batch, and a job killed mid-import and run
again resumes after the last committed batch: no record is written or counted twice and no half
batch is ever visible.  An import that makes way for other jobs (``JobYield``) keeps its parsed file in
the process, so that going on does not parse it again; an XML file over IMPORT_XML_MAX_BYTES or
IMPORT_XML_MAX_ELEMENTS is refused (in the request when that is cheap to see, else by the job) before
it is parsed.  ``manage.py import_catalog`` runs the same batch importer inline.

A dry run (``CatalogImport.dry_run``) goes the same way, batch by batch, but each batch's catalog writes
are rolled back (a savepoint) before its report rows and counts commit; its file is kept for the real
import (``tasks.catalog_import_commit``).  A conflict's ``ImportRecord`` keeps the parsed record, so
``import_record_decide`` applies a librarian's decision after the upload is gone.
"""

import hashlib
import time
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, InvalidInput
from core.media import OutsideMediaRoot, delete_media, open_media
from core.text import one_line
from jobs.services import JobFailure, JobYield
from library import importers, marcxml
from library.models import Book, CatalogImport, ImportRecord


class ImportTakenOver(Exception):
    """Another run of the same import committed this batch first (a worker thought dead was not)."""


def catalog_import_create(*, data: bytes, filename: str, format: str | None, location: str | None,
                          created_by: AbstractBaseUser | None, dry_run: bool = False) -> CatalogImport:
    """Store an uploaded catalog file for import (``dry_run``: for a trial that writes nothing but its
    report).  Parses nothing.

    Raises ``InvalidInput`` for an unknown ``format`` or an empty file; every other problem of the
    file is found by the job, which fails with the reason.
    """
    importers.resolve_format(format)
    if not data.strip():
        raise InvalidInput("file", _("文件为空"), code="empty")
    # A cheap count before the file is stored: far more lines (CSV; a quoted cell may span lines, hence
    # the margin) or record terminators (MARC) than the record limit.  The job counts exactly.
    if data.count(b"\n") > 2 * settings.IMPORT_MAX_RECORDS + 1 or data.count(b"\x1d") > settings.IMPORT_MAX_RECORDS:
        raise importers.too_many_records()
    # XML: its size, and far more tags than the element limit (an element has one or two); the job counts the
    # elements exactly, before it parses anything.
    if marcxml.looks_like_xml(data):
        if len(data) > settings.IMPORT_XML_MAX_BYTES:
            raise importers.xml_too_large()
        if data.count(b"<") > 2 * settings.IMPORT_XML_MAX_ELEMENTS + 16:
            raise importers.xml_too_many_elements()
    catalog_import = CatalogImport(
        file_name=one_line(filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255],
        format=(format or "").strip().lower(), location=one_line(location or "")[:64], created_by=created_by,
        dry_run=dry_run,
    )
    with transaction.atomic():
        catalog_import.file.save("upload", ContentFile(data), save=False)
        stored = catalog_import.file.name
        storage = catalog_import.file.storage
        try:
            catalog_import.save()
        except Exception:
            delete_media(storage, stored, folder="imports")
            raise
    return catalog_import


def _summary(catalog_import: CatalogImport) -> dict:
    return {"import_id": catalog_import.pk, "format": catalog_import.format, "total": catalog_import.total,
            "dry_run": catalog_import.dry_run, "created": catalog_import.created, "updated": catalog_import.updated,
            "unchanged": catalog_import.unchanged, "conflicts": catalog_import.conflicts,
            "failed": catalog_import.failed}


def import_record_from(outcome: importers.Outcome, *, where: str, position: int,
                       catalog_import: CatalogImport | None = None) -> ImportRecord:
    """The report row of one outcome (unsaved; ``manage.py import_catalog --report`` writes such rows to a
    file without saving them)."""
    return ImportRecord(
        catalog_import=catalog_import, position=position, outcome=outcome.outcome, reason=outcome.reason,
        control_number=outcome.control_number, isbn=outcome.isbn, book_id=outcome.book_id,
        conflict_kind=outcome.conflict_kind, conflicts=outcome.conflicts, entry=outcome.entry,
        fingerprint=outcome.fingerprint,
        line=outcome.number if where == "line" else None, record=outcome.number if where == "record" else None,
    )


#: The file of the import that last made way for other jobs in this process, split into its records (the key:
#: the import's id and a digest of the file): when the import comes back to the same worker (the database
#: backend's), it goes on without reading and parsing the file again, which for a large XML file was most of
#: each slice's time (attack round 18).  Kept for one import, and only while it waits.
_suspended: dict[tuple, importers.ParsedFile] = {}


def _suspend_parsed(key: tuple, parsed: importers.ParsedFile) -> None:
    _suspended.clear()
    _suspended[key] = parsed


def _resume_parsed(key: tuple) -> importers.ParsedFile | None:
    return _suspended.pop(key, None)


def catalog_import_run(*, catalog_import_id: int, progress, make_way=None) -> dict:
    """Import the stored file from where the last run stopped; returns the counts.

    Raises ``JobFailure`` with the reason for a file that cannot be read at all (then nothing is written),
    and ``JobYield`` after a batch when ``make_way()`` says other jobs should go first (the next run goes on
    from that batch).
    """
    catalog_import = CatalogImport.objects.get(pk=catalog_import_id)
    if catalog_import.finished:
        return _summary(catalog_import)
    try:
        with open_media(catalog_import.file) as handle:
            data = handle.read()
    except (FileNotFoundError, OutsideMediaRoot, ValueError):
        raise JobFailure(_("导入文件缺失")) from None
    key = (catalog_import.pk, hashlib.blake2b(data, digest_size=16).digest())
    parsed = _resume_parsed(key)
    if parsed is None:
        try:
            parsed = importers.read_file(data=data, format=catalog_import.format or None)
        except InvalidInput as exc:
            raise JobFailure(exc.detail) from None
    total = len(parsed.items)
    if catalog_import.total is None:
        with transaction.atomic():
            if CatalogImport.objects.filter(pk=catalog_import.pk, total__isnull=True).update(
                    total=total, format=parsed.format):
                if parsed.notices:
                    reason = "; ".join(notice["reason"] for notice in parsed.notices)
                    ImportRecord.objects.create(catalog_import=catalog_import, position=0, line=parsed.notices[0]["line"],
                                                outcome=ImportRecord.Outcome.NOTICE, reason=reason)
        catalog_import.refresh_from_db()
    position = catalog_import.position
    progress(position, total)
    while position < total:
        batch = parsed.items[position : position + importers.BATCH_SIZE]
        end = position + len(batch)
        with transaction.atomic():
            # Claim the batch first: a second run of this import (a worker wrongly thought dead) finds
            # the position moved, rolls back and stops, whichever commits first.
            if not CatalogImport.objects.filter(pk=catalog_import.pk, position=position).update(position=end):
                raise ImportTakenOver(f"import {catalog_import.pk}: records after {position} already committed")
            # A dry run's batch rolls its writes back (a savepoint); its report and progress commit.
            outcomes = importers.import_items(batch, location=catalog_import.location or None,
                                              dry_run=catalog_import.dry_run, where=parsed.where)
            counts = Counter(importers.COUNTS[outcome.outcome] for outcome in outcomes)
            CatalogImport.objects.filter(pk=catalog_import.pk).update(
                **{name: F(name) + counts[name] for name in set(importers.COUNTS.values())}
            )
            ImportRecord.objects.bulk_create(
                [import_record_from(outcome, where=parsed.where, position=position + 1 + i,
                                    catalog_import=catalog_import) for i, outcome in enumerate(outcomes)]
            )
        position = end
        progress(position, total)
        if position < total and make_way is not None and make_way():
            _suspend_parsed(key, parsed)
            raise JobYield(f"import {catalog_import.pk}: {position} of {total} done; making way")
        if position < total and settings.BACKGROUND_WRITE_PAUSE_MS:
            # Let the requests' writes in between two batches (settings.BACKGROUND_WRITE_PAUSE_MS).
            time.sleep(settings.BACKGROUND_WRITE_PAUSE_MS / 1000)
    with transaction.atomic():
        CatalogImport.objects.filter(pk=catalog_import.pk, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        # The file is no longer needed: the report lives in ImportRecord (a conflict keeps its parsed
        # record).  A dry run keeps it for the real import the librarian may start from its page.
        if not catalog_import.dry_run:
            stored, storage = catalog_import.file.name, catalog_import.file.storage
            CatalogImport.objects.filter(pk=catalog_import.pk).update(file="")
            transaction.on_commit(lambda: delete_media(storage, stored, folder="imports"))
    catalog_import.refresh_from_db()
    return _summary(catalog_import)


def dry_run_file(*, catalog_import: CatalogImport) -> bytes:
    """The stored file of a finished dry run, for its real import."""
    if not catalog_import.dry_run or not catalog_import.finished:
        raise DomainError("not_a_finished_dry_run", _("只有已完成的试导入才能正式导入"))
    if not catalog_import.file:
        raise DomainError("file_gone", _("此试导入的文件已正式导入过或已删除；请重新上传"))
    try:
        with open_media(catalog_import.file) as handle:
            return handle.read()
    except (FileNotFoundError, OutsideMediaRoot, ValueError):
        raise DomainError("file_gone", _("此试导入的文件已正式导入过或已删除；请重新上传")) from None


def dry_run_file_discard(*, catalog_import: CatalogImport) -> None:
    stored, storage = catalog_import.file.name, catalog_import.file.storage
    with transaction.atomic():
        CatalogImport.objects.filter(pk=catalog_import.pk).update(file="")
        transaction.on_commit(lambda: delete_media(storage, stored, folder="imports"))
    catalog_import.file = ""


def dry_runs_discard_stale(*, now=None) -> int:
    """Delete the stored files of dry runs finished more than ``IMPORT_DRY_RUN_KEEP_DAYS`` ago (their reports
    stay; 正式导入 then asks for the file again); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IMPORT_DRY_RUN_KEEP_DAYS)
    stale = CatalogImport.objects.filter(dry_run=True, finished_at__lt=cutoff).exclude(file="")
    discarded = 0
    for catalog_import in stale.iterator():
        dry_run_file_discard(catalog_import=catalog_import)
        discarded += 1
    return discarded


# --- decisions on conflicts --------------------------------------------------------------------


#: A decision → the outcome its record then has (and the count it moves to).
DECISION_OUTCOMES = {ImportRecord.Decision.KEEP: ImportRecord.Outcome.UNCHANGED,
                     ImportRecord.Decision.REPLACE: ImportRecord.Outcome.UPDATED,
                     ImportRecord.Decision.NEW: ImportRecord.Outcome.CREATED}


def import_record_decide(*, record: ImportRecord, action: str, actor: AbstractBaseUser | None) -> ImportRecord:
    """Apply a librarian's decision on a conflict: keep (the book stays as it is), replace (the record's values
    overwrite the book's, through ``library.services``, so the index follows) or new (a separate book).

    One transaction: the record is claimed with a conditional update first, so of two decisions sent at
    once exactly one applies.  Raises ``DomainError`` (409) when the record was already decided, belongs to
    a dry run, or its book changed (or went) since the import (``already_decided``, ``dry_run``,
    ``book_changed``), and when the decision cannot be written (``decision_failed``: a barcode now on
    another book…); ``ValueError`` for a record that is not a conflict or an unknown action.
    """
    if record.conflict_kind == "" or record.entry is None:
        raise ValueError("not a conflict")
    outcome = DECISION_OUTCOMES[ImportRecord.Decision(action)]
    try:
        return _decide(record=record, action=action, actor=actor, outcome=outcome)
    except DomainError as exc:
        # The page shows it as a message and the API as its detail: either way it names the record and decision.
        where = (_("第 %(n)s 条记录") if record.record else _("第 %(n)s 行")) % {
            "n": record.record or record.line or record.position}
        raise DomainError(exc.code, _("%(where)s：%(action)s失败：%(reason)s") % {
            "where": where, "action": ImportRecord.Decision(action).label, "reason": exc.detail},
            status=exc.status, **exc.extra) from None


def _decided_reason(record: ImportRecord, book: Book | None, action: str) -> str:
    """The conflict's reason once decided: what differed and the decision, no longer "请决定"."""
    decided = ImportRecord.Decision(action).label
    if book is None:
        return _("%(reason)s；已决定：%(decision)s") % {"reason": record.reason, "decision": decided}
    if record.conflict_kind == "duplicate":
        return _("可能与《%(title)s》(id %(id)s) 重复；已决定：%(decision)s") % {
            "title": book.title, "id": book.pk, "decision": decided}
    fields = "、".join(c.get("label") or c["field"] for c in record.conflicts or [])
    return _("与《%(title)s》(id %(id)s) 不一致：%(fields)s；已决定：%(decision)s") % {
        "title": book.title, "id": book.pk, "fields": fields, "decision": decided}


def _decide(*, record: ImportRecord, action: str, actor: AbstractBaseUser | None, outcome: str) -> ImportRecord:
    if CatalogImport.objects.filter(pk=record.catalog_import_id, dry_run=True).exists():
        raise DomainError("dry_run", _("试导入未写入任何数据，其冲突不能决定；请正式导入后再决定"))
    with transaction.atomic():
        claimed = ImportRecord.objects.filter(pk=record.pk, outcome=ImportRecord.Outcome.CONFLICT, decision="").update(
            decision=action, decided_by=actor, decided_at=timezone.now(), outcome=outcome)
        if not claimed:
            raise DomainError("already_decided", _("此冲突已经决定过了"))
        book = None
        if record.book_id is not None:
            book = Book.objects.select_for_update().filter(pk=record.book_id).first()
        if action != ImportRecord.Decision.NEW and (
                book is None or importers.book_fingerprint(book) != record.fingerprint):
            raise DomainError("book_changed", _("导入之后该书已被修改或删除；请重新导入此记录后再决定"))
        decided = _decided_reason(record, book, action)  # before "replace" may retitle the book
        try:
            outcome, written, note = importers.apply_decision(book=book, record=record.entry, action=action)
        except (ValidationError, DatabaseError) as exc:
            raise DomainError("decision_failed", importers.error_reason(exc)) from None
        reason = "；".join(part for part in (decided, note) if part)
        ImportRecord.objects.filter(pk=record.pk).update(book=written, reason=reason)
        CatalogImport.objects.filter(pk=record.catalog_import_id).update(
            conflicts=F("conflicts") - 1, **{importers.COUNTS[outcome]: F(importers.COUNTS[outcome]) + 1})
    record.refresh_from_db()
    return record
