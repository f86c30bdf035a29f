"""The day as the reviewer left it: the decisions' counts, the gate they open, and the post's entries
with rejected papers dropped and edited text in place. Publishing (``publish.py``) and the demo's preview
site (``site_pages.py``) both build on it, so it sits below both.

Must not: write anything (publish writes), or open the store (the command passes it).
"""

from __future__ import annotations

from dataclasses import replace

from ..base.config import Config
from ..base.errors import DigestError, ReviewPendingError
from ..base.models import DayDigest, ReviewStatus
from ..day.selection import stored_selection
from ..post.digest import build_digest
from ..store.store import Store


def require_store(cfg: Config) -> None:
    """Refuse a day with nothing stored (before opening the store, which would create it and the folder)."""
    if not cfg.store_path.is_file():
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: "
                          f"run `digest run --date {cfg.date}` first")


def review_counts(cfg: Config, store: Store) -> dict[str, int]:
    """How many of the day's papers are pending / approved / rejected."""
    papers = stored_selection(cfg, store).new
    reviews = store.reviews(cfg.date)
    counts = {s.value: 0 for s in ReviewStatus}
    for paper in papers:
        counts[(reviews[paper.arxiv_id].status if paper.arxiv_id in reviews else ReviewStatus.PENDING).value] += 1
    return counts


def reviewed_digest(cfg: Config, store: Store) -> DayDigest:
    """The day as the reviewer left it: rejected papers dropped, edited text in place (no network)."""
    selection = stored_selection(cfg, store)
    reviews = store.reviews(cfg.date)
    kept = tuple(p for p in selection.new
                 if not (p.arxiv_id in reviews and reviews[p.arxiv_id].status is ReviewStatus.REJECTED))
    return build_digest(cfg, store, replace(selection, new=kept))


def check_gate(cfg: Config, store: Store) -> dict[str, int]:
    """Refuse (exit 5, one line) while papers are pending and the parameters require a review."""
    counts = review_counts(cfg, store)
    if cfg.publish.require_review and counts["pending"]:
        n = counts["pending"]
        raise ReviewPendingError(
            f"{n} paper{'s' if n != 1 else ''} of {cfg.date} still await review "
            f"(`digest review --date {cfg.date}`); nothing published", pending=n)
    return counts
