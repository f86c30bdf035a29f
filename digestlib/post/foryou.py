"""The top of the report: the papers marked for the reader, the day's BibTeX file, spend against the budget.

Plain data first (:func:`for_you_rows`, :func:`budget_status`), then one Markdown block
(:func:`for_you_markdown`) the notebook displays right after the run (:func:`display_for_you`, over the
day's :class:`~digestlib.post.view.DayView`), so it heads the HTML report.
"""

from __future__ import annotations

from typing import TypedDict

from ..base.config import InterestSettings, LLMSettings
from ..base.models import DayDigest
from ..day.spend import Spend
from . import show
from .render import MARK, escape_text
from .view import DayView

__all__ = ["BudgetStatus", "ForYouRow", "budget_status", "display_for_you", "for_you_markdown", "for_you_rows"]


class ForYouRow(TypedDict):
    """A paper marked for the reader."""

    id: str
    title: str
    score: float | None
    terms: list[str]
    url: str


class BudgetStatus(TypedDict):
    """The day's spend against its budget (a limit of None is not set)."""

    cost: float | None
    max_cost: float | None
    tokens: int
    max_tokens: int | None


def for_you_rows(day: DayDigest) -> list[ForYouRow]:
    """One row per marked paper, in post order: id, title, score, matched terms."""
    return [
        ForYouRow(id=e.paper.versioned_id, title=" ".join(e.paper.title.split()), score=e.relevance_score,
                  terms=list(e.interest_terms), url=e.paper.abs_url)
        for e in day.entries if e.interest_terms
    ]


def budget_status(llm: LLMSettings, spent: Spend | None) -> BudgetStatus | None:
    """Spend of the day against ``llm.max_cost_per_day`` / ``max_tokens_per_day`` (None without a budget)."""
    if not (llm.max_cost_per_day or llm.max_tokens_per_day) or spent is None:
        return None
    return BudgetStatus(cost=spent.cost, max_cost=llm.max_cost_per_day or None,
                        tokens=spent.tokens, max_tokens=llm.max_tokens_per_day or None)


def for_you_markdown(day: DayDigest, interests: InterestSettings, budget: BudgetStatus | None = None) -> str:
    """The "为你推荐" list (or a line saying none matched), the .bib link and the budget line, in Markdown."""
    lines: list[str] = []
    if interests.keywords or interests.authors:
        rows = for_you_rows(day)
        lines.append(f"### {MARK} 为你推荐（{len(rows)} 篇）")
        lines.append("")
        if rows:
            for row in rows:
                terms = " · ".join(escape_text(t) for t in row["terms"])
                lines.append(f"- [{escape_text(row['title'])}]({row['url']}) — {terms}（得分 {row['score']:g}）")
        else:
            lines.append("今日没有论文符合你的关注。")
        lines.append("")
    if day.bib_href:
        lines.append(f"BibTeX 引用：[{escape_text(day.bib_href)}]({day.bib_href})（本页 {day.shown_count} 篇）")
        lines.append("")
    if budget is not None:
        parts = []
        if budget["max_cost"]:
            parts.append(f"费用 {budget['cost'] or 0.0:.4f} / {budget['max_cost']:g}")
        if budget["max_tokens"]:
            parts.append(f"tokens {budget['tokens']:,} / {budget['max_tokens']:,}")
        lines.append("LLM 预算：" + "，".join(parts))
        lines.append("")
    return "\n".join(lines).strip()


def display_for_you(view: DayView) -> None:
    """Show :func:`for_you_markdown` in the notebook (and so at the top of the report); nothing when empty."""
    text = for_you_markdown(view.day, view.cfg.interests, budget_status(view.cfg.llm, view.spent))
    if text:
        show.display(show.markdown(text), metadata={"digest": {"role": "for_you"}})
