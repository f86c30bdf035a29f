"""The top of the report: the papers marked for the reader, the day's BibTeX file, spend against the budget.

Plain data first (:func:`for_you_rows`, :func:`budget_status`), then one Markdown block
(:func:`for_you_markdown`) the notebook displays right after the run, so it heads the HTML report. Report
code (``report.py``) can call the same functions for its own tables.
"""

from __future__ import annotations

from typing import Any

from ..base.models import DayDigest
from .render import MARK, escape_text

__all__ = ["for_you_rows", "budget_status", "for_you_markdown", "display_for_you"]


def for_you_rows(day: DayDigest) -> list[dict[str, Any]]:
    """One row per marked paper, in post order: id, title, score, matched terms."""
    return [
        {"id": e.paper.versioned_id, "title": " ".join(e.paper.title.split()), "score": e.relevance_score,
         "terms": list(e.interest_terms), "url": e.paper.abs_url}
        for e in day.entries if e.interest_terms
    ]


def budget_status(cfg: Any) -> dict[str, Any] | None:
    """Spend of the day against ``llm.max_cost_per_day`` / ``max_tokens_per_day`` (None without a budget)."""
    llm = cfg.llm
    if not (llm.max_cost_per_day or llm.max_tokens_per_day) or not cfg.store_path.is_file():
        return None
    from ..day.spend import Budget
    from ..store.store import Store

    with Store(cfg.store_path) as store:
        spent = Budget(llm, store, cfg.date.isoformat()).spent()
    return {"cost": spent.cost, "max_cost": llm.max_cost_per_day or None,
            "tokens": spent.tokens, "max_tokens": llm.max_tokens_per_day or None}


def for_you_markdown(cfg: Any, day: DayDigest) -> str:
    """The "为你推荐" list (or a line saying none matched), the .bib link and the budget line, in Markdown."""
    lines: list[str] = []
    interests = cfg.interests
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
    status = budget_status(cfg)
    if status is not None:
        parts = []
        if status["max_cost"]:
            parts.append(f"费用 {status['cost'] or 0.0:.4f} / {status['max_cost']:g}")
        if status["max_tokens"]:
            parts.append(f"tokens {status['tokens']:,} / {status['max_tokens']:,}")
        lines.append("LLM 预算：" + "，".join(parts))
        lines.append("")
    return "\n".join(lines).strip()


def display_for_you(cfg: Any, day: DayDigest) -> None:
    """Show :func:`for_you_markdown` in the notebook (and so at the top of the report); nothing when empty."""
    from IPython.display import Markdown, display

    text = for_you_markdown(cfg, day)
    if text:
        display(Markdown(text), metadata={"digest": {"role": "for_you"}})
