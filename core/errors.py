"""Errors that services raise and the API turns into ``{"detail", "code"}`` responses."""

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
