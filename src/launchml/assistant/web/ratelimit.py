"""A token bucket per key (client address, conversation, agent name), in this process' memory.

The public widget routes and the login are rate-limited so that one client cannot flood the
assistant or guess passwords: ``rate`` requests per minute on average, ``burst`` at once.
Answered with 429 ``rate_limited`` and a ``Retry-After`` header.

Example::

    limit = RateLimiter(per_minute=30, burst=10)
    limit.check("203.0.113.9")           # raises RateLimitedError when over
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from launchml.serve.errors import ServeError

MAX_KEYS = 100_000  # oldest keys are forgotten beyond this (memory stays bounded)


class RateLimitedError(ServeError):
    http_status = 429
    code = "rate_limited"


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, what: str = "requests") -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.what = what
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token from ``key``'s bucket, or raise :class:`RateLimitedError`."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimitedError(
                    f"too many {self.what}; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)


__all__ = ["RateLimitedError", "RateLimiter"]
