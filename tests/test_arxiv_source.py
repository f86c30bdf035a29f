"""The arXiv source: parsers on real files, HTTP behaviour on MockTransport, and a loopback fake arXiv."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from digestlib.base import calendar
from digestlib.base.config import ArxivSettings, FulltextSettings
from digestlib.base.errors import EmptyAnswerError, NotYetAnnouncedError, SourceError, UsageError
from digestlib.base.http import RateLimiter, parse_retry_after
from digestlib.source import (
    ArxivSource,
    make_transport,
    parse_api_feed,
    parse_rss,
    request_key,
    split_id,
)
from digestlib.base.models import AnnounceType
from tests.fakes.fake_arxiv import (  # noqa: F401  (fake_arxiv is a fixture)
    SHARED_MAILING,
    api_feed,
    fake_arxiv,
    load_mailings,
    rss_feed,
    start_fake_arxiv,
    synthesize_week,
)

UTC = dt.timezone.utc
CATS = ("cs.SD", "eess.AS")
D22 = dt.date(2026, 1, 22)
AFTER_22 = dt.datetime(2026, 1, 22, 6, 0, tzinfo=UTC)  # after the announcement and the RSS regeneration


def read(shared_data: Path, rel: str) -> bytes:
    path = shared_data / rel
    if not path.is_file():
        pytest.skip(f"missing test file {path}")
    return path.read_bytes()


def mailing(shared_data: Path) -> dict:
    return json.loads(read(shared_data, SHARED_MAILING))


# ------------------------------------------------------------------------------------------ parsers


def test_parse_rss_real_feed(shared_data):
    feed = parse_rss(read(shared_data, "arxiv/rss/cs.AI-2025-08-20.xml"))
    assert feed.mailing_date == dt.date(2025, 8, 20)
    assert feed.updated == dt.datetime(2025, 8, 20, 4, 0, 19, 866337, tzinfo=UTC)
    assert len(feed.items) == 7
    assert [i.announce_type for i in feed.items] == [AnnounceType.CROSS] * 5 + [AnnounceType.NEW] * 2
    first = feed.items[0]
    assert (first.arxiv_id, first.version) == ("2508.13426", 1)
    assert first.title.startswith("ALIGN: Word Association Learning")
    assert first.categories == ("cs.CL", "cs.AI")
    assert first.authors == ("Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang")
    assert first.abstract.startswith("As large language models (LLMs) increasingly")
    assert "Announce Type" not in first.abstract and "arXiv:" not in first.abstract[:10]
    short = feed.items[4]  # "Announce Type: cross" with no trailing space before the newline
    assert short.abstract == "Spectral graph embedding methods are widely used."
    assert feed.items[5].categories == ("cs.AI", "cs.LG")


def test_parse_rss_empty_and_broken():
    empty = parse_rss(rss_feed("cs.SD+eess.AS", None, []).encode())
    assert empty.mailing_date is None and empty.items == []
    with pytest.raises(SourceError, match="malformed"):
        parse_rss(b"<feed><entry>broken")
    with pytest.raises(SourceError):
        parse_rss(b"this is not a feed")


def test_parse_api_current_format_page(shared_data):
    page = parse_api_feed(read(shared_data, "arxiv/api/search-testing-page1-100-entries.xml"))
    assert page.total_results == 214881 and page.items_per_page == 100 and page.start_index == 0
    assert len(page.papers) == 100
    first = page.papers[0]
    assert (first.arxiv_id, first.version) == ("2202.12139", 1)
    assert first.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref.startswith("Artificial Intelligence in Software Testing")
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.published == dt.datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert any(p.version > 1 for p in page.papers)
    assert any(p.doi for p in page.papers[1:]) and any(p.journal_ref for p in page.papers[1:])
    for paper in page.papers:
        assert paper.primary_category and paper.categories[0] == paper.primary_category
        assert len(set(paper.categories)) == len(paper.categories)
        for text in (paper.title, paper.abstract):
            assert "\n" not in text and "  " not in text and text == text.strip()
        if paper.version > 1:
            assert paper.updated > paper.published


def test_parse_api_legacy_format(shared_data):
    page = parse_api_feed(read(shared_data, "arxiv/api/id_list-legacy-format-2020.xml"))
    assert page.total_results == 1
    (paper,) = page.papers
    assert (paper.arxiv_id, paper.version) == ("1601.00001", 1)
    assert paper.title == "Inelastic effects in molecular transport junctions: The probe technique at high bias"
    assert paper.abstract.startswith("We extend the Landauer-B")
    assert paper.categories == ("cond-mat.mes-hall",)
    assert paper.doi == "10.1063/1.4944470"
    assert paper.journal_ref == "J. Chem. Phys. 144, 124107 (2016)"
    assert paper.published == dt.datetime(2015, 12, 26, 21, 19, 45, tzinfo=UTC)


def test_parse_api_legacy_search(shared_data):
    page = parse_api_feed(read(shared_data, "arxiv/api/search-legacy-format-2025-10.xml"))
    assert page.total_results == 5619 and len(page.papers) == 2
    first = page.papers[0]
    assert first.arxiv_id == "2510.14968"
    assert first.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG", "cs.SY", "eess.SY")
    assert first.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in "
                           "Long-Horizon Tasks")
    assert first.comment == ("39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
                             "Project Website: rdd-neurips.github.io")
    assert page.papers[1].categories == ("cs.RO",)


def test_parse_api_old_style_id(shared_data):
    (paper,) = parse_api_feed(read(shared_data, "arxiv/api/id_list-old-style-id-with-journal-ref.xml")).papers
    assert (paper.arxiv_id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.versioned_id == "astro-ph/0601001v1"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.comment.startswith("62 pages including 16 figures")
    assert paper.categories == ("astro-ph",)
    assert len(paper.authors) == 4
    assert "V_max<17.5" in paper.abstract  # &lt; decoded, not stripped


def test_parse_api_one_of_two_and_empty(shared_data):
    page = parse_api_feed(read(shared_data, "arxiv/api/id_list-one-of-two-found.xml"))
    assert page.total_results == 1 and [p.arxiv_id for p in page.papers] == ["1707.08567"]
    assert len(page.papers[0].authors) == 34
    empty = parse_api_feed(read(shared_data, "arxiv/api/id_list-nonexistent-empty.xml"))
    assert empty.total_results == 0 and empty.papers == []


def test_parse_api_error_feed_and_garbage(shared_data):
    with pytest.raises(SourceError, match="incorrect id format for abc"):
        parse_api_feed(read(shared_data, "arxiv/api/id_list-bad-id-http400.xml"))
    with pytest.raises(SourceError, match="malformed XML") as info:
        parse_api_feed(b"<feed><entry>oops")
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)
    with pytest.raises(SourceError, match="not an Atom feed"):
        parse_api_feed(b"<html><body>Service Unavailable</body></html>")


def test_split_id():
    assert split_id("2601.15240v2") == ("2601.15240", 2)
    assert split_id("arXiv:2601.15240") == ("2601.15240", None)
    assert split_id("math/0601001v1") == ("math/0601001", 1)
    assert split_id("math.AG/0601001") == ("math.AG/0601001", None)
    with pytest.raises(UsageError):
        split_id("abc")


def test_parse_retry_after():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = dt.datetime(2026, 1, 22, 2, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 22 Jan 2026 02:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 22 Jan 2026 01:00:00 GMT", now=now) == 0.0


# ----------------------------------------------------------------------------------- MockTransport


def settings(**overrides) -> ArxivSettings:
    values = {"api_url": "https://export.test/api/query", "rss_url": "https://rss.test/atom",
              "api_delay_seconds": 0.0, "timeout_seconds": 2.0, "max_retries": 3, "page_size": 100}
    values.update(overrides)
    return ArxivSettings(**values)


def paper_dicts(n: int, *, version: int = 1) -> list[dict]:
    return [{"id": f"2601.{15000 + i}", "version": version, "title": f"Paper {i}", "abstract": f"Abstract {i}.",
             "authors": ["A. Author"], "categories": ["cs.SD"], "published": "2026-01-21T10:00:00Z",
             "updated": "2026-01-21T10:00:00Z"} for i in range(n)]


def ok_feed(papers: list[dict]) -> bytes:
    return api_feed(papers, total=len(papers), start=0, per_page=len(papers), query="q",
                    now=dt.datetime(2026, 1, 22, tzinfo=UTC)).encode()


class Recorder:
    """A MockTransport handler answering from a script of callables / (status, body, headers) tuples."""

    def __init__(self, *script):
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if callable(step):
            return step(request)
        status, body, headers = step if len(step) == 3 else (*step, {})
        return httpx.Response(status, content=body, headers=headers)


def source(handler, **kw) -> tuple[ArxivSource, list[float]]:
    waits: list[float] = []
    overrides = kw.pop("settings", {})
    src = ArxivSource(settings(**overrides), CATS, transport=httpx.MockTransport(handler), sleep=waits.append, **kw)
    return src, waits


def test_retries_5xx_then_succeeds_with_exponential_backoff():
    handler = Recorder((503, b"busy"), (502, b"bad"), (200, ok_feed(paper_dicts(1))))
    src, waits = source(handler, backoff_seconds=1.0)
    with src:
        result = src.fetch_metadata(["2601.15000"])
    assert list(result) == ["2601.15000"]
    assert waits == [1.0, 2.0]
    assert len(handler.requests) == 3


def test_retry_after_is_honoured():
    handler = Recorder((429, b"slow down", {"Retry-After": "7"}), (200, ok_feed(paper_dicts(1))))
    src, waits = source(handler, backoff_seconds=0.5)
    with src:
        src.fetch_metadata(["2601.15000"])
    assert waits == [7.0]


def test_a_very_long_retry_after_fails_at_once():
    handler = Recorder((503, b"maintenance", {"Retry-After": "3600"}))
    src, waits = source(handler)
    with src, pytest.raises(SourceError, match="retry after 3600 s"):
        src.fetch_metadata(["2601.15000"])
    assert waits == [] and len(handler.requests) == 1


def test_timeouts_are_retried_then_reported_cleanly():
    def timeout(request):
        raise httpx.ReadTimeout("timed out", request=request)

    handler = Recorder(timeout)
    src, waits = source(handler, settings={"max_retries": 2}, backoff_seconds=0.1)
    with src, pytest.raises(SourceError) as info:
        src.fetch_rss()
    assert len(handler.requests) == 3 and waits == [0.1, 0.2]
    message = str(info.value)
    assert "timed out" in message and "gave up after 3 attempts" in message
    assert "\n" not in message and "ReadTimeout(" not in message


def test_connection_errors_are_wrapped():
    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    src, _ = source(Recorder(refuse), settings={"max_retries": 1})
    with src, pytest.raises(SourceError, match=r"could not be reached \(ConnectError: \[Errno 111\] Connection refused\)"):
        src.fetch_rss()


def test_http_400_carries_arxivs_message(shared_data):
    body = read(shared_data, "arxiv/api/id_list-bad-id-http400.xml")
    src, _ = source(Recorder((400, body)))
    with src, pytest.raises(SourceError, match="HTTP 400: incorrect id format for abc"):
        src.fetch_metadata(["2601.15000"])


def test_rss_404_is_a_source_error():
    src, waits = source(Recorder((404, b"no such feed")))
    with src, pytest.raises(SourceError, match="RSS feed answered HTTP 404"):
        src.fetch_rss()
    assert waits == []


def test_empty_id_list_answer_is_retried_then_raised():
    handler = Recorder((200, ok_feed([])))
    src, waits = source(handler, settings={"max_retries": 2})
    with src, pytest.raises(EmptyAnswerError, match="no entries"):
        src.fetch_metadata(["2601.15000"])
    assert len(handler.requests) == 3


def test_metadata_batches_versions_and_headers():
    stored = {p["id"]: p for p in paper_dicts(5, version=2)}

    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["id_list"].split(",")
        found = []
        for raw in ids:
            base, _, version = raw.partition("v")
            paper = stored.get(base)
            if paper and (not version or int(version) <= paper["version"]):
                found.append({**paper, "version": int(version) if version else paper["version"]})
        return httpx.Response(200, content=ok_feed(found))

    handler = Recorder(answer)
    src, _ = source(handler, settings={"page_size": 2})
    with src:
        result = src.fetch_metadata(["2601.15000", "2601.15001v1", "arXiv:2601.15002", "2601.15003v2", "2601.15004"])
    assert {k: v.version for k, v in result.items()} == {
        "2601.15000": 2, "2601.15001v1": 1, "2601.15002": 2, "2601.15003v2": 2, "2601.15004": 2}
    assert [r.url.params["max_results"] for r in handler.requests] == ["2", "2", "1"]
    for request in handler.requests:
        assert request.headers["user-agent"].startswith("arxiv-digest/")
        assert request.extensions["timeout"]["read"] == 2.0
    with src, pytest.raises(UsageError):
        src.fetch_metadata(["not-an-id"])


def test_search_pages_and_filters_on_the_exact_cycle():
    start, end = calendar.submission_cycle(D22)
    inside = [{**p, "published": (start + dt.timedelta(minutes=10 * i)).isoformat(),
               "updated": (start + dt.timedelta(minutes=10 * i)).isoformat()} for i, p in enumerate(paper_dicts(5))]
    late = {**paper_dicts(6)[5], "published": (end + dt.timedelta(seconds=30)).isoformat(),
            "updated": (end + dt.timedelta(seconds=30)).isoformat()}  # same minute as the cutoff
    everything = inside + [late]

    def answer(request: httpx.Request) -> httpx.Response:
        offset, size = int(request.url.params["start"]), int(request.url.params["max_results"])
        page = everything[offset:offset + size]
        body = api_feed(page, total=len(everything), start=offset, per_page=size, query="q", now=AFTER_22)
        return httpx.Response(200, content=body.encode())

    handler = Recorder(answer)
    src, _ = source(handler, settings={"page_size": 2})
    with src:
        found = src.search_submitted(start, end)
    assert [p.arxiv_id for p in found] == [p["id"] for p in inside]
    assert len(handler.requests) == 3
    query = handler.requests[0].url.params["search_query"]
    assert query == "(cat:cs.SD OR cat:eess.AS) AND submittedDate:[202601201900 TO 202601211900]"
    assert handler.requests[0].url.params["sortBy"] == "submittedDate"


def test_empty_page_inside_results_is_retried():
    full = ok_feed(paper_dicts(2))
    gap = api_feed([], total=2, start=0, per_page=2, query="q", now=AFTER_22).encode()
    handler = Recorder((200, gap), (200, full))
    src, waits = source(handler)
    with src:
        found = src.search_submitted(*calendar.submission_cycle(D22), expect_results=True)
    assert len(found) == 2
    assert len(handler.requests) == 2 and len(waits) == 1


def test_fetch_announcement_guards_the_calendar():
    handler = Recorder((500, b"should not be called"))
    src, _ = source(handler)
    with src:
        with pytest.raises(UsageError, match="no arXiv mailing is dated 2026-01-20"):
            src.fetch_announcement(dt.date(2026, 1, 20), now=AFTER_22)
        with pytest.raises(NotYetAnnouncedError, match="not yet"):
            src.fetch_announcement(D22, now=dt.datetime(2026, 1, 22, 0, 30, tzinfo=UTC))
    assert handler.requests == []


def rss_of(shared_data: Path, mailing_date: str | None = None) -> bytes:
    (m,) = load_mailings([mailing(shared_data)])
    if mailing_date:
        m["mailing_date"] = mailing_date
    return rss_feed("cs.SD+eess.AS", m, m["papers"]).encode()


def test_rss_behind_right_after_the_announcement(shared_data):
    old_feed = rss_of(shared_data, "2026-01-21")
    just_after = dt.datetime(2026, 1, 22, 2, 0, tzinfo=UTC)  # 21:00 EST: announced, RSS not regenerated yet
    src, _ = source(Recorder((200, old_feed)))
    with src, pytest.raises(NotYetAnnouncedError, match="RSS feed still shows 2026-01-21"):
        src.fetch_announcement(D22, now=just_after)

    (m,) = load_mailings([mailing(shared_data)])
    fresh = [p for p in m["papers"] if p["version"] == 1]

    def answer(request):
        if "/atom/" in request.url.path:
            return httpx.Response(200, content=old_feed)
        return httpx.Response(200, content=ok_feed(fresh))

    src, _ = source(Recorder(answer), api_when_rss_behind=True)
    with src:
        announcement = src.fetch_announcement(D22, now=just_after)
    assert announcement.source == "api" and len(announcement.papers) == 25
    assert "cannot see replacements" in announcement.warnings[0]


def test_rss_route_keeps_rss_data_when_the_api_lags(shared_data):
    feed = rss_of(shared_data)

    def answer(request):
        if "/atom/" in request.url.path:
            return httpx.Response(200, content=feed)
        return httpx.Response(200, content=ok_feed([]))

    src, _ = source(Recorder(answer), settings={"max_retries": 1})
    with src:
        announcement = src.fetch_announcement(D22, now=AFTER_22)
    assert announcement.source == "rss" and len(announcement.papers) == 47
    assert announcement.papers[0].authors == ("Muntakimur Rahaman", "Md Mahmudul Hoque", "Md Mehedi Hassain")
    assert announcement.papers[0].published is None
    assert "metadata comes from the RSS feed only" in announcement.warnings[0]


def test_rate_limiter_spaces_requests_across_threads():
    limiter = RateLimiter(0.05)
    starts: list[float] = []

    def work():
        for _ in range(3):
            with limiter.slot():
                starts.append(time.monotonic())
                time.sleep(0.005)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 12
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.05



def test_rate_limiter_bursts_as_arxiv_allows():
    """The full-text default (arXiv's bulk-data guidance): bursts of 4 requests, then a 1 s sleep."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    settings = FulltextSettings()
    assert (settings.requests_per_second, settings.burst) == (4.0, 4)
    limiter = RateLimiter(settings.burst / settings.requests_per_second, burst=settings.burst,
                          clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(10):
        with limiter.slot():
            starts.append(now[0])
            now[0] += 0.01  # each request takes 10 ms
    assert sleeps == [1.0, 1.0]  # after request 4 and request 8, measured from the burst's last answer
    assert starts[4] - starts[3] == pytest.approx(1.01) and starts[1] - starts[0] == pytest.approx(0.01)
    # an idle second counts as the sleep: a fresh burst, no wait
    now[0] += 5.0
    with limiter.slot():
        pass
    assert sleeps == [1.0, 1.0]
    assert RateLimiter.per_second(0, burst=4).interval == 0.0  # 0 = no limit


def test_record_then_replay_with_mock_transport(tmp_path, shared_data):
    feed = rss_of(shared_data)
    (m,) = load_mailings([mailing(shared_data)])

    def answer(request):
        if "/atom/" in request.url.path:
            return httpx.Response(200, content=feed, headers={"content-type": "application/atom+xml"})
        return httpx.Response(200, content=ok_feed(m["papers"]), headers={"content-type": "application/atom+xml"})

    snap = tmp_path / "snap"
    src, _ = source(Recorder(answer), record_dir=snap)
    with src:
        recorded = src.fetch_announcement(D22, now=AFTER_22)
    index = json.loads((snap / "index.json").read_text())
    assert index["format"] == "arxiv-digest-snapshot/1"
    keys = sorted(index["entries"])
    assert keys[1] == "GET /atom/cs.SD+eess.AS" and keys[0].startswith("GET /api/query?id_list=2601.15083v1")
    for entry in index["entries"].values():
        assert (snap / entry["file"]).is_file() and entry["status"] == 200
        assert entry["file"].startswith(("api-", "rss-")) and entry["file"].endswith(".xml")
    # Replay against other hosts and no transport: nothing may touch the network.
    replay = ArxivSource(settings(api_url="http://nowhere.invalid/api/query", rss_url="http://nowhere.invalid/atom"),
                         CATS, replay_dir=snap)
    with replay:
        assert replay.fetch_announcement(D22, now=AFTER_22) == recorded
        with pytest.raises(SourceError, match="lacks the request GET /api/query"):
            replay.fetch_metadata(["2601.99999"])


def test_recording_keeps_a_success_over_a_later_failure(tmp_path):
    handler = Recorder((200, b"%PDF-1.4 ok", {"content-type": "application/pdf"}), (503, b"busy"))
    transport = make_transport(record_dir=tmp_path, inner=httpx.MockTransport(handler))
    with httpx.Client(transport=transport) as client:
        assert client.get("https://arxiv.test/pdf/2601.15240v1").status_code == 200
        assert client.get("https://arxiv.test/pdf/2601.15240v1").status_code == 503
    (entry,) = json.loads((tmp_path / "index.json").read_text())["entries"].values()
    assert entry["status"] == 200 and entry["file"].startswith("pdf-") and entry["file"].endswith(".pdf")
    with httpx.Client(transport=make_transport(replay_dir=tmp_path)) as client:
        response = client.get("http://127.0.0.1:1/pdf/2601.15240v1")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 ok"
    with pytest.raises(UsageError):
        make_transport(replay_dir=tmp_path, record_dir=tmp_path)
    with pytest.raises(SourceError, match="no snapshot"):
        make_transport(replay_dir=tmp_path / "absent")


def test_request_key_is_host_independent_and_sorted():
    a = httpx.Request("GET", "https://export.arxiv.org/api/query?start=0&id_list=1,2")
    b = httpx.Request("GET", "http://127.0.0.1:8080/api/query?id_list=1,2&start=0")
    assert request_key(a) == request_key(b) == "GET /api/query?id_list=1,2&start=0"


# ---------------------------------------------------------------------- the fake arXiv (a process)

integration = pytest.mark.integration


def api_gaps(fake) -> list[float]:
    times = [r["t"] for r in fake.log("api")]
    return [b - a for a, b in zip(times, times[1:])]


def connections(fake) -> set[str]:
    return {r["conn"] for r in fake.log() if r["route"] != "control"}


@integration
def test_fake_2026_01_22_via_rss_and_api(fake_arxiv, shared_data):
    data = mailing(shared_data)
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=0.2, page_size=20), CATS) as src:
        announcement = src.fetch_announcement(D22, now=AFTER_22)
    assert announcement.source == "rss" and announcement.warnings == ()
    expected_new = [(p["id"], p["announce_type"]) for p in data["papers"] if p["announce_type"] in ("new", "cross")]
    got_new = [(p.arxiv_id, p.announce_type.value) for p in announcement.new_papers]
    assert len(got_new) == 25 and got_new == expected_new
    assert len(announcement.replacements) == 22
    assert {(p.arxiv_id, p.versioned_id) for p in announcement.replacements} == {
        (p["id"], p["id"] + p["version"]) for p in data["papers"] if p["announce_type"].startswith("replace")}
    assert [p.listing_order for p in announcement.papers] == list(range(1, 48))
    by_id = {p["id"]: p for p in data["papers"]}
    start, end = calendar.submission_cycle(D22)
    for paper in announcement.papers:
        assert paper.title == " ".join(by_id[paper.arxiv_id]["title"].split())
        assert paper.categories == tuple(by_id[paper.arxiv_id]["categories"])
        assert paper.comment == by_id[paper.arxiv_id]["comment"]
        assert paper.published is not None  # merged from the API
        assert start <= paper.updated < end
    # Politeness, seen from the server: RSS + 3 id_list batches over ONE connection, spaced >= 0.2 s.
    assert len(fake_arxiv.log("rss")) == 1 and len(fake_arxiv.log("api")) == 3
    assert min(api_gaps(fake_arxiv)) >= 0.2
    assert len(connections(fake_arxiv)) == 1


