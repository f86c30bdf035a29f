"""The embedded SQLite store: papers, announcements, the exactly-once ledger, full texts, task results,
the LLM response cache and call accounting, review edits.

Every stage reads from and writes to the store, so a killed run resumes where it stopped and nothing
is paid twice. The store holds no secret: callers pass redacted text only.

``Store`` is the one public door; its queries are grouped by concern in the modules beside this one
(``papers``, ``texts``, ``calls``, ``edits``), all over one ``connection`` (the file, the lock, the
transactions) and one ``schema`` (its named, append-only migrations). Must not: render, fetch or call
anything.
"""

from __future__ import annotations

from .calls import CallQueries
from .connection import StoreConnection, check_store_file
from .edits import EditQueries
from .papers import PaperQueries
from .rows import EditRecord, EditVersion, FulltextRecord, ResultRecord, ReviewRecord, StaleSave, timestamp
from .schema import MIGRATIONS, SCHEMA_VERSION
from .texts import TextQueries

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "EditRecord", "EditVersion", "FulltextRecord", "ResultRecord", "ReviewRecord",
    "StaleSave", "Store", "check_store_file", "timestamp",
]


class Store(PaperQueries, TextQueries, CallQueries, EditQueries, StoreConnection):
    """Thread-safe access to one SQLite file (one connection, serialised by a lock): every query of every
    stage. Open it once per command (``with Store(path) as store:``) and pass it down."""
