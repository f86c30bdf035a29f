"""Issue 6, "safe": the API key never leaves the environment, bad input to any command is one clear line
that writes nothing, and text from papers or the model is inert in the post, the report and the executed
notebook. See SECURITY.md.

The ``digest run`` tests use the loopback harness of ``test_resilience.py``; the bad-input tests call
``digestlib.app.cli.main`` in-process (nothing there reaches the network or starts a kernel).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import mistune
import nbformat
import pytest

from digestlib.app import cli
from digestlib.base import errors
from digestlib.post import render
from tests.jekyll_site import SITE_TITLE, build_site, jekyll_binary, parse_html
from tests.test_jekyll_build import check_inert, check_paper_structure, content
from tests.postparse import published_form
from tests.test_resilience import (  # noqa: F401 - day_factory is a fixture
    DATE,
    KEY,
    MAILING,
    POST,
    day_factory,
    integrity,
    post_of,
    query,
)

# ------------------------------------------------------------------------------------------------ secrets


def _leaks(out: Path, *texts: str) -> list[str]:
    """Where the key shows up: files under ``out`` (store, WAL, caches, outputs) and the given texts."""
    found = [str(p) for p in out.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    return found + [f"output #{i}" for i, text in enumerate(texts) if KEY in text]


@pytest.mark.integration
def test_the_key_appears_nowhere_a_run_writes_or_prints(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    out = tmp_path / "out"
    done = day.run(out)  # not --quiet: the progress output is searched too
    assert done.returncode == 0, done.stderr[-3000:]
    assert _leaks(out, done.stdout, done.stderr) == []
    log = day.llm.log()
    assert log and all(e["auth_ok"] and not e["key_in_body"] for e in log), "the key travels in the header only"
    notebook = nbformat.read(out / DATE / "digest.ipynb", as_version=4)
    assert "OPENAI_API_KEY" not in json.dumps(notebook.metadata.papermill.parameters)


@pytest.mark.integration
def test_an_endpoint_echoing_the_key_in_its_401_leaks_nothing(day_factory, tmp_path: Path) -> None:
    """A gateway that answers 401 and repeats the key it was sent: the breaker stops calling at once, the run
    exits 69 with one line and writes no post, and nothing it stores or prints carries the key."""
    day = day_factory()
    day.llm.control(*[{"auth": True, "echo_key": True}] * 40)
    out = tmp_path / "out"
    done = day.run(out)
    assert done.returncode == errors.EXIT_UNAVAILABLE, done.stderr[-3000:]
    echoed = [e for e in day.llm.log() if e["status"] == 401]
    assert echoed and len(day.llm.log()) <= 2 * 8, "the breaker stopped the calls after the first burst in flight"
    assert _leaks(out, done.stdout, done.stderr) == []
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("digest: error:")]
    assert len(error_lines) == 1 and "401" in error_lines[0], done.stderr[-2000:]
    assert not (out / DATE / POST).exists(), "no post when the endpoint refused the key"
    assert integrity(out) == "ok"


# ---------------------------------------------------------------------------------------------- bad input


@pytest.fixture
def bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Files for the bad-input cases; the environment points nowhere (nothing may reach a network)."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "ARXIV_", "DIGEST_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DIGEST_NOW", "2026-01-22T02:00:00Z")
    monkeypatch.setenv("ARXIV_RSS_URL", "http://127.0.0.1:9/atom")
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    folder = tmp_path / "inputs"
    folder.mkdir()
    params = {
        "good": "categories: [cs.SD, eess.AS]\n",
        "wrong_type": "max_papers: ten\n",
        "negative": "llm: {concurrency: -1}\n",
        "string_number": "llm: {timeout_seconds: '30'}\n",
        "not_a_list": "categories: 5\n",
        "unknown_key": "categories: [cs.SD]\nmax_paper: 3\n",
        "unknown_nested": "llm: {modle: gpt-4o}\n",
        "section_not_mapping": "arxiv: fast\n",
        "bad_yaml": "categories: [cs.SD\nllm: {\n",
        "a_list": "- cs.SD\n- eess.AS\n",
        "unknown_category": "categories: [cs.SD, cs.XX]\n",
        "lowercase_category": "categories: [cs.sd]\n",
        "no_category": "categories: []\n",
        "bad_anchor": "window_anchor: '25:00'\n",
        "bad_zone": "window_timezone: Mars/Olympus_Mons\n",
        "no_glossary": "glossary_file: nowhere.yaml\n",
        "bad_url": "arxiv: {files_url: 'ftp://arxiv.org'}\n",
        "bad_prices": "llm: {prices: {gpt-4o: {prompt: cheap}}}\n",
        "not_utf8": None,
    }
    for name, text in params.items():
        path = folder / f"{name}.yaml"
        path.write_bytes(b"categories: [\xff\xfe]\n" if text is None else text.encode())
    (folder / "a_file").write_text("not a folder\n")
    (folder / "site").mkdir()
    (folder / "site" / "_config.yml").write_text("title: test\n", encoding="utf-8")
    (folder / "empty").mkdir()
    return folder


def _p(name: str) -> str:
    return f"{{inputs}}/{name}.yaml"


D = "2026-01-22"
BAD_INPUT = [
    # (argv with {inputs} and {out}, exit status, message pattern)
    ([], 2, r"the following arguments are required: command"),
    (["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
    (["run", "--out", "{out}"], 2, r"the following arguments are required: --date"),
    (["run", "--date", "2026-13-01", "--out", "{out}"], 2, r"invalid date '2026-13-01': expected YYYY-MM-DD"),
    (["run", "--date", "2026-02-30", "--out", "{out}"], 2, r"invalid date '2026-02-30'"),
    (["run", "--date", "22/01/2026", "--out", "{out}"], 2, r"invalid date '22/01/2026'"),
    (["run", "--date", "", "--out", "{out}"], 2, r"invalid date ''"),
    (["run", "--date", D, "--out", "{out}", "--colour"], 2, r"unrecognized arguments: --colour"),
    (["run", "--date", D, "--out", "{out}", "--wait", "soon"], 2, r"argument --wait: not a number of seconds"),
    (["run", "--date", D, "--out", "{out}", "--wait", "-5"], 2, r"argument --wait: must be 0 or more seconds"),
    (["run", "--date", D, "--out", "{inputs}/a_file"], 2, r"argument --out: not a folder: .*a_file"),
    (["run", "--date", D, "--out", "{out}", "--params", "{inputs}/missing.yaml"], 2,
     r"parameter file not found: .*missing\.yaml"),
    (["run", "--date", D, "--out", "{out}", "--params", "{inputs}"], 2, r"parameter file not found"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("wrong_type")], 2,
     r"parameter 'max_papers' must be a non-negative whole number, got 'ten'"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("negative")], 2,
     r"parameter 'llm.concurrency' must be a non-negative whole number, got -1"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("string_number")], 2,
     r"parameter 'llm.timeout_seconds' must be a non-negative number, got '30'"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("not_a_list")], 2,
     r"parameter 'categories' must be a list of strings"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("unknown_key")], 2, r"unknown key 'max_paper'"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("unknown_nested")], 2, r"unknown key llm\.modle"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("section_not_mapping")], 2,
     r"parameter 'arxiv' must be a mapping"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("bad_yaml")], 2, r"is not valid YAML \(line \d+\)"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("a_list")], 2, r"must be a mapping of keys to values"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("not_utf8")], 2, r"cannot read parameter file"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("unknown_category")], 2,
     r"unknown arXiv category 'cs\.XX'"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("lowercase_category")], 2,
     r"unknown arXiv category 'cs\.sd' \(did you mean cs\.SD\?\)"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("no_category")], 2, r"at least one arXiv category"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("bad_anchor")], 2, r"window_anchor must be HH:MM"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("bad_zone")], 2, r"unknown time zone 'Mars/Olympus_Mons'"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("no_glossary")], 2, r"glossary file not found"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("bad_url")], 2,
     r"arxiv\.files_url must be an http\(s\) URL"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("bad_prices")], 2,
     r"llm\.prices\.gpt-4o\.prompt must be a non-negative number"),
    (["run", "--date", D, "--out", "{out}", "--params", _p("good"), "--replay", "{inputs}/no-snapshot"], 2,
     r"snapshot folder not found: .*no-snapshot"),
    (["run", "--date", "2030-01-02", "--out", "{out}", "--params", _p("good")], 2,
     r"2030-01-02 is in the future"),
    (["backfill", "--from", "2026-01-23", "--to", "2026-01-20", "--out", "{out}", "--params", _p("good")], 2,
     r"--to 2026-01-20 is before --from 2026-01-23"),
    (["backfill", "--from", "2026-1-20", "--to", "2026-01-23", "--out", "{out}"], 2, r"invalid date '2026-1-20'"),
    (["backfill", "--from", "2026-01-20", "--out", "{out}"], 2, r"the following arguments are required: --to"),
    (["backfill", "--from", "2026-01-20", "--to", "2026-01-23", "--out", "{out}", "--params", _p("unknown_key")], 2,
     r"unknown key 'max_paper'"),
    (["snapshot", "--date", D, "--out", "{out}"], 2, r"the following arguments are required: dir"),
    (["snapshot", "--date", "tomorrow", "{out}/snap", "--out", "{out}"], 2, r"invalid date 'tomorrow'"),
    (["snapshot", "--date", D, "{inputs}/a_file", "--out", "{out}"], 2, r"argument dir: not a folder"),
    (["snapshot", "--date", D, "{out}/snap", "--out", "{out}", "--params", _p("negative")], 2,
     r"parameter 'llm.concurrency'"),
    (["snapshot", "--date", D, "{out}/snap", "--out", "{out}", "--replay", "x"], 2,
     r"unrecognized arguments: --replay"),
    (["publish", "--date", D, "--out", "{out}", "--params", _p("good")], 1,
     r"nothing is stored for 2026-01-22 in .*: run `digest run --date 2026-01-22` first"),  # --site is optional
    (["publish", "--date", D, "--site", "{inputs}/no-site", "--out", "{out}", "--params", _p("good")], 2,
     r"Jekyll site folder not found: .*no-site"),
    (["publish", "--date", D, "--site", "{inputs}/empty", "--out", "{out}", "--params", _p("good")], 2,
     r"is not a Jekyll site \(no _config.yml\): create one with `digest site init .*empty`"),
    (["publish", "--date", D, "--site", "{inputs}/site", "--out", "{out}", "--params", _p("good")], 1,
     r"nothing is stored for 2026-01-22 in .*: run `digest run --date 2026-01-22` first"),
    (["publish", "--date", "2026-01-32", "--site", "{inputs}/site", "--out", "{out}"], 2, r"invalid date"),
    (["review", "--date", D, "--out", "{out}", "--params", _p("good")], 1, r"nothing is stored for 2026-01-22"),
    (["review", "--date", "01-22", "--out", "{out}"], 2, r"invalid date '01-22'"),
    (["review", "--date", D, "--out", "{out}", "--params", _p("bad_zone")], 2, r"unknown time zone"),
    (["demo", "--out", "{inputs}/a_file"], 2, r"argument --out: not a folder"),
]


@pytest.mark.parametrize("argv,status,message", BAD_INPUT, ids=[" ".join(a[:3]) + f" #{i}"
                                                                for i, (a, _, _) in enumerate(BAD_INPUT)])
def test_bad_input_is_one_clear_line_and_writes_nothing(bad: Path, tmp_path: Path, capsys, argv, status,
                                                        message) -> None:
    out = tmp_path / "out"
    args = [a.format(inputs=bad, out=out) for a in argv]
    before = sorted(p.relative_to(bad) for p in bad.rglob("*"))
    assert cli.main(args) == status
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("digest: error: "), captured.err
    assert re.search(message, captured.err), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists(), f"wrote {sorted(out.rglob('*'))}"
    assert sorted(p.relative_to(bad) for p in bad.rglob("*")) == before


def test_a_bad_environment_is_one_clear_line(bad: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("OPENAI_BASE_URL", "api.example.com/v1")
    assert cli.main(["run", "--date", D, "--out", str(out), "--params", f"{bad}/good.yaml"]) == 2
    assert "llm.base_url must be an http(s) URL" in capsys.readouterr().err
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("DIGEST_NOW", "yesterday")
    assert cli.main(["run", "--date", D, "--out", str(out), "--params", f"{bad}/good.yaml"]) == 2
    assert capsys.readouterr().err == ("digest: error: DIGEST_NOW must be an ISO date-time such as "
                                       "2026-01-22T02:00:00Z, got 'yesterday'\n")
    assert not out.exists()


def test_error_messages_are_redacted(bad: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Whatever an error message repeats (here the user's own input) passes through ``errors.redact``."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out"
    assert cli.main(["run", "--date", KEY, "--out", str(out)]) == 2
    assert cli.main(["run", "--date", D, "--out", str(out), "--params", f"{bad}/{KEY}.yaml"]) == 2
    assert cli.main(["run", "--date", D, "--out", str(out), f"--{KEY}"]) == 2
    err = capsys.readouterr().err
    assert KEY not in err and err.count("***") == 3 and err.count("\n") == 3, err
    assert not out.exists()


def test_a_file_system_refusal_is_one_line(bad: Path, tmp_path: Path, capsys) -> None:
    """Not a usage error, but never a traceback: the OS's reason and the path."""
    target = bad / "a_file" / "snap"
    assert cli.main(["snapshot", "--date", D, str(target), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == f"digest: error: Not a directory: {target}\n"


# --------------------------------------------------------------------------------------- hostile paper text

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LIQUID = ("{{ site.title }}", "{% include x %}")


def _hostile_mailing() -> dict:
    """The shared mailing cut to six new papers whose metadata carries HTML, Liquid and Markdown payloads."""
    if not MAILING.is_file():
        pytest.skip(f"{MAILING} not found")
    mailing = json.loads(MAILING.read_text(encoding="utf-8"))
    papers = [p for p in mailing["papers"] if p["announce_type"] == "new"][:6]
    papers[0]["title"] = f"Speech {SCRIPT} Enhancement for {IMG} Hearing Aids"
    papers[0]["abstract"] = f"We reach 12.5 dB. {IMG} {SCRIPT} {LIQUID[0]} and {LIQUID[1]} stay text."
    papers[1]["title"] = f"{LIQUID[0]} and {LIQUID[1]}: Liquid in a Title"
    papers[1]["abstract"] = ("A model with 3.2% WER. </details></div><iframe src=javascript:alert(2)></iframe> "
                             "[click](javascript:alert(3)) {% raw %}{{ page.content }}{% endraw %} --- # Heading")
    papers[2]["authors"] = [SCRIPT, "{{ site.title }}", "*Bold* _Author_"]
    papers[3]["abstract"] = "A short abstract about sound that a hostile model answers with markup."
    mailing["papers"] = papers
    return mailing


# Markdown to HTML as a notebook front end does it: raw HTML passes through.
MARKDOWN = mistune.create_markdown(escape=False, plugins=["strikethrough", "table"])


def _active_html(html: str) -> list[str]:
    """Active content that did not come from nbconvert's own template: scripts or handlers from paper text."""
    found = []
    for node in parse_html(html).iter():
        text = node.text() if node.tag == "script" else ""
        if node.tag == "script" and ("alert(" in text or node.attrs.get("src") == "x"):
            found.append(f"<script>{text[:80]}")
        if node.tag in ("iframe", "object", "embed"):
            found.append(node.tag)
        for name, value in node.attrs.items():
            if name.lower().startswith("on") or "javascript:" in (value or "").lower():
                found.append(f"<{node.tag} {name}={value!r}>")
    return found


@pytest.mark.integration
def test_hostile_paper_and_model_text_stays_inert(day_factory, tmp_path: Path) -> None:
    day = day_factory(_hostile_mailing())
    papers = day.new_papers
    hostile_zh = "这是一段忠实而完整的中文译文，内容与原文一致。" * 8 + SCRIPT + IMG + "".join(LIQUID)
    day.llm.control({"match": "interpret", "injected": True, "match_text": "Liquid in a Title"},
                    {"match": "translate", "content": hostile_zh, "match_text": "hostile model"})
    out = tmp_path / "out"
    done = day.run(out, "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    assert day.llm.control()["queued"] == 0
    # The model's markup never reached the store: the translation lost it in cleaning, the injected
    # interpretation was rejected and asked again.
    hostile = next(p["id"] for p in papers if "hostile model" in p["abstract"])
    stored = {(i, t): json.loads(c) for i, t, c in query(out, "SELECT arxiv_id, task, content FROM results")}
    assert "<" not in stored[hostile, "translate"]["text"] and LIQUID[0] in stored[hostile, "translate"]["text"]
    liquid_title = next(p["id"] for p in papers if "Liquid in a Title" in p["title"])
    assert "HACKED" not in json.dumps(stored[liquid_title, "interpret"], ensure_ascii=False)

    # The post: every payload escaped, per field.
    post = (out / DATE / POST).read_text(encoding="utf-8")
    assert SCRIPT not in post and IMG not in post and "{{ site" not in post and "{%" not in post
    parsed = post_of(out)
    assert [p.arxiv_id for p in parsed.papers] == [p["id"] for p in papers]
    assert parsed.papers[[p["id"] for p in papers].index(papers[0]["id"])].title == papers[0]["title"]

    # The report and the executed notebook: no script, handler or frame from the papers or the model.
    report = (out / DATE / "report.html").read_text(encoding="utf-8")
    assert _active_html(report) == []
    assert "alert(1)" in report, "the payloads are shown as text, not dropped"
    notebook = nbformat.read(out / DATE / "digest.ipynb", as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                assert _active_html(data["text/html"]) == [], data["text/html"][:500]
            if "text/markdown" in data:  # Jupyter renders raw HTML inside Markdown as HTML
                assert _active_html(MARKDOWN(data["text/markdown"])) == [], data["text/markdown"][:500]

    # Real Jekyll: no Liquid error or warning, the payloads shown literally, nothing active.
    if jekyll_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("jekyll is not installed (make test installs it with apt-get)")
        pytest.skip("jekyll is not installed")
    built = build_site({POST: published_form(post)}, tmp_path / "jekyll")  # the run's post is a draft
    assert built.returncode == 0 and built.problems == [], built.log
    div = content(built, POST)
    check_inert(div)
    check_paper_structure(div, len(papers), updates=False)
    text = div.text()
    assert SCRIPT in text and IMG in text and "{{ site.title }}" in text and SITE_TITLE not in text


# =========================================================================================================
# Issue 12, the second security round: nothing leaks, nothing hostile gets through. One test (or more) per
# case of the issue, numbered as there; SECURITY.md's threat table points here.

import time  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import httpx  # noqa: E402

from digestlib import tasks  # noqa: E402
from digestlib.base.config import FulltextSettings, LLMSettings  # noqa: E402
from digestlib.base.errors import ConfigError, StoreError  # noqa: E402
from digestlib.fulltext import FulltextFetcher  # noqa: E402
from digestlib.llm import LLMClient, MemoryCache  # noqa: E402
from digestlib.base.models import DayDigest, Paper, PaperEntry, Window  # noqa: E402
from digestlib.store.store import Store  # noqa: E402
from tests.fakes.fake_openai import fake_translation  # noqa: E402
from tests.test_resilience import done_results, kill_tree, paper_of_request, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _mailing() -> dict:
    if not MAILING.is_file():
        pytest.skip(f"{MAILING} not found")
    return json.loads(MAILING.read_text(encoding="utf-8"))


def _new_sorted(mailing: dict) -> list[dict]:
    return sorted((p for p in mailing["papers"] if p["announce_type"] in ("new", "cross")),
                  key=lambda p: p["id"], reverse=True)


# -- 1. the key echoed by the model inside an otherwise normal answer ---------------------------------------


@pytest.mark.integration
def test_1_a_key_echoed_by_the_model_is_published_nowhere(day_factory, tmp_path: Path) -> None:
    mailing = _mailing()
    day = day_factory(mailing)
    first, second = day.new_papers[0], day.new_papers[1]
    echo = fake_translation(first["abstract"]) + f"（调试信息：{KEY}）"
    parts = {"background": f"- 该方向的既有方法存在明显不足，密钥为 {KEY}，仍需改进。",
             "method": "- 作者提出了一种新的声学建模方法，结构清晰，训练稳定。",
             "results": "- 在公开数据集上取得了优于基线的结果，验证了方法的有效性。"}
    day.llm.control({"match": "translate", "match_text": first["title"][:40], "content": echo},
                    {"match": "interpret", "match_text": second["title"][:40],
                     "content": json.dumps(parts, ensure_ascii=False)})
    out = tmp_path / "out"
    done = day.run(out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [e for e in day.llm.log() if e.get("fault")], "the echoing answers were served"
    assert _leaks(out, done.stdout, done.stderr) == []
    post = (out / DATE / POST).read_text(encoding="utf-8")
    assert "调试信息：***" in post, "the rest of the answer is kept, the key replaced"


# -- 2 and 9. hostile feed entries: v0, a huge version, bidi / zero-width characters, a NUL byte -------------


def _hostile_entries(mailing: dict, kind: str) -> tuple[dict, dict[str, str]]:
    papers = _new_sorted(mailing)
    roles = ({"v0": papers[0]["id"], "huge": papers[1]["id"]} if kind == "versions"
             else {"bidi": papers[2]["id"], "nul": papers[3]["id"]})
    for paper in mailing["papers"]:
        if paper["id"] == roles.get("v0"):
            paper["version"] = "v0"
        elif paper["id"] == roles.get("huge"):
            paper["version"] = "v99999999999999999999"
        elif paper["id"] == roles.get("bidi"):
            paper["title"] = "Safe\u202e gnirts desrever\u202c title\u200b with\u2066 isolates\u2069 and\ufeff marks"
            paper["authors"] = ["Ali\u200dce Zero\u200bwidth"] + paper["authors"][1:]
        elif paper["id"] == roles.get("nul"):
            paper["title"] = "A title with a NUL\x00 byte"
            paper["abstract"] = "An abstract\x00 with a NUL byte. " + paper["abstract"]
    return mailing, roles


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["versions", "characters"])
def test_2_9_hostile_feed_entries_cost_one_entry_never_the_day(day_factory, tmp_path: Path, kind: str) -> None:
    """2: versions v0 and v99999999999999999999 (skipped with a note, the date not locked); 9: bidi,
    zero-width and NUL characters (removed; the entry kept, the day kept)."""
    mailing, roles = _hostile_entries(_mailing(), kind)
    day = day_factory(mailing)
    out = tmp_path / "out"
    for attempt in (1, 2):  # the date is never locked: a second run works the same way
        done = day.run(out)
        assert done.returncode == 0, (attempt, done.stderr[-3000:])
        papers = {p.arxiv_id: p for p in post_of(out).papers}
        if kind == "versions":
            assert roles["v0"] not in papers and roles["huge"] not in papers
            assert len(papers) == len(day.new_papers) - 2
            if attempt == 1:  # the run that fetched the feed says what it skipped
                notes = done.stdout
                assert f"skipped the feed entry {roles['v0']}" in notes, notes[-2000:]
                assert f"skipped the feed entry {roles['huge']}" in notes, notes[-2000:]
            continue
        assert len(papers) == len(day.new_papers)
        bidi = papers[roles["bidi"]]
        assert bidi.title == "Safe gnirts desrever title with isolates and marks"
        assert not re.search("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\x00]", json.dumps(
            [p.title + " ".join(p.authors) for p in papers.values()], ensure_ascii=False))
        assert papers[roles["nul"]].title == "A title with a NUL byte"
    # nothing stored that rendering cannot handle
    assert query(out, "SELECT COUNT(*) FROM papers WHERE version < 1 OR version > 999") == [(0,)]


def test_9_a_nul_byte_in_the_feed_costs_no_entry() -> None:
    from digestlib.source import parse_rss

    def entry(vid: str, title: str) -> str:
        return (f"<entry><id>oai:arXiv.org:{vid}</id><title>{title}</title>"
                f"<summary>arXiv:{vid} Announce Type: new \nAbstract: Text.</summary>"
                "<published>2026-01-22T00:00:00-05:00</published>"
                "<arxiv:announce_type>new</arxiv:announce_type></entry>")

    feed = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom"><title>t</title><updated>2026-01-22T05:00:00Z</updated>'
            + entry("2601.00001v1", "Clean") + entry("2601.00002v1", "Has a NUL\x00 here")
            + entry("2601.00003v0", "Version zero") + "</feed>")
    parsed = parse_rss(feed.encode("utf-8"))
    assert [(i.arxiv_id, i.version, i.title) for i in parsed.items] == [
        ("2601.00001", 1, "Clean"), ("2601.00002", 1, "Has a NUL here")]
    assert any("2601.00002" in n for n in parsed.notes) and any("2601.00003" in n for n in parsed.notes)


def test_2_entries_are_validated_and_normalised_before_they_are_stored() -> None:
    from digestlib.source import intake

    def paper(arxiv_id: str, version: int, title: str = "T") -> Paper:
        return Paper(arxiv_id, version, title, ("A\u200bB",), ("cs.SD", "bad cat"), "x\u202ey")

    kept, notes = intake.normalise_papers([
        paper("2601.00001", 1, "Fine\u2067 title"), paper("2601.00002", 0), paper("2601.00003", 10 ** 20),
        paper("../../etc/passwd", 1), paper("2601.00004", 3)])
    assert [(p.arxiv_id, p.version) for p in kept] == [("2601.00001", 1), ("2601.00004", 3)]
    assert kept[0].title == "Fine title" and kept[0].authors == ("AB",) and kept[0].abstract == "xy"
    assert kept[0].categories == ("cs.SD",)
    assert len(notes) == 3 and all(n.startswith("skipped the feed entry") for n in notes)


# -- 3. downloads: redirects only within the configured arXiv hosts, content type, size cap ----------------


def _fetcher(tmp_path: Path, handler) -> FulltextFetcher:
    settings = FulltextSettings(requests_per_second=0, max_retries=0, max_pdf_mb=1)
    return FulltextFetcher(settings, "http://127.0.0.1:8999", tmp_path / "cache", user_agent="t",
                           transport=httpx.MockTransport(handler), backoff=0)


def _paper(arxiv_id: str = "2601.15083", version: int = 1) -> Paper:
    return Paper(arxiv_id, version, "T", ("A",), ("cs.SD",), "Abstract.")


def test_3_a_redirect_to_another_host_is_refused(tmp_path: Path) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.host == "127.0.0.1":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})
        return httpx.Response(200, content=b"%PDF-1.4 secret internal page", headers={"content-type": "application/pdf"})

    with _fetcher(tmp_path, handler) as fetcher:
        result = fetcher.download(_paper())
    assert all(url.startswith("http://127.0.0.1:8999/") for url in asked), asked
    assert result.kind == "failed" and "169.254.169.254" in result.detail and "拒绝" in result.detail
    assert not any((tmp_path / "cache").rglob("*.pdf"))


def test_3_a_redirect_within_the_arxiv_host_is_followed(tmp_path: Path) -> None:
    pdf = sample_pdf_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/pdf/2601.15083v1":
            return httpx.Response(301, headers={"location": "/pdf/2601.15083v1.pdf"})
        return httpx.Response(200, content=pdf, headers={"content-type": "application/pdf"})

    with _fetcher(tmp_path, handler) as fetcher:
        result = fetcher.download(_paper())
    assert result.kind == "pdf", result


def test_3_a_wrong_content_type_is_refused_before_reading(tmp_path: Path) -> None:
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        return httpx.Response(200, content=b"%PDF-1.4 " + b"x" * 2000, headers={"content-type": "image/svg+xml"})

    with _fetcher(tmp_path, handler) as fetcher:
        result = fetcher.download(_paper())
    assert result.kind == "pending" and result.bytes_read == 0, result
    assert not any((tmp_path / "cache").rglob("*.pdf"))


def sample_pdf_bytes() -> bytes:
    from tests.fakes.fake_arxiv import sample_pdf

    return sample_pdf({"id": "2601.15083", "version": "v1", "title": "T", "authors": ["A"], "abstract": "Abstract.",
                       "categories": ["cs.SD"]})


# -- 4. model output: links, length, the other task's text, <think> -----------------------------------------


def _entry(abstract_zh: str, details_md: str = "1)  \n背景。\n\n2)  \n方法。\n\n3)  \n结果。") -> PaperEntry:
    return PaperEntry(paper=_paper(), abstract_zh=abstract_zh, details_md=details_md)


def _paper_block(entry: PaperEntry) -> str:
    """The post's block of ``entry`` (a day of one paper, rendered by ``render.render_chunks``)."""
    at = dt.datetime(2026, 1, 22, 2, tzinfo=dt.timezone.utc)
    day = DayDigest(dt.date(2026, 1, 22), ("cs.SD",), Window(at, at, "10:00", "CST", "北京时间"), 1, (entry,))
    header, block = render.render_chunks(day)
    return block


def test_4_the_model_adds_no_live_link() -> None:
    text = ("这篇论文提出了新方法，详见[官方代码](https://evil.example/phish?x=1)，"
            "论文见[本文](https://arxiv.org/abs/2601.15083v1)，另见[他文](https://arxiv.org/abs/2601.99999)。")
    block = _paper_block(_entry(text, "1)  \n背景，见[这里](http://10.0.0.1/admin)。\n\n2)  \n方法。\n\n3)  \n结果。"))
    html = MARKDOWN(block)
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(("https://arxiv.org/abs/2601.15083", "https://arxiv.org/pdf/2601.15083"))
                         for h in hrefs), hrefs
    assert "官方代码" in block and "evil.example/phish" in block and "10.0.0.1/admin" in block  # shown as text


