"""arXiv access: the announcement feed (RSS), the export API, politeness, retries, snapshots.

Two routes to a day's papers (:meth:`ArxivSource.fetch_announcement`):

* **RSS + API** -- when ``rss.arxiv.org/atom/<cats>`` carries the requested mailing. The feed *is* the
  announcement: every new paper, cross-list, replacement and replace-cross, with arXiv's own
  ``announce_type``, in listing order. One ``id_list`` query per ``page_size`` ids then adds what the
  feed lacks (submission dates, comment, journal-ref, DOI). An id the API does not know yet (it lags
  the announcement) keeps its RSS data. The feed is regenerated at midnight ET, ~4 h after the 20:00
  announcement (:func:`calendar.rss_available_at`); asked for the newest mailing before then,
  ``fetch_announcement`` raises ``NotYetAnnouncedError`` (exit 75, retry later) unless the source was
  built with ``api_when_rss_behind=True``.
* **API only** -- for past mailings, which the feed no longer shows: ``search_submitted`` over the
  mailing's submission cycle (:func:`calendar.submission_cycle`), i.e. papers whose *first* version was
  submitted between the previous cutoff and this one, in the configured categories. Primary category
  in the list -> ``new``, elsewhere -> ``cross``. What this route **cannot** see: replacements (the API
  filters on the v1 ``submittedDate``; ``lastUpdatedDate`` is no longer a filter), cross-lists added
  after the first announcement, papers held in moderation and announced in a later mailing (they
  appear in the mailing of their submission cycle instead), and papers submitted in the cycle but
  withdrawn or reclassified since. It returns each paper's *current* metadata and version, so a paper
  replaced since shows its latest title/abstract. Freshly announced papers may be missing for a while.

Politeness: one ``httpx.Client`` over one connection (``max_connections=1``), an identifying
User-Agent, a timeout on every request, at least ``api_delay_seconds`` between the end of one API
request and the start of the next (thread-safe), and at most ``max_retries`` retries with exponential
backoff on 429 / 5xx / timeouts / connection errors, honouring ``Retry-After`` (seconds or HTTP date).
An empty API answer where papers are expected is retried, then raised: never a silent "no papers"; so is a
malformed answer (cut short, garbled, an error page instead of the feed).
Every httpx / XML / feedparser failure leaves this module as a one-line ``SourceError``.

Snapshots (record / replay, reusable by other modules through :func:`make_transport`)::

    <dir>/index.json              {"format": "arxiv-digest-snapshot/1",
                                   "entries": {"GET /api/query?id_list=2601.15083v1&max_results=1&start=0":
                                               {"file": "api-3f2a9c0d1b2e4f56.xml", "status": 200,
                                                "content_type": "application/atom+xml", "url": "...",
                                                "recorded_at": "2026-01-22T02:00:03+00:00"}, ...}}
    <dir>/api-<hash16>.xml        raw body of each response (decoded, as the client saw it)
    <dir>/rss-<hash16>.xml        kinds: api, rss (/atom/...), pdf, html, http (anything else)
    <dir>/pdf-<hash16>.pdf

A request's key is ``METHOD path?sorted-query`` -- no scheme, host or port -- so a day recorded against
arxiv.org replays against any base URL (a loopback fake on another port included). ``<hash16>`` is the
first 16 hex digits of the key's SHA-256. A later non-2xx answer never replaces a recorded 2xx one.
In replay nothing touches the network; a request missing from the index raises ``SourceError``.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
import xml.sax
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

import feedparser
import httpx
import tenacity

from . import calendar, intake
from .config import ArxivSettings
from .errors import NotYetAnnouncedError, SourceError, UsageError
from .hostguard import RedirectRefused, allowed_origins, redirect_guard
from .models import AnnounceType, Paper
from .politeness import RateLimiter, parse_retry_after

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"

# New-style ids (0704.0001 onwards, 4 or 5 digits after the dot) and old-style ids (math/0601001, math.AG/0601001).
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
ID_RE = re.compile(rf"^(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<v>\d+))?$")
_ABS_RE = re.compile(rf"(?:abs/|oai:arXiv\.org:|^)(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<v>\d+))?/?$")
_RSS_PREFIX_RE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*", re.IGNORECASE)
_RSS_TYPE_RE = re.compile(r"Announce Type:\s*([a-z\-]+)", re.IGNORECASE)

MAX_RETRY_AFTER_SECONDS = 300.0  # a longer Retry-After is an outage: fail now, let the scheduler retry
MAX_BACKOFF_SECONDS = 120.0
RSS_GRACE = dt.timedelta(hours=3)  # after rss_available_at + this, a stale feed is "stuck", not "late"


# --------------------------------------------------------------------------------------------- data


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


@dataclass(frozen=True)
class ApiPage:
    """One page of an API answer."""

    total_results: int
    papers: list[Paper]
    start_index: int = 0
    items_per_page: int = 0


@dataclass(frozen=True)
class Announcement:
    """The papers of one mailing, as well as we could see them."""

    mailing_date: dt.date
    papers: list[Paper]
    source: Literal["rss", "api"]
    warnings: tuple[str, ...] = ()  # human-readable notes (API lag, fallback route), for the report

    @property
    def new_papers(self) -> list[Paper]:
        return [p for p in self.papers if p.announce_type.is_new]

    @property
    def replacements(self) -> list[Paper]:
        return [p for p in self.papers if not p.announce_type.is_new]


class EmptyAnswerError(SourceError):
    """The API answered with no entries where papers were expected (after retries)."""


class MalformedAnswerError(SourceError):
    """An answer that is not the feed asked for (cut short, garbled, an error page): retried like a 503."""


# ------------------------------------------------------------------------------------------ helpers


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _norm_or_none(text: str | None) -> str | None:
    value = _norm(text)
    return value or None


def split_id(raw: str) -> tuple[str, int | None]:
    """``"2601.15240v2"`` -> ``("2601.15240", 2)``; ``"arXiv:math/0601001"`` -> ``("math/0601001", None)``."""
    text = raw.strip()
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    match = ID_RE.match(text)
    if not match:
        raise UsageError(f"not an arXiv identifier: {raw!r} (expected e.g. 2601.15240 or math/0601001v1)")
    return match["id"], int(match["v"]) if match["v"] else None


def _parse_ts(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


# ------------------------------------------------------------------------------------------ parsers


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
            f"the arXiv RSS feed is malformed XML ({_first_line(parsed['bozo_exception'])})")
    if not parsed.get("version") and not parsed.get("entries"):
        raise MalformedAnswerError("the arXiv RSS answer is not a feed")

    items: list[RssItem] = []
    dates: collections.Counter[dt.date] = collections.Counter()
    for entry in parsed.entries:
        match = _ABS_RE.search(entry.get("id", "")) or _ABS_RE.search(entry.get("link", ""))
        if not match:
            log.warning("skipping RSS entry with unrecognised id %r", entry.get("id"))
            continue
        summary = entry.get("summary", "")
        raw_type = (entry.get("arxiv_announce_type") or "").strip().lower()
        if not raw_type:
            type_match = _RSS_TYPE_RE.search(summary)
            raw_type = type_match.group(1).lower() if type_match else ""
        try:
            announce_type = AnnounceType(raw_type)
        except ValueError:
            log.warning("skipping RSS entry %s with unknown announce type %r", match["id"], raw_type)
            continue
        version_note = intake.version_problem(int(match["v"] or 1))
        if version_note:  # v0, or a version SQLite cannot even hold: skip the entry, keep the day
            notes.append(f"skipped the feed entry {match['id']}: {version_note}")
            continue
        abstract = _RSS_PREFIX_RE.sub("", summary)
        abstract = re.sub(r"^\s*Abstract:\s*", "", abstract)
        creators = entry.get("author", "") or ""
        authors = tuple(a.strip() for a in re.split(r",\s+|\s+and\s+", creators) if a.strip())
        categories = tuple(dict.fromkeys(t.get("term") for t in entry.get("tags", []) if t.get("term")))
        items.append(RssItem(
            arxiv_id=match["id"], version=int(match["v"] or 1), announce_type=announce_type,
            title=_norm(entry.get("title")), abstract=_norm(abstract), categories=categories, authors=authors,
        ))
        published = entry.get("published", "")
        try:
            dates[dt.datetime.fromisoformat(published.replace("Z", "+00:00")).date()] += 1
        except ValueError:
            parsed_time = entry.get("published_parsed")
            if parsed_time:
                dates[dt.date(*parsed_time[:3])] += 1
    mailing_date = dates.most_common(1)[0][0] if dates else None
    updated = _parse_ts(parsed.feed.get("updated")) if parsed.get("feed") else None
    return RssFeed(mailing_date=mailing_date, items=items, updated=updated, notes=tuple(notes))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]


def parse_api_feed(xml_bytes: bytes) -> ApiPage:
    """Parse an export-API answer (2025+ and legacy formats). arXiv's error feed -> ``SourceError``."""
    xml_bytes, touched = intake.strip_xml_illegal(xml_bytes)
    for ident in touched:
        log.warning("removed control characters (NUL) from the API entry %s", ident)
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        raise MalformedAnswerError(f"the arXiv API returned malformed XML ({_first_line(exc)})") from None
    if root.tag != f"{ATOM}feed":
        raise MalformedAnswerError("the arXiv API answer is not an Atom feed")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            message = _norm(entry.findtext(f"{ATOM}summary")) or "unspecified error"
            raise SourceError(f"the arXiv API rejected the query: {message}")

    def opensearch(name: str, default: int) -> int:
        text = root.findtext(f"{OPENSEARCH}{name}")
        try:
            return int(text) if text is not None else default
        except ValueError:
            return default

    papers = []
    for entry in entries:  # one bad entry is skipped (logged), never the whole answer
        try:
            paper = _entry_to_paper(entry)
        except SourceError as exc:
            log.warning("skipping an API entry: %s", exc)
            continue
        problem = intake.version_problem(paper.version)
        if problem:
            log.warning("skipping the API entry %s: %s", paper.arxiv_id, problem)
            continue
        papers.append(paper)
    return ApiPage(total_results=opensearch("totalResults", len(papers)), papers=papers,
                   start_index=opensearch("startIndex", 0), items_per_page=opensearch("itemsPerPage", len(papers)))


