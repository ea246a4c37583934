"""Catalog API: books, copies, papers and imports.  Handlers parse, call one service or selector, and return."""

import codecs

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.errors import HttpError
from ninja.pagination import paginate

from accounts.auth import CATALOG_READ, LOGGED_IN, require_role
from accounts.models import Role
from core.errors import ERRORS, THROTTLED, InvalidInput
from core.media import OutsideMediaRoot, open_media
from core.pagination import Pagination
from core.pdf import pdf_response
from core.throttles import hourly_allowance
from core.xlsx import CONTENT_TYPE as XLSX_TYPE
from library import imports, related, selectors, services, tasks
from library.exporters import import_report_lines, import_report_xlsx
from library.fulltext import download_name
from library.models import Book, CatalogImport, Copy, Paper
from library.schemas import (
    BookFilters,
    BookIn,
    BookOut,
    BookPatch,
    ClcTreeFilters,
    ClcTreeOut,
    CopyDetailOut,
    CopyIn,
    CopyPatch,
    ImportAcceptedOut,
    ImportDecisionIn,
    ImportOptions,
    ImportRecordFilters,
    ImportRecordOut,
    ImportStatusOut,
    LabelsIn,
    PaperFilters,
    PaperIn,
    PaperOut,
    PaperPatch,
    RelatedOut,
)

router = Router(tags=["catalog"])



def _people(payload: BookIn | BookPatch) -> list[services.Person] | None:
    if payload.contributors is not None:
        return [services.Person(c.name, c.role.value, c.name_romanized) for c in payload.contributors]
    if payload.authors is not None:
        return [services.Person(name) for name in payload.authors]
    return None


def _get_book(book_id: int) -> Book:
    book = selectors.book_get(book_id=book_id)
    if book is None:
        raise HttpError(404, _("图书 %(id)s 不存在") % {"id": book_id})
    return book


def _get_copy(barcode: str) -> Copy:
    copy = selectors.copy_get(barcode=barcode)
    if copy is None:
        raise HttpError(404, _("条码 %(barcode)s 不存在") % {"barcode": barcode})
    return copy


def _get_paper(request: HttpRequest, paper_id: int) -> Paper:
    paper = selectors.paper_get(user=request.auth, paper_id=paper_id)
    if paper is None:
        # Internal papers are invisible to anonymous readers: 404, not 403,
        # so their titles cannot be discovered by counting ids.
        raise HttpError(404, _("成果 %(id)s 不存在") % {"id": paper_id})
    return paper


# --- books -----------------------------------------------------------------


@router.get("/books", response={200: list[BookOut], **ERRORS}, auth=CATALOG_READ, summary="图书列表")
@paginate(Pagination)
def list_books(request: HttpRequest, filters: Query[BookFilters]):
    return selectors.book_list(
        language=filters.language, clc=filters.clc, year_from=filters.year_from, year_to=filters.year_to
    )


@router.post("/books", response={201: BookOut, **ERRORS}, auth=LOGGED_IN, summary="新增图书（馆员）")
def create_book(request: HttpRequest, payload: BookIn):
    require_role(request, Role.LIBRARIAN)
    data = payload.model_dump(exclude={"authors", "contributors"})
    data["language"] = payload.language.value
    book = services.book_create(**data, contributors=_people(payload) or [])
    return Status(201, _get_book(book.pk))


@router.get("/books/{book_id}", response={200: BookOut, **ERRORS}, auth=CATALOG_READ, summary="图书详情")
def get_book(request: HttpRequest, book_id: int):
    return _get_book(book_id)


@router.get("/books/{book_id}/related", response={200: RelatedOut, **ERRORS}, auth=CATALOG_READ,
            summary="相关作品：同主题、同类、借过本书的读者也借过")
def get_book_related(request: HttpRequest, book_id: int):
    return related.book_related(book=_get_book(book_id), user=request.auth)


@router.get("/clc-tree", response={200: ClcTreeOut, **ERRORS}, auth=CATALOG_READ, summary="按中图法分类浏览（各类图书数）")
def get_clc_tree(request: HttpRequest, params: Query[ClcTreeFilters]):
    tree = related.clc_tree(root=params.root, depth=params.depth)
    if tree is None:
        raise HttpError(404, _("分类 %(code)s 不存在") % {"code": params.root})
    return tree


