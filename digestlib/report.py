"""Tables for the notebook and the HTML report (plain pandas; no HTML is built here by hand).

pandas escapes cell text in ``DataFrame.to_html`` / ``_repr_html_`` (``escape=True``), and the report
exporter sanitises every HTML output again with nh3, so paper titles are safe in these tables.

Usage rows (from the store) are plain dicts with keys ``task, model, calls, cached_calls,
prompt_tokens, completion_tokens, cost_usd`` (``cost_usd`` may be missing or ``None``: it is then
estimated from ``prices``, USD per 1M tokens per model as in ``LLMSettings.prices``).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Iterable, Mapping

import pandas as pd

from .budget import estimate_cost
from .models import INTERPRET, TRANSLATE, DayDigest, PaperEntry, ResultStatus, TextStatus
from .selection import build_digest, stored_selection

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
_INT_FIELDS = ("calls", "cached_calls", "failed_calls", "prompt_tokens", "completion_tokens")
FAILED_CALL_COLUMNS = ["task", "model", "status", "calls", "cause"]


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


def with_failed_calls(usage: Iterable[Mapping[str, Any]], failed: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The usage rows plus one row per (task, model, status) of failed calls (``failed_calls``, their
    seconds, no tokens): a task whose every call failed still gets its line in the usage table."""
    return [dict(r) for r in usage] + [
        {"task": r["task"], "model": r["model"], "failed_calls": int(_num(r.get("calls"))),
         "seconds": _num(r.get("seconds"))} for r in failed]


def failed_calls_table(failed: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Failed LLM calls per task, model and status, with the last cause the endpoint gave."""
    return pd.DataFrame([{c: r.get(c, "") for c in FAILED_CALL_COLUMNS} for r in failed], columns=FAILED_CALL_COLUMNS)


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


def store_usage(cfg: Any) -> list[dict[str, Any]]:
    """The day's LLM usage rows from the store, for :func:`usage_table` (calls, cache hits, failed
    calls, tokens)."""
    from .store import Store

    with Store(cfg.store_path) as store:
        day = cfg.date.isoformat()
        return with_failed_calls(store.usage_rows(day), store.failed_call_rows(day))


def store_failed_calls(cfg: Any) -> list[dict[str, Any]]:
    """The day's failed LLM calls per task, model and status, with the last cause."""
    from .store import Store

    with Store(cfg.store_path) as store:
        return store.failed_call_rows(cfg.date.isoformat())


# --------------------------------------------------------------------------------------------------
# The report page: numbers, charts, the papers with their statuses, then the digest. Built from the store
# alone, so `digest publish` refreshes it with the reviewer's decisions (no kernel, no network).

NO_PRICE = "no price configured"


def _review_status(reviews: Mapping[str, Any], arxiv_id: str) -> str:
    record = reviews.get(arxiv_id)
    return record.status.value if record is not None else "pending"


def pdf_engine_counts(store: Any, papers: Iterable[Any], *, auto: bool = True) -> dict[str, int]:
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


def day_numbers(cfg: Any, store: Any) -> dict[str, Any]:
    """The day's numbers for the report (from the store): papers, review states, failures with their
    causes, LLM calls, tokens, cost (None when no price is configured) and time per stage."""
    selection = stored_selection(cfg, store)
    reviews = store.reviews(cfg.date)
    statuses = [_review_status(reviews, p.arxiv_id) for p in selection.new]
    failures: list[tuple[str, str, str]] = []
    for paper in selection.new:
        for task in (TRANSLATE, INTERPRET):
            result = store.get_result(paper.arxiv_id, paper.version, task)
            if result is not None and result.status is ResultStatus.FAILED:
                failures.append((paper.versioned_id, task, result.detail or "no reason recorded"))
    failed_calls = store.failed_call_rows(cfg.date.isoformat())
    usage = with_failed_calls(store.usage_rows(cfg.date.isoformat()), failed_calls)
    summary = cost_summary(usage, cfg.llm.prices)
    seconds: dict[str, float] = {}
    for row in usage:  # the time failed calls took counts too
        seconds[str(row["task"])] = seconds.get(str(row["task"]), 0.0) + _num(row.get("seconds"))
    return {
        "announced": selection.fetched_count, "selected": len(selection.new),
        "shown": sum(1 for s in statuses if s != "rejected"),
        "approved": statuses.count("approved"), "rejected": statuses.count("rejected"),
        "pending": statuses.count("pending"), "failures": failures, "usage": usage, "summary": summary,
        "failed_calls": failed_calls, "seconds": seconds,
        "papers": selection.new, "reviews": reviews,
        "pdf_engines": pdf_engine_counts(store, selection.new, auto=cfg.fulltext.pdf_engine == "auto"),
    }


