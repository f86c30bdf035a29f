"""Tables for the notebook and the HTML report (plain pandas; no HTML is built here by hand).

pandas escapes cell text in ``DataFrame.to_html`` / ``_repr_html_`` (``escape=True``), and the report
exporter sanitises every HTML output again with nh3, so paper titles are safe in these tables.

Usage rows (from the store) are plain dicts with keys ``task, model, calls, cached_calls,
prompt_tokens, completion_tokens, cost_usd`` (``cost_usd`` may be missing or ``None``: it is then
estimated from ``prices``, USD per 1M tokens per model as in ``LLMSettings.prices``).
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import Any, Iterable, Mapping

import pandas as pd

from ..day.spend import estimate_cost
from .labels import REPORT_LABELS, ReportLabels, report_labels_for
from ..base.models import INTERPRET, TRANSLATE, DayDigest, PaperEntry, ResultStatus, TextStatus
from ..day.selection import build_digest, stored_selection

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
    spent = any(r["prompt_tokens"] or r["completion_tokens"] for r in data)
    # nothing asked of a model costs nothing, priced or not; tokens without a price: the cost is unknown
    summary["cost_usd"] = round(sum(costs), 6) if costs else (None if spent else 0.0)
    summary["cost_partial"] = bool(costs) and len(costs) < len(data)
    summary["cache_hit_rate"] = round(summary["cached_calls"] / summary["calls"], 3) if summary["calls"] else None
    summary["models"] = sorted({r["model"] for r in data if r["model"]})
    return summary


def store_usage(cfg: Any) -> list[dict[str, Any]]:
    """The day's LLM usage rows from the store, for :func:`usage_table` (calls, cache hits, failed
    calls, tokens)."""
    from ..store.store import Store

    with Store(cfg.store_path) as store:
        day = cfg.date.isoformat()
        return with_failed_calls(store.usage_rows(day), store.failed_call_rows(day))


def store_failed_calls(cfg: Any) -> list[dict[str, Any]]:
    """The day's failed LLM calls per task, model and status, with the last cause."""
    from ..store.store import Store

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


def _count_tokens(numbers: Mapping[str, Any]) -> dict[str, int]:
    tokens: dict[str, int] = {}
    for row in numbers["usage"]:
        tokens[str(row["task"])] = tokens.get(str(row["task"]), 0) + int(_num(row.get("prompt_tokens"))) \
            + int(_num(row.get("completion_tokens")))
    return tokens


def chart_panels(numbers: Mapping[str, Any], words: ReportLabels) -> list[tuple[str, dict[str, float]]]:
    """The charts the day has data for: papers per category and per review status always; tokens and
    LLM time per stage only when the model was asked something (no empty 0–1 axes)."""
    from collections import Counter

    per_category = dict(Counter(p.primary_category for p in numbers["papers"]).most_common())
    per_status = {words.statuses[k]: numbers[k] for k in ("pending", "approved", "rejected")}
    panels = [(words.chart_titles["category"], per_category), (words.chart_titles["status"], per_status)]
    tokens = {words.statuses.get(k, k): v for k, v in _count_tokens(numbers).items() if v}
    seconds = {words.statuses.get(k, k): round(v, 1) for k, v in numbers["seconds"].items() if v}
    if tokens:
        panels.append((words.chart_titles["tokens"], tokens))
    if seconds:
        panels.append((words.chart_titles["seconds"], seconds))
    return panels


def chart_alt(title: str, data: Mapping[str, float], words: ReportLabels) -> str:
    """What a chart shows, in words (its alt text): the title and every bar's value."""
    if not data:
        return words.chart_empty.format(title=title)
    sep = "、" if words is not REPORT_LABELS["en"] else ", "
    return words.chart_alt.format(title=title, values=sep.join(f"{k} {v:g}" for k, v in data.items()))


