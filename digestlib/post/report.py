"""The day's report: one page (``report.html``) for every path, and the same pieces in the notebook.

:func:`report_sections` is the one builder: the summary, notes, numbers, usage, charts, papers and the
post of a :class:`~digestlib.post.view.DayView` as display outputs. :func:`build_report` turns them into a
notebook node for nbconvert's :class:`~digestlib.post.exporters.ReportExporter` (run, publish and review
all write the page with :func:`write_report`); :func:`display_report` shows the numbers, charts and
papers of the same builder in the notebook. Every function here is over the view: none reads the store.

No HTML is built here by hand: the HTML pieces are the macros of ``templates/report_parts/parts.html.j2``,
rendered by Jinja2 with autoescape, and the exporter sanitises every HTML output again with nh3. The
notebook's tables are pandas DataFrames (tables.py), the charts matplotlib PNGs (charts.py).

Lazy loads: jinja2 and nbformat (module level, ``lazy_loader.load``) and the exporters module with
nbconvert (:func:`report_exporter`) are loaded when the first page is built, pandas when the first table
is, so that the kernel's start and a process that only reads a day never load nbconvert.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import lazy_loader

from ..base.atomic import atomic_write_text
from ..base.errors import redact
from ..day.outcome import RunOutcome
from . import render, show
from .charts import chart_figure, chart_panels, chart_png, charts, load_charts_in_background
from .labels import REPORT_LABELS, ReportLabels, report_labels_for
from .mathml import math_in_html
from .tables import (FAILED_CALL_COLUMNS, NO_PRICE, USAGE_COLUMNS, CostSummary, Prices, Row, cost_summary,
                     day_table, failed_calls_table, review_table, usage_display, usage_table, with_failed_calls)
from .venue import paper_venues
from .links import paper_links
from .view import (DayNumbers, DayView, PaperView, day_numbers, keep_outcome, kept_outcome, pdf_engine_counts,
                   read_day)

if TYPE_CHECKING:
    import jinja2
    import nbformat
    import pandas

    from .exporters import ReportExporter
else:
    jinja2 = lazy_loader.load("jinja2")
    pandas = lazy_loader.load("pandas")  # the same lazy module as tables.py's
    nbformat = lazy_loader.load("nbformat")

__all__ = [
    "FAILED_CALL_COLUMNS", "NO_PRICE", "USAGE_COLUMNS", "DayView", "Section", "build_report", "chart_figure",
    "chart_panels", "chart_png", "charts", "cost_summary", "cost_text", "day_numbers", "day_table",
    "display_report", "display_table", "display_usage", "failed_calls_html", "failed_calls_table",
    "keep_outcome", "kept_outcome", "load_charts_in_background", "numbers_html", "papers_html",
    "pdf_engine_counts", "post_math", "read_day", "report_notebook", "report_sections", "review_table",
    "summary_lines", "usage_display", "usage_html", "usage_table", "with_failed_calls", "write_report",
]

PARTS_DIR = Path(__file__).parent / "templates" / "report_parts"

# One display output: its data per mime type, and its metadata.
Bundle = tuple[dict[str, str], dict[str, object]]
Outcome = RunOutcome | Mapping[str, object]


@cache
def _parts() -> jinja2.runtime.TemplateModule:
    """The HTML macros (autoescaped), loaded once."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PARTS_DIR), autoescape=True)
    return env.get_template("parts.html.j2").module


def cost_text(summary: CostSummary | Mapping[str, object], words: ReportLabels) -> str:
    """The day's cost as a number, or the true reason there is none."""
    if summary["cost_usd"] is None:
        return words.cost_none_priced
    cost = f"${summary['cost_usd']:.4f}"
    return words.cost_partial.format(cost=cost) if summary["cost_partial"] else cost


def numbers_html(numbers: DayNumbers, words: ReportLabels | None = None) -> str:
    """The day's numbers as a two-column table with human headers (then failed tasks and calls)."""
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
    out = str(_parts().numbers(words.item, words.value, rows))
    if numbers["failures"]:
        out += str(_parts().failures(words.failures, words.failure_columns,
                                     [(i, words.statuses.get(t, t), c) for i, t, c in numbers["failures"]]))
    if numbers.get("failed_calls"):
        out += str(_parts().heading(words.rows["failed_calls"])) + failed_calls_html(numbers["failed_calls"])
    return out


