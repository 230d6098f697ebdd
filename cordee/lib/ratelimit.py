"""Per-user rate limits of the JSON API (Django Ninja throttle), shared by every instance.

``API_RATE_LIMITS`` ("20/s,600/m") gives fixed windows: in each window of each period, a user (an
address when anonymous) may make that many requests; one more gets 429 with ``Retry-After``. The
counters live in the ``ratelimit`` cache: Redis when ``REDIS_URL`` is set (every instance counts
together), the process's memory otherwise. A counter is one atomic ``incr`` (``add`` opens a window).
"""

from __future__ import annotations

import functools
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600}


@functools.cache
def parse_rates(text: str) -> tuple[tuple[int, int], ...]:
    """``"20/s,600/m"`` → ((20, 1), (600, 60)); raises ValueError on junk."""
    rates = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        count, _slash, period = part.partition("/")
        if not count.isdigit() or period not in _PERIODS or int(count) < 1:
            raise ValueError(f"API_RATE_LIMITS: {part!r} is not N/s, N/m or N/h")
        rates.append((int(count), _PERIODS[period]))
    return tuple(rates)


def hit(cache: BaseCache, key: str, period: int) -> int:
    """One more in the fixed window ``key`` of ``period`` seconds: the count so far in it (``add``
    opens the window, an atomic ``incr`` counts in it)."""
    if cache.add(key, 1, timeout=period + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        return 1


class UserRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        rates = parse_rates(settings.API_RATE_LIMITS)
        if not rates:
            return True
        user = getattr(request, "user", None)
        ident = f"u{user.pk}" if user is not None and user.is_authenticated else f"a{self.get_ident(request)}"
        cache = caches["ratelimit"]
        now = time.time()
        for limit, period in rates:
            key = f"api:{ident}:{period}:{int(now // period)}"
            if hit(cache, key, period) > limit:
                self._local.wait = period - now % period
                return False
        return True

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
