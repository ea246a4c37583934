"""The one NinjaAPI of the project: mounts each app's router and gives every error one shape.

Errors are ``{"detail": …, "code": "…"}``.  For invalid input ``detail`` is a
list of ``{"loc", "field", "msg", "type"}`` naming each field and reason.
"""

import logging
import re
from datetime import datetime

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.api import router as accounts_router
from core.errors import HTTP_CODES, DomainError, InvalidInput
from events.api import router as events_router
from library.api import router as library_router
from library.circulation_api import router as circulation_router
from library.copycat_api import router as copycat_router
from notices.api import router as notices_router
from reports.api import router as reports_router
from reports.reading_api import router as reading_year_router
from search_index.api import router as search_router

logger = logging.getLogger(__name__)

class LocalTimeEncoder(NinjaJSONEncoder):
    """Aware datetimes in the library's time zone (Asia/Shanghai), with their offset: 2026-12-02T10:00:00+08:00."""

    def default(self, o):
        if isinstance(o, datetime) and timezone.is_aware(o):
            return timezone.localtime(o).isoformat()
        return super().default(o)


class UnicodeJSONRenderer(JSONRenderer):
    """JSON with Chinese and Mongolian text as is, not as \\u escapes; datetimes in local time."""

    encoder_class = LocalTimeEncoder
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=UnicodeJSONRenderer(),
    title="法官书苑 API",
    version="1",
    description="法官书苑（法院图书馆）API：馆藏目录、调研成果、借阅与活动。认证：`Authorization: Bearer <令牌>` 或登录会话（需 CSRF）。",
    urls_namespace="api-v1",
)

def _error(request: HttpRequest, status: int, detail, code: str | None = None, **extra):
    body = {"detail": detail, "code": code or HTTP_CODES.get(status, "error"), **extra}
    return api.create_response(request, body, status=status)


#: Names pydantic-core gives the members of a union in an error's ``loc`` when they are not models:
#: ``speakers.0.constrained-str``.  Parametrised ones (``function-after[single_line(), …]``,
#: ``list[str]``, ``nullable[…]``) are recognised by their bracket, a model member by its class name.
_UNION_MEMBER_NAMES = {"str", "int", "float", "bool", "bytes", "none", "date", "time", "datetime", "timedelta",
                       "decimal", "uuid", "url", "multi-host-url", "dict", "list", "set", "frozenset", "tuple", "any",
                       "constrained-str", "constrained-int", "constrained-float", "constrained-bytes", "typed-dict"}


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and (
        "[" in part or part in _UNION_MEMBER_NAMES or re.fullmatch(r"[A-Z][A-Za-z0-9]*", part) is not None
    )


def _field_of(loc) -> str:
    """``["body", "payload", "authors", 0]`` → ``"authors.0"``: drop the location and the schema parameter's name.

    For a field that takes one of several types (a speaker as a name or an object) pydantic adds the
    union member it tried to ``loc``; the field drops it: ``speakers.0`` or ``speakers.0.name``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in ("payload", "filters", "options"):
        parts = parts[1:]
    # The first part is a parameter or field name (a header such as Authorization is capitalised), never a tag.
    return ".".join(str(p) for i, p in enumerate(parts) if i == 0 or not _is_union_tag(p))


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = []
    for err in exc.errors:
        loc = list(err.get("loc", ()))
        errors.append({"loc": loc, "field": _field_of(loc), "msg": str(err.get("msg", "")), "type": err.get("type", "")})
    return _error(request, 422, errors, "invalid")


def _located(request, field: str = "") -> str:
    """Where a refused field came from: a GET's fields, and any the request gave as query parameters, are in the
    query (a bad ``after``, a report's date range said "body"); the rest in the body."""
    return "query" if request.method == "GET" or (field and field in request.GET) else "body"


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request, exc: DjangoValidationError):
    errors = []
    if hasattr(exc, "error_dict"):
        for field, field_errors in exc.message_dict.items():
            for msg in field_errors:
                errors.append({"loc": [_located(request, field), field], "field": field, "msg": msg, "type": "invalid"})
    else:
        errors = [{"loc": [_located(request)], "field": "", "msg": msg, "type": "invalid"} for msg in exc.messages]
    return _error(request, 422, errors, "invalid")


