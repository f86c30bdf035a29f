"""How many requests may be in flight at once, adapted to what the server bears (AIMD).

A one-slot server (llama.cpp started without ``-np``) queues what it cannot serve, and the queued requests
time out; halving on an overload and growing back slowly ends with what the server really serves.

Must not: send anything (the client enters a slot around each HTTP call).
"""

from __future__ import annotations

import threading

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    """How many requests may be in flight, adapted AIMD-style to what the server bears.

    Starts at ``ceiling``; an overload signal (a timeout, 429, 503) halves the limit at once; after
    ``limit`` answers in a row it grows by one again, never above ``ceiling``. A one-slot server thus
    ends up with one request at a time instead of a queue that times out.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.in_flight = 0
        self.overloads = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __enter__(self) -> "AdaptiveLimiter":
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def cap(self, ceiling: int) -> None:
        """Never more than ``ceiling`` (the server's slot count, when it tells)."""
        with self._cond:
            self.ceiling = max(1, min(self.ceiling, ceiling))
            self.limit = min(self.limit, self.ceiling)

    def success(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()

    def overload(self) -> None:
        with self._cond:
            self.overloads += 1
            self.limit = max(1, self.limit // 2)
            self._successes = 0
