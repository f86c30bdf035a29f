"""The README's commands, run exactly as it prints them (its bash blocks, verbatim, through bash) in a
fresh directory that holds only links to the project's `.venv`, `notebooks` and `parameters`; the
network is the loopback fakes (arXiv, the LLM), pointed at through the environment as the README says.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.fakes.fake_arxiv import start_fake_arxiv
from tests.fakes.fake_openai import start_fake_openai
from tests.test_real_providers import _summary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block_after(heading_text: str) -> str:
    """The first ```bash block after ``heading_text`` in the README."""
    start = README.index(heading_text)
    match = re.search(r"```bash\n(.*?)```", README[start:], re.S)
    assert match, f"no bash block after {heading_text!r}"
    return match.group(1)


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in (".venv", "notebooks", "parameters"):
        (ws / name).symlink_to(ROOT / name)
    return ws


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(extra)
    return env


def test_the_papermill_commands_work_offline_as_printed(tmp_path: Path) -> None:
    block = _block_after("The notebook also runs on its own")
    assert "papermill notebooks/daily_digest.ipynb" in block
    ws = _workspace(tmp_path)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ws, env=_clean_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert (ws / "out.ipynb").is_file()
    posts = list(ws.glob("*-arxiv-daily.md")) + list(ws.glob("out*.md"))
    assert posts, sorted(p.name for p in ws.iterdir())
    front_matter = posts[0].read_text(encoding="utf-8").split("\n---\n", 1)[0]
    assert "\npublished: false" in front_matter  # the hand-exported post is a draft too: the gate holds
    assert (ws / "out.html").is_file() or list(ws.glob("*.html"))


def test_the_real_daily_command_works_as_printed(shared_data: Path, tmp_path: Path) -> None:
    block = _block_after("## The real daily command")
    assert ".venv/bin/digest run --date 2026-01-22" in block
    mailing = shared_data / "arxiv" / "mailings" / "2026-01-22-cs.SD+eess.AS.json"
    if not mailing.is_file():
        pytest.skip(f"{mailing} not found")
    now = "2026-01-22T02:00:00+00:00"
    arxiv = start_fake_arxiv([mailing], now=now, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                             workdir=tmp_path / "fake-arxiv")
    llm = start_fake_openai()
    try:
        ws = _workspace(tmp_path)
        env = _clean_env(**arxiv.env(), OPENAI_BASE_URL=llm.url, DIGEST_NOW=now)
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ws, env=env, capture_output=True,
                              text=True, timeout=1200)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        assert "structured output  json_schema" in done.stdout  # the `digest check` line ran first
        counts = _summary(done.stdout)
        assert counts["papers"] > 0 and counts["failed"] == 0 and counts["translated"] == counts["papers"]
        assert (ws / "output" / "2026-01-22" / "2026-01-22-arxiv-daily.md").is_file()
        assert {e["model"] for e in llm.log()} == {"deepseek-chat"}  # the parameter file's model, our base URL
    finally:
        arxiv.stop()
        llm.stop()
