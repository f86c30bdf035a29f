"""arXiv identifiers: the one parser of the library.

Owns the id grammar (new style ``2601.15240``, 4 or 5 digits after the dot since 0704.0001; old style
``math/0601001`` or ``math.AG/0601001``), the optional ``v<n>`` version suffix, and reading an id out of
an ``abs/`` URL or an ``oai:arXiv.org:`` identifier. Every module that matches, splits or validates an id
imports from here; none keeps its own regular expression.

Must not: do I/O, know about feeds, papers or the store.
"""

from __future__ import annotations

import re

from ..base.errors import UsageError

NEW_ID_PATTERN = r"\d{4}\.\d{4,5}"
OLD_ID_PATTERN = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
# Unanchored, no groups: to embed in a larger pattern (the PDF side stamp "arXiv:2601.15240v1 [cs.SD] ...").
ID_PATTERN = rf"(?:{NEW_ID_PATTERN}|{OLD_ID_PATTERN})"

ARXIV_ID_RE = re.compile(rf"^{ID_PATTERN}$")
"""A bare id, no version."""
VERSIONED_ID_RE = re.compile(rf"^(?P<id>{ID_PATTERN})(?:v(?P<v>\d+))?$")
"""An id with an optional version suffix."""
_IN_URL_RE = re.compile(rf"(?:abs/|oai:arXiv\.org:|^)(?P<id>{ID_PATTERN})(?:v(?P<v>\d+))?/?$")
_NEW_STYLE_YYMM_RE = re.compile(r"^(\d{2})(\d{2})\.")


def is_arxiv_id(text: object) -> bool:
    """True for a bare id (no version) in the canonical form."""
    return isinstance(text, str) and bool(ARXIV_ID_RE.match(text))


def split_id(raw: str) -> tuple[str, int | None]:
    """``"2601.15240v2"`` -> ``("2601.15240", 2)``; ``"arXiv:math/0601001"`` -> ``("math/0601001", None)``.

    Raises ``UsageError`` for anything else.
    """
    text = raw.strip()
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    match = VERSIONED_ID_RE.match(text)
    if not match:
        raise UsageError(f"not an arXiv identifier: {raw!r} (expected e.g. 2601.15240 or math/0601001v1)")
    return match["id"], int(match["v"]) if match["v"] else None


def split_versioned_id(vid: str) -> tuple[str, int] | None:
    """``"2601.15240v2"`` -> ``("2601.15240", 2)``; None unless the id carries a version >= 1."""
    match = VERSIONED_ID_RE.match(vid)
    if not match or not match["v"] or int(match["v"]) < 1:
        return None
    return match["id"], int(match["v"])


def id_from_url(text: str) -> tuple[str, int | None] | None:
    """The id and version at the end of ``http://arxiv.org/abs/<id>v<n>``, ``oai:arXiv.org:<id>`` or a bare id."""
    match = _IN_URL_RE.search(text.strip())
    if not match:
        return None
    return match["id"], int(match["v"]) if match["v"] else None


def yymm_year(arxiv_id: str) -> int | None:
    """The submission year a new-style id encodes (``2601.15240`` -> 2026); None for old-style ids."""
    match = _NEW_STYLE_YYMM_RE.match(arxiv_id)
    return 2000 + int(match.group(1)) if match else None


def paper_anchor(arxiv_id: str) -> str:
    """The HTML anchor of a paper in a post: its bare id (``2601.15240v2`` -> ``2601.15240``).

    One name for the post (which writes the anchor), the weekly roll-up and the site's indexes and search
    (which link to it), so a link to one paper survives a new version of it.
    """
    bare, _ = split_id(arxiv_id)
    return bare
