"""The gate: publish a day only as a person left it.

``publish_day`` takes the output folder's run lock (refuses while a run holds it), refuses while papers
await a decision (``publish.require_review``, true by default; false publishes everything not rejected),
applies the edits, leaves rejected papers out (the header's counts stay true: shown = what is shown),
writes the post into ``<out>/<date>/`` (replacing the run's draft) and into ``<site>/_posts/`` when a site
is given (with the day's .bib and its ``_data/digest/<date>.json`` that the site's indexes are built from), and refreshes ``report.html`` with the decisions. It returns the path of the published post.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..post import bibtex, render
from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.errors import DigestError, ReviewPendingError, UsageError
from ..base.models import DayDigest, ReviewStatus
from ..day.selection import build_digest, stored_selection
from ..store.store import Store


def _require_store(cfg: Config) -> None:
    if not cfg.store_path.is_file():  # opening the store would create it (and the output folder)
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: "
                          f"run `digest run --date {cfg.date}` first")


def review_counts(cfg: Config) -> dict[str, int]:
    """How many of the day's papers are pending / approved / rejected."""
    _require_store(cfg)
    with Store(cfg.store_path) as store:
        papers = stored_selection(cfg, store).new
        reviews = store.reviews(cfg.date)
    counts = {s.value: 0 for s in ReviewStatus}
    for paper in papers:
        counts[(reviews[paper.arxiv_id].status if paper.arxiv_id in reviews else ReviewStatus.PENDING).value] += 1
    return counts


def reviewed_digest(cfg: Config) -> DayDigest:
    """The day as the reviewer left it: rejected papers dropped, edited text in place (no network)."""
    _require_store(cfg)
    with Store(cfg.store_path) as store:
        selection = stored_selection(cfg, store)
        reviews = store.reviews(cfg.date)
        kept = tuple(p for p in selection.new
                     if not (p.arxiv_id in reviews and reviews[p.arxiv_id].status is ReviewStatus.REJECTED))
        return build_digest(cfg, store, replace(selection, new=kept))


def check_gate(cfg: Config) -> dict[str, int]:
    """Refuse (exit 5, one line) while papers are pending and the parameters require a review."""
    counts = review_counts(cfg)
    if cfg.publish.require_review and counts["pending"]:
        n = counts["pending"]
        raise ReviewPendingError(
            f"{n} paper{'s' if n != 1 else ''} of {cfg.date} still await review "
            f"(`digest review --date {cfg.date}`); nothing published", pending=n)
    return counts


@dataclass(frozen=True)
class Published:
    """What publishing did: the post's path and whether its text changed (an unchanged post is neither
    rewritten nor committed, and the command says so rather than "Published")."""

    path: Path
    changed: bool

    def message(self) -> str:
        if self.changed:
            return f"Published {self.path}"
        return f"Unchanged: {self.path} already holds this post (nothing written or committed)"


def publish_day(cfg: Config, site: Path | None = None, *, push: bool = False, wait_seconds: float = 0.0) -> Path:
    """:func:`publish` returning only the post's path (the site's when a site is given)."""
    return publish(cfg, site, push=push, wait_seconds=wait_seconds).path


def publish(cfg: Config, site: Path | None = None, *, push: bool = False, wait_seconds: float = 0.0) -> Published:
    """Check the gate under the run lock, then write the post, the report and the site's copy (committed
    when the site is a git repository, pushed when asked: ``site.write_post``).
    Returns the site's post when a site is given, else the post in ``<out>/<date>/``, and whether it changed."""
    from ..base.locks import run_lock
    from ..post.report import read_day, write_report
    from .site import require_jekyll_site, write_post
    from .site_pages import write_day_files

    if site is not None:
        require_jekyll_site(site)
    if push and site is None:
        raise UsageError("--push needs --site")
    _require_store(cfg)
    with run_lock(cfg.out_dir, wait_seconds):
        counts = check_gate(cfg)
        day = reviewed_digest(cfg)
        text = render.render_post(day)
        cfg.day_dir.mkdir(parents=True, exist_ok=True)
        local = cfg.day_dir / cfg.post_name
        local_changed = not local.is_file() or local.read_text(encoding="utf-8") != text
        if local_changed:
            atomic_write_text(local, text)
        with Store(cfg.store_path) as store:
            write_report(read_day(cfg, store), cfg.day_dir / "report.html")
        bibtex.write_day_bib(cfg.day_dir / bibtex.bib_name(cfg.date), bibtex.digest_papers(day))  # reviewed papers
        if site is None:
            return Published(local, local_changed)
        # the .bib next to the post, and the data the site's indexes (categories, for-you, search) are built from
        companions = write_day_files(site, day, cfg.post_name, cfg.categories,
                                     with_for_you=cfg.interests.configured)
        message = (f"arXiv digest {cfg.date} ({', '.join(cfg.categories)}): {day.shown_count} papers"
                   + (f" ({counts['rejected']} rejected in review)" if counts["rejected"] else ""))
        written = write_post(site, cfg.post_name, text, message=message, push=push, companions=companions)
        return Published(written.path, written.changed)
