"""Web pages of the library's own work: borrowing and holds from a book page or /me, the librarian's desk,
catalogue imports, and a judge's own papers.

Thin: every action calls the same services as the API (library.circulation, library.services); refusals
come back as the services' DomainError and are shown as messages.  The pages that span apps (search, book
and paper pages, /me) are in web/views.py.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from ninja.errors import Throttled

from accounts.cards import card_readers, cards_print
from accounts.decorators import role_required
from accounts.models import PATRON_ROLES, Profile, Role
from core.errors import DomainError, InvalidInput
from core.pdf import pdf_response
from core.text import as_id
from core.throttles import hourly_allowance
from library import circulation, copycat, importers, imports, selectors, services, tasks
from library.forms import (
    CardsForm,
    CatalogImportForm,
    CopyImportForm,
    CopySearchForm,
    DeskForm,
    ImportDecisionForm,
    LabelsForm,
    PaperFileForm,
    PaperForm,
)
from library.models import Channel, Hold, ImportRecord, Loan
from library.policy import library_today


def _run(request: HttpRequest, action, success: str) -> bool:
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.detail)
        return False
    messages.success(request, success)
    return True


@role_required(*PATRON_ROLES)
@require_POST
def place_hold(request: HttpRequest, pk: int) -> HttpResponse:
    """Request a book from its page, to be picked up at the chosen place."""
    code = request.POST.get("pickup_location", "")
    pickup = selectors.location_get(code=code) if code else None
    if code and pickup is None:
        messages.error(request, _("请选择取书地点。"))
        return redirect("book-detail", pk=pk)
    book = selectors.book_get(book_id=pk)
    if book is None:
        raise Http404
    try:
        hold = circulation.hold_place(patron=request.user, book=book, actor=request.user, pickup_location=pickup,
                                      channel=Channel.WEB)
    except (DomainError, InvalidInput) as exc:
        messages.error(request, exc.detail)
        return redirect("book-detail", pk=pk)
    place = hold.pickup_location.name
    if hold.status == Hold.Status.PULLING:
        messages.success(request, _("已预借《%(title)s》。馆员取书后通知您到 %(place)s 借阅。") % {
            "title": book.title, "place": place})
    else:
        messages.success(request, _("已预约《%(title)s》。书归还后按预约先后通知您到 %(place)s 取书。") % {
            "title": book.title, "place": place})
    return redirect("book-detail", pk=pk)


@role_required(*PATRON_ROLES)
def self_checkout(request: HttpRequest) -> HttpResponse:
    """扫码借书: the reader scans (camera) or types the barcode of the copy in their hands and borrows it."""
    book_id = as_id(request.GET.get("book"))
    book = selectors.book_get(book_id=book_id) if book_id else None
    typed = ""
    if request.method == "POST":
        typed = request.POST.get("barcode", "").strip()[:64]
        copy = selectors.copy_get(barcode=typed) if typed else None
        if copy is None:
            messages.error(request, _("条码 %(barcode)s 不存在。") % {"barcode": typed} if typed
                           else _("请扫描或输入复本条码。"))
        else:
            try:
                loan = circulation.loan_checkout(patron=request.user, actor=request.user, copy=copy,
                                                 channel=Channel.WEB)
            except DomainError as exc:
                messages.error(request, _("《%(title)s》（%(barcode)s）：%(reason)s") % {
                    "title": copy.book.title, "barcode": copy.barcode, "reason": exc.detail})
            else:
                messages.success(request, _("已借阅《%(title)s》（%(barcode)s），应还 %(date)s。") % {
                    "title": copy.book.title, "barcode": copy.barcode, "date": f"{loan.due_date:%Y-%m-%d}"})
                return redirect(reverse("self-checkout") + (f"?book={book.pk}" if book else ""))
    today = library_today()
    loans = (selectors.loan_queryset().filter(patron=request.user, status=Loan.Status.ACTIVE)
             .order_by("-borrowed_at")[:10])
    return render(request, "library/self_checkout.html", {
        "nav": "me", "book": book, "typed": typed, "loans": loans, "today": today,
    }, status=400 if request.method == "POST" else 200)


def _mine(record: Loan | Hold | None, request: HttpRequest) -> Loan | Hold:
    """One of the reader's own loans or holds (a librarian sees others' through the selectors, not here)."""
    if record is None or record.patron_id != request.user.pk:
        raise Http404
    return record


@login_required
@require_POST
def renew(request: HttpRequest, loan_id: int) -> HttpResponse:
    loan = _mine(selectors.loan_get(viewer=request.user, loan_id=loan_id), request)
    try:
        renewed = circulation.loan_renew(loan=loan, actor=request.user, channel=Channel.WEB)
    except DomainError as exc:
        messages.error(request, _("《%(title)s》不能续借：%(reason)s") % {"title": loan.book.title, "reason": exc.detail})
    else:
        messages.success(request, _("《%(title)s》已续借，应还 %(date)s。") % {
            "title": loan.book.title, "date": f"{renewed.due_date:%Y-%m-%d}"})
    return redirect("me")


@login_required
@require_POST
def cancel_hold(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = _mine(selectors.hold_get(viewer=request.user, hold_id=hold_id), request)
    _run(request, lambda: circulation.hold_cancel(hold=hold, actor=request.user, channel=Channel.WEB),
         _("已取消《%(title)s》的预约。") % {"title": hold.book.title})
    return redirect("me")


# --- the librarian's desk -------------------------------------------------------------------------------


#: The session keys of the desk: the reader of the last checkout, the form that keeps the focus, and the
#: location the desk works at (its hold shelf, pull list and van).
DESK_READER, DESK_FOCUS, DESK_LOCATION = "desk_reader", "desk_focus", "desk_location"


def _desk_reader(request: HttpRequest):
    """The reader the desk is serving (the last checkout's), while still an active user."""
    from django.contrib.auth import get_user_model

    pk = request.session.get(DESK_READER)
    return get_user_model().objects.filter(pk=pk, is_active=True).select_related("profile").first() if pk else None


def _desk_location(request: HttpRequest):
    """The location this desk works at: chosen with ``?at=code`` (kept in the session), else the first."""
    chosen = request.GET.get("at")
    if chosen:
        location = selectors.location_get(code=chosen)
        if location is not None:
            request.session[DESK_LOCATION] = location.code
            return location
    location = selectors.location_get(code=request.session.get(DESK_LOCATION, "")) if DESK_LOCATION in request.session else None
    return location or selectors.location_list().first()


def _desk_context(request: HttpRequest, here) -> dict:
    """What every desk page shows in its header: the place, the other places, and the work waiting here."""
    name = here.name if here else ""
    return {
        "nav": "desk", "here": here, "locations": selectors.location_list(),
        "pull_count": selectors.pull_list(location=name).count(),
        "outgoing_count": selectors.transfer_list(location=name, direction="outgoing").filter(status="queued").count(),
        "incoming_count": selectors.transfer_list(location=name, direction="incoming").count(),
    }


@role_required(Role.LIBRARIAN)
def desk(request: HttpRequest) -> HttpResponse:
    """Scan a reader's card (or type a name, pinyin, username) and then each book to lend; scan a book to check
    it in (a return, a copy off the pull list, a copy off the van, a missing copy found); the hold shelf and
    the overdue list.  A refused scan keeps what was typed (a scanner's Enter in the barcode field before any
    reader no longer clears the barcode)."""
    here = _desk_location(request)
    current = _desk_reader(request)
    form = None
    if request.method == "POST":
        form = DeskForm(request.POST, current=current)
        if not form.is_valid():
            messages.error(request, form.first_error())
            request.session[DESK_FOCUS] = ("return" if request.POST.get("action") == "return" else
                                           "reader" if "patron" in form.errors else "checkout")
        else:
            action = form.cleaned_data["action"]
            if action == "end":
                request.session.pop(DESK_READER, None)
            elif action == "checkout":
                _desk_lend(request, form.cleaned_data)
            else:
                _desk_check_in(request, form.cleaned_data["copy"], here)
            request.session[DESK_FOCUS] = "return" if action == "return" else "checkout"
            return redirect("desk")
    today = library_today()
    overdue = (selectors.loan_queryset().select_related("patron__profile")
               .filter(status=Loan.Status.ACTIVE, due_date__lt=today).order_by("due_date"))
    reader_loans = (list(selectors.loan_queryset().filter(patron=current, status=Loan.Status.ACTIVE).order_by("due_date"))
                    if current else [])
    return render(request, "library/desk.html", {
        **_desk_context(request, here), "overdue": overdue,
        "ready": selectors.hold_shelf(location=here.name) if here else [], "current": current,
        "reader_loans": reader_loans, "reader_overdue": any(loan.due_date < today for loan in reader_loans),
        "typed": request.POST if form is not None else {}, "focus": request.session.get(DESK_FOCUS, "checkout"),
    }, status=400 if form is not None else 200)


def _desk_lend(request: HttpRequest, cleaned: dict) -> None:
    """A reader scanned or typed (and maybe a book): a card or username lends at once; a name, pinyin or
    division first shows whom it found (the book is scanned again to lend); a reader alone starts a stack."""
    from accounts.selectors import reader_label

    reader, copy = cleaned["reader"], cleaned["copy"]
    request.session[DESK_READER] = reader.pk
    if copy is None:
        messages.success(request, _("当前读者：%(reader)s。请扫描图书条码。") % {"reader": reader_label(reader)})
    elif not cleaned["exact"]:
        messages.warning(request, _("按“%(typed)s”找到读者 %(reader)s，尚未借出。核对无误后请再扫一次图书条码。") % {
            "typed": cleaned["patron"], "reader": reader_label(reader)})
    else:
        _desk_checkout(request, copy, reader)


def _desk_checkout(request: HttpRequest, copy, reader) -> bool:
    from accounts.selectors import reader_label

    try:
        loan = circulation.loan_checkout(patron=reader, actor=request.user, copy=copy, channel=Channel.WEB)
    except DomainError as exc:  # the reasons speak to the reader ("您有逾期…"): the desk says whom they concern
        messages.error(request, _("不能借给 %(reader)s：%(reason)s") % {"reader": reader_label(reader), "reason": exc.detail})
        return False
    messages.success(request, _("《%(title)s》（%(barcode)s）借给 %(reader)s，应还 %(date)s。") % {
        "title": copy.book.title, "barcode": copy.barcode, "reader": reader_label(reader),
        "date": f"{loan.due_date:%Y-%m-%d}"})
    return True


def where_next(routing: circulation.Routing) -> str:
    """What the librarian does with the copy in their hands now."""
    from accounts.selectors import reader_label

    hold, transfer = routing.hold, routing.transfer
    if transfer is not None:
        return _("请放入发往 %(place)s 的在途箱（%(reason)s）。") % {
            "place": transfer.to_location, "reason": transfer.get_reason_display()}
    if hold is not None and hold.status == Hold.Status.READY:
        return _("请放上预约架：%(reader)s，取书截止 %(date)s。") % {
            "reader": reader_label(hold.patron), "date": f"{hold.pickup_by:%Y-%m-%d}"}
    return _("请放回书架。")


def _desk_check_in(request: HttpRequest, copy, here) -> None:
    try:
        done = circulation.check_in(copy=copy, at=here.name, actor=request.user, channel=Channel.WEB)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return
    said = {
        "returned": _("已还《%(title)s》。"), "pulled": _("已取出《%(title)s》。"),
        "received": _("已签收《%(title)s》。"), "found": _("《%(title)s》已找回。"),
    }[done.action] % {"title": copy.book.title}
    messages.success(request, _("%(done)s%(next)s") % {"done": said, "next": where_next(done.routing)})


@role_required(Role.LIBRARIAN)
def pull_list(request: HttpRequest) -> HttpResponse:
    """取书单: the requested copies to take off the shelves here, with where each goes; printable.  Each is
    marked pulled (or scanned at the desk) or not found."""
    here = _desk_location(request)
    if request.method == "POST":
        hold_id = as_id(request.POST.get("hold"))
        hold = selectors.hold_list(viewer=request.user).filter(pk=hold_id).first() if hold_id else None
        if hold is None:
            messages.error(request, _("该预约不存在。"))
        else:
            try:
                if request.POST.get("action") == "missing":
                    after = circulation.hold_not_found(hold=hold, actor=request.user, channel=Channel.WEB)
                    messages.success(request, _("《%(title)s》（%(barcode)s）记为架上未找到；%(next)s") % {
                        "title": hold.book.title, "barcode": hold.copy.barcode,
                        "next": _("已另留一册（%(barcode)s）。") % {"barcode": after.copy.barcode} if after.copy_id
                        else _("预约回到排队。")})
                else:
                    routing = circulation.hold_pulled(hold=hold, actor=request.user, channel=Channel.WEB,
                                                      at=here.name if here else None)
                    messages.success(request, _("%(done)s%(next)s") % {
                        "done": _("已取出《%(title)s》。") % {"title": hold.book.title}, "next": where_next(routing)})
            except DomainError as exc:
                messages.error(request, exc.detail)
        return redirect("desk-pull")
    rows = selectors.pull_list(location=here.name) if here else []
    return render(request, "library/pull_list.html", {**_desk_context(request, here), "rows": rows,
                                                      "today": library_today()})


@role_required(Role.LIBRARIAN)
def transit(request: HttpRequest) -> HttpResponse:
    """在途: copies to send from here (and sent, on the way), copies coming here to receive, and moving a copy
    on the shelf to another location."""
    from library.forms import TransferForm

    here = _desk_location(request)
    form = TransferForm(here=here)
    refused = False
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "move":
            form = TransferForm(request.POST, here=here)
            if form.is_valid():
                try:
                    transfer = circulation.transfer_create(copy=form.cleaned_data["copy"], to=form.cleaned_data["to"],
                                                           actor=request.user, channel=Channel.WEB)
                except (DomainError, InvalidInput) as exc:
                    messages.error(request, exc.detail)
                    refused = True
                else:
                    messages.success(request, _("《%(title)s》（%(barcode)s）待发往 %(place)s。") % {
                        "title": transfer.copy.book.title, "barcode": transfer.copy.barcode,
                        "place": transfer.to_location})
                    return redirect("desk-transit")
            else:
                messages.error(request, form.first_error())
        else:
            _transit_action(request, action, request.POST.getlist("transfer"))
            return redirect("desk-transit")
    name = here.name if here else ""
    return render(request, "library/transit.html", {
        **_desk_context(request, here), "form": form,
        "outgoing": selectors.transfer_list(location=name, direction="outgoing"),
        "incoming": selectors.transfer_list(location=name, direction="incoming"),
    }, status=400 if form.errors or refused else 200)


def _transit_action(request: HttpRequest, action: str | None, ids: list[str]) -> None:
    """Send (the van left) or receive (it arrived) the ticked transfers; each says how it went."""
    if action not in ("send", "receive") or not ids:
        messages.error(request, _("请勾选要发出或签收的书。"))
        return
    missing = 0
    for transfer_id in ids[:200]:
        transfer = selectors.transfer_get(transfer_id=as_id(transfer_id)) if as_id(transfer_id) else None
        if transfer is None:
            missing += 1
            continue
        try:
            if action == "send":
                circulation.transfer_send(transfer=transfer, actor=request.user, channel=Channel.WEB)
                messages.success(request, _("《%(title)s》已发往 %(place)s。") % {
                    "title": transfer.copy.book.title, "place": transfer.to_location})
            else:
                routing = circulation.transfer_receive(transfer=transfer, actor=request.user, channel=Channel.WEB)
                messages.success(request, _("%(done)s%(next)s") % {
                    "done": _("已签收《%(title)s》。") % {"title": transfer.copy.book.title}, "next": where_next(routing)})
        except DomainError as exc:
            messages.error(request, f"《{transfer.copy.book.title}》：{exc.detail}")
    if missing:
        messages.error(request, _("有 %(n)d 项调拨不存在（可能已被删除）。") % {"n": missing})


@role_required(Role.LIBRARIAN)
@require_safe
def hold_slip(request: HttpRequest, hold_id: int) -> HttpResponse:
    """A printable slip for a copy on the hold shelf: whose, where, until when."""
    hold = selectors.hold_list(viewer=request.user).filter(pk=hold_id, status=Hold.Status.READY).first()
    if hold is None:
        raise Http404
    return render(request, "library/slip_hold.html", {"hold": hold})


@role_required(Role.LIBRARIAN)
@require_safe
def loan_receipt(request: HttpRequest) -> HttpResponse:
    """A printable date-due receipt for the desk's current reader: every book they have, with its due date."""
    reader = _desk_reader(request)
    if reader is None:
        raise Http404
    loans = selectors.loan_queryset().filter(patron=reader, status=Loan.Status.ACTIVE).order_by("due_date")
    return render(request, "library/slip_receipt.html", {"reader": reader, "loans": loans,
                                                         "printed": timezone.localtime()})


@role_required(Role.LIBRARIAN)
def labels(request: HttpRequest) -> HttpResponse:
    """Print spine and barcode labels: of the copies not yet printed, those accessioned since a day, or the
    barcodes scanned; the PDF opens in the browser, ready to print (the API's POST /labels)."""
    form = LabelsForm(request.POST) if request.method == "POST" else LabelsForm()
    if request.method == "POST" and form.is_valid():
        try:
            printed = services.labels_print(**form.selection())
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            return pdf_response(printed.pdf, f"labels-{form.cleaned_data['kind']}.pdf")
    waiting = selectors.label_copies(unprinted=True).count()
    return render(request, "library/labels.html", {**_desk_context(request, _desk_location(request)), "form": form,
                                                   "waiting": waiting},
                  status=400 if form.errors else 200)


@role_required(Role.LIBRARIAN)
def cards(request: HttpRequest) -> HttpResponse:
    """Print library cards (读者证) with the card number as a barcode, for readers named or a division."""
    form = CardsForm(request.POST) if request.method == "POST" else CardsForm()
    if request.method == "POST" and form.is_valid():
        field = "readers" if form.identifiers() else "division"
        try:
            readers = card_readers(identifiers=form.identifiers(), division=form.cleaned_data["division"])
            printed = cards_print(readers=readers, field=field)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            return pdf_response(printed.pdf, "cards.pdf")
    return render(request, "library/cards.html", {**_desk_context(request, _desk_location(request)), "form": form},
                  status=400 if form.errors else 200)


#: The columns of the CSV template (the import page's 下载 CSV 模板), by the Chinese headers the importer reads
#: (importers.CSV_HEADER_ALIASES), with one example row to overwrite.
CSV_TEMPLATE = (
    ("ISBN", "978-7-301-04815-3"), ("题名", "民法物权"), ("副题名", ""), ("责任者", "王泽鉴 著"),
    ("出版者", "北京大学出版社"), ("出版年", "2009"), ("版次", ""), ("语种", "zh"), ("中图法分类号", "D923.2"),
    ("索书号", ""), ("主题词", "物权；民法"), ("内容提要", ""), ("条码", "FG100001"), ("馆藏地", "院本部"),
)


@require_safe
@role_required(Role.LIBRARIAN)
def catalog_import_template(request: HttpRequest) -> HttpResponse:
    """A CSV to fill in (UTF-8 with BOM, opens in Excel/WPS): the import page listed no columns (routine walk)."""
    from core.csvfile import csv_response

    return csv_response([name for name, _ in CSV_TEMPLATE], [[value for _, value in CSV_TEMPLATE]],
                        filename="书目导入模板.csv")


@role_required(Role.LIBRARIAN)
def catalog_import(request: HttpRequest) -> HttpResponse:
    """Upload a catalog file: it is stored and imported by a background job; the job's page follows it."""
    form = CatalogImportForm(request.POST, request.FILES) if request.method == "POST" else CatalogImportForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            started = tasks.catalog_import_start(
                data=upload.read(), filename=upload.name or "", format=form.cleaned_data["format"] or None,
                location=form.cleaned_data["location"] or None, started_by=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            return redirect("catalog-import-detail", import_id=started.pk)
    imports = [selectors.catalog_import_status(catalog_import=i) for i in selectors.catalog_import_list()]
    return render(request, "library/import.html", {"nav": "import", "form": form, "imports": imports},
                  status=400 if form.errors else 200)


@role_required(Role.LIBRARIAN)
def catalog_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """An import's progress (the page reloads itself while the job runs), then its counts and its report:
    every record, filtered by outcome and paginated, the conflicts waiting for a decision first, each with
    both values side by side and one button per decision."""
    found = selectors.catalog_import_get(import_id=import_id)
    if found is None:
        raise Http404
    status = selectors.catalog_import_status(catalog_import=found)
    outcome = request.GET.get("outcome", "")
    if outcome not in ImportRecord.Outcome.values:
        outcome = ""
    records = selectors.catalog_import_records(catalog_import=found, outcome=outcome or None,
                                               conflicts_first=True).select_related("decided_by")
    page = Paginator(records, IMPORT_RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "library/import_detail.html", {
        "nav": "import", "status": status, "running": status["state"] in ("queued", "running"), "page": page,
        "outcome": outcome, "outcomes": ImportRecord.Outcome.choices,
        "can_commit": found.dry_run and found.finished and bool(found.file),
        # The format as the upload form names it (UNIMARC/CNMARC XML), not its code (unimarcxml).
        "format_label": dict(CatalogImportForm.FORMATS).get(status["format"], status["format"]),
    })


#: Records per page of an import's report.
IMPORT_RECORDS_PER_PAGE = 50


# --- copy cataloguing ------------------------------------------------------------------------------------


@role_required(Role.LIBRARIAN)
@require_safe
def copy_catalog(request: HttpRequest) -> HttpResponse:
    """从其他图书馆复制编目: search an SRU target by ISBN, title or author; each candidate beside the local
    book it matches, with an import button.  The search runs in this request, bounded by the SRU timeouts
    (library/copycat.py says why)."""
    targets = list(copycat.sru_target_list(enabled_only=True))
    asked = "q" in request.GET
    form = CopySearchForm(request.GET if asked else None,
                          initial={"target": targets[0].pk if targets else None, "by": "isbn"})
    context = {"nav": "import", "form": form, "targets": targets, "found": None, "problem": "", "rows": []}
    if asked and form.is_valid():
        data = form.cleaned_data
        try:
            found = copycat.copycat_search(target=data["target"], by=data["by"], term=data["q"],
                                           page=data["page"] or 1)
        except DomainError as exc:
            context["problem"] = exc.detail
        else:
            context["found"] = found
            context["rows"] = [
                {"candidate": c, "compared": copycat.differences(c.fields, c.local_fields, list(copycat.COMPARED)),
                 "differing_labels": [importers.field_label(name) for name in c.differences]}
                for c in found.candidates]
            base = request.GET.copy()
            base.pop("page", None)
            context["page_query"] = base.urlencode()
    status = 400 if asked and form.errors else 200
    return render(request, "library/copy_catalog.html", context, status=status)


@role_required(Role.LIBRARIAN)
@require_POST
def catalog_import_decide(request: HttpRequest, import_id: int, position: int) -> HttpResponse:
    """A librarian's decision on one conflict (keep, replace, new), from the import's page."""
    found = selectors.catalog_import_get(import_id=import_id)
    record = found and selectors.import_record_get(catalog_import=found, position=position)
    if record is None or not record.conflict_kind:
        raise Http404
    form = ImportDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择保留、覆盖或另建"))
        return redirect("catalog-import-detail", import_id=import_id)
    try:
        record = imports.import_record_decide(record=record, action=form.cleaned_data["action"], actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("catalog-import-detail", import_id=import_id)
    where = (_("第 %(n)s 条记录") if record.record else _("第 %(n)s 行")) % {"n": record.record or record.line or position}
    messages.success(request, _("%(where)s《%(title)s》已决定：%(decision)s") % {
        "where": where, "title": record.title, "decision": record.get_decision_display()})
    return redirect("catalog-import-detail", import_id=import_id)


@role_required(Role.LIBRARIAN)
@require_POST
def catalog_import_commit(request: HttpRequest, import_id: int) -> HttpResponse:
    """正式导入: the real import of a finished dry run's file."""
    found = selectors.catalog_import_get(import_id=import_id)
    if found is None:
        raise Http404
    try:
        started = tasks.catalog_import_commit(dry_run=found, started_by=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("catalog-import-detail", import_id=import_id)
    return redirect("catalog-import-detail", import_id=started.pk)


@role_required(Role.LIBRARIAN)
@require_POST
def copy_catalog_import(request: HttpRequest) -> HttpResponse:
    """Import one candidate (its signed token); then the book's page, where copies and a call number follow."""
    form = CopyImportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("候选记录无效，请重新检索。"))
        return redirect("copy-catalog")
    target = form.cleaned_data["target"]
    try:
        result = copycat.copycat_import(target=target, token=form.cleaned_data["token"],
                                        on_conflict=form.cleaned_data["on_conflict"],
                                        fingerprint=form.cleaned_data["fingerprint"])
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("copy-catalog")
    if result.outcome == "failed" or result.book is None:
        messages.error(request, _("没有导入：%(reason)s") % {"reason": result.reason or _("记录无法写入")})
        return redirect("copy-catalog")
    if result.outcome == "conflict":
        compared = result.conflicts or copycat.differences(
            copycat.record_fields(target=target, token=form.cleaned_data["token"]),
            copycat.book_shown(result.book), list(copycat.COMPARED))
        return render(request, "library/copy_catalog_conflict.html", {
            "nav": "import", "result": result, "book": result.book, "compared": compared, "target": target,
            "token": form.cleaned_data["token"]})
    decided = form.cleaned_data["on_conflict"]
    text = {
        "keep": _("保留了本馆的《%(title)s》，没有写入 %(target)s 的记录。"),
        "replace": _("已以 %(target)s 的记录为准修改《%(title)s》。"),
        "new": _("已按 %(target)s 的记录另建新书《%(title)s》。下一步：添加复本、确定索书号。"),
    }.get(decided) or {
        "created": _("已从 %(target)s 导入《%(title)s》。下一步：添加复本、确定索书号。"),
        "updated": _("已用 %(target)s 的记录补充《%(title)s》。"),
        "unchanged": _("《%(title)s》已是 %(target)s 的这条记录，没有变化。"),
    }.get(result.outcome, _("《%(title)s》：%(target)s"))
    messages.success(request, text % {"target": target.name, "title": result.book.title})
    if result.reason:
        messages.info(request, result.reason)
    return redirect(f"{reverse('book-detail', args=[result.book.pk])}?imported={result.outcome}")


# --- a judge's own papers ---------------------------------------------------------------------------------


#: Who enters research papers on the pages: judges their own, librarians any.
PAPER_ROLES = (Role.JUDGE, Role.LIBRARIAN)


def _save_paper(request: HttpRequest, form: PaperForm, paper=None):
    """Create or update from a valid ``form``; the paper, or None with the model's errors put on the form."""
    try:
        if paper is None:
            return services.paper_create(**form.paper_data(), authors=form.author_names(), created_by=request.user)
        return services.paper_update(paper=paper, changes=form.paper_data(), authors=form.author_names(),
                                     actor=request.user)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    except DomainError as exc:  # too many papers or edits today
        form.add_error(None, exc.detail)
        return None


@role_required(*PAPER_ROLES)
def my_papers(request: HttpRequest) -> HttpResponse:
    """我的调研成果: the papers this judge entered, and a form to enter one (its file is added on its page)."""
    profile = Profile.objects.filter(user=request.user).first()
    name = (profile.display_name if profile and profile.display_name else
            request.user.get_full_name() or request.user.get_username())
    form = PaperForm(request.POST or None, initial={"authors": name})
    if request.method == "POST" and form.is_valid():
        paper = _save_paper(request, form)
        if paper is not None:
            messages.success(request, _("已录入《%(title)s》；请上传全文，以便同事按全文检索。") % {"title": paper.title})
            return redirect("my-paper", pk=paper.pk)
    papers = selectors.paper_queryset(user=request.user).filter(created_by=request.user).order_by("-created_at")
    return render(request, "library/my_papers.html", {"nav": "me", "form": form, "papers": papers})


@login_required
def my_paper(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit one's own paper and upload its full text (the text is read by a background job)."""
    paper = selectors.paper_get(user=request.user, paper_id=pk)
    if paper is None or not selectors.paper_can_edit(user=request.user, paper=paper):
        raise Http404
    form = PaperForm(initial=PaperForm.initial_for(paper))
    file_form = PaperFileForm()
    if request.method == "POST" and "upload" in request.POST:
        file_form = PaperFileForm(request.POST, request.FILES)
        if file_form.is_valid():
            upload = file_form.cleaned_data["file"]
            try:
                with hourly_allowance(request.user, "paper-upload", "PAPER_UPLOADS_PER_HOUR"):
                    tasks.paper_upload_file(paper=paper, data=upload.read(), filename=upload.name or "",
                                            uploaded_by=request.user)
            except Throttled:
                messages.error(request, _("上传过于频繁，请稍后再试。"))
            except InvalidInput as exc:
                file_form.add_error("file", exc.detail)
            except DomainError:  # deleted meanwhile
                raise Http404 from None
            else:
                messages.success(request, _("全文已上传，正在后台提取文本。"))
                return redirect("my-paper", pk=pk)
    elif request.method == "POST":
        form = PaperForm(request.POST)
        if form.is_valid() and _save_paper(request, form, paper) is not None:
            messages.success(request, _("已保存。"))
            return redirect("my-paper", pk=pk)
    paper.refresh_from_db()
    return render(request, "library/my_paper.html", {"nav": "me", "paper": paper, "form": form,
                                                     "file_form": file_form})
