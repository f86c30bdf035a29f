"""The review UI: ipywidgets over the store, used in ``notebooks/review.ipynb`` inside JupyterLab.

A reviewer sees each paper of a day with its status and the numbers the evidence check could not find in
the paper, edits the Chinese abstract and the 详细解读, hides papers from the post, and saves; edits live in
the store (never in the notebook), so ``digest publish`` and later runs of the date use them.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets

from .config import Config
from .errors import DigestError
from .models import PaperEntry
from .pipeline import build_digest, stored_selection
from .store import Store

REVIEW_NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "review.ipynb"


@dataclass
class PaperForm:
    """The widgets of one paper; ``changes()`` tells what the reviewer altered."""

    entry: PaperEntry
    approved: widgets.Checkbox
    abstract: widgets.Textarea
    details: widgets.Textarea
    box: widgets.VBox

    def changes(self) -> dict[str, str]:
        changed = {}
        if self.abstract.value != self.entry.abstract_zh:
            changed["abstract_zh"] = self.abstract.value
        if self.details.value != self.entry.details_md:
            changed["details_md"] = self.details.value
        return changed


class ReviewApp:
    """Edit and approve one day's papers; Save writes to the store."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        with Store(cfg.store_path) as store:
            digest = build_digest(cfg, store, stored_selection(cfg, store))
            self.approvals = store.approvals(cfg.date)
        self.forms = [self._form(entry) for entry in digest.entries]
        self.status = widgets.HTML()
        self.save_button = widgets.Button(description="Save", button_style="primary", icon="save")
        self.save_button.on_click(lambda _: self.save())

    def _form(self, entry: PaperEntry) -> PaperForm:
        paper = entry.paper
        header = widgets.HTML(
            f"<h3>{html.escape(paper.title)}</h3>"
            f"<p><a href='{html.escape(paper.abs_url)}' target='_blank'>{html.escape(paper.versioned_id)}</a>"
            f" · {html.escape(', '.join(paper.categories))} · translation: {entry.translation_status.value}"
            f" · interpretation: {entry.interpretation_status.value}</p>")
        unverified = widgets.HTML(
            "<p style='color:#b35900'>Numbers not found in the paper's text: "
            + html.escape(", ".join(entry.unverified_numbers)) + "</p>" if entry.unverified_numbers else "")
        approved = widgets.Checkbox(value=self.approvals.get(paper.arxiv_id, True), description="publish")
        layout = widgets.Layout(width="100%")
        abstract = widgets.Textarea(value=entry.abstract_zh, description="摘要", layout=layout, rows=6)
        details = widgets.Textarea(value=entry.details_md, description="详细解读", layout=layout, rows=14)
        box = widgets.VBox([header, unverified, approved, abstract, details])
        return PaperForm(entry, approved, abstract, details, box)

    def save(self) -> int:
        """Store every changed field and approval; return how many papers changed."""
        changed = 0
        with Store(self.cfg.store_path) as store:
            for form in self.forms:
                paper = form.entry.paper
                edits = form.changes()
                for field, value in edits.items():
                    store.save_edit(paper.arxiv_id, paper.version, field, value)
                was = self.approvals.get(paper.arxiv_id, True)
                if form.approved.value != was:
                    store.set_approval(self.cfg.date, paper.arxiv_id, form.approved.value)
                    self.approvals[paper.arxiv_id] = form.approved.value
                changed += bool(edits) or form.approved.value != was
        self.status.value = f"<b>Saved</b>: {changed} paper(s) changed. Publish with <code>digest publish --date {self.cfg.date} --site SITE</code>."
        return changed

    def widget(self) -> widgets.Widget:
        count = widgets.HTML(f"<p>{len(self.forms)} papers on {self.cfg.date}.</p>")
        return widgets.VBox([count, *[f.box for f in self.forms], widgets.HBox([self.save_button, self.status])])


def launch_review(cfg: Config) -> int:
    """Prepare the review notebook for the date under ``<out>/<date>/`` and open it in JupyterLab."""
    import papermill as pm

    if not cfg.store_path.is_file():  # opening the store would create it (and the output folder)
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: "
                          f"run `digest run --date {cfg.date}` first")
    with Store(cfg.store_path) as store:
        stored_selection(cfg, store)  # fails clearly when the date was never run
    target = cfg.day_dir / "review.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(REVIEW_NOTEBOOK), str(target), prepare_only=True, kernel_name="python3",
                        parameters={"date": cfg.date.isoformat(), "out_dir": str(cfg.out_dir)})
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or shutil.which("jupyter")
    if jupyter is None:
        raise DigestError("JupyterLab is not installed in this environment (run `make install`)")
    print(f"Opening {target} in JupyterLab (Ctrl-C to stop).")
    return subprocess.call([jupyter, "lab", str(target)])
