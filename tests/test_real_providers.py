"""Real providers, honest runs (issue 10): a day against a server that behaves like llama.cpp's, the
circuit breaker on a dead endpoint / a refused key / an unknown model, and the outcome a run reports.

`digest run` runs as a user runs it (a separate process, papermill, the notebook) on the bundled sample
day replayed offline; the LLM is a loopback server started by the test.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from digestlib.base.config import LLMSettings
from digestlib.llm import SERVER_STOPPED_FIX, AdaptiveLimiter, LLMClient, MemoryCache, strip_thinking
from digestlib.base.models import Paper
from digestlib.app.demo import SAMPLE_DATE, write_sample_snapshot
from digestlib.tasks import echo_share, interpret_paper, language_share, translation_violations
from tests.fakes.fake_llamacpp import REASONING, start_fake_llamacpp
from tests.fakes.fake_openai import start_fake_openai

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = SAMPLE_DATE.isoformat()
SUMMARY_RE = re.compile(r"^Summary: (\S+): (\d+) papers, (\d+) translated, (\d+) interpreted, (\d+) pending PDF, "
                        r"(\d+) failed, (\d+) calls, (\d+) tokens, cost \S+, [\d.]+ s$", re.M)


def _env(base_url: str, key: str | None = None, model: str = "local") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(OPENAI_BASE_URL=base_url, DIGEST_MODEL=model)
    if key:
        env["OPENAI_API_KEY"] = key
    return env


def _params(tmp_path: Path, **llm: object) -> Path:
    settings = {"concurrency": 8, "timeout_seconds": 20, "max_retries": 3, "context_tokens": "auto", **llm}
    path = tmp_path / "params.yaml"
    path.write_text("categories: [cs.SD, eess.AS]\nglossary_file: " + str(ROOT / "parameters" / "glossary.yaml")
                    + "\nllm: " + json.dumps(settings) + "\n", encoding="utf-8")
    return path


def _run(tmp_path: Path, env: dict[str, str], out: Path, params: Path | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    snapshot = tmp_path / "snapshot"
    if not snapshot.is_dir():
        write_sample_snapshot(snapshot)
    cmd = [DIGEST, "run", "--date", DATE, "--replay", str(snapshot), "--params", str(params or _params(tmp_path)),
           "--out", str(out), "-q"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def _summary(stdout: str) -> dict[str, int]:
    m = SUMMARY_RE.search(stdout)
    assert m, f"no summary line in {stdout!r}"
    names = ("papers", "translated", "interpreted", "pending_pdf", "failed", "calls", "tokens")
    return dict(zip(names, map(int, m.groups()[1:])))


# ----------------------------------------------------------------------------------------------
# unit: the pieces


def test_reasoning_is_stripped_with_or_without_the_opening_tag() -> None:
    assert strip_thinking("<think>plan</think>\n\n答案") == "答案"
    assert strip_thinking("I should think first.\n</think>\n\n答案") == "答案"  # DeepSeek-R1 / Qwen3 templates
    assert strip_thinking("前言<think>still thinking, cut by the token limit") == "前言"
    assert strip_thinking("纯答案") == "纯答案"


def test_echoed_instructions_and_other_tasks_are_rejected() -> None:
    from digestlib.tasks import language_values, render_prompt

    source = "We propose a model. It reaches 91.2% accuracy on 3 datasets."
    echo = render_prompt("translate.repair", **language_values("zh"), violation="译文过短")  # the prompt as sent
    assert echo_share(echo) > 0.5
    assert any("复述" in p for p in translation_violations(source, echo))
    interp = '{"background": "- 背景：已有方法开销大", "method": "- 方法：新模型", "results": "- 结果：91.2%，3 个数据集"}'
    assert any("解读" in p for p in translation_violations(source, interp))
    assert translation_violations(source, "我们提出一个模型，在 3 个数据集上达到 91.2% 的准确率。") == []
    assert language_share("これは日本語の文です", "ja") > 0.9 and language_share("这是中文", "ja") == 0.0
    assert language_share("An English sentence here", "en") == 1.0


def test_adaptive_limiter_halves_on_overload_and_grows_back() -> None:
    limiter = AdaptiveLimiter(8)
    limiter.overload()
    limiter.overload()
    assert limiter.limit == 2
    for _ in range(2):
        limiter.success()
    assert limiter.limit == 3
    limiter.cap(1)
    assert limiter.limit == 1 and limiter.ceiling == 1


@pytest.mark.integration
def test_a_context_overflow_shrinks_the_paper_text_and_retries_once() -> None:
    """llama-cpp-python has no /props: a `context_tokens: 12000` budget overflows its 8k window once, the
    client learns the window from the error, and the interpretation is asked again with less text."""
    server = start_fake_llamacpp(props=False, n_ctx=8192)
    try:
        settings = LLMSettings(base_url=server.url, model="local", context_tokens=12000, max_retries=2)
        client = LLMClient(settings, MemoryCache(), env={})
        paper = Paper("2601.00001", 1, "A Paper", ("A. Author",), ("cs.SD",), "We study 3 things at 44.1 kHz.")
        text = "## Introduction\n\n" + ("Audio models are studied at length in this section. " * 900)
        result = interpret_paper(paper, text, client)
        assert result.status.value == "done", result.detail
        statuses = [e["status"] for e in server.log()]
        assert 400 in statuses and statuses[-1] == 200 and statuses.count(400) == 1, statuses
        assert client.context_window == 8192
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------
# integration: a day on a llama.cpp-like server


@pytest.mark.integration
def test_a_day_on_a_llamacpp_like_server_completes_and_reruns_with_no_call(tmp_path: Path) -> None:
    server = start_fake_llamacpp(delay=0.1, n_ctx=8192)
    try:
        out = tmp_path / "out"
        done = _run(tmp_path, _env(server.url), out)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        counts = _summary(done.stdout)
        papers = counts["papers"]
        assert papers >= 5 and counts["failed"] == 0
        assert counts["translated"] == papers
        assert counts["interpreted"] + counts["pending_pdf"] == papers  # the sample holds a PDF not out yet
        log = server.log()
        assert counts["calls"] == len(log)  # every request sent, the refused json_schema one too
        # 500 on json_schema once, then json_object remembered: not rediscovered for every paper
        assert [e["response_format"] for e in log].count("json_schema") == 1
        assert all(e["status"] in (200, 500) for e in log), [e["status"] for e in log]
        # one slot, found at /props: requests never queue behind each other, so none can time out
        assert max(e["waited"] for e in log) < 1.0
        post = (out / DATE / f"{DATE}-arxiv-daily.md").read_text(encoding="utf-8")
        assert "</think>" not in post and REASONING[:40] not in post and "Let me think" not in post
        assert "JSON Schema" not in post and "上面的译文不符合要求" not in post
        with sqlite3.connect(out / "digest.sqlite") as db:
            assert ("mode", "json_object") in db.execute("SELECT name, value FROM llm_capabilities").fetchall()

        again = _run(tmp_path, _env(server.url), out)
        assert again.returncode == 0, again.stderr[-3000:]
        assert _summary(again.stdout)["calls"] == 0
        assert len(server.log()) == len(log), "a finished day re-runs with no call"
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------
# integration: the breaker


@pytest.mark.integration
def test_a_dead_endpoint_stops_the_run_fast_with_one_line_and_no_post(tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    done = _run(tmp_path, _env("http://127.0.0.1:9/v1"), out)
    elapsed = time.monotonic() - started
    assert done.returncode == 69, done.stderr[-3000:]
    assert elapsed < 30
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["digest: error: LLM endpoint http://127.0.0.1:9/v1 refused the connection; nothing was "
                     "published; check OPENAI_BASE_URL"], done.stderr
    assert not (out / DATE / f"{DATE}-arxiv-daily.md").exists()
    assert _summary(done.stdout)["calls"] == 0

    # nothing lost: a good endpoint then finishes the day, and a re-run pays nothing more
    server = start_fake_llamacpp(n_ctx=8192)
    try:
        good = _run(tmp_path, _env(server.url), out)
        assert good.returncode == 0, good.stderr[-3000:]
        counts = _summary(good.stdout)
        assert counts["translated"] == counts["papers"] and counts["failed"] == 0
        assert (out / DATE / f"{DATE}-arxiv-daily.md").is_file()
    finally:
        server.stop()


@pytest.mark.integration
@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_server_that_dies_mid_answer_is_named_as_stopped_not_as_a_wrong_url(tmp_path: Path,
                                                                              concurrency: int) -> None:
    """A server that accepted the request, closed the connection before a full answer and then stopped
    listening (a crashed llama.cpp server): the URL was right, so the line says the server stopped. One
    request at a time: the retries are refused after the drop. Eight: the breaker may trip on the drops of
    the requests in flight, and says the same."""
    server = start_fake_openai()
    try:
        server.control({"crash": True})  # the first completion: half an answer, then the process exits
        out = tmp_path / "out"
        done = _run(tmp_path, _env(server.url), out, params=_params(tmp_path, concurrency=concurrency))
        assert server.proc.wait(timeout=30) == 70, "the fake died on the request and no longer listens"
        assert done.returncode == 69, done.stdout[-2000:] + done.stderr[-3000:]
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        stopped = f"digest: error: LLM endpoint {server.url} stopped answering: it "
        ending = f"; nothing was published; {SERVER_STOPPED_FIX}"
        if concurrency == 1:
            assert lines[0] == (stopped + "dropped a request mid-answer and now refuses connections (the server "
                                "crashed or restarted)" + ending)
        else:
            assert lines[0].startswith(stopped) and lines[0].endswith(ending), lines[0]
            assert "(the server crashed or restarted" in lines[0]
        assert "OPENAI_BASE_URL" not in done.stderr + done.stdout
        assert not (out / DATE / f"{DATE}-arxiv-daily.md").exists()
    finally:
        server.stop()


@pytest.mark.integration
@pytest.mark.parametrize("case", ["refused key", "unknown model"])
def test_a_refused_key_or_an_unknown_model_trips_the_breaker(tmp_path: Path, case: str) -> None:
    server = start_fake_openai(api_key="sk-right-key-0123456789" if case == "refused key" else None)
    try:
        if case == "unknown model":
            server.control(*[{"status": 404, "body": {"error": {"message": "The model `nope` does not exist",
                                                                  "type": "invalid_request_error",
                                                                  "code": "model_not_found"}}}] * 60)
        out = tmp_path / "out"
        started = time.monotonic()
        done = _run(tmp_path, _env(server.url, key="sk-wrong-key-0123456789", model="nope"), out)
        assert done.returncode == 69, done.stdout[-2000:] + done.stderr[-3000:]
        assert time.monotonic() - started < 30
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "nothing was published" in lines[0], done.stderr
        expected = "refused the API key (HTTP 401)" if case == "refused key" else "does not know the model 'nope'"
        assert expected in lines[0] and ("check OPENAI_API_KEY" in lines[0] or "check DIGEST_MODEL" in lines[0])
        assert "sk-wrong-key" not in done.stderr + done.stdout
        assert len(server.log()) <= 3 * 8, "the breaker stopped the calls"
        assert not (out / DATE / f"{DATE}-arxiv-daily.md").exists()
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------
# digest check


@pytest.mark.integration
def test_digest_check_reports_each_capability(tmp_path: Path) -> None:
    server = start_fake_llamacpp(n_ctx=8192)
    try:
        done = subprocess.run([DIGEST, "check"], env=_env(server.url), capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)  # from another directory: the default parameter file
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        for expected in ("reachable          yes", "key accepted       yes", "model found        yes",
                         "structured output  json_object (json_schema refused)", "context window     8192 tokens",
                         "slots              1", "latency"):
            assert expected in out, out
    finally:
        server.stop()
    dead = subprocess.run([DIGEST, "check"], env=_env("http://127.0.0.1:9/v1"), capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert dead.returncode == 69 and "refused the connection" in dead.stdout and "check OPENAI_BASE_URL" in dead.stdout


@pytest.mark.integration
def test_a_date_years_ahead_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([DIGEST, "run", "--date", "2031-03-04"], env=_env("http://127.0.0.1:9/v1"),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "digest: error: 2031-03-04 is in the future: its announcement is expected at 2031-03-03 20:00 EST; "
        "give a date that has been announced"]


@pytest.mark.integration
def test_timeouts_on_a_one_slot_server_without_props_halve_the_concurrency() -> None:
    """llama-cpp-python tells no slot count: eight requests queue behind one slot, the last ones time out,
    the client halves its concurrency (AIMD) and every request still gets its answer."""
    server = start_fake_llamacpp(props=False, delay=0.6)
    try:
        settings = LLMSettings(base_url=server.url, model="local", concurrency=8, timeout_seconds=2.5, max_retries=5)
        client = LLMClient(settings, MemoryCache(), env={}, backoff_initial=0.1, backoff_max=0.5)
        messages = [[{"role": "user", "content": f"<abstract>Sentence number {i} about audio.</abstract>"}]
                    for i in range(10)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda m: client.complete("translate", m), messages))
        assert all(a.content.startswith("【译】") for a in answers)  # the reasoning before </think> is gone
        assert client.stats["timeouts"] >= 1 and client.limiter.limit < 8
    finally:
        server.stop()


def test_context_tokens_auto_and_done_results_are_never_replaced(tmp_path: Path) -> None:
    from digestlib.base.config import build_config
    from digestlib.base.models import ResultStatus
    from digestlib.store.store import Store

    cfg = build_config(date="2026-01-22", params={"llm": {"context_tokens": "auto"}}, env={})
    assert cfg.llm.context_tokens == 0 and cfg.llm.text_budget_tokens > 0
    with Store(tmp_path / "s.sqlite") as store:
        store.save_result("2601.00001", 1, "translate", ResultStatus.DONE, content={"text": "好的译文"})
        assert not store.save_result("2601.00001", 1, "translate", ResultStatus.FAILED, content={"text": "x"})
        assert store.get_result("2601.00001", 1, "translate").content == {"text": "好的译文"}
        assert store.save_result("2601.00001", 1, "translate", ResultStatus.DONE, content={"text": "新"},
                                 regenerate=True)
        assert store.get_result("2601.00001", 1, "translate").content == {"text": "新"}
        store.capability_put("http://x/v1", "m", "mode", "json_object")
        assert store.capability_get("http://x/v1", "m") == {"mode": "json_object"}
