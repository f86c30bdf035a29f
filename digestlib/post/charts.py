"""The report's bar charts: which the day has data for, their alt text, and the PNGs (matplotlib, offline).

matplotlib is loaded on first use by :func:`matplotlib_module`, this module's one lazy load (a module-level
``lazy_loader.load`` of ``matplotlib.figure`` would import matplotlib itself at once, to find the
submodule): the notebook and `digest run` start :func:`load_charts_in_background` before the day's run,
and a process that only reads a finished day never loads it. pyplot is never used (no global state, no GUI
backend).
"""

from __future__ import annotations

import importlib
import io
import threading
from collections import Counter
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING

from .labels import REPORT_LABELS, ReportLabels
from .tables import as_number
from .view import DayNumbers

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["chart_alt", "chart_figure", "chart_panels", "chart_png", "charts", "load_charts_in_background",
           "matplotlib_module"]

# what chart_png draws with: the figure and its own Agg canvas
CHART_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg")


def matplotlib_module(name: str) -> ModuleType:
    """``matplotlib.<...>`` imported on first use (see the module docstring)."""
    return importlib.import_module(name)


def _count_tokens(numbers: DayNumbers) -> dict[str, int]:
    tokens: dict[str, int] = {}
    for row in numbers["usage"]:
        tokens[str(row["task"])] = tokens.get(str(row["task"]), 0) + int(as_number(row.get("prompt_tokens"))) \
            + int(as_number(row.get("completion_tokens")))
    return tokens


def chart_panels(numbers: DayNumbers, words: ReportLabels) -> list[tuple[str, dict[str, float]]]:
    """The charts the day has data for: papers per category and per review status always; tokens and
    LLM time per stage only when the model was asked something (no empty 0–1 axes)."""
    per_category: dict[str, float] = dict(Counter(p.primary_category for p in numbers["papers"]).most_common())
    per_status: dict[str, float] = {words.statuses[k]: numbers[k] for k in ("pending", "approved", "rejected")}
    panels = [(words.chart_titles["category"], per_category), (words.chart_titles["status"], per_status)]
    tokens: dict[str, float] = {words.statuses.get(k, k): v for k, v in _count_tokens(numbers).items() if v}
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


def chart_figure(title: str, data: Mapping[str, float], *, integer: bool = True) -> Figure:
    """One bar chart (a matplotlib ``Figure`` without pyplot: nothing global, no GUI backend). Counts get
    integer ticks only (no 0.5 papers)."""
    fig = matplotlib_module("matplotlib.figure").Figure(figsize=(4.2, 3.0))
    ax = fig.subplots()
    ax.set_title(title, fontsize=10, loc="left")
    if data:
        ax.bar([str(k) for k in data], list(data.values()), color="#4c72b0")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.yaxis.set_major_locator(matplotlib_module("matplotlib.ticker").MaxNLocator(integer=integer))
    fig.tight_layout()
    return fig


def chart_png(title: str, data: Mapping[str, float], *, integer: bool = True) -> bytes:
    """One bar chart as PNG (drawn offline with the figure's own Agg canvas, embedded in the page)."""
    fig = chart_figure(title, data, integer=integer)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def charts(numbers: DayNumbers, words: ReportLabels) -> list[tuple[bytes, str]]:
    """Each chart of the day as (PNG, alt text)."""
    _use_cjk_font()
    titles = words.chart_titles
    return [(chart_png(title, data, integer=title != titles["seconds"]), chart_alt(title, data, words))
            for title, data in chart_panels(numbers, words)]


def _use_cjk_font() -> None:
    """Chinese and Japanese chart titles need a font that has them (Debian's fonts-wqy-microhei or Noto
    CJK when installed); matplotlib falls back to DejaVu Sans for the rest."""
    font_manager = matplotlib_module("matplotlib.font_manager")
    names = {f.name for f in font_manager.fontManager.ttflist}
    wanted = [n for n in ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK JP")
              if n in names]
    rc_params = matplotlib_module("matplotlib").rcParams
    rc_params["font.sans-serif"] = [*wanted, "DejaVu Sans"]
    rc_params["font.family"] = "sans-serif"


def load_charts_in_background() -> threading.Thread:
    """Import matplotlib's figure and Agg canvas and read its font list in a background thread.

    Called by the notebook before the day's run, and by `digest run` before papermill (which then only waits
    on the kernel): both mostly wait, so this costs them nothing, and the report's first chart (about 0.3 s
    of imports) no longer adds to the end of the run.
    Joining is optional: an import another thread has begun is simply waited for."""

    def load() -> None:
        for name in CHART_MODULES:
            matplotlib_module(name)
        matplotlib_module("matplotlib.font_manager").fontManager.findfont("DejaVu Sans")  # the font cache, once

    thread = threading.Thread(target=load, name="load-charts", daemon=True)
    thread.start()
    return thread