def chart_figure(title: str, data: Mapping[str, float], *, integer: bool = True) -> Any:
    """One bar chart (a matplotlib ``Figure`` without pyplot: nothing global, no GUI backend). Counts get
    integer ticks only (no 0.5 papers)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4.2, 3.0))
    ax = fig.subplots()
    ax.set_title(title, fontsize=10, loc="left")
    if data:
        ax.bar([str(k) for k in data], list(data.values()), color="#4c72b0")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=integer))
    fig.tight_layout()
    return fig


def chart_png(title: str, data: Mapping[str, float], *, integer: bool = True) -> bytes:
    """One bar chart as PNG (drawn offline with the figure's own Agg canvas, embedded in the page)."""
    import io

    fig = chart_figure(title, data, integer=integer)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def charts(numbers: Mapping[str, Any], words: ReportLabels) -> list[tuple[bytes, str]]:
    """Each chart of the day as (PNG, alt text)."""
    _use_cjk_font()
    titles = words.chart_titles
    return [(chart_png(title, data, integer=title != titles["seconds"]), chart_alt(title, data, words))
            for title, data in chart_panels(numbers, words)]


def _use_cjk_font() -> None:
    """Chinese and Japanese chart titles need a font that has them (Debian's fonts-wqy-microhei or Noto
    CJK when installed); matplotlib falls back to DejaVu Sans for the rest."""
    from matplotlib import font_manager, rcParams

    names = {f.name for f in font_manager.fontManager.ttflist}
    wanted = [n for n in ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK JP")
              if n in names]
    rcParams["font.sans-serif"] = [*wanted, "DejaVu Sans"]
    rcParams["font.family"] = "sans-serif"


def charts_png(numbers: Mapping[str, Any]) -> bytes:
    """The first chart (kept for callers that want one picture)."""
    return charts(numbers, REPORT_LABELS["en"])[0][0]


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


def cost_text(summary: Mapping[str, Any], words: ReportLabels) -> str:
    """The day's cost as a number, or the true reason there is none."""
    if summary["cost_usd"] is None:
        return words.cost_none_priced
    cost = f"${summary['cost_usd']:.4f}"
    return words.cost_partial.format(cost=cost) if summary["cost_partial"] else cost


def numbers_html(numbers: Mapping[str, Any], words: ReportLabels | None = None) -> str:
    """The day's numbers as a two-column table with human headers (then failed tasks and calls)."""
    import html

    words = words or REPORT_LABELS["en"]
    s = numbers["summary"]
    r = words.rows
    rows = [(r["announced"], numbers["announced"]), (r["selected"], numbers["selected"]),
            (r["shown"], numbers["shown"]), (r["approved"], numbers["approved"]),
            (r["rejected"], numbers["rejected"]), (r["pending"], numbers["pending"]),
            (r["failed_tasks"], len(numbers["failures"])), (r["calls"], f"{s['calls']} ({s['cached_calls']})"),
            (r["failed_calls"], s["failed_calls"]),
            (r["tokens"], f"{s['prompt_tokens']:,} / {s['completion_tokens']:,}"), (r["cost"], cost_text(s, words))]
    rows += [(words.llm_time.format(task=words.statuses.get(task, task)), words.seconds.format(seconds=f"{sec:.1f}"))
             for task, sec in numbers["seconds"].items()]
    engines = numbers.get("pdf_engines", {})
    rows.append((r["pdf_engines"], ", ".join(f"{e} {n}" for e, n in engines.items()) or words.statuses["none"]))
    body = "".join(f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    out = (f"<table class='digest-numbers'><thead><tr><th>{html.escape(words.item)}</th>"
           f"<th>{html.escape(words.value)}</th></tr></thead><tbody>{body}</tbody></table>")
    if numbers["failures"]:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in words.failure_columns)
        out += (f"<h3>{html.escape(words.failures)}</h3><table class='digest-failures'><tr>{head}</tr>" + "".join(
            f"<tr><td>{html.escape(i)}</td><td>{html.escape(words.statuses.get(t, t))}</td>"
            f"<td lang='en'>{html.escape(c)}</td></tr>" for i, t, c in numbers["failures"]) + "</table>")
    if numbers.get("failed_calls"):
        out += f"<h3>{html.escape(words.rows['failed_calls'])}</h3>" + failed_calls_html(numbers["failed_calls"])
    return out


def usage_html(cfg: Any, numbers: Mapping[str, Any], words: ReportLabels) -> str:
    """LLM usage per task and model with human headers (no pandas index), or one sentence when nothing
    was asked of a model."""
    import html

    table = usage_table(numbers["usage"], cfg.llm.prices)
    if table.empty:
        return f"<p>{html.escape(words.no_calls)}</p>"
    columns = [c for c in USAGE_COLUMNS if c in words.usage_columns]
    head = "".join(f"<th>{html.escape(words.usage_columns[c])}</th>" for c in columns)
    rows = []
    for record in table.to_dict("records"):
        cells = []
        for c in columns:
            value = record[c]
            if c == "task":
                value = words.total if value == "total" else words.statuses.get(value, value)
            elif c == "cost_usd":
                value = words.cost_none_priced if pd.isna(value) else f"{value:.4f}"
            cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='digest-usage'><tr>{head}</tr>{''.join(rows)}</table>"


def failed_calls_html(failed: Iterable[Mapping[str, Any]]) -> str:
    """Failed calls per task, model and status with the last cause (escaped; the causes are redacted)."""
    import html

    head = "".join(f"<th>{c}</th>" for c in FAILED_CALL_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in FAILED_CALL_COLUMNS)
                   + "</tr>" for r in failed)
    return f"<table class='digest-failed-calls' lang='en'><tr>{head}</tr>{rows}</table>"


