"""The review UI in JupyterLab: ipywidgets over a :class:`ReviewSession`.

A header with live counts and a status filter, then one page of paper cards at a time. Each card:
title, links, categories, flags, the English abstract beside the editable Chinese one, the editable
详细解读 with a rendered preview, Approve / Reject / Reset, a BibTeX button (the paper's entry, to copy),
and Regenerate (translation or
interpretation, with an optional extra instruction) running in a background thread. Every change is
stored at once; there is no Save button to forget. CSS classes (``digest-*``) name the parts for tests.
"""

from __future__ import annotations

import html
import threading
from typing import Callable

import ipywidgets as widgets

from ..config import Config
from ..models import ReviewStatus, VenueStatus
from ..models import INTERPRET, TRANSLATE
from .session import PaperReview, ReviewSession

PAGE_SIZE = 10
STATUS_LABELS = {ReviewStatus.PENDING: "待审", ReviewStatus.APPROVED: "已通过", ReviewStatus.REJECTED: "已拒绝"}
STATUS_COLORS = {ReviewStatus.PENDING: "#8a6d00", ReviewStatus.APPROVED: "#1a7f37", ReviewStatus.REJECTED: "#b42318"}
FILTERS = [("all", "all"), ("pending", "pending"), ("approved", "approved"), ("rejected", "rejected"),
           ("flagged", "flagged")]


def css_id(arxiv_id: str) -> str:
    """A CSS-class-safe form of an arXiv id (``2601.15240`` -> ``2601-15240``)."""
    return "".join(c if c.isalnum() else "-" for c in arxiv_id)


def markdown_preview(text: str) -> str:
    """The field as the post will render it (sanitised like the post, then like the report)."""
    from nbconvert.filters.markdown import markdown2html

    from ..exporters import _NUMBERED_PARAGRAPH, clean_report_html
    from ..markup import escape_markdown

    # "1)  " is text in kramdown (the post), an empty list item in CommonMark (this preview): escape it
    return clean_report_html(markdown2html(_NUMBERED_PARAGRAPH.sub(r"\1\\)", escape_markdown(text))))


VENUE_WORDS = {VenueStatus.ACCEPTED: "accepted", VenueStatus.SUBMITTED: "submitted", VenueStatus.NAMED: "named"}


def at_a_glance_html(item: PaperReview) -> str:
    """The venue the authors name and their code / demo links (live: the authors' own), as in the post."""
    entry = item.entry
    if entry is None:
        return ""
    parts = [f"<span class='digest-venue' data-status='{v.status.value}'>{html.escape(v.name)} "
             f"({VENUE_WORDS[v.status]})</span>" for v in entry.venues]
    for kind, urls in (("code", entry.code_links), ("demo", entry.demo_links)):
        parts += [f"<a class='digest-{kind}' href='{html.escape(u)}' target='_blank'>{kind.capitalize()}: "
                  f"{html.escape(u)}</a>" for u in urls]
    return "<br>" + " · ".join(parts) if parts else ""