def usage_html(numbers: DayNumbers, prices: Prices | None, words: ReportLabels) -> str:
    """LLM usage per task and model with human headers (no pandas index), or one sentence when nothing
    was asked of a model."""
    table = usage_table(numbers["usage"], prices)
    if table.empty:
        return str(_parts().sentence(words.no_calls))
    columns = [c for c in USAGE_COLUMNS if c in words.usage_columns]
    rows = []
    for record in table.to_dict("records"):
        cells = []
        for c in columns:
            value = record[c]
            if c == "task":
                value = words.total if value == "total" else words.statuses.get(value, value)
            elif c == "cost_usd":
                value = words.cost_none_priced if pandas.isna(value) else f"{value:.4f}"
            cells.append(value)
        rows.append(cells)
    return str(_parts().usage([words.usage_columns[c] for c in columns], rows))


def failed_calls_html(failed: Iterable[Row]) -> str:
    """Failed calls per task, model and status with the last cause (escaped; the causes are redacted)."""
    return str(_parts().failed_calls(FAILED_CALL_COLUMNS, [[r.get(c, "") for c in FAILED_CALL_COLUMNS]
                                                           for r in failed]))


@dataclass(frozen=True)
class _PaperRow:
    """One row of the papers table, every field still text to escape."""

    url: str
    id: str
    title: str
    cells: tuple[str, str, str]  # categories, translation and interpretation status
    review: str
    review_label: str
    venues: tuple[str, ...]
    links: tuple[tuple[str, str], ...]  # (code | demo, url)


def _paper_row(p: PaperView, words: ReportLabels) -> _PaperRow:
    """The venue the authors name (venue.py) and their code / demo links (links.py): live, as in the post."""
    say = words.statuses
    paper, t, i = p.paper, p.translation, p.interpretation
    found = paper_links(paper, p.first_page)
    return _PaperRow(
        url=paper.abs_url, id=paper.versioned_id, title=" ".join(paper.title.split()),
        cells=(", ".join(paper.categories),
               say.get(t.status.value, t.status.value) if t else say["pending"],
               say.get(i.status.value, i.status.value) if i else say["pending"]),
        review=p.review, review_label=say.get(p.review, p.review),
        venues=tuple(f"{v.name} ({v.status.value})" for v in paper_venues(paper)),
        links=tuple((kind, u) for kind, urls in (("code", found.code), ("demo", found.demo)) for u in urls))


def papers_html(view: DayView, words: ReportLabels | None = None) -> str:
    """The table of papers: link, title (English, left-aligned), categories, task and review statuses,
    venues and links; empty when the day selected none."""
    words = words or REPORT_LABELS["en"]
    if not view.papers:
        return ""
    return str(_parts().papers(words.paper_columns, [_paper_row(p, words) for p in view.papers]))


def summary_lines(numbers: DayNumbers, outcome: Outcome | None, words: ReportLabels) -> list[str]:
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


@dataclass(frozen=True)
class Section:
    """One part of the report: its key, its heading (``""``: none) and its display outputs."""

    key: str
    heading: str
    outputs: tuple[Bundle, ...]


def _html(text: str) -> Bundle:
    return {"text/html": text}, {}


def report_sections(view: DayView, *, outcome: Outcome | None = None, notes: Iterable[str] = ()) -> list[Section]:
    """The report, the one built for every path (run, publish, review, the notebook), in order: summary,
    notes, numbers, usage, charts, papers, the post. ``outcome``: the run's (else the one the last run
    kept, with its notes)."""
    words = report_labels_for(view.cfg.language)
    numbers = day_numbers(view)
    if outcome is None and view.outcome is not None:
        outcome = view.outcome
        kept = view.outcome.get("notes")
        notes = notes or ([str(n) for n in kept] if isinstance(kept, list) else [])
    sections = [Section("summary", words.summary, (_html(str(_parts().summary(summary_lines(numbers, outcome,
                                                                                             words)))),))]
    notes = [n for n in notes if n]
    if notes:
        sections.append(Section("notes", words.notes, (_html(str(_parts().notes(notes))),)))
    sections += [Section("numbers", words.numbers, (_html(numbers_html(numbers, words)),)),
                 Section("usage", words.usage, (_html(usage_html(numbers, view.cfg.llm.prices, words)),))]
    pictures: list[Bundle] = [({"image/png": base64.b64encode(png).decode(), "text/plain": alt}, {"alt": alt})
                              for png, alt in charts(numbers, words)]
    if len(chart_panels(numbers, words)) < 4:
        pictures.append(_html(str(_parts().sentence(words.no_calls))))
    sections.append(Section("charts", words.charts, tuple(pictures)))
    table = papers_html(view, words)
    if table:
        sections.append(Section("papers", words.papers, (_html(table),)))
    sections.append(Section("post", words.post, (({"text/markdown": "".join(render.render_chunks(view.day))}, {}),)))
    return sections