def papers_html(cfg: Any, store: Any, numbers: Mapping[str, Any], words: ReportLabels | None = None) -> str:
    """The table of papers: link, title (English, left-aligned), categories, task and review statuses."""
    import html

    words = words or REPORT_LABELS["en"]
    say = words.statuses
    rows = []
    for paper in numbers["papers"]:
        t = store.get_result(paper.arxiv_id, paper.version, TRANSLATE)
        i = store.get_result(paper.arxiv_id, paper.version, INTERPRET)
        review = _review_status(numbers["reviews"], paper.arxiv_id)
        rows.append(
            f"<tr><td><a href='{html.escape(paper.abs_url)}'>{html.escape(paper.versioned_id)}</a></td>"
            f"<td lang='en' class='digest-title'>{html.escape(' '.join(paper.title.split()))}</td>"
            f"<td>{html.escape(', '.join(paper.categories))}</td>"
            f"<td>{html.escape(say.get(t.status.value, t.status.value) if t else say['pending'])}</td>"
            f"<td>{html.escape(say.get(i.status.value, i.status.value) if i else say['pending'])}</td>"
            f"<td data-review='{review}'>{html.escape(say.get(review, review))}</td>{_glance_cells(store, paper)}</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in words.paper_columns)
    return f"<table class='digest-papers'><tr>{head}</tr>" + "".join(rows) + "</table>"


def _glance_cells(store: Any, paper: Any) -> str:
    """The venue the authors name (venue.py) and their code / demo links (links.py): live, as in the post."""
    import html

    from .links import paper_links
    from ..day.selection import first_page
    from .venue import paper_venues

    venues = "; ".join(f"{html.escape(v.name)} ({v.status.value})" for v in paper_venues(paper))
    found = paper_links(paper, first_page(store, paper))
    links = " ".join(f"<a href='{html.escape(u)}'>{kind}</a>"
                     for kind, urls in (("code", found.code), ("demo", found.demo)) for u in urls)
    return f"<td lang='en'>{venues}</td><td>{links}</td>"


def summary_lines(cfg: Any, numbers: Mapping[str, Any], outcome: Any, words: ReportLabels) -> list[str]:
    """The report's opening: the run's summary (the very numbers and duration the CLI printed, kept in
    ``<day>/run-outcome.json`` for publish and review) and the review's state."""
    lines = []
    if outcome is None:
        lines.append(words.no_run_line)
    else:
        o = outcome if isinstance(outcome, Mapping) else outcome.as_dict()
        cost = cost_text({"cost_usd": o["cost"], "cost_partial": False}, words)
        lines.append(words.run_line.format(papers=o["papers"], translated=o["translated"],
                                           interpreted=o["interpreted"], pending_pdf=o["pending_pdf"],
                                           failed=o["failed"], calls=o["calls"], tokens=f"{o['tokens']:,}",
                                           cost=cost, seconds=f"{o['seconds']:.1f}"))
    lines.append(words.review_line.format(approved=numbers["approved"], rejected=numbers["rejected"],
                                          pending=numbers["pending"], shown=numbers["shown"]))
    return lines


OUTCOME_FILE = "run-outcome.json"


def keep_outcome(cfg: Any, outcome: Any, notes: Iterable[str] = ()) -> None:
    """Keep the run's outcome and notes beside the post, so that every later report opens the same way."""
    import json

    from ..base.atomic import atomic_write_text

    kept = {**outcome.as_dict(), "notes": [str(n) for n in notes]}
    atomic_write_text(cfg.day_dir / OUTCOME_FILE, json.dumps(kept, indent=1, ensure_ascii=False) + "\n")


def kept_outcome(cfg: Any) -> dict[str, Any] | None:
    import json

    try:
        kept = json.loads((cfg.day_dir / OUTCOME_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None


def report_notebook(cfg: Any, *, outcome: Any = None, notes: Iterable[str] = ()):
    """The report, the one built for every path (run, publish, review), as a notebook node of markdown
    cells and outputs for the report exporter: summary, notes, numbers, usage, charts, papers, the post.
    ``outcome``: the run's (else the one kept by the last run)."""
    import base64
    import html

    import nbformat

    from . import render
    from ..store.store import Store

    words = report_labels_for(cfg.language)
    v4 = nbformat.v4
    with Store(cfg.store_path) as store:
        numbers = day_numbers(cfg, store)
        table = papers_html(cfg, store, numbers, words)
        day = build_digest(cfg, store, stored_selection(cfg, store))
    if outcome is None:
        outcome = kept_outcome(cfg)
        notes = notes or (outcome or {}).get("notes", ())

    def output(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> Any:
        cell = v4.new_code_cell("")
        cell.outputs = [v4.new_output("display_data", data=data, metadata=metadata or {})]
        return cell

    summary = "".join(f"<p class='digest-summary'>{html.escape(line)}</p>"
                      for line in summary_lines(cfg, numbers, outcome, words))
    cells = [v4.new_markdown_cell(f"# {words.title.format(date=cfg.date)}"),
             v4.new_markdown_cell(f"## {words.summary}"), output({"text/html": summary})]
    notes = [n for n in notes if n]
    if notes:
        cells += [v4.new_markdown_cell(f"## {words.notes}"),
                  output({"text/html": "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"})]
    cells += [v4.new_markdown_cell(f"## {words.numbers}"), output({"text/html": numbers_html(numbers, words)}),
              v4.new_markdown_cell(f"## {words.usage}"), output({"text/html": usage_html(cfg, numbers, words)}),
              v4.new_markdown_cell(f"## {words.charts}")]
    for png, alt in charts(numbers, words):
        cells.append(output({"image/png": base64.b64encode(png).decode(), "text/plain": alt}, {"alt": alt}))
    if len(chart_panels(numbers, words)) < 4:
        cells.append(output({"text/html": f"<p>{html.escape(words.no_calls)}</p>"}))
    if table:
        cells += [v4.new_markdown_cell(f"## {words.papers}"), output({"text/html": table})]
    cells += [v4.new_markdown_cell(f"## {words.post}"),
              output({"text/markdown": "".join(render.render_chunks(day))})]
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                                  "language_info": {"name": "python"}})


def build_report(cfg: Any, *, outcome: Any = None, notes: Iterable[str] = ()) -> str:
    """The report page (HTML, redacted): the one function every path writes the report with."""
    from ..base.errors import redact
    from .exporters import ReportExporter

    exporter = ReportExporter()
    exporter.language_code = cfg.language
    body, _ = exporter.from_notebook_node(report_notebook(cfg, outcome=outcome, notes=notes))
    return post_math(redact(body))  # redacted first: a secret split into MathML would escape redact


# The post's output: the one text/markdown output of the report (the rest are HTML and images).
_POST_OUTPUT = re.compile(r"<div [^>]*\bjp-OutputArea-output\b[^>]*\bdata-mime-type=\"text/markdown\"")


def post_math(page: str) -> str:
    """The report page with the post's TeX spans ($x^2$, $$...$$) as MathML, which browsers show without
    any script (mathml.py; the site typesets the same spans with KaTeX). Only the post, from its output to
    the end of the page's main: the tables' costs ("$0.0123") stay text. The page is sanitised already."""
    from .mathml import math_in_html

    start = _POST_OUTPUT.search(page)
    if start is None:
        return page
    end = page.find("</main>", start.start())
    end = len(page) if end < 0 else end
    return page[:start.start()] + math_in_html(page[start.start():end]) + page[end:]


def write_report(cfg: Any, path: Any, *, outcome: Any = None, notes: Iterable[str] = ()) -> None:
    """Write the report page for the day (run, publish and review all call this)."""
    from ..base.atomic import atomic_write_text

    atomic_write_text(path, build_report(cfg, outcome=outcome, notes=notes))


def display_report(cfg: Any) -> None:
    """In the notebook: the report's numbers, charts and papers (the same pieces as the page)."""
    import base64

    from IPython.display import HTML, display

    from ..store.store import Store

    words = report_labels_for(cfg.language)
    with Store(cfg.store_path) as store:
        numbers = day_numbers(cfg, store)
        table = papers_html(cfg, store, numbers, words)
    display(HTML(numbers_html(numbers, words)))
    for png, alt in charts(numbers, words):
        display({"image/png": base64.b64encode(png).decode(), "text/plain": alt}, metadata={"alt": alt}, raw=True)
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
