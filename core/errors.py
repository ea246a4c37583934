"""Errors that services raise and the API turns into ``{"detail", "code"}`` responses, and the table of
error responses every API operation declares."""

from ninja import Schema
from pydantic import ConfigDict

#: The ``code`` of errors that carry no domain code of their own.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "throttled",
    503: "unavailable",
}


class DomainError(Exception):
    """A request that is well-formed but cannot be carried out (HTTP 409 by default)."""

    status = 409

    def __init__(self, code: str, detail: str, *, status: int | None = None, **extra) -> None:
        # A lazy translation (a module's constant) is rendered now, in the language of the request.
        detail = str(detail)
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra
        if status is not None:
            self.status = status


class InvalidInput(DomainError):
    """Input that fails a rule the schema cannot express; names the field."""

    status = 422

    def __init__(self, field: str, detail: str, *, code: str = "invalid") -> None:
        super().__init__(code, detail, field=field)
        self.field = field


class ForbiddenField(InvalidInput):
    """A field the caller may not set or change (a superuser's to decide): 403, naming the field."""

    status = 403


class FieldErrorOut(Schema):
    loc: list[str | int]
    field: str
    msg: str
    type: str


class ErrorOut(Schema):
    """Every error's body: what went wrong (a sentence, or for invalid input one entry per field) and a
    stable ``code``; some errors add what the client needs next (e.g. the conflicting bookings)."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[FieldErrorOut]
    code: str


def error_responses(*statuses: int) -> dict[int, type[Schema]]:
    """The declared error responses of an operation, all of the one shape: ``{**error_responses(401, 429)}``."""
    return {status: ErrorOut for status in statuses}


#: The error responses of an ordinary operation (``response={200: …, **ERRORS}``).
ERRORS = error_responses(400, 401, 403, 404, 409, 422)
#: Added by operations with a rate limit.
THROTTLED = error_responses(429)
