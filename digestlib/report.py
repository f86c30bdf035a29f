"""Tables for the notebook and the HTML report (plain pandas; no HTML is built here by hand).

pandas escapes cell text in ``DataFrame.to_html`` / ``_repr_html_`` (``escape=True``), and the report
exporter sanitises every HTML output again with nh3, so paper titles are safe in these tables.

Usage rows (from the store) are plain dicts with keys ``task, model, calls, cached_calls,
prompt_tokens, completion_tokens, cost_usd`` (``cost_usd`` may be missing or ``None``: it is then
estimated from ``prices``, USD per 1M tokens per model as in ``LLMSettings.prices``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from .llm import estimate_cost
from .models import DayDigest, PaperEntry, ResultStatus

DAY_COLUMNS = [
    "id", "title", "primary", "categories", "announce", "translation", "interpretation", "unverified_numbers",
]
REVIEW_COLUMNS = ["id", "title", "number"]
USAGE_COLUMNS = [
    "task", "model", "calls", "cached_calls", "prompt_tokens", "completion_tokens", "cost_usd", "cache_hit_rate",
]
_INT_FIELDS = ("calls", "cached_calls", "prompt_tokens", "completion_tokens")


def _status(value: Any) -> str:
    return value.value if isinstance(value, ResultStatus) else str(value)


def _entry_row(entry: PaperEntry) -> dict[str, Any]:
    p = entry.paper
    return {
        "id": p.versioned_id,
        "title": " ".join(p.title.split()),
        "primary": p.primary_category,
        "categories": ", ".join(p.categories),
        "announce": p.announce_type.value if hasattr(p.announce_type, "value") else str(p.announce_type),
        "translation": _status(entry.translation_status),
        "interpretation": _status(entry.interpretation_status),
        "unverified_numbers": len(entry.unverified_numbers),
    }


def day_table(day: DayDigest, *, include_updates: bool = True) -> pd.DataFrame:
    """One row per paper shown (in post order), then the replacements: id, title, primary category,
    all categories, announce type, translation and interpretation status, unverified numbers count."""
    entries = list(day.entries) + (list(day.updates) if include_updates else [])
    return pd.DataFrame([_entry_row(e) for e in entries], columns=DAY_COLUMNS)


def status_counts(day: DayDigest) -> pd.DataFrame:
    """How many papers are in each state, per task (rows: statuses, columns: translation/interpretation)."""
    rows = {s.value: {"translation": 0, "interpretation": 0} for s in ResultStatus}
    for e in day.entries:
        rows.setdefault(_status(e.translation_status), {"translation": 0, "interpretation": 0})["translation"] += 1
        rows.setdefault(_status(e.interpretation_status), {"translation": 0, "interpretation": 0})["interpretation"] += 1
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["translation", "interpretation"])
    df.index.name = "status"
    return df


def review_table(day: DayDigest) -> pd.DataFrame:
    """For the reviewer: one row per number in an interpretation that was not found in the paper text."""
    rows = [
        {"id": e.paper.versioned_id, "title": " ".join(e.paper.title.split()), "number": n}
        for e in day.entries
        for n in e.unverified_numbers
    ]
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def _num(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _normalise(rows: Iterable[Mapping[str, Any]], prices: Mapping[str, Mapping[str, float]] | None) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        r = {"task": str(row.get("task") or ""), "model": str(row.get("model") or "")}
        for f in _INT_FIELDS:
            r[f] = int(_num(row.get(f)))
        cost = row.get("cost_usd")
        if cost is None:
            cost = estimate_cost(r["model"], r["prompt_tokens"], r["completion_tokens"], prices or {})
        r["cost_usd"] = None if cost is None else float(cost)
        out.append(r)
    return out


def usage_table(rows: Iterable[Mapping[str, Any]], prices: Mapping[str, Mapping[str, float]] | None = None,
                *, total: bool = True) -> pd.DataFrame:
    """LLM usage per (task, model), summed, with a cache hit rate and an optional ``total`` row."""
    data = _normalise(rows, prices)
    if not data:
        return pd.DataFrame(columns=USAGE_COLUMNS)
    df = pd.DataFrame(data)
    grouped = (
        df.groupby(["task", "model"], sort=True, dropna=False)
        .agg({**{f: "sum" for f in _INT_FIELDS}, "cost_usd": lambda s: s.sum(min_count=1)})
        .reset_index()
    )
    if total:
        tot = {"task": "total", "model": ""}
        tot.update({f: int(grouped[f].sum()) for f in _INT_FIELDS})
        tot["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
        grouped = pd.concat([grouped, pd.DataFrame([tot])], ignore_index=True)
    calls = grouped["calls"].where(grouped["calls"] > 0)
    grouped["cache_hit_rate"] = (grouped["cached_calls"] / calls).round(3)
    for f in _INT_FIELDS:
        grouped[f] = grouped[f].astype("int64")
    grouped["cost_usd"] = grouped["cost_usd"].astype("float64").round(6)
    return grouped[USAGE_COLUMNS]


def cost_summary(rows: Iterable[Mapping[str, Any]],
                 prices: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """Totals over all usage rows: calls, cached calls, tokens, cost (``None`` if nothing is priced),
    whether the cost is partial (some model had no price), and the cache hit rate."""
    data = _normalise(rows, prices)
    summary: dict[str, Any] = {f: sum(r[f] for r in data) for f in _INT_FIELDS}
    costs = [r["cost_usd"] for r in data if r["cost_usd"] is not None]
    summary["cost_usd"] = round(sum(costs), 6) if costs else None
    summary["cost_partial"] = bool(costs) and len(costs) < len(data)
    summary["cache_hit_rate"] = round(summary["cached_calls"] / summary["calls"], 3) if summary["calls"] else None
    summary["models"] = sorted({r["model"] for r in data if r["model"]})
    return summary


def cost_markdown(summary: Mapping[str, Any]) -> str:
    """One Markdown line for the notebook, e.g. ``LLM：12 次调用（缓存 4 次），输入 10,000 / 输出 2,000 tokens，约 $0.0042``."""
    cost = summary.get("cost_usd")
    cost_text = "费用未知（无价格）" if cost is None else f"约 ${cost:.4f}" + ("（部分模型无价格）" if summary.get("cost_partial") else "")
    return (
        f"LLM：{summary.get('calls', 0):,} 次调用（缓存 {summary.get('cached_calls', 0):,} 次），"
        f"输入 {summary.get('prompt_tokens', 0):,} / 输出 {summary.get('completion_tokens', 0):,} tokens，{cost_text}"
    )


def store_usage(cfg: Any) -> list[dict[str, Any]]:
    """The day's LLM usage rows from the store, for :func:`usage_table` (calls, cache hits, tokens)."""
    from .store import Store

    with Store(cfg.store_path) as store:
        return store.usage_rows(cfg.date.isoformat())
