"""A loopback fake of arXiv (RSS feed, export API, PDF/HTML files), runnable as its own process.

    python -m tests.fakes.fake_arxiv --port 0 --data MAILING.json [--data MORE.json|DIR ...]
        [--now 2026-01-22T02:00:00Z] [--files DIR] [--pdf-factory module:function]
        [--html-factory module:function] [--rss-lag-hours 0]

prints one line ``LISTENING http://127.0.0.1:PORT`` and serves (127.0.0.1 only) until killed:

* ``GET /atom/<cat>+<cat>`` -- the *current* mailing (the latest whose announcement time plus
  ``rss_lag_hours`` is <= the fake's now) as rss.arxiv.org's Atom feed; an empty feed when none is.
  Base for ``ARXIV_RSS_URL``: ``http://127.0.0.1:PORT/atom``. The real feed is regenerated at midnight
  ET, ~4 h after the announcement: ``--rss-lag-hours 4`` mimics that; the default 0 switches at once.
* ``GET /api/query`` -- ``id_list`` (versioned or not; malformed ids -> arXiv's HTTP 400 error feed)
  and ``search_query`` with ``cat:`` terms (OR-ed) and one ``submittedDate:[YYYYMMDDHHMM TO ...]``
  range (inclusive, UTC, on the *first* version's date), ``start``/``max_results`` paging, in the real
  2025+ API format. Base for ``ARXIV_API_URL``: ``http://127.0.0.1:PORT/api/query``.
* ``GET /pdf/<id>v<n>``, ``GET /html/<id>v<n>`` -- bytes from ``--files DIR`` (``<id>v<n>.pdf`` /
  ``.html``; ``/`` of old-style ids written ``_``), else from ``--pdf-factory``/``--html-factory``
  (``module:function`` called with the paper's dict, returning bytes; ready-made:
  ``tests.fakes.fake_arxiv:sample_pdf`` / ``:sample_html``, drawn by ``digestlib.app.demo`` / ``tests.fakes.sample_html``), else 404.
  Base for ``ARXIV_FILES_URL``: ``http://127.0.0.1:PORT``.

The mailing JSON format is /work/shared/data/arxiv/mailings/2026-01-22-cs.SD+eess.AS.json: mailing_date,
announced_at, categories, papers (id, version "v1", announce_type, title, authors, categories primary
first, comment, abstract). A file may also hold a list of such mailings. Submission timestamps, absent
from the data, are synthesized deterministically inside each mailing's submission cycle
(:func:`digestlib.base.calendar.submission_cycle`): new and cross papers get ``published`` = ``updated`` spread
over the cycle; replacements get ``updated`` in the cycle and ``published`` in their id's month. Explicit
``published``/``updated`` keys in a paper win.

Control API (JSON):

* ``POST /_control`` ``{"api": [{"status": 429, "retry_after": 2}, {"status": 503}], "rss": [{"stall": 5}],
  "pdf:2601.15240v1": [{"status": 404}]}`` queues faults; each request to a route consumes the first
  fault of the most specific queue (``pdf:<id>v<n>`` before ``pdf``). A fault may hold ``stall``
  (seconds to wait first), ``status`` (+ ``retry_after``), ``body`` (raw body, status 200 unless given),
  ``empty`` (an empty feed) or ``close`` (drop the connection without answering).
* ``POST /_now`` ``{"now": "2026-01-22T02:00:00Z"}`` sets the clock; ``GET /_now`` reads it.
* ``GET /_log`` -> ``{"requests": [{"t": monotonic seconds, "wall", "method", "path", "query", "route",
  "conn": "127.0.0.1:PEERPORT", "status"}]}`` -- every request, control ones included (route "control").
* ``POST /_reset`` clears faults and the log.

From tests: :func:`start_fake_arxiv` (a subprocess; returns a :class:`FakeArxivProcess` with ``.url``,
``.api_url``, ``.rss_url``, ``.files_url``, ``.settings()``, ``.faults()``, ``.set_now()``, ``.log()``,
``.stop()``) or the pytest fixture :func:`fake_arxiv` (the shared 2026-01-22 mailing, clock one hour
after its announcement). :func:`synthesize_week` derives several mailings from one for multi-day tests.
"""

from __future__ import annotations

from tests.fakes import exit_with_parent

import argparse
import copy
import datetime as dt
import hashlib
import importlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from digestlib.base import calendar
from digestlib.source.ids import VERSIONED_ID_RE

