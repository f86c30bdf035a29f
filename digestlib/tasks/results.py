"""What a task returns, and the few facts every task shares.

Owns: ``TranslationResult`` / ``InterpretationResult`` (statuses are ``models.ResultStatus``), the three
parts' names (``PARTS``), :func:`is_abstract_only` and :func:`failure_cause` (a failed task's
``models.FailureCause``, from its detail). Must not: call the LLM, build prompts, or choose words users read
(the labels for statuses and causes are render.py's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..base.models import FailureCause, Interpretation, Paper, ResultStatus

PARTS = ("background", "method", "results")


@dataclass(frozen=True)
class TranslationResult:
    status: ResultStatus
    text: str  # Chinese when DONE; the English abstract otherwise (always displayable)
    detail: str = ""
    model: str = ""
    prompt_version: str = ""


@dataclass(frozen=True)
class InterpretationResult:
    status: ResultStatus
    interpretation: Interpretation | None
    detail: str = ""
    unverified_numbers: tuple[str, ...] = ()
    source: str = "fulltext"  # "fulltext" or "abstract"
    model: str = ""
    prompt_version: str = ""


def is_abstract_only(paper: Paper, paper_text: str) -> bool:
    """True when ``paper_text`` is empty or holds nothing beyond the abstract."""
    text = (paper_text or "").strip()
    if not text:
        return True
    headings = [h.strip().lower() for h in re.findall(r"(?m)^#{1,3}\s+(.+?)\s*$", text)]
    if any(h not in ("abstract", "摘要") for h in headings):
        return False
    return len(text) <= 1.5 * len(paper.abstract.strip()) + 200


def failure_cause(detail: str) -> FailureCause:
    """Why a task failed, for the label a post shows: ``validation`` (the answer was rejected),
    ``unreachable`` (the provider could not be reached), or ``provider`` (it answered with an error)."""
    lowered = (detail or "").lower()
    if any(word in lowered for word in ("rejected", "refused:", "cut at the token limit", "malformed", "empty answer",
                                        "not a json object", "no choices")):
        return FailureCause.VALIDATION  # an answer came, and it was not one we can publish
    if "connection error" in lowered or "timed out" in lowered or "unreachable" in lowered:
        return FailureCause.UNREACHABLE
    return FailureCause.PROVIDER
