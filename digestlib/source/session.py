"""The one HTTP session to arXiv's feed and API: a ``requests.Session`` the ``arxiv`` package also uses.

Owns how a request to ``rss.arxiv.org`` / ``export.arxiv.org`` is made: a timeout on every request (the
adapter's ``send`` sets it: the ``arxiv`` package passes none), our identifying User-Agent (replacing the
package's), the politeness delay between API requests (``http.RateLimiter``, also between retries), one
connection (a pool of one), redirects only within the configured hosts, and HTTP retries by a urllib3
:class:`PoliteRetry` (429 / 5xx / timeouts / dropped connections; ``Retry-After`` honoured through
``http.parse_retry_after``; a wish beyond ``MAX_RETRY_AFTER_SECONDS`` fails at once; backoff from
``http.backoff_wait``). Every answer leaves here either as a 2xx ``requests.Response`` or as a one-line
``SourceError`` with ``url`` and ``status``: the caller never sees a requests, urllib3 or httpx exception.

Two adapters share that policy: :class:`ArxivAdapter` (the network, through urllib3, which runs the
``Retry``) and :class:`TransportAdapter` (an httpx transport: a snapshot's replay or recorder, a test's
``MockTransport``; the same ``Retry`` object is driven by hand). :func:`again` re-asks for answers that
came back whole but useless (garbled, or empty where papers were expected), with the same backoff.

Must not: parse feeds (``rss.py``, ``api.py``) or know about papers and days.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import httpx
import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError, ReadTimeoutError
from urllib3.util import Retry

from ..base.errors import EmptyAnswerError, MalformedAnswerError, SourceError
from ..base.http import RateLimiter, allowed_origins, backoff_wait, is_allowed, parse_retry_after
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


def _is_dns_failure(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, NameResolutionError) or any(
        words in text for words in ("name or service not known", "nodename nor servname", "name resolution",
                                    "no address associated with hostname", "getaddrinfo failed"))


class PoliteRetry(Retry):
    """urllib3's ``Retry`` with our backoff, our ``Retry-After`` reading and an injectable ``sleep``.

    ``sleep`` is called with the wait (tests record it); a ``Retry-After`` beyond
    ``MAX_RETRY_AFTER_SECONDS`` raises ``SourceError`` instead of waiting.
    """

    def __init__(self, *args, backoff_initial: float = 3.0,
                 sleep_for: Callable[[float], None] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.backoff_initial = backoff_initial
        self.sleep_for = sleep_for

    @classmethod
    def for_settings(cls, max_retries: int, *, backoff_initial: float,
                     sleep_for: Callable[[float], None]) -> "PoliteRetry":
        return cls(total=max_retries, connect=max_retries, read=max_retries, status=max_retries, other=0,
                   redirect=False, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                   respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
                   backoff_initial=backoff_initial, sleep_for=sleep_for)

    def new(self, **kw) -> "PoliteRetry":
        retry = super().new(**kw)
        retry.backoff_initial = self.backoff_initial
        retry.sleep_for = self.sleep_for
        return retry

    @property
    def attempts(self) -> int:
        return len(self.history) + 1

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,  # noqa: ANN001
                  _stacktrace=None) -> "PoliteRetry":
        """As urllib3's, but a host name that does not resolve fails at once: asking again in a few
        seconds will not make DNS know it (and the LLM endpoint's check should not wait ~45 s behind it)."""
        if error is not None and _is_dns_failure(error):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        return backoff_wait(max(1, len(self.history)), initial=self.backoff_initial, maximum=MAX_BACKOFF_SECONDS)

    def sleep(self, response=None) -> None:  # noqa: ANN001 (urllib3's signature)
        retry_after = parse_retry_after(dict(response.headers)) if response is not None else None
        if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
            url = self.history[-1].url if self.history else ""
            raise SourceError(f"{describe_url(url or '/')} answered HTTP {response.status} and asks to retry "
                              f"after {retry_after:.0f} s", url=url, status=response.status)
        wait = backoff_wait(max(1, len(self.history)), initial=self.backoff_initial, maximum=MAX_BACKOFF_SECONDS,
                            retry_after=retry_after, at_least_backoff=True)
        last = self.history[-1] if self.history else None
        if last is not None:
            cause = f"HTTP {last.status}" if last.status else describe_error(last.error) if last.error else "?"
            log.warning("%s: %s; retrying in %.1f s (attempt %d)", describe_url(last.url or "/"), cause, wait,
                        self.attempts)
        (self.sleep_for or time.sleep)(wait)


class _Policy:
    """What both adapters share: timeout, User-Agent, allowed hosts, the API's spacing, recording."""

    def __init__(self, *, timeout: float, user_agent: str, allowed: Iterable[str | None], api_url: str,
                 limiter: RateLimiter, retry: PoliteRetry, error_message: Callable[[bytes], str | None],
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

    def spacing(self, request: requests.PreparedRequest):
        """The politeness slot: API requests are spaced, the feed is not."""
        if httpx.URL(request.url or "").path == self.api_path:
            return self.limiter.slot()
        return contextlib.nullcontext()

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


class ArxivAdapter(HTTPAdapter):
    """The network: urllib3 runs :class:`PoliteRetry`; ``send`` sets the timeout and the policy."""

    def __init__(self, policy: _Policy) -> None:
        self.policy = policy
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=policy.retry, pool_block=True)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: ANN001
        self.policy.prepare(request)
        what = describe_url(request.url or "")
        seconds = self.policy.timeout if timeout is None else timeout
        with self.policy.spacing(request):
            try:
                response = super().send(request, stream=stream, timeout=seconds, verify=verify, cert=cert,
                                        proxies=proxies)
            except requests.exceptions.RequestException as exc:
                raise _wrap(exc, what, request.url or "", seconds, self.max_retries.total + 1) from None
        return self.policy.finish(request, response, self.max_retries.total + 1)


def _wrap(exc: BaseException, what: str, url: str, timeout: float, attempts: int) -> SourceError:
    reason: BaseException = exc
    while True:  # requests -> MaxRetryError -> the urllib3 error that ended the last attempt
        inner = reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) else None
        inner = getattr(reason, "reason", None) or inner
        if inner is None or inner is reason:
            break
        reason = inner
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(reason, (ReadTimeoutError, TimeoutError)) \
            or "timed out" in str(reason).lower():
        return SourceError(f"{what} timed out after {timeout:g} s (gave up after {attempts} attempts)", url=url)
    if _is_dns_failure(reason):  # failed at once: not retried
        return SourceError(f"{what} could not be reached: its host name does not resolve (DNS; "
                           f"{describe_error(reason)}); check the network or the URL", url=url)
    return SourceError(f"{what} could not be reached ({describe_error(reason)}) (gave up after {attempts} attempts)",
                       url=url)


