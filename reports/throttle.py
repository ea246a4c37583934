"""How many reports are computed at once, and how often one person asks for them.

A report reads a range's loans, registrations or downloads in the database: at a million loans the circulation
report takes seconds for a year and five times that for the five years a filter allows (docs/performance.md).
With a few sync workers, two people (or one with two tabs, or a script) asking for such reports at once held every
worker, and the rest of the site — the catalogue, the desk's checkouts — waited behind them (attack round 20:
/healthz at 5 s with eight report requests in flight over the demo's few hundred loans).  So:

- ``REPORT_CONCURRENCY`` reports at most are computed at once across every process (default 2, so that with the
  deployment's three workers one is always free for everything else): a semaphore in ``core.ratelimit``'s
  shared store — each report takes a place in a rolling two-minute window of one-second slices and gives it back
  when it is done, so a worker killed in the middle frees its place after two minutes;
- one person asks for at most ``REPORT_RATE_USER`` reports a minute (refused ones counted, as searches are).

Either refusal is a 429 with Retry-After (``ReportBusy``).  The pages, the exports, the records behind figures,
the annual summary and the API all pass here; a person's own year (/me/reading) reads that person's rows only.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core import ratelimit

#: The semaphore's window: a place taken by a worker that died is free again after this long.
HELD_SECONDS = 120
#: What a 429 for a busy site asks the client to wait, at most.
BUSY_RETRY_SECONDS = 5
RUNNING_KEY = "reports:running"


class ReportBusy(Exception):
    def __init__(self, wait: int, *, busy: bool) -> None:
        super().__init__(wait)
        self.wait, self.busy = wait, busy


def _running_limit() -> ratelimit.Limit:
    return ratelimit.Limit(settings.REPORT_CONCURRENCY, HELD_SECONDS, buckets=HELD_SECONDS)


@contextmanager
def report_slot(user) -> Iterator[None]:
    """Around computing one report for ``user``: ``ReportBusy`` when the user asked too often in the last minute
    or ``REPORT_CONCURRENCY`` reports are being computed already."""
    if settings.REPORT_RATE_USER:
        wait = ratelimit.hit(f"reports:user:{user.pk}", ratelimit.Limit(settings.REPORT_RATE_USER, 60))
        if wait:
            raise ReportBusy(wait, busy=False)
    if not settings.REPORT_CONCURRENCY:
        yield
        return
    limit, now = _running_limit(), time.time()
    wait = ratelimit.take(RUNNING_KEY, limit, now=now)
    if wait:
        raise ReportBusy(min(wait, BUSY_RETRY_SECONDS), busy=True)
    try:
        yield
    finally:
        ratelimit.refund(RUNNING_KEY, limit, now=now)