REPO_ROOT = Path(__file__).resolve().parents[2]
ET = ZoneInfo("America/New_York")
UTC = dt.timezone.utc
SHARED_MAILING = "arxiv/mailings/2026-01-22-cs.SD+eess.AS.json"


# ------------------------------------------------------------------------------------------- data


def _parse_dt(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _version(raw: Any) -> int:
    return int(str(raw).lstrip("v") or 1)


def _id_month(arxiv_id: str) -> dt.datetime:
    digits = re.search(r"(\d{4})", arxiv_id.split("/")[-1])
    yymm = digits.group(1) if digits else "0001"
    year, month = int(yymm[:2]), max(1, min(12, int(yymm[2:])))
    year += 1900 if year >= 91 else 2000
    return dt.datetime(year, month, 1, 12, 0, tzinfo=UTC)


def _cycle(mailing: dict) -> tuple[dt.datetime, dt.datetime]:
    date = dt.date.fromisoformat(mailing["mailing_date"])
    if calendar.is_mailing_date(date):
        return calendar.submission_cycle(date)
    announced = _parse_dt(mailing["announced_at"])
    return announced - dt.timedelta(hours=30), announced - dt.timedelta(hours=6)


def prepare_mailing(raw: dict) -> dict:
    """A mailing dict with ``announced_at`` and every paper's ``version`` (int), ``published``, ``updated``."""
    mailing = copy.deepcopy(raw)
    date = dt.date.fromisoformat(mailing["mailing_date"])
    if not mailing.get("announced_at"):
        at = calendar.announcement_time(date) or dt.datetime.combine(date - dt.timedelta(days=1), dt.time(20), ET)
        mailing["announced_at"] = at.isoformat()
    start, end = _cycle(mailing)
    span = (end - start).total_seconds()
    papers = mailing.get("papers", [])
    firsts = [p for p in papers if _version(p.get("version", 1)) == 1]
    others = [p for p in papers if _version(p.get("version", 1)) > 1]
    for group, shift in ((firsts, 0.0), (others, 0.5)):
        for i, paper in enumerate(group):
            instant = start + dt.timedelta(seconds=int(span * (i + 1 + shift) / (len(group) + 1)))
            paper.setdefault("updated", instant.isoformat())
            if shift == 0.0:
                paper.setdefault("published", paper["updated"])
            else:
                number = int(re.sub(r"\D", "", paper["id"])[-5:] or 0)
                first = _id_month(paper["id"]) + dt.timedelta(days=number % 27, minutes=number % 600)
                # Keep first versions well before the cycle, so that a submission-date search over any
                # nearby cycle never mistakes a replacement for a new paper.
                first = min(first, start - dt.timedelta(days=40))
                paper.setdefault("published", first.isoformat())
    for paper in papers:
        paper["version"] = _version(paper.get("version", 1))
        paper.setdefault("categories", [paper.get("primary_category", "cs.SD")])
        paper.setdefault("authors", [])
    return mailing


def load_mailings(sources: Iterable[str | os.PathLike[str] | dict | list]) -> list[dict]:
    """Mailings from JSON files, folders of JSON files, dicts or lists of dicts; sorted by announcement."""
    out: list[dict] = []

    def add(item: Any) -> None:
        if isinstance(item, list):
            for x in item:
                add(x)
        elif isinstance(item, dict):
            out.append(prepare_mailing(item))
        else:
            path = Path(item)
            if path.is_dir():
                for child in sorted(path.glob("*.json")):
                    add(child)
            else:
                add(json.loads(path.read_text(encoding="utf-8")))

    for source in sources:
        add(source)
    out.sort(key=lambda m: _parse_dt(m["announced_at"]))
    return out


def synthesize_week(base: dict | str | os.PathLike[str], start: dt.date | str, end: dt.date | str) -> list[dict]:
    """One mailing per arXiv mailing date in ``[start, end]``, cloned from ``base``.

    The base's own date keeps its papers as they are; every other date gets copies with fresh,
    distinct new-style ids (``yymm.9DDNN``, DD the day of month), shifted titles and no fixed
    timestamps, so each day has its own papers. Weekends and arXiv holidays get no mailing
    (:func:`digestlib.base.calendar.mailing_dates`).
    """
    if not isinstance(base, dict):
        base = json.loads(Path(base).read_text(encoding="utf-8"))
    base_date = dt.date.fromisoformat(base["mailing_date"])
    mailings = []
    for date in calendar.mailing_dates(start, end):
        mailing = copy.deepcopy(base)
        mailing["mailing_date"] = date.isoformat()
        mailing["announced_at"] = calendar.announcement_time(date).isoformat()
        if date != base_date:
            yymm = date.strftime("%y%m")
            for i, paper in enumerate(mailing["papers"]):
                version = _version(paper.get("version", 1))
                paper["id"] = f"{yymm}.9{date.day:02d}{i:02d}"
                paper["title"] = f"{paper['title']} ({date.isoformat()})"
                paper.pop("published", None)
                paper.pop("updated", None)
                paper["version"] = f"v{version}"
        mailings.append(mailing)
    return mailings


# ------------------------------------------------------------------------------------------- XML

_FEED_NS = ('xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns="http://www.w3.org/2005/Atom"')


def _z(value: str | dt.datetime) -> str:
    instant = _parse_dt(value) if isinstance(value, str) else value
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_entry(paper: dict) -> str:
    vid = f"{paper['id']}v{paper['version']}"
    cats = paper.get("categories") or []
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{escape(vid)}</id>",
        f"    <title>{escape(paper.get('title', ''))}</title>",
        f"    <updated>{_z(paper['updated'])}</updated>",
        f'    <link href="https://arxiv.org/abs/{escape(vid)}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{escape(vid)}" rel="related" type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(paper.get('abstract', ''))}</summary>",
    ]
    lines += [f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>' for c in cats]
    lines.append(f"    <published>{_z(paper['published'])}</published>")
    if paper.get("comment"):
        lines.append(f"    <arxiv:comment>{escape(paper['comment'])}</arxiv:comment>")
    if cats:
        lines.append(f"    <arxiv:primary_category term={quoteattr(cats[0])}/>")
    if paper.get("journal_ref"):
        lines.append(f"    <arxiv:journal_ref>{escape(paper['journal_ref'])}</arxiv:journal_ref>")
    for author in paper.get("authors", []):
        lines.append(f"    <author>\n      <name>{escape(author)}</name>\n    </author>")
    if paper.get("doi"):
        lines.append(f"    <arxiv:doi>{escape(paper['doi'])}</arxiv:doi>")
    lines.append("  </entry>")
    return "\n".join(lines)


def api_feed(entries: list[dict], *, total: int, start: int, per_page: int, query: str, now: dt.datetime) -> str:
    digest = hashlib.sha1(query.encode()).hexdigest()[:27]
    head = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<feed {_FEED_NS}>",
        f"  <id>https://arxiv.org/api/{digest}</id>",
        f"  <title>arXiv Query: {escape(query)}</title>",
        f"  <updated>{_z(now)}</updated>",
        f'  <link href={quoteattr("https://arxiv.org/api/query?" + query)} type="application/atom+xml"/>',
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
    ]
    return "\n".join(head + [api_entry(p) for p in entries] + ["</feed>", ""])


