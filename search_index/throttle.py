"""Per-client rate limits of search, shared by ``GET /api/v1/search`` and the search page.

A search costs tens of milliseconds of CPU where most requests cost a few, so anonymous clients are limited
per address (``SEARCH_RATE_ANONYMOUS`` a minute) and logged-in users per account (``SEARCH_RATE_USER``).
The address is ``accounts.services.client_ip``: REMOTE_ADDR, or the X-Forwarded-For entry written by the
nearest trusted proxy (``TRUSTED_PROXY_COUNT``), so a client cannot pick its own bucket with the header.

Fixed one-minute windows counted in the shared cache (files under CACHE_DIR by default, so every worker
process on the machine counts into the same window).  The file cache's ``incr`` reads and writes without a
lock: requests racing in the same instant may be counted once, so the limit can be exceeded by the number
of concurrent workers — a bound on abuse, not an exact quota.
"""

import time

from django.conf import settings
from django.core.cache import cache

from accounts.services import client_ip

WINDOW_SECONDS = 60


def search_wait(request, *, user) -> int:
    """Seconds until ``request``'s client may search again; 0 when this search is allowed (and counted)."""
    if user is not None and user.is_authenticated:
        limit, who = settings.SEARCH_RATE_USER, f"user:{user.pk}"
    else:
        limit, who = settings.SEARCH_RATE_ANONYMOUS, f"ip:{client_ip(request) or 'unknown'}"
    if not limit:
        return 0
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"search-rate:{who}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count <= limit:
        return 0
    return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
