"""arXiv as a source: ids, the announcement feed, the API (the ``arxiv`` package), snapshots.

Modules, in the order a day flows through them:

* ``ids.py`` -- the one arXiv id parser (every module that matches an id imports it);
* ``session.py`` -- the HTTP session to arXiv's feed and API: timeout, retries with ``Retry-After``,
  politeness, one connection, allowed hosts; network, replay, recording or a test's transport;
* ``rss.py`` -- the announcement feed, parsed with feedparser;
* ``api.py`` -- metadata through the ``arxiv`` package, its ``Result`` mapped into ``Paper`` in one place;
* ``intake.py`` -- entry validation and cleaning before anything is stored;
* ``announcement.py`` -- :class:`ArxivSource`: which route gives a mailing's papers (RSS + API, or API only);
* ``snapshot.py`` -- record / replay (``digest snapshot``, ``--replay``, the demo) and ``make_transport``.

Must not: know about LLMs, full texts, the store or posts.
"""

from .announcement import Announcement, ArxivSource
from .api import ApiPage, parse_api_feed, result_to_paper
from .ids import is_arxiv_id, split_id
from .rss import RssFeed, RssItem, parse_rss
from .snapshot import SNAPSHOT_FORMAT, RecordingTransport, ReplayTransport, make_transport, record_day, request_key

__all__ = [
    "Announcement",
    "ApiPage",
    "ArxivSource",
    "RecordingTransport",
    "ReplayTransport",
    "RssFeed",
    "RssItem",
    "SNAPSHOT_FORMAT",
    "is_arxiv_id",
    "make_transport",
    "parse_api_feed",
    "parse_rss",
    "record_day",
    "request_key",
    "result_to_paper",
    "split_id",
]
