"""Circulation API: loans, returns, renewals, requests (holds), the pull list, transfers and the audit trail.

A judge acts for themself (self-checkout of a copy in hand by its barcode, renew, request and cancel; return
only when ``SELF_RETURN`` is on); a librarian acts for anyone (desk checkout, check-in, requests for a
patron, the pull list and the van) and reads everything.  Refusals are 409 with a ``code`` from
:mod:`library.circulation`; input that names nothing real is 422 naming the field.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.pagination import paginate

from accounts.auth import LOGGED_IN, idempotent, require_role
from accounts.models import PATRON_ROLES, Role
from accounts.selectors import user_has_role
from core import idempotency
from core.errors import ERRORS, InvalidInput
from core.pagination import Pagination
from core.schema_types import Id, SingleLine
from library import circulation, selectors
from library.models import Channel, Copy, Hold, Location
from library.schemas import (
    CheckInIn,
    CheckInOut,
    CirculationEventFilters,
    CirculationEventOut,
    HoldFilters,
    HoldIn,
    HoldOut,
    LoanFilters,
    LoanIn,
    LoanOut,
    LocationOut,
    PullOut,
    ReturnIn,
    ReturnOut,
    TransferFilters,
    TransferIn,
    TransferOut,
)

router = Router(tags=["circulation"])



def _patron(username: str, field: str = "patron"):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(field, _("读者 %(username)s 不存在") % {"username": username}, code="unknown_patron")
    return user


def _copy(barcode: str, field: str = "barcode") -> Copy:
    copy = selectors.copy_get(barcode=barcode)
    if copy is None:
        raise InvalidInput(field, _("条码 %(barcode)s 不存在") % {"barcode": barcode}, code="unknown_barcode")
    return copy


def _location(code: str, field: str = "location") -> Location:
    location = selectors.location_get(code=code)
    if location is None:
        raise InvalidInput(field, _("馆藏地代码 %(code)s 不存在（见 GET /api/v1/locations）") % {"code": code},
                           code="unknown_location")
    return location


def routing_out(routing: circulation.Routing) -> dict:
    """Where the copy goes now, for the API and the desk alike."""
    hold, transfer = routing.hold, routing.transfer
    if transfer is not None:
        to = "transit"
    elif hold is not None:
        to = "hold_shelf" if hold.status == Hold.Status.READY else "pull_list"
    else:
        to = "shelf"
    return {
        "to": to,
        "hold": hold.pk if hold else None,
        "hold_patron": hold.patron.get_username() if hold else None,
        "pickup_by": hold.pickup_by if hold and to == "hold_shelf" else None,
        "transfer": transfer.pk if transfer else None,
        "to_location": transfer.to_location if transfer else None,
    }


def _loan(request: HttpRequest, loan_id: int):
    loan = selectors.loan_get(viewer=request.auth, loan_id=loan_id)
    if loan is None:
        # Someone else's loan is as invisible as a missing one.
        raise HttpError(404, _("借阅 %(id)s 不存在") % {"id": loan_id})
    return loan


def _hold(request: HttpRequest, hold_id: int):
    hold = selectors.hold_get(viewer=request.auth, hold_id=hold_id)
    if hold is None:
        raise HttpError(404, _("预约 %(id)s 不存在") % {"id": hold_id})
    return hold


def _loan_out(loan_id: int):
    return selectors.loan_queryset().get(pk=loan_id)


# --- loans -------------------------------------------------------------------------------------------


@router.post("/loans", response={201: LoanOut, **ERRORS}, auth=LOGGED_IN,
             summary="借书：复本条码（自助：barcode；柜台：barcode + patron）", openapi_extra=idempotency.OPENAPI)
@decorate_view(idempotent)
def create_loan(request: HttpRequest, payload: LoanIn):
    """A loan needs the copy in hand.  ``{"book"}`` alone is refused (422 ``barcode_required``): to borrow a
    book that is on a shelf or lent, request it (``POST /holds``) and pick it up."""
    if not payload.barcode:
        raise InvalidInput("barcode", _("借书需扫描或输入复本条码；要预借请用 POST /api/v1/holds"),
                           code="barcode_required")
    if payload.book is not None:
        raise InvalidInput("book", _("借书只给复本条码（barcode），不给 book"))
    if payload.patron and payload.patron != request.auth.get_username():
        require_role(request, Role.LIBRARIAN)
        patron = _patron(payload.patron)
    else:
        require_role(request, *PATRON_ROLES)
        patron = request.auth
    loan = circulation.loan_checkout(patron=patron, actor=request.auth, copy=_copy(payload.barcode),
                                     channel=Channel.API)
    return Status(201, _loan_out(loan.pk))


@router.get("/loans", response={200: list[LoanOut], **ERRORS}, auth=LOGGED_IN, summary="借阅列表（本人；馆员可看全部）")
@paginate(Pagination)
def list_loans(request: HttpRequest, filters: Query[LoanFilters]):
    return selectors.loan_list(viewer=request.auth, status=filters.status, patron=filters.patron, book=filters.book)


@router.get("/loans/{loan_id}", response={200: LoanOut, **ERRORS}, auth=LOGGED_IN, summary="借阅详情")
def get_loan(request: HttpRequest, loan_id: int):
    return _loan(request, loan_id)


@router.post("/loans/{loan_id}/renew", response={200: LoanOut, **ERRORS}, auth=LOGGED_IN, summary="续借")
def renew_loan(request: HttpRequest, loan_id: int):
    loan = _loan(request, loan_id)
    circulation.loan_renew(loan=loan, actor=request.auth, channel=Channel.API)
    return _loan_out(loan.pk)


def _return_out(result: circulation.ReturnResult, *, desk: bool = True) -> dict:
    """A return's answer; a reader returning their own loan (``SELF_RETURN``) is not told who is next."""
    hold = result.hold
    routing = routing_out(result.routing)
    if not desk:
        routing["hold_patron"] = None
    return {
        "loan": _loan_out(result.loan.pk),
        "to_hold": hold is not None,
        "hold_patron": hold.patron.get_username() if hold and desk else None,
        "pickup_by": hold.pickup_by if hold else None,
        "next": routing,
    }


