"""Structured request logs: one JSON line per request, and the request id on every log line.

* Each request gets an id — the ``X-Request-ID`` the proxy sent (nginx ``$request_id``) when it is a
  plain token, else a fresh one — returned in the ``X-Request-ID`` response header, so a user's
  complaint, the nginx log and this log meet on one id.
* ``RequestLogMiddleware`` writes ``{"request_id", "method", "path", "status", "duration_ms", "bytes",
  "user", "ip"}`` to the ``shuyuan.request`` logger when the response is done.
* ``RequestIdFilter`` puts the current request id on every record (``record.request_id``), so an error
  logged deep inside a service names the request it belongs to; ``JsonFormatter`` prints records as
  one JSON object per line (``LOG_FORMAT=json``, the default with DEBUG off).
* Secrets never reach the log: the secret part of a personal calendar feed's URL is replaced by
  ``…`` (the path is the only credential calendar apps can send).
"""

import contextvars
import json
import logging
import re
import time
import uuid

from core.net import client_ip

logger = logging.getLogger("shuyuan.request")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# A personal feed's path: everything after /calendar/u/ may be a secret, in any variant a client (or an
# attacker) may send — ``.ICS``, no suffix, a trailing slash, doubled slashes, an empty lookup
# (``fgcal__<secret>``), look-alike letters (a Cyrillic а, a full-width ｆ), a decoded space or newline — up to
# the end of the path (in runserver's request line, up to its " HTTP/1.1").
_FEED_PATH = re.compile(r"(/calendar/+u/+)(.*?)(?=\sHTTP/|\Z)", re.IGNORECASE | re.DOTALL)
# What of it is kept: the lookup of a well-formed token (a row id, not a secret; 16 hex characters today),
# and a closing ``.ics`` and/or ``/``.
_FEED_HEAD = re.compile(r"fgcal_[A-Za-z0-9]{1,16}_", re.IGNORECASE | re.ASCII)
_FEED_TAIL = re.compile(r"(?:\.ics)?/?\Z", re.IGNORECASE | re.ASCII)


def _redacted(match: re.Match) -> str:
    rest = match.group(2)
    head = _FEED_HEAD.match(rest)
    tail = _FEED_TAIL.search(rest).group()
    return f"{match.group(1)}{head.group() if head else ''}…{tail}"


def loggable_path(path: str) -> str:
    """The path without secrets: after ``/calendar/u/`` only the lookup of ``fgcal_<lookup>_<secret>.ics`` is
    kept (``/calendar/u/fgcal_<lookup>_….ics``), and of anything else there nothing (``/calendar/u/….ics``)."""
    return _FEED_PATH.sub(_redacted, path)


class SecretPathFilter(logging.Filter):
    """Redacts feed secrets (``loggable_path``) in the records of loggers that name a request's path:
    django.request's "Internal Server Error: <path>" (and its 4xx warnings), runserver's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = loggable_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(loggable_path(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: loggable_path(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class RequestLogMiddleware:
    """First in the chain: assigns the request id and logs the finished request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            size = None if getattr(response, "streaming", False) else len(response.content)
            logger.info(
                "%s %s %s", request.method, loggable_path(request.path), response.status_code,
                extra={"fields": {
                    "method": request.method,
                    "path": loggable_path(request.path),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "bytes": size,
                    "user": user.get_username() if user is not None and user.is_authenticated else None,
                    "ip": client_ip(request),
                }},
            )
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, request id, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
