"""The embedded SQLite store: papers, announcements, the exactly-once ledger, full texts, task results,
the LLM response cache and call accounting, review edits.

Every stage reads from and writes to the store, so a killed run resumes where it stopped and nothing
is paid twice. Each write is its own transaction (WAL journal): a SIGKILL loses at most the write in
flight, never the file. The store holds no secret: callers pass redacted text only.

Owns: the schema, its migrations and every query. Must not: render, fetch or call anything. Why over 500
lines: every query in one place is the point (DESIGN.md: "store.py: SQLite schema and every query").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..base.errors import StaleReviewError, StoreError, redact
from ..base.models import AnnounceType, FullText, Paper, ResultStatus, ReviewStatus, TextStatus

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    arxiv_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    authors TEXT NOT NULL,          -- JSON list
    categories TEXT NOT NULL,       -- JSON list, primary first
    abstract TEXT NOT NULL,
    comment TEXT,
    published TEXT,
    updated TEXT,
    journal_ref TEXT,
    doi TEXT,
    PRIMARY KEY (arxiv_id, version)
);
CREATE TABLE IF NOT EXISTS announcements (
    mailing_date TEXT PRIMARY KEY,
    source TEXT NOT NULL,           -- rss | api | replay
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS announcement_papers (
    mailing_date TEXT NOT NULL REFERENCES announcements(mailing_date),
    arxiv_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    announce_type TEXT NOT NULL,
    listing_order INTEGER NOT NULL,
    PRIMARY KEY (mailing_date, arxiv_id)
);
CREATE TABLE IF NOT EXISTS ledger (
    arxiv_id TEXT PRIMARY KEY,      -- a paper is new in exactly one post
    post_date TEXT NOT NULL,
    version INTEGER NOT NULL,
    claimed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fulltexts (
    arxiv_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    sections TEXT NOT NULL DEFAULT '{}',
    pages INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, version)
);
CREATE TABLE IF NOT EXISTS results (
    arxiv_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    task TEXT NOT NULL,             -- translate | interpret
    status TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '{}',  -- JSON: text / interpretation parts / source
    detail TEXT NOT NULL DEFAULT '',
    unverified TEXT NOT NULL DEFAULT '[]',
    input_hash TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, version, task)
);
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    seconds REAL NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edits (
    arxiv_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    field TEXT NOT NULL,            -- abstract_zh | details_md
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, version, field)
);
CREATE TABLE IF NOT EXISTS approvals (
    post_date TEXT NOT NULL,
    arxiv_id TEXT NOT NULL,
    approved INTEGER NOT NULL,      -- 1 approved, 0 hidden from the post
    updated_at TEXT NOT NULL,
    PRIMARY KEY (post_date, arxiv_id)
);
"""

