"""The one HTTP layer: timeouts, backoff, ``Retry-After``, politeness, allowed hosts and size caps.

Owns the mechanics every module that talks to a server shares (arXiv's API and feed, arXiv's files, the
LLM endpoint): how long to wait before the next attempt (``backoff_wait``, ``Backoff``: exponential, with
optional jitter, honouring the server's ``Retry-After``), reading that header (``parse_retry_after``),
spacing requests out (``RateLimiter``), refusing redirects that leave the configured hosts
(``redirect_guard``), a deadline for the WHOLE of each exchange (connect, the wait for the headers, the
body: ``enforce_deadline`` / ``DeadlineTransport``, so that a server dripping one byte a second costs one
deadline, not one read timeout per byte), building an ``httpx.Client`` with all of that (``make_client``)
and streaming a body to a file under a size cap and a wall-clock deadline (``stream_to_file``).

Must not know what it downloads: no arXiv ids, no PDFs, no papers, no LLM; nothing here parses a body.
Callers decide which statuses are worth retrying and what a failure means to them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import random
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

import httpcore  # httpx's own transport layer: its ReadTimeout is what httpx maps to a timeout
import httpx
import tenacity

__all__ = [
    "ARXIV_DOMAIN",
    "Backoff",
    "DeadlineExceeded",
    "DeadlineTransport",
    "RateLimiter",
    "RedirectRefused",
    "RetryPolicy",
    "StreamStopped",
    "allowed_origins",
    "backoff_wait",
    "enforce_deadline",
    "is_allowed",
    "is_dns_failure",
    "make_client",
    "parse_retry_after",
    "redirect_guard",
    "stream_to_file",
]


# ------------------------------------------------------------------------------------------ Retry-After

def parse_retry_after(source: str | Mapping[str, str] | None, *,
                      now: dt.datetime | float | None = None) -> float | None:
    """How long a server asks us to wait, in seconds from ``now``; ``None`` when absent or unreadable.

    ``source`` is either the ``Retry-After`` value itself (delta-seconds or an HTTP date) or a response's
    headers, where ``retry-after-ms`` (OpenAI-style servers) wins over ``Retry-After``. ``now`` is a
    datetime or a Unix timestamp (default: the current time); a date in the past gives 0.
    """
    if source is not None and not isinstance(source, str):
        lower = {str(k).lower(): str(v) for k, v in source.items()}
        millis = lower.get("retry-after-ms")
        if millis is not None:
            try:
                return max(0.0, float(millis) / 1000.0)
            except ValueError:
                pass
        source = lower.get("retry-after")
    if not source:
        return None
    value = source.strip()
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
    if now is None:
        current = dt.datetime.now(dt.timezone.utc)
    elif isinstance(now, dt.datetime):
        current = now
    else:
        current = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return max(0.0, (when - current).total_seconds())


# ---------------------------------------------------------------------------------------------- backoff

def backoff_wait(attempt: int, *, initial: float, maximum: float, retry_after: float | None = None,
                 retry_after_cap: float | None = None, at_least_backoff: bool = False, jitter: bool = False,
                 rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    Without ``retry_after``: ``initial * 2**(attempt-1)``, at most ``maximum``; with ``jitter`` a random
    50-100 % of that step. With the server's ``retry_after``: that wish, at most ``retry_after_cap`` (if
    given), never less than the backoff step when ``at_least_backoff``, and with ``jitter`` a little more
    (never shorter than asked).
    """
    step = min(maximum, initial * (2 ** (max(1, attempt) - 1)))
    if retry_after is None:
        return step * (0.5 + rand() * 0.5) if jitter else step
    wait = retry_after if retry_after_cap is None else min(retry_after_cap, retry_after)
    if at_least_backoff:
        wait = max(step, wait)
    if jitter:
        wait += rand() * min(0.25, 0.1 * retry_after + 0.01)
    return wait


@dataclass(frozen=True)
class Backoff:
    """A tenacity ``wait``: ``backoff_wait`` with these settings, reading ``retry_after`` off the exception
    of the failed attempt (any exception with such an attribute). After an exception of a type in
    ``no_wait_after`` (an answer came, but unusable) the next attempt goes at once."""

    initial: float
    maximum: float
    retry_after_cap: float | None = None
    at_least_backoff: bool = False
    jitter: bool = False
    no_wait_after: tuple[type[BaseException], ...] = ()

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if self.no_wait_after and isinstance(exc, self.no_wait_after):
            return 0.0
        return backoff_wait(retry_state.attempt_number, initial=self.initial, maximum=self.maximum,
                            retry_after=getattr(exc, "retry_after", None), retry_after_cap=self.retry_after_cap,
                            at_least_backoff=self.at_least_backoff, jitter=self.jitter)


