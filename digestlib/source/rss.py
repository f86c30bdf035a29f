"""The announcement feed (``rss.arxiv.org/atom/<cats>``), read with feedparser.

Owns turning the feed's bytes into :class:`RssFeed`: the mailing date, and per entry the id and version,
arXiv's own ``announce_type`` (new / cross / replace / replace-cross), title, abstract (the
"arXiv:... Announce Type: ..." prefix removed), authors and categories, in listing order. A bad entry
(unknown id, unknown type, version v0) is skipped with a note, never the whole day; a body that is not a
feed raises ``MalformedAnswerError`` (the caller asks again).

Must not: fetch anything (``announcement.py`` does), call the API, or keep its own id pattern (``ids.py``).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import re
import xml.sax
from dataclasses import dataclass

import feedparser

from ..base.errors import MalformedAnswerError
from ..base.models import AnnounceType, Paper
from . import intake
from .ids import id_from_url

log = logging.getLogger(__name__)

_RSS_PREFIX_RE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*", re.IGNORECASE)
_RSS_TYPE_RE = re.compile(r"Announce Type:\s*([a-z\-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RssItem:
    """One entry of the announcement feed."""

    arxiv_id: str
    version: int
    announce_type: AnnounceType
    title: str
    abstract: str
    categories: tuple[str, ...]  # as listed by the feed, primary first
    authors: tuple[str, ...] = ()

    def to_paper(self, listing_order: int = 0) -> Paper:
        return Paper(arxiv_id=self.arxiv_id, version=self.version, title=self.title, authors=self.authors,
                     categories=self.categories, abstract=self.abstract, announce_type=self.announce_type,
                     listing_order=listing_order)


@dataclass(frozen=True)
class RssFeed:
    """The announcement feed: its mailing date (None when the feed is empty) and items in listing order."""

    mailing_date: dt.date | None
    items: list[RssItem]
    updated: dt.datetime | None = None
    notes: tuple[str, ...] = ()  # entries skipped or cleaned (intake), for the run's notes


def normalise_space(text: str | None) -> str:
    """Whitespace collapsed to single spaces, stripped."""
    return " ".join((text or "").split())


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for one-line errors."""
    return (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]


def parse_timestamp(text: str | None) -> dt.datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC); None when absent or unreadable."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def parse_rss(xml_bytes: bytes) -> RssFeed:
    """Parse an ``rss.arxiv.org/atom/<cats>`` feed (RSS 2.0 works too); malformed input -> ``SourceError``."""
    xml_bytes, touched = intake.strip_xml_illegal(xml_bytes)  # a NUL byte costs its entry, not the day
    notes = [f"removed control characters (NUL) from the feed entry {ident}" for ident in touched]
    try:
        parsed = feedparser.parse(xml_bytes)
    except Exception as exc:  # feedparser is lenient; anything escaping it is a broken body
        raise MalformedAnswerError(
            f"the arXiv RSS feed could not be read ({exc.__class__.__name__})") from None
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        raise MalformedAnswerError(
            f"the arXiv RSS feed is malformed XML ({first_line(parsed['bozo_exception'])})")
    if not parsed.get("version") and not parsed.get("entries"):
        raise MalformedAnswerError("the arXiv RSS answer is not a feed")

    items: list[RssItem] = []
    dates: collections.Counter[dt.date] = collections.Counter()
    for entry in parsed.entries:
        found = id_from_url(entry.get("id", "")) or id_from_url(entry.get("link", ""))
        if not found:
            log.warning("skipping RSS entry with unrecognised id %r", entry.get("id"))
            continue
        arxiv_id, version = found[0], 1 if found[1] is None else found[1]
        summary = entry.get("summary", "")
        raw_type = (entry.get("arxiv_announce_type") or "").strip().lower()
        if not raw_type:
            type_match = _RSS_TYPE_RE.search(summary)
            raw_type = type_match.group(1).lower() if type_match else ""
        try:
            announce_type = AnnounceType(raw_type)
        except ValueError:
            log.warning("skipping RSS entry %s with unknown announce type %r", arxiv_id, raw_type)
            continue
        version_note = intake.version_problem(version)
        if version_note:  # v0, or a version SQLite cannot even hold: skip the entry, keep the day
            notes.append(f"skipped the feed entry {arxiv_id}: {version_note}")
            continue
        abstract = _RSS_PREFIX_RE.sub("", summary)
        abstract = re.sub(r"^\s*Abstract:\s*", "", abstract)
        creators = entry.get("author", "") or ""
        authors = tuple(a.strip() for a in re.split(r",\s+|\s+and\s+", creators) if a.strip())
        categories = tuple(dict.fromkeys(t.get("term") for t in entry.get("tags", []) if t.get("term")))
        items.append(RssItem(
            arxiv_id=arxiv_id, version=version, announce_type=announce_type,
            title=normalise_space(entry.get("title")), abstract=normalise_space(abstract), categories=categories,
            authors=authors,
        ))
        published = entry.get("published", "")
        try:
            dates[dt.datetime.fromisoformat(published.replace("Z", "+00:00")).date()] += 1
        except ValueError:
            parsed_time = entry.get("published_parsed")
            if parsed_time:
                dates[dt.date(*parsed_time[:3])] += 1
    mailing_date = dates.most_common(1)[0][0] if dates else None
    updated = parse_timestamp(parsed.feed.get("updated")) if parsed.get("feed") else None
    return RssFeed(mailing_date=mailing_date, items=items, updated=updated, notes=tuple(notes))