class PaperCard:
    """The widgets of one paper."""

    def __init__(self, app: "ReviewApp", item: PaperReview) -> None:
        self.app = app
        self.arxiv_id = item.paper.arxiv_id
        paper = item.paper
        wide = widgets.Layout(width="100%")
        self.title = widgets.HTML(
            f"<h3 style='margin:0.2em 0'>{html.escape(' '.join(paper.title.split()))}</h3>"
            f"<a href='{html.escape(paper.abs_url)}' target='_blank'>{html.escape(paper.versioned_id)}</a> · "
            f"<a href='{html.escape(paper.pdf_url)}' target='_blank'>PDF</a> · "
            f"{html.escape(', '.join(paper.categories))}{at_a_glance_html(item)}")
        self.status = widgets.HTML()
        self.status.add_class("digest-status")
        self.flags = widgets.HTML()
        self.english = widgets.HTML(
            f"<div style='font-size:0.9em;max-height:18em;overflow:auto'><b>Abstract (English)</b><br>"
            f"{html.escape(paper.abstract)}</div>", layout=widgets.Layout(width="50%"))
        self.abstract = widgets.Textarea(layout=widgets.Layout(width="50%", height="18em"))
        self.abstract.add_class("digest-abstract")
        self.details = widgets.Textarea(layout=widgets.Layout(width="50%", height="22em"))
        self.details.add_class("digest-details")
        self.preview = widgets.HTML(layout=widgets.Layout(width="50%", max_height="22em", overflow="auto"))
        self.preview.add_class("digest-preview")
        self.newer = widgets.HTML()
        self.take_abstract = widgets.Button(description="Take new translation", layout=widgets.Layout(display="none"))
        self.take_details = widgets.Button(description="Take new interpretation", layout=widgets.Layout(display="none"))
        self.take_abstract.on_click(lambda _: self._take("abstract_zh"))
        self.take_details.on_click(lambda _: self._take("details_md"))

        self.approve = widgets.Button(description="Approve", button_style="success", icon="check")
        self.reject = widgets.Button(description="Reject", button_style="danger", icon="times")
        self.reset = widgets.Button(description="Reset", icon="undo")
        for button, status in ((self.approve, ReviewStatus.APPROVED), (self.reject, ReviewStatus.REJECTED),
                               (self.reset, ReviewStatus.PENDING)):
            button.add_class(f"digest-{button.description.lower()}")
            button.on_click(lambda _, s=status: self.decide(s))

        self.instruction = widgets.Text(placeholder="optional extra instruction for the model",
                                        layout=widgets.Layout(width="40%"))
        self.instruction.add_class("digest-instruction")
        self.regen_translation = widgets.Button(description="Regenerate translation", icon="refresh")
        self.regen_interpretation = widgets.Button(description="Regenerate interpretation", icon="refresh")
        self.regen_translation.add_class("digest-regen-translation")
        self.regen_interpretation.add_class("digest-regen-interpretation")
        self.regen_translation.on_click(lambda _: self.regenerate(TRANSLATE))
        self.regen_interpretation.on_click(lambda _: self.regenerate(INTERPRET))
        self.progress = widgets.HTML()
        self.progress.add_class("digest-progress")
        # issue 16: cite straight from the card; the entry is the one in the day's .bib (bibtex.entry_for),
        # shown on click in a block that one click selects whole, for copying
        self.bibtex = widgets.Button(description="BibTeX", icon="quote-right", tooltip="show the BibTeX entry")
        self.bibtex.add_class("digest-bibtex")
        self.bibtex_entry = widgets.HTML(layout=widgets.Layout(display="none", width="100%"))
        self.bibtex_entry.add_class("digest-bibtex-entry")
        self.bibtex.on_click(lambda _: self.toggle_bibtex())

        self.refresh()
        self.abstract.observe(lambda ch: self._edited("abstract_zh", ch["new"]), names="value")
        self.details.observe(lambda ch: self._edited("details_md", ch["new"]), names="value")
        self.box = widgets.VBox([
            self.title, widgets.HBox([self.status, self.flags]),
            widgets.HBox([self.english, self.abstract], layout=wide),
            widgets.HBox([self.details, self.preview], layout=wide),
            self.newer, widgets.HBox([self.take_abstract, self.take_details]),
            widgets.HBox([self.approve, self.reject, self.reset, self.bibtex]), self.bibtex_entry,
            widgets.HBox([self.instruction, self.regen_translation, self.regen_interpretation, self.progress]),
            widgets.HTML("<hr>"),
        ], layout=wide)
        self.box.add_class("digest-card")
        self.box.add_class(f"digest-card-{css_id(self.arxiv_id)}")
        self._loading = False

    @property
    def item(self) -> PaperReview:
        return self.app.session.get(self.arxiv_id)

    def toggle_bibtex(self) -> None:
        """Show (or hide again) the paper's BibTeX entry, as the day's .bib file holds it."""
        from ..bibtex import entry_for

        if self.bibtex_entry.layout.display == "none":
            self.bibtex_entry.value = (
                "<pre style='user-select:all;white-space:pre-wrap;font-size:0.85em;margin:0.3em 0;padding:0.4em;"
                f"background:var(--jp-layout-color2,#f5f5f5)' title='click to select, then copy'>"
                f"{html.escape(entry_for(self.item.paper))}</pre>")
            self.bibtex_entry.layout.display = ""
            self.bibtex.description = "Hide BibTeX"
        else:
            self.bibtex_entry.layout.display = "none"
            self.bibtex.description = "BibTeX"

    def refresh(self) -> None:
        """Show what the session holds now (after a decision, a regeneration, a reload)."""
        item = self.item
        self._loading = True
        try:
            self.abstract.value = item.text("abstract_zh")
            self.details.value = item.text("details_md")
        finally:
            self._loading = False
        self.preview.value = markdown_preview(item.text("details_md"))
        who = f" · {html.escape(item.reviewer)} {html.escape(item.decided_at)}" if item.decided_at else ""
        self.status.value = (f"<b style='color:{STATUS_COLORS[item.status]}' data-status='{item.status.value}'>"
                             f"{STATUS_LABELS[item.status]} ({item.status.value})</b>{who}")
        self.flags.value = "".join(f"<span style='color:#b35900;margin-left:1em'>⚑ {html.escape(f)}</span>"
                                   for f in item.flags)
        newer = [("abstract_zh", "translation", self.take_abstract), ("details_md", "interpretation", self.take_details)]
        notes = []
        for field_name, label, button in newer:
            has_newer = item.newer_output(field_name)
            button.layout.display = None if has_newer else "none"
            if has_newer:
                notes.append(f"<p style='color:#1f5fbf'>A new model {label} exists beside your edit:</p>"
                             f"<pre style='white-space:pre-wrap'>{html.escape(item.generated[field_name])}</pre>")
        self.newer.value = "".join(notes)

    def _edited(self, field_name: str, value: str) -> None:
        if self._loading:
            return
        self.app.session.edit(self.arxiv_id, field_name, value)
        if field_name == "details_md":
            self.preview.value = markdown_preview(value)

    def _take(self, field_name: str) -> None:
        self.app.session.take_generated(self.arxiv_id, field_name)
        self.refresh()

    def decide(self, status: ReviewStatus) -> None:
        self.app.session.decide(self.arxiv_id, status)
        self.refresh()
        self.app.update_header()
        self.app._go(self.app.page)  # under a status filter the card leaves the page

    def regenerate(self, task: str) -> None:
        """Start the regeneration in the background; the card shows progress and the result."""
        label = "translation" if task == TRANSLATE else "interpretation"
        self.progress.value = f"<i>regenerating the {label}…</i>"
        for button in (self.regen_translation, self.regen_interpretation):
            button.disabled = True
        instruction = self.instruction.value

        def work() -> None:
            try:
                status = self.app.session.regenerate(self.arxiv_id, task, instruction)
                message = f"<span data-done='{task}'>{label} regenerated: {status.value}</span>"
            except Exception as exc:  # shown on the card: the kernel must not lose the UI
                message = f"<span style='color:#b42318' data-done='{task}'>failed: {html.escape(str(exc))}</span>"
            self.refresh()
            self.progress.value = message
            for button in (self.regen_translation, self.regen_interpretation):
                button.disabled = False
            self.app.update_header()

        self.app.start_job(work)


