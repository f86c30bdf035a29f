"""``pipeline.run_day`` as the notebook calls it, and the post it then shows: the digest of the run's
selection, read from the store right after the run (``post.digest.build_digest``, the notebook's view)."""

from __future__ import annotations

from digestlib.base.config import Config
from digestlib.base.models import DayDigest
from digestlib.day.pipeline import DayResult, run_day
from digestlib.post.digest import build_digest
from digestlib.store.store import Store


def run_day_digest(cfg: Config, **kwargs) -> tuple[DayResult, DayDigest]:
    """Run the day (``kwargs`` go to ``run_day``): what it returned, and the digest its post is made of."""
    result = run_day(cfg, **kwargs)
    with Store(cfg.store_path) as store:
        return result, build_digest(cfg, store, result.selection)
