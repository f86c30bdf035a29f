"""`digest run` against the loopback fake arXiv and LLM: `fulltext.top_n: 3` reads exactly 3 papers in
full; a budget smaller than the day stops the run with exit 4 and the rest pending, and a later run with a
larger budget finishes it without repeating a call."""

from __future__ import annotations

import datetime as dt

import pytest

from digestlib.base.errors import EXIT_INCOMPLETE, EXIT_OK
from digestlib.store.store import Store
from tests import test_end_to_end
from tests.test_end_to_end import DATE, World

world = test_end_to_end.world  # the loopback fake arXiv + LLM fixture

pytestmark = pytest.mark.integration


def _with(world: World, extra: str) -> None:
    world.params.write_text(world.params.read_text(encoding="utf-8") + extra, encoding="utf-8")


def _results(world: World, task: str) -> list:
    """The day's stored results of ``task``: one per announced paper that has one (the world is one day)."""
    with Store(world.out / "digest.sqlite") as store:
        papers = store.announcement(dt.date.fromisoformat(DATE)) or []
        found = [store.get_result(p.arxiv_id, p.version, task) for p in papers]
        return [r for r in found if r is not None]


def test_top_n_interprets_exactly_three_full_texts(world: World) -> None:
    _with(world, "interests: {keywords: {speech: 2, audio: 1}}\n")
    text = world.params.read_text(encoding="utf-8").replace(
        "fulltext: {requests_per_second: 50}", "fulltext: {requests_per_second: 50, top_n: 3}")
    world.params.write_text(text, encoding="utf-8")
    proc = world.run()
    assert proc.returncode in (0, 3), proc.stderr
    interpretations = _results(world, "interpret")
    full = [r for r in interpretations if r.content.get("source") == "fulltext"]
    by_choice = [r for r in interpretations if r.content.get("abstract_reason") == "top_n"]
    assert len(full) == 3
    assert len(by_choice) == len(interpretations) - 3
    post = next((world.out / DATE).glob("*-arxiv-daily.md")).read_text(encoding="utf-8")
    assert post.count("全文解读只用于最相关的论文") == len(by_choice)


def test_budget_stops_the_run_then_a_larger_budget_finishes_without_repeats(world: World) -> None:
    _with(world, "")
    text = world.params.read_text(encoding="utf-8")
    world.params.write_text(text.replace("concurrency: 8,", "concurrency: 2, max_tokens_per_day: 6000,"),
                            encoding="utf-8")
    first = world.run()
    assert first.returncode == EXIT_INCOMPLETE, first.stdout + first.stderr
    assert "budget" in first.stdout
    calls_first = world.llm.calls()
    assert calls_first > 0
    pending = [r for t in ("translate", "interpret") for r in _results(world, t)
               if r.content.get("reason") == "budget"]
    assert pending, "the rest is left pending"
    post = next((world.out / DATE).glob("*-arxiv-daily.md")).read_text(encoding="utf-8")
    assert "已达本日 LLM 预算" in post

    world.params.write_text(text.replace("concurrency: 8,", "concurrency: 2, max_tokens_per_day: 10000000,"),
                            encoding="utf-8")
    second = world.run()
    assert second.returncode in (EXIT_OK, 3), second.stdout + second.stderr
    assert not [r for t in ("translate", "interpret") for r in _results(world, t) if r.content.get("reason") == "budget"]
    keys = [(e["kind"], e["model"], e["response_format"], e["first_user"], e["last_user"])
            for e in world.llm.log() if e["status"] == 200 and not e["fault"]]
    assert len(keys) == len(set(keys)), "no call was made twice"
