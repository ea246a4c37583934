"""Authentication endpoints: password → token, who am I, my tokens."""


from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.errors import HttpError, Throttled
from ninja.pagination import paginate

from accounts import selectors, services
from accounts.auth import LOGGED_IN, require_role
from accounts.models import ApiToken, CalendarLink, Profile, Role
from accounts.schemas import (
    CalendarLinkIn,
    CalendarLinkOut,
    CalendarLinkPatch,
    CalendarLinksOut,
    MeOut,
    ReaderOut,
    TokenInfoOut,
    TokenOut,
    TokenRequest,
)
from core.errors import error_responses
from core.net import client_ip
from core.pagination import Pagination
from core.schema_types import SingleLine
from core.throttles import hourly_allowance

router = Router(tags=["accounts"])


@router.post("/auth/token", response={200: TokenOut, **error_responses(400, 401, 422, 429)}, auth=None, summary="用户名密码换取令牌")
def obtain_token(request: HttpRequest, payload: TokenRequest):
    result = services.login_with_password(username=payload.username, password=payload.password, ip=client_ip(request))
    if result.retry_after:
        raise Throttled(wait=result.retry_after)
    if result.user is None:
        raise HttpError(401, _("用户名或密码错误"))
    issued = services.token_issue(user=result.user, name=payload.name or "API")
    return {"token": issued.raw}


@router.get("/me", response={200: MeOut, **error_responses(401)}, auth=LOGGED_IN, summary="当前用户")
def me(request: HttpRequest):
    user = request.auth
    profile = Profile.objects.filter(user=user).first()
    return {
        "username": user.username,
        "display_name": profile.display_name if profile else "",
        "division": profile.division if profile else "",
        "email": user.email,
        "phone": profile.phone if profile else "",
        "roles": sorted(selectors.user_roles(user)),
        "is_superuser": user.is_superuser,
    }


@router.get("/me/tokens", response={200: list[TokenInfoOut], **error_responses(401, 422)}, auth=LOGGED_IN, summary="我的令牌")
@paginate(Pagination)
def my_tokens(request: HttpRequest):
    return selectors.token_list(user=request.auth)


@router.delete("/me/tokens/{token_id}", response={204: None, **error_responses(401, 404, 422)}, auth=LOGGED_IN, summary="吊销令牌")
def revoke_token(request: HttpRequest, token_id: int):
    token = ApiToken.objects.filter(pk=token_id, user=request.auth).first()
    if token is None:
        raise HttpError(404, _("令牌 %(id)s 不存在") % {"id": token_id})
    services.token_revoke(token=token)
    return Status(204, None)


@router.post("/me/calendar-token", response={200: CalendarLinksOut, **error_responses(401, 409, 429)},
             auth=LOGGED_IN, deprecated=True,
             summary="（已弃用）更换名为“日历订阅”的链接；请改用 /me/calendar-links")
def rotate_calendar_token(request: HttpRequest):
    """Replaces the caller's link named 日历订阅 (the one this call made before) with a new one, as it always
    replaced the one link there was; other links are untouched.  Counts against the same hourly allowance."""
    with hourly_allowance(request.auth, "calendar-token", "CALENDAR_TOKEN_ROTATIONS_PER_HOUR"):
        token = services.calendar_token_rotate(user=request.auth)
    return selectors.calendar_links(token, name=services.LEGACY_LINK_NAME)


@router.get("/me/calendar-links", response={200: list[CalendarLinkOut], **error_responses(401, 422)},
            auth=LOGGED_IN, summary="我的日历订阅链接（含订阅地址）")
@paginate(Pagination)
def my_calendar_links(request: HttpRequest):
    return selectors.calendar_link_list(user=request.auth)


@router.post("/me/calendar-links", response={201: CalendarLinkOut, **error_responses(400, 401, 409, 422, 429)},
             auth=LOGGED_IN, summary="新建一个日历订阅链接（如给另一台设备）")
def create_calendar_link(request: HttpRequest, payload: CalendarLinkIn):
    # A script making links in a loop is stopped; the page and the deprecated call count in the same allowance.
    with hourly_allowance(request.auth, "calendar-token", "CALENDAR_TOKEN_ROTATIONS_PER_HOUR"):
        link = services.calendar_link_create(user=request.auth, name=payload.name, scope=payload.scope)
    return Status(201, link)


def _my_link(request: HttpRequest, link_id: int) -> CalendarLink:
    link = CalendarLink.objects.filter(pk=link_id, user=request.auth).first()
    if link is None:
        raise HttpError(404, _("日历订阅链接 %(id)s 不存在") % {"id": link_id})
    return link


@router.patch("/me/calendar-links/{link_id}", response={200: CalendarLinkOut, **error_responses(400, 401, 404, 422)},
              auth=LOGGED_IN, summary="重命名日历订阅链接或更改其内容（地址不变）")
def update_calendar_link(request: HttpRequest, link_id: int, payload: CalendarLinkPatch):
    return services.calendar_link_update(link=_my_link(request, link_id), name=payload.name, scope=payload.scope)


@router.delete("/me/calendar-links/{link_id}", response={204: None, **error_responses(401, 404, 422)},
               auth=LOGGED_IN, summary="删除日历订阅链接（该地址立即失效）")
def delete_calendar_link(request: HttpRequest, link_id: int):
    services.calendar_link_revoke(link=_my_link(request, link_id))
    return Status(204, None)


@router.get("/readers", response={200: list[ReaderOut], **error_responses(401, 403, 422)}, auth=LOGGED_IN,
            summary="查找读者（馆员）：读者证号、用户名、姓名、拼音或庭室")
def find_readers(request: HttpRequest, q: SingleLine(64, 1)):
    """What the desk's reader field does: an exact card number or username gives that reader alone; otherwise
    names containing ``q``, names whose pinyin (whole or initials) begins with it, divisions containing it."""
    require_role(request, Role.LIBRARIAN)
    found = []
    for user in selectors.find_readers(q):
        profile = getattr(user, "profile", None)
        found.append({"username": user.get_username(), "display_name": profile.display_name if profile else "",
                      "division": profile.division if profile else "",
                      "card_number": profile.card_number if profile else None, "email": user.email,
                      "phone": profile.phone if profile else "", "label": selectors.reader_label(user)})
    return found