def _api_error_message(body: bytes) -> str | None:
    """arXiv's own message from an error feed (HTTP 400), if the body is one."""
    try:
        parse_api_feed(body)
    except SourceError as exc:
        text = str(exc)
        prefix = "the arXiv API rejected the query: "
        return text[len(prefix):] if text.startswith(prefix) else None
    return None


def _entry_to_paper(entry: ET.Element) -> Paper:
    raw_id = (entry.findtext(f"{ATOM}id") or "").strip()
    match = _ABS_RE.search(raw_id)
    if not match:
        raise SourceError(f"the arXiv API returned an entry with an unrecognised id {raw_id[:80]!r}")
    primary_el = entry.find(f"{ARXIV}primary_category")
    primary = primary_el.get("term") if primary_el is not None else None
    cats = [c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")]
    categories = tuple(dict.fromkeys(([primary] if primary else []) + cats))
    return Paper(
        arxiv_id=match["id"],
        version=int(match["v"] or 1),
        title=_norm(entry.findtext(f"{ATOM}title")),
        authors=tuple(_norm(a.findtext(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")),
        categories=categories,
        abstract=_norm(entry.findtext(f"{ATOM}summary")),
        comment=_norm_or_none(entry.findtext(f"{ARXIV}comment")),
        published=_parse_ts(entry.findtext(f"{ATOM}published")),
        updated=_parse_ts(entry.findtext(f"{ATOM}updated")),
        journal_ref=_norm_or_none(entry.findtext(f"{ARXIV}journal_ref")),
        doi=_norm_or_none(entry.findtext(f"{ARXIV}doi")),
    )


# ---------------------------------------------------------------------------------------- snapshots

SNAPSHOT_FORMAT = "arxiv-digest-snapshot/1"


def request_key(request: httpx.Request) -> str:
    """``METHOD path?sorted-query`` of a request: host-independent, stable across runs."""
    items = sorted(request.url.params.multi_items())
    query = "&".join(f"{k}={v}" for k, v in items)
    return f"{request.method} {request.url.path}" + (f"?{query}" if query else "")


def _kind(path: str) -> str:
    for prefix, kind in (("/api/", "api"), ("/atom/", "rss"), ("/rss/", "rss"), ("/pdf/", "pdf"), ("/html/", "html")):
        if prefix in path:
            return kind
    return "http"


def _ext(content_type: str, kind: str) -> str:
    ct = content_type.lower()
    if "pdf" in ct:
        return ".pdf"
    if "html" in ct:
        return ".html"
    if "xml" in ct or kind in ("api", "rss"):
        return ".xml"
    if "json" in ct:
        return ".json"
    return ".bin"


class _Index:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "index.json"

    def load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceError(f"snapshot index {self.path} is unreadable ({exc.__class__.__name__})") from None
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise SourceError(f"snapshot index {self.path} has no 'entries' mapping")
        return entries

    def save(self, entries: dict[str, dict]) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"format": SNAPSHOT_FORMAT, "entries": entries}, indent=1, sort_keys=True,
                                  ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


class ReplayTransport(httpx.BaseTransport):
    """Serves responses recorded by :class:`RecordingTransport`; never touches the network."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not (self.folder / "index.json").is_file():
            raise SourceError(f"no snapshot at {self.folder} (index.json missing)")
        self._entries = _Index(self.folder).load()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(request)
        entry = self._entries.get(key)
        if entry is None:
            raise SourceError(f"the snapshot {self.folder} lacks the request {key}")
        try:
            body = (self.folder / entry["file"]).read_bytes()
        except (OSError, KeyError, TypeError):
            raise SourceError(f"the snapshot {self.folder} is missing the body of {key}") from None
        headers = {"content-type": entry.get("content_type") or "application/octet-stream"}
        if entry.get("retry_after"):
            headers["retry-after"] = str(entry["retry_after"])
        return httpx.Response(int(entry.get("status", 200)), headers=headers, content=body, request=request)


class RecordingTransport(httpx.BaseTransport):
    """Forwards to ``inner`` and writes every response body plus an ``index.json`` entry to ``folder``."""

    _DROP = {"content-encoding", "content-length", "transfer-encoding"}

    def __init__(self, folder: str | os.PathLike[str], inner: httpx.BaseTransport) -> None:
        self.folder = Path(folder)
        self.inner = inner
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"cannot create snapshot folder {self.folder} ({exc.__class__.__name__})") from None
        self._index = _Index(self.folder)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        key = request_key(request)
        kind = _kind(request.url.path)
        content_type = response.headers.get("content-type", "")
        name = f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}{_ext(content_type, kind)}"
        try:
            with self._lock:
                entries = self._index.load()
                old = entries.get(key)
                if not (old and 200 <= int(old.get("status", 0)) < 300 and not 200 <= response.status_code < 300):
                    (self.folder / name).write_bytes(body)
                    entries[key] = {
                        "file": name, "status": response.status_code, "content_type": content_type,
                        "url": str(request.url), "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    }
                    if response.headers.get("retry-after"):
                        entries[key]["retry_after"] = response.headers["retry-after"]
                    self._index.save(entries)
        except OSError as exc:
            raise SourceError(f"cannot write snapshot {self.folder} ({exc.__class__.__name__})") from None
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in self._DROP]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request,
                              extensions={k: v for k, v in response.extensions.items() if k != "network_stream"})

    def close(self) -> None:
        self.inner.close()


def make_transport(
    replay_dir: str | os.PathLike[str] | None = None,
    record_dir: str | os.PathLike[str] | None = None,
    *,
    inner: httpx.BaseTransport | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.BaseTransport:
    """The transport for an ``httpx.Client``: replay from a snapshot, record into one, or plain network.

    ``inner`` replaces the network transport (tests pass an ``httpx.MockTransport``); ``limits`` applies
    to the network transport (default: a single connection). Usable by any module (full-text downloads)::

        client = httpx.Client(transport=make_transport(replay_dir, record_dir), timeout=60)
    """
    if replay_dir and record_dir:
        raise UsageError("choose either replay or record, not both")
    if replay_dir:
        return ReplayTransport(replay_dir)
    network = inner or httpx.HTTPTransport(
        limits=limits or httpx.Limits(max_connections=1, max_keepalive_connections=1), retries=0)
    if record_dir:
        return RecordingTransport(record_dir, network)
    return network


# ------------------------------------------------------------------------------------- politeness


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class _Empty(_Retryable):
    pass


# ----------------------------------------------------------------------------------------- source


class ArxivSource:
    """The project's only door to arXiv. A context manager owning one ``httpx.Client``."""

    def __init__(
        self,
        settings: ArxivSettings,
        categories: Sequence[str],
        *,
        replay_dir: str | os.PathLike[str] | None = None,
        record_dir: str | os.PathLike[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        api_when_rss_behind: bool = False,
        backoff_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not categories:
            raise UsageError("ArxivSource needs at least one category")
        self.settings = settings
        self.categories = tuple(categories)
        self.replaying = bool(replay_dir)
        self.api_when_rss_behind = api_when_rss_behind
        self._sleep = sleep
        # No network in replay: no reason to wait between requests.
        self._limiter = RateLimiter(0 if self.replaying else settings.api_delay_seconds, sleep=sleep)
        self._backoff = settings.api_delay_seconds if backoff_seconds is None else backoff_seconds
        self._client = httpx.Client(
            transport=make_transport(replay_dir, record_dir, inner=transport),
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": settings.user_agent},
            follow_redirects=True,  # only within the configured arXiv hosts (hostguard)
            max_redirects=5,
            event_hooks={"response": [redirect_guard(allowed_origins(
                [settings.api_url, settings.rss_url, settings.files_url]))]},
        )

    # -- lifecycle
    def __enter__(self) -> "ArxivSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- HTTP core
    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(self._backoff * (2 ** (state.attempt_number - 1)), MAX_BACKOFF_SECONDS)
        retry_after = getattr(exc, "retry_after", None)
        return max(backoff, retry_after) if retry_after is not None else backoff

    @staticmethod
    def _log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning("%s; retrying in %.1f s (attempt %d)", getattr(exc, "message", exc), wait, state.attempt_number + 1)

    def _get(self, url: str, params: dict[str, str | int] | None, *, what: str, api: bool,
             check: Callable[[bytes], object] | None = None) -> tuple[bytes, object]:
        """GET with politeness and retries. ``check`` parses the body; raising ``_Empty`` retries."""

        def attempt() -> tuple[bytes, object]:
            limiter = self._limiter.slot() if api else contextlib.nullcontext()
            with limiter:
                try:
                    response = self._client.get(url, params=params)
                except httpx.TimeoutException:
                    raise _Retryable(f"{what} timed out after {self.settings.timeout_seconds:g} s") from None
                except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    raise _Retryable(f"{what} could not be reached ({_describe(exc)})") from None
                except RedirectRefused as exc:
                    raise SourceError(f"{what} redirected to {exc.target}, outside the configured arXiv hosts; "
                                      "refused") from None
                except (httpx.HTTPError, httpx.InvalidURL) as exc:
                    raise SourceError(f"{what} failed ({_describe(exc)})") from None
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise SourceError(f"{what} answered HTTP {status} and asks to retry after {retry_after:.0f} s")
                raise _Retryable(f"{what} answered HTTP {status}", retry_after)
            if status >= 400:
                message = _api_error_message(response.content) if api else None
                raise SourceError(f"{what} answered HTTP {status}" + (f": {message}" if message else ""))
            body = response.content
            try:
                return body, (check(body) if check else None)
            except MalformedAnswerError as exc:  # an answer cut short or garbled: ask again
                raise _Retryable(exc.message) from None

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Empty as exc:
            raise EmptyAnswerError(f"{exc.message} after {self.settings.max_retries + 1} attempts") from None
        except _Retryable as exc:
            raise SourceError(f"{exc.message} (gave up after {self.settings.max_retries + 1} attempts)") from None

    def _api(self, params: dict[str, str | int], *, expect: bool, what: str) -> ApiPage:
        def check(body: bytes) -> ApiPage:
            page = parse_api_feed(body)
            if expect and not page.papers:
                raise _Empty(f"{what}: the arXiv API answered with no entries")
            return page

        _, page = self._get(self.settings.api_url, params, what="the arXiv API", api=True, check=check)
        assert isinstance(page, ApiPage)
        return page

    # -- public operations
    @property
    def rss_url(self) -> str:
        return f"{self.settings.rss_url.rstrip('/')}/{'+'.join(self.categories)}"

    def fetch_rss(self) -> RssFeed:
        """The current announcement feed for the categories."""
        _, feed = self._get(self.rss_url, None, what="the arXiv RSS feed", api=False, check=parse_rss)
        assert isinstance(feed, RssFeed)
        return feed

    def fetch_metadata(self, ids: Iterable[str]) -> dict[str, Paper]:
        """API metadata for ``ids`` via ``id_list``, ``page_size`` ids per request.

        Keys are the ids as given (prefix ``arXiv:`` removed); an id without version gets the latest
        version. Ids the API does not know are absent from the result; a batch answered with no entry at
        all is retried and then raises ``EmptyAnswerError`` (a ``SourceError``).
        """
        wanted = [(raw.strip().removeprefix("arXiv:"), *split_id(raw)) for raw in ids]
        out: dict[str, Paper] = {}
        size = max(1, self.settings.page_size)
        for i in range(0, len(wanted), size):
            batch = wanted[i:i + size]
            params = {"id_list": ",".join(key for key, _, _ in batch), "start": 0, "max_results": len(batch)}
            page = self._api(params, expect=True, what=f"id_list of {len(batch)} ids")
            by_id: dict[str, list[Paper]] = collections.defaultdict(list)
            for paper in page.papers:
                by_id[paper.arxiv_id].append(paper)
            for key, base, version in batch:
                found = [p for p in by_id.get(base, []) if version is None or p.version == version]
                if found:
                    out[key] = max(found, key=lambda p: p.version)
        return out

    def search_submitted(self, start: dt.datetime, end: dt.datetime, *, expect_results: bool = True) -> list[Paper]:
        """Papers in the categories whose first version was submitted in ``[start, end)`` (tz-aware).

        Paged with ``start``/``max_results`` (``page_size`` per page), sorted by submission date. The
        query's minute resolution is refined by filtering on each paper's ``published`` instant. With
        ``expect_results`` an empty first page is retried and then raised as ``EmptyAnswerError``.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("search_submitted needs tz-aware datetimes")
        fmt = "%Y%m%d%H%M"
        utc = dt.timezone.utc
        cats = " OR ".join(f"cat:{c}" for c in self.categories)
        query = f"({cats}) AND submittedDate:[{start.astimezone(utc).strftime(fmt)} TO {end.astimezone(utc).strftime(fmt)}]"
        size = max(1, self.settings.page_size)
        found: dict[str, Paper] = {}
        offset, total = 0, None
        for _ in range(10_000 // size + 1):
            params = {"search_query": query, "start": offset, "max_results": size,
                      "sortBy": "submittedDate", "sortOrder": "ascending"}
            expect = expect_results if offset == 0 else True  # an empty page inside the results is a glitch
            page = self._api(params, expect=expect, what=f"search page at {offset}")
            total = page.total_results
            for paper in page.papers:
                found.setdefault(paper.arxiv_id, paper)
            offset += len(page.papers)
            if not page.papers or offset >= total:
                break
        return [p for p in found.values() if p.published is None or start <= p.published < end]

    def fetch_announcement(self, mailing_date: dt.date, *, now: dt.datetime | None = None) -> Announcement:
        """The papers announced in the mailing dated ``mailing_date`` (see the module docstring)."""
        current = now or calendar.now()
        status = calendar.status_for(mailing_date, current)
        if status == "none":
            raise UsageError(f"no arXiv mailing is dated {mailing_date.isoformat()} "
                             f"({calendar.why_no_mailing(mailing_date)})")
        if status == "not_yet" and not self.replaying:  # a snapshot is whatever was recorded, clock or not
            at = calendar.announcement_time(mailing_date)
            raise NotYetAnnouncedError(f"the arXiv mailing of {mailing_date.isoformat()} is announced at "
                                       f"{at:%Y-%m-%d %H:%M %Z}; not yet")
        feed = self.fetch_rss()
        if feed.mailing_date == mailing_date:
            return self._from_rss(mailing_date, feed)
        warnings: list[str] = []
        if not self.replaying and mailing_date == calendar.latest_mailing_date(current):
            expected = calendar.rss_available_at(mailing_date)
            shown = feed.mailing_date.isoformat() if feed.mailing_date else "nothing"
            if expected is not None and current < expected + RSS_GRACE and not self.api_when_rss_behind:
                raise NotYetAnnouncedError(
                    f"the arXiv RSS feed still shows {shown}; arXiv regenerates it at about "
                    f"{expected:%Y-%m-%d %H:%M %Z} -- retry then")
            warnings.append(f"the RSS feed showed {shown}, not {mailing_date.isoformat()}: papers come from the "
                            "API's submission-date search, which cannot see replacements or late cross-lists")
        return self._from_api(mailing_date, warnings)

    def _from_rss(self, mailing_date: dt.date, feed: RssFeed) -> Announcement:
        warnings: list[str] = list(feed.notes)
        keys = [f"{item.arxiv_id}v{item.version}" for item in feed.items]
        try:
            meta = self.fetch_metadata(keys) if keys else {}
        except EmptyAnswerError:
            meta = {}
            warnings.append("the arXiv API knew none of the announced papers yet; metadata comes from the RSS feed only")
        missing = [k for k in keys if k not in meta]
        if missing and meta:
            warnings.append(f"the arXiv API did not know {len(missing)} announced paper(s) yet "
                            f"({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); kept their RSS data")
        papers = []
        for order, (item, key) in enumerate(zip(feed.items, keys), start=1):
            api = meta.get(key)
            base = item.to_paper(order)
            if api is not None:
                base = replace(
                    base, title=api.title or item.title, abstract=api.abstract or item.abstract,
                    authors=api.authors or item.authors, comment=api.comment, published=api.published,
                    updated=api.updated, journal_ref=api.journal_ref, doi=api.doi,
                    categories=item.categories or api.categories,
                )
            papers.append(base)
        return Announcement(mailing_date, papers, "rss", tuple(warnings))

    def _from_api(self, mailing_date: dt.date, warnings: list[str]) -> Announcement:
        start, end = calendar.submission_cycle(mailing_date)
        papers = self.search_submitted(start, end, expect_results=True)
        cats = set(self.categories)
        groups: dict[AnnounceType, list[Paper]] = {t: [] for t in AnnounceType}
        for paper in papers:
            primary_here = paper.primary_category in cats
            first_in_cycle = paper.published is not None and start <= paper.published < end
            if first_in_cycle:
                kind = AnnounceType.NEW if primary_here else AnnounceType.CROSS
            elif paper.updated is not None and start <= paper.updated < end and paper.version > 1:
                kind = AnnounceType.REPLACE if primary_here else AnnounceType.REPLACE_CROSS
            else:
                continue
            groups[kind].append(replace(paper, announce_type=kind))
        ordered = [p for t in AnnounceType for p in sorted(groups[t], key=lambda p: p.arxiv_id)]
        ordered = [replace(p, listing_order=i) for i, p in enumerate(ordered, start=1)]
        return Announcement(mailing_date, ordered, "api", tuple(warnings))


def _describe(exc: BaseException) -> str:
    name = exc.__class__.__name__
    text = _first_line(exc) if str(exc) else ""
    return f"{name}: {text}" if text and text != name else name
