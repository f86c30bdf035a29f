"""``digest snapshot``: record a day's announcement and its new papers' full texts into a snapshot folder.

The one step that drives both the source (feed and API) and the full-text downloads through
``source.snapshot``'s recorder, so it stands on fulltext's floor, above ``source/``: the snapshot module
itself only stores and replays answers. Must not: parse, extract or call the LLM (the recorded files are
the raw answers; ``digest run --replay DIR`` reads them back).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..base.config import Config
from ..source.announcement import ArxivSource
from ..source.snapshot import make_transport
from .download import FulltextFetcher

__all__ = ["record_day"]


def record_day(cfg: Config, folder: Path) -> int:
    """Fetch the day's announcement and every new paper's full text through a recorder into ``folder``;
    returns the number of recorded requests."""
    folder.mkdir(parents=True, exist_ok=True)
    with ArxivSource(cfg.arxiv, cfg.categories, record_dir=folder) as source:
        announcement = source.fetch_announcement(cfg.date, now=cfg.now)
    with tempfile.TemporaryDirectory(prefix="digest-snapshot-") as scratch:  # force real downloads
        with FulltextFetcher(cfg.fulltext, cfg.arxiv.files_url, Path(scratch), user_agent=cfg.arxiv.user_agent,
                             transport=make_transport(record_dir=folder)) as fetcher:
            for paper in announcement.papers:
                if paper.announce_type.is_new:
                    fetcher.download(paper)
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return len(index.get("entries", {}))
