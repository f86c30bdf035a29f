"""Whether a finished day's files are still what a new run would write, so that the run can skip papermill.

A day is *finished* when every paper its post owns has both tasks done (or offline) and no full text
anywhere is still queued for a retry (a run of any date also fills those in). Its fingerprint hashes
everything the post, the report and the executed notebook are made from: the parameters papermill injects,
the endpoint and models (never the key), the stored results, edits and review decisions of the day's papers,
and the library's own code and notebook. After each successful export the fingerprint is written to
``<out>/.fingerprints/<post name>.sha256``; a later run whose fingerprint matches, with the files in place, has nothing to fetch, ask or write.

Owns: the fingerprint and its file. Must not: run anything, open the store (the command passes it) or
decide exit statuses (``app/one_date.py`` does).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping

from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.models import ResultStatus
from ..store.store import Store

FINGERPRINT_DIR = ".fingerprints"  # under the output folder, so that a day's folder holds only its files
_FINISHED = (ResultStatus.DONE, ResultStatus.OFFLINE)
_TASKS = ("translate", "interpret")
_PACKAGE = Path(__file__).resolve().parents[1]
_NOTEBOOK = _PACKAGE.parent / "notebooks" / "daily_digest.ipynb"


def _code_digest() -> str:
    """The library's sources, prompts and templates and the notebook: a change to any may change the files."""
    digest = hashlib.sha256()
    files = sorted(p for p in _PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".yaml", ".j2",
                                                                                  ".tpl", ".css", ".json"))
    for path in [*files, _NOTEBOOK]:
        if path.is_file():
            digest.update(str(path.relative_to(_PACKAGE.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def day_fingerprint(cfg: Config, store: Store, params: Mapping[str, object]) -> str | None:
    """The finished day's fingerprint, or None when the day is not finished (a run has work to do)."""
    papers = store.claimed_papers(cfg.date)
    if not papers or store.pending_fulltexts():
        return None
    state: list[object] = []
    for arxiv_id, version in papers:
        for task in _TASKS:
            record = store.get_result(arxiv_id, version, task)
            if record is None or record.status not in _FINISHED:
                return None
            state.append([arxiv_id, version, task, record.status.value, record.content])
        edits = store.edit_records(arxiv_id, version)
        state.append(sorted([name, edit.value, edit.base] for name, edit in edits.items()))
    reviews = sorted([r.arxiv_id, r.version, r.status.value] for r in store.reviews(cfg.date).values())
    source = store.announcement_source(cfg.date)
    payload = {
        "params": params, "replay": str(cfg.replay_dir or ""), "language": cfg.language,
        "llm": [cfg.llm.configured, cfg.llm.base_url, cfg.llm.model_for("translate"), cfg.llm.model_for("interpret")],
        "source": source, "state": state, "reviews": reviews, "code": _code_digest(),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fingerprint_path(cfg: Config) -> Path:
    return cfg.out_dir / FINGERPRINT_DIR / f"{cfg.post_name}.sha256"


def _outputs(cfg: Config) -> list[Path]:
    return [cfg.day_dir / cfg.post_name, cfg.day_dir / "report.html", cfg.day_dir / "digest.ipynb"]


def is_up_to_date(cfg: Config, fingerprint: str | None) -> bool:
    """True when the day is finished, its files are in place and they were written from this very state."""
    if fingerprint is None or not all(path.is_file() for path in _outputs(cfg)):
        return False
    stored = _fingerprint_path(cfg)
    return stored.is_file() and stored.read_text(encoding="utf-8").strip() == fingerprint


def remember(cfg: Config, store: Store, params: Mapping[str, object]) -> None:
    """After a successful export: record the state the files were made from (nothing when not finished)."""
    fingerprint = day_fingerprint(cfg, store, params)
    stored = _fingerprint_path(cfg)
    if fingerprint is None:
        stored.unlink(missing_ok=True)
    else:
        stored.parent.mkdir(exist_ok=True)
        atomic_write_text(stored, fingerprint + "\n")
