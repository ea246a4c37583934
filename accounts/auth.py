"""Authentication for the API: bearer tokens, sessions with CSRF, and anonymous reading.

Each class is a ninja auth callable; an operation lists the ones it accepts.
A request that presents a bearer token is judged by that token alone: a bad
token is a 401 even where anonymous reading is allowed, so a client never
silently falls back to anonymous access.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.selectors import user_has_role
from accounts.services import token_authenticate
from core import idempotency


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(message=_("Authorization 头应为 'Bearer <令牌>'"))
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(raw=token)
        if user is None:
            raise AuthenticationError(message=_("令牌无效或已吊销"))
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in Django session; unsafe methods must pass Django's CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        if "Authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and check_csrf(request):
            raise HttpError(403, _("CSRF 校验失败"))
        return user


def public_catalog(request: HttpRequest):
    """Let anonymous users read the catalog while CATALOG_PUBLIC is on."""
    if settings.CATALOG_PUBLIC and "Authorization" not in request.headers:
        return AnonymousUser()
    return None


token_auth = TokenAuth()
session_auth = SessionAuth()
#: Any logged-in user (token or session).
LOGGED_IN = [token_auth, session_auth]
#: Logged-in users, or anyone while the catalog is public.
CATALOG_READ = [token_auth, session_auth, public_catalog]


def require_role(request: HttpRequest, *roles: str) -> None:
    """Raise 403 unless the request's user holds one of ``roles`` (superusers hold all)."""
    if not user_has_role(request.auth, *roles):
        raise HttpError(403, _("需要以下角色之一：%(roles)s") % {"roles": ", ".join(roles)})


def credential_signs_in(request: HttpRequest) -> bool:
    """Whether the request's credential (bearer token or session) still signs someone in."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _space, raw = header.partition(" ")
        return scheme.lower() == "bearer" and token_authenticate(raw=raw.strip()) is not None
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


#: ``@decorate_view(idempotent)`` on an API operation that creates something (core/idempotency.py).
idempotent = idempotency.idempotent(credential_signs_in)