@router.post("/loans/{loan_id}/return", response={200: ReturnOut, **ERRORS}, auth=LOGGED_IN, summary="还书")
def return_loan(request: HttpRequest, loan_id: int):
    loan = _loan(request, loan_id)
    desk = user_has_role(request.auth, Role.LIBRARIAN)
    if not desk and not settings.SELF_RETURN:
        raise HttpError(403, _("请到服务台还书"))
    # _loan() already limited a non-librarian to their own loans.
    return _return_out(circulation.loan_return(loan=loan, actor=request.auth, channel=Channel.API), desk=desk)


@router.post("/returns", response={200: ReturnOut, **ERRORS}, auth=LOGGED_IN, summary="还书（柜台扫码，馆员）")
def return_by_barcode(request: HttpRequest, payload: ReturnIn):
    require_role(request, Role.LIBRARIAN)
    at = _location(payload.location).name if payload.location else None
    copy = _copy(payload.barcode)
    loan = circulation.active_loan_for_copy(copy)
    if loan is None:
        raise HttpError(409, _("复本 %(barcode)s 未借出") % {"barcode": copy.barcode})
    return _return_out(circulation.loan_return(loan=loan, actor=request.auth, channel=Channel.API, at=at))


@router.post("/checkins", response={200: CheckInOut, **ERRORS}, auth=LOGGED_IN,
             summary="签收（馆员，扫码）：还书、取出预约书、收到在途书、找回缺失书")
def check_in(request: HttpRequest, payload: CheckInIn):
    """One scan at a desk does what the copy needs; ``next`` says where to put it (hold shelf, van, shelf).
    409 codes: ``not_checked_out``, ``on_hold_shelf``, ``not_here``, ``copy_unavailable``, ``copy_changed``."""
    require_role(request, Role.LIBRARIAN)
    at = _location(payload.location)
    copy = _copy(payload.barcode)
    done = circulation.check_in(copy=copy, at=at.name, actor=request.auth, channel=Channel.API)
    return {"action": done.action, "barcode": copy.barcode, "title": copy.book.title,
            "loan": _loan_out(done.loan.pk) if done.loan else None, "next": routing_out(done.routing)}


# --- holds -------------------------------------------------------------------------------------------


@router.post("/holds", response={201: HoldOut, **ERRORS, 429: dict}, auth=LOGGED_IN, summary="预约",
             openapi_extra=idempotency.OPENAPI)
@decorate_view(idempotent)
def create_hold(request: HttpRequest, payload: HoldIn):
    if payload.patron:
        require_role(request, Role.LIBRARIAN)
        patron = _patron(payload.patron)
    else:
        require_role(request, *PATRON_ROLES)
        patron = request.auth
    book = selectors.book_get(book_id=payload.book)
    if book is None:
        raise InvalidInput("book", _("图书 %(id)s 不存在") % {"id": payload.book}, code="unknown_book")
    pickup = _location(payload.pickup_location, "pickup_location") if payload.pickup_location else None
    hold = circulation.hold_place(patron=patron, book=book, actor=request.auth, pickup_location=pickup,
                                  channel=Channel.API)
    return Status(201, selectors.hold_queryset().get(pk=hold.pk))


@router.get("/holds", response={200: list[HoldOut], **ERRORS}, auth=LOGGED_IN, summary="预约列表（本人；馆员可看全部）")
@paginate(Pagination)
def list_holds(request: HttpRequest, filters: Query[HoldFilters]):
    return selectors.hold_list(viewer=request.auth, status=filters.status, patron=filters.patron, book=filters.book)


