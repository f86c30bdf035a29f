"""The API through the ``arxiv`` package, over a real socket: timeout, Retry-After, arXiv's HTTP 400.

The unit tests in ``test_arxiv_source.py`` drive the same retry policy through an httpx MockTransport;
here urllib3 itself runs it (``source/session.py``'s adapter under ``arxiv.Client``), against a loopback
server scripted per test.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import arxiv
import pytest

from digestlib.base.config import ArxivSettings
from digestlib.base.errors import EmptyAnswerError, SourceError
from digestlib.source import ArxivSource, parse_api_feed
from tests.fakes.fake_arxiv import api_feed

UTC = dt.timezone.utc
CATS = ("cs.SD", "eess.AS")


def one_paper_feed() -> bytes:
    paper = {"id": "2601.15000", "version": 1, "title": "A paper", "abstract": "An abstract.",
             "authors": ["A. Author"], "categories": ["cs.SD"], "published": "2026-01-21T10:00:00Z",
             "updated": "2026-01-21T10:00:00Z"}
    return api_feed([paper], total=1, start=0, per_page=1, query="q", now=dt.datetime(2026, 1, 22, tzinfo=UTC)).encode()


class Scripted:
    """A loopback HTTP server answering each request with the next step of ``script`` (the last repeats).

    A step is ``(status, body, headers)`` or ``("hang", seconds)``; every request is logged with its time."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.log: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                outer.log.append({"t": time.monotonic(), "path": self.path, "ua": self.headers.get("User-Agent")})
                step = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if step[0] == "hang":
                    time.sleep(step[1])
                    return
                status, body, headers = step
                self.send_response(status)
                for key, value in {"Content-Type": "application/atom+xml", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "Scripted":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def settings(self, **overrides) -> ArxivSettings:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        values = {"api_url": f"{base}/api/query", "rss_url": f"{base}/atom", "files_url": base,
                  "api_delay_seconds": 0.0, "timeout_seconds": 2.0, "max_retries": 2, "page_size": 100}
        values.update(overrides)
        return ArxivSettings(**values)


@pytest.fixture
def through_the_package(monkeypatch):
    """Counts the searches run by ``arxiv.Client.results``: proof the package made the call."""
    calls: list[arxiv.Search] = []
    original = arxiv.Client.results

    def spy(self, search, offset=0):
        calls.append(search)
        assert self.query_url_format.startswith("http://127.0.0.1:")
        return original(self, search, offset)

    monkeypatch.setattr(arxiv.Client, "results", spy)
    return calls


@pytest.mark.integration
def test_503_with_retry_after_then_data(through_the_package):
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with Scripted((503, b"busy", {"Retry-After": "1"}), (200, one_paper_feed(), {})) as server:
        with ArxivSource(server.settings(), CATS, backoff_seconds=0.05, sleep=sleep) as src:
            found = src.fetch_metadata(["2601.15000"])
    assert list(found) == ["2601.15000"] and found["2601.15000"].title == "A paper"
    assert len(server.log) == 2 and server.log[1]["t"] - server.log[0]["t"] >= 1.0
    assert waits == [1.0]  # the server's wish, read by our parser, waited by urllib3's Retry
    assert all(r["ua"].startswith("arxiv-digest/") for r in server.log)  # ours, not the package's
    assert len(through_the_package) == 1 and through_the_package[0].max_results == 1


@pytest.mark.integration
def test_a_retry_after_beyond_the_cap_fails_at_once(through_the_package):
    with Scripted((503, b"maintenance", {"Retry-After": "3600"})) as server:
        with ArxivSource(server.settings(), CATS, sleep=lambda s: pytest.fail(f"slept {s}")) as src:
            with pytest.raises(SourceError, match="retry after 3600 s"):
                src.fetch_metadata(["2601.15000"])
    assert len(server.log) == 1


@pytest.mark.integration
def test_a_server_that_hangs_past_the_timeout(through_the_package):
    with Scripted(("hang", 5)) as server:
        began = time.monotonic()
        with ArxivSource(server.settings(timeout_seconds=0.25, max_retries=1), CATS, backoff_seconds=0.05) as src:
            with pytest.raises(SourceError) as info:
                src.fetch_metadata(["2601.15000"])
        elapsed = time.monotonic() - began
    assert "timed out after 0.25 s (gave up after 2 attempts)" in str(info.value)
    assert len(server.log) == 2 and elapsed < 2.0  # two attempts of 0.25 s, never the 5 s hang


@pytest.mark.integration
def test_a_hang_then_an_answer_is_a_retry(through_the_package):
    # a 2 s timeout against a 10 s hang: the retry's answer has time to arrive on a loaded machine
    with Scripted(("hang", 10), (200, one_paper_feed(), {})) as server:
        with ArxivSource(server.settings(timeout_seconds=2.0), CATS, backoff_seconds=0.05) as src:
            assert list(src.fetch_metadata(["2601.15000"])) == ["2601.15000"]
    assert len(server.log) == 2


@pytest.mark.integration
def test_http_400_carries_arxivs_message_and_is_not_retried(shared_data: Path, through_the_package):
    body = (shared_data / "arxiv/api/id_list-bad-id-http400.xml").read_bytes()
    with Scripted((400, body, {})) as server:
        with ArxivSource(server.settings(), CATS) as src:
            with pytest.raises(SourceError, match="HTTP 400: incorrect id format for abc") as info:
                src.fetch_metadata(["2601.15000"])
    assert info.value.status == 400 and len(server.log) == 1


@pytest.mark.parametrize("name, count", [
    ("search-testing-page1-100-entries.xml", 100),   # the current (2025+) format
    ("id_list-legacy-format-2020.xml", 1),           # the legacy format
    ("id_list-nonexistent-empty.xml", 0),            # an empty answer
])
@pytest.mark.integration
def test_the_package_parses_the_real_answers_over_the_wire(shared_data: Path, name, count, through_the_package):
    body = (shared_data / "arxiv/api" / name).read_bytes()
    ids = [p.versioned_id for p in parse_api_feed(body).papers] or ["2601.99999"]
    with Scripted((200, body, {})) as server:
        with ArxivSource(server.settings(page_size=100, max_retries=0), CATS) as src:
            if count:
                papers = src.fetch_metadata(ids)
                assert len(papers) == count and all(p.title and p.authors and p.published for p in papers.values())
            else:
                with pytest.raises(EmptyAnswerError, match="no entries after 1 attempts"):
                    src.fetch_metadata(ids)
    assert len(server.log) == 1
