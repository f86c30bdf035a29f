"""The circuit breaker of one endpoint: when to stop calling it for the rest of the run, and what to say.

Repeated authentication or quota failures, an unknown model, refused connections, answers that time out
or are not the API's JSON, a ``Retry-After`` longer than the run may wait: each trips the breaker after a
few in a row, and every later call raises the same ``LLMFatalError`` at once, without any HTTP. The line
it carries tells a wrong URL from a server that stopped: an endpoint that was reached in this run (it
answered, dropped a request mid-answer, or merely accepted a TCP connection) and now refuses connections
has stopped, and the URL is right. "Reached" is known from the connection itself (httpcore's ``trace``
extension reports every TCP connect), so it is set before the server can die, whatever order the threads
in flight report their errors in.

Must not: send anything or know about papers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Callable, Mapping

import httpx

from ..base.errors import LLMFatalError, LLMRateLimitedError

__all__ = ["SERVER_STOPPED_FIX", "Breaker", "dropped_mid_request"]

SERVER_STOPPED_FIX = "check the server (is it still running? its log says why it stopped); the next run resumes"
_DROP_ERRORS = frozenset({"RemoteProtocolError", "ReadError", "WriteError"})
CONNECTED_EVENT = "connection.connect_tcp.complete"  # httpcore's trace event for an accepted TCP connection
Trace = Callable[[str, Mapping[str, object]], None]


def dropped_mid_request(cause: BaseException | None) -> bool:
    """The server accepted the connection and then closed or reset it before a full answer (a crash, a
    restart, a proxy giving up): unlike a refusal, proof that the URL reached a server."""
    if isinstance(cause, (ConnectionResetError, BrokenPipeError)):
        return True
    # by name: the SDK's transport is httpx or its fork httpx2, whose classes are not httpx's
    return cause is not None and any(kind.__name__ in _DROP_ERRORS for kind in type(cause).__mro__)


class Breaker:
    """Thread-safe state of one endpoint's breaker; ``check()`` raises the error that tripped it."""

    fatal_threshold = 2  # consecutive auth/quota/unknown-model failures that trip the breaker
    unreachable_threshold = 3  # consecutive connection (refused, DNS, TLS) failures that trip it
    timeout_threshold = 4  # answers in a row not whole within llm.timeout_seconds, each sent alone (hung or dripping)
    not_api_threshold = 3  # consecutive answers that are not the API's JSON (an HTML page, a wrong type)

    def __init__(self, base_url: str, *, max_rate_limit_wait: float, retry_after_cap: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url
        self.max_rate_limit_wait = max_rate_limit_wait
        self.retry_after_cap = retry_after_cap
        self._clock = clock
        self._lock = threading.Lock()
        self.fatal: LLMFatalError | None = None
        self._consecutive_fatal = 0
        self._consecutive_unreachable = 0
        # Whether this endpoint was reached in this run: refusals after that mean the server stopped
        # (crashed, restarted), not a wrong URL.
        self.connected = False  # a TCP connection was accepted
        self.answered = False  # an HTTP answer came back (any status)
        self.dropped = False  # a request was cut off mid-answer
        self._strikes: dict[str, int] = {}  # "timeout" / "not_api": such answers in a row, reset by a good one
        self.rate_limit_waited = 0.0  # seconds of Retry-After pauses this run (llm.max_rate_limit_wait_seconds)
        self.pause_until = 0.0  # a 429's Retry-After holds every thread until then (clock time)

    # -- the state
    def check(self) -> None:
        """Raise the error that tripped the breaker, if any."""
        if self.fatal is not None:
            raise self.fatal from None

    def _trip(self, error: LLMFatalError) -> None:
        """Under the lock: the first error to trip the breaker is the one every later call raises."""
        if self.fatal is None:
            self.fatal = error

    def success(self) -> None:
        """A whole, usable answer: every count of failures in a row starts again."""
        with self._lock:
            self._consecutive_fatal = 0
            self._consecutive_unreachable = 0
            self.answered = True
            self._strikes.clear()

    def answered_with_status(self) -> None:
        with self._lock:
            self.answered = True

    # -- reached: the TCP connect
    def request_hook(self, request: httpx.Request) -> None:
        """An httpx ``request`` event hook: the request's ``trace`` extension tells the breaker when its TCP
        connection is accepted (any trace already there still hears every event)."""
        inner: Trace | None = request.extensions.get("trace")

        def trace(event: str, info: Mapping[str, object]) -> None:
            if event == CONNECTED_EVENT:
                self.reached()
            if inner is not None:
                inner(event, info)

        request.extensions["trace"] = trace

    def reached(self) -> None:
        """The endpoint accepted a connection: a server listens at this URL."""
        with self._lock:
            self.connected = True

    # -- the failures
    def count_fatal(self, error: LLMFatalError) -> bool:
        """One more auth/quota/unknown-model failure in a row; True once that trips the breaker."""
        with self._lock:
            self._consecutive_fatal += 1
            tripped = self._consecutive_fatal >= self.fatal_threshold
            if tripped:
                self._trip(error)
        return tripped

    def count_unreachable(self, exc: BaseException) -> None:
        """Connection refused, DNS, TLS, a malformed header: a few in a row trip the breaker (raises then)."""
        cause = exc.__cause__ or exc.__context__
        detail = f"{cause.__class__.__name__}: {cause}" if cause is not None else str(exc)
        lowered = detail.lower()
        if "header" in lowered or "protocolerror" in lowered and "illegal" in lowered:
            what = f"the API key cannot be sent to LLM endpoint {self.base_url} (it holds whitespace or a control character)"
            fix, immediate = "check OPENAI_API_KEY (no trailing newline or \\r)", True
        elif "name or service not known" in lowered or "nodename" in lowered or "getaddrinfo" in lowered \
                or "name resolution" in lowered:
            what, fix, immediate = f"LLM endpoint {self.base_url}: the host name does not resolve (DNS)", \
                "check OPENAI_BASE_URL", False
        elif "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
            what, fix, immediate = f"LLM endpoint {self.base_url}: the TLS handshake failed", \
                "check OPENAI_BASE_URL (http or https?) and the server's certificate", False
        elif dropped_mid_request(cause):
            with self._lock:
                self.dropped = True
            what = (f"LLM endpoint {self.base_url} stopped answering: it closed the connection before a full "
                    "answer (the server crashed or restarted, or a proxy cut the request)")
            fix, immediate = SERVER_STOPPED_FIX, False
        elif "refused" in lowered:
            what, fix = self._refused_message()
            immediate = False
        else:
            what, fix, immediate = f"LLM endpoint {self.base_url} is unreachable", "check OPENAI_BASE_URL", False
        with self._lock:
            self._consecutive_unreachable += 1
            if immediate or self._consecutive_unreachable >= self.unreachable_threshold:
                self._trip(LLMFatalError(what, cause="unreachable", base_url=self.base_url, fix=fix))
            self.check()

    def _refused_message(self) -> tuple[str, str]:
        """A refusal: a wrong URL, unless the endpoint was reached earlier in this run."""
        with self._lock:
            dropped, answered, connected = self.dropped, self.answered, self.connected
        if not (dropped or answered or connected):
            return f"LLM endpoint {self.base_url} refused the connection", "check OPENAI_BASE_URL"
        before = ("dropped a request mid-answer" if dropped else "answered earlier in this run" if answered
                  else "accepted a connection earlier in this run")
        return (f"LLM endpoint {self.base_url} stopped answering: it {before} and now refuses connections "
                "(the server crashed or restarted)"), SERVER_STOPPED_FIX

    def strike(self, kind: str, what: str, fix: str) -> None:
        """One more answer of this ``kind`` in a row ("timeout", "not_api"); enough of them trip the breaker
        (``LLMFatalError`` with that cause): a day against an endpoint that cannot answer ends soon."""
        threshold = self.timeout_threshold if kind == "timeout" else self.not_api_threshold
        with self._lock:
            self._strikes[kind] = self._strikes.get(kind, 0) + 1
            if self._strikes[kind] >= threshold:
                self._trip(LLMFatalError(what, cause=kind, base_url=self.base_url, fix=fix))
            self.check()

    def strike_not_api(self) -> None:
        self.strike("not_api", f"LLM endpoint {self.base_url} does not answer as an OpenAI-compatible API "
                    f"(an HTML page or another content type, {self.not_api_threshold} times in a row)",
                    "check OPENAI_BASE_URL (it usually ends in /v1) and that no login or bot wall is in front of it")

    # -- rate limits
    def rate_limited(self, retry_after: float, *, pause_everyone: bool) -> None:
        """Count a server's ``Retry-After`` against the run's total wait for rate limits
        (``llm.max_rate_limit_wait_seconds``); one that does not fit stops the run at once
        (``LLMRateLimitedError``, exit 75, with the time to retry) instead of waiting it out. With
        ``pause_everyone`` (a 429) every thread then waits until it has passed (at most the cap)."""
        with self._lock:
            now = self._clock()
            added = max(0.0, now + retry_after - max(self.pause_until, now))  # overlapping pauses count once
            if self.fatal is None and self.rate_limit_waited + added > self.max_rate_limit_wait:
                when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=retry_after)
                self._trip(LLMRateLimitedError(
                    f"LLM endpoint {self.base_url} is rate limited and asks to wait {retry_after:.0f} s (until "
                    f"{when:%Y-%m-%d %H:%M} UTC), more than this run may wait "
                    f"({max(0.0, self.max_rate_limit_wait - self.rate_limit_waited):.0f} s of "
                    f"llm.max_rate_limit_wait_seconds left)", retry_at=when, base_url=self.base_url,
                    fix=f"run again after {when:%Y-%m-%d %H:%M} UTC"))
            elif self.fatal is None:
                self.rate_limit_waited += added
            self.check()
            if pause_everyone:
                self.pause_until = max(self.pause_until, now + min(retry_after, self.retry_after_cap))

    def wait_for_pause(self, sleep: Callable[[float], None]) -> None:
        """Sleep (in steps of at most 1 s, checking the breaker) until a rate limit's pause has passed."""
        while True:
            with self._lock:
                remaining = self.pause_until - self._clock()
            if remaining <= 0:
                return
            sleep(min(remaining, 1.0))
            self.check()
