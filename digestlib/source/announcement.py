"""One mailing's papers: :class:`ArxivSource`, the project's only door to arXiv's feed and API.

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

HTTP (timeouts, retries, ``Retry-After``, politeness, one connection, allowed hosts) is ``session.py``'s;
the feed is parsed by ``rss.py``, the API by ``api.py`` (the ``arxiv`` package), snapshots are
``snapshot.py``'s. Every failure leaves as a one-line ``SourceError``.

Must not: parse bodies itself, talk HTTP other than through the session, or know about LLMs and posts.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Literal, Sequence

import httpx

from ..base import calendar
from ..base.config import ArxivSettings
from ..base.errors import EmptyAnswerError, NotYetAnnouncedError, UsageError
from ..base.models import AnnounceType, Paper
from .api import ArxivApi, api_error_message
from .rss import RssFeed, parse_rss
from .session import again, open_session

RSS_GRACE = dt.timedelta(hours=3)  # after rss_available_at + this, a stale feed is "stuck", not "late"


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


class ArxivSource:
    """The project's only door to arXiv's feed and API. A context manager owning one session.

    ``replay_dir`` serves a snapshot (no network), ``record_dir`` records one, ``transport`` replaces the
    network by an httpx transport (tests); ``sleep`` receives every wait (tests record them).
    """

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
        self._backoff = settings.api_delay_seconds if backoff_seconds is None else backoff_seconds
        self._session = open_session(settings, replay_dir=replay_dir, record_dir=record_dir, transport=transport,
                                     backoff_seconds=self._backoff, sleep=sleep, error_message=api_error_message)
        self._api = ArxivApi(settings, self.categories, self._session, backoff_seconds=self._backoff, sleep=sleep)

    # -- lifecycle
    def __enter__(self) -> "ArxivSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- public operations
    @property
    def rss_url(self) -> str:
        return f"{self.settings.rss_url.rstrip('/')}/{'+'.join(self.categories)}"

    def fetch_rss(self) -> RssFeed:
        """The current announcement feed for the categories (a garbled answer is asked for again)."""
        return again(lambda: parse_rss(self._session.get(self.rss_url).content), what="the arXiv RSS feed",
                     max_retries=self.settings.max_retries, backoff_seconds=self._backoff, sleep=self._sleep)

    def fetch_metadata(self, ids: Iterable[str]) -> dict[str, Paper]:
        """API metadata per id (see :meth:`api.ArxivApi.fetch_metadata`)."""
        return self._api.fetch_metadata(ids)

    def search_submitted(self, start: dt.datetime, end: dt.datetime, *, expect_results: bool = True) -> list[Paper]:
        """Papers first submitted in ``[start, end)`` (see :meth:`api.ArxivApi.search_submitted`)."""
        return self._api.search_submitted(start, end, expect_results=expect_results)

    def fetch_announcement(self, mailing_date: dt.date, *, now: dt.datetime | None = None,
                           on_feed: Callable[[list[Paper]], None] | None = None) -> Announcement:
        """The papers announced in the mailing dated ``mailing_date`` (see the module docstring).

        ``now`` is the run's clock (``Config.now``, where ``DIGEST_NOW`` fakes it); without one, the wall clock.
        ``on_feed`` hears the feed's papers (ids, versions, titles, abstracts) as soon as the RSS route has
        them, *before* the API call that completes their metadata, so a caller can start work that needs
        no more (downloads, translations) while that call runs. Not called on the API-only route.
        """
        current = now or dt.datetime.now(dt.timezone.utc)
        status = calendar.status_for(mailing_date, current)
        if status == "none":
            raise UsageError(f"no arXiv mailing is dated {mailing_date.isoformat()} "
                             f"({calendar.why_no_mailing(mailing_date)})")
        if status == "not_yet" and not self.replaying:  # a snapshot is whatever was recorded, clock or not
            at = calendar.announcement_time(mailing_date)
            raise NotYetAnnouncedError(f"the arXiv mailing of {mailing_date.isoformat()} is announced at "
                                       f"{at:%Y-%m-%d %H:%M %Z}; not yet", date=mailing_date, expected_at=at)
        feed = self.fetch_rss()
        if feed.mailing_date == mailing_date:
            return self._from_rss(mailing_date, feed, on_feed)
        warnings: list[str] = []
        if not self.replaying and mailing_date == calendar.latest_mailing_date(current):
            expected = calendar.rss_available_at(mailing_date)
            shown = feed.mailing_date.isoformat() if feed.mailing_date else "nothing"
            if expected is not None and current < expected + RSS_GRACE and not self.api_when_rss_behind:
                raise NotYetAnnouncedError(
                    f"the arXiv RSS feed still shows {shown}; arXiv regenerates it at about "
                    f"{expected:%Y-%m-%d %H:%M %Z} -- retry then", date=mailing_date, expected_at=expected)
            warnings.append(f"the RSS feed showed {shown}, not {mailing_date.isoformat()}: papers come from the "
                            "API's submission-date search, which cannot see replacements or late cross-lists")
        return self._from_api(mailing_date, warnings)

    def _from_rss(self, mailing_date: dt.date, feed: RssFeed,
                  on_feed: Callable[[list[Paper]], None] | None = None) -> Announcement:
        warnings: list[str] = list(feed.notes)
        keys = [f"{item.arxiv_id}v{item.version}" for item in feed.items]
        if on_feed is not None and feed.items:
            on_feed([item.to_paper(order) for order, item in enumerate(feed.items, start=1)])
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