# Schema changes after version 1: (unique name, SQL statements separated by ";" with no ";" inside a
# statement). Each is applied once per store and recorded by name in ``schema_migrations``, so entries
# added by different changes compose: append a new entry at the end, never edit one already released.
MIGRATIONS: list[tuple[str, str]] = [
    ("review-states", """
        CREATE TABLE IF NOT EXISTS reviews (
            post_date TEXT NOT NULL,
            arxiv_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,           -- models.ReviewStatus: pending | approved | rejected
            reviewer TEXT NOT NULL DEFAULT '',
            decided_at TEXT NOT NULL,
            PRIMARY KEY (post_date, arxiv_id)
        );
        INSERT OR IGNORE INTO reviews
            SELECT post_date, arxiv_id, 0, CASE approved WHEN 1 THEN 'approved' ELSE 'rejected' END, '', updated_at
            FROM approvals;
        ALTER TABLE edits ADD COLUMN base TEXT;                       -- the generated text the edit was made over
        ALTER TABLE edits ADD COLUMN editor TEXT NOT NULL DEFAULT ''
    """),
    ("llm-capabilities", """
        CREATE TABLE IF NOT EXISTS llm_capabilities (
            base_url TEXT NOT NULL,
            model TEXT NOT NULL,
            name TEXT NOT NULL,             -- mode (json_schema | json_object | text), context_window, slots
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (base_url, model, name)
        )
    """),
    ("llm-intents", """
        CREATE TABLE IF NOT EXISTS llm_intents (
            key TEXT PRIMARY KEY,           -- the call's cache key: recorded before it is sent
            day TEXT NOT NULL,
            task TEXT NOT NULL,
            model TEXT NOT NULL,
            sent_at TEXT NOT NULL
        )
    """),
    ("llm-failed-calls", """
        CREATE TABLE IF NOT EXISTS llm_failed_calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            day TEXT NOT NULL,
            task TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,           -- "HTTP 429", "timeout", "unreachable", "dropped", "bad response"
            cause TEXT NOT NULL,            -- the endpoint's message, redacted, at most 200 characters
            seconds REAL NOT NULL,
            at TEXT NOT NULL
        )
    """),
    # results.input_hash was never written by anything (SQLite >= 3.35 drops a column).
    ("drop-results-input-hash", "ALTER TABLE results DROP COLUMN input_hash"),
    # issue 24: every saved text of a field is kept (a bad change is recoverable from the card); a save
    # names the revision it was made on, and an approval the revisions it approved.
    ("review-edit-versions", """
        CREATE TABLE IF NOT EXISTS edit_versions (
            arxiv_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            field TEXT NOT NULL,
            revision INTEGER NOT NULL,      -- 1, 2, ... per field (0 is the generated text, never stored here)
            value TEXT NOT NULL,
            editor TEXT NOT NULL DEFAULT '',
            saved_at TEXT NOT NULL,
            made_on INTEGER NOT NULL,       -- the revision the editor saw when typing it
            refused INTEGER NOT NULL DEFAULT 0,  -- 1: a stale save, kept so that nothing typed is lost
            PRIMARY KEY (arxiv_id, version, field, revision)
        );
        ALTER TABLE edits ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        INSERT OR IGNORE INTO edit_versions
            SELECT arxiv_id, version, field, 1, value, editor, updated_at, 0, 0 FROM edits;
        ALTER TABLE reviews ADD COLUMN approved_revisions TEXT NOT NULL DEFAULT ''
    """),
    # which PDF engine read each full text (fulltext.pdf_engine): "pdfium", "pypdf"; "" for HTML, abstract, older rows
    ("fulltext-pdf-engine", "ALTER TABLE fulltexts ADD COLUMN engine TEXT NOT NULL DEFAULT ''"),
]