@integration
def test_fake_real_three_second_delay(fake_arxiv, shared_data):
    ids = [p["id"] + p["version"] for p in mailing(shared_data)["papers"]]
    began = time.monotonic()
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=ArxivSettings().api_delay_seconds, page_size=20), CATS) as src:
        found = src.fetch_metadata(ids)  # 47 ids -> 3 requests
    assert len(found) == 47 and ArxivSettings().api_delay_seconds == 3.0
    gaps = api_gaps(fake_arxiv)
    assert len(gaps) == 2 and min(gaps) >= 3.0
    assert len(connections(fake_arxiv)) == 1
    assert time.monotonic() - began < 15


@integration
def test_fake_retry_after_429(fake_arxiv):
    fake_arxiv.faults({"api": [{"status": 429, "retry_after": 2}]})
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=0.05), CATS, backoff_seconds=0.05) as src:
        assert list(src.fetch_metadata(["2601.15240"])) == ["2601.15240"]
    statuses = [r["status"] for r in fake_arxiv.log("api")]
    assert statuses == [429, 200]
    assert api_gaps(fake_arxiv)[0] >= 2.0


@integration
def test_fake_stall_times_out_and_dropped_connection_is_retried(fake_arxiv):
    fake_arxiv.faults({"rss": [{"stall": 2}], "api": [{"close": True}, {"status": 503}]})
    with ArxivSource(fake_arxiv.settings(timeout_seconds=0.5, api_delay_seconds=0.05), CATS,
                     backoff_seconds=0.05) as src:
        feed = src.fetch_rss()
        assert feed.mailing_date == D22 and len(feed.items) == 47
        assert "2601.15240" in src.fetch_metadata(["2601.15240"])
    assert len(fake_arxiv.log("rss")) == 2
    assert [r["status"] for r in fake_arxiv.log("api")] == ["closed", 503, 200]


