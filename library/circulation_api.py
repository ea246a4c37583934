"""Circulation API: loans, returns, renewals, holds and the audit trail.

A judge acts for themself (borrow by book id, renew, place and cancel holds; return only when
``SELF_RETURN`` is on); a librarian acts for anyone (desk checkout by barcode, returns, holds for a
patron) and reads everything.  Refusals are 409 with a ``code`` from :mod:`library.circulation`.
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
from library import circulation, selectors
from library.models import Channel, Copy
from library.schemas import (
    CirculationEventFilters,
    CirculationEventOut,
    HoldFilters,
    HoldIn,
    HoldOut,
    LoanFilters,
    LoanIn,
    LoanOut,
    ReturnIn,
    ReturnOut,
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


@router.post("/loans", response={201: LoanOut, **ERRORS}, auth=LOGGED_IN, summary="借书（自助：book；柜台：barcode + patron）",
             openapi_extra=idempotency.OPENAPI)
@decorate_view(idempotent)
def create_loan(request: HttpRequest, payload: LoanIn):
    if payload.book is not None and (payload.barcode or payload.patron):
        raise InvalidInput("book", _("自助借阅只给 book；柜台借出给 barcode 和 patron"))
    if payload.book is not None:
        require_role(request, *PATRON_ROLES)
        book = selectors.book_get(book_id=payload.book)
        if book is None:
            raise InvalidInput("book", _("图书 %(id)s 不存在") % {"id": payload.book}, code="unknown_book")
        loan = circulation.loan_checkout(patron=request.auth, actor=request.auth, book=book, channel=Channel.API)
    else:
        require_role(request, Role.LIBRARIAN)
        if not payload.barcode:
            raise InvalidInput("barcode", _("请给出复本条码或图书 id"))
        if not payload.patron:
            raise InvalidInput("patron", _("柜台借出需要读者用户名"))
        copy = _copy(payload.barcode)
        loan = circulation.loan_checkout(
            patron=_patron(payload.patron), actor=request.auth, copy=copy, channel=Channel.API
        )
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


def _return_out(result: circulation.ReturnResult) -> dict:
    hold = result.hold
    return {
        "loan": _loan_out(result.loan.pk),
        "to_hold": hold is not None,
        "hold_patron": hold.patron.get_username() if hold else None,
        "pickup_by": hold.pickup_by if hold else None,
    }


@router.post("/loans/{loan_id}/return", response={200: ReturnOut, **ERRORS}, auth=LOGGED_IN, summary="还书")
def return_loan(request: HttpRequest, loan_id: int):
    loan = _loan(request, loan_id)
    if not user_has_role(request.auth, Role.LIBRARIAN):
        if not settings.SELF_RETURN:
            raise HttpError(403, _("请到服务台还书"))
        # _loan() already limited a non-librarian to their own loans.
    return _return_out(circulation.loan_return(loan=loan, actor=request.auth, channel=Channel.API))


@router.post("/returns", response={200: ReturnOut, **ERRORS}, auth=LOGGED_IN, summary="还书（柜台扫码，馆员）")
def return_by_barcode(request: HttpRequest, payload: ReturnIn):
    require_role(request, Role.LIBRARIAN)
    copy = _copy(payload.barcode)
    loan = circulation.active_loan_for_copy(copy)
    if loan is None:
        raise HttpError(409, _("复本 %(barcode)s 未借出") % {"barcode": copy.barcode})
    return _return_out(circulation.loan_return(loan=loan, actor=request.auth, channel=Channel.API))


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
    hold = circulation.hold_place(patron=patron, book=book, actor=request.auth, channel=Channel.API)
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


# --- audit trail ---------------------------------------------------------------------------------------


@router.get(
    "/circulation/events", response={200: list[CirculationEventOut], **ERRORS}, auth=LOGGED_IN,
    summary="流通记录（馆员）",
)
@paginate(Pagination)
def list_events(request: HttpRequest, filters: Query[CirculationEventFilters]):
    require_role(request, Role.LIBRARIAN)
    return selectors.circulation_events(book=filters.book, patron=filters.patron, action=filters.action)