@api.exception_handler(InvalidInput)
def on_invalid_input(request, exc: InvalidInput):
    errors = [{"loc": [_located(request, exc.field), exc.field], "field": exc.field, "msg": exc.detail,
               "type": exc.code}]
    return _error(request, exc.status, errors, exc.code)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = _error(request, exc.status, exc.detail, exc.code, **exc.extra)
    if exc.status == 429 and exc.extra.get("retry_after"):
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


@api.exception_handler(ProtectedError)
@api.exception_handler(RestrictedError)
def on_protected(request, exc):
    # A service should have refused with its own code (copy_has_history, venue_in_use …); this is the
    # net under a delete that one day forgets to, so that it is still a conflict and never a 500.
    logger.warning("delete refused by a protecting foreign key: %s", exc)
    return _error(request, 409, _("仍有其他记录引用该对象，不能删除"), "in_use")


@api.exception_handler(Throttled)
def on_throttled(request, exc: Throttled):
    wait = int(getattr(exc, "wait", 0) or 0)
    detail = _("尝试次数过多，请 %(wait)s 秒后再试") % {"wait": wait} if wait else _("尝试次数过多")
    response = _error(request, 429, detail, "throttled")
    if wait:
        response["Retry-After"] = str(wait)
    return response


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc: RequestDataTooBig):
    return _error(request, 413, _("请求体过大"), "too_large")


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc: MultiPartParserError):
    return _error(request, 400, _("multipart 请求格式错误：%(error)s") % {"error": exc}, "bad_request")


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request, exc: SuspiciousOperation):
    return _error(request, 400, _("请求无效"), "bad_request")


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc: AuthenticationError):
    message = str(exc) if str(exc) != "Unauthorized" else _("需要登录或有效令牌")
    response = _error(request, 401, message, "unauthorized")
    response["WWW-Authenticate"] = 'Bearer realm="faguan-shuyuan"'
    return response


@api.exception_handler(AuthorizationError)
def on_authorization_error(request, exc: AuthorizationError):
    return _error(request, 403, str(exc), "forbidden")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request, exc):
    """The database is down, restarting or unreachable: a temporary 503 (the next request reconnects)."""
    logger.warning("database unavailable: %s: %s", exc.__class__.__name__, (str(exc).strip().splitlines() or [""])[0])
    response = _error(request, 503, _("数据库暂时不可用，请稍后再试"), "unavailable")
    response["Retry-After"] = "10"
    return response


@api.exception_handler(RedisConnectionError)
@api.exception_handler(RedisTimeoutError)
def on_redis_unavailable(request, exc):
    """The Redis of the rate limits (RATELIMIT_URL) is down or unreachable: a temporary 503, as for the
    database (the caches on Redis do without it: core/cache.py)."""
    logger.warning("redis unavailable: %s: %s", exc.__class__.__name__, exc)
    response = _error(request, 503, _("服务暂时不可用，请稍后再试"), "unavailable")
    response["Retry-After"] = "10"
    return response


@api.exception_handler(OSError)
def on_storage_error(request, exc: OSError):
    """A disk that is full, read-only or gone, or an object store that does not answer (uploaded files,
    core/s3storage.py): nothing was written (the database transaction rolled back with it); say so instead of a
    bare 500."""
    logger.error("storage unavailable: %s", exc, exc_info=exc)
    message = _("文件存储暂时不可用，请稍后再试") if request.method in ("GET", "HEAD") else _("文件存储暂时不可写，请稍后再试")
    response = _error(request, 503, message, "unavailable")
    response["Retry-After"] = "60"
    return response


@api.exception_handler(Http404)
def on_404(request, exc: Http404):
    return _error(request, 404, str(exc) or "Not Found", "not_found")


@csrf_exempt  # answers 404 to any method: a POST without a CSRF token was a 403 "Forbidden" page
def api_not_found(request: HttpRequest, path: str = ""):
    """Unknown paths under /api/v1/ answer in the API's shape, not with an HTML page."""
    from django.http import JsonResponse

    return JsonResponse({"detail": _("没有这个接口：%(path)s") % {"path": f"/api/v1/{path}"}, "code": "not_found"},
                        status=404, json_dumps_params={"ensure_ascii": False})


api.add_router("/", accounts_router)
api.add_router("/", library_router)
api.add_router("/", circulation_router)
api.add_router("/", copycat_router)
api.add_router("/", events_router)
api.add_router("/", search_router)
api.add_router("/", notices_router)
api.add_router("/", reading_year_router)
api.add_router("/", reports_router)