def test_4_a_huge_answer_is_refused_per_task() -> None:
    paper = _paper()
    huge = "该方法在多个数据集上取得了良好的效果。" * 60_000  # about 1 MB of plausible Chinese
    parts = {"background": huge, "method": "作者提出了新的方法，结构清晰。", "results": "结果优于基线方法。"}
    problems = tasks.interpretation_violations(parts, paper, evidence="")
    assert problems and "上限" in problems[0]
    short_source = "We propose a method."
    assert any("上限" in p for p in tasks.translation_violations(short_source, huge))
    assert tasks.answer_too_long("translate", "好" * 100) is None


def test_4_the_other_tasks_answer_and_think_text_are_rejected() -> None:
    source = ("We propose a neural codec for speech. It reaches 4.2 MOS on LibriTTS and runs in real time on a "
              "laptop CPU, outperforming three strong baselines in listening tests with 40 raters.")
    other = ("1) 背景：语音编解码器长期存在音质与码率的矛盾。\n2) 方法：作者提出神经编解码器，涉及数值4.2、40。\n"
             "3) 结果：在 LibriTTS 上取得 4.2 MOS，优于三个基线，40 名听众参与测试。")
    assert any("解读" in p for p in tasks.translation_violations(source, other))
    from digestlib.llm.client import strip_thinking

    leaked = "Okay, the user wants a translation. Let me think about it.</think>我们提出了一种语音神经编解码器。"
    assert strip_thinking(leaked) == "我们提出了一种语音神经编解码器。"
    assert "think" not in strip_thinking("<think>plan the answer</think>译文。<think>more").lower()


