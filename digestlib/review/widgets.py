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
import json
import threading
from pathlib import Path
from typing import Callable

import ipywidgets as widgets
from IPython.display import display
from nbconvert.filters.markdown import markdown2html

from ..base.config import Config
from ..base.models import ReviewStatus, VenueStatus
from ..base.models import INTERPRET, TRANSLATE
from ..base.errors import StaleReviewError
from ..post.bibtex import entry_for
from ..post.exporters import NUMBERED_PARAGRAPH, clean_report_html
from ..post.markup import escape_markdown
from .editor import FieldEditor, FieldHistory
from ..store.store import Store
from .state import FIELDS, PaperReview, ReviewSession, open_review_store

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
    # "1)  " is text in kramdown (the post), an empty list item in CommonMark (this preview): escape it
    return clean_report_html(markdown2html(NUMBERED_PARAGRAPH.sub(r"\1\\)", escape_markdown(text))))


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
        # issue 24: each field has its own undo history (FieldEditor stops the browser's page-wide Ctrl+Z)
        self.history = {f: FieldHistory() for f in FIELDS}
        self.abstract = FieldEditor(lambda action: self.step("abstract_zh", action), height="18em",
                                    layout=widgets.Layout(width="50%"))
        self.abstract.add_class("digest-abstract")
        self.details = FieldEditor(lambda action: self.step("details_md", action), height="22em",
                                   layout=widgets.Layout(width="50%"))
        self.details.add_class("digest-details")
        self.editors = {"abstract_zh": self.abstract, "details_md": self.details}
        self.tools: dict[str, dict[str, widgets.Widget]] = {}
        for field_name, short in (("abstract_zh", "abstract"), ("details_md", "details")):
            undo = widgets.Button(description="Undo", icon="undo", tooltip="undo this field's last change",
                                  layout=widgets.Layout(width="auto"))
            redo = widgets.Button(description="Redo", icon="repeat", tooltip="redo this field's undone change",
                                  layout=widgets.Layout(width="auto"))
            versions = widgets.Button(description="Versions", icon="history", layout=widgets.Layout(width="auto"),
                                      tooltip="every stored text of this field, to restore one")
            undo.on_click(lambda _, f=field_name: self.step(f, "undo"))
            redo.on_click(lambda _, f=field_name: self.step(f, "redo"))
            versions.on_click(lambda _, f=field_name: self.toggle_versions(f))
            picker = widgets.Dropdown(options=[], layout=widgets.Layout(width="60%"))
            restore = widgets.Button(description="Restore this version", layout=widgets.Layout(width="auto"))
            restore.on_click(lambda _, f=field_name: self.restore(f))
            panel = widgets.HBox([picker, restore], layout=widgets.Layout(display="none"))
            conflict = widgets.HTML()
            keep_mine = widgets.Button(description="Keep my text", button_style="warning",
                                       layout=widgets.Layout(width="auto"))
            take_theirs = widgets.Button(description="Take the saved text", layout=widgets.Layout(width="auto"))
            keep_mine.on_click(lambda _, f=field_name: self.resolve(f, True))
            take_theirs.on_click(lambda _, f=field_name: self.resolve(f, False))
            choose = widgets.HBox([keep_mine, take_theirs], layout=widgets.Layout(display="none"))
            for widget, name in ((undo, "undo"), (redo, "redo"), (versions, "versions"), (picker, "version-picker"),
                                 (restore, "restore"), (conflict, "conflict"), (keep_mine, "keep-mine"),
                                 (take_theirs, "take-theirs")):
                widget.add_class(f"digest-{name}-{short}")
            self.tools[field_name] = {"undo": undo, "redo": redo, "versions": versions, "picker": picker,
                                      "panel": panel, "conflict": conflict, "choose": choose}
        self.notice = widgets.HTML()
        self.notice.add_class("digest-notice")
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
        self.abstract.observe(lambda ch: self._edited("abstract_zh", ch["old"], ch["new"]), names="value")
        self.details.observe(lambda ch: self._edited("details_md", ch["old"], ch["new"]), names="value")

        def field_tools(field_name: str, label: str) -> list[widgets.Widget]:
            t = self.tools[field_name]
            return [widgets.HBox([widgets.HTML(f"<small>{label}:&nbsp;</small>"), t["undo"], t["redo"], t["versions"]]),
                    t["panel"], t["conflict"], t["choose"]]

        self.box = widgets.VBox([
            self.title, widgets.HBox([self.status, self.flags]),
            widgets.HBox([self.english, self.abstract], layout=wide),
            *field_tools("abstract_zh", "中文摘要"),
            widgets.HBox([self.details, self.preview], layout=wide),
            *field_tools("details_md", "详细解读"), self.notice,
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
        self._show_status()
        for field_name in FIELDS:
            self._show_conflict(field_name)
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

    def _edited(self, field_name: str, before: str, value: str) -> None:
        if self._loading:
            return
        self.history[field_name].changed(before, value)
        self._save(field_name, value)

    def _save(self, field_name: str, value: str) -> None:
        """Store the field's text; a stale save (another session changed it) shows both texts to choose."""
        stale = self.app.session.edit(self.arxiv_id, field_name, value)
        if field_name == "details_md":
            self.preview.value = markdown_preview(value)
        self._show_conflict(field_name)
        self._show_status()
        self.app.update_header()
        if stale is None:
            self.notice.value = ""

    def _show_conflict(self, field_name: str) -> None:
        tools = self.tools[field_name]
        conflict = self.item.conflicts.get(field_name)
        tools["choose"].layout.display = None if conflict else "none"
        if conflict is None:
            tools["conflict"].value = ""
            return
        who = html.escape(conflict.current_editor or "another session")
        tools["conflict"].value = (
            "<div style='border:2px solid #b42318;padding:0.4em;margin:0.3em 0'>"
            f"<b style='color:#b42318'>Not saved: {who} changed this text after you loaded it.</b> "
            "Both texts are kept; choose one (your text is also kept as a version).<table style='width:100%'>"
            "<tr><th style='text-align:left'>Your text</th><th style='text-align:left'>The saved text</th></tr>"
            f"<tr><td style='vertical-align:top'><pre class='digest-mine' style='white-space:pre-wrap'>"
            f"{html.escape(conflict.refused_value)}</pre></td><td style='vertical-align:top'>"
            f"<pre class='digest-theirs' style='white-space:pre-wrap'>{html.escape(conflict.current_value)}</pre>"
            "</td></tr></table></div>")

    def step(self, field_name: str, action: str) -> None:
        """Undo or redo this field only (the buttons, and Ctrl+Z / Ctrl+Y in the field)."""
        editor = self.editors[field_name]
        history = self.history[field_name]
        text = history.undo(editor.value) if action == "undo" else history.redo(editor.value)
        if text is None:
            return
        self._loading = True
        try:
            editor.value = text
        finally:
            self._loading = False
        self._save(field_name, text)

    def resolve(self, field_name: str, keep_mine: bool) -> None:
        """Keep my refused text (saved over the other one, which stays a version) or take the saved one."""
        self.app.session.resolve(self.arxiv_id, field_name, keep_mine)
        self.refresh()

    def toggle_versions(self, field_name: str) -> None:
        """Show (or hide) the field's stored versions, newest first, to restore one."""
        tools = self.tools[field_name]
        if tools["panel"].layout.display != "none":
            tools["panel"].layout.display = "none"
            return
        options = [(f"generated (model) · {self.item.generated[field_name][:50]!r}", self.item.generated[field_name])]
        for v in self.app.session.versions(self.arxiv_id, field_name):
            mark = " · refused (stale)" if v.refused else ""
            options.append((f"#{v.revision} · {v.editor or '?'} · {v.saved_at}{mark} · {v.value[:50]!r}", v.value))
        options = [options[0], *reversed(options[1:])]
        tools["picker"].options = [(label, i) for i, (label, _) in enumerate(options)]
        tools["picker"].value = 0 if len(options) == 1 else 1
        self._version_texts = {**getattr(self, "_version_texts", {}), field_name: [text for _, text in options]}
        tools["panel"].layout.display = None

    def restore(self, field_name: str) -> None:
        """Put the chosen stored version back (a new revision, undoable like any change)."""
        texts = getattr(self, "_version_texts", {}).get(field_name)
        if not texts or self.tools[field_name]["picker"].value is None:
            return
        self.editors[field_name].value = texts[self.tools[field_name]["picker"].value]
        self.tools[field_name]["panel"].layout.display = "none"

    def _show_status(self) -> None:
        item = self.item
        who = f" · {html.escape(item.reviewer)} {html.escape(item.decided_at)}" if item.decided_at else ""
        self.status.value = (f"<b style='color:{STATUS_COLORS[item.status]}' data-status='{item.status.value}'>"
                             f"{STATUS_LABELS[item.status]} ({item.status.value})</b>{who}")

    def _take(self, field_name: str) -> None:
        self.app.session.take_generated(self.arxiv_id, field_name)
        self.refresh()

    def decide(self, status: ReviewStatus) -> None:
        try:
            self.app.session.decide(self.arxiv_id, status)
            self.notice.value = ""
        except StaleReviewError as exc:  # another session changed the text: show it before approving
            self.app.session.reload([self.arxiv_id])
            self.notice.value = f"<b style='color:#b42318'>Not approved: {html.escape(str(exc))}</b>"
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

    def __init__(self, cfg: Config, *, store: Store | None = None, reviewer: str | None = None,
                 page_size: int = PAGE_SIZE) -> None:
        # the session's one store: the notebook's (given), else opened here for as long as the page lives
        self._own_store = store is None
        self.store = store if store is not None else open_review_store(cfg)
        self.session = ReviewSession(cfg, self.store, reviewer=reviewer)
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
        self.approve_all = widgets.Button(description="Approve all unflagged", button_style="success",
                                          layout=widgets.Layout(width="auto", min_width="14em"))
        self.approve_all.add_class("digest-approve-all")
        self.approve_all.on_click(lambda _: self.approve_unflagged())
        # issue 24: the same paging controls above and below the cards (a card is about a screen tall)
        self.prev, self.prev_below = widgets.Button(description="◀ Previous"), widgets.Button(description="◀ Previous")
        self.next, self.next_below = widgets.Button(description="Next ▶"), widgets.Button(description="Next ▶")
        for button in (self.prev, self.prev_below):
            button.on_click(lambda _: self._go(self.page - 1))
            button.add_class("digest-prev")
        for button in (self.next, self.next_below):
            button.on_click(lambda _: self._go(self.page + 1))
            button.add_class("digest-next")
        self.page_label, self.page_label_below = widgets.HTML(), widgets.HTML()
        self.page_label.add_class("digest-page")
        self.page_label_below.add_class("digest-page-below")
        self.cards_box = widgets.VBox()
        self.hint = widgets.HTML(
            f"<p>Every change is saved at once. When no paper is pending: "
            f"<code>digest publish --date {cfg.date} --out {html.escape(str(cfg.out_dir))}</code></p>")
        self.header = widgets.VBox([
            widgets.HTML(f"<h2>Review {cfg.date} · {len(self.session)} papers</h2>"),
            widgets.HBox([self.counts, self.filter, self.approve_all]),
            widgets.HBox([self.prev, self.page_label, self.next]), self.hint,
        ])
        self.footer = widgets.HBox([self.prev_below, self.page_label_below, self.next_below])
        self.footer.add_class("digest-paging-below")
        self.update_header()
        saved = self._saved_position()
        if saved.get("filter") in dict(FILTERS).values():
            self.filter.value = saved["filter"]
        self._go(int(saved.get("page", 0)) if str(saved.get("page", 0)).isdigit() else 0)

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
        self.page_label_below.value = self.page_label.value
        self.prev.disabled = self.prev_below.disabled = self.page == 0
        self.next.disabled = self.next_below.disabled = self.page >= pages - 1
        self._keep_position()

    def _position_file(self) -> Path:
        return self.cfg.out_dir / ".jupyterlab" / f"review-position-{self.cfg.date}.json"

    def _saved_position(self) -> dict:
        """The page and filter the reviewer was at (kept across a reload or a new kernel)."""
        try:
            saved = json.loads(self._position_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    def _keep_position(self) -> None:
        try:
            self._position_file().parent.mkdir(parents=True, exist_ok=True)
            self._position_file().write_text(json.dumps({"page": self.page, "filter": self.filter.value}),
                                             encoding="utf-8")
        except OSError:
            pass  # a read-only output folder: the position is a convenience, the review goes on

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

    def close(self) -> None:
        """Close the store when this page opened it (the kernel's end does as much)."""
        self.wait_for_jobs()
        if self._own_store:
            self.store.close()

    def widget(self) -> widgets.Widget:
        return widgets.VBox([self.header, self.cards_box, self.footer])

    def _ipython_display_(self) -> None:
        display(self.widget())
