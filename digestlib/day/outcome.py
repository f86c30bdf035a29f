"""The honest outcome of a run: what happened to each paper of the day, in one line and one exit status.

Computed from the store alone (the papers the day claimed in the ledger, their task results, the LLM
calls recorded since the run started), so the notebook shows it at the end of a run and the CLI reads
the same numbers back after papermill, whether the notebook finished or stopped on the breaker. The one
number the store does not hold, answers cut at the token cap whose retries the run's bound refused (the
LLM client counts them in the kernel), the kernel passes in and the CLI reads back from the outcome the
notebook displayed (:func:`notebook_outcome`).

IPython (for the notebook's display) is loaded lazily with ``lazy_loader``: the CLI reads an outcome
without it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import lazy_loader as lazy

from .spend import estimate_cost
from ..base.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_TASKS_FAILED
from ..base.models import INTERPRET, TRANSLATE, PendingReason, ResultStatus
from ..store.store import Store, timestamp

IPython = lazy.load("IPython")

if "ipykernel" in sys.modules:
    # In the notebook's kernel: when papermill shuts the kernel down right after an error (the breaker),
    # asyncio may log "Task was destroyed but it is pending!" to the user's terminal; the one error line
    # must stay the only line.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

OUTCOME_ROLE = "outcome"  # display metadata role of the summary in the executed notebook


@dataclass(frozen=True)
class RunOutcome:
    """Counts for one day and one run. ``failed`` counts papers with any failed task."""

    date: str
    papers: int
    translated: int
    interpreted: int
    pending_pdf: int
    pending: int  # papers waiting for another reason (the LLM stopped calling)
    budget_pending: int  # papers with a task the day's LLM budget left pending
    failed: int
    offline: int  # papers shown without an endpoint (labelled), a legitimate outcome
    calls: int  # HTTP requests to the LLM sent in this run: answered, failed and retried (cache hits excluded)
    tokens: int
    cost: float | None
    seconds: float
    cut_answers: int = 0  # answers cut at the token cap (finish_reason "length") not asked again: retries bounded

    @property
    def exit_code(self) -> int:
        """0 only when every paper is complete or legitimately pending; 3 when any task failed; 4 when the
        budget stopped the run (the worse of the two wins: a failure needs a look, a budget only a re-run)."""
        if self.failed:
            return EXIT_TASKS_FAILED
        return EXIT_INCOMPLETE if self.budget_pending else EXIT_OK

    def summary(self) -> str:
        cost = "n/a" if self.cost is None else f"${self.cost:.4f}"
        return (f"{self.date}: {self.papers} papers, {self.translated} translated, {self.interpreted} interpreted, "
                f"{self.pending_pdf} pending PDF, {self.failed} failed, {self.calls} calls, {self.tokens} tokens, "
                f"cost {cost}, {self.seconds:.1f} s"
                + (f"; incomplete: the LLM budget left {self.budget_pending} paper(s) pending"
                   if self.budget_pending else "")
                + (f"; {self.cut_answers} answer(s) cut at the token cap (retries bounded)"
                   if self.cut_answers else ""))

    def as_dict(self) -> dict[str, str | int | float | None]:
        return asdict(self)


def run_started() -> str:
    """The timestamp to pass as ``since``: the store's own clock format, so the comparison is exact."""
    return timestamp()


def compute_outcome(store: Store, date: dt.date, *, since: str, prices: Mapping[str, Mapping[str, float]],
                    seconds: float, cut_answers: int = 0) -> RunOutcome:
    """The outcome of the run that started at ``since`` for the papers ``date``'s post owns;
    ``cut_answers``: the LLM client's count of cut answers it did not ask again (not in the store)."""
    day = date.isoformat()
    papers = store.claimed_papers(day)
    translated = interpreted = pending_pdf = pending = budget_pending = failed = offline = 0
    for arxiv_id, version in papers:
        tr = store.get_result(arxiv_id, version, TRANSLATE)
        it = store.get_result(arxiv_id, version, INTERPRET)
        statuses = [r.status if r else ResultStatus.PENDING for r in (tr, it)]
        translated += tr is not None and tr.status is ResultStatus.DONE
        interpreted += it is not None and it.status is ResultStatus.DONE
        if ResultStatus.FAILED in statuses:
            failed += 1
        elif it is not None and it.status is ResultStatus.PENDING and it.content.get("reason") == PendingReason.FULLTEXT:
            pending_pdf += 1
        elif any(r is not None and r.status is ResultStatus.PENDING and r.content.get("reason") == PendingReason.BUDGET
                 for r in (tr, it)):
            budget_pending += 1
        elif ResultStatus.PENDING in statuses:
            pending += 1
        elif ResultStatus.OFFLINE in statuses:
            offline += 1
    calls = store.paid_calls_since(since)
    # every request sent, retries and failures included (a malformed 200 is an answered call)
    n_calls = sum(int(r["calls"]) for r in calls) + store.failed_calls_since(since)
    tokens = sum(int(r["prompt_tokens"] or 0) + int(r["completion_tokens"] or 0) for r in calls)
    cost: float | None = 0.0
    for r in calls:
        priced = estimate_cost(r["model"], int(r["prompt_tokens"] or 0), int(r["completion_tokens"] or 0), prices)
        if priced is None:
            cost = None  # a model without a price: say so rather than print a wrong total
        elif cost is not None:
            cost += priced
    return RunOutcome(day, len(papers), translated, interpreted, pending_pdf, pending, budget_pending, failed, offline, n_calls,
                      tokens, cost, round(seconds, 1), cut_answers)


def display_outcome(outcome: RunOutcome) -> None:
    """Show the summary line in the notebook (and the report), with the numbers as metadata."""
    IPython.display.display(IPython.display.Markdown(f"**Summary:** {outcome.summary()}"),
            metadata={"digest": {"role": OUTCOME_ROLE, "outcome": outcome.as_dict()}})


def notebook_outcome(executed: Path) -> Mapping[str, object] | None:
    """The outcome the kernel displayed in an executed notebook (its numbers, as :meth:`RunOutcome.as_dict`),
    or None when the notebook stopped before showing one (the breaker). Read as JSON: no nbformat needed."""
    try:
        nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("digest", {})
            if isinstance(meta, dict) and meta.get("role") == OUTCOME_ROLE and isinstance(meta.get("outcome"), dict):
                return meta["outcome"]
    return None
