"""One SQLite file behind a lock: opening it (refusing what is not ours), the schema and its migrations
applied once, transactions, and the two primitives every query uses.

Each write is its own transaction (WAL journal): a SIGKILL loses at most the write in flight, never the
file. Must not: know any table beyond the schema (the queries live in the modules beside it).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Self

from ..base.errors import StoreError
from .rows import timestamp
from .schema import MIGRATIONS, OUR_TABLES, SCHEMA, SCHEMA_VERSION

SqlValue = str | int | float | bytes | None  # what SQLite stores and returns in a column
_SQLITE_MAGIC = b"SQLite format 3\x00"

# The store files this process holds connections to (resolved path -> how many). A file is checked only
# when it is first opened here: ``check_store_file`` opens and closes the file itself, and closing any
# descriptor of a file drops every POSIX lock this process holds on it, the open connections' included
# (sqlite.org/howtocorrupt.html, 2.2): another process could then checkpoint and truncate the WAL
# under them ("database disk image is malformed").
_OPEN_HERE: dict[Path, int] = {}
_OPEN_HERE_LOCK = threading.Lock()


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


class StoreConnection:
    """Thread-safe access to one SQLite file (one connection, serialised by a lock); the query groups
    (``papers``, ``texts``, ``calls``, ``edits``) build on it and :class:`~.store.Store` joins them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._key = self.path.resolve()
        with _OPEN_HERE_LOCK:  # held while opening: a check never runs beside an open connection of ours
            if not self.path.exists() and not self.path.is_symlink():
                self._create(self.path)  # made whole elsewhere, then renamed: an empty file is never ours
            elif not _OPEN_HERE.get(self._key):
                check_store_file(self.path)  # an empty or foreign file is an error, never a silent new store
            try:
                self._db = self._connect(self.path)
                self._check_foreign()
                self._migrate()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the store {self.path} is unusable: {exc}") from None
            _OPEN_HERE[self._key] = _OPEN_HERE.get(self._key, 0) + 1
        self._open = True

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
                db.executescript(SCHEMA)
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
        foreign = sorted(t for t in tables - OUR_TABLES if not t.startswith("sqlite_"))
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
            self._db.executescript(SCHEMA)
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

    def _execute(self, sql: str, params: Iterable[SqlValue] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"store error: {exc}") from None

    def _query(self, sql: str, params: Iterable[SqlValue] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._open:
                self._open = False
                with _OPEN_HERE_LOCK:
                    _OPEN_HERE[self._key] -= 1
                    if not _OPEN_HERE[self._key]:
                        del _OPEN_HERE[self._key]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """``with store.transaction():`` groups writes atomically (nested uses join the outer one)."""

    def __init__(self, store: StoreConnection) -> None:
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

