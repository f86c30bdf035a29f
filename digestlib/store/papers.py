"""Queries on papers, announcements and the exactly-once ledger (a paper is new in one post only)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from ..base.models import AnnounceType, Paper
from .connection import StoreConnection
from .rows import iso_or_none, parse_or_none, timestamp


class PaperQueries(StoreConnection):
    """Papers as fetched, each day's announcement in listing order, and the ledger's claims."""

    def upsert_paper(self, paper: Paper) -> None:
        self._execute(
            """INSERT INTO papers VALUES (?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(arxiv_id, version) DO UPDATE SET title=excluded.title, authors=excluded.authors,
               categories=excluded.categories, abstract=excluded.abstract, comment=excluded.comment,
               published=excluded.published, updated=excluded.updated, journal_ref=excluded.journal_ref,
               doi=excluded.doi""",
            (paper.arxiv_id, paper.version, paper.title, json.dumps(list(paper.authors), ensure_ascii=False),
             json.dumps(list(paper.categories)), paper.abstract, paper.comment, iso_or_none(paper.published),
             iso_or_none(paper.updated), paper.journal_ref, paper.doi),
        )

    def _paper_from_row(self, row: sqlite3.Row, announce_type: str = "new", listing_order: int = 0) -> Paper:
        return Paper(
            arxiv_id=row["arxiv_id"], version=row["version"], title=row["title"],
            authors=tuple(json.loads(row["authors"])), categories=tuple(json.loads(row["categories"])),
            abstract=row["abstract"], announce_type=AnnounceType(announce_type), comment=row["comment"],
            published=parse_or_none(row["published"]), updated=parse_or_none(row["updated"]),
            journal_ref=row["journal_ref"], doi=row["doi"], listing_order=listing_order,
        )

    def get_paper(self, arxiv_id: str, version: int) -> Paper | None:
        rows = self._query("SELECT * FROM papers WHERE arxiv_id=? AND version=?", (arxiv_id, version))
        return self._paper_from_row(rows[0]) if rows else None

    def save_announcement(self, mailing_date: dt.date, papers: list[Paper], source: str) -> None:
        """Record a day's announcement whole, in one transaction (so a kill never leaves half of it)."""
        day = mailing_date.isoformat()
        with self.transaction():
            self._execute("DELETE FROM announcement_papers WHERE mailing_date=?", (day,))
            self._execute("INSERT OR REPLACE INTO announcements VALUES (?,?,?)", (day, source, timestamp()))
            for order, paper in enumerate(papers, start=1):
                self.upsert_paper(paper)
                self._execute(
                    "INSERT INTO announcement_papers VALUES (?,?,?,?,?)",
                    (day, paper.arxiv_id, paper.version, paper.announce_type.value, paper.listing_order or order),
                )

    def announcement(self, mailing_date: dt.date) -> list[Paper] | None:
        """The stored announcement of a day (None when never fetched), in listing order."""
        day = mailing_date.isoformat()
        if not self._query("SELECT 1 FROM announcements WHERE mailing_date=?", (day,)):
            return None
        rows = self._query(
            """SELECT p.*, a.announce_type, a.listing_order FROM announcement_papers a
               JOIN papers p ON p.arxiv_id=a.arxiv_id AND p.version=a.version
               WHERE a.mailing_date=? ORDER BY a.listing_order""",
            (day,),
        )
        return [self._paper_from_row(r, r["announce_type"], r["listing_order"]) for r in rows]

    def announcement_source(self, mailing_date: dt.date) -> str | None:
        rows = self._query("SELECT source FROM announcements WHERE mailing_date=?", (mailing_date.isoformat(),))
        return rows[0]["source"] if rows else None

    # -- the exactly-once ledger --------------------------------------------------------------------
    def claim(self, post_date: dt.date, arxiv_id: str, version: int) -> dt.date:
        """Claim a paper as new for ``post_date`` unless a post already carries it; return the owner."""
        with self.transaction():
            self._execute("INSERT OR IGNORE INTO ledger VALUES (?,?,?,?)",
                          (arxiv_id, post_date.isoformat(), version, timestamp()))
            row = self._query("SELECT post_date FROM ledger WHERE arxiv_id=?", (arxiv_id,))[0]
        return dt.date.fromisoformat(row["post_date"])

    def ledger(self) -> dict[str, dt.date]:
        return {r["arxiv_id"]: dt.date.fromisoformat(r["post_date"]) for r in self._query("SELECT * FROM ledger")}


    def claimed_papers(self, post_date: dt.date | str) -> list[tuple[str, int]]:
        """(arxiv_id, version) of the papers new in the post of ``post_date`` (the ledger's claims)."""
        rows = self._query("SELECT arxiv_id, version FROM ledger WHERE post_date=? ORDER BY arxiv_id",
                           (str(post_date),))
        return [(r["arxiv_id"], r["version"]) for r in rows]