def charts_png(numbers: Mapping[str, Any]) -> bytes:
    """Papers per category and per review status, tokens and LLM time per stage: one PNG (drawn
    offline with matplotlib's Agg renderer; embedded in the page, nothing fetched).

    A ``Figure`` without pyplot, as matplotlib's docs advise for figures made on a server: no global
    figure manager, no GUI backend to choose, and pyplot's import is most of the cell's time."""
    import io
    from collections import Counter

    from matplotlib.figure import Figure

    papers = numbers["papers"]
    per_category = Counter(p.primary_category for p in papers)
    per_status = {"pending": numbers["pending"], "approved": numbers["approved"], "rejected": numbers["rejected"]}
    tokens: dict[str, int] = {}
    for row in numbers["usage"]:
        tokens[str(row["task"])] = tokens.get(str(row["task"]), 0) + int(_num(row.get("prompt_tokens"))) \
            + int(_num(row.get("completion_tokens")))
    fig = Figure(figsize=(14, 3.2))
    axes = fig.subplots(1, 4)
    panels = [("papers per primary category", dict(per_category.most_common())), ("papers per review status", per_status),
              ("tokens per stage", tokens), ("LLM seconds per stage", numbers["seconds"])]
    for ax, (title, data) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        if data:
            ax.bar(list(data), list(data.values()), color="#4c72b0")
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center")
            ax.set_xticks([])
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)  # Figure.savefig draws with the Agg canvas it made itself
    return buffer.getvalue()


def load_charts_in_background() -> threading.Thread:
    """Import matplotlib's figure and Agg canvas and read its font list in a background thread.

    Called by the notebook before the day's run: the run mostly waits on the network, so this costs it
    nothing, and the report's first chart (about 0.3 s of imports) no longer adds to the end of the run.
    Joining is optional: an import another thread has begun is simply waited for."""

    def load() -> None:
        for name in ("matplotlib.figure", "matplotlib.backends.backend_agg"):  # what charts_png draws with
            importlib.import_module(name)
        from matplotlib import font_manager

        font_manager.fontManager.findfont("DejaVu Sans")  # builds or reads the font cache once

    thread = threading.Thread(target=load, name="load-charts", daemon=True)
    thread.start()
    return thread


def numbers_html(numbers: Mapping[str, Any]) -> str:
    import html

    s = numbers["summary"]
    cost = NO_PRICE if s["cost_usd"] is None else f"${s['cost_usd']:.4f}" + (" (some models have no price)" if s["cost_partial"] else "")
    rows = [("announced (new + cross-lists)", numbers["announced"]), ("in this post's selection", numbers["selected"]),
            ("shown in the post", numbers["shown"]), ("approved", numbers["approved"]),
            ("rejected", numbers["rejected"]), ("pending review", numbers["pending"]),
            ("failed tasks", len(numbers["failures"])), ("LLM calls (cache hits)", f"{s['calls']} ({s['cached_calls']})"),
            ("LLM calls failed (no usable answer)", s["failed_calls"]),
            ("tokens in / out", f"{s['prompt_tokens']:,} / {s['completion_tokens']:,}"), ("cost", cost)]
    rows += [(f"LLM time, {task}", f"{sec:.1f} s") for task, sec in numbers["seconds"].items()]
    rows.append(("PDFs read, per engine", ", ".join(f"{e} {n}" for e, n in numbers.get("pdf_engines", {}).items()) or "none"))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    out = f"<table class='digest-numbers' lang='en'>{body}</table>"
    if numbers["failures"]:
        out += "<h3 lang='en'>Failed tasks</h3><table class='digest-failures' lang='en'><tr><th>paper</th><th>task</th><th>cause</th></tr>" + "".join(
            f"<tr><td>{html.escape(i)}</td><td>{html.escape(t)}</td><td>{html.escape(c)}</td></tr>"
            for i, t, c in numbers["failures"]) + "</table>"
    if numbers.get("failed_calls"):
        out += "<h3 lang='en'>Failed LLM calls</h3>" + failed_calls_html(numbers["failed_calls"])
    return out


def failed_calls_html(failed: Iterable[Mapping[str, Any]]) -> str:
    """Failed calls per task, model and status with the last cause (escaped; the causes are redacted)."""
    import html

    head = "".join(f"<th>{c}</th>" for c in FAILED_CALL_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in FAILED_CALL_COLUMNS)
                   + "</tr>" for r in failed)
    return f"<table class='digest-failed-calls' lang='en'><tr>{head}</tr>{rows}</table>"


