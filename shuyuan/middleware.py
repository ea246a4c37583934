"""Keep the API's one error shape for responses produced outside its handlers."""

import json
from http import HTTPStatus

from core.errors import HTTP_CODES

API_PREFIX = "/api/"


class ApiErrorShapeMiddleware:
    """Turn HTML or plain-text 4xx/5xx answers under /api/ (405 from routing, Django's 400 for a
    body too large or a broken multipart stream …) into ``{"detail", "code"}`` JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            status = response.status_code
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
            allow = response.get("Allow")
            detail = f"{phrase}" + (f" (allowed: {allow})" if allow else "")
            body = json.dumps({"detail": detail, "code": HTTP_CODES.get(status, "error")}, ensure_ascii=False)
            response.content = body.encode()
            response["Content-Type"] = "application/json; charset=utf-8"
            response["Content-Length"] = str(len(response.content))
        return response
