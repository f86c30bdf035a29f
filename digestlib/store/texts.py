"""Queries on full texts (with their retry queue) and task results (a ``done`` result is final)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable

from ..base.errors import redact
from ..base.models import FullText, ResultStatus, TextStatus
from .connection import StoreConnection
from .rows import FulltextRecord, ResultRecord, parse_or_none, timestamp


class TextQueries(StoreConnection):
    """Full texts and the translate / interpret results made from them."""

    def save_fulltext(self, ft: FullText, *, at: dt.datetime | None = None) -> None:
        """Store a full text; ``at`` (default: now) stamps the attempt, and the first one stays the first
        (the pipeline passes its clock, ``DIGEST_NOW`` included, so waiting times are measured on it)."""
        now = at.astimezone(dt.timezone.utc).isoformat(timespec="seconds") if at is not None else timestamp()
        self._execute(
            """INSERT INTO fulltexts (arxiv_id, version, status, source, title, sections, pages, detail, attempts,
                                     first_attempt_at, last_attempt_at, engine) VALUES (?,?,?,?,?,?,?,?,1,?,?,?)
               ON CONFLICT(arxiv_id, version) DO UPDATE SET status=excluded.status, source=excluded.source,
               title=excluded.title, sections=excluded.sections, pages=excluded.pages, detail=excluded.detail,
               attempts=fulltexts.attempts+1, last_attempt_at=excluded.last_attempt_at, engine=excluded.engine""",
            (ft.arxiv_id, ft.version, ft.status.value, ft.source, ft.title,
             json.dumps(ft.sections, ensure_ascii=False), ft.pages, redact(ft.detail), now, now, ft.engine),
        )

    def get_fulltext(self, arxiv_id: str, version: int) -> FulltextRecord | None:
        rows = self._query("SELECT * FROM fulltexts WHERE arxiv_id=? AND version=?", (arxiv_id, version))
        if not rows:
            return None
        r = rows[0]
        ft = FullText(arxiv_id=r["arxiv_id"], version=r["version"], status=TextStatus(r["status"]),
                      source=r["source"], title=r["title"], sections=json.loads(r["sections"]),
                      pages=r["pages"], detail=r["detail"], engine=r["engine"])
        return FulltextRecord(ft, r["attempts"], parse_or_none(r["first_attempt_at"]), parse_or_none(r["last_attempt_at"]))

    def pending_fulltexts(self) -> list[tuple[str, int]]:
        """The retry queue: papers whose full text was not there yet (survives restarts: it is the store)."""
        rows = self._query("SELECT arxiv_id, version FROM fulltexts WHERE status=? ORDER BY first_attempt_at",
                           (TextStatus.PENDING.value,))
        return [(r["arxiv_id"], r["version"]) for r in rows]

    # -- task results -----------------------------------------------------------------------------
    def save_result(self, arxiv_id: str, version: int, task: str, status: ResultStatus, *,
                    content: dict[str, Any] | None = None, detail: str = "", unverified: Iterable[str] = (),
                    model: str = "", regenerate: bool = False) -> bool:
        """Store a task's result. A ``done`` result is paid for and final: a later run never replaces it
        (only ``regenerate=True``, an explicit request, does). Returns whether the row was written."""
        keep_done = "" if regenerate else " WHERE results.status != 'done'"
        cursor = self._execute(
            "INSERT INTO results (arxiv_id, version, task, status, content, detail, unverified, model, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (arxiv_id, version, task) DO UPDATE SET "
            "status=excluded.status, content=excluded.content, detail=excluded.detail, unverified=excluded.unverified,"
            " model=excluded.model, updated_at=excluded.updated_at" + keep_done,
            (arxiv_id, version, task, status.value, redact(json.dumps(content or {}, ensure_ascii=False)), redact(detail),
             json.dumps(list(unverified), ensure_ascii=False), model, timestamp()),
        )
        return bool(cursor.rowcount)

    def get_result(self, arxiv_id: str, version: int, task: str) -> ResultRecord | None:
        rows = self._query("SELECT * FROM results WHERE arxiv_id=? AND version=? AND task=?", (arxiv_id, version, task))
        if not rows:
            return None
        r = rows[0]
        return ResultRecord(r["arxiv_id"], r["version"], r["task"], ResultStatus(r["status"]), json.loads(r["content"]),
                            r["detail"], tuple(json.loads(r["unverified"])), r["model"])

