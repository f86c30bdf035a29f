"""Which papers a day shows, and the day rebuilt from the store: the selection and the ``DayDigest``.

Split from ``pipeline.py`` so that whatever only reads a finished day (the CLI's .bib, the report, review,
publish, notify, daily) does not import the LLM client, the arXiv source and the extractors with it: that
was most of a run's fixed start-up time outside the kernel.

Owns: the choice of new papers (dedup, filters, the ledger's claim), replacements for 更新, the post's
order (listing or relevance) and the interest marks, and how many of a day's papers still wait for their
interpretation. Must not: fetch, call the LLM, or format text (the post's entries are built in ``post.digest``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from ..base.config import Config
from ..base.errors import DigestError
from .interests import by_relevance, score_paper
from ..base.models import INTERPRET, Paper, PaperEntry, ResultStatus, ReviewStatus, TextStatus
from ..store.store import Store

__all__ = ["Selection", "arxiv_id_key", "bib_name", "first_page", "first_page_text", "in_post_order",
           "interpretations_pending", "rejected_ids", "select_papers", "stored_selection", "with_interests"]

# The first page of a full text: the abstract and the start of the introduction (footnotes with links land there).
FIRST_PAGE_CHARS = 6000


@dataclass(frozen=True)
class Selection:
    """The papers a post shows, and what was fetched before deduplication and filters."""

    fetched_count: int
    new: tuple[Paper, ...]
    updates: tuple[Paper, ...]


def arxiv_id_key(arxiv_id: str) -> tuple:
    """Sort key giving arXiv's own order: new-style ids by (yymm, number), old-style after by name."""
    match = re.fullmatch(r"(\d{4})\.(\d{4,5})", arxiv_id)
    if match:
        return (1, int(match.group(1)), int(match.group(2)), "")
    return (0, 0, 0, arxiv_id)


def _mentions(paper: Paper, keywords: tuple[str, ...]) -> bool:
    haystack = f"{paper.title}\n{paper.abstract}".casefold()
    return any(k.casefold() in haystack for k in keywords)


def select_papers(cfg: Config, store: Store, announced: list[Paper], *, claim: bool = True) -> Selection:
    """New and cross-listed papers, deduplicated, filtered, claimed exactly once in the ledger.

    ``claim=False`` previews the same choice without writing the ledger (the pipeline starts the feed's
    papers before the API call completes the announcement; the claim is made on the stored announcement)."""
    ledger = store.ledger() if not claim else {}
    candidates: dict[str, Paper] = {}
    for paper in announced:
        if paper.announce_type.is_new:
            candidates.setdefault(paper.arxiv_id, paper)
    fetched = sum(1 for p in announced if p.announce_type.is_new)

    chosen: list[Paper] = []
    for paper in sorted(candidates.values(), key=lambda p: arxiv_id_key(p.arxiv_id), reverse=True):
        if not _wanted(cfg, paper):
            continue
        if cfg.max_papers and len(chosen) >= cfg.max_papers:
            break
        owner = store.claim(cfg.date, paper.arxiv_id, paper.version) if claim else ledger.get(paper.arxiv_id, cfg.date)
        if owner == cfg.date:
            chosen.append(paper)

    return Selection(fetched, tuple(chosen), _updates(cfg, announced))


def _wanted(cfg: Config, paper: Paper) -> bool:
    """The filters of the parameters (primary category, keywords), for new papers and replacements alike."""
    if cfg.primary_only and paper.primary_category not in cfg.categories:
        return False
    if cfg.include_keywords and not _mentions(paper, cfg.include_keywords):
        return False
    return not (cfg.exclude_keywords and _mentions(paper, cfg.exclude_keywords))


def _updates(cfg: Config, announced: list[Paper]) -> tuple[Paper, ...]:
    """Replacements (v2+) for the optional 更新 section: listed, never counted as new."""
    if not cfg.include_replacements:
        return ()
    new_ids = {p.arxiv_id for p in announced if p.announce_type.is_new}
    updates: dict[str, Paper] = {}
    for paper in sorted(announced, key=lambda p: arxiv_id_key(p.arxiv_id), reverse=True):
        if not paper.announce_type.is_new and paper.arxiv_id not in new_ids and _wanted(cfg, paper):
            updates.setdefault(paper.arxiv_id, paper)
    return tuple(updates.values())


def stored_selection(cfg: Config, store: Store) -> Selection:
    """The selection a finished run made, rebuilt from the store alone (for review and publish)."""
    announced = store.announcement(cfg.date)
    if announced is None:
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: run `digest run --date {cfg.date}` first")
    ledger = store.ledger()
    owned: dict[str, Paper] = {}
    for paper in announced:
        if paper.announce_type.is_new and ledger.get(paper.arxiv_id) == cfg.date:
            owned.setdefault(paper.arxiv_id, paper)
    new = sorted(owned.values(), key=lambda p: arxiv_id_key(p.arxiv_id), reverse=True)
    fetched = sum(1 for p in announced if p.announce_type.is_new)
    return Selection(fetched, tuple(new), _updates(cfg, announced))


def bib_name(date: dt.date) -> str:
    """``2026-01-22.bib``: the file next to the post, linked from its header and the report (here, below
    its users: the digest's ``bib_href`` and ``post/bibtex``)."""
    return f"{date.isoformat()}.bib"


def first_page_text(sections: dict[str, str] | None) -> str:
    """What the first page of a stored full text holds, near enough: the abstract, then the first
    :data:`FIRST_PAGE_CHARS` characters of the introduction (or of the body without one)."""
    if not sections:
        return ""
    start = sections.get("introduction") or sections.get("body") or ""
    return "\n\n".join(t for t in (sections.get("abstract", ""), start[:FIRST_PAGE_CHARS]) if t)


def first_page(store: Store, paper: Paper) -> str:
    """The first page of the paper's stored full text, where the authors' code and demo links are
    (:func:`first_page_text`); empty while there is none."""
    record = store.get_fulltext(paper.arxiv_id, paper.version)
    if record is None or record.fulltext.status is not TextStatus.OK:
        return ""
    return first_page_text(record.fulltext.sections)


def interpretations_pending(cfg: Config, store: Store, selection: Selection) -> int:
    """The day's shown papers (a reviewer's rejects left out) whose interpretation is not stored yet or
    waits (a full text not there yet, the budget): the post says "pending" for each of them."""
    rejected = rejected_ids(cfg, store)
    records = (store.get_result(p.arxiv_id, p.version, INTERPRET) for p in selection.new if p.arxiv_id not in rejected)
    return sum(1 for r in records if r is None or r.status is ResultStatus.PENDING)


def rejected_ids(cfg: Config, store: Store) -> set[str]:
    """The papers a reviewer rejected for the day: left out of the post (the fetched count still counts them)."""
    return {k for k, r in store.reviews(cfg.date).items() if r.status is ReviewStatus.REJECTED}


def in_post_order(cfg: Config, papers: tuple[Paper, ...]) -> tuple[Paper, ...]:
    """arXiv's listing order (the seed's), or the most relevant first with ``order: relevance``."""
    return tuple(by_relevance(papers, cfg.interests)) if cfg.order == "relevance" else papers


def with_interests(cfg: Config, entry: PaperEntry) -> PaperEntry:
    """The ★ mark (matched terms) and the score; an entry is unchanged when no interests are configured."""
    interests = cfg.interests
    if not (interests.keywords or interests.authors or interests.negative_keywords):
        return entry
    relevance = score_paper(entry.paper, interests)
    return replace(entry, interest_terms=relevance.terms if relevance.marked else (),
                   relevance_score=relevance.score)