class ReviewApp:
    """The whole review page for one day."""

    def __init__(self, cfg: Config, *, reviewer: str | None = None, page_size: int = PAGE_SIZE) -> None:
        self.session = ReviewSession(cfg, reviewer=reviewer)
        self.cfg = cfg
        self.page_size = page_size
        self.page = 0
        self.jobs: list[threading.Thread] = []
        self.cards = {item.paper.arxiv_id: PaperCard(self, item) for item in self.session}
        self.counts = widgets.HTML()
        self.counts.add_class("digest-counts")
        self.filter = widgets.Dropdown(options=FILTERS, value="all", description="Show")
        self.filter.add_class("digest-filter")
        self.filter.observe(lambda _: self._go(0), names="value")
        self.approve_all = widgets.Button(description="Approve all unflagged", button_style="success")
        self.approve_all.add_class("digest-approve-all")
        self.approve_all.on_click(lambda _: self.approve_unflagged())
        self.prev = widgets.Button(description="◀ Previous")
        self.next = widgets.Button(description="Next ▶")
        self.prev.on_click(lambda _: self._go(self.page - 1))
        self.next.on_click(lambda _: self._go(self.page + 1))
        self.page_label = widgets.HTML()
        self.cards_box = widgets.VBox()
        self.hint = widgets.HTML(
            f"<p>Every change is saved at once. When no paper is pending: "
            f"<code>digest publish --date {cfg.date} --out {html.escape(str(cfg.out_dir))}</code></p>")
        self.header = widgets.VBox([
            widgets.HTML(f"<h2>Review {cfg.date} · {len(self.session)} papers</h2>"),
            widgets.HBox([self.counts, self.filter, self.approve_all]),
            widgets.HBox([self.prev, self.page_label, self.next]), self.hint,
        ])
        self.update_header()
        self._go(0)

    def visible(self) -> list[str]:
        items = self.session.matching(self.filter.value)
        start = self.page * self.page_size
        return [i.paper.arxiv_id for i in items[start:start + self.page_size]]

    def _go(self, page: int) -> None:
        total = len(self.session.matching(self.filter.value))
        pages = max(1, -(-total // self.page_size))
        self.page = min(max(0, page), pages - 1)
        self.cards_box.children = [self.cards[a].box for a in self.visible()]
        self.page_label.value = f"&nbsp;page {self.page + 1} / {pages} ({total} shown)&nbsp;"
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1

    def update_header(self) -> None:
        c = self.session.counts()
        self.counts.value = (f"<span data-pending='{c['pending']}' data-approved='{c['approved']}' "
                             f"data-rejected='{c['rejected']}' data-flagged='{c['flagged']}'>"
                             f"pending <b>{c['pending']}</b> · approved <b>{c['approved']}</b> · "
                             f"rejected <b>{c['rejected']}</b> · flagged <b>{c['flagged']}</b></span>")

    def approve_unflagged(self) -> int:
        count = self.session.approve_unflagged()
        for card in self.cards.values():
            card.refresh()
        self.update_header()
        self._go(self.page)
        return count

    def start_job(self, fn: Callable[[], None], *, background: bool = True) -> None:
        if not background:
            fn()
            return
        thread = threading.Thread(target=fn, daemon=True)
        self.jobs.append(thread)
        thread.start()

    def wait_for_jobs(self, timeout: float = 120.0) -> None:
        for thread in list(self.jobs):
            thread.join(timeout)

    def widget(self) -> widgets.Widget:
        return widgets.VBox([self.header, self.cards_box])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
