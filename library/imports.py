"""Catalog imports run as background jobs: the upload is stored, a worker imports it in batches.

``catalog_import_create`` (in the request) checks what is cheap to check and stores the file;
``catalog_import_run`` (in the job) reads it and writes it in batches of ``importers.BATCH_SIZE``.  Each
batch commits its books, its ``ImportRecord`` rows (the report), the counts and the import's
``position`` together, so progress is visible batch by batch, and a job killed mid-import and run
again resumes after the last committed batch: no record is written or counted twice and no half
batch is ever visible.  ``manage.py import_catalog`` runs the same batch importer inline.
"""

import time
from collections import Counter

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from core.media import OutsideMediaRoot, open_media
from core.text import one_line
from jobs.services import JobFailure, JobYield
from library import importers
from library.models import CatalogImport, ImportRecord


class ImportTakenOver(Exception):
    """Another run of the same import committed this batch first (a worker thought dead was not)."""


def catalog_import_create(*, data: bytes, filename: str, format: str | None, location: str | None,
                          created_by: AbstractBaseUser | None) -> CatalogImport:
    """Store an uploaded catalog file for import.  Parses nothing.

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
    catalog_import = CatalogImport(
        file_name=one_line(filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255],
        format=(format or "").strip().lower(), location=one_line(location or "")[:64], created_by=created_by,
    )
    with transaction.atomic():
        catalog_import.file.save("upload", ContentFile(data), save=False)
        stored = catalog_import.file.name
        storage = catalog_import.file.storage
        try:
            catalog_import.save()
        except Exception:
            storage.delete(stored)
            raise
    return catalog_import


def _summary(catalog_import: CatalogImport) -> dict:
    return {"import_id": catalog_import.pk, "format": catalog_import.format, "total": catalog_import.total,
            "created": catalog_import.created, "updated": catalog_import.updated,
            "skipped": catalog_import.skipped, "failed": catalog_import.failed}


def _record(catalog_import: CatalogImport, where: str, outcome: importers.Outcome, position: int) -> ImportRecord:
    return ImportRecord(
        catalog_import=catalog_import, position=position, outcome=outcome.outcome, reason=outcome.reason,
        control_number=outcome.control_number, isbn=outcome.isbn,
        line=outcome.number if where == "line" else None, record=outcome.number if where == "record" else None,
    )


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
            outcomes = importers.import_items(batch, location=catalog_import.location or None)
            counts = Counter(outcome.outcome for outcome in outcomes)
            CatalogImport.objects.filter(pk=catalog_import.pk).update(
                **{name: F(name) + counts[name] for name in ("created", "updated", "skipped", "failed")}
            )
            ImportRecord.objects.bulk_create(
                [_record(catalog_import, parsed.where, outcome, position + 1 + i) for i, outcome in enumerate(outcomes)]
            )
        position = end
        progress(position, total)
        if position < total and make_way is not None and make_way():
            raise JobYield(f"import {catalog_import.pk}: {position} of {total} done; making way")
        if position < total and settings.BACKGROUND_WRITE_PAUSE_MS:
            # Let the requests' writes in between two batches (settings.BACKGROUND_WRITE_PAUSE_MS).
            time.sleep(settings.BACKGROUND_WRITE_PAUSE_MS / 1000)
    with transaction.atomic():
        CatalogImport.objects.filter(pk=catalog_import.pk, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        # The file is no longer needed: the report lives in ImportRecord.
        stored, storage = catalog_import.file.name, catalog_import.file.storage
        CatalogImport.objects.filter(pk=catalog_import.pk).update(file="")
        transaction.on_commit(lambda: storage.delete(stored))
    catalog_import.refresh_from_db()
    return _summary(catalog_import)