class TransportAdapter(BaseAdapter):
    """An httpx transport (snapshot replay or recorder, a test's mock) behind the same policy; the
    :class:`PoliteRetry` is driven here as urllib3 drives it on the network."""

    def __init__(self, policy: _Policy, transport: httpx.BaseTransport) -> None:
        super().__init__()
        self.policy = policy
        self.transport = transport

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: ANN001
        self.policy.prepare(request)
        url, method = request.url or "", request.method or "GET"
        what = describe_url(url)
        seconds = self.policy.timeout if timeout is None else timeout
        retry = self.policy.retry
        while True:
            error: Exception | None = None
            with self.policy.spacing(request):
                outgoing = httpx.Request(method, url, headers=dict(request.headers), content=request.body or b"",
                                         extensions={"timeout": {k: seconds for k in ("connect", "read", "write", "pool")}})
                try:
                    answer = self.transport.handle_request(outgoing)
                    body = answer.read()
                except httpx.TimeoutException as exc:
                    error = ReadTimeoutError(None, url, str(exc))  # type: ignore[arg-type]
                except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    error = ProtocolError(describe_error(exc))
                except httpx.HTTPError as exc:
                    raise SourceError(f"{what} failed ({describe_error(exc)})", url=url) from None
            if error is not None:
                try:
                    retry = retry.increment(method, url, error=error)
                except MaxRetryError:
                    if isinstance(error, ReadTimeoutError):
                        raise SourceError(f"{what} timed out after {seconds:g} s (gave up after {retry.attempts} "
                                          "attempts)", url=url) from None
                    raise SourceError(f"{what} could not be reached ({error}) (gave up after {retry.attempts} "
                                      "attempts)", url=url) from None
                retry.sleep()
                continue
            headers = dict(answer.headers)
            if retry.is_retry(method, answer.status_code, "retry-after" in answer.headers):
                stand_in = urllib3.HTTPResponse(body=b"", headers=headers, status=answer.status_code,
                                                preload_content=False)
                try:
                    retry = retry.increment(method, url, response=stand_in)
                except MaxRetryError:
                    pass  # out of attempts: ``finish`` reports the last answer
                else:
                    retry.sleep(stand_in)
                    continue
            response = requests.Response()
            response.status_code = answer.status_code
            response.headers = CaseInsensitiveDict(headers)
            response._content = body
            response.url = url
            response.request = request
            response.reason = answer.reason_phrase
            response.encoding = answer.encoding
            return self.policy.finish(request, response, retry.attempts)

    def close(self) -> None:
        self.transport.close()


def open_session(settings, *, replay_dir: str | os.PathLike[str] | None = None,  # noqa: ANN001
                 record_dir: str | os.PathLike[str] | None = None, transport: httpx.BaseTransport | None = None,
                 backoff_seconds: float, sleep: Callable[[float], None],
                 error_message: Callable[[bytes], str | None]) -> requests.Session:
    """The session for ``ArxivSettings``: network (urllib3 retries), a snapshot's replay, a recorder, or
    an injected httpx transport; in replay nothing waits (no network, no reason to space requests).
    ``error_message`` reads the server's own message out of a 4xx body (the API's error feed)."""
    replaying = bool(replay_dir)
    limiter = RateLimiter(0 if replaying else settings.api_delay_seconds, sleep=sleep)
    retry = PoliteRetry.for_settings(settings.max_retries, backoff_initial=backoff_seconds, sleep_for=sleep)
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


def again(ask: Callable[[], T], *, what: str, max_retries: int, backoff_seconds: float,
          sleep: Callable[[float], None], empty: Callable[[T], bool] = lambda _: False) -> T:
    """``ask()`` until it returns an answer that is not ``empty``, re-asking (with backoff) after a
    ``MalformedAnswerError`` or an empty answer; then ``EmptyAnswerError`` / ``SourceError``."""
    attempts = max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            answer = ask()
        except MalformedAnswerError as exc:
            problem, was_empty = exc.message, False
        else:
            if not empty(answer):
                return answer
            problem, was_empty = f"{what}: the arXiv API answered with no entries", True
        if attempt < attempts:
            wait = backoff_wait(attempt, initial=backoff_seconds, maximum=MAX_BACKOFF_SECONDS)
            log.warning("%s; retrying in %.1f s (attempt %d)", problem, wait, attempt + 1)
            sleep(wait)
    if was_empty:
        raise EmptyAnswerError(f"{problem} after {attempts} attempts")
    raise SourceError(f"{problem} (gave up after {attempts} attempts)")
