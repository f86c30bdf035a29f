"""The day as readers get it: the ``DayDigest`` built from what the store holds now.

Owns: turning the day's selection (``day.selection``) and its stored results into post entries (review
edits win over generated text, rejected papers left out while the fetched count still counts them, the
interest marks and the post's order). Here and not in ``day/`` because every entry carries words a reader
sees (the labelled notes of ``render.entry_from_results``). Must not: fetch, call the LLM, or write files.
"""

from __future__ import annotations

from ..base import calendar
from ..base.config import Config
from ..base.models import INTERPRET, TRANSLATE, DayDigest, Paper, PaperEntry
from ..day.selection import Selection, bib_name, first_page, in_post_order, rejected_ids, with_interests
from ..store.store import Store
from .render import entry_from_results

__all__ = ["build_digest"]


def build_digest(cfg: Config, store: Store, selection: Selection) -> DayDigest:
    """The post's content for ``selection`` (the run's, or ``stored_selection``'s for review and publish)."""
    rejected = rejected_ids(cfg, store)

    def entry(paper: Paper) -> PaperEntry:
        return with_interests(cfg, entry_from_results(
            paper,
            translation=store.get_result(paper.arxiv_id, paper.version, TRANSLATE),
            interpretation=store.get_result(paper.arxiv_id, paper.version, INTERPRET),
            edits=store.edits(paper.arxiv_id, paper.version),
            language=cfg.language,
            first_page=first_page(store, paper),
        ))

    return DayDigest(
        date=cfg.date,
        categories=cfg.categories,
        window=calendar.window_for(cfg.date, cfg.window_anchor, cfg.window_timezone),
        fetched_count=selection.fetched_count,
        entries=tuple(entry(p) for p in in_post_order(cfg, selection.new) if p.arxiv_id not in rejected),
        updates=tuple(entry(p) for p in selection.updates),
        title=cfg.title,
        tags=cfg.tags,
        bib_href=bib_name(cfg.date) if any(p.arxiv_id not in rejected for p in selection.new) else None,
        language=cfg.language,
    )