def report_notebook(view: DayView, *, outcome: Outcome | None = None,
                    notes: Iterable[str] = ()) -> nbformat.NotebookNode:
    """The report as a notebook node of markdown cells (the title, each section's heading) and outputs,
    for the report exporter."""
    words = report_labels_for(view.cfg.language)
    v4 = nbformat.v4

    def output(data: dict[str, str], metadata: dict[str, object]) -> nbformat.NotebookNode:
        cell = v4.new_code_cell("")
        cell.outputs = [v4.new_output("display_data", data=data, metadata=metadata)]
        return cell

    cells = [v4.new_markdown_cell(f"# {words.title.format(date=view.cfg.date)}")]
    for section in report_sections(view, outcome=outcome, notes=notes):
        cells.append(v4.new_markdown_cell(f"## {section.heading}"))
        cells += [output(data, metadata) for data, metadata in section.outputs]
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                                  "language_info": {"name": "python"}})


def report_exporter() -> ReportExporter:
    """nbconvert's exporter for the page, its module imported on first use (see the module docstring)."""
    return importlib.import_module(".exporters", __package__).ReportExporter()


def build_report(view: DayView, *, outcome: Outcome | None = None, notes: Iterable[str] = ()) -> str:
    """The report page (HTML, redacted): the one function every path writes the report with."""
    exporter = report_exporter()
    exporter.language_code = view.cfg.language
    body, _ = exporter.from_notebook_node(report_notebook(view, outcome=outcome, notes=notes))
    return post_math(redact(body))  # redacted first: a secret split into MathML would escape redact


# The post's output: the one text/markdown output of the report (the rest are HTML and images).
_POST_OUTPUT = re.compile(r"<div [^>]*\bjp-OutputArea-output\b[^>]*\bdata-mime-type=\"text/markdown\"")


def post_math(page: str) -> str:
    """The report page with the post's TeX spans ($x^2$, $$...$$) as MathML, which browsers show without
    any script (mathml.py; the site typesets the same spans with KaTeX). Only the post, from its output to
    the end of the page's main: the tables' costs ("$0.0123") stay text. The page is sanitised already."""
    start = _POST_OUTPUT.search(page)
    if start is None:
        return page
    end = page.find("</main>", start.start())
    end = len(page) if end < 0 else end
    return page[:start.start()] + math_in_html(page[start.start():end]) + page[end:]


def write_report(view: DayView, path: Path, *, outcome: Outcome | None = None, notes: Iterable[str] = ()) -> None:
    """Write the report page for the day (run, publish and review all call this)."""
    atomic_write_text(path, build_report(view, outcome=outcome, notes=notes))


def display_report(view: DayView) -> None:
    """In the notebook: the report's numbers, charts and papers (the very outputs of the page)."""
    for section in report_sections(view):
        if section.key not in ("numbers", "charts", "papers"):
            continue
        for data, metadata in section.outputs:
            if section.key == "charts" and "image/png" not in data:
                continue  # the page's sentence under the charts: the notebook's usage table says it
            if list(data) == ["text/html"]:
                show.display(show.html(data["text/html"]))
            else:
                show.display(data, metadata=metadata, raw=True)


def display_table(df: pandas.DataFrame, empty: str) -> None:
    """A table, or one line saying there is nothing (never a header-only table)."""
    show.display(df if not df.empty else show.markdown(empty))


def display_usage(view: DayView) -> None:
    """The usage table (failed calls in their own column), then the failed calls with their causes."""
    display_table(usage_display(view.usage, view.cfg.llm.prices), "No LLM call was made for this day.")
    if view.failed_calls:
        show.display(show.markdown("Failed LLM calls (no usable answer), with the last cause the endpoint gave:"))
        show.display(failed_calls_table(view.failed_calls))
