"""Authentication endpoints: password → token, who am I, my tokens."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError, Throttled
from ninja.pagination import LimitOffsetPagination, paginate

from accounts import selectors, services
from accounts.auth import LOGGED_IN
from accounts.models import ApiToken, Profile
from accounts.schemas import MeOut, TokenInfoOut, TokenOut, TokenRequest

router = Router(tags=["accounts"])


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@router.post("/auth/token", response={200: TokenOut, 401: dict, 422: dict, 429: dict}, auth=None, summary="用户名密码换取令牌")
def obtain_token(request: HttpRequest, payload: TokenRequest):
    ip = _client_ip(request)
    wait = services.login_retry_after(username=payload.username, ip=ip)
    if wait:
        raise Throttled(wait=wait)
    user = services.login_with_password(username=payload.username, password=payload.password, ip=ip)
    if user is None:
        raise HttpError(401, "用户名或密码错误 (wrong username or password)")
    issued = services.token_issue(user=user, name=payload.name or "API")
    return {"token": issued.raw}


@router.get("/me", response=MeOut, auth=LOGGED_IN, summary="当前用户")
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


@router.get("/me/tokens", response=list[TokenInfoOut], auth=LOGGED_IN, summary="我的令牌")
@paginate(LimitOffsetPagination)
def my_tokens(request: HttpRequest):
    return selectors.token_list(user=request.auth)


@router.delete("/me/tokens/{token_id}", response={204: None, 401: dict, 404: dict}, auth=LOGGED_IN, summary="吊销令牌")
def revoke_token(request: HttpRequest, token_id: int):
    token = ApiToken.objects.filter(pk=token_id, user=request.auth).first()
    if token is None:
        raise HttpError(404, f"令牌 {token_id} 不存在 (token not found)")
    services.token_revoke(token=token)
    return Status(204, None)
