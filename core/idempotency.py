"""``Idempotency-Key`` for the POSTs that create loans, holds and registrations.

A client that lost the answer to a POST (a timeout, a worker killed mid-request, a dropped phone
connection) sends it again with the same ``Idempotency-Key`` header and gets the first answer back
(header ``Idempotent-Replayed: true``) instead of a second loan or a "you already borrowed this".

* The record of the answer is written in the same database transaction as the loan, hold or
  registration: after a crash either both exist (the retry replays) or neither does (the retry does
  the work).  Only successful (2xx) answers are kept; a refusal wrote nothing and may be retried.
* Two requests with the same key at the same moment: the second waits on the first's row (the unique
  index) and then replays its answer.
* The same key with a different body or path is refused with 422 naming ``Idempotency-Key``.
* Keys are scoped to the credential (a hash of the bearer token or the session), kept 24 hours.

Applied with ``@decorate_view(idempotent)`` on the operation: it wraps the whole operation (auth,
parsing, the view and its error handling), so it sees the final HTTP answer.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces (RFC 8941 string content)

OPENAPI = {
    "parameters": [{
        "in": "header", "name": HEADER, "required": False,
        "description": "重试安全：同一键再次提交时返回第一次的结果 (a retry with the same key returns the first answer)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"},
    }],
}


def _owner(request) -> str | None:
    credential = request.headers.get("Authorization", "")
    if not credential:
        session = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        credential = f"session:{session}" if session else ""
    return hashlib.sha256(credential.encode()).hexdigest() if credential else None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _refuse(message: str) -> HttpResponse:
    body = {"detail": [{"loc": ["header", HEADER], "field": HEADER, "msg": message, "type": "idempotency_key"}],
            "code": "invalid"}
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=422, content_type="application/json; charset=utf-8")


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return _refuse(_("此幂等键已用于另一个请求"))
    response = HttpResponse(bytes(record.body), status=record.status, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(signs_in: Callable[[HttpRequest], bool]):
    """A view decorator that answers a repeated ``Idempotency-Key`` with the first answer.

    ``signs_in(request)`` says whether the request's credential still signs someone in (accounts.auth
    gives it: this module knows no accounts): a revoked token or an ended session gets its 401, not a
    replay."""

    def decorate(run):
        @wraps(run)
        def wrapper(request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return run(request, *args, **kwargs)
            if not _KEY.fullmatch(key):
                return _refuse(_("幂等键须为 1–255 个可见 ASCII 字符"))
            owner = _owner(request)
            if owner is None:
                return run(request, *args, **kwargs)  # no credential: the operation answers 401 and writes nothing
            fingerprint = _fingerprint(request)
            with transaction.atomic():
                IdempotencyRecord.objects.filter(owner=owner, created_at__lt=timezone.now() - KEEP).delete()
                try:
                    with transaction.atomic():
                        # Claims the key; a concurrent request with the same key waits here until this
                        # transaction ends, then finds the row and replays it.
                        record = IdempotencyRecord.objects.create(owner=owner, key=key, fingerprint=fingerprint,
                                                                  status=0, content_type="", body=b"")
                except IntegrityError:
                    record = None
                if record is not None:
                    response = run(request, *args, **kwargs)
                    if 200 <= response.status_code < 300 and not getattr(response, "streaming", False):
                        record.status = response.status_code
                        record.content_type = response.get("Content-Type", "application/json")
                        record.body = response.content
                        record.save(update_fields=["status", "content_type", "body"])
                    else:
                        transaction.set_rollback(True)  # a refusal wrote nothing; the key stays free
                    return response
            if not signs_in(request):
                return run(request, *args, **kwargs)  # a revoked token or ended session: 401, nothing replayed
            return _replay(IdempotencyRecord.objects.get(owner=owner, key=key), fingerprint)

        return wrapper

    return decorate
