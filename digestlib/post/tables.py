"""The day's tables as pandas DataFrames (the notebook shows them; pandas escapes their cells), and the
usage numbers the report and the notification quote.

pandas is loaded lazily (``lazy_loader.load("pandas")`` below, the module's one heavy import): reading a
finished day (publish, notify, the CLI's .bib) imports this module and never needs a DataFrame.

Usage rows (from the store) are plain mappings with keys ``task, model, calls, cached_calls,
prompt_tokens, completion_tokens, cost_usd`` (``cost_usd`` may be missing or ``None``: it is then
estimated from ``prices``, USD per 1M tokens per model as in ``LLMSettings.prices``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, TypedDict

import lazy_loader

from ..base.models import DayDigest, PaperEntry, ResultStatus
from ..day.spend import estimate_cost

if TYPE_CHECKING:
    import pandas
else:
    pandas = lazy_loader.load("pandas")

__all__ = ["DAY_COLUMNS", "FAILED_CALL_COLUMNS", "NO_PRICE", "REVIEW_COLUMNS", "USAGE_COLUMNS", "CostSummary",
           "Prices", "Row", "UsageLine", "as_number", "cost_summary", "day_table", "failed_calls_table", "review_table",
           "usage_display", "usage_table", "with_failed_calls"]

DAY_COLUMNS = [
    "id", "title", "primary", "categories", "announce", "translation", "interpretation", "unverified_numbers",
]
REVIEW_COLUMNS = ["id", "title", "number"]
USAGE_COLUMNS = [
    "task", "model", "calls", "cached_calls", "failed_calls", "prompt_tokens", "completion_tokens", "cost_usd",
    "cache_hit_rate",
]
# calls: answers received (cache hits included); failed_calls: HTTP calls without a usable answer
# (store.failed_call_rows: status and cause), counted apart so that the hit rate and the tokens stay true
INT_FIELDS = ("calls", "cached_calls", "failed_calls", "prompt_tokens", "completion_tokens")
FAILED_CALL_COLUMNS = ["task", "model", "status", "calls", "cause"]
NO_PRICE = "no price configured"

Row = Mapping[str, object]  # a usage or failed-call row of the store
Prices = Mapping[str, Mapping[str, float]]  # USD per 1M tokens per model (LLMSettings.prices)


class CostSummary(TypedDict):
    """Totals over a day's usage rows (:func:`cost_summary`)."""

    calls: int
    cached_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: tokens were spent that no price covers
    cost_partial: bool  # some model had no price
    cache_hit_rate: float | None
    models: list[str]


def as_number(value: object) -> float:
    """A row's count or seconds as a float (missing, None or not a number: 0)."""
    try:
        return float(value) if value is not None else 0.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _status(value: ResultStatus | str) -> str:
    return value.value if isinstance(value, ResultStatus) else str(value)


def _entry_row(entry: PaperEntry) -> dict[str, object]:
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


def day_table(day: DayDigest, *, include_updates: bool = True) -> pandas.DataFrame:
    """One row per paper shown (in post order), then the replacements: id, title, primary category,
    all categories, announce type, translation and interpretation status, unverified numbers count."""
    entries = list(day.entries) + (list(day.updates) if include_updates else [])
    return pandas.DataFrame([_entry_row(e) for e in entries], columns=DAY_COLUMNS)


def review_table(day: DayDigest) -> pandas.DataFrame:
    """For the reviewer: one row per number in an interpretation that was not found in the paper text."""
    rows = [
        {"id": e.paper.versioned_id, "title": " ".join(e.paper.title.split()), "number": n}
        for e in day.entries
        for n in e.unverified_numbers
    ]
    return pandas.DataFrame(rows, columns=REVIEW_COLUMNS)


@dataclass(frozen=True)
class UsageLine:
    """One usage row with its counts as integers and its cost known (or None: no price for the model)."""

    task: str
    model: str
    calls: int
    cached_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


