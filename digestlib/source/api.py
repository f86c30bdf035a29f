"""arXiv's export API, through the ``arxiv`` package (4.x), configured as the project needs it.

Owns the metadata queries (``id_list`` batches, the submission-date search) and the mapping of the
package's ``arxiv.Result`` into our ``Paper`` (:func:`result_to_paper`, the one place). The package is
configured around its defaults (see DESIGN.md's "Pitfalls"): ``Client.query_url_format`` points at the
configured API URL (a loopback fake in tests), ``Client._session`` is the session of ``session.py``
(timeout set by its adapter's ``send``, urllib3 ``Retry`` with ``respect_retry_after_header``, our
politeness delay; the package's own delay is 0 so the wait is ours and injectable), ``Search.max_results``
is always set, and an empty first page -- which the package returns as "no results", silently -- is
checked against the feed's ``opensearch:totalResults`` and asked again. Every API body is checked by a
response hook before the package parses it: XML that is not an Atom feed (cut short, garbled, an error
page) is ``MalformedAnswerError`` (asked again), arXiv's error feed is a ``SourceError`` with its message.

Must not: read the RSS feed (``rss.py``), decide which mailing a paper belongs to (``announcement.py``),
or keep its own id pattern (``ids.py``).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import xml.etree.ElementTree as ET
from urllib.parse import urlparse
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import arxiv
import requests
from arxiv import _feed as arxiv_feed  # the package's own parser, for bodies we hold (tests, snapshots)

from ..base.config import ArxivSettings
from ..base.errors import MalformedAnswerError, SourceError
from ..base.models import Paper
from . import intake
from .ids import id_from_url, split_id
from .rss import first_line, normalise_space
from .session import again

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
MAX_SEARCH_RESULTS = 10_000  # far above any day of any field; the query is capped rather than unbounded


@dataclass(frozen=True)
class ApiPage:
    """One page of an API answer."""

    total_results: int
    papers: list[Paper]
    start_index: int = 0
    items_per_page: int = 0


@dataclass(frozen=True)
class _Header:
    total_results: int
    start_index: int
    items_per_page: int
    entries: int


def check_api_body(xml_bytes: bytes) -> _Header:
    """The page header of an API body; ``MalformedAnswerError`` when it is not an Atom feed, ``SourceError``
    with arXiv's message when it is arXiv's error feed."""
    xml_bytes, _ = intake.strip_xml_illegal(xml_bytes)
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        raise MalformedAnswerError(f"the arXiv API returned malformed XML ({first_line(exc)})") from None
    if root.tag != f"{ATOM}feed":
        raise MalformedAnswerError("the arXiv API answer is not an Atom feed")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            message = normalise_space(entry.findtext(f"{ATOM}summary")) or "unspecified error"
            raise SourceError(f"the arXiv API rejected the query: {message}")

    def opensearch(name: str, default: int) -> int:
        text = root.findtext(f"{OPENSEARCH}{name}")
        try:
            return int(text) if text is not None else default
        except ValueError:
            return default

    return _Header(opensearch("totalResults", len(entries)), opensearch("startIndex", 0),
                   opensearch("itemsPerPage", len(entries)), len(entries))


def api_error_message(body: bytes) -> str | None:
    """arXiv's own message from an error feed (HTTP 400), if the body is one."""
    prefix = "the arXiv API rejected the query: "
    try:
        check_api_body(body)
    except SourceError as exc:
        return exc.message[len(prefix):] if exc.message.startswith(prefix) else None
    return None


def result_to_paper(result: arxiv.Result) -> Paper:
    """The one mapping of the ``arxiv`` package's ``Result`` into our ``Paper``."""
    found = id_from_url(result.entry_id or "")
    if not found:
        raise SourceError(f"the arXiv API returned an entry with an unrecognised id {result.entry_id[:80]!r}")
    arxiv_id, version = found
    primary = result.primary_category or None
    categories = tuple(dict.fromkeys(([primary] if primary else []) + [c for c in result.categories if c]))
    return Paper(
        arxiv_id=arxiv_id,
        version=1 if version is None else version,
        title=normalise_space(result.title),
        authors=tuple(normalise_space(a.name) for a in result.authors),
        categories=categories,
        abstract=normalise_space(result.summary),
        comment=normalise_space(result.comment) or None,
        published=result.published,
        updated=result.updated,
        journal_ref=normalise_space(result.journal_ref) or None,
        doi=normalise_space(result.doi) or None,
    )


def _papers(results: Iterable[arxiv.Result]) -> list[Paper]:
    papers = []
    for result in results:  # one bad entry is skipped (logged), never the whole answer
        try:
            paper = result_to_paper(result)
        except SourceError as exc:
            log.warning("skipping an API entry: %s", exc)
            continue
        problem = intake.version_problem(paper.version)
        if problem:
            log.warning("skipping the API entry %s: %s", paper.arxiv_id, problem)
            continue
        papers.append(paper)
    return papers