@integration
def test_fake_empty_answer_on_a_weekday(fake_arxiv):
    fake_arxiv.faults({"api": [{"empty": True}] * 3})
    with ArxivSource(fake_arxiv.settings(max_retries=2, api_delay_seconds=0.05), CATS,
                     backoff_seconds=0.05) as src:
        with pytest.raises(EmptyAnswerError, match="no entries after 3 attempts"):
            src.search_submitted(*calendar.submission_cycle(D22))
    assert len(fake_arxiv.log("api")) == 3
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=0.05), CATS) as src:  # the glitch is over
        assert len(src.search_submitted(*calendar.submission_cycle(D22))) == 25


@integration
def test_fake_malformed_xml(fake_arxiv):
    # A garbled answer is a glitch: asked again, and the day goes on.
    fake_arxiv.faults({"api": [{"body": "<feed><entry>oops"}], "rss": [{"body": "<feed><entry>"}]})
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=0.05), CATS) as src:
        assert list(src.fetch_metadata(["2601.15240"])) == ["2601.15240"]
        assert src.fetch_rss().items
    assert [r["status"] for r in fake_arxiv.log("api")] == [200, 200]
    # Garbled every time: one SourceError once the retries are spent.
    fake_arxiv.faults({"api": [{"body": "<feed><entry>oops"}] * 2, "rss": [{"body": "<feed><entry>"}] * 2})
    with ArxivSource(fake_arxiv.settings(api_delay_seconds=0.05, max_retries=1), CATS) as src:
        with pytest.raises(SourceError, match=r"arXiv API returned malformed XML .*gave up after 2 attempts"):
            src.fetch_metadata(["2601.15240"])
        with pytest.raises(SourceError, match=r"RSS feed is malformed XML .*gave up after 2 attempts"):
            src.fetch_rss()