def _normalise(rows: Iterable[Row], prices: Prices | None) -> list[UsageLine]:
    out = []
    for row in rows:
        counts = {f: int(as_number(row.get(f))) for f in INT_FIELDS}
        model = str(row.get("model") or "")
        cost = row.get("cost_usd")
        if cost is None:
            cost = estimate_cost(model, counts["prompt_tokens"], counts["completion_tokens"], prices or {})
        out.append(UsageLine(task=str(row.get("task") or ""), model=model, **counts,
                             cost_usd=None if cost is None else float(cost)))  # type: ignore[arg-type]
    return out


def with_failed_calls(usage: Iterable[Row], failed: Iterable[Row]) -> list[dict[str, object]]:
    """The usage rows plus one row per (task, model, status) of failed calls (``failed_calls``, their
    seconds, no tokens): a task whose every call failed still gets its line in the usage table."""
    return [dict(r) for r in usage] + [
        {"task": r["task"], "model": r["model"], "failed_calls": int(as_number(r.get("calls"))),
         "seconds": as_number(r.get("seconds"))} for r in failed]


def failed_calls_table(failed: Iterable[Row]) -> pandas.DataFrame:
    """Failed LLM calls per task, model and status, with the last cause the endpoint gave."""
    return pandas.DataFrame([{c: r.get(c, "") for c in FAILED_CALL_COLUMNS} for r in failed],
                            columns=FAILED_CALL_COLUMNS)


def usage_table(rows: Iterable[Row], prices: Prices | None = None, *, total: bool = True) -> pandas.DataFrame:
    """LLM usage per (task, model), summed, with a cache hit rate and an optional ``total`` row."""
    data = _normalise(rows, prices)
    if not data:
        return pandas.DataFrame(columns=USAGE_COLUMNS)
    df = pandas.DataFrame([asdict(line) for line in data])
    grouped = (
        df.groupby(["task", "model"], sort=True, dropna=False)
        .agg({**{f: "sum" for f in INT_FIELDS}, "cost_usd": lambda s: s.sum(min_count=1)})
        .reset_index()
    )
    if total:
        tot: dict[str, object] = {"task": "total", "model": ""}
        tot.update({f: int(grouped[f].sum()) for f in INT_FIELDS})
        tot["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
        grouped = pandas.concat([grouped, pandas.DataFrame([tot])], ignore_index=True)
    calls = grouped["calls"].where(grouped["calls"] > 0)
    grouped["cache_hit_rate"] = (grouped["cached_calls"] / calls).round(3)
    for f in INT_FIELDS:
        grouped[f] = grouped[f].astype("int64")
    grouped["cost_usd"] = grouped["cost_usd"].astype("float64").round(6)
    return grouped[USAGE_COLUMNS]


def usage_display(rows: Iterable[Row], prices: Prices | None = None) -> pandas.DataFrame:
    """The usage table as people read it: an unknown cost says so instead of ``NaN``."""
    df = usage_table(rows, prices)
    if df.empty:
        return df
    df = df.astype({"cost_usd": "object"})
    df["cost_usd"] = [NO_PRICE if pandas.isna(v) else f"{v:.6f}" for v in df["cost_usd"]]
    return df


def cost_summary(rows: Iterable[Row], prices: Prices | None = None) -> CostSummary:
    """Totals over all usage rows: calls, cached calls, tokens, cost (``None`` if nothing is priced),
    whether the cost is partial (some model had no price), and the cache hit rate."""
    data = _normalise(rows, prices)
    counts = {f: sum(getattr(line, f) for line in data) for f in INT_FIELDS}
    costs = [line.cost_usd for line in data if line.cost_usd is not None]
    spent = any(line.prompt_tokens or line.completion_tokens for line in data)
    return CostSummary(
        calls=counts["calls"], cached_calls=counts["cached_calls"], failed_calls=counts["failed_calls"],
        prompt_tokens=counts["prompt_tokens"], completion_tokens=counts["completion_tokens"],
        # nothing asked of a model costs nothing, priced or not; tokens without a price: the cost is unknown
        cost_usd=round(sum(costs), 6) if costs else (None if spent else 0.0),
        cost_partial=bool(costs) and len(costs) < len(data),
        cache_hit_rate=round(counts["cached_calls"] / counts["calls"], 3) if counts["calls"] else None,
        models=sorted({line.model for line in data if line.model}),
    )