def parse_api_feed(xml_bytes: bytes) -> ApiPage:
    """Parse an export-API answer we hold (2025+ and legacy formats) with the ``arxiv`` package's parser.
    arXiv's error feed -> ``SourceError``; not a feed -> ``MalformedAnswerError``."""
    header = check_api_body(xml_bytes)
    parsed = arxiv_feed.parse(intake.strip_xml_illegal(xml_bytes)[0])
    return ApiPage(total_results=header.total_results, papers=_papers(parsed.results),
                   start_index=header.start_index, items_per_page=header.items_per_page)


class ArxivApi:
    """Metadata queries over ``session`` (see ``session.open_session``) through ``arxiv.Client``."""

    def __init__(self, settings: ArxivSettings, categories: Sequence[str], session: requests.Session, *,
                 backoff_seconds: float, sleep: Callable[[float], None]) -> None:
        self.settings = settings
        self.categories = tuple(categories)
        self._session = session
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._first_page: _Header | None = None
        self._api_path = urlparse(settings.api_url).path
        session.hooks["response"].append(self._check_body)

    def _check_body(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """Response hook: every API body is checked before the ``arxiv`` package parses it."""
        if urlparse(response.url).path != self._api_path or response.status_code != 200:
            return
        header = check_api_body(response.content)
        if header.start_index == 0 or self._first_page is None:
            self._first_page = header
        response._content = intake.strip_xml_illegal(response.content)[0]

    def _client(self, page_size: int) -> arxiv.Client:
        client = arxiv.Client(page_size=page_size, delay_seconds=0.0, num_retries=self.settings.max_retries)
        client.query_url_format = self.settings.api_url.split("?", 1)[0] + "?{}"
        client._session = self._session  # timeout, retries, politeness, snapshots: session.py
        return client

    def _run(self, search: arxiv.Search, page_size: int, *, expect: bool, what: str) -> list[Paper]:
        def ask() -> list[Paper]:
            self._first_page = None
            try:
                return _papers(self._client(page_size).results(search))
            except arxiv.UnexpectedEmptyPageError:
                raise MalformedAnswerError(f"{what}: the arXiv API answered an empty page inside the results") from None
            except arxiv.ArxivError as exc:  # not expected: the session answers only 2xx or raises
                raise SourceError(f"the arXiv API failed ({exc})") from None

        def empty(papers: list[Paper]) -> bool:
            # The package returns an empty first page as "no results"; the feed's total tells a glitch apart.
            total = self._first_page.total_results if self._first_page else 0
            return not papers and (expect or total > 0)

        return again(ask, what=what, max_retries=self.settings.max_retries, backoff_seconds=self._backoff,
                     sleep=self._sleep, empty=empty)

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
            search = arxiv.Search(id_list=[key for key, _, _ in batch], max_results=len(batch))
            papers = self._run(search, len(batch), expect=True, what=f"id_list of {len(batch)} ids")
            by_id: dict[str, list[Paper]] = collections.defaultdict(list)
            for paper in papers:
                by_id[paper.arxiv_id].append(paper)
            for key, base, version in batch:
                found = [p for p in by_id.get(base, []) if version is None or p.version == version]
                if found:
                    out[key] = max(found, key=lambda p: p.version)
        return out

    def search_submitted(self, start: dt.datetime, end: dt.datetime, *, expect_results: bool = True) -> list[Paper]:
        """Papers in the categories whose first version was submitted in ``[start, end)`` (tz-aware).

        Paged by the package (``page_size`` per page), sorted by submission date. The query's minute
        resolution is refined by filtering on each paper's ``published`` instant. With ``expect_results``
        an empty answer is retried and then raised as ``EmptyAnswerError``.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("search_submitted needs tz-aware datetimes")
        fmt = "%Y%m%d%H%M"
        utc = dt.timezone.utc
        cats = " OR ".join(f"cat:{c}" for c in self.categories)
        query = f"({cats}) AND submittedDate:[{start.astimezone(utc).strftime(fmt)} TO {end.astimezone(utc).strftime(fmt)}]"
        search = arxiv.Search(query=query, max_results=MAX_SEARCH_RESULTS, sort_by=arxiv.SortCriterion.SubmittedDate,
                              sort_order=arxiv.SortOrder.Ascending)
        papers = self._run(search, max(1, self.settings.page_size), expect=expect_results, what="the submission search")
        found: dict[str, Paper] = {}
        for paper in papers:
            found.setdefault(paper.arxiv_id, paper)
        return [p for p in found.values() if p.published is None or start <= p.published < end]