@integration
def test_fake_week_past_days_use_the_api(shared_data, tmp_path):
    week = synthesize_week(mailing(shared_data), "2026-01-16", "2026-01-23")
    assert [m["mailing_date"] for m in week] == ["2026-01-16", "2026-01-19", "2026-01-21", "2026-01-22", "2026-01-23"]
    after_week = dt.datetime(2026, 1, 23, 6, 0, tzinfo=UTC)
    with start_fake_arxiv(week, now=after_week, workdir=tmp_path) as fake:
        with ArxivSource(fake.settings(api_delay_seconds=0.05), CATS) as src:
            latest = src.fetch_announcement(dt.date(2026, 1, 23), now=after_week)
            past = src.fetch_announcement(dt.date(2026, 1, 21), now=after_week)
            base_day = src.fetch_announcement(D22, now=after_week)
            with pytest.raises(UsageError, match="holiday"):
                src.fetch_announcement(dt.date(2026, 1, 20), now=after_week)
    assert latest.source == "rss" and len(latest.papers) == 47
    wednesday = {p["id"]: p for p in week[2]["papers"] if p["announce_type"] in ("new", "cross")}
    assert past.source == "api" and past.warnings == ()
    assert {p.arxiv_id: p.announce_type.value for p in past.papers} == {
        i: p["announce_type"] for i, p in wednesday.items()}
    assert all(p.arxiv_id.startswith("2601.921") for p in past.papers)
    assert base_day.source == "api" and len(base_day.papers) == 25  # replacements are invisible to the API route
    assert [p.listing_order for p in past.papers] == list(range(1, 26))