@router.patch("/books/{book_id}", response={200: BookOut, **ERRORS}, auth=LOGGED_IN, summary="修改图书（馆员）")
def update_book(request: HttpRequest, book_id: int, payload: BookPatch):
    require_role(request, Role.LIBRARIAN)
    book = _get_book(book_id)
    changes = payload.model_dump(exclude_unset=True, exclude={"authors", "contributors"})
    if "language" in changes:
        changes["language"] = payload.language.value
    services.book_update(book=book, changes=changes, contributors=_people(payload))
    return _get_book(book_id)


@router.delete("/books/{book_id}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="删除图书（馆员）")
def delete_book(request: HttpRequest, book_id: int):
    require_role(request, Role.LIBRARIAN)
    services.book_delete(book=_get_book(book_id))
    return Status(204, None)


# --- copies ----------------------------------------------------------------


@router.post(
    "/books/{book_id}/copies", response={201: CopyDetailOut, **ERRORS}, auth=LOGGED_IN, summary="新增复本（馆员）"
)
def create_copy(request: HttpRequest, book_id: int, payload: CopyIn):
    require_role(request, Role.LIBRARIAN)
    book = _get_book(book_id)
    data = payload.model_dump()
    data["status"] = payload.status.value
    return Status(201, services.copy_create(book=book, **data))


@router.get("/copies/{barcode}", response={200: CopyDetailOut, **ERRORS}, auth=CATALOG_READ, summary="复本详情")
def get_copy(request: HttpRequest, barcode: str):
    return _get_copy(barcode)


@router.patch("/copies/{barcode}", response={200: CopyDetailOut, **ERRORS}, auth=LOGGED_IN, summary="修改复本（馆员）")
def update_copy(request: HttpRequest, barcode: str, payload: CopyPatch):
    require_role(request, Role.LIBRARIAN)
    copy = _get_copy(barcode)
    changes = payload.model_dump(exclude_unset=True)
    if "status" in changes:
        changes["status"] = payload.status.value
    return services.copy_update(copy=copy, changes=changes, actor=request.auth)


@router.delete("/copies/{barcode}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="删除复本（馆员）")
def delete_copy(request: HttpRequest, barcode: str):
    require_role(request, Role.LIBRARIAN)
    services.copy_delete(copy=_get_copy(barcode))
    return Status(204, None)


# --- labels ----------------------------------------------------------------


@router.post("/labels", response={200: None, **ERRORS}, auth=LOGGED_IN, summary="打印书标与条码标签 PDF（馆员）")
def print_labels(request: HttpRequest, payload: LabelsIn):
    """An A4 PDF (``application/pdf``) of spine labels (the call number over lines, and the location) and/or
    barcode labels (Code 128 of the barcode, the barcode, a short title) of the chosen copies in shelf order.
    At most ``LABELS_MAX_PER_REQUEST`` labels (400; ``both`` counts two a copy): more is a 422
    ``too_many_labels`` naming the field that chose them.  ``X-Label-Count`` says how many were drawn."""
    require_role(request, Role.LIBRARIAN)
    printed = services.labels_print(kind=payload.kind, barcodes=payload.barcodes,
                                    accessioned_since=payload.accessioned_since, unprinted=payload.unprinted,
                                    mark_printed=payload.mark_printed)
    response = pdf_response(printed.pdf, f"labels-{payload.kind}.pdf")
    response["X-Label-Count"] = str(printed.labels)
    return response


# --- papers ----------------------------------------------------------------


@router.get("/papers", response={200: list[PaperOut], **ERRORS}, auth=CATALOG_READ, summary="调研成果列表")
@paginate(Pagination)
def list_papers(request: HttpRequest, filters: Query[PaperFilters]):
    return selectors.paper_list(
        user=request.auth,
        kind=filters.kind,
        year=filters.year,
        visibility=filters.visibility,
    )


@router.post("/papers", response={201: PaperOut, **ERRORS, **THROTTLED}, auth=LOGGED_IN, summary="新增调研成果（馆员、法官）")
def create_paper(request: HttpRequest, payload: PaperIn):
    require_role(request, Role.LIBRARIAN, Role.JUDGE)
    data = payload.model_dump()
    data["kind"] = payload.kind.value
    data["visibility"] = payload.visibility.value
    paper = services.paper_create(**data, created_by=request.auth)
    return Status(201, _get_paper(request, paper.pk))


@router.get("/papers/{paper_id}", response={200: PaperOut, **ERRORS}, auth=CATALOG_READ, summary="调研成果详情")
def get_paper(request: HttpRequest, paper_id: int):
    return _get_paper(request, paper_id)


@router.get("/papers/{paper_id}/related", response={200: RelatedOut, **ERRORS}, auth=CATALOG_READ,
            summary="相关作品：共有关键词的成果与图书")
def get_paper_related(request: HttpRequest, paper_id: int):
    return related.paper_related(paper=_get_paper(request, paper_id), user=request.auth)


def _require_paper_editor(request: HttpRequest, paper: Paper) -> None:
    if not selectors.paper_can_edit(user=request.auth, paper=paper):
        raise HttpError(403, _("只有馆员或录入该成果的法官可以修改"))


@router.patch("/papers/{paper_id}", response={200: PaperOut, **ERRORS, 429: dict}, auth=LOGGED_IN, summary="修改调研成果")
def update_paper(request: HttpRequest, paper_id: int, payload: PaperPatch):
    paper = _get_paper(request, paper_id)
    _require_paper_editor(request, paper)
    changes = payload.model_dump(exclude_unset=True, exclude={"authors"})
    for key in ("kind", "visibility"):
        if key in changes:
            changes[key] = getattr(payload, key).value
    services.paper_update(paper=paper, changes=changes, authors=payload.authors, actor=request.auth)
    return _get_paper(request, paper_id)


@router.delete("/papers/{paper_id}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="删除调研成果")
def delete_paper(request: HttpRequest, paper_id: int):
    paper = _get_paper(request, paper_id)
    _require_paper_editor(request, paper)
    services.paper_delete(paper=paper)
    return Status(204, None)


@router.post("/papers/{paper_id}/file", response={200: PaperOut, **ERRORS, **THROTTLED}, auth=LOGGED_IN,
             summary="上传全文（PDF/DOCX/TXT）")
def upload_paper_file(request: HttpRequest, paper_id: int, file: File[UploadedFile]):
    """Answers at once with ``extraction_status`` pending: a background job reads the text and sets done,
    or failed with the reason in ``extraction_error`` (a file whose text cannot be read is kept)."""
    paper = _get_paper(request, paper_id)
    _require_paper_editor(request, paper)
    if file.size is not None and file.size > settings.PAPER_MAX_UPLOAD_BYTES:
        raise InvalidInput("file", _("文件过大"), code="file_too_large")
    # Each upload costs a parser run of up to PAPER_EXTRACT_WALL_SECONDS: PAPER_UPLOADS_PER_HOUR per user.
    with hourly_allowance(request.auth, "paper-upload", "PAPER_UPLOADS_PER_HOUR"):
        tasks.paper_upload_file(paper=paper, data=file.read(), filename=file.name or "", uploaded_by=request.auth)
    return _get_paper(request, paper_id)


CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain; charset=utf-8",
}


def _text_charset(handle) -> str:
    """Text files are kept as uploaded: UTF-8 or GB18030 (checked at upload).

    The first 64 KiB of the open file decide (it is rewound after): GB18030 text fails as UTF-8 within its
    first Chinese character, so the whole file need not be read on every download.
    """
    head = handle.read(64 * 1024)
    handle.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@router.get("/papers/{paper_id}/file", response={200: None, **ERRORS}, auth=CATALOG_READ, summary="下载全文")
def download_paper_file(request: HttpRequest, paper_id: int, view: bool = False):
    """Streamed from the uploads' store by the application, after the paper's visibility was checked (never a
    link into the store: docs/design.md, "Uploads on disk or in an object store").  ``view``: a text file is
    shown in the browser instead of saved (a judge reading on a phone got a download: routine walk), as plain
    text in a sandbox that runs nothing; other types are always downloaded."""
    paper = _get_paper(request, paper_id)
    if not paper.file:
        raise HttpError(404, _("该成果没有全文文件"))
    try:
        handle = open_media(paper.file)
    except (FileNotFoundError, OutsideMediaRoot):
        raise HttpError(404, _("全文文件缺失")) from None
    content_type = CONTENT_TYPES.get(paper.file_type, "application/octet-stream")
    if paper.file_type == "txt":
        content_type = f"text/plain; charset={_text_charset(handle)}"
    services.paper_download_record(paper=paper, reader=request.auth)
    # The extension follows the checked type, also for files stored before names were normalized.
    shown = view and paper.file_type == "txt"
    response = FileResponse(
        handle, as_attachment=not shown, filename=download_name(paper.file_name or f"paper-{paper.pk}", paper.file_type)
    )
    response["Content-Type"] = content_type
    response["X-Content-Type-Options"] = "nosniff"
    if shown:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# --- imports ---------------------------------------------------------------


def _get_import(import_id: int) -> CatalogImport:
    catalog_import = selectors.catalog_import_get(import_id=import_id)
    if catalog_import is None:
        raise HttpError(404, _("导入 %(id)s 不存在") % {"id": import_id})
    return catalog_import


@router.post("/imports", response={202: ImportAcceptedOut, **ERRORS}, auth=LOGGED_IN, summary="导入目录（CSV / MARC）")
def import_file(request: HttpRequest, file: File[UploadedFile], options: Form[ImportOptions]):
    """Multipart fields: ``file``; optional ``format`` (csv, marc21, unimarc, marcxml, unimarcxml, marc, xml; detected
    when absent), ``location`` (where new copies go) and ``dry_run`` (true: judge and report every record, write
    nothing).  Answers 202 at once: a background job imports the file; follow
    it at ``url``."""
    require_role(request, Role.LIBRARIAN)
    if file.size is not None and file.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise InvalidInput("file", _("文件过大"), code="file_too_large")
    catalog_import = tasks.catalog_import_start(
        data=file.read(), filename=file.name or "", format=options.format or None, location=options.location or None,
        started_by=request.auth, dry_run=options.dry_run,
    )
    return Status(202, {"id": catalog_import.pk, "url": f"/api/v1/imports/{catalog_import.pk}", "state": "queued"})


@router.get("/imports/{import_id}", response={200: ImportStatusOut, **ERRORS}, auth=LOGGED_IN, summary="导入进度与结果（馆员）")
def get_import(request: HttpRequest, import_id: int):
    require_role(request, Role.LIBRARIAN)
    return selectors.catalog_import_status(catalog_import=_get_import(import_id))


@router.get("/imports/{import_id}/report", response={200: None, **ERRORS}, auth=LOGGED_IN, summary="导入逐条报告 CSV（馆员）")
def get_import_report(request: HttpRequest, import_id: int):
    """One line per row or record (UTF-8 with BOM for Excel): number, line, record, control number,
    ISBN, outcome, reason.  While the import runs, the records committed so far."""
    require_role(request, Role.LIBRARIAN)
    catalog_import = _get_import(import_id)
    records = selectors.catalog_import_records(catalog_import=catalog_import).iterator(chunk_size=2000)
    response = StreamingHttpResponse(import_report_lines(records), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{catalog_import.pk}-report.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/imports/{import_id}/report.xlsx", response={200: None, **ERRORS}, auth=LOGGED_IN,
            summary="导入逐条报告 XLSX（馆员）")
def get_import_report_xlsx(request: HttpRequest, import_id: int):
    """The report of ``/report`` as an Excel workbook (cells that a spreadsheet would run as formulas are
    neutralized the same way)."""
    require_role(request, Role.LIBRARIAN)
    catalog_import = _get_import(import_id)
    records = selectors.catalog_import_records(catalog_import=catalog_import).iterator(chunk_size=2000)
    response = HttpResponse(import_report_xlsx(records, dry_run=catalog_import.dry_run), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-{catalog_import.pk}-report.xlsx"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/imports/{import_id}/records", response={200: list[ImportRecordOut], **ERRORS}, auth=LOGGED_IN,
            summary="导入逐条结果（馆员）")
@paginate(Pagination)
def list_import_records(request: HttpRequest, import_id: int, filters: Query[ImportRecordFilters]):
    """Every row's or record's outcome in file order; ``outcome=conflict`` lists the conflicts, each with the
    differing fields (both values) and, while undecided, its ``decision_url``."""
    require_role(request, Role.LIBRARIAN)
    return selectors.catalog_import_records(catalog_import=_get_import(import_id), outcome=filters.outcome
                                            ).select_related("decided_by")


@router.post("/imports/{import_id}/records/{position}/decision", response={200: ImportRecordOut, **ERRORS},
             auth=LOGGED_IN, summary="决定导入冲突：保留、覆盖或另建（馆员）")
def decide_import_record(request: HttpRequest, import_id: int, position: int, payload: ImportDecisionIn):
    """``{"action": "keep" | "replace" | "new"}`` for a conflict of the import.  404 for a record that is not
    a conflict; 409 when it was already decided (``already_decided``), belongs to a dry run (``dry_run``),
    its book changed since the import (``book_changed``), or the decision cannot be written
    (``decision_failed``, e.g. a barcode now on another book)."""
    require_role(request, Role.LIBRARIAN)
    record = selectors.import_record_get(catalog_import=_get_import(import_id), position=position)
    if record is None or not record.conflict_kind:
        raise HttpError(404, _("导入 %(id)s 没有第 %(n)s 条冲突记录") % {"id": import_id, "n": position})
    return imports.import_record_decide(record=record, action=payload.action, actor=request.auth)
