"""What an LLM task sees of a paper, and the record stored from what it returns: one place for the run and
for a reviewer's regenerate, so that the two cannot disagree.

:func:`paper_text` chooses the text an interpretation is asked from (the full text's sections cut to the
token budget, else the abstract); the budget is the task engine's (``tasks.engines``: under
``llm.context_tokens: auto``, what the endpoint's window leaves). The ``*_record`` builders make the
stored result (status, content, detail, model) that ``post/render`` labels; :func:`save_record` writes one.

Owns: those two shapes. Must not: call the LLM, or choose the words readers see (``post/render``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..base.models import INTERPRET, TRANSLATE, FullText, Paper, PendingReason, ResultStatus, TextStatus
from ..fulltext import budgeted_text
from ..store.store import Store
from ..tasks.results import InterpretationResult, TranslationResult, failure_cause


def paper_text(paper: Paper, text: FullText | None, budget_tokens: int) -> str:
    """The paper text an interpretation is asked from: the full text cut to ``budget_tokens`` when it was
    read (``OK``), else the abstract (waited too long, unreadable, not downloaded, or none stored)."""
    if text is not None and text.status is TextStatus.OK:
        return budgeted_text(text, budget_tokens)
    return paper.abstract


def stored_text(store: Store, paper: Paper) -> FullText | None:
    """The paper's stored full text (any status), or None when none was ever attempted."""
    record = store.get_fulltext(paper.arxiv_id, paper.version)
    return record.fulltext if record else None


@dataclass(frozen=True)
class TaskRecord:
    """One task result as the store keeps it."""

    task: str
    status: ResultStatus
    content: Mapping[str, object]
    detail: str = ""
    model: str = ""
    unverified: tuple[str, ...] = ()


def _reason_and_cause(status: ResultStatus, detail: str, pending_reason: PendingReason | None) -> dict[str, str]:
    """Why a task is pending, or what made it fail (validation, unreachable, provider), for its label."""
    if status is ResultStatus.PENDING:
        return {"reason": pending_reason or PendingReason.LLM}
    if status is ResultStatus.FAILED:
        return {"cause": failure_cause(detail)}
    return {}


def translation_record(result: TranslationResult, *, pending_reason: PendingReason | None = None,
                       regenerated: bool = False) -> TaskRecord:
    """The stored translation: the displayable text, and why it is pending or failed."""
    content: dict[str, object] = {"text": result.text, **_reason_and_cause(result.status, result.detail, pending_reason)}
    if regenerated:
        content["regenerated"] = True
    return TaskRecord(TRANSLATE, result.status, content, result.detail, result.model)


def interpretation_record(result: InterpretationResult, text: FullText | None, *,
                          pending_reason: PendingReason | None = None, abstract_reason: str | None = None,
                          regenerated: bool = False) -> TaskRecord:
    """The stored interpretation: its source, the full text's status, the three parts, and why it is
    pending or failed. ``abstract_reason`` ``top_n``: read from the abstract by choice (``fulltext.top_n``)."""
    content: dict[str, object] = {"source": result.source,
                                  "fulltext_status": text.status.value if text is not None else "",
                                  "fulltext_detail": text.detail if text is not None else "",
                                  **_reason_and_cause(result.status, result.detail, pending_reason)}
    if abstract_reason:
        content["abstract_reason"] = abstract_reason
    if regenerated:
        content["regenerated"] = True
    if result.interpretation is not None:
        parts = result.interpretation
        content.update(background=parts.background, method=parts.method, results=parts.results)
    return TaskRecord(INTERPRET, result.status, content, result.detail, result.model, result.unverified_numbers)


def waiting_record(text: FullText) -> TaskRecord:
    """An interpretation that waits for its full text (not there yet): nothing was asked."""
    return TaskRecord(INTERPRET, ResultStatus.PENDING, {"reason": PendingReason.FULLTEXT}, text.detail)


def over_budget_record(task: str, paper: Paper, why: str) -> TaskRecord:
    """A task the day's budget refused: pending, not called (a translation shows the English abstract)."""
    content: dict[str, object] = {"reason": PendingReason.BUDGET}
    if task == TRANSLATE:
        content["text"] = paper.abstract
    return TaskRecord(task, ResultStatus.PENDING, content, f"not called: {why}")


def save_record(store: Store, paper: Paper, record: TaskRecord, *, regenerate: bool = False) -> None:
    """Store ``record`` as the paper's result for its task (``regenerate``: replacing a final one)."""
    store.save_result(paper.arxiv_id, paper.version, record.task, record.status, content=dict(record.content),
                      detail=record.detail, model=record.model, unverified=record.unverified,
                      regenerate=regenerate)
