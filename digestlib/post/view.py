"""One day as the displays see it: a frozen :class:`DayView` read from the store once, by :func:`read_day`.

The command (or the notebook) opens the ``Store`` and passes it here; everything post/ shows about a finished
day (the report page, the notebook's tables, the for-you block, the .bib) is then a pure function of the
view, so no display opens the store or reads a file of its own. The run's outcome kept beside the post
(``<day>/run-outcome.json``, :func:`keep_outcome`) is read here too, so that every later report opens with
the summary the run printed.

Owns: what a display may know of a day, and the outcome file. Must not: format anything (report.py,
tables.py, foryou.py do), or write to the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.models import INTERPRET, TRANSLATE, DayDigest, Paper, ResultStatus, TextStatus
from ..day.outcome import RunOutcome
from ..day.selection import Selection, first_page, stored_selection
from ..day.spend import Budget, Spend
from ..store.store import ResultRecord, ReviewRecord, Store
from .digest import build_digest
from .tables import CostSummary, Row, as_number, cost_summary, with_failed_calls

__all__ = ["DayNumbers", "DayView", "OUTCOME_FILE", "PaperView", "day_numbers", "failures", "keep_outcome", "kept_outcome", "pdf_engine_counts",
           "read_day"]

OUTCOME_FILE = "run-outcome.json"

@dataclass(frozen=True)
class PaperView:
    """One selected paper with what the store holds about it: its task results, the review's decision
    (``approved``, ``rejected`` or ``pending``) and the first page of its full text (for its links)."""

    paper: Paper
    translation: ResultRecord | None
    interpretation: ResultRecord | None
    review: str
    first_page: str


@dataclass(frozen=True)
class DayView:
    """Everything post/ shows about one stored day, read at one moment.

    ``day``: the post's content (review edits win, rejected papers left out); ``papers``: every paper the
    day selected, rejected ones included (the report lists them with their decision); ``usage``: LLM usage
    rows, failed calls included (:func:`with_failed_calls`); ``outcome``: the kept run outcome with its
    ``notes`` (None before any run wrote one); ``spent``: the day's spend when a budget is configured."""

    cfg: Config
    selection: Selection
    day: DayDigest
    papers: tuple[PaperView, ...]
    usage: tuple[Row, ...]
    failed_calls: tuple[Row, ...]
    pdf_engines: Mapping[str, int]
    outcome: Mapping[str, object] | None
    spent: Spend | None


def read_day(cfg: Config, store: Store, *, selection: Selection | None = None) -> DayView:
    """The day's view, from the store the caller opened. ``selection``: the papers the run chose (the
    notebook's), else the selection rebuilt from the store (review, publish, a report written later)."""
    if selection is None:
        selection = stored_selection(cfg, store)
    reviews = store.reviews(cfg.date)
    papers = tuple(
        PaperView(paper, store.get_result(paper.arxiv_id, paper.version, TRANSLATE),
                  store.get_result(paper.arxiv_id, paper.version, INTERPRET),
                  _review_status(reviews, paper.arxiv_id), first_page(store, paper))
        for paper in selection.new)
    date = cfg.date.isoformat()
    failed = tuple(store.failed_call_rows(date))
    llm = cfg.llm
    spent = Budget(llm, store, date).spent() if llm.max_cost_per_day or llm.max_tokens_per_day else None
    return DayView(
        cfg=cfg, selection=selection, day=build_digest(cfg, store, selection),
        papers=papers, usage=tuple(with_failed_calls(store.usage_rows(date), failed)), failed_calls=failed,
        pdf_engines=pdf_engine_counts(store, selection.new, auto=cfg.fulltext.pdf_engine == "auto"),
        outcome=kept_outcome(cfg), spent=spent)


def _review_status(reviews: Mapping[str, ReviewRecord], arxiv_id: str) -> str:
    record = reviews.get(arxiv_id)
    return record.status.value if record is not None else "pending"


def pdf_engine_counts(store: Store, papers: Iterable[Paper], *, auto: bool = True) -> dict[str, int]:
    """How many of ``papers``' PDF full texts each engine read (``FullText.engine``), e.g. ``{"pdfium": 23,
    "pypdf (fallback)": 2}``: under ``fulltext.pdf_engine: auto`` a pypdf reading means PDFium could not."""
    counts: dict[str, int] = {}
    for paper in papers:
        record = store.get_fulltext(paper.arxiv_id, paper.version)
        if record is None or record.fulltext.status is not TextStatus.OK or record.fulltext.source != "pdf":
            continue
        engine = record.fulltext.engine or "not recorded"
        label = f"{engine} (fallback)" if auto and engine == "pypdf" else engine
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


class DayNumbers(TypedDict, total=False):
    """The day's numbers for the report (:func:`day_numbers`)."""

    announced: int  # new papers in the announcement
    selected: int
    shown: int  # not rejected
    approved: int
    rejected: int
    pending: int
    failures: list[tuple[str, str, str]]  # (versioned id, task, reason) of failed tasks
    usage: tuple[Row, ...]
    summary: CostSummary
    failed_calls: tuple[Row, ...]
    seconds: dict[str, float]  # LLM time per task, failed calls included
    papers: tuple[Paper, ...]
    pdf_engines: Mapping[str, int]


def day_numbers(view: DayView) -> DayNumbers:
    """Papers, review states, failures with their causes, LLM calls, tokens, cost (None when no price is
    configured), time per stage and the PDF engines."""
    statuses = [p.review for p in view.papers]
    seconds: dict[str, float] = {}
    for row in view.usage:  # the time failed calls took counts too
        seconds[str(row["task"])] = seconds.get(str(row["task"]), 0.0) + as_number(row.get("seconds"))
    return DayNumbers(
        announced=view.selection.fetched_count, selected=len(view.papers),
        shown=sum(1 for s in statuses if s != "rejected"), approved=statuses.count("approved"),
        rejected=statuses.count("rejected"), pending=statuses.count("pending"), failures=failures(view),
        usage=view.usage, summary=cost_summary(view.usage, view.cfg.llm.prices), failed_calls=view.failed_calls,
        seconds=seconds, papers=view.selection.new, pdf_engines=view.pdf_engines)


def failures(view: DayView) -> list[tuple[str, str, str]]:
    """The day's failed tasks: (versioned id, task, the reason recorded)."""
    return [(p.paper.versioned_id, task, result.detail or "no reason recorded")
            for p in view.papers
            for task, result in ((TRANSLATE, p.translation), (INTERPRET, p.interpretation))
            if result is not None and result.status is ResultStatus.FAILED]


def keep_outcome(cfg: Config, outcome: RunOutcome, notes: Iterable[str] = ()) -> None:
    """Keep the run's outcome and notes beside the post, so that every later report opens the same way."""
    kept = {**outcome.as_dict(), "notes": [str(n) for n in notes]}
    atomic_write_text(cfg.day_dir / OUTCOME_FILE, json.dumps(kept, indent=1, ensure_ascii=False) + "\n")


def kept_outcome(cfg: Config) -> dict[str, object] | None:
    """The outcome the last run kept (with its ``notes``), or None."""
    try:
        kept = json.loads((cfg.day_dir / OUTCOME_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None