_OUR_TABLES = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA)) | {"schema_migrations"}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_store_file(path: Path) -> None:
    """Refuse an existing store path that cannot be our store: a folder, an empty file (a truncated
    store must not be silently replaced by a new one, paying for everything again) or not SQLite."""
    if path.is_dir():
        raise StoreError(f"the store path {path} is a folder, not a file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read the store {path}: {exc.strerror or exc}") from None
    if not head:
        wal = path.with_name(path.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            return  # SQLite recovers the content from the write-ahead log
        raise StoreError(f"the store {path} is an empty file (0 bytes), not an arxiv-digest store: restore it "
                         "from a backup, or delete it to start a new store (everything is fetched and paid again)")
    if head != _SQLITE_MAGIC:
        raise StoreError(f"the store {path} is unusable: not a SQLite file, so not an arxiv-digest store; "
                         "move it away or choose another --out")


def timestamp() -> str:
    """Now, as every timestamp in the store is written (UTC, to the second): compare ``since`` values with it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class FulltextRecord:
    """A stored full text with its retry bookkeeping."""

    fulltext: FullText
    attempts: int
    first_attempt_at: dt.datetime
    last_attempt_at: dt.datetime


@dataclass(frozen=True)
class ResultRecord:
    """A stored task result (translation or interpretation)."""

    arxiv_id: str
    version: int
    task: str
    status: ResultStatus
    content: dict[str, Any]
    detail: str
    unverified: tuple[str, ...]
    model: str


@dataclass(frozen=True)
class EditRecord:
    """A reviewer's text for one field, with the generated text it was written over."""

    field: str
    value: str
    base: str | None
    editor: str
    updated_at: str
    revision: int = 1


@dataclass(frozen=True)
class EditVersion:
    """One saved text of a field (``refused``: a stale save, kept but never current)."""

    field: str
    revision: int
    value: str
    editor: str
    saved_at: str
    made_on: int
    refused: bool


@dataclass(frozen=True)
class StaleSave:
    """A save refused because the field changed since the editor loaded it: both texts, to choose from."""

    field: str
    made_on: int
    current_revision: int
    current_value: str
    current_editor: str
    refused_value: str


@dataclass(frozen=True)
class ReviewRecord:
    """A reviewer's decision on one paper of one post: who and when."""

    arxiv_id: str
    version: int
    status: ReviewStatus
    reviewer: str
    decided_at: str


class Store:
    """Thread-safe access to one SQLite file (one connection, serialised by a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        if not self.path.exists() and not self.path.is_symlink():
            self._create(self.path)  # made whole elsewhere, then renamed: an empty file is never ours
        else:
            check_store_file(self.path)  # an empty or foreign file is an error, never a silent new store
        try:
            self._db = self._connect(self.path)
            self._check_foreign()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the store {self.path} is unusable: {exc}") from None

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _create(self, path: Path) -> None:
        """A new store: built with its schema in a temporary file, then renamed into place (so a run
        killed while creating it leaves no empty file behind that a later run would have to refuse)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
        try:
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=DELETE")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            finally:
                db.close()
            if not path.exists():
                os.replace(tmp, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot create the store {path}: {exc}") from None
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
                leftover.unlink(missing_ok=True)

    def _check_foreign(self) -> None:
        """A SQLite file written by something else (no schema version, tables that are not ours)."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] != 0:
            return
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        foreign = sorted(t for t in tables - _OUR_TABLES if not t.startswith("sqlite_"))
        if foreign:
            self._db.close()
            raise StoreError(f"{self.path} is not an arxiv-digest store (it holds table {foreign[0]!r}); "
                             "move it away or choose another --out")

    # -- plumbing ---------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the store {self.path} was written by a newer arxiv-digest (schema {version})")
        if version < SCHEMA_VERSION:
            # executescript commits on its own; CREATE ... IF NOT EXISTS makes a repeat harmless.
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._apply_migrations()

    def _apply_migrations(self) -> None:
        """Apply each entry of ``MIGRATIONS`` not yet recorded in ``schema_migrations``, once, in order.

        Each runs in its own ``BEGIN IMMEDIATE`` transaction and re-checks under it, so two processes
        opening an old store at once (the run and the review kernel) apply it exactly once."""
        self._db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for name, script in MIGRATIONS:
            if self._db.execute("SELECT 1 FROM schema_migrations WHERE name=?", (name,)).fetchone():
                continue
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if not self._db.execute("SELECT 1 FROM schema_migrations WHERE name=?", (name,)).fetchone():
                    for statement in (s.strip() for s in script.split(";")):
                        if statement:
                            self._db.execute(statement)
                    self._db.execute("INSERT INTO schema_migrations VALUES (?,?)", (name, timestamp()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def transaction(self) -> "_Transaction":
        return _Transaction(self)

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"store error: {exc}") from None

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- papers and announcements -------------------------------------------------------------------
    def upsert_paper(self, paper: Paper) -> None:
        self._execute(
            """INSERT INTO papers VALUES (?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(arxiv_id, version) DO UPDATE SET title=excluded.title, authors=excluded.authors,
               categories=excluded.categories, abstract=excluded.abstract, comment=excluded.comment,
               published=excluded.published, updated=excluded.updated, journal_ref=excluded.journal_ref,
               doi=excluded.doi""",
            (paper.arxiv_id, paper.version, paper.title, json.dumps(list(paper.authors), ensure_ascii=False),
             json.dumps(list(paper.categories)), paper.abstract, paper.comment, _iso(paper.published),
             _iso(paper.updated), paper.journal_ref, paper.doi),
        )

    def _paper_from_row(self, row: sqlite3.Row, announce_type: str = "new", listing_order: int = 0) -> Paper:
        return Paper(
            arxiv_id=row["arxiv_id"], version=row["version"], title=row["title"],
            authors=tuple(json.loads(row["authors"])), categories=tuple(json.loads(row["categories"])),
            abstract=row["abstract"], announce_type=AnnounceType(announce_type), comment=row["comment"],
            published=_parse_dt(row["published"]), updated=_parse_dt(row["updated"]),
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

    def ledger_owner(self, arxiv_id: str) -> dt.date | None:
        rows = self._query("SELECT post_date FROM ledger WHERE arxiv_id=?", (arxiv_id,))
        return dt.date.fromisoformat(rows[0]["post_date"]) if rows else None

    # -- full texts and the retry queue -------------------------------------------------------------
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
        return FulltextRecord(ft, r["attempts"], _parse_dt(r["first_attempt_at"]), _parse_dt(r["last_attempt_at"]))

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

    # -- the LLM cache and accounting (llm.LLMCache protocol) ---------------------------------------
    def cache_get(self, key: str) -> dict | None:
        rows = self._query("SELECT response FROM llm_cache WHERE key=?", (key,))
        return json.loads(rows[0]["response"]) if rows else None

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None:
        self._execute("INSERT OR REPLACE INTO llm_cache VALUES (?,?,?,?,?,?,?)",
                      (key, task, model, redact(json.dumps(response, ensure_ascii=False)), prompt_tokens,  # a model may echo a key
                       completion_tokens, timestamp()))

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None:
        self._execute("INSERT INTO llm_calls (day, task, model, prompt_tokens, completion_tokens, cached, seconds, at)"
                      " VALUES (?,?,?,?,?,?,?,?)",
                      (day, task, model, prompt_tokens, completion_tokens, int(cached), seconds, timestamp()))

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None:
        """An HTTP call that got no usable answer (llm.LLMClient's hook): kept apart from ``llm_calls``,
        whose rows are the answers received (tokens, budget, cache hits)."""
        self._execute("INSERT INTO llm_failed_calls (day, task, model, status, cause, seconds, at)"
                      " VALUES (?,?,?,?,?,?,?)", (day, task, model, status, redact(cause)[:200], seconds, timestamp()))

    def failed_call_rows(self, day: str | None = None) -> list[dict[str, Any]]:
        """Per task, model and status: how many calls failed, the time they took, and the last cause."""
        where, params = ("WHERE day=?", (day,)) if day else ("", ())
        rows = self._query(
            f"""SELECT task, model, status, COUNT(*) AS calls, SUM(seconds) AS seconds,
                (SELECT f2.cause FROM llm_failed_calls f2 WHERE f2.task=f.task AND f2.model=f.model
                 AND f2.status=f.status {'AND f2.day=f.day' if day else ''} ORDER BY f2.id DESC LIMIT 1) AS cause
                FROM llm_failed_calls f {where.replace('day', 'f.day')} GROUP BY task, model, status
                ORDER BY task, model, status""",
            params,
        )
        return [dict(r) for r in rows]

    def claimed_papers(self, post_date: dt.date | str) -> list[tuple[str, int]]:
        """(arxiv_id, version) of the papers new in the post of ``post_date`` (the ledger's claims)."""
        rows = self._query("SELECT arxiv_id, version FROM ledger WHERE post_date=? ORDER BY arxiv_id",
                           (str(post_date),))
        return [(r["arxiv_id"], r["version"]) for r in rows]

    def paid_calls_since(self, since: str) -> list[dict[str, Any]]:
        """Per model: HTTP calls (cache hits excluded) and their tokens, recorded at or after ``since``."""
        rows = self._query("SELECT model, COUNT(*) AS calls, SUM(prompt_tokens) AS prompt_tokens, "
                           "SUM(completion_tokens) AS completion_tokens FROM llm_calls WHERE cached=0 AND at>=? "
                           "GROUP BY model", (since,))
        return [dict(r) for r in rows]

    def failed_calls_since(self, since: str) -> int:
        """HTTP requests to the LLM that failed (an error status, a timeout, an unreadable answer, a connection
        dropped mid-answer) at or after ``since``: with ``paid_calls_since`` every request sent. A refused
        connection ("unreachable") sent no request and is not counted."""
        rows = self._query("SELECT COUNT(*) AS n FROM llm_failed_calls WHERE at>=? AND status!='unreachable'",
                           (since,))
        return int(rows[0]["n"]) if rows else 0

    # -- what an endpoint can do (found once, remembered across runs; llm.LLMCache protocol) ---------
    def capability_get(self, base_url: str, model: str) -> dict[str, str]:
        rows = self._query("SELECT name, value FROM llm_capabilities WHERE base_url=? AND model=?", (base_url, model))
        return {r["name"]: r["value"] for r in rows}

    def capability_put(self, base_url: str, model: str, name: str, value: str) -> None:
        self._execute("INSERT OR REPLACE INTO llm_capabilities VALUES (?,?,?,?,?)",
                      (base_url, model, name, str(value), timestamp()))

    def usage_rows(self, day: str | None = None) -> list[dict[str, Any]]:
        """Per task and model: calls (cache hits included), cache hits, and the tokens actually paid for."""
        where, params = ("WHERE day=?", (day,)) if day else ("", ())
        rows = self._query(
            f"""SELECT task, model, COUNT(*) AS calls, SUM(cached) AS cached_calls,
                SUM(CASE WHEN cached=0 THEN prompt_tokens ELSE 0 END) AS prompt_tokens,
                SUM(CASE WHEN cached=0 THEN completion_tokens ELSE 0 END) AS completion_tokens,
                SUM(seconds) AS seconds
                FROM llm_calls {where} GROUP BY task, model ORDER BY task, model""",
            params,
        )
        return [dict(r) for r in rows]

    def count_llm_calls(self) -> int:
        """HTTP calls actually made (cache hits excluded) over the store's life."""
        return self._query("SELECT COUNT(*) AS n FROM llm_calls WHERE cached=0")[0]["n"]

    # -- the LLM intent log (intents.py): calls in flight, recorded before they are sent -------------
    def intent_begin(self, key: str, *, day: str, task: str, model: str) -> None:
        self._execute("INSERT OR REPLACE INTO llm_intents VALUES (?,?,?,?,?)", (key, day, task, model, timestamp()))

    def intent_end(self, key: str) -> None:
        self._execute("DELETE FROM llm_intents WHERE key=?", (key,))

    def take_interrupted_intents(self) -> list[dict[str, Any]]:
        """Calls a killed run left in flight with no stored answer (they will be sent again); clears the log.
        Call at the start of a run, under the run lock (no other run can have calls in flight)."""
        with self.transaction():
            rows = self._query("SELECT i.* FROM llm_intents i LEFT JOIN llm_cache c ON c.key=i.key "
                               "WHERE c.key IS NULL ORDER BY i.sent_at")
            self._execute("DELETE FROM llm_intents")
        return [dict(r) for r in rows]

    # -- review -----------------------------------------------------------------------------------
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

    def set_approval(self, post_date: dt.date, arxiv_id: str, approved: bool) -> None:
        """Older API: approved or rejected (use :meth:`set_review`)."""
        self.set_review(post_date, arxiv_id, 0, ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED)

    def approvals(self, post_date: dt.date) -> dict[str, bool]:
        """Older API: the decided papers, True when approved (pending ones are left out)."""
        return {k: r.status is ReviewStatus.APPROVED for k, r in self.reviews(post_date).items()
                if r.status is not ReviewStatus.PENDING}


class _Transaction:
    """``with store.transaction():`` groups writes atomically (nested uses join the outer one)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outer = False

    def __enter__(self) -> None:
        self.store._lock.acquire()
        self.outer = not self.store._db.in_transaction
        if self.outer:
            self.store._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if self.outer:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()

