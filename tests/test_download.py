"""The full-text download without a server: ``httpx.MockTransport`` answers, a fake sleep records every
wait. Retries, ``Retry-After``, the size cap, the deadline, the hung-host limit, redirects and the cache,
each in milliseconds (the loopback-server tests in tests/test_fulltext.py stay as integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import httpx
import pytest

from digestlib.app.demo import sample_papers
from digestlib.base.config import FulltextSettings
from digestlib.fulltext.download import HUNG_HOST_LIMIT, RETRY_AFTER_CAP_SECONDS, FulltextFetcher
from digestlib.fulltext.notes import DETAIL

FILES = "https://export.arxiv.org"
UA = "arxiv-digest-test/1.0 (mailto:test@example.org)"
PDF = b"%PDF-1.4\n" + b"x" * 2000 + b"\n%%EOF\n"
HTML = ("<html><body><article><h1>Title</h1><section><h2>Introduction</h2><p>"
        + "We study speech codecs and report a 4.41 dB gain. " * 30 + "</p></section></article></body></html>")
PAPER = sample_papers()[0]
Handler = Callable[[httpx.Request], httpx.Response]


class Waits(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetcher(tmp_path: Path, handler: Handler, waits: Waits | None = None, **settings: object) -> FulltextFetcher:
    values: dict = dict(max_pdf_mb=1.0, download_timeout_seconds=5.0, requests_per_second=0, max_retries=2)
    values.update(settings)
    return FulltextFetcher(FulltextSettings(**values), FILES, tmp_path / "cache", user_agent=UA,
                           transport=httpx.MockTransport(handler), backoff=1.0, max_backoff=8.0,
                           sleep=waits if waits is not None else Waits())


class Script:
    def __init__(self, *steps: httpx.Response | Handler) -> None:
        self.steps = list(steps)
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        return step(request) if callable(step) else step


def pdf_response() -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/pdf"}, content=PDF)


def test_a_pdf_is_downloaded_cached_and_not_asked_again(tmp_path: Path) -> None:
    script = Script(pdf_response())
    with fetcher(tmp_path, script) as f:
        first = f.download(PAPER)
        again = f.download(PAPER)
    assert first.kind == "pdf" and first.status_code == 200 and first.bytes_read == len(PDF)
    assert first.path is not None and first.path.read_bytes() == PDF
    assert again.from_cache and script.paths == [f"/pdf/{PAPER.versioned_id}"]


def test_a_5xx_is_retried_with_exponential_backoff(tmp_path: Path) -> None:
    waits, script = Waits(), Script(httpx.Response(503), httpx.Response(502), pdf_response())
    with fetcher(tmp_path, script, waits) as f:
        assert f.download(PAPER).kind == "pdf"
    assert waits == [1.0, 2.0] and len(script.paths) == 3


def test_retry_after_is_honoured_up_to_its_cap(tmp_path: Path) -> None:
    waits = Waits()
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}),
                    httpx.Response(503, headers={"Retry-After": "3600"}), pdf_response())
    with fetcher(tmp_path, script, waits) as f:
        assert f.download(PAPER).kind == "pdf"
    assert waits == [7.0, RETRY_AFTER_CAP_SECONDS]


def test_5xx_after_the_retries_is_pending_unavailable(tmp_path: Path) -> None:
    waits, script = Waits(), Script(httpx.Response(500))
    with fetcher(tmp_path, script, waits, max_retries=1) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason, result.status_code) == ("pending", "unavailable", 500)
    assert result.detail == DETAIL["unavailable"].format(code=500) and len(script.paths) == 2 and len(waits) == 1


def test_a_404_is_not_retried_and_the_html_rendering_is_tried(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/pdf/"):
            return httpx.Response(404)
        return httpx.Response(200, headers={"content-type": "text/html"}, content=HTML.encode())

    waits = Waits()
    with fetcher(tmp_path, handler, waits) as f:
        result = f.download(PAPER)
    assert result.kind == "html" and result.path is not None and result.path.is_file() and waits == []


def test_neither_pdf_nor_html_is_pending_not_found(tmp_path: Path) -> None:
    script = Script(httpx.Response(404))
    with fetcher(tmp_path, script) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("pending", "not_found") and len(script.paths) == 2


def test_a_connection_error_is_retried_then_pending_network(tmp_path: Path) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    waits, script = Waits(), Script(refused)
    with fetcher(tmp_path, script, waits, max_retries=2) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("pending", "network") and len(script.paths) == 3 and waits == [1.0, 2.0]


def test_a_timeout_is_retried(tmp_path: Path) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    waits, script = Waits(), Script(slow, pdf_response())
    with fetcher(tmp_path, script, waits) as f:
        assert f.download(PAPER).kind == "pdf"
    assert waits == [1.0]


def test_an_oversized_pdf_fails_without_reading_its_body(tmp_path: Path) -> None:
    big = httpx.Response(200, headers={"content-type": "application/pdf", "content-length": str(5 * 1024 * 1024)},
                         content=b"%PDF-" + b"x" * (5 * 1024 * 1024 - 5))
    with fetcher(tmp_path, Script(big)) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("failed", "too_large") and result.bytes_read == 0


def test_a_body_past_the_cap_is_stopped_while_streaming(tmp_path: Path) -> None:
    def stream() -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/pdf"},
                              content=iter([b"%PDF-1.4\n"] + [b"x" * 65536] * 40))

    with fetcher(tmp_path, lambda r: stream()) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("failed", "too_large") and 1024 * 1024 < result.bytes_read < 2 * 1024 * 1024
    assert not list((tmp_path / "cache" / "pdf").iterdir())  # nothing half-written is left


def test_an_html_page_instead_of_the_pdf_is_pending_and_not_cached(tmp_path: Path) -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>wait</html>")
    with fetcher(tmp_path, Script(page)) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("pending", "not_pdf")
    assert not list((tmp_path / "cache" / "pdf").iterdir())


def test_a_pdf_cut_short_is_pending_download_truncated(tmp_path: Path) -> None:
    cut = httpx.Response(200, headers={"content-type": "application/pdf"}, content=b"%PDF-1.4\n" + b"x" * 3000)
    with fetcher(tmp_path, Script(cut, httpx.Response(404))) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("pending", "download_truncated")


def test_another_4xx_fails_with_its_code(tmp_path: Path) -> None:
    with fetcher(tmp_path, Script(httpx.Response(403))) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason, result.status_code) == ("failed", "http_error", 403)


def test_a_redirect_off_the_configured_hosts_is_refused(tmp_path: Path) -> None:
    script = Script(httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"}))
    with fetcher(tmp_path, script) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("failed", "redirect_refused") and "169.254.169.254" in result.detail
    assert script.paths == [f"/pdf/{PAPER.versioned_id}"]


def test_a_dripping_download_costs_one_deadline_and_is_not_retried(tmp_path: Path) -> None:
    def drip(request: httpx.Request) -> httpx.Response:
        def body():
            yield b"%PDF-1.4\n"
            while True:  # byte after byte, never the end
                yield b"x"

        return httpx.Response(200, headers={"content-type": "application/pdf"}, content=body())

    waits, script = Waits(), Script(drip)
    with fetcher(tmp_path, script, waits, download_timeout_seconds=0.2, max_pdf_mb=1000) as f:
        result = f.download(PAPER)
    assert (result.kind, result.reason) == ("pending", "download_timeout") and len(script.paths) == 1 and waits == []


def test_a_host_that_overruns_its_deadline_again_and_again_is_given_up(tmp_path: Path) -> None:
    def hung(request: httpx.Request) -> httpx.Response:
        def body():
            yield b"%PDF-1.4\n"
            while True:
                yield b"x"

        return httpx.Response(200, headers={"content-type": "application/pdf"}, content=body())

    script = Script(hung)
    papers = sample_papers()[: HUNG_HOST_LIMIT + 2]
    with fetcher(tmp_path, script, download_timeout_seconds=0.1, max_pdf_mb=1000) as f:
        results = [f.download(p) for p in papers]
    assert all(r.kind == "pending" and r.reason == "download_timeout" for r in results)
    assert len(script.paths) == HUNG_HOST_LIMIT  # the PDFs that overran; the rest were not asked for


def test_requests_are_spaced_in_bursts(tmp_path: Path) -> None:
    waits = Waits()
    with fetcher(tmp_path, Script(pdf_response()), waits, requests_per_second=2, burst=2) as f:
        for paper in sample_papers()[:5]:
            assert f.download(paper).kind == "pdf"
    assert len(waits) == 2 and all(0 < w <= 1.0 for w in waits)  # after each burst of two: a pause
