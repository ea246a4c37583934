"""A store this process leaves alone for a while after it failed, warning of it at most once a minute.

Shared by the caches on Redis (``core.cache``) and the rate limits that fail open (``core.ratelimit``): a store
that hangs would otherwise cost every call its timeout, and a warning per call would flood the log.
"""

import logging
import time

#: At most one warning this often (seconds) per store and process.
WARN_EVERY_SECONDS = 60


class StayAway:
    """``skipping()`` while the store failed less than ``seconds`` ago; ``failed(...)`` after each failure."""

    def __init__(self, seconds: float, logger: logging.Logger) -> None:
        self.seconds = seconds
        self.logger = logger
        self.reset()

    def reset(self) -> None:
        """As if the store never failed (tests)."""
        self.until = self.warned_at = -1e9

    def skipping(self) -> bool:
        return time.monotonic() < self.until

    def failed(self, message: str, *args) -> None:
        """Leave the store alone for ``seconds`` from now; log ``message % args`` unless it was within a minute."""
        now = time.monotonic()
        self.until = now + self.seconds
        if now - self.warned_at >= WARN_EVERY_SECONDS:
            self.warned_at = now
            self.logger.warning(message, *args)