def api_error_feed(message: str, now: dt.datetime) -> str:
    anchor = re.sub(r"\W+", "_", message)
    return "\n".join([
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<feed {_FEED_NS}>",
        "  <id>https://arxiv.org/</id>",
        "  <title>arXiv Search Results</title>",
        f"  <updated>{_z(now)}</updated>",
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>",
        "  <opensearch:totalResults>1</opensearch:totalResults>",
        "  <opensearch:startIndex>0</opensearch:startIndex>",
        "  <entry>",
        f"    <id>https://arxiv.org/api/errors#{escape(anchor)}</id>",
        "    <title>Error</title>",
        f"    <updated>{_z(now)}</updated>",
        f'    <link href="https://arxiv.org/api/errors#{escape(anchor)}" rel="alternate" type="text/html"/>',
        f"    <summary>{escape(message)}</summary>",
        "    <author>\n      <name>arXiv api core</name>\n    </author>",
        "  </entry>",
        "</feed>",
        "",
    ])


def rss_feed(cats: str, mailing: dict | None, papers: list[dict]) -> str:
    if mailing is not None:
        date = dt.date.fromisoformat(mailing["mailing_date"])
        midnight = dt.datetime.combine(date, dt.time(0), tzinfo=ET)
        built = (midnight + dt.timedelta(seconds=19, microseconds=866337)).astimezone(UTC).isoformat()
        published = midnight.isoformat()
    else:
        built, published = dt.datetime(2000, 1, 1, tzinfo=UTC).isoformat(), ""
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">',
        f"  <id>http://rss.arxiv.org/atom/{escape(cats)}</id>",
        f"  <title>{escape(cats)} updates on arXiv.org</title>",
        f"  <updated>{built}</updated>",
        f'  <link href="http://rss.arxiv.org/atom/{escape(cats)}" rel="self" type="application/atom+xml"/>',
        f"  <subtitle>{escape(cats)} updates on the arXiv.org e-print archive.</subtitle>",
    ]
    for paper in papers:
        vid = f"{paper['id']}v{paper['version']}"
        kind = paper.get("announce_type", "new")
        lines += [
            "  <entry>",
            f"    <id>oai:arXiv.org:{escape(vid)}</id>",
            f"    <title>{escape(paper.get('title', ''))}</title>",
            f"    <updated>{built}</updated>",
            f'    <link href="https://arxiv.org/abs/{escape(paper["id"])}" rel="alternate" type="text/html"/>',
            f"    <summary>arXiv:{escape(vid)} Announce Type: {escape(kind)} \nAbstract: {escape(paper.get('abstract', ''))}</summary>",
        ]
        lines += [f"    <category term={quoteattr(c)}/>" for c in paper.get("categories", [])]
        lines += [
            f"    <published>{published}</published>",
            f"    <arxiv:announce_type>{escape(kind)}</arxiv:announce_type>",
            "    <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>",
            f"    <dc:creator>{escape(', '.join(paper.get('authors', [])))}</dc:creator>",
            "  </entry>",
        ]
    lines += ["</feed>", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ state


def _load_callable(spec: str | None) -> Callable[[dict], bytes] | None:
    if not spec:
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def paper_from_dict(paper: dict):
    """The fake's paper dict as a ``digestlib.base.models.Paper`` (for factories built on project code)."""
    from digestlib.base.models import AnnounceType, Paper

    return Paper(
        arxiv_id=paper["id"], version=_version(paper.get("version", 1)), title=paper.get("title", ""),
        authors=tuple(paper.get("authors", [])), categories=tuple(paper.get("categories", [])),
        abstract=paper.get("abstract", ""), announce_type=AnnounceType(paper.get("announce_type", "new")),
        comment=paper.get("comment"),
        published=_parse_dt(paper["published"]) if paper.get("published") else None,
        updated=_parse_dt(paper["updated"]) if paper.get("updated") else None,
    )


def sample_pdf(paper: dict) -> bytes:
    """``--pdf-factory tests.fakes.fake_arxiv:sample_pdf``: an arXiv-like PDF drawn by ``digestlib.app.demo``."""
    from digestlib.app.demo import make_pdf

    return make_pdf(paper_from_dict(paper))


def sample_html(paper: dict) -> bytes:
    """``--html-factory tests.fakes.fake_arxiv:sample_html``: the HTML rendering from ``tests.fakes.sample_html``."""
    from tests.fakes.sample_html import make_html

    return make_html(paper_from_dict(paper)).encode("utf-8")


class FakeArxiv:
    """The fake's state; :meth:`serve` binds a ``ThreadingHTTPServer`` on 127.0.0.1."""

    def __init__(self, mailings: list[dict], *, now: dt.datetime | None = None, files_dir: Path | None = None,
                 pdf_factory: Callable[[dict], bytes] | None = None,
                 html_factory: Callable[[dict], bytes] | None = None, rss_lag_hours: float = 0.0) -> None:
        self.mailings = sorted(mailings, key=lambda m: _parse_dt(m["announced_at"]))
        self.papers: dict[str, dict] = {}
        for mailing in self.mailings:  # later mailings win (a replacement supersedes the first version)
            for paper in mailing["papers"]:
                self.papers[paper["id"]] = paper
        latest = _parse_dt(self.mailings[-1]["announced_at"]) if self.mailings else dt.datetime.now(UTC)
        self.now = now or latest + dt.timedelta(hours=1)
        self.files_dir = files_dir
        self.pdf_factory = pdf_factory
        self.html_factory = html_factory
        self.rss_lag = dt.timedelta(hours=rss_lag_hours)
        self.lock = threading.Lock()
        self.faults: dict[str, deque] = {}
        self.requests: list[dict] = []

    # -- faults and log
    def add_faults(self, spec: dict[str, list[dict]]) -> None:
        with self.lock:
            for route, faults in spec.items():
                self.faults.setdefault(route, deque()).extend(faults)

    def take_fault(self, *routes: str) -> dict | None:
        with self.lock:
            for route in routes:
                queue = self.faults.get(route)
                if queue:
                    return queue.popleft()
        return None

    def record(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)

    # -- content
    def current_mailing(self) -> dict | None:
        current = None
        for mailing in self.mailings:
            if _parse_dt(mailing["announced_at"]) + self.rss_lag <= self.now:
                current = mailing
        return current

    def rss(self, cats: str) -> str:
        wanted = set(cats.split("+"))
        mailing = self.current_mailing()
        papers = [p for p in (mailing or {}).get("papers", []) if wanted & set(p.get("categories", []))]
        return rss_feed(cats, mailing, papers)

    def api(self, query: dict[str, list[str]]) -> tuple[int, str]:
        start = int((query.get("start") or ["0"])[0] or 0)
        per_page = int((query.get("max_results") or ["10"])[0] or 10)
        search = (query.get("search_query") or [""])[0]
        id_list = [i.strip() for i in (query.get("id_list") or [""])[0].split(",") if i.strip()]
        shown = urllib.parse.urlencode({"search_query": search, "id_list": ",".join(id_list),
                                        "start": start, "max_results": per_page}, safe=":,/()[] ")
        for raw in id_list:
            if not VERSIONED_ID_RE.match(raw):
                return 400, api_error_feed(f"incorrect id format for {raw}", self.now)
        if id_list:
            found = []
            for raw in id_list:
                base, version = _split(raw)
                paper = self.papers.get(base)
                if paper and (version is None or paper["version"] == version):
                    found.append(paper)
                elif paper and version is not None and version < paper["version"]:
                    found.append({**paper, "version": version})
            if search:
                found = [p for p in found if _matches(p, search)]
        elif search:
            found = sorted((p for p in self.papers.values() if _matches(p, search)),
                           key=lambda p: _parse_dt(p["published"]))
            if (query.get("sortOrder") or ["ascending"])[0] == "descending":
                found.reverse()
        else:
            found = []
        page = found[start:start + per_page]
        return 200, api_feed(page, total=len(found), start=start, per_page=per_page, query=shown, now=self.now)

    def file(self, kind: str, rest: str) -> bytes | None:
        rest = rest.removesuffix(f".{kind}")
        base, version = _split(rest)
        paper = self.papers.get(base)
        if version is None and paper is not None:
            version = paper["version"]
        name = f"{base}v{version}".replace("/", "_") if version is not None else base.replace("/", "_")
        if self.files_dir is not None:
            path = self.files_dir / f"{name}.{kind}"
            if path.is_file():
                return path.read_bytes()
        factory = self.pdf_factory if kind == "pdf" else self.html_factory
        if factory is not None and paper is not None and version is not None and version <= paper["version"]:
            return factory({**paper, "version": version})
        return None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler serving this state (the server's, and ``tests.fakes.mock_http``'s)."""
        fake = self

        class Handler(_Handler):
            state = fake

        return Handler

    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self.handler())
        server.daemon_threads = True
        return server


def _split(raw: str) -> tuple[str, int | None]:
    match = re.match(r"^(?P<id>.+?)(?:v(?P<v>\d+))?$", raw)
    assert match
    return match["id"], int(match["v"]) if match["v"] else None


def _matches(paper: dict, search: str) -> bool:
    cats = re.findall(r"cat:([A-Za-z\-]+(?:\.[A-Za-z\-]+)?)", search)
    if cats and not set(cats) & set(paper.get("categories", [])):
        return False
    window = re.search(r"submittedDate:\[(\d{8,14})\s*(?:TO|\+TO\+)\s*(\d{8,14})\]", search)
    if window:
        def parse(text: str, end: bool) -> dt.datetime:
            text = text[:12] if len(text) >= 12 else text[:8] + ("2359" if end else "0000")
            return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                               tzinfo=UTC)

        low, high = parse(window.group(1), False), parse(window.group(2), True) + dt.timedelta(seconds=59)
        published = _parse_dt(paper["published"])
        if not low <= published <= high:
            return False
    return bool(cats or window)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeArxiv/1.0"
    state: FakeArxiv

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes | str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self._entry["status"] = status

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data), "application/json")

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    def _route(self, path: str) -> tuple[str, str]:
        if path.startswith("/_"):
            return "control", ""
        if path.startswith("/atom/") or path.startswith("/rss/"):
            return "rss", path.split("/", 2)[2]
        if path.rstrip("/") == "/api/query":
            return "api", ""
        if path.startswith("/pdf/"):
            return "pdf", path[len("/pdf/"):]
        if path.startswith("/html/"):
            return "html", path[len("/html/"):]
        return "other", ""

    def _handle(self) -> None:
        state = self.state
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        route, rest = self._route(path)
        self._entry = {"t": time.monotonic(), "wall": dt.datetime.now(UTC).isoformat(), "method": self.command,
                       "path": path, "query": url.query, "route": route,
                       "conn": f"{self.client_address[0]}:{self.client_address[1]}", "status": None}
        state.record(self._entry)
        if route == "control":
            return self._control(path)
        fault = state.take_fault(f"{route}:{rest.removesuffix('.' + route)}", route) if rest else state.take_fault(route)
        if fault:
            if fault.get("stall"):
                time.sleep(float(fault["stall"]))
            if fault.get("close"):
                self.close_connection = True
                self._entry["status"] = "closed"
                return
            if "status" in fault or "body" in fault:
                headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
                body = fault.get("body", f"fault injected: HTTP {fault.get('status', 200)}\n")
                ctype = "application/atom+xml; charset=utf-8" if route in ("api", "rss") else "text/plain"
                return self._send(int(fault.get("status", 200)), body, ctype, headers)
            if fault.get("empty"):
                if route == "api":
                    with state.lock:
                        now = state.now
                    return self._send(200, api_feed([], total=0, start=0, per_page=0, query="", now=now),
                                      "application/atom+xml; charset=utf-8")
                if route == "rss":
                    return self._send(200, rss_feed(rest, None, []), "application/atom+xml; charset=utf-8")
                return self._send(200, b"", "application/octet-stream")
        if route == "rss":
            return self._send(200, state.rss(rest), "application/atom+xml; charset=utf-8")
        if route == "api":
            status, body = state.api(urllib.parse.parse_qs(url.query, keep_blank_values=True))
            return self._send(status, body, "application/atom+xml; charset=utf-8")
        if route in ("pdf", "html"):
            data = state.file(route, rest)
            if data is None:
                return self._send(404, f"{route} not found: {rest}\n", "text/plain")
            return self._send(200, data, "application/pdf" if route == "pdf" else "text/html; charset=utf-8")
        return self._send(404, "not found\n", "text/plain")

    def _control(self, path: str) -> None:
        state = self.state
        if path == "/_control" and self.command == "POST":
            state.add_faults(self._body())
            return self._json({"ok": True})
        if path == "/_control":
            with state.lock:
                return self._json({k: list(v) for k, v in state.faults.items()})
        if path == "/_now" and self.command == "POST":
            value = _parse_dt(self._body()["now"])
            with state.lock:
                state.now = value
            return self._json({"now": value.isoformat()})
        if path == "/_now":
            return self._json({"now": state.now.isoformat()})
        if path == "/_log":
            with state.lock:
                return self._json({"requests": list(state.requests)})
        if path == "/_reset" and self.command == "POST":
            with state.lock:
                state.faults.clear()
                state.requests.clear()
            return self._json({"ok": True})
        return self._json({"error": f"unknown control path {path}"}, 404)

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()


# -------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fake_arxiv", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data", action="append", default=[], help="mailing JSON file, list file or folder (repeatable)")
    parser.add_argument("--now", help="the fake's clock (ISO); default: one hour after the latest announcement")
    parser.add_argument("--files", type=Path, help="folder of <id>v<n>.pdf / .html files")
    parser.add_argument("--pdf-factory", help="module:function(paper dict) -> bytes")
    parser.add_argument("--html-factory", help="module:function(paper dict) -> bytes")
    parser.add_argument("--rss-lag-hours", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = FakeArxiv(
        load_mailings(args.data), now=_parse_dt(args.now) if args.now else None, files_dir=args.files,
        pdf_factory=_load_callable(args.pdf_factory), html_factory=_load_callable(args.html_factory),
        rss_lag_hours=args.rss_lag_hours,
    )
    server = fake.serve(args.port)
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        exit_with_parent(server)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ------------------------------------------------------------------------------ test-side handle


@dataclass
class FakeArxivProcess:
    """A running fake (subprocess) and its control API."""

    url: str
    process: subprocess.Popen
    workdir: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/query"

    @property
    def rss_url(self) -> str:
        return f"{self.url}/atom"

    @property
    def files_url(self) -> str:
        return self.url

    def env(self) -> dict[str, str]:
        """Environment variables pointing the project at this fake (for subprocesses)."""
        return {"ARXIV_API_URL": self.api_url, "ARXIV_RSS_URL": self.rss_url, "ARXIV_FILES_URL": self.files_url}

    def settings(self, **overrides: Any):
        """``ArxivSettings`` pointing at the fake (tiny delays unless overridden)."""
        from digestlib.base.config import ArxivSettings

        values = {"api_url": self.api_url, "rss_url": self.rss_url, "files_url": self.files_url,
                  "api_delay_seconds": 0.05, "timeout_seconds": 5.0, "max_retries": 3}
        values.update(overrides)
        return ArxivSettings(**values)

    def _call(self, path: str, payload: Any | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read() or b"null")

    def faults(self, spec: dict[str, list[dict]]) -> None:
        self._call("/_control", spec)

    def set_now(self, now: dt.datetime | str) -> None:
        self._call("/_now", {"now": now if isinstance(now, str) else now.isoformat()})

    def log(self, route: str | None = None) -> list[dict]:
        requests = self._call("/_log")["requests"]
        return [r for r in requests if route is None or r["route"] == route]

    def reset(self) -> None:
        self._call("/_reset", {})

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> "FakeArxivProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_fake_arxiv(
    mailings: Iterable[str | os.PathLike[str] | dict | list],
    *,
    now: dt.datetime | str | None = None,
    files: str | os.PathLike[str] | None = None,
    pdf_factory: str | None = None,
    html_factory: str | None = None,
    rss_lag_hours: float = 0.0,
    workdir: str | os.PathLike[str] | None = None,
    timeout: float = 20.0,
) -> FakeArxivProcess:
    """Start the fake as a subprocess on a free port and wait for its ``LISTENING`` line.

    ``mailings``: paths (files/folders) and/or mailing dicts; dicts are written to ``workdir`` (a
    temporary folder by default) for the subprocess. The server's stderr goes to ``workdir/fake_arxiv.log``.
    """
    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="fake-arxiv-"))
    folder.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "tests.fakes.fake_arxiv", "--port", "0"]
    inline = []
    for item in mailings:
        if isinstance(item, (dict, list)):
            inline.append(item)
        else:
            args += ["--data", str(item)]
    if inline:
        path = folder / "mailings.json"
        path.write_text(json.dumps(inline, ensure_ascii=False), encoding="utf-8")
        args += ["--data", str(path)]
    if now is not None:
        args += ["--now", now if isinstance(now, str) else now.isoformat()]
    if files is not None:
        args += ["--files", str(files)]
    if pdf_factory:
        args += ["--pdf-factory", pdf_factory]
    if html_factory:
        args += ["--html-factory", html_factory]
    if rss_lag_hours:
        args += ["--rss-lag-hours", str(rss_lag_hours)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    stderr = open(folder / "fake_arxiv.log", "ab")
    try:
        process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr,
                                   stdin=subprocess.DEVNULL)
    finally:
        stderr.close()
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            break
        if process.poll() is not None:
            break
    text = line.decode().strip()
    if not text.startswith("LISTENING "):
        process.kill()
        process.wait()
        log = (folder / "fake_arxiv.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"fake arXiv did not start (got {text!r}); its log:\n{log}")
    return FakeArxivProcess(url=text.split(" ", 1)[1], process=process, workdir=folder)


def shared_mailing_path(shared_data: Path) -> Path:
    return shared_data / SHARED_MAILING


# The fixture exists only when pytest imports this module; the server process never loads pytest.
pytest = sys.modules.get("pytest")

if pytest is not None:

    @pytest.fixture
    def fake_arxiv(shared_data: Path, tmp_path_factory):
        """A running fake arXiv serving the shared 2026-01-22 mailing; its clock is 1 h after the announcement."""
        path = shared_mailing_path(shared_data)
        if not path.is_file():
            pytest.skip(f"shared mailing data not found: {path}")
        fake = start_fake_arxiv([path], workdir=tmp_path_factory.mktemp("fake-arxiv"))
        try:
            yield fake
        finally:
            fake.stop()


if __name__ == "__main__":
    sys.exit(main())
