"""Issue 6, "safe": the API key never leaves the environment, bad input to any command is one clear line
that writes nothing, and text from papers or the model is inert in the post, the report and the executed
notebook. See SECURITY.md.

The ``digest run`` tests use the loopback harness of ``test_resilience.py``; the bad-input tests call
``digestlib.cli.main`` in-process (nothing there reaches the network or starts a kernel).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import mistune
import nbformat
import pytest

from digestlib import cli, render
from tests.jekyll_site import SITE_TITLE, build_site, jekyll_binary, parse_html
from tests.test_jekyll_build import check_inert, check_paper_structure, content
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
    """A gateway that answers 401 and repeats the key it was sent: the run stops calling, finishes with
    every paper pending, and its notes, error details and store carry ``***`` instead of the key."""
    day = day_factory()
    day.llm.control(*[{"auth": True, "echo_key": True}] * 40)
    out = tmp_path / "out"
    done = day.run(out)
    assert done.returncode == 0, done.stderr[-3000:]
    echoed = [e for e in day.llm.log() if e["status"] == 401]
    assert echoed and len(day.llm.log()) <= 3 * 8, "the circuit breaker stopped the calls"
    assert _leaks(out, done.stdout, done.stderr) == []

    # The post: every paper labelled pending, no error text.
    for paper in post_of(out).papers:
        assert paper.abstract_zh.startswith(render.TRANSLATION_PENDING_LABEL)
        assert paper.details_md == render.pending_note("quota")
    # The note says what happened, with the key redacted.
    report = (out / DATE / "report.html").read_text(encoding="utf-8")
    assert "stopped calling the LLM" in report and "HTTP 401" in report and "***" in report
    details = [d for (d,) in query(out, "SELECT detail FROM results")]
    assert len(details) == 2 * 25 and all(d.endswith("Incorrect API key provided: ***.") for d in details), details[:2]
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
    (["run", "--date", "2030-01-02", "--out", "{out}", "--params", _p("good")], 75,
     r"the announcement dated 2030-01-02 is not out yet"),
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
    (["publish", "--date", D, "--out", "{out}"], 2, r"the following arguments are required: --site"),
    (["publish", "--date", D, "--site", "{inputs}/no-site", "--out", "{out}", "--params", _p("good")], 2,
     r"Jekyll site folder not found: .*no-site"),
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
    built = build_site({POST: post}, tmp_path / "jekyll")
    assert built.returncode == 0 and built.problems == [], built.log
    div = content(built, POST)
    check_inert(div)
    check_paper_structure(div, len(papers), updates=False)
    text = div.text()
    assert SCRIPT in text and IMG in text and "{{ site.title }}" in text and SITE_TITLE not in text
