"""Per-user allowances of rare acts (uploads, rotating a calendar link), counted in ``core.ratelimit``'s
store: exact across workers, nothing evicts them, and only acts that are carried out are counted — an act
refused for its input costs nothing (the twelfth attack found a fuzzer's 422s had spent a judge's hourly
uploads)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from ninja.errors import Throttled

from core import ratelimit
from core.errors import DomainError


@contextmanager
def hourly_allowance(user, scope: str, setting: str) -> Iterator[None]:
    """Around one ``scope`` act of ``user``, allowed ``settings.<setting>`` times in a rolling hour (in
    five-minute slices): ``Throttled`` (429 with Retry-After) when the hour's allowance is spent; the act's
    own refusal (a ``DomainError`` or ``ValidationError`` from inside) gives its count back."""
    limit = ratelimit.Limit(getattr(settings, setting), 3600, buckets=12)
    key, now = f"{scope}:user:{user.pk}", time.time()
    wait = ratelimit.take(key, limit, now=now)
    if wait:
        raise Throttled(wait=wait)
    try:
        yield
    except (DomainError, ValidationError):
        ratelimit.refund(key, limit, now=now)
        raise
