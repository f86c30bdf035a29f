"""Entry validation: feed and API entries are validated and normalised *before* anything is stored.

arXiv's feeds are text written by strangers and relayed by a server we do not control. An entry that
rendering could not handle (version ``v0`` or a version too large for SQLite, an id outside the one
canonical pattern) would otherwise be stored with the day's announcement and fail every later run of
that date. So each entry is checked on its own: a bad one is skipped with a note, never the whole day.
Display text (titles, authors, abstracts, comments) loses control characters, bidirectional overrides
and zero-width characters (which can make a title read differently from what it is); a NUL byte or
another character XML forbids is removed from the raw feed, and the entries that held one are named.

Owns: the limits on display text, the version range, cleaning a raw feed of bytes XML forbids.
Must not: fetch anything, parse feeds (``rss.py``, ``api.py``) or define an id pattern (``ids.py``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Iterable

from ..base.models import Paper
from .ids import is_arxiv_id

CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,31}$")
MAX_VERSION = 999  # arXiv papers have at most a few dozen versions; far above is a broken or hostile feed

# Limits on display text, far above real metadata (a title of 1,000 characters is already absurd).
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 2_000
MAX_AUTHOR = 300
MAX_COMMENT = 2_000

# C0/C1 controls (tab and newline are whitespace, handled by normalisation), bidi embeddings/overrides/
# isolates and marks, zero-width characters, the BOM, line/paragraph separators.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u180e\u2028\u2029\ufff9-\ufffb]"
)
# Bytes XML 1.0 forbids (NUL and other C0 controls but tab, LF, CR), and their character references.
_XML_ILLEGAL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_ILLEGAL_REFS = re.compile(rb"&#(?:x0*(?:[0-8]|[bcBC]|1[0-9a-fA-F])|0*(?:[0-8]|1[1-2]|1[4-9]|2[0-9]|3[01]));")
_ENTRY_RE = re.compile(rb"<entry\b.*?</entry>|<item\b.*?</item>", re.S)
_ENTRY_ID_RE = re.compile(rb"<(?:id|guid)[^>]*>\s*([^<]{1,120}?)\s*</(?:id|guid)>")


def clean_display_text(text: str | None) -> str:
    """``text`` without invisible or direction-changing characters, whitespace collapsed, NFC."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", str(text)))
    return " ".join(text.split())


def strip_xml_illegal(body: bytes) -> tuple[bytes, list[str]]:
    """Remove bytes XML forbids (a NUL makes the whole feed unparseable, losing the day) from a UTF-8
    feed. Returns the clean body and the ids of the entries that held such bytes (``?`` if unknown)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: NUL bytes are part of the encoding
        return body, []
    if not _XML_ILLEGAL_BYTES.search(body) and not _XML_ILLEGAL_REFS.search(body):
        return body, []
    touched: list[str] = []
    for entry in _ENTRY_RE.finditer(body):
        block = entry.group(0)
        if _XML_ILLEGAL_BYTES.search(block) or _XML_ILLEGAL_REFS.search(block):
            found = _ENTRY_ID_RE.search(_XML_ILLEGAL_BYTES.sub(b"", block))
            touched.append(found.group(1).decode("utf-8", "replace").strip() if found else "?")
    clean = _XML_ILLEGAL_REFS.sub(b"", _XML_ILLEGAL_BYTES.sub(b"", body))
    return clean, touched or ["?"]


def version_problem(version: object) -> str | None:
    """Why ``version`` is not a version we can store and link (None when it is fine)."""
    if isinstance(version, bool) or not isinstance(version, int):
        return f"version {str(version)[:20]!r} is not a number"
    if version < 1:
        return f"version v{version} (versions start at v1)"
    if version > MAX_VERSION:
        return f"version v{str(version)[:20]} is beyond any real paper's"
    return None


def id_problem(arxiv_id: object) -> str | None:
    """Why ``arxiv_id`` is not a bare arXiv id (None when it is one)."""
    if not is_arxiv_id(arxiv_id):
        return f"id {str(arxiv_id)[:40]!r} is not an arXiv identifier"
    return None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def normalise_paper(paper: Paper) -> tuple[Paper | None, str | None]:
    """The paper with clean display text, or ``(None, reason)`` when it cannot be stored and rendered."""
    problem = id_problem(paper.arxiv_id) or version_problem(paper.version)
    if problem:
        shown = clean_display_text(str(paper.arxiv_id))[:40] or "?"
        return None, f"skipped the feed entry {shown}: {problem}"
    authors = tuple(a for a in (_cap(clean_display_text(x), MAX_AUTHOR) for x in paper.authors[:MAX_AUTHORS]) if a)
    categories = tuple(c for c in (clean_display_text(x) for x in paper.categories) if CATEGORY_RE.match(c))
    comment = _cap(clean_display_text(paper.comment), MAX_COMMENT) or None
    journal_ref = _cap(clean_display_text(paper.journal_ref), MAX_COMMENT) or None
    doi = _cap(clean_display_text(paper.doi), 200) or None
    clean = dataclasses.replace(
        paper,
        title=_cap(clean_display_text(paper.title), MAX_TITLE),
        abstract=_cap(clean_display_text(paper.abstract), MAX_ABSTRACT),
        authors=authors, categories=categories, comment=comment, journal_ref=journal_ref, doi=doi,
    )
    return clean, None


def normalise_papers(papers: Iterable[Paper]) -> tuple[list[Paper], list[str]]:
    """Every storable paper (cleaned), and one note per skipped entry."""
    kept: list[Paper] = []
    notes: list[str] = []
    for paper in papers:
        clean, note = normalise_paper(paper)
        if clean is None:
            notes.append(note or "skipped a feed entry")
        else:
            kept.append(clean)
    return kept, notes
