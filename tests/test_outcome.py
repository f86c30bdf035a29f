"""The run's summary line (day/outcome): the numbers read back from the store, and issue 23's leftover:
answers cut at the token cap whose retries the run's bound refused are said in the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat

from digestlib.base.models import INTERPRET, TRANSLATE, Paper, ResultStatus
from digestlib.day.outcome import OUTCOME_ROLE, compute_outcome, notebook_outcome, run_started
from digestlib.store import Store

DAY = dt.date(2026, 1, 22)


def _store_with_one_paper(path: Path) -> Store:
    store = Store(path)
    store.upsert_paper(Paper(arxiv_id="2601.00001", version=1, title="T", authors=("A",), categories=("cs.SD",),
                             abstract="An abstract."))
    store.claim(DAY, "2601.00001", 1)
    for task in (TRANSLATE, INTERPRET):
        store.save_result("2601.00001", 1, task, ResultStatus.DONE, content={"text": "x"})
    return store


def test_the_summary_says_how_many_answers_were_cut_at_the_token_cap(tmp_path: Path) -> None:
    since = run_started()
    with _store_with_one_paper(tmp_path / "s.sqlite") as store:
        cut = compute_outcome(store, DAY, since=since, prices={}, seconds=1.0, cut_answers=3)
        whole = compute_outcome(store, DAY, since=since, prices={}, seconds=1.0)
    assert cut.summary().endswith("; 3 answer(s) cut at the token cap (retries bounded)"), cut.summary()
    assert "token cap" not in whole.summary() and whole.summary() == cut.summary().split("; 3 answer")[0]
    assert (cut.papers, cut.translated, cut.interpreted, cut.exit_code) == (1, 1, 1, 0)


def test_the_cli_reads_the_cut_answers_back_from_the_outcome_the_notebook_displayed(tmp_path: Path) -> None:
    since = run_started()
    with _store_with_one_paper(tmp_path / "s.sqlite") as store:
        outcome = compute_outcome(store, DAY, since=since, prices={}, seconds=1.0, cut_answers=2)
    cell = nbformat.v4.new_code_cell("outcome.display_outcome(result.outcome)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": outcome.summary()},
                                           metadata={"digest": {"role": OUTCOME_ROLE, "outcome": outcome.as_dict()}})]
    executed = tmp_path / "digest.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), cell]), executed)
    assert notebook_outcome(executed)["cut_answers"] == 2
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), executed)  # the breaker
    assert notebook_outcome(executed) is None
    assert notebook_outcome(tmp_path / "missing.ipynb") is None