@integration
def test_fake_record_then_replay_with_the_server_stopped(shared_data, tmp_path):
    snap = tmp_path / "snapshot"
    fake = start_fake_arxiv([shared_data / SHARED_MAILING], workdir=tmp_path / "fake")
    try:
        settings_used = fake.settings(api_delay_seconds=0.05, page_size=30)
        with ArxivSource(settings_used, CATS, record_dir=snap) as src:
            recorded = src.fetch_announcement(D22, now=AFTER_22)
    finally:
        fake.stop()
    assert fake.process.poll() is not None
    with ArxivSource(settings_used, CATS, replay_dir=snap) as src:
        replayed = src.fetch_announcement(D22, now=AFTER_22)
    assert replayed == recorded and len(replayed.papers) == 47
    assert len(json.loads((snap / "index.json").read_text())["entries"]) == 3  # rss + 2 batches


@integration
def test_fake_serves_files_with_per_id_faults(shared_data, tmp_path):
    pdfs = shared_data / "pdf"
    if not (pdfs / "2501.10120v1.pdf").is_file():
        pytest.skip("shared PDFs missing")
    with start_fake_arxiv([shared_data / SHARED_MAILING], files=pdfs, workdir=tmp_path) as fake:
        fake.faults({"pdf:2501.10120v1": [{"status": 404}]})
        with httpx.Client(base_url=fake.files_url) as client:
            assert client.get("/pdf/2501.10120v1").status_code == 404
            response = client.get("/pdf/2501.10120v1")
            assert response.status_code == 200 and response.content.startswith(b"%PDF")
            assert client.get("/pdf/2601.15240v1").status_code == 404  # no file, no factory
            assert client.get("/html/2601.15240v1").status_code == 404


@integration
def test_fake_pdf_factory(shared_data, tmp_path):
    pytest.importorskip("fpdf")
    with start_fake_arxiv([shared_data / SHARED_MAILING], pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                          workdir=tmp_path) as fake:
        with httpx.Client(base_url=fake.files_url) as client:
            response = client.get("/pdf/2601.15240v1")
            assert response.status_code == 200 and response.content.startswith(b"%PDF")
            assert response.headers["content-type"] == "application/pdf"
            assert client.get("/pdf/2601.15240").content == response.content  # unversioned -> latest
            assert client.get("/pdf/2601.15240v9").status_code == 404