@router.get("/holds/{hold_id}", response={200: HoldOut, **ERRORS}, auth=LOGGED_IN, summary="预约详情")
def get_hold(request: HttpRequest, hold_id: int):
    return _hold(request, hold_id)


@router.delete("/holds/{hold_id}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="取消预约")
def cancel_hold(request: HttpRequest, hold_id: int):
    circulation.hold_cancel(hold=_hold(request, hold_id), actor=request.auth, channel=Channel.API)
    return Status(204, None)


@router.post("/holds/{hold_id}/pulled", response={200: CheckInOut, **ERRORS}, auth=LOGGED_IN,
             summary="取书单：已从书架取出（馆员）")
def hold_pulled(request: HttpRequest, hold_id: Id):
    require_role(request, Role.LIBRARIAN)
    hold = _hold(request, hold_id)
    routing = circulation.hold_pulled(hold=hold, actor=request.auth, channel=Channel.API)
    return {"action": "pulled", "barcode": routing.copy.barcode, "title": hold.book.title, "loan": None,
            "next": routing_out(routing)}


@router.post("/holds/{hold_id}/not-found", response={200: HoldOut, **ERRORS}, auth=LOGGED_IN,
             summary="取书单：架上未找到（馆员）；另留一册或回到排队")
def hold_not_found(request: HttpRequest, hold_id: Id):
    require_role(request, Role.LIBRARIAN)
    hold = circulation.hold_not_found(hold=_hold(request, hold_id), actor=request.auth, channel=Channel.API)
    return selectors.hold_queryset().get(pk=hold.pk)


# --- locations, the pull list and the van ----------------------------------------------------------------


@router.get("/locations", response={200: list[LocationOut], **ERRORS}, auth=None, summary="馆藏地与取书点（含开放时间）")
def list_locations(request: HttpRequest, pickup: bool | None = None):
    return list(selectors.location_list(pickup=pickup))


@router.get("/pull-list", response={200: list[PullOut], **ERRORS}, auth=LOGGED_IN, summary="取书单（馆员）：某馆待取出的预约书")
@paginate(Pagination)
def pull_list(request: HttpRequest, location: SingleLine(32, 1)):
    require_role(request, Role.LIBRARIAN)
    return selectors.pull_list(location=_location(location).name)


@router.get("/transfers", response={200: list[TransferOut], **ERRORS}, auth=LOGGED_IN, summary="在途清单（馆员）：发出与待签收")
@paginate(Pagination)
def list_transfers(request: HttpRequest, filters: Query[TransferFilters]):
    require_role(request, Role.LIBRARIAN)
    return selectors.transfer_list(location=_location(filters.location).name, direction=filters.direction)


@router.post("/transfers", response={201: TransferOut, **ERRORS}, auth=LOGGED_IN, summary="调拨在架复本到另一馆藏地（馆员）")
def create_transfer(request: HttpRequest, payload: TransferIn):
    require_role(request, Role.LIBRARIAN)
    to = _location(payload.to_location, "to_location")
    transfer = circulation.transfer_create(copy=_copy(payload.barcode), to=to, actor=request.auth,
                                           channel=Channel.API)
    return Status(201, selectors.transfer_get(transfer_id=transfer.pk))


def _transfer(transfer_id: int):
    transfer = selectors.transfer_get(transfer_id=transfer_id)
    if transfer is None:
        raise HttpError(404, _("调拨 %(id)s 不存在") % {"id": transfer_id})
    return transfer


@router.post("/transfers/{transfer_id}/send", response={200: TransferOut, **ERRORS}, auth=LOGGED_IN,
             summary="调拨：已发出（馆员）")
def send_transfer(request: HttpRequest, transfer_id: Id):
    require_role(request, Role.LIBRARIAN)
    circulation.transfer_send(transfer=_transfer(transfer_id), actor=request.auth, channel=Channel.API)
    return selectors.transfer_get(transfer_id=transfer_id)


@router.post("/transfers/{transfer_id}/receive", response={200: CheckInOut, **ERRORS}, auth=LOGGED_IN,
             summary="调拨：已签收（馆员）")
def receive_transfer(request: HttpRequest, transfer_id: Id):
    require_role(request, Role.LIBRARIAN)
    transfer = _transfer(transfer_id)
    routing = circulation.transfer_receive(transfer=transfer, actor=request.auth, channel=Channel.API)
    return {"action": "received", "barcode": transfer.copy.barcode, "title": transfer.copy.book.title,
            "loan": None, "next": routing_out(routing)}


# --- audit trail ---------------------------------------------------------------------------------------


@router.get(
    "/circulation/events", response={200: list[CirculationEventOut], **ERRORS}, auth=LOGGED_IN,
    summary="流通记录（馆员）",
)
@paginate(Pagination)
def list_events(request: HttpRequest, filters: Query[CirculationEventFilters]):
    require_role(request, Role.LIBRARIAN)
    return selectors.circulation_events(book=filters.book, patron=filters.patron, action=filters.action)
