"""The gate: publish a day only as a person left it.

``publish_day`` takes the output folder's run lock (refuses while a run holds it), refuses while papers
await a decision (``publish.require_review``, true by default; false publishes everything not rejected),
applies the edits, leaves rejected papers out (the header's counts stay true: shown = what is shown),
writes the post into ``<out>/<date>/`` (replacing the run's draft) and into ``<site>/_posts/`` when a site
is given (with the day's .bib and its ``_data/digest/<date>.json`` that the site's indexes are built from), and refreshes ``report.html`` with the decisions. It returns the path of the published post.
The day as reviewed (counts, gate, entries) is ``reviewed.py``'s; ``post.report`` (pandas) is loaded
lazily with ``lazy_loader``, so that reading a finished day stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lazy_loader as lazy

from ..post import bibtex, render
from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.errors import UsageError
from ..base.locks import run_lock
from ..post.view import read_day
from ..store.store import Store
from .reviewed import check_gate, require_store, reviewed_digest
from .site import require_jekyll_site, write_post
from .site_pages import write_day_files

report = lazy.load("digestlib.post.report", suppress_warning=True)  # pandas


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
    if site is not None:
        require_jekyll_site(site)
    if push and site is None:
        raise UsageError("--push needs --site")
    require_store(cfg)
    with run_lock(cfg.out_dir, wait_seconds):
        with Store(cfg.store_path) as store:
            counts = check_gate(cfg, store)
            day = reviewed_digest(cfg, store)
            view = read_day(cfg, store)  # the report's one read of the day, decisions included
        text = render.render_post(day)
        cfg.day_dir.mkdir(parents=True, exist_ok=True)
        local = cfg.day_dir / cfg.post_name
        local_changed = not local.is_file() or local.read_text(encoding="utf-8") != text
        if local_changed:
            atomic_write_text(local, text)
        report.write_report(view, cfg.day_dir / "report.html")
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
