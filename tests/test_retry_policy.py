"""The one retry policy (``digestlib.base.http.RetryPolicy``) and the arXiv session that runs it around
each single attempt: attempts, backoff, ``Retry-After``, fail-fast errors, never-retried errors, over an
``httpx.MockTransport`` with a recording sleep (no server, no wait)."""

from __future__ import annotations

import httpx
import pytest
import requests

from digestlib.base.config import ArxivSettings
from digestlib.base.errors import EmptyAnswerError, MalformedAnswerError, SourceError
from digestlib.base.http import Backoff, RetryPolicy, is_dns_failure
from digestlib.source.session import MAX_RETRY_AFTER_SECONDS, again, open_session


class Busy(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


class Hung(Exception):
    pass


def flaky(*outcomes: BaseException | str):
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return fn, calls


def test_the_policy_retries_with_backoff_and_honours_retry_after() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff=Backoff(1.0, 10.0), retry_on=(Busy,), sleep=waits.append)
    fn, calls = flaky(Busy(), Busy(retry_after=6.0), Busy(), "ok")
    assert policy.call(fn) == "ok" and len(calls) == 4
    assert waits == [1.0, 6.0, 4.0]


def test_the_policy_raises_the_last_error_after_its_attempts() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=Backoff(1.0, 10.0), retry_on=(Busy,), sleep=waits.append)
    fn, calls = flaky(Busy())
    with pytest.raises(Busy):
        policy.call(fn)
    assert len(calls) == 3 and waits == [1.0, 2.0]


def test_never_on_and_fails_fast_are_not_retried() -> None:
    class Overran(Busy):
        pass

    policy = RetryPolicy(attempts=5, backoff=Backoff(1.0, 10.0), retry_on=(Busy,), never_on=(Overran,),
                         fails_fast=lambda exc: str(exc) == "dns", sleep=lambda s: pytest.fail("slept"))
    for error in (Overran(), Busy(), Hung()):
        if type(error) is Busy:
            error.args = ("dns",)
        fn, calls = flaky(error)
        with pytest.raises(type(error)):
            policy.call(fn)
        assert len(calls) == 1


def test_a_caller_may_stop_early_and_count_its_retries() -> None:
    retries: list[int] = []
    policy = RetryPolicy(attempts=9, backoff=Backoff(0.0, 0.0), retry_on=(Busy,), sleep=lambda s: None)
    fn, calls = flaky(Busy())
    with pytest.raises(Busy):
        policy.call(fn, stop=lambda state: state.attempt_number >= 2, before_sleep=lambda state: retries.append(1))
    assert len(calls) == 2 and retries == [1]


def test_backoff_jitter_stays_within_half_and_whole_step_and_never_below_retry_after() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=Backoff(2.0, 10.0, jitter=True, retry_after_cap=5.0),
                         retry_on=(Busy,), sleep=waits.append)
    fn, _ = flaky(Busy(), Busy(retry_after=60.0), "ok")
    policy.call(fn)
    assert 1.0 <= waits[0] <= 2.0 and 5.0 <= waits[1] <= 5.25


def test_dns_failures_are_recognised_by_type_or_words() -> None:
    assert is_dns_failure(OSError("[Errno -2] Name or service not known"))
    assert is_dns_failure(OSError("getaddrinfo failed"))
    assert not is_dns_failure(OSError("[Errno 111] Connection refused"))


# ------------------------------------------------------------------------------------ the arXiv session

def session(handler, waits: list[float], **overrides: object) -> requests.Session:
    values: dict = {"api_url": "https://export.arxiv.org/api/query", "rss_url": "https://rss.arxiv.org/atom",
                    "files_url": "https://export.arxiv.org", "api_delay_seconds": 0.0, "max_retries": 2}
    values.update(overrides)
    return open_session(ArxivSettings(**values), transport=httpx.MockTransport(handler), backoff_seconds=1.0,
                        sleep=waits.append, error_message=lambda body: None)


def test_the_session_retries_5xx_and_reports_the_last_answer() -> None:
    waits: list[float] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(503, content=b"busy", headers={"Retry-After": "4"})

    with pytest.raises(SourceError, match=r"answered HTTP 503 \(gave up after 3 attempts\)") as failed:
        session(handler, waits).get("https://export.arxiv.org/api/query?id_list=1")
    assert failed.value.status == 503 and len(seen) == 3 and waits == [4.0, 4.0]


def test_the_session_fails_at_once_on_a_retry_after_beyond_its_cap() -> None:
    waits: list[float] = []
    wish = str(int(MAX_RETRY_AFTER_SECONDS) + 1)
    with pytest.raises(SourceError, match=f"asks to retry after {wish} s"):
        session(lambda r: httpx.Response(429, headers={"Retry-After": wish}), waits).get(
            "https://export.arxiv.org/api/query?id_list=1")
    assert waits == []


def test_the_session_fails_at_once_on_a_host_that_does_not_resolve() -> None:
    waits: list[float] = []
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(SourceError, match="its host name does not resolve"):
        session(handler, waits).get("https://rss.arxiv.org/atom/cs.SD")
    assert calls == [1] and waits == []


def test_again_reasks_for_garbled_or_empty_answers_with_the_same_backoff() -> None:
    waits: list[float] = []
    fn, calls = flaky(MalformedAnswerError("garbled"), [], ["paper"])
    assert again(fn, what="the arXiv API", max_retries=3, backoff_seconds=1.0, sleep=waits.append,
                 empty=lambda answer: not answer) == ["paper"]
    assert len(calls) == 3 and waits == [1.0, 2.0]
    fn, _ = flaky([])
    with pytest.raises(EmptyAnswerError, match="answered with no entries after 2 attempts"):
        again(fn, what="the arXiv API", max_retries=1, backoff_seconds=1.0, sleep=waits.append,
              empty=lambda answer: not answer)
