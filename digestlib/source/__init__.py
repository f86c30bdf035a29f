"""arXiv as a source: ids, the announcement feed, the API (the ``arxiv`` package), snapshots.

Modules, in the order a day flows through them:

* ``ids.py`` -- the one arXiv id parser (every module that matches an id imports it);
* ``session.py`` -- the HTTP session to arXiv's feed and API: timeout, retries with ``Retry-After``,
  politeness, one connection, allowed hosts; network, replay, recording or a test's transport;
* ``rss.py`` -- the announcement feed, parsed with feedparser;
* ``api.py`` -- metadata through the ``arxiv`` package, its ``Result`` mapped into ``Paper`` in one place;
* ``intake.py`` -- entry validation and cleaning before anything is stored;
* ``announcement.py`` -- :class:`ArxivSource`: which route gives a mailing's papers (RSS + API, or API only);
* ``snapshot.py`` -- record / replay transports (``--replay``, the demo, ``digest snapshot``) and ``make_transport``.

Must not: know about LLMs, full texts, the store or posts.
"""

import lazy_loader as lazy

# Loaded on first use (SPEC 1, scientific-python's lazy_loader): ``from digestlib.source.ids import ...``
# (render, bibtex, the store) must not pull in the arxiv package, requests and feedparser with it.
__getattr__, __dir__, __all__ = lazy.attach(__name__, submodules=["intake"], submod_attrs={
    "announcement": ["Announcement", "ArxivSource"],
    "api": ["ApiPage", "parse_api_feed", "result_to_paper"],
    "ids": ["is_arxiv_id", "split_id"],
    "rss": ["RssFeed", "RssItem", "parse_rss"],
    "snapshot": ["SNAPSHOT_FORMAT", "RecordingTransport", "ReplayTransport", "make_transport", "request_key"],
})
