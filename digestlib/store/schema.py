"""The store's schema (version 1) and its named, append-only migrations.

Owns: the SQL that makes the tables. Must not: open a connection (``connection.py`` applies them).
"""

from __future__ import annotations

import re

SCHEMA_VERSION = 1

SCHEMA = """
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



# Every table this package makes: a version-0 SQLite file holding any other is not ours.
OUR_TABLES = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA)) | {"schema_migrations"}
