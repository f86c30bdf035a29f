"""``digest snapshot``: record a day's raw feed, API pages and PDFs so that any day can be re-run offline.

The folder layout is the one ``arxiv_source.make_transport`` records and replays (``index.json`` plus one
file per response, keyed by method, path and query, never by host): ``digest run --replay DIR`` serves it
instead of the network.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .arxiv_source import ArxivSource, make_transport
from .config import Config
from .fulltext import FulltextFetcher


def record_day(cfg: Config, folder: Path) -> int:
    """Fetch the day's announcement and every announced paper's full text through a recorder."""
    folder.mkdir(parents=True, exist_ok=True)
    with ArxivSource(cfg.arxiv, cfg.categories, record_dir=folder) as source:
        announcement = source.fetch_announcement(cfg.date)
    with tempfile.TemporaryDirectory(prefix="digest-snapshot-") as scratch:  # force real downloads
        with FulltextFetcher(cfg.fulltext, cfg.arxiv.files_url, Path(scratch), user_agent=cfg.arxiv.user_agent,
                             transport=make_transport(record_dir=folder)) as fetcher:
            for paper in announcement.papers:
                if paper.announce_type.is_new:
                    fetcher.download(paper)
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return len(index.get("entries", {}))
