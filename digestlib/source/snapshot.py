"""Snapshots: record a day's raw answers (feed, API pages, PDFs, HTML) and replay them with no network.

Owns the snapshot folder format, the httpx transports that record and replay it (usable by any module
through :func:`make_transport`; ``source/api.py`` bridges the arXiv package's ``requests`` session onto
them); ``digest snapshot`` (``fulltext.recording.record_day``) records through them, and ``digest run
--replay DIR``, ``digest demo`` and the tests' record/replay all go through here. Must not: parse what it stores, retry, or decide what a
response means (that is the caller's job); in replay, never touch the network.

Layout::

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

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path

import httpx

from ..base.errors import SourceError, UsageError

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


class SnapshotIndex:
    """The ``index.json`` of one snapshot folder, and the bodies beside it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "index.json"
        self._lock = threading.Lock()

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

    def record(self, request: httpx.Request, status: int, content_type: str, body: bytes,
               retry_after: str | None = None) -> None:
        """Store one answer (a 2xx already recorded for the same request is never replaced by a failure)."""
        key = request_key(request)
        kind = _kind(request.url.path)
        name = f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}{_ext(content_type, kind)}"
        try:
            with self._lock:
                entries = self.load()
                old = entries.get(key)
                if old and 200 <= int(old.get("status", 0)) < 300 and not 200 <= status < 300:
                    return
                (self.folder / name).write_bytes(body)
                entries[key] = {
                    "file": name, "status": status, "content_type": content_type, "url": str(request.url),
                    "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                }
                if retry_after:
                    entries[key]["retry_after"] = retry_after
                self.save(entries)
        except OSError as exc:
            raise SourceError(f"cannot write snapshot {self.folder} ({exc.__class__.__name__})") from None


class ReplayTransport(httpx.BaseTransport):
    """Serves responses recorded by :class:`RecordingTransport`; never touches the network."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not (self.folder / "index.json").is_file():
            raise SourceError(f"no snapshot at {self.folder} (index.json missing)")
        self._entries = SnapshotIndex(self.folder).load()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(request)
        entry = self._entries.get(key)
        if entry is None:
            raise SourceError(f"the snapshot {self.folder} lacks the request {key}", url=str(request.url))
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
        self.index = open_for_recording(self.folder)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        self.index.record(request, response.status_code, response.headers.get("content-type", ""), body,
                          response.headers.get("retry-after"))
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in self._DROP]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request,
                              extensions={k: v for k, v in response.extensions.items() if k != "network_stream"})

    def close(self) -> None:
        self.inner.close()


def open_for_recording(folder: Path) -> SnapshotIndex:
    """The index of ``folder``, created if needed (``SourceError`` when it cannot be)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot create snapshot folder {folder} ({exc.__class__.__name__})") from None
    return SnapshotIndex(folder)


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

