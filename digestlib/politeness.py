"""Being a polite HTTP client, shared by every module that talks to a server (arXiv, files, the LLM):
spacing requests out, and reading how long a server asks us to wait."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import threading
import time
from typing import Callable, Iterator


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    current = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - current).total_seconds())


class RateLimiter:
    """At least ``interval`` seconds from the end of one request to the start of the next (thread-safe).

    Requests are serialised: the lock is held for the whole request, so two threads never overlap.
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = max(0.0, float(interval))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")

    @classmethod
    def per_second(cls, rate: float) -> "RateLimiter":
        """A limiter allowing ``rate`` requests a second (0 = no limit)."""
        return cls(1.0 / rate if rate > 0 else 0.0)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                self._sleep(delay)
            try:
                yield
            finally:
                self._next = self._clock() + self.interval
