"""Write the reviewed post into a Jekyll site: the store's text with the reviewer's edits and approvals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import render
from .atomic import atomic_write_text
from .config import Config
from .errors import DigestError, UsageError
from .pipeline import build_digest, stored_selection
from .store import Store


def reviewed_digest(cfg: Config):
    """The day as the reviewer left it: hidden papers dropped, edited text in place (no network)."""
    if not cfg.store_path.is_file():  # opening the store would create it (and the output folder)
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: "
                          f"run `digest run --date {cfg.date}` first")
    with Store(cfg.store_path) as store:
        selection = stored_selection(cfg, store)
        approvals = store.approvals(cfg.date)
        selection = replace(selection, new=tuple(p for p in selection.new if approvals.get(p.arxiv_id, True)))
        return build_digest(cfg, store, selection)


def publish_day(cfg: Config, site: Path) -> Path:
    """Render the reviewed day and write ``<site>/_posts/<date>-arxiv-daily.md`` atomically."""
    if not site.is_dir():
        raise UsageError(f"Jekyll site folder not found: {site}")
    text = render.render_post(reviewed_digest(cfg))
    posts = site / "_posts"
    posts.mkdir(exist_ok=True)
    target = posts / cfg.post_name
    atomic_write_text(target, text)
    return target