def papers_html(cfg: Any, store: Any, numbers: Mapping[str, Any]) -> str:
    """The table of papers: link, title (English), categories, task and review statuses."""
    import html


    rows = []
    for paper in numbers["papers"]:
        t = store.get_result(paper.arxiv_id, paper.version, TRANSLATE)
        i = store.get_result(paper.arxiv_id, paper.version, INTERPRET)
        rows.append(
            f"<tr><td><a href='{html.escape(paper.abs_url)}'>{html.escape(paper.versioned_id)}</a></td>"
            f"<td lang='en'>{html.escape(' '.join(paper.title.split()))}</td>"
            f"<td>{html.escape(', '.join(paper.categories))}</td>"
            f"<td>{t.status.value if t else 'pending'}</td><td>{i.status.value if i else 'pending'}</td>"
            f"<td>{_review_status(numbers['reviews'], paper.arxiv_id)}</td>{_glance_cells(store, paper)}</tr>")
    if not rows:
        return ""
    return ("<table class='digest-papers'><tr><th>arXiv</th><th>title</th><th>categories</th><th>translation</th>"
            "<th>interpretation</th><th>review</th><th>venue</th><th>code / demo</th></tr>" + "".join(rows)
            + "</table>")


def _glance_cells(store: Any, paper: Any) -> str:
    """The venue the authors name (venue.py) and their code / demo links (links.py): live, as in the post."""
    import html

    from .links import paper_links
    from .selection import first_page
    from .venue import paper_venues

    venues = "; ".join(f"{html.escape(v.name)} ({v.status.value})" for v in paper_venues(paper))
    found = paper_links(paper, first_page(store, paper))
    links = " ".join(f"<a href='{html.escape(u)}'>{kind}</a>"
                     for kind, urls in (("code", found.code), ("demo", found.demo)) for u in urls)
    return f"<td lang='en'>{venues}</td><td>{links}</td>"


def report_notebook(cfg: Any):
    """The report as a notebook node (markdown cells and outputs only), for the report exporter."""
    import base64

    import nbformat

    from . import render
    from .store import Store

    v4 = nbformat.v4
    with Store(cfg.store_path) as store:
        numbers = day_numbers(cfg, store)
        table = papers_html(cfg, store, numbers)
        day = build_digest(cfg, store, stored_selection(cfg, store))

    def output(data: dict[str, Any]) -> Any:
        cell = v4.new_code_cell("")
        cell.outputs = [v4.new_output("display_data", data=data)]
        return cell

    cells = [v4.new_markdown_cell(f"# arXiv digest {cfg.date}: report"),
             v4.new_markdown_cell("## The day's numbers"), output({"text/html": numbers_html(numbers)}),
             v4.new_markdown_cell("## Charts"),
             output({"image/png": base64.b64encode(charts_png(numbers)).decode(), "text/plain": "charts"})]
    if table:
        cells += [v4.new_markdown_cell("## Papers"), output({"text/html": table})]
    cells += [v4.new_markdown_cell("## The post"),
              output({"text/markdown": "".join(render.render_chunks(day))})]
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def write_report(cfg: Any, path: Any) -> None:
    """Write the report page for the day (used by `digest publish`)."""
    from .atomic import atomic_write_text
    from .exporters import ReportExporter

    body, _ = ReportExporter().from_notebook_node(report_notebook(cfg))
    atomic_write_text(path, body)


def display_report(cfg: Any) -> None:
    """In the notebook (and so in the run's report): the day's numbers, the charts, the papers table."""
    import base64

    from IPython.display import HTML, display

    from .store import Store

    with Store(cfg.store_path) as store:
        numbers = day_numbers(cfg, store)
        table = papers_html(cfg, store, numbers)
    display(HTML(numbers_html(numbers)))
    display({"image/png": base64.b64encode(charts_png(numbers)).decode(), "text/plain": "charts"}, raw=True)
    if table:
        display(HTML(table))


def usage_display(rows: Iterable[Mapping[str, Any]], prices: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
    """The usage table as people read it: an unknown cost says so instead of ``NaN``."""
    df = usage_table(rows, prices)
    if df.empty:
        return df
    df = df.astype({"cost_usd": "object"})
    df["cost_usd"] = [NO_PRICE if pd.isna(v) else f"{v:.6f}" for v in df["cost_usd"]]
    return df


def display_table(df: pd.DataFrame, empty: str) -> None:
    """A table, or one line saying there is nothing (never a header-only table)."""
    from IPython.display import Markdown, display

    display(df if not df.empty else Markdown(empty))


def display_usage(cfg: Any) -> None:
    """The usage table (failed calls in their own column), then the failed calls with their causes."""
    display_table(usage_display(store_usage(cfg), cfg.llm.prices), "No LLM call was made for this day.")
    failed = store_failed_calls(cfg)
    if failed:
        from IPython.display import Markdown, display

        display(Markdown("Failed LLM calls (no usable answer), with the last cause the endpoint gave:"))
        display(failed_calls_table(failed))
