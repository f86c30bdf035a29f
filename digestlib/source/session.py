"""The one HTTP session to arXiv's feed and API: a ``requests.Session`` the ``arxiv`` package also uses.

Owns how a request to ``rss.arxiv.org`` / ``export.arxiv.org`` is made: a timeout on every request (the
adapter's ``send`` sets it: the ``arxiv`` package passes none), our identifying User-Agent (replacing the
package's), the politeness delay between API requests (``http.RateLimiter``, also between retries), one
connection (a pool of one), redirects only within the configured hosts, and HTTP retries by the one
``http.RetryPolicy`` (:func:`retry_policy`: 429 / 5xx / timeouts / dropped connections; ``Retry-After``
honoured through ``http.parse_retry_after``, a wish beyond ``MAX_RETRY_AFTER_SECONDS`` fails at once; a
host name that does not resolve fails at once; backoff from ``http.Backoff``). Every answer leaves here
either as a 2xx ``requests.Response`` or as a one-line ``SourceError`` with ``url`` and ``status``: the
caller never sees a requests, urllib3 or httpx exception.

Two adapters share that policy, each giving it one attempt to retry: :class:`ArxivAdapter` (the network,
one urllib3 attempt, urllib3's own retries off) and :class:`TransportAdapter` (an httpx transport: a
snapshot's replay or recorder, a test's ``MockTransport``). :func:`again` re-asks for answers that came
back whole but useless (garbled, or empty where papers were expected), with the same policy.

Must not: parse feeds (``rss.py``, ``api.py``) or know about papers and days.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, TypeVar

import httpx
import requests
import tenacity
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError
from urllib3.util import Retry

from ..base.config import ArxivSettings
from ..base.errors import EmptyAnswerError, MalformedAnswerError, SourceError
from ..base.http import (Backoff, RateLimiter, RetryPolicy, allowed_origins, is_allowed, is_dns_failure,
                         parse_retry_after)
from .snapshot import SnapshotIndex, make_transport, open_for_recording

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 300.0  # a longer Retry-After is an outage: fail now, let the scheduler retry
MAX_BACKOFF_SECONDS = 120.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


def describe_url(url: str) -> str:
    """What a request asked for, in words: ``the arXiv RSS feed`` or ``the arXiv API``."""
    path = httpx.URL(url).path
    return "the arXiv RSS feed" if "/atom/" in path or "/rss/" in path else "the arXiv API"


def describe_error(exc: BaseException) -> str:
    """``Name: first line`` of an exception, for one-line messages."""
    name = exc.__class__.__name__
    text = (str(exc).splitlines() or [""])[0][:200]
    return f"{name}: {text}" if text and text != name else name


class _RetryableAnswer(Exception):
    """An answer worth asking again for (429, 5xx); ``response`` is kept for the report after the last one."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = parse_retry_after(dict(response.headers))


class _Unreachable(Exception):
    """A timeout or a connection that failed or broke (worth another try, unless DNS knows no such host);
    ``reason`` is the innermost error (urllib3's or httpx's)."""

    def __init__(self, error: BaseException, reason: BaseException) -> None:
        super().__init__(describe_error(reason))
        self.error = error
        self.reason = reason


def _innermost(exc: BaseException) -> BaseException:
    """requests -> MaxRetryError -> the urllib3 error that ended the attempt."""
    reason: BaseException = exc
    while True:
        inner = reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) else None
        inner = getattr(reason, "reason", None) or inner
        if inner is None or inner is reason:
            return reason
        reason = inner


def _dns_fails_fast(exc: BaseException) -> bool:
    return isinstance(exc, _Unreachable) and is_dns_failure(exc.reason)


def retry_policy(max_retries: int, *, backoff_initial: float, sleep: Callable[[float], None]) -> RetryPolicy:
    """The session's ``http.RetryPolicy``: ``max_retries`` more tries after 429 / 5xx / timeouts / broken
    connections, the backoff never shorter than the server's ``Retry-After``, DNS failures at once."""
    return RetryPolicy(attempts=max_retries + 1, retry_on=(_RetryableAnswer, _Unreachable),
                       fails_fast=_dns_fails_fast, sleep=sleep,
                       backoff=Backoff(backoff_initial, MAX_BACKOFF_SECONDS, at_least_backoff=True))


