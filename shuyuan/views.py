"""Project-wide error views."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shuyuan.middleware import API_PREFIX


@requires_csrf_token
def server_error(request) -> HttpResponse:
    """``handler500``: an unreachable database, or Redis of the rate limits, is a temporary outage (503 with
    Retry-After), anything else the plain 500 page.  Neither touches the database nor shows a traceback."""
    exc = sys.exc_info()[1]
    redis_away = isinstance(exc, (RedisConnectionError, RedisTimeoutError))
    unavailable = redis_away or isinstance(exc, (OperationalError, InterfaceError))
    status = 503 if unavailable else 500
    if request.path.startswith(API_PREFIX):
        detail = (_("服务暂时不可用，请稍后再试") if redis_away else _("数据库暂时不可用，请稍后再试") if unavailable
                  else _("服务器内部错误"))
        response = JsonResponse({"detail": detail, "code": "unavailable" if unavailable else "server_error"},
                                status=status, json_dumps_params={"ensure_ascii": False})
    else:
        body = loader.get_template(f"{status}.html").render()
        response = HttpResponse(body, status=status) if unavailable else HttpResponseServerError(body)
    if unavailable:
        response["Retry-After"] = "10"
    return response