def is_dns_failure(error: BaseException) -> bool:
    """A host name that does not resolve: asking again in a few seconds will not make DNS know it."""
    text = str(error).lower()
    return any(kind.__name__ == "NameResolutionError" for kind in type(error).__mro__) or any(
        words in text for words in ("name or service not known", "nodename nor servname", "name resolution",
                                    "no address associated with hostname", "getaddrinfo failed"))


T = TypeVar("T")
Stop = Callable[[tenacity.RetryCallState], bool]


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy of everything here that talks to a server (the LLM client, the full-text
    download, the arXiv session): ``attempts`` tries in all, ``backoff`` between them (it honours the
    ``retry_after`` an exception carries, capped or at least the backoff step as configured), retried only
    after an exception of ``retry_on`` that is not one of ``never_on`` (a whole deadline overrun, say:
    asking again at once costs another deadline) and not one that ``fails_fast`` (a host name that does
    not resolve), ``sleep`` injectable so that tests wait for nothing.

    A caller adds what its own failures mean: ``stop`` (its breaker tripped, a budget spent),
    ``before_sleep`` (counting or logging a retry)."""

    attempts: int
    backoff: Backoff
    retry_on: tuple[type[BaseException], ...]
    never_on: tuple[type[BaseException], ...] = ()
    fails_fast: Callable[[BaseException], bool] | None = None
    sleep: Callable[[float], None] = time.sleep

    def should_retry(self, exc: BaseException) -> bool:
        return (isinstance(exc, self.retry_on) and not isinstance(exc, self.never_on)
                and not (self.fails_fast is not None and self.fails_fast(exc)))

    def retrying(self, *, stop: Stop | None = None,
                 before_sleep: Callable[[tenacity.RetryCallState], None] | None = None) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for one call (its own ``stop`` may close over that call's state)."""
        stops: list[Stop] = [tenacity.stop_after_attempt(max(1, self.attempts))]
        if stop is not None:
            stops.append(stop)
        return tenacity.Retrying(stop=tenacity.stop_any(*stops), wait=self.backoff,
                                 retry=tenacity.retry_if_exception(self.should_retry), sleep=self.sleep,
                                 before_sleep=before_sleep, reraise=True)

    def call(self, fn: Callable[..., T], *args: Any, stop: Stop | None = None,
             before_sleep: Callable[[tenacity.RetryCallState], None] | None = None) -> T:
        """``fn(*args)`` under this policy; the last exception is raised as it is when the tries end."""
        return self.retrying(stop=stop, before_sleep=before_sleep)(fn, *args)


# ------------------------------------------------------------------------------------------- politeness