class _Policy:
    """What both adapters share: timeout, User-Agent, allowed hosts, the API's spacing, the retries (one
    ``RetryPolicy`` around each adapter's single attempt), recording."""

    def __init__(self, *, timeout: float, user_agent: str, allowed: Iterable[str | None], api_url: str,
                 limiter: RateLimiter, retry: RetryPolicy, error_message: Callable[[bytes], str | None],
                 recorder: SnapshotIndex | None = None) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.origins = allowed_origins(allowed)
        self.api_path = httpx.URL(api_url).path
        self.limiter = limiter
        self.retry = retry
        self.error_message = error_message
        self.recorder = recorder

    def prepare(self, request: requests.PreparedRequest) -> None:
        target = httpx.URL(request.url or "")
        if not is_allowed(target, self.origins):
            shown = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
            raise SourceError(f"{describe_url(str(target))} redirected to {shown}, outside the configured arXiv "
                              "hosts; refused", url=str(target))
        request.headers["User-Agent"] = self.user_agent

    def spacing(self, request: requests.PreparedRequest) -> contextlib.AbstractContextManager[None]:
        """The politeness slot: API requests are spaced, the feed is not."""
        if httpx.URL(request.url or "").path == self.api_path:
            return self.limiter.slot()
        return contextlib.nullcontext()

    def send(self, request: requests.PreparedRequest, attempt: Callable[[], requests.Response],
             seconds: float) -> requests.Response:
        """``attempt()`` in the politeness slot, retried under ``retry``; the answer or a ``SourceError``."""
        self.prepare(request)
        url = request.url or ""

        def once() -> requests.Response:
            with self.spacing(request):
                response = attempt()
            if response.status_code in RETRY_STATUSES:
                response.content  # noqa: B018 - read whole, so the connection goes back to the pool of one
                response.close()
                raise _RetryableAnswer(response)
            return response

        try:
            response = self.retry.call(once, before_sleep=functools.partial(self._before_sleep, url))
        except _RetryableAnswer as last:  # out of attempts: ``finish`` reports the last answer
            response = last.response
        except _Unreachable as failed:
            raise _wrap(failed.reason, describe_url(url), url, seconds, self.retry.attempts,
                        timed_out=isinstance(failed.error, requests.exceptions.Timeout)) from None
        return self.finish(request, response, self.retry.attempts)

    def _before_sleep(self, url: str, retry_state: tenacity.RetryCallState) -> None:
        """Before each wait: a ``Retry-After`` beyond ``MAX_RETRY_AFTER_SECONDS`` fails at once (an outage:
        let the scheduler retry), else the wait is logged."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _RetryableAnswer):
            if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER_SECONDS:
                status = exc.response.status_code
                raise SourceError(f"{describe_url(url or '/')} answered HTTP {status} and asks to retry after "
                                  f"{exc.retry_after:.0f} s", url=url, status=status)
            cause = f"HTTP {exc.response.status_code}"
        else:
            cause = str(exc)
        log.warning("%s: %s; retrying in %.1f s (attempt %d)", describe_url(url or "/"), cause,
                    retry_state.upcoming_sleep, retry_state.attempt_number + 1)

    def finish(self, request: requests.PreparedRequest, response: requests.Response, attempts: int) -> requests.Response:
        """A 2xx or redirect response, else the one-line ``SourceError`` (arXiv's own message on a 4xx)."""
        status = response.status_code
        url = request.url or ""
        what = describe_url(url)
        if self.recorder is not None:
            self.recorder.record(httpx.Request(request.method or "GET", url), status,
                                 response.headers.get("content-type", ""), response.content,
                                 response.headers.get("retry-after"))
        if status in RETRY_STATUSES:
            raise SourceError(f"{what} answered HTTP {status} (gave up after {attempts} attempts)", url=url,
                              status=status)
        if status >= 400:
            message = self.error_message(response.content) if what == "the arXiv API" else None
            raise SourceError(f"{what} answered HTTP {status}" + (f": {message}" if message else ""), url=url,
                              status=status)
        return response


# urllib3's errors after which the request is worth sending again: a connection that failed or timed out
# (NewConnectionError is one), a read that timed out or broke; anything else (TLS, a proxy) is not
_RETRIED_URLLIB3_ERRORS = (ConnectTimeoutError, ReadTimeoutError, ProtocolError)


class ArxivAdapter(HTTPAdapter):
    """The network: one urllib3 attempt per call (its own retries off); ``send`` sets the timeout and runs
    the policy, retries included."""

    def __init__(self, policy: _Policy) -> None:
        self.policy = policy
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=Retry(0, read=False, redirect=False),
                         pool_block=True)

    def send(self, request: requests.PreparedRequest, stream: bool = False,  # type: ignore[override]
             timeout: float | None = None, verify: bool | str = True, cert: object = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        seconds = self.policy.timeout if timeout is None else timeout

        def attempt() -> requests.Response:
            try:
                return super(ArxivAdapter, self).send(request, stream=stream, timeout=seconds, verify=verify,
                                                      cert=cert, proxies=proxies)
            except requests.exceptions.RequestException as exc:
                reason = _innermost(exc)
                if isinstance(exc, requests.exceptions.Timeout) or isinstance(reason, _RETRIED_URLLIB3_ERRORS):
                    raise _Unreachable(exc, reason) from None
                raise _wrap(reason, describe_url(request.url or ""), request.url or "", seconds,
                            self.policy.retry.attempts) from None

        return self.policy.send(request, attempt, seconds)


def _wrap(reason: BaseException, what: str, url: str, timeout: float, attempts: int, *,
          timed_out: bool = False) -> SourceError:
    """The one-line ``SourceError`` for a request that got no answer (``reason``: the innermost error)."""
    if timed_out or isinstance(reason, (ReadTimeoutError, TimeoutError, httpx.TimeoutException)) \
            or "timed out" in str(reason).lower():
        return SourceError(f"{what} timed out after {timeout:g} s (gave up after {attempts} attempts)", url=url)
    if is_dns_failure(reason):  # failed at once: not retried
        return SourceError(f"{what} could not be reached: its host name does not resolve (DNS; "
                           f"{describe_error(reason)}); check the network or the URL", url=url)
    return SourceError(f"{what} could not be reached ({describe_error(reason)}) (gave up after {attempts} attempts)",
                       url=url)


class TransportAdapter(BaseAdapter):
    """An httpx transport (snapshot replay or recorder, a test's mock) behind the same policy and the same
    retries as the network."""

    def __init__(self, policy: _Policy, transport: httpx.BaseTransport) -> None:
        super().__init__()
        self.policy = policy
        self.transport = transport

    def send(self, request: requests.PreparedRequest, stream: bool = False,  # type: ignore[override]
             timeout: float | None = None, verify: bool | str = True, cert: object = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url, method = request.url or "", request.method or "GET"
        seconds = self.policy.timeout if timeout is None else timeout

        def attempt() -> requests.Response:
            outgoing = httpx.Request(method, url, headers=dict(request.headers), content=request.body or b"",
                                     extensions={"timeout": {k: seconds for k in ("connect", "read", "write", "pool")}})
            try:
                answer = self.transport.handle_request(outgoing)
                body = answer.read()
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _Unreachable(exc, exc) from None
            except httpx.HTTPError as exc:
                raise SourceError(f"{describe_url(url)} failed ({describe_error(exc)})", url=url) from None
            response = requests.Response()
            response.status_code = answer.status_code
            response.headers = CaseInsensitiveDict(dict(answer.headers))
            response._content = body
            response.url = url
            response.request = request
            response.reason = answer.reason_phrase
            response.encoding = answer.encoding
            return response

        return self.policy.send(request, attempt, seconds)

    def close(self) -> None:
        self.transport.close()


def open_session(settings: ArxivSettings, *, replay_dir: str | os.PathLike[str] | None = None,
                 record_dir: str | os.PathLike[str] | None = None, transport: httpx.BaseTransport | None = None,
                 backoff_seconds: float, sleep: Callable[[float], None],
                 error_message: Callable[[bytes], str | None]) -> requests.Session:
    """The session for ``ArxivSettings``: network, a snapshot's replay, a recorder, or an injected httpx
    transport, each with the same ``retry_policy``; in replay nothing waits (no network, no reason to space
    requests). ``error_message`` reads the server's own message out of a 4xx body (the API's error feed)."""
    replaying = bool(replay_dir)
    limiter = RateLimiter(0 if replaying else settings.api_delay_seconds, sleep=sleep)
    retry = retry_policy(settings.max_retries, backoff_initial=backoff_seconds, sleep=sleep)
    common = dict(timeout=settings.timeout_seconds, user_agent=settings.user_agent, api_url=settings.api_url,
                  allowed=[settings.api_url, settings.rss_url, settings.files_url], limiter=limiter, retry=retry,
                  error_message=error_message)
    if replay_dir or transport is not None:
        adapter: BaseAdapter = TransportAdapter(_Policy(**common), make_transport(replay_dir, record_dir, inner=transport))
    else:
        recorder = open_for_recording(Path(record_dir)) if record_dir else None
        adapter = ArxivAdapter(_Policy(**common, recorder=recorder))
    session = requests.Session()
    session.max_redirects = 5
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _EmptyAnswer(Exception):
    """A whole answer with no entries where papers were expected (asked again by ``again``)."""


def again(ask: Callable[[], T], *, what: str, max_retries: int, backoff_seconds: float,
          sleep: Callable[[float], None], empty: Callable[[T], bool] = lambda _: False) -> T:
    """``ask()`` until it returns an answer that is not ``empty``, re-asking (with the backoff of the one
    ``RetryPolicy``) after a ``MalformedAnswerError`` or an empty answer; then ``EmptyAnswerError`` /
    ``SourceError``."""
    policy = RetryPolicy(attempts=max_retries + 1, backoff=Backoff(backoff_seconds, MAX_BACKOFF_SECONDS),
                         retry_on=(MalformedAnswerError, _EmptyAnswer), sleep=sleep)

    def once() -> T:
        answer = ask()
        if empty(answer):
            raise _EmptyAnswer(f"{what}: the arXiv API answered with no entries")
        return answer

    def log_retry(retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        problem = exc.message if isinstance(exc, MalformedAnswerError) else str(exc)
        log.warning("%s; retrying in %.1f s (attempt %d)", problem, retry_state.upcoming_sleep,
                    retry_state.attempt_number + 1)

    try:
        return policy.call(once, before_sleep=log_retry)
    except _EmptyAnswer as exc:
        raise EmptyAnswerError(f"{exc} after {policy.attempts} attempts") from None
    except MalformedAnswerError as exc:
        raise SourceError(f"{exc.message} (gave up after {policy.attempts} attempts)") from None