# -- 5. a key with whitespace or a control character is refused before the first call -----------------------


def test_5_a_key_ending_in_cr_is_one_clear_line_before_any_call(bad: Path, tmp_path: Path, capsys,
                                                                   monkeypatch) -> None:
    secret = "sk-carriage-return-key-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret + "\r")
    out = tmp_path / "out"
    status = cli.main(["run", "--date", "2099-01-02", "--params", str(bad / "good.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "OPENAI_API_KEY" in err and "U+000D" in err and secret not in err
    assert not out.exists()
    with pytest.raises(ConfigError):
        LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1"), MemoryCache(),
                  env={"OPENAI_API_KEY": "sk-abc def-0123456789abcdef"})


# -- 6. a YAML alias bomb ("billion laughs") -----------------------------------------------------------------


def _bomb(path: Path, levels: int = 6) -> Path:
    """A "billion laughs" under a known key: 10**levels strings from a few hundred bytes (6 levels stay
    within the test's 1 GB address-space limit even on code that expands them)."""
    lines = ["include_keywords:", '  - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghij"[: levels - 1]:
        lines.append(f"  - &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.integration
def test_6_an_alias_bomb_is_refused_in_one_short_line(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.yaml")
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    code = limit + f"import sys; from digestlib.app import cli; sys.exit(cli.main({['run', '--date', DATE, '--params', str(bomb), '--out', str(tmp_path / 'out')]!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "DIGEST_NOW": "2026-01-22T02:00:00Z"})
    assert done.returncode == 2, done.stderr[-500:]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert len(done.stderr) < 300 and "alias" in done.stderr, done.stderr[:300]
    assert not (tmp_path / "out").exists()


def test_6_a_wrong_value_is_quoted_as_a_short_excerpt(tmp_path: Path) -> None:
    params = tmp_path / "long.yaml"
    params.write_text("include_keywords: [" + ", ".join([f"[nested, {i}]" for i in range(20000)]) + "]\n")
    from digestlib.base.config import build_config, read_params_file

    with pytest.raises(ConfigError) as caught:
        build_config(date=DATE, params=read_params_file(params), out_dir=tmp_path / "out")
    assert "include_keywords" in str(caught.value) and len(str(caught.value)) < 200


# -- 7. an empty or foreign file at the store path -----------------------------------------------------------


def test_7_an_empty_store_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "digest.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=re.escape(str(path))):
        Store(path)
    assert path.read_bytes() == b"", "the file is left as it was"
    foreign = tmp_path / "other.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE photos (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not an arxiv-digest store"):
        Store(foreign)
    fresh = tmp_path / "new" / "digest.sqlite"
    Store(fresh).close()
    assert fresh.stat().st_size > 0 and not list(fresh.parent.glob(".*.new"))


# -- 8. SIGKILL during in-flight calls: only the calls with no stored answer are sent again ------------------


@pytest.mark.integration
def test_8_a_kill_during_in_flight_calls_resends_only_the_unanswered(day_factory, tmp_path: Path) -> None:
    day = day_factory(delay=1.0)
    key = paper_of_request(day)
    out = tmp_path / "out"

    def in_flight() -> list[tuple]:
        return query(out, "SELECT i.key FROM llm_intents i LEFT JOIN llm_cache c ON c.key=i.key WHERE c.key IS NULL")

    proc = day.spawn(out, "--quiet")
    wait_until(lambda: len(query(out, "SELECT key FROM llm_cache")) >= 8 and len(in_flight()) >= 2, proc,
               "answers stored and calls in flight")
    kill_tree(proc, whole_tree=True)
    time.sleep(0.5)
    unanswered = len(in_flight())
    answered = {r[0] for r in query(out, "SELECT key FROM llm_cache")}
    done_before = {k for k in done_results(out)}
    before = day.llm.calls()
    assert unanswered >= 1 and answered

    final = day.run(out, "--quiet")
    assert final.returncode == 0, final.stderr[-3000:]
    resumed = day.llm.log()[before:]
    # every answer that arrived is reused: none of the stored results is asked for again
    assert not [key(e) for e in resumed if key(e) in done_before]
    # exactly the calls without a stored answer are sent: all the day's calls but the answered ones
    assert len(resumed) == 2 * len(day.new_papers) - len(answered), (len(resumed), len(answered))
    assert f"{unanswered} LLM call(s) were in flight" in final.stdout, final.stdout[-2000:]
    assert query(out, "SELECT COUNT(*) FROM llm_intents") == [(0,)]


# -- 10. a password in OPENAI_BASE_URL -------------------------------------------------------------------------


@pytest.mark.integration
def test_10_a_password_in_the_base_url_is_written_nowhere(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    password = "pa55-w0rd-in-url-7d1e"
    url = day.llm.url.replace("http://", f"http://digest-user:{password}@")
    day.llm.control(*[{"auth": True}] * 60)  # the notes then name the endpoint
    out = tmp_path / "out"
    done = day.run(out, env=day.env(OPENAI_BASE_URL=url))
    assert done.returncode in (0, 3, 69), done.stderr[-3000:]
    assert password not in done.stdout + done.stderr
    found = [str(p) for p in out.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert found == []
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (out / DATE).iterdir()) if (
        out / DATE).is_dir() else done.stderr
    assert "digest-user" not in written
