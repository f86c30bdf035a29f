"""Queries of the review: the reviewer's texts (every saved revision kept) and decisions per post."""

from __future__ import annotations

import datetime as dt
import json
from typing import Mapping

from ..base.errors import StaleReviewError, StoreError
from ..base.models import ReviewStatus
from .connection import StoreConnection
from .rows import EditRecord, EditVersion, ReviewRecord, StaleSave, timestamp


class EditQueries(StoreConnection):
    """Edits over the generated text (a stale save is refused but kept) and approvals of exact revisions."""

    EDITABLE_FIELDS = ("abstract_zh", "details_md")

    def save_edit(self, arxiv_id: str, version: int, field: str, value: str, *, base: str | None = None,
                  editor: str = "") -> None:
        """Store the reviewer's text for a field over whatever is current (no staleness check: the review
        uses :meth:`save_edit_revision`). ``base`` is the generated text the edit was made over: when a
        later run or a regeneration produces something else, the review shows it beside the edit."""
        with self.transaction():
            self.save_edit_revision(arxiv_id, version, field, value, base=base, editor=editor,
                                    made_on=self.current_revision(arxiv_id, version, field))

    def drop_edit(self, arxiv_id: str, version: int, field: str, *, generated: str | None = None,
                  editor: str = "") -> None:
        """Forget the reviewer's text for a field: the generated text shows again. With ``generated`` (the
        text now shown) the drop is kept as a revision, and an approval of the edited text is withdrawn."""
        with self.transaction():
            self._execute("DELETE FROM edits WHERE arxiv_id=? AND version=? AND field=?", (arxiv_id, version, field))
            if generated is not None:
                current = self.current_revision(arxiv_id, version, field)
                latest = self._query("SELECT MAX(revision) AS n FROM edit_versions WHERE arxiv_id=? AND version=? "
                                     "AND field=?", (arxiv_id, version, field))[0]["n"] or 0
                self._execute("INSERT INTO edit_versions VALUES (?,?,?,?,?,?,?,?,0)",
                              (arxiv_id, version, field, latest + 1, generated, editor, timestamp(), current))
                self.withdraw_approval(arxiv_id, version)

    def edits(self, arxiv_id: str, version: int) -> dict[str, str]:
        rows = self._query("SELECT field, value FROM edits WHERE arxiv_id=? AND version=?", (arxiv_id, version))
        return {r["field"]: r["value"] for r in rows}

    def edit_records(self, arxiv_id: str, version: int) -> dict[str, EditRecord]:
        rows = self._query("SELECT * FROM edits WHERE arxiv_id=? AND version=?", (arxiv_id, version))
        return {r["field"]: EditRecord(r["field"], r["value"], r["base"], r["editor"], r["updated_at"], r["revision"])
                for r in rows}

    def current_revision(self, arxiv_id: str, version: int, field: str) -> int:
        """The revision the field shows now: 0 for the generated text never edited, else the last accepted
        save (a drop back to the generated text is a revision too, so a save made before it is stale)."""
        rows = self._query("SELECT MAX(revision) AS n FROM edit_versions WHERE arxiv_id=? AND version=? AND field=? "
                           "AND refused=0", (arxiv_id, version, field))
        return rows[0]["n"] or 0

    def save_edit_revision(self, arxiv_id: str, version: int, field: str, value: str, *, made_on: int,
                           base: str | None = None, editor: str = "") -> int | StaleSave:
        """Save the reviewer's text if the field is still at revision ``made_on`` (what she saw); return the
        new revision. Otherwise keep the text as a refused version and return both texts (a :class:`StaleSave`).
        An accepted save puts an approved paper back to pending: the approval was of the text before."""
        if field not in self.EDITABLE_FIELDS:
            raise StoreError(f"unknown editable field {field!r}")
        with self.transaction():
            current = self.current_revision(arxiv_id, version, field)
            latest = self._query("SELECT MAX(revision) AS n FROM edit_versions WHERE arxiv_id=? AND version=? "
                                 "AND field=?", (arxiv_id, version, field))[0]["n"] or 0
            revision = latest + 1
            stale = current != made_on
            self._execute("INSERT INTO edit_versions VALUES (?,?,?,?,?,?,?,?,?)",
                          (arxiv_id, version, field, revision, value, editor, timestamp(), made_on, int(stale)))
            if stale:
                row = self._query("SELECT value, editor FROM edits WHERE arxiv_id=? AND version=? AND field=?",
                                  (arxiv_id, version, field))
                return StaleSave(field, made_on, current, row[0]["value"] if row else "",
                                 row[0]["editor"] if row else "", value)
            self._execute(
                """INSERT INTO edits (arxiv_id, version, field, value, updated_at, base, editor, revision)
                   VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT(arxiv_id, version, field) DO UPDATE SET value=excluded.value,
                   updated_at=excluded.updated_at, editor=excluded.editor, revision=excluded.revision,
                   base=COALESCE(edits.base, excluded.base)""",
                (arxiv_id, version, field, value, timestamp(), base, editor, revision))
            self.withdraw_approval(arxiv_id, version)
        return revision

    def withdraw_approval(self, arxiv_id: str, version: int) -> None:
        """The paper's text changed: an approval of it no longer holds (back to pending)."""
        self._execute("UPDATE reviews SET status=?, decided_at=?, approved_revisions='' WHERE arxiv_id=? "
                      "AND version=? AND status=?", (ReviewStatus.PENDING.value, timestamp(), arxiv_id, version,
                                                     ReviewStatus.APPROVED.value))

    def edit_versions(self, arxiv_id: str, version: int, field: str) -> list[EditVersion]:
        """Every saved text of the field, oldest first (refused stale saves included)."""
        rows = self._query("SELECT * FROM edit_versions WHERE arxiv_id=? AND version=? AND field=? ORDER BY revision",
                           (arxiv_id, version, field))
        return [EditVersion(r["field"], r["revision"], r["value"], r["editor"], r["saved_at"], r["made_on"],
                            bool(r["refused"])) for r in rows]

    def set_review(self, post_date: dt.date, arxiv_id: str, version: int, status: ReviewStatus,
                   reviewer: str = "", *, revisions: Mapping[str, int] | None = None) -> None:
        """Record a decision (who and when); PENDING resets it. ``revisions`` (field -> revision) names the
        texts an approval is of: when they are no longer current, the approval is refused (StoreError)."""
        with self.transaction():
            if revisions is not None and ReviewStatus(status) is ReviewStatus.APPROVED:
                changed = [f for f, n in revisions.items() if self.current_revision(arxiv_id, version, f) != n]
                if changed:
                    raise StaleReviewError(f"the {' and '.join(changed)} of {arxiv_id} changed since it was loaded: "
                                           "read the new text, then approve", fields=tuple(changed))
            kept = json.dumps(dict(revisions)) if revisions is not None else ""
            self._execute("INSERT OR REPLACE INTO reviews (post_date, arxiv_id, version, status, reviewer, decided_at, "
                          "approved_revisions) VALUES (?,?,?,?,?,?,?)",
                          (post_date.isoformat(), arxiv_id, version, ReviewStatus(status).value, reviewer, timestamp(),
                           kept))

    def reviews(self, post_date: dt.date) -> dict[str, ReviewRecord]:
        """The decisions of a post by arXiv id (a paper without a row is pending)."""
        rows = self._query("SELECT * FROM reviews WHERE post_date=?", (post_date.isoformat(),))
        return {r["arxiv_id"]: ReviewRecord(r["arxiv_id"], r["version"], ReviewStatus(r["status"]), r["reviewer"],
                                            r["decided_at"]) for r in rows}