class RateLimiter:
    """Requests in bursts of at most ``burst``, then ``interval`` seconds from the end of a burst's last
    request to the start of the next one (thread-safe). ``burst=1`` (the default) spaces every request.

    Requests are serialised: the lock is held for the whole request, so two threads never overlap. A pause
    of ``interval`` that happened anyway (an idle connection) starts a new burst.
    """

    def __init__(self, interval: float, *, burst: int = 1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = max(0.0, float(interval))
        self.burst = max(1, int(burst))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")  # the earliest start of the next burst
        self._last_end = float("-inf")
        self._in_burst = 0  # requests made in the current burst

    @classmethod
    def per_second(cls, rate: float, *, burst: int = 1, sleep: Callable[[float], None] = time.sleep) -> "RateLimiter":
        """``rate`` requests a second (0 = no limit), in bursts of ``burst``: after each burst the limiter
        sleeps ``burst / rate`` seconds (arXiv's "4 requests, then a 1 s sleep" is ``rate=4, burst=4``)."""
        burst = max(1, int(burst))
        return cls(burst / rate if rate > 0 else 0.0, burst=burst, sleep=sleep)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._in_burst and self._clock() - self._last_end >= self.interval:
                self._in_burst = 0  # rested long enough: a fresh burst
            if self._in_burst == 0:
                delay = self._next - self._clock()
                if delay > 0:
                    self._sleep(delay)
            try:
                yield
            finally:
                self._last_end = self._clock()
                self._in_burst += 1
                if self._in_burst >= self.burst:
                    self._in_burst = 0
                    self._next = self._last_end + self.interval


# ---------------------------------------------------------------------------------------- allowed hosts
# A request answered by a redirect to some other host would otherwise be followed anywhere, a
# request-forgery path into the user's network (``http://192.168.1.1/admin``, cloud metadata at
# ``169.254.169.254``). The response hook sees every redirect *before* it is followed (and before its
# body is read) and refuses a target outside the allowed origins.

_DEFAULT_PORTS = {"http": 80, "https": 443}
ARXIV_DOMAIN = "arxiv.org"


class RedirectRefused(httpx.HTTPError):
    """A redirect to a host outside the configured hosts; ``target`` is where it pointed."""

    def __init__(self, target: str) -> None:
        super().__init__(f"refused a redirect to {target}")
        self.target = target


def _origin(url: httpx.URL) -> tuple[str, int]:
    return url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


def allowed_origins(urls: Iterable[str | None]) -> frozenset[tuple[str, int]]:
    """(host, port) of each configured URL."""
    return frozenset(_origin(httpx.URL(u)) for u in urls if u)


def is_allowed(url: httpx.URL, origins: frozenset[tuple[str, int]]) -> bool:
    if url.scheme not in ("http", "https"):
        return False
    host, port = _origin(url)
    if (host, port) in origins:
        return True
    # the real arXiv moves files between its own hosts (arxiv.org, export.arxiv.org, www.arxiv.org):
    # allowed over https when arXiv itself is configured
    arxiv_configured = any(h == ARXIV_DOMAIN or h.endswith("." + ARXIV_DOMAIN) for h, _ in origins)
    return (arxiv_configured and url.scheme == "https" and port == 443
            and (host == ARXIV_DOMAIN or host.endswith("." + ARXIV_DOMAIN)))


def redirect_guard(origins: frozenset[tuple[str, int]]) -> Callable[[httpx.Response], None]:
    """A response hook raising ``RedirectRefused`` for a redirect leaving ``origins``."""

    def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        target = response.request.url.join(response.headers["location"])
        if not is_allowed(target, origins):
            response.close()
            shown = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
            raise RedirectRefused(shown)

    return check


def make_client(*, allowed_urls: Iterable[str | None], timeout: float, connect_timeout: float | None = None,
                headers: Mapping[str, str] | None = None, transport: httpx.BaseTransport | None = None,
                max_redirects: int = 5, limits: httpx.Limits | None = None,
                follow_redirects: bool = True) -> httpx.Client:
    """An ``httpx.Client`` where ``timeout`` bounds each whole exchange (connect, wait, body:
    ``enforce_deadline``), following at most ``max_redirects`` redirects and only within the origins of
    ``allowed_urls`` (``RedirectRefused`` otherwise)."""
    client = httpx.Client(
        transport=transport,
        headers=dict(headers or {}),
        timeout=httpx.Timeout(timeout, connect=timeout if connect_timeout is None else connect_timeout),
        limits=limits or httpx.Limits(),
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        event_hooks={"response": [redirect_guard(allowed_origins(allowed_urls))]},
    )
    return enforce_deadline(client, timeout)


# ---------------------------------------------------------------------------------------- whole deadline
# httpx's timeouts are per operation: a read that returns one byte a second never times out, so neither
# does the answer. ``DeadlineTransport`` gives each request one monotonic deadline: every socket read and
# write below it (through a wrapped httpcore network backend, which covers the status line and headers
# too) waits at most the time left, and the body stream stops once the deadline has passed. The deadline
# of the exchange a thread is in travels in a thread-local (httpx's sync client reads on the caller's
# thread).

_active = threading.local()


class DeadlineExceeded(httpx.ReadTimeout):
    """The whole exchange (connect, wait, body) took longer than its deadline: a timeout to every caller
    (``httpx.TimeoutException``; openai turns it into ``APITimeoutError``)."""


def _time_left(timeout: float | None) -> float | None:
    deadline = getattr(_active, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the deadline for the whole answer has passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _deadline_scope(deadline: float) -> Iterator[None]:
    previous = getattr(_active, "deadline", None)
    _active.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _active.deadline = previous


class _DeadlineNetworkStream:
    """An httpcore network stream whose reads and writes wait at most the time the exchange has left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        return self._inner.write(buffer, _time_left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> "_DeadlineNetworkStream":
        return _DeadlineNetworkStream(self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout)))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """An httpcore network backend handing out ``_DeadlineNetworkStream``s."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> _DeadlineNetworkStream:
        return _DeadlineNetworkStream(self._inner.connect_tcp(host, port, _time_left(timeout), local_address,
                                                              socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> _DeadlineNetworkStream:
        return _DeadlineNetworkStream(self._inner.connect_unix_socket(path, _time_left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that stops with ``DeadlineExceeded`` once its exchange's deadline has passed."""

    def __init__(self, inner: httpx.SyncByteStream | Iterable[bytes], deadline: float, seconds: float) -> None:
        self._inner = inner
        self._deadline = deadline
        self._seconds = seconds

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            with _deadline_scope(self._deadline):
                if time.monotonic() > self._deadline:
                    raise DeadlineExceeded(f"no whole answer within {self._seconds:g} s")
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except httpx.TimeoutException:
                    if time.monotonic() >= self._deadline:
                        raise DeadlineExceeded(f"no whole answer within {self._seconds:g} s") from None
                    raise
            yield chunk
            if time.monotonic() > self._deadline:
                raise DeadlineExceeded(f"no whole answer within {self._seconds:g} s")

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """Wraps a transport so that each request, body included, ends within ``seconds`` (``DeadlineExceeded``,
    a ``httpx.ReadTimeout``, otherwise). An ``httpx.HTTPTransport`` inside also gets its socket reads and
    writes bounded by the time left, so a status line dripped byte by byte is cut off too."""

    def __init__(self, inner: httpx.BaseTransport, seconds: float) -> None:
        self.inner = inner
        self.seconds = float(seconds)
        pool = getattr(inner, "_pool", None)  # httpx.HTTPTransport's httpcore pool (a proxy pool too)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.seconds
        try:
            with _deadline_scope(deadline):
                response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            if time.monotonic() >= deadline:
                raise DeadlineExceeded(f"no whole answer within {self.seconds:g} s", request=request) from None
            raise
        response.stream = _DeadlineStream(response.stream, deadline, self.seconds)
        return response

    def close(self) -> None:
        self.inner.close()


def enforce_deadline(client: httpx.Client, seconds: float) -> httpx.Client:
    """``client`` with each of its transports (proxy mounts too) wrapped in a ``DeadlineTransport``: every
    request it sends, body included, ends within ``seconds``. Returns the same client (any other kind of
    client, e.g. an ``httpx2`` one, unchanged)."""
    if seconds and seconds > 0 and isinstance(client, httpx.Client):
        if not isinstance(client._transport, DeadlineTransport):
            client._transport = DeadlineTransport(client._transport, seconds)
        for pattern, mounted in list(client._mounts.items()):
            if mounted is not None and not isinstance(mounted, DeadlineTransport):
                client._mounts[pattern] = DeadlineTransport(mounted, seconds)
    return client


# -------------------------------------------------------------------------------------------- size caps

class StreamStopped(Exception):
    """A body stopped on purpose while streaming: ``reason`` is ``"too_large"`` or ``"deadline"``."""

    def __init__(self, reason: str, bytes_read: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bytes_read = bytes_read


def stream_to_file(response: httpx.Response, dest: Path, *, max_bytes: int | None, deadline: float,
                   head_bytes: int = 1024, clock: Callable[[], float] = time.monotonic) -> tuple[bytes, int]:
    """Write ``response``'s body to ``dest``; returns (its first ``head_bytes`` bytes, bytes read).

    Stops with ``StreamStopped("too_large")`` once the body (or its announced ``Content-Length``) passes
    ``max_bytes`` (None: no cap), or ``StreamStopped("deadline")`` once ``clock()`` passes ``deadline``;
    ``dest`` is removed on any failure.
    """
    length = response.headers.get("content-length")
    if max_bytes is not None and length and length.isdigit() and int(length) > max_bytes:
        raise StreamStopped("too_large", 0)
    head = b""
    read = 0
    try:
        with open(dest, "wb") as fh:
            for chunk in response.iter_bytes():
                read += len(chunk)
                if len(head) < head_bytes:
                    head += chunk[: head_bytes - len(head)]
                if max_bytes is not None and read > max_bytes:
                    raise StreamStopped("too_large", read)
                if clock() > deadline:
                    raise StreamStopped("deadline", read)
                fh.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return head, read
