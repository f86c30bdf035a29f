"""Issue 6, "safe and recoverable": ``digest run`` killed at any moment resumes without losing a paper or
paying twice, two runs of one output folder never overlap, and every fault of arXiv, the PDF files and the
LLM ends as a clear status on the paper it hit (or, when fatal by design, as one line and exit 1).

Every test here runs ``digest run`` as a separate process, as a scheduler does, against the loopback fakes
(``tests/fakes``). The harness (:class:`Day`, :func:`day_factory`) is shared with ``test_security.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psutil
import pytest
import yaml

from digestlib.post import render
from digestlib.post.labels import ZH
from tests.conftest import find_shared_data
from tests.postparse import parse_post
from digestlib.tasks import neutralize_tags
from tests.fakes.fake_arxiv import FakeArxivProcess, prepare_mailing, sample_pdf, start_fake_arxiv
from tests.fakes.fake_openai import FakeOpenAI, start_fake_openai

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = "2026-01-22"
NOW = "2026-01-22T02:00:00+00:00"  # one hour after the announcement (Wed 20:00 EST)
KEY = "sk-canary-resilience-4e8b2d0c7a1f9350"  # recognisable: searched for in everything a run writes
POST = f"{DATE}-arxiv-daily.md"
BIB = f"{DATE}.bib"
MAILING = (find_shared_data() or Path("/nonexistent")) / "arxiv" / "mailings" / f"{DATE}-cs.SD+eess.AS.json"
CONCURRENCY = 8
TRANSLATION_MARK = "【译】测试译文"  # how the fake OpenAI's translations start


# ------------------------------------------------------------------------------------------ the harness


def write_params(path: Path, *, arxiv: dict | None = None, fulltext: dict | None = None, llm: dict | None = None,
                 **top: object) -> Path:
    """A parameter file with the test's small delays; sections merge over those defaults."""
    data = {
        "categories": ["cs.SD", "eess.AS"],
        "glossary_file": str(ROOT / "parameters" / "glossary.yaml"),
        "arxiv": {"api_delay_seconds": 0.05, **(arxiv or {})},
        "fulltext": {"requests_per_second": 50, **(fulltext or {})},
        "llm": {"model": "fake-model", "concurrency": CONCURRENCY, **(llm or {})},
        **top,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Day:
    """One fake arXiv (serving ``mailing``, PDFs drawn by ``sample_pdf``) and one fake OpenAI server."""

    arxiv: FakeArxivProcess
    llm: FakeOpenAI
    tmp: Path
    mailing: dict
    params: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def new_papers(self) -> list[dict]:
        """The papers a post shows, in its order (id descending)."""
        papers = [p for p in self.mailing["papers"] if p["announce_type"] in ("new", "cross")]
        return sorted(papers, key=lambda p: p["id"], reverse=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
        env.update(self.arxiv.env())
        env.update(OPENAI_BASE_URL=self.llm.url, OPENAI_API_KEY=KEY, DIGEST_NOW=NOW)
        env.update(extra)
        return env

    def cmd(self, out: Path, *args: str, params: Path | None = None) -> list[str]:
        return [DIGEST, "run", "--date", DATE, "--params", str(params or self.params), "--out", str(out), *args]

    def run(self, out: Path, *args: str, params: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd(out, *args, params=params), env=env or self.env(), capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT)

    def spawn(self, out: Path, *args: str, params: Path | None = None) -> subprocess.Popen:
        """``digest run`` in its own session (process group), so that a test can kill it as a scheduler would."""
        proc = subprocess.Popen(self.cmd(out, *args, params=params), env=self.env(), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(proc)
        return proc


@pytest.fixture
def day_factory(tmp_path: Path) -> Iterator[Callable[..., Day]]:
    """``make(mailing=None, files=None, delay=0.0, api_key=KEY)`` -> a running :class:`Day`."""
    started: list[Day] = []

    def make(mailing: dict | None = None, *, files: Path | None = None, delay: float = 0.0,
             api_key: str | None = KEY, name: str = "day") -> Day:
        if mailing is None:
            if not MAILING.is_file():
                pytest.skip(f"{MAILING} not found")
            mailing = json.loads(MAILING.read_text(encoding="utf-8"))
        folder = tmp_path / name
        folder.mkdir()
        arxiv = start_fake_arxiv([mailing], now=NOW, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                                 files=files, workdir=folder / "fake-arxiv")
        try:
            llm = start_fake_openai(delay=delay, api_key=api_key)
        except Exception:
            arxiv.stop()
            raise
        day = Day(arxiv, llm, folder, prepare_mailing(mailing), write_params(folder / "params.yaml"))
        started.append(day)
        return day

    yield make
    for day in started:
        for proc in day.procs:
            if proc.poll() is None:
                kill_tree(proc)
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        day.arxiv.stop()
        day.llm.stop()


def kill_tree(proc: subprocess.Popen, *, whole_tree: bool = True) -> list[psutil.Process]:
    """SIGKILL ``digest`` and its process group; with ``whole_tree`` also every descendant.

    papermill's kernel is *not* in the group: jupyter_client starts it in a session of its own. Killing the
    group alone is what a scheduler's timeout does; the orphaned kernel then notices (ipykernel's parent
    poller, once a second) and exits by itself. ``whole_tree`` is a power cut: everything dies at once.
    Returns the descendants found just before the kill.
    """
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kids = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if whole_tree:
        for kid in kids:
            try:
                kid.kill()
            except psutil.NoSuchProcess:
                pass
    proc.wait(timeout=30)
    return kids


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    """Poll ``condition`` every 20 ms while ``proc`` runs (the moment to kill it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def query(out: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the store from outside, as a second process would (empty when the table is not there yet)."""
    path = out / "digest.sqlite"
    if not path.is_file():
        return []
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def integrity(out: Path) -> str:
    db = sqlite3.connect(out / "digest.sqlite", timeout=30)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def done_results(out: Path) -> set[tuple[str, str]]:
    """(arxiv id, task) of every result stored as done."""
    return {(i, t) for i, t in query(out, "SELECT arxiv_id, task FROM results WHERE status='done'")}


def leftovers(out: Path) -> list[Path]:
    """Staging folders and temporary files that a finished run must not leave behind."""
    return sorted(p for p in out.rglob("*")
                  if p.name.startswith(f".{DATE}-") or p.suffix in (".part", ".tmp") or p.name.endswith("-journal"))


def post_of(out: Path):
    return parse_post((out / DATE / POST).read_text(encoding="utf-8"))


def paper_of_request(day: Day) -> Callable[[dict], tuple[str, str]]:
    """Map a fake OpenAI log entry to (arxiv id, task) through the title in the prompt."""
    by_title = {neutralize_tags(p["title"]): p["id"] for p in day.mailing["papers"]}

    def key(entry: dict) -> tuple[str, str]:
        match = re.search(r"<title>(.*?)</title>", entry["first_user"], re.S)
        assert match and match.group(1) in by_title, entry["first_user"][:300]
        return by_title[match.group(1)], entry["kind"]

    return key


def assert_all_done(day: Day, out: Path) -> None:
    """All the day's papers in the post, in order, each translated and interpreted."""
    parsed = post_of(out)
    assert [p.arxiv_id for p in parsed.papers] == [p["id"] for p in day.new_papers]
    assert parsed.shown_count == parsed.fetched_count == len(day.new_papers)
    for paper in parsed.papers:
        assert paper.abstract_zh.startswith(TRANSLATION_MARK), (paper.arxiv_id, paper.abstract_zh[:200])
        assert paper.details_md.startswith("1)  \n"), (paper.arxiv_id, paper.details_md[:200])


# ---------------------------------------------------------------------------------------- kill and resume


def _announcement_stored(out: Path) -> Callable[[], bool]:
    return lambda: bool(query(out, "SELECT 1 FROM announcements WHERE mailing_date=?", (DATE,)))


def _count_results(out: Path) -> int:
    return (query(out, "SELECT COUNT(*) FROM results") or [(0,)])[0][0]


def _more_results(out: Path, more: int) -> Callable[[], bool]:
    """``more`` results stored by this run (the orphaned kernel of an earlier kill may have stored some)."""
    base = _count_results(out)
    return lambda: _count_results(out) >= base + more


def _exporting(out: Path) -> Callable[[], bool]:
    """papermill has finished (its last save records end_time): nbconvert is writing the post and report."""
    def check() -> bool:
        for notebook in out.glob(f".{DATE}-*/digest.ipynb"):
            try:
                if json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["papermill"].get("end_time"):
                    return True
            except (OSError, ValueError, KeyError):
                pass  # being written
        return False
    return check


@pytest.mark.integration
def test_killed_runs_resume_without_loss_or_repeated_calls(day_factory, tmp_path: Path) -> None:
    day = day_factory(delay=0.3)  # 0.3 s per LLM answer: time to kill mid-stage
    key = paper_of_request(day)

    # The reference: one uninterrupted run in its own output folder.
    reference = tmp_path / "reference"
    done = day.run(reference, "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    uninterrupted = day.llm.calls()
    assert uninterrupted == 2 * len(day.new_papers)  # one translation and one interpretation per paper

    out = tmp_path / "out"
    kills = [
        # (moment, condition, whole tree?) -- the first kill is a scheduler's: the process group only.
        ("after the fetch", lambda: _announcement_stored(out), False),
        ("during the LLM stage", lambda: _more_results(out, 10), True),
        ("during the export", lambda: _exporting(out), True),
    ]
    before, stored_before, in_flight = uninterrupted, set(), []
    for moment, make_condition, whole_tree in kills:
        condition = make_condition()  # measured before the run starts
        proc = day.spawn(out, "--quiet")
        wait_until(condition, proc, moment)
        kids = kill_tree(proc, whole_tree=whole_tree)
        # Nothing outlives the kill for long: an orphaned kernel (and its PDF workers) stops by itself.
        _, alive = psutil.wait_procs(kids, timeout=10)
        for orphan in alive:
            orphan.kill()
        assert not alive, f"still running {moment}: {[p.pid for p in alive]}"
        assert integrity(out) == "ok", moment
        assert not (out / DATE).exists() or sorted(f.name for f in (out / DATE).iterdir()) == sorted(
            ["digest.ipynb", "report.html", POST, BIB]), "the day's files appear together or not at all"

        segment = day.llm.log()[before:]
        stored = done_results(out)
        # A result already stored before this run started is never asked for again (the LLM cache answers).
        repeated = [key(e) for e in segment if key(e) in stored_before]
        assert not repeated, f"{moment}: paid again for stored results {repeated}"
        # What was asked but is not stored now was in flight at the kill: at most one call per LLM thread.
        lost = [key(e) for e in segment if key(e) not in stored]
        assert len(lost) <= CONCURRENCY, f"{moment}: {len(lost)} calls lost"
        in_flight.append(len(lost))
        before, stored_before = before + len(segment), stored
        if moment == "after the fetch":
            fetches = len(day.arxiv.log("rss")) + len(day.arxiv.log("api"))

    final = day.run(out, "--quiet")
    assert final.returncode == 0, final.stderr[-3000:]
    # The announcement stored before the first kill was never fetched again.
    assert len(day.arxiv.log("rss")) + len(day.arxiv.log("api")) == fetches

    tail = day.llm.log()[before:]
    assert not [key(e) for e in tail if key(e) in stored_before], "paid again for stored results"
    # Every LLM call of the killed-and-resumed runs: the uninterrupted count, plus the calls that were in
    # flight when a kill came (their answers never reached the store, so they are asked again) -- at most
    # one per LLM thread per kill.
    resumed = day.llm.calls() - uninterrupted
    assert uninterrupted <= resumed <= uninterrupted + sum(in_flight), (resumed, in_flight)
    assert resumed <= uninterrupted + CONCURRENCY * len(kills)

    # No paper lost, the very same post, nothing left behind, a sound store.
    assert_all_done(day, out)
    assert (out / DATE / POST).read_bytes() == (reference / DATE / POST).read_bytes()
    assert sorted(f.name for f in (out / DATE).iterdir()) == sorted(["digest.ipynb", "report.html", POST, BIB,
                                                                  "run-outcome.json"])  # issue 24: the summary kept
    umask = os.umask(0o022)
    os.umask(umask)
    assert (out / DATE).stat().st_mode & 0o777 == 0o777 & ~umask, "an ordinary folder, not the staging's 0700"
    assert leftovers(out) == []
    assert integrity(out) == "ok"
    assert query(out, "SELECT COUNT(*) FROM ledger") == [(len(day.new_papers),)]


# ----------------------------------------------------------------------------------------- two runs at once


@pytest.mark.integration
def test_second_run_of_the_same_out_refuses_or_waits(day_factory, tmp_path: Path) -> None:
    day = day_factory(delay=0.2)
    out = tmp_path / "out"
    first = day.spawn(out, "--quiet")
    wait_until(lambda: any(out.glob(f".{DATE}-*")), first, "the first run holds the lock")  # staging: under the lock

    refused = day.run(out, "--quiet", timeout=60)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr == (f"digest: error: another digest run is using {out.resolve()}; "
                              "try again when it has finished\n")
    assert refused.stdout == ""
    assert len(list(out.glob(f".{DATE}-*"))) == 1, "the refused run wrote nothing"

    waiting = day.spawn(out, "--quiet", "--wait", "300")  # queues behind the first, then resumes from the store
    assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    assert waiting.wait(timeout=300) == 0, waiting.stderr.read()[-3000:]
    assert_all_done(day, out)
    assert day.llm.calls() == 2 * len(day.new_papers), "the second run found every answer in the store"
    assert integrity(out) == "ok"
    assert leftovers(out) == []


# ------------------------------------------------------------------------------------------ fault injection


def _title_match(paper: dict) -> str:
    """A substring found only in the prompts of this paper (both tasks)."""
    return f"<title>{neutralize_tags(paper['title'])}</title>"


def _clean_status_text(text: str) -> None:
    """A status shown to readers: never an exception string or a URL."""
    for word in ("Traceback", "Error", "Exception", "http"):
        assert word not in text, (word, text)


def _entries(out: Path) -> dict:
    return {p.arxiv_id: p for p in post_of(out).papers}


@pytest.mark.integration
def test_arxiv_faults_are_retried_and_the_day_completes(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    params = write_params(tmp_path / "arxiv-faults.yaml", arxiv={"timeout_seconds": 1, "max_retries": 4})
    day.arxiv.faults({
        "rss": [{"status": 503, "retry_after": 1}, {"stall": 3}],  # then a stalled connection: timeout, retry
        "api": [{"status": 429, "retry_after": 1}, {"empty": True},
                {"body": "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry><id>"}],
    })
    out = tmp_path / "out"
    done = day.run(out, "--quiet", params=params)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert_all_done(day, out)
    rss, api = day.arxiv.log("rss"), day.arxiv.log("api")
    assert len(rss) == 3 and rss[0]["status"] == 503 and rss[-1]["status"] == 200
    assert len(api) == 4 and api[0]["status"] == 429 and api[-1]["status"] == 200
    assert rss[1]["t"] - rss[0]["t"] >= 1.0 and api[1]["t"] - api[0]["t"] >= 1.0, "Retry-After honoured"
    assert rss[2]["t"] - rss[1]["t"] >= 1.0, "the stalled request was given up after timeout_seconds"
    assert leftovers(out) == [] and integrity(out) == "ok"


@pytest.mark.integration
def test_arxiv_failing_after_retries_is_one_line_and_writes_no_day(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    params = write_params(tmp_path / "fatal.yaml", arxiv={"max_retries": 1})
    out = tmp_path / "out"
    day.arxiv.faults({"rss": [{"status": 503, "retry_after": 1}] * 2})
    failed = day.run(out, params=params)  # with progress output: the error is still the one last line
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == ("digest: error: the arXiv RSS feed answered HTTP 503 "
                                              "(gave up after 2 attempts)"), failed.stderr
    assert "Traceback" not in failed.stderr and failed.stdout == ""
    day.arxiv.faults({"api": [{"body": "<feed><entry>"}] * 2})  # the feed comes, the API garbles twice
    failed = day.run(out, "--quiet", params=params)
    assert failed.returncode == 1
    assert re.fullmatch(r"digest: error: the arXiv API returned malformed XML \(.*\) \(gave up after 2 attempts\)\n",
                        failed.stderr), failed.stderr
    assert not (out / DATE).exists()
    assert leftovers(out) == [] and integrity(out) == "ok"
    assert query(out, "SELECT COUNT(*) FROM announcements") == [(0,)]


def _pdf_files(folder: Path, truncated: dict, corrupt: dict, oversized: dict) -> None:
    folder.mkdir()
    pdf = sample_pdf(truncated)
    (folder / f"{truncated['id']}v1.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / f"{corrupt['id']}v1.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    (folder / f"{oversized['id']}v1.pdf").write_bytes(b"%PDF-1.4\n" + b"%" + b"x" * 200_000 + b"\n%%EOF\n")


@pytest.mark.integration
def test_pdf_faults_end_as_a_status_and_the_next_run_fills_in(day_factory, tmp_path: Path) -> None:
    mailing = json.loads(MAILING.read_text(encoding="utf-8")) if MAILING.is_file() else pytest.skip("no mailing")
    papers = sorted([p for p in prepare_mailing(mailing)["papers"] if p["announce_type"] in ("new", "cross")],
                    key=lambda p: p["id"], reverse=True)
    truncated, corrupt, oversized, missing, broken, slow = papers[:6]
    files = tmp_path / "files"
    _pdf_files(files, truncated, corrupt, oversized)
    day = day_factory(mailing, files=files)
    params = write_params(tmp_path / "pdf.yaml", fulltext={"max_pdf_mb": 0.05, "max_retries": 1})
    day.arxiv.faults({
        f"pdf:{missing['id']}v1": [{"status": 404}],  # not out yet (its HTML neither): pending, retried later
        f"pdf:{broken['id']}v1": [{"status": 500}] * 2,  # arXiv failing: pending too
        f"pdf:{slow['id']}v1": [{"status": 503, "retry_after": 1}],  # once: retried at once
    })
    out = tmp_path / "out"
    done = day.run(out, "--quiet", params=params)
    assert done.returncode == 0, done.stderr[-3000:]
    entries = _entries(out)
    assert len(entries) == 25
    for paper in (corrupt, oversized):  # unreadable: interpreted from the abstract, labelled
        entry = entries[paper["id"]]
        assert entry.details_md.startswith(ZH.abstract_only + "\n\n1)  \n"), entry.details_md[:200]
    for paper in (missing, broken, truncated):  # not there (yet), or cut short in transfer: asked again later
        assert entries[paper["id"]].details_md == render.pending_note("fulltext")
    affected = (truncated, corrupt, oversized, missing, broken)
    for paper in affected:
        assert entries[paper["id"]].abstract_zh.startswith(TRANSLATION_MARK)
        _clean_status_text(entries[paper["id"]].details_md)
    for arxiv_id, entry in entries.items():
        if arxiv_id not in {p["id"] for p in affected}:
            assert entry.details_md.startswith("1)  \n") and entry.abstract_zh.startswith(TRANSLATION_MARK)
    report = (out / DATE / "report.html").read_text(encoding="utf-8")
    assert "3 interpretation(s) pending" in report and "Traceback" not in report

    # The next run fetches the PDFs that were not there and fills in their interpretations.
    again = day.run(out, "--quiet", params=params)
    assert again.returncode == 0, again.stderr[-3000:]
    entries = _entries(out)
    for paper in (missing, broken):
        assert entries[paper["id"]].details_md.startswith("1)  \n")
    assert len(entries) == 25 and leftovers(out) == [] and integrity(out) == "ok"


@pytest.mark.integration
def test_llm_faults_end_as_a_status_and_the_next_run_fills_in(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    params = write_params(tmp_path / "llm.yaml", llm={"max_retries": 2, "timeout_seconds": 1.5})
    p = day.new_papers
    recovered = {  # transient: retried within the run
        p[0]["id"]: [{"match": "translate", "status": 429, "headers": {"Retry-After": "1"}}],
        p[1]["id"]: [{"match": "interpret", "status": 500}],
        p[2]["id"]: [{"match": "translate", "hang": 4}],  # stalled past timeout_seconds
        p[3]["id"]: [{"match": "interpret", "malformed": True}],
        p[4]["id"]: [{"match": "interpret", "truncated": True}],
        p[5]["id"]: [{"match": "interpret", "bad_body": True}],
    }
    translation_failed = {  # persistent: the paper shows its English abstract, labelled
        p[6]["id"]: [{"match": "translate", "english": True}] * 2,  # wrong language, and again after the repair
        p[7]["id"]: [{"match": "translate", "finish_reason": "content_filter"}],  # refusal
        p[8]["id"]: [{"match": "translate", "status": 500}] * 3,  # 500 until the retries are spent
        p[9]["id"]: [{"match": "translate", "truncated": True}] * 3,  # cut at the token limit, every try
    }
    interpretation_failed = {  # persistent: a clean note in the 详细解读 block
        p[10]["id"]: [{"match": "interpret", "english": True}] * 2,
        p[11]["id"]: [{"match": "interpret", "refusal": True}] * 6,
        p[12]["id"]: [{"match": "interpret", "finish_reason": "content_filter"}],
    }
    by_id = {paper["id"]: paper for paper in p}
    for faults in (recovered, translation_failed, interpretation_failed):
        for arxiv_id, queue in faults.items():
            day.llm.control(*[{**f, "match_text": _title_match(by_id[arxiv_id])} for f in queue])
    out = tmp_path / "out"
    done = day.run(out, "--quiet", params=params)
    assert done.returncode == 3, done.stderr[-3000:]  # the day is written, and some tasks failed
    assert "7 failed" in done.stdout and "Summary: " in done.stdout, done.stdout[-2000:]
    entries = _entries(out)
    assert list(entries) == [paper["id"] for paper in p]
    failed = set(translation_failed) | set(interpretation_failed)
    for arxiv_id, entry in entries.items():
        if arxiv_id in translation_failed:
            label, english = entry.abstract_zh.split("\n", 1)
            cause = "provider" if arxiv_id == p[8]["id"] else "validation"  # the label names the real cause
            assert label == ZH.translation_failed[cause] and english, entry.abstract_zh[:200]
        else:
            assert entry.abstract_zh.startswith(TRANSLATION_MARK), (arxiv_id, entry.abstract_zh[:200])
        if arxiv_id in interpretation_failed:
            assert entry.details_md.startswith("（详细解读生成失败"), entry.details_md
        else:
            assert entry.details_md.startswith("1)  \n"), (arxiv_id, entry.details_md[:200])
        if arxiv_id in failed:
            _clean_status_text(entry.details_md)
            _clean_status_text(entry.abstract_zh.split("\n", 1)[0])
    assert day.llm.control()["queued"] == 0, "every fault was met"

    # With the endpoint behaving again, the next run asks only for what failed, and fills it in.
    day.llm.reset(api_key=KEY)
    again = day.run(out, "--quiet", params=params)
    assert again.returncode == 0, again.stderr[-3000:]
    assert_all_done(day, out)
    key = paper_of_request(day)
    assert {key(e) for e in day.llm.log()} == ({(i, "translate") for i in translation_failed}
                                             | {(i, "interpret") for i in interpretation_failed})
    assert leftovers(out) == [] and integrity(out) == "ok"
