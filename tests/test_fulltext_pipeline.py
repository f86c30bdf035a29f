"""Full text that arrives late, through the pipeline (issue 5).

* ``test_late_full_text_through_digest_run``: five ``digest run`` processes (papermill, offline LLM mode)
  against the loopback fake arXiv, on a clock moved by ``DIGEST_NOW``: a 404 that turns into a PDF two
  runs later, the HTML fallback, a paper filled in by the retry queue of *another* date's run, and the
  abstract-only interpretation once ``fulltext.abstract_only_after_hours`` has passed.
* in-process ``run_day``: a stalled download is pending (retried by the next run), not failed for good.
* ``run_day`` with a stub fetcher: downloads stay sequential in the one download thread while PDFs
  are extracted concurrently in other threads.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from digestlib.day import pipeline
from digestlib.base.config import build_config
from digestlib.fulltext import DETAIL, DownloadResult
from digestlib.base.models import FullText, ResultStatus, TextStatus
from digestlib.post.labels import ZH
from digestlib.post.render import pending_note
from digestlib.app.demo import sample_papers, sample_sections
from digestlib.store.store import Store
from tests.fakes.fake_arxiv import start_fake_arxiv
from tests.day_run import run_day_digest
from tests.postparse import parse_post

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DAY1, DAY2 = "2026-01-21", "2026-01-22"
T0 = dt.datetime(2026, 1, 22, 2, 0, tzinfo=dt.timezone.utc)  # one hour after DAY2's announcement

# The sample papers (rich text in PDF and HTML) as the two announcements.
A = "2602.03117"  # PDF 404 on runs 1 and 2, then there
B = "2602.03342"  # PDF 404 always; arXiv's HTML rendering is there
C = "2602.04388"  # nothing ever: abstract only once an hour has passed
D = "2602.03568"  # PDF 404 on runs 1-3; the retry queue of DAY2's run fetches it
E = "2602.04021"  # PDF there at once (two pages, with a running head)
F = "2602.03905"  # DAY2's paper
FOREVER = [{"status": 404}] * 20


def _paper_dict(paper, announce_type: str = "new") -> dict:
    return {"id": paper.arxiv_id, "version": "v1", "announce_type": announce_type, "title": paper.title,
            "authors": list(paper.authors), "categories": list(paper.categories), "comment": None,
            "abstract": paper.abstract}


def _mailings() -> list[dict]:
    papers = {p.arxiv_id: p for p in sample_papers()}
    cats = ["cs.SD", "eess.AS"]
    return [{"mailing_date": DAY1, "categories": cats, "papers": [_paper_dict(papers[i]) for i in (A, B, C, D, E)]},
            {"mailing_date": DAY2, "categories": cats, "papers": [_paper_dict(papers[F], "cross")]}]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(extra)
    return env


def _post(out: Path, date: str):
    return parse_post((out / date / f"{date}-arxiv-daily.md").read_text(encoding="utf-8"))


def _details(post) -> dict[str, str]:
    return {p.arxiv_id: p.details_md for p in post.papers}


def _pdf_requests(fake, arxiv_id: str) -> int:
    return sum(1 for r in fake.log("pdf") if r["path"] == f"/pdf/{arxiv_id}v1")


@pytest.mark.integration
def test_late_full_text_through_digest_run(tmp_path: Path) -> None:
    fake = start_fake_arxiv(_mailings(), now=T0, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                            html_factory="tests.fakes.fake_arxiv:sample_html", workdir=tmp_path / "fake")
    try:
        fake.faults({f"pdf:{A}v1": [{"status": 404}] * 2, f"html:{A}v1": FOREVER,
                     f"pdf:{B}v1": FOREVER,
                     f"pdf:{C}v1": FOREVER, f"html:{C}v1": FOREVER,
                     f"pdf:{D}v1": [{"status": 404}] * 3, f"html:{D}v1": FOREVER})
        params = tmp_path / "params.yaml"
        params.write_text("categories: [cs.SD, eess.AS]\n"
                          "arxiv: {api_delay_seconds: 0.05}\n"
                          "fulltext: {requests_per_second: 50, abstract_only_after_hours: 1}\n", encoding="utf-8")
        out = tmp_path / "out"

        def run(date: str, minutes: int) -> str:
            now = (T0 + dt.timedelta(minutes=minutes)).isoformat()
            done = subprocess.run([DIGEST, "run", "--date", date, "--params", str(params), "--out", str(out), "--quiet",
                                   "--offline"],
                                  env=_clean_env(**fake.env(), DIGEST_NOW=now), capture_output=True, text=True,
                                  timeout=300, cwd=ROOT)
            assert done.returncode == 0, done.stderr[-3000:]
            return done.stdout

        pending = pending_note("fulltext")
        assert "全文尚未发布" in pending

        # Runs 1 and 2: A, C, D are not there yet: a clean pending note; the rest of the day is complete.
        run(DAY1, 0)
        stdout = run(DAY1, 10)
        # The terminal (a scheduler's log) hears about the pending papers too, not only the report.
        assert "Note: 3 interpretation(s) pending (full text not there yet); run the date again later" in stdout
        post = _post(out, DAY1)
        details = _details(post)
        assert [p.arxiv_id for p in post.papers] == [C, E, D, B, A]
        for paper_id in (A, C, D):
            assert details[paper_id] == pending
        for paper_id in (B, E):
            assert details[paper_id].startswith(ZH.extractive) and ZH.abstract_only not in details[paper_id]
        shown = "\n".join(details.values())
        for leak in ("404", "Error", "Traceback", "http", "HTTP", "arXiv 返回"):
            assert leak not in shown
        # E's running head (its title, on page 2) is not in the middle of a sentence any more
        e_title = next(p.title for p in post.papers if p.arxiv_id == E)
        assert e_title not in details[E]
        with Store(out / "digest.sqlite") as store:
            assert sorted(i for i, _ in store.pending_fulltexts()) == sorted([A, C, D])
            assert store.get_fulltext(A, 1).attempts == 2
            # B was read from arXiv's HTML rendering: its interpretation quotes the paper's own sections
            b_text = store.get_fulltext(B, 1).fulltext
            assert (b_text.status, b_text.source) == (TextStatus.OK, "html")
            b_result = store.get_result(B, 1, "interpret")
            assert b_result.content["fulltext_status"] == "ok" and b_result.content["source"] == "fulltext"
        b_sections = " ".join(" ".join(sample_sections(B)[k].split()) for k in ("method", "experiments", "conclusion"))
        b_abstract = next(p for p in sample_papers() if p.arxiv_id == B).abstract
        quoted = [line[2:] for line in details[B].splitlines() if line.startswith("- ")]
        assert any(q in b_sections and q not in b_abstract for q in quoted), quoted
        assert fake.log("html") and sum(1 for r in fake.log("html") if r["path"] == f"/html/{B}v1") == 1

        # Run 3: A's PDF is there: its interpretation is filled in and the post refreshed.
        run(DAY1, 20)
        details = _details(_post(out, DAY1))
        assert details[A].startswith(ZH.extractive) and ZH.abstract_only not in details[A]
        assert details[C] == pending and details[D] == pending
        with Store(out / "digest.sqlite") as store:
            assert sorted(i for i, _ in store.pending_fulltexts()) == sorted([C, D])
            assert store.get_fulltext(A, 1).fulltext.source == "pdf"

        # Run 4, of ANOTHER date: its retry queue fetches D (and tries C again, still within the hour).
        day1_post = (out / DAY1 / f"{DAY1}-arxiv-daily.md").read_text(encoding="utf-8")
        run(DAY2, 30)
        assert [p.arxiv_id for p in _post(out, DAY2).papers] == [F]
        assert (out / DAY1 / f"{DAY1}-arxiv-daily.md").read_text(encoding="utf-8") == day1_post
        with Store(out / "digest.sqlite") as store:
            assert [i for i, _ in store.pending_fulltexts()] == [C]
            assert store.get_fulltext(D, 1).fulltext.status is TextStatus.OK
            assert store.get_result(D, 1, "interpret").status is ResultStatus.OFFLINE
        d_downloads = _pdf_requests(fake, D)
        assert d_downloads == 4

        # Run 5, DAY1 two hours on: D is in the post without a new download; C waited long enough for an
        # interpretation from the abstract alone, labelled.
        run(DAY1, 120)
        details = _details(_post(out, DAY1))
        assert details[D].startswith(ZH.extractive) and ZH.abstract_only not in details[D]
        assert _pdf_requests(fake, D) == d_downloads
        assert ZH.abstract_only in details[C] and "全文尚未发布" not in details[C]
        assert all(pending not in d for d in details.values())
        with Store(out / "digest.sqlite") as store:
            assert store.pending_fulltexts() == []
            c_text = store.get_fulltext(C, 1)
            assert c_text.fulltext.status is TextStatus.ABSTRACT_ONLY and c_text.attempts >= 5
            assert store.get_result(C, 1, "interpret").content["source"] == "abstract"
        assert _pdf_requests(fake, A) == 3 and _pdf_requests(fake, E) == 1  # cached texts are never fetched again
    finally:
        fake.stop()


# ------------------------------------------------------------------------------------------- in process

def _config(tmp_path: Path, fake=None, date: str = DAY1, **fulltext):
    env = dict(fake.env()) if fake is not None else {}
    params = {"categories": ["cs.SD", "eess.AS"], "arxiv": {"api_delay_seconds": 0.05},
              "fulltext": {"requests_per_second": 50, **fulltext}}
    return build_config(date=date, out_dir=tmp_path / "out", params=params, env=env)


@pytest.fixture
def offline(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "DIGEST_")):
            monkeypatch.delenv(name)


@pytest.mark.integration
def test_stalled_download_is_retried_by_the_next_run(tmp_path: Path, monkeypatch, offline) -> None:
    mailings = _mailings()
    mailings[0]["papers"] = [p for p in mailings[0]["papers"] if p["id"] in (A, E)]
    fake = start_fake_arxiv(mailings, now=T0, pdf_factory="tests.fakes.fake_arxiv:sample_pdf", workdir=tmp_path / "fake")
    try:
        # a stall far past a deadline that a loaded machine cannot miss for E's quick answer (was 3 s vs 1 s)
        fake.faults({f"pdf:{A}v1": [{"stall": 60}]})
        monkeypatch.setenv("DIGEST_NOW", T0.isoformat())
        cfg = _config(tmp_path, fake, download_timeout_seconds=8, max_retries=0, abstract_only_after_hours=1)
        entries = {e.paper.arxiv_id: e for e in run_day_digest(cfg)[1].entries}
        assert entries[A].interpretation_status is ResultStatus.PENDING
        assert entries[A].details_md == pending_note("fulltext")
        assert entries[E].interpretation_status is ResultStatus.OFFLINE
        with Store(cfg.store_path) as store:
            record = store.get_fulltext(A, 1)
            assert record.fulltext.status is TextStatus.PENDING
            assert record.fulltext.detail == DETAIL["download_timeout"].format(seconds=8)
            assert [i for i, _ in store.pending_fulltexts()] == [A]
        monkeypatch.setenv("DIGEST_NOW", (T0 + dt.timedelta(minutes=5)).isoformat())
        entries = {e.paper.arxiv_id: e for e in run_day_digest(cfg)[1].entries}
        assert entries[A].interpretation_status is ResultStatus.OFFLINE
        assert ZH.abstract_only not in entries[A].details_md
        with Store(cfg.store_path) as store:
            assert store.get_fulltext(A, 1).fulltext.source == "pdf" and store.pending_fulltexts() == []
    finally:
        fake.stop()


class _StubFetcher:
    """Stands in for ``FulltextFetcher``: 0.1 s per download, 0.4 s per PDF extraction, all recorded."""

    events: list[tuple[str, str, str, float, float]] = []
    lock = threading.Lock()

    def __init__(self, *args, **kwargs) -> None:
        self.pool = type("Pool", (), {"workers": 2})()

    def __enter__(self) -> "_StubFetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _record(self, kind: str, paper_id: str, seconds: float) -> None:
        start = time.monotonic()
        time.sleep(seconds)
        with self.lock:
            self.events.append((kind, paper_id, threading.current_thread().name, start, time.monotonic()))

    def download(self, paper) -> DownloadResult:
        self._record("download", paper.arxiv_id, 0.1)
        return DownloadResult(paper.arxiv_id, paper.version, "pdf", path=Path(f"/nonexistent/{paper.versioned_id}.pdf"))

    def complete(self, paper, res, extracted=None) -> FullText:
        self._record("extract", paper.arxiv_id, 0.4)
        body = " ".join(sample_sections(paper.arxiv_id)["method"].split())
        return FullText(paper.arxiv_id, paper.version, TextStatus.OK, source="pdf", title=paper.title,
                        sections={"abstract": paper.abstract, "method": body})


def test_the_run_overlaps_extraction_with_the_next_downloads(tmp_path: Path, monkeypatch, offline) -> None:
    monkeypatch.setattr(pipeline, "FulltextFetcher", _StubFetcher)
    _StubFetcher.events = []
    papers = sample_papers()[:6]  # six papers: the timing bound below is worked out for six
    cfg = _config(tmp_path, workers=2)
    with Store(cfg.store_path) as store:  # the day's announcement stored: the run fetches no feed
        store.save_announcement(cfg.date, papers, "rss")
    pipeline.run_day(cfg)
    events = list(_StubFetcher.events)
    with Store(cfg.store_path) as store:
        for paper in papers:  # every text stored, every interpretation made from it
            assert store.get_fulltext(paper.arxiv_id, 1).fulltext.status is TextStatus.OK
            assert store.get_result(paper.arxiv_id, 1, "interpret").content["source"] == "fulltext"
    _StubFetcher.events = []
    pipeline.run_day(cfg)  # stored texts: no download, no extraction
    assert _StubFetcher.events == []

    # The overlap is read from when each stage ran (below), not from a wall-clock total that a loaded machine
    # stretches (serially 6 x (0.1 + 0.4) = 3.0 s; pipelined about 1.3 s).
    downloads = sorted((e for e in events if e[0] == "download"), key=lambda e: e[3])
    extracts = sorted((e for e in events if e[0] == "extract"), key=lambda e: e[3])
    # one connection: downloads in listing order (newest id first), all in the one download thread, never two at once
    assert [e[1] for e in downloads] == sorted((p.arxiv_id for p in papers), reverse=True)
    assert {e[2] for e in downloads} == {"download"}
    assert all(a[4] <= b[3] + 0.01 for a, b in zip(downloads, downloads[1:]))
    # extraction in other threads, overlapping the downloads, never more than the pool's two workers at once
    assert len(extracts) == len(papers) and all(e[2].startswith("extract") for e in extracts)
    assert any(x[3] < d[4] and d[3] < x[4] for x in extracts for d in downloads)
    edges = sorted([(e[3], 1) for e in extracts] + [(e[4], -1) for e in extracts])
    running = [sum(step for _, step in edges[: i + 1]) for i in range(len(edges))]
    assert max(running) == 2


# ------------------------------------------------------------------------------------------- PDF engines

@pytest.mark.integration
def test_the_engine_that_read_each_pdf_is_stored_and_counted(tmp_path: Path, monkeypatch, offline) -> None:
    """``fulltext.pdf_engine``: the store records which engine read each full text, the report counts them,
    and a full text already stored is never read again, whatever the engine asked for on a later run."""
    from digestlib.post import report

    mailings = _mailings()
    mailings[0]["papers"] = [p for p in mailings[0]["papers"] if p["id"] in (A, E)]
    fake = start_fake_arxiv(mailings, now=T0, pdf_factory="tests.fakes.fake_arxiv:sample_pdf", workdir=tmp_path / "fake")
    try:
        monkeypatch.setenv("DIGEST_NOW", T0.isoformat())
        cfg = _config(tmp_path, fake)
        assert cfg.fulltext.pdf_engine == "auto"
        pipeline.run_day(cfg)
        with Store(cfg.store_path) as store:
            assert {i: store.get_fulltext(i, 1).fulltext.engine for i in (A, E)} == {A: "pdfium", E: "pdfium"}
            papers = [store.get_paper(i, 1) for i in (A, E)]
            assert report.pdf_engine_counts(store, papers) == {"pdfium": 2}
            # a fallback reading is told apart under auto
            text = store.get_fulltext(A, 1).fulltext
            store.save_fulltext(FullText(**{**text.__dict__, "engine": "pypdf"}))
            assert report.pdf_engine_counts(store, papers) == {"pdfium": 1, "pypdf (fallback)": 1}
            assert report.pdf_engine_counts(store, papers, auto=False) == {"pdfium": 1, "pypdf": 1}
            numbers = {"summary": {"cost_usd": None, "cost_partial": False, "calls": 0, "cached_calls": 0, "failed_calls": 0,
                                   "prompt_tokens": 0, "completion_tokens": 0},
                       "announced": 2, "selected": 2, "shown": 2, "approved": 0, "rejected": 0, "pending": 2,
                       "failures": [], "seconds": {}, "pdf_engines": report.pdf_engine_counts(store, papers)}
            assert "<th scope='row'>PDFs read, per engine</th><td>pdfium 1, pypdf (fallback) 1</td>" in report.numbers_html(numbers)
        requests = len(fake.log("pdf"))
        cfg = _config(tmp_path, fake, pdf_engine="pypdf")
        pipeline.run_day(cfg)
        assert len(fake.log("pdf")) == requests
        with Store(cfg.store_path) as store:
            assert {i: store.get_fulltext(i, 1).fulltext.engine for i in (A, E)} == {A: "pypdf", E: "pdfium"}
    finally:
        fake.stop()


@pytest.mark.integration
def test_a_bad_pdf_engine_is_refused_before_anything_runs(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("categories: [cs.SD, eess.AS]\nfulltext: {pdf_engine: mupdf}\n", encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run([DIGEST, "run", "--date", DAY1, "--params", str(params), "--out", str(out)],
                          env=_clean_env(ARXIV_API_URL="http://127.0.0.1:9/api"), capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "fulltext.pdf_engine" in lines[0] and "mupdf" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not (out / "digest.sqlite").exists()
