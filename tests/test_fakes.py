"""The unit loop's tools: the in-process fakes (``tests.fakes.mock_http``, ``inline_pool``) drive the real
client code as the loopback servers do, and ``pytest --unit`` fails a test that starts a process or a server."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import httpx
import pytest

from digestlib.base import calendar
from digestlib.base.config import FulltextSettings, LLMSettings
from digestlib.base.errors import LLMError
from digestlib.app.demo import make_pdf, sample_papers
from digestlib.base.models import TextStatus
from digestlib.fulltext.download import FulltextFetcher
from digestlib.llm import LLMClient, MemoryCache
from digestlib.source import ArxivSource
from tests.fakes.fake_arxiv import paper_from_dict
from tests.fakes.inline_pool import InlinePool
from tests.fakes.files_server import Reply
from tests.fakes.mock_http import MockArxiv, MockFiles, MockOpenAI

pytest_plugins = ["pytester"]

D22 = dt.date(2026, 1, 22)
AFTER_22 = dt.datetime(2026, 1, 22, 2, 0, tzinfo=dt.timezone.utc)
CATS = ["cs.SD", "eess.AS"]
TRANSLATE = [{"role": "user", "content": "<abstract>We reach 78% accuracy and 4.41 dB.</abstract>"}]


def llm_client(mock: MockOpenAI, cache: MemoryCache | None = None) -> LLMClient:
    settings = LLMSettings(base_url=mock.url, model="test-model", concurrency=2, timeout_seconds=5.0, max_retries=3)
    return LLMClient(settings, cache if cache is not None else MemoryCache(), env={}, day="2026-01-22",
                     backoff_initial=0.01, backoff_max=0.02, http_client=mock.http_client())


# ------------------------------------------------------------------------------------------- the fake LLM

def test_the_mock_openai_answers_and_logs_like_the_server(mock_openai: MockOpenAI) -> None:
    completion = llm_client(mock_openai).complete("translate", TRANSLATE)
    assert completion.content.startswith("【译】测试译文") and "78、4.41" in completion.content
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    [entry] = mock_openai.log()
    assert (entry["kind"], entry["model"], entry["status"], entry["language"]) == ("translate", "test-model", 200, "zh")


def test_the_mock_openai_serves_queued_faults_in_order(mock_openai: MockOpenAI) -> None:
    mock_openai.control({"status": 500}, {"status": 502})
    cache = MemoryCache()
    client = llm_client(mock_openai, cache)
    assert "测试译文" in client.complete("translate", TRANSLATE).content
    assert [e["status"] for e in mock_openai.log()] == [500, 502, 200]
    assert client.stats["retries"] == 2 and [f["status"] for f in cache.failed_calls] == ["HTTP 500", "HTTP 502"]
    mock_openai.reset()
    assert mock_openai.calls() == 0


def test_a_crash_cuts_the_answer_then_refuses_connections(mock_openai: MockOpenAI) -> None:
    mock_openai.control({"crash": True})
    with pytest.raises(LLMError):
        llm_client(mock_openai).complete("translate", TRANSLATE)
    assert mock_openai.crashed.is_set()
    with pytest.raises(httpx.ConnectError):  # the dead server's control API is gone too
        mock_openai.calls()


# ------------------------------------------------------------------------------------------ the fake arXiv

def test_the_mock_arxiv_serves_the_mailing_through_rss_and_api(mock_arxiv: MockArxiv, shared_data: Path) -> None:
    with ArxivSource(mock_arxiv.settings(api_delay_seconds=0.0, page_size=20), CATS,
                     transport=mock_arxiv.transport) as source:
        announcement = source.fetch_announcement(D22, now=AFTER_22)
    assert announcement.source == "rss" and announcement.warnings == ()
    assert len(announcement.new_papers) == 25 and len(announcement.replacements) == 22
    start, end = calendar.submission_cycle(D22)
    assert all(p.published is not None and start <= p.updated < end for p in announcement.papers)
    assert len(mock_arxiv.log("rss")) == 1 and len(mock_arxiv.log("api")) == 3


def test_the_mock_arxiv_serves_faults_and_a_dropped_connection_is_retried(mock_arxiv: MockArxiv) -> None:
    mock_arxiv.faults({"api": [{"close": True}, {"status": 503}], "rss": [{"status": 500}]})
    with ArxivSource(mock_arxiv.settings(api_delay_seconds=0.0), CATS, transport=mock_arxiv.transport,
                     backoff_seconds=0.0, sleep=lambda seconds: None) as source:
        assert len(source.fetch_rss().items) == 47
        assert "2601.15240" in source.fetch_metadata(["2601.15240"])
    assert [r["status"] for r in mock_arxiv.log("rss")] == [500, 200]
    assert [r["status"] for r in mock_arxiv.log("api")] == ["closed", 503, 200]


def test_the_mock_arxiv_files_are_downloaded_and_read_in_process(mock_arxiv: MockArxiv, tmp_path: Path) -> None:
    raw = mock_arxiv.fake.papers["2601.15240"]
    paper = paper_from_dict(raw)
    mock_arxiv.faults({f"pdf:{paper.versioned_id}": [{"status": 404}]})
    settings = FulltextSettings(requests_per_second=0, max_retries=1)
    with InlinePool() as pool:
        for cache in ("first", "second"):  # the second run has an empty cache: the PDF is there by now
            with FulltextFetcher(settings, mock_arxiv.files_url, tmp_path / cache, user_agent="test",
                                 transport=mock_arxiv.transport, backoff=0.0, pool=pool) as fetcher:
                got = fetcher.fetch(paper)
            if cache == "first":  # no PDF yet: the HTML rendering
                assert (got.status, got.source) == (TextStatus.OK, "html") and pool.calls == 0
    from_pdf = got
    assert (from_pdf.status, from_pdf.source) == (TextStatus.OK, "pdf") and pool.calls == 1
    assert from_pdf.sections and "introduction" in from_pdf.sections
    assert [r["status"] for r in mock_arxiv.log("pdf")] == [404, 200]


def test_the_mock_files_server_replies_as_scripted_and_the_cache_holds(tmp_path: Path) -> None:
    paper = sample_papers()[0]
    route = f"/pdf/{paper.versioned_id}"
    settings = FulltextSettings(requests_per_second=0, max_retries=2)
    with MockFiles() as files, InlinePool() as pool:
        files.add(route, Reply(404, b"nope", "text/plain"), Reply(body=make_pdf(paper), chunked=True))
        with FulltextFetcher(settings, files.url, tmp_path, user_agent="test", transport=files.transport,
                             backoff=0.0, pool=pool) as fetcher:
            assert fetcher.fetch(paper).status is TextStatus.PENDING
            text = fetcher.fetch(paper)
            assert (text.status, text.source, text.title) == (TextStatus.OK, "pdf", paper.title)
            assert fetcher.download(paper).from_cache
    assert files.count(route) == 2 and files.sent[route] == len(b"nope") + len(make_pdf(paper))


# ----------------------------------------------------------------------------------------------- the guard

GUARDED = {
    "subprocess": "import subprocess\n    subprocess.run(['true'])",
    "swallowed": "import subprocess\n    try:\n        subprocess.run(['true'])\n    except BaseException:\n        pass",
    "thread": ("import subprocess, threading\n    t = threading.Thread(target=lambda: subprocess.run(['true']))\n"
               "    t.start()\n    t.join()"),
    "multiprocessing": "import multiprocessing\n    multiprocessing.get_context('spawn').Process(target=print).start()",
    "fork": "import os\n    os.fork()",
    "server": "import socket\n    socket.create_server(('127.0.0.1', 0)).close()",
}


def guarded_file(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(test_inner=textwrap.dedent("""\
        import pytest

        def test_it():
            {body}

        @pytest.mark.integration
        def test_marked():
            raise AssertionError("an integration test ran in the unit loop")

        def test_plain():
            assert 1 + 1 == 2
        """).format(body=body))


@pytest.mark.parametrize("case", sorted(GUARDED))
def test_the_unit_loop_fails_a_test_that_starts_a_process_or_a_server(pytester: pytest.Pytester, case: str) -> None:
    guarded_file(pytester, GUARDED[case])
    result = pytester.runpytest_inprocess("-p", "tests.conftest", "--unit", "-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_inner.py::test_it * in the unit loop (pytest --unit, make test-fast)*"])


@pytest.mark.integration
def test_without_unit_the_same_tests_run(pytester: pytest.Pytester) -> None:
    guarded_file(pytester, "import socket, subprocess\n    socket.create_server(('127.0.0.1', 0)).close()\n"
                           "    assert subprocess.run(['true']).returncode == 0")
    result = pytester.runpytest_inprocess("-p", "tests.conftest", "-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)  # test_marked runs (and fails on purpose)
