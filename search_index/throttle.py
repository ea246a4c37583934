"""Per-client rate limits of search, shared by ``GET /api/v1/search`` and the search page.

A search costs tens of milliseconds of CPU where most requests cost a few, so anonymous clients are limited
per address (``SEARCH_RATE_ANONYMOUS`` a minute) and logged-in users per account (``SEARCH_RATE_USER``).
The address is ``core.net.client_ip``: REMOTE_ADDR, or the X-Forwarded-For entry written by the
nearest trusted proxy (``TRUSTED_PROXY_COUNT``), so a client cannot pick its own bucket with the header; an
IPv6 client is counted by its /64 network.

Fixed one-minute windows in ``core.ratelimit``'s counters, which every worker process shares and which
nothing evicts: a flood of searches from fresh addresses cannot push out the counts of the others.  While
those counters do not answer (``RATELIMIT_URL``'s Redis away) searches fail open: they are answered unlimited
and a warning is logged, as a reading page should be (logins, by contrast, answer 503: core/ratelimit.py).
"""

from django.conf import settings

from core import ratelimit
from core.net import client_ip, client_network

WINDOW_SECONDS = 60


def search_wait(request, *, user) -> int:
    """Seconds until ``request``'s client may search again; 0 when this search is allowed (and counted)."""
    if user is not None and user.is_authenticated:
        limit, who = settings.SEARCH_RATE_USER, f"user:{user.pk}"
    else:
        limit, who = settings.SEARCH_RATE_ANONYMOUS, f"ip:{client_network(client_ip(request)) or 'unknown'}"
    if not limit:
        return 0
    return ratelimit.hit(f"search:{who}", ratelimit.Limit(limit, WINDOW_SECONDS), fail_open=True)
