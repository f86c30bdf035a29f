"""`digest run` end to end, as a user runs it: a separate process executing the notebook through papermill,
against a loopback fake arXiv (RSS, API, PDFs) and a loopback OpenAI-compatible server, both separate
processes. Checks the post, the report, the executed notebook, the store, the key, and a real Jekyll build.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from tests.postparse import parse_post, published_form
from digestlib.base.models import ReviewStatus
from digestlib.store.store import Store
from tests.fakes.fake_arxiv import FakeArxivProcess, start_fake_arxiv
from tests.fakes.fake_openai import FakeOpenAI, start_fake_openai
from tests.jekyll_site import build_site, jekyll_binary
from tests.test_jekyll_build import check_paper_structure, content

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
KEY = "sk-canary-e2e-7f3a9c1d5b2e8f40a6c3"  # recognisable, searched for in every file a run writes
DATE = "2026-01-22"
NOW = "2026-01-22T02:00:00+00:00"  # one hour after the announcement (Wed 20:00 EST)


@dataclass
class World:
    arxiv: FakeArxivProcess
    llm: FakeOpenAI
    params: Path
    out: Path
    mailing: dict

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
        env.update(self.arxiv.env())
        env.update(OPENAI_BASE_URL=self.llm.url, OPENAI_API_KEY=KEY, DIGEST_NOW=NOW, **extra)
        return env

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        cmd = [DIGEST, "run", "--date", DATE, "--params", str(self.params), "--out", str(self.out), *args]
        return subprocess.run(cmd, env=self.env(**extra), capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.fixture
def world(shared_data: Path, tmp_path: Path) -> Iterator[World]:
    mailing_path = shared_data / "arxiv" / "mailings" / f"{DATE}-cs.SD+eess.AS.json"
    if not mailing_path.is_file():
        pytest.skip(f"{mailing_path} not found")
    params = tmp_path / "params.yaml"
    params.write_text(
        "categories: [cs.SD, eess.AS]\n"
        "glossary_file: " + str(ROOT / "parameters" / "glossary.yaml") + "\n"
        "arxiv: {api_delay_seconds: 0.05}\n"
        "fulltext: {requests_per_second: 50}\n"
        "llm: {model: fake-model, concurrency: 8, prices: {fake-model: {prompt: 1.0, completion: 2.0}}}\n",
        encoding="utf-8",
    )
    arxiv = start_fake_arxiv([mailing_path], now=NOW, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                             workdir=tmp_path / "fake-arxiv")
    llm = start_fake_openai(api_key=KEY)
    try:
        yield World(arxiv, llm, params, tmp_path / "out", json.loads(mailing_path.read_text(encoding="utf-8")))
    finally:
        arxiv.stop()
        llm.stop()


def _files_written(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file()]


def test_digest_run_end_to_end(world: World, tmp_path: Path) -> None:
    done = world.run()
    assert done.returncode == 0, done.stderr[-3000:]
    day = world.out / DATE
    post_path, report_path, notebook_path = day / f"{DATE}-arxiv-daily.md", day / "report.html", day / "digest.ipynb"
    assert post_path.is_file() and report_path.is_file() and notebook_path.is_file()

    # The post: all 25 new and cross-listed papers, by id descending, no replacement.
    post = post_path.read_text(encoding="utf-8")
    parsed = parse_post(post)
    expected = sorted((p["id"] for p in world.mailing["papers"] if p["announce_type"] in ("new", "cross")),
                      reverse=True)
    shown = [p.versioned_id.rsplit("v", 1)[0] for p in parsed.papers]
    assert shown == expected and len(shown) == 25
    assert parsed.fetched_count == 25 and parsed.shown_count == 25
    assert "- 时间窗口（锚点 10:00 CST）：2026-01-21 10:00 — 2026-01-22 10:00" in post
    # The Chinese text is the OpenAI-compatible server's, for abstracts and interpretations.
    assert all(p.abstract_zh.startswith("【译】测试译文") for p in parsed.papers)
    assert all(p.details_md.startswith("1)  \n") and "\n\n3)  \n" in p.details_md for p in parsed.papers)
    assert "Error" not in post and "Traceback" not in post
    # A draft until `digest publish` (issue 11): one front-matter line, Jekyll would not build it.
    assert parsed.draft and f"published: false  # a draft, not reviewed: `digest publish --date {DATE}`" in post

    # The report: tables and the post, no code, no progress bars.
    report = report_path.read_text(encoding="utf-8")
    assert "2601.15240" in report and "测试译文" in report
    assert "pipeline.run_day" not in report and "build_config" not in report and "it/s]" not in report

    # The executed notebook: papermill's parameters are recorded, with no secret.
    nb = nbformat.read(notebook_path, as_version=4)
    assert nb.metadata.papermill.parameters["date"] == DATE
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)

    # The store: every paper done, calls accounted for.
    with Store(world.out / "digest.sqlite") as store:
        assert sum(r["calls"] - r["cached_calls"] for r in store.usage_rows()) == world.llm.calls() >= 50
        usage = store.usage_rows(DATE)
        assert {r["task"] for r in usage} == {"translate", "interpret"}

    # The key appears in no file the run wrote.
    for path in _files_written(world.out):
        assert KEY.encode() not in path.read_bytes(), f"the API key leaked into {path}"

    # A second run resumes from the store: same post, not one more LLM call.
    calls, executed_at = world.llm.calls(), notebook_path.stat().st_mtime_ns
    again = world.run()
    assert again.returncode == 0, again.stderr[-3000:]
    assert post_path.read_text(encoding="utf-8") == post
    assert world.llm.calls() == calls
    # A finished day whose files were written from this very state is not executed again (issue 15).
    assert "Up to date:" in again.stdout and "Wrote " not in again.stdout, again.stdout
    assert notebook_path.stat().st_mtime_ns == executed_at, "the notebook was not executed again"

    # A reviewer's decision changes the state: the next run writes the files again, without that paper.
    rejected = parsed.papers[0]
    with Store(world.out / "digest.sqlite") as store:
        store.set_review(dt.date.fromisoformat(DATE), rejected.arxiv_id, rejected.version, ReviewStatus.REJECTED)
    third = world.run()
    assert third.returncode == 0 and "Wrote " in third.stdout, third.stdout + third.stderr[-3000:]
    assert rejected.arxiv_id not in post_path.read_text(encoding="utf-8") and world.llm.calls() == calls

    # The post as published builds with real Jekyll: no warning, each paper an <h2> followed by its <details>.
    if jekyll_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("jekyll is not installed (make test installs it with apt-get)")
        return
    built = build_site({post_path.name: published_form(post)}, tmp_path / "jekyll")
    assert built.returncode == 0 and built.problems == [], built.log
    papers = check_paper_structure(content(built, post_path.name), 25, updates=False)
    # kramdown's typography turns "--" into an en dash, as it does for the seed.
    assert [h.text() for h in papers] == [p.title.replace("--", "–") for p in parsed.papers]


def test_no_announcement_day_writes_nothing(world: World) -> None:
    done = subprocess.run([DIGEST, "run", "--date", "2026-01-24", "--params", str(world.params), "--out",
                           str(world.out)], env=world.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "No arXiv announcement is dated 2026-01-24" in done.stdout
    assert not (world.out / "2026-01-24").exists()


def test_announcement_not_out_yet_is_exit_75(world: World) -> None:
    done = subprocess.run([DIGEST, "run", "--date", "2026-01-23", "--params", str(world.params), "--out",
                           str(world.out)], env=world.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 75, done.stderr
    assert done.stderr.count("\n") == 1 and "not out yet" in done.stderr and "2026-01-22 20:00" in done.stderr


def test_unreachable_endpoint_is_one_line_and_writes_no_post(world: World) -> None:
    env = world.env(ARXIV_RSS_URL="http://127.0.0.1:9/atom", ARXIV_API_URL="http://127.0.0.1:9/api/query")
    params = world.params.with_name("fast.yaml")
    params.write_text(world.params.read_text().replace("api_delay_seconds: 0.05", "api_delay_seconds: 0.05, max_retries: 1"))
    base = [DIGEST, "run", "--date", DATE, "--params", str(params), "--out", str(world.out)]
    quiet = subprocess.run([*base, "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 1
    assert quiet.stderr.startswith("digest: error: the arXiv RSS feed could not be reached")
    assert quiet.stderr.count("\n") == 1, quiet.stderr
    loud = subprocess.run(base, env=env, capture_output=True, text=True, timeout=300)
    assert loud.returncode == 1  # with progress on the terminal, the error is still the one last line
    assert loud.stderr.splitlines()[-1].startswith("digest: error:") and "Traceback" not in loud.stderr
    assert not (world.out / DATE).exists()
    assert not [p for p in world.out.iterdir() if p.name.startswith(f".{DATE}")], "no staging folder left behind"
