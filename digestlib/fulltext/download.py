"""Downloading a paper's full text from arXiv's file server, and turning the download into a ``FullText``.

``FulltextFetcher`` asks for ``/pdf/<id>v<n>``, else arXiv's HTML rendering ``/html/<id>v<n>``, through
the one HTTP layer (``digestlib.base.http``): one connection and one request at a time, a request rate limit
(by default arXiv's bulk-data guidance for export.arxiv.org: bursts of 4 requests, a 1 s sleep per burst),
retries with exponential backoff on 5xx / 429 / 408 / timeouts / connection errors (never on 404, and
``Retry-After`` honoured up to 60 s), redirects only within the configured hosts, a size cap enforced while
streaming and one deadline for the whole of each download (``download_timeout_seconds``: connect, wait and
body, enforced by ``digestlib.base.http``). A download that overruns its deadline is not retried (a hung or
dripping source costs one deadline, then the next paper's download goes on), and after
``HUNG_HOST_LIMIT`` such downloads in a row the host is given up for the run: the remaining papers are
left pending at once, for the next run. Complete PDFs are cached under ``cache_dir/pdf/``; "not
there yet" answers (404, an HTML error page served with 200) are never cached, so a later call fetches anew.

Every failure ends as a ``FullText`` status with a clean Chinese note in ``detail`` (never an exception
string); only an unusable cache directory raises ``FulltextError``. What may fix itself is PENDING (the
pipeline retries it on every run until ``abstract_only_after_hours``): 404 / an HTML page instead of the
PDF, 5xx / 429 / 408 after the retries, network errors, a stalled, trickling or cut-short download. What
will not is FAILED (interpreted from the abstract at once; a new version is a new key): oversized,
corrupt, encrypted, image-only, an extraction that overran its timeout or crashed, other 4xx answers.

Must not parse PDFs or HTML itself (``pdf.py``, ``html.py``, in the pool of ``pool.py``) nor call the LLM.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import httpx

from ..base.config import FulltextSettings
from ..base.errors import DigestError, FulltextError
from ..base.http import (Backoff, DeadlineExceeded, RateLimiter, RedirectRefused, RetryPolicy, StreamStopped,
                         make_client, parse_retry_after, stream_to_file)
from ..base.models import FullText, Paper, TextStatus
from .html import html_to_fulltext
from .notes import ACCEPTED_CONTENT_TYPES, DETAIL
from .pdf import looks_truncated
from .pool import ExtractionPool, extract_many, extract_pdf

log = logging.getLogger(__name__)

__all__ = ["DownloadResult", "FulltextFetcher"]

RETRY_AFTER_CAP_SECONDS = 60.0  # a server asking for longer is waited for this long, then asked again
HUNG_HOST_LIMIT = 3  # downloads in a row that overran their whole deadline: the host is given up for the run


class _HostGivenUp(Exception):
    """The files host overran the deadline ``HUNG_HOST_LIMIT`` times in a row: no more requests this run."""


@dataclass(frozen=True)
class DownloadResult:
    """What ``FulltextFetcher.download`` found for one paper version."""

    arxiv_id: str
    version: int
    kind: str  # "pdf" | "html" (a file at ``path``) | "pending" (not there yet) | "failed"
    path: Path | None = None
    status_code: int | None = None  # the last HTTP status seen (None if served from cache / no answer)
    bytes_read: int = 0  # body bytes received over the network for this result
    from_cache: bool = False
    reason: str = ""  # machine-readable: a key of DETAIL (not_found, not_pdf, unavailable, network, too_large, ...)
    detail: str = ""  # the clean note for people

    @property
    def ok(self) -> bool:
        return self.kind in ("pdf", "html")


class _RetryableStatus(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after


@dataclass
class _Fetched:
    status: int
    path: Path | None  # the ".part" file holding the body (200 only)
    head: bytes
    bytes_read: int


class FulltextFetcher:
    """Download PDFs (HTML fallback) from ``files_url`` politely and turn them into ``FullText``.

    >>> with FulltextFetcher(settings, "https://arxiv.org", cache_dir, user_agent=ua) as fetcher:
    ...     ft = fetcher.fetch(paper)

    ``transport`` lets the caller record/replay (any ``httpx.BaseTransport``). ``backoff`` is the first
    retry wait in seconds (doubling each time, at most ``max_backoff``; ``Retry-After`` is honoured up to
    60 s). ``pool`` shares an ``ExtractionPool``; otherwise the fetcher owns one with
    ``settings.workers`` processes, closed with the fetcher. ``sleep`` waits between retries and between
    bursts of requests (tests wait for nothing).
    """

    def __init__(
        self,
        settings: FulltextSettings,
        files_url: str,
        cache_dir: Path,
        *,
        user_agent: str,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        pool: ExtractionPool | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.files_url = files_url.rstrip("/")
        self.cache_dir = Path(cache_dir)
        self.max_bytes = int(settings.max_pdf_mb * 1024 * 1024) if settings.max_pdf_mb > 0 else None
        # arXiv's guidance for export.arxiv.org: bursts of 4 requests, then a 1 s sleep (the defaults)
        self._limiter = RateLimiter.per_second(settings.requests_per_second, burst=settings.burst, sleep=sleep)
        # a whole deadline overrun is not asked again at once: it would cost another deadline
        self.retry_policy = RetryPolicy(
            attempts=max(1, settings.max_retries + 1), sleep=sleep,
            backoff=Backoff(backoff, max_backoff, retry_after_cap=RETRY_AFTER_CAP_SECONDS),
            retry_on=(httpx.TimeoutException, httpx.TransportError, _RetryableStatus),
            never_on=(DeadlineExceeded, StreamStopped))
        self._http_lock = threading.Lock()  # one request at a time, whichever thread asks (politeness)
        self._hung_in_a_row = 0  # downloads in a row that overran their whole deadline (under _http_lock)
        dl = settings.download_timeout_seconds or 60.0
        self._client = make_client(  # redirects only within the configured arXiv hosts, at most 5 hops
            allowed_urls=[self.files_url], timeout=dl, connect_timeout=min(dl, 15.0), transport=transport,
            headers={"User-Agent": user_agent, "Accept": "application/pdf, text/html;q=0.9, */*;q=0.1"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._own_pool = pool is None
        self._pool = pool
        self._pool_lock = threading.Lock()
        try:
            (self.cache_dir / "pdf").mkdir(parents=True, exist_ok=True)
            (self.cache_dir / "html").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FulltextError(f"cannot create the full-text cache under {self.cache_dir}: {exc.strerror}") from None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "FulltextFetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        with self._pool_lock:
            if self._own_pool and self._pool is not None:
                self._pool.close()
                self._pool = None

    @property
    def pool(self) -> ExtractionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ExtractionPool(self.settings.workers)
            return self._pool

    # -- paths -----------------------------------------------------------------------------------------
    def pdf_path(self, paper: Paper) -> Path:
        return self.cache_dir / "pdf" / f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.pdf"

    def html_path(self, paper: Paper) -> Path:
        return self.cache_dir / "html" / f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.html"

    # -- HTTP ------------------------------------------------------------------------------------------
    def _get(self, url: str, dest: Path) -> _Fetched:
        """GET ``url`` into ``dest``.part with retries; raises httpx errors, _RetryableStatus or
        ``StreamStopped`` at the end."""
        with self._http_lock:
            if self._hung_in_a_row >= HUNG_HOST_LIMIT:
                raise _HostGivenUp()
            try:
                fetched = self.retry_policy.call(self._get_once, url, dest)
            except (DeadlineExceeded, StreamStopped) as exc:
                if isinstance(exc, DeadlineExceeded) or exc.reason == "deadline":
                    self._hung_in_a_row += 1
                    if self._hung_in_a_row == HUNG_HOST_LIMIT:
                        log.warning("%s overran the %g s deadline %d times in a row: given up for this run",
                                    self.files_url, self.settings.download_timeout_seconds or 60.0, HUNG_HOST_LIMIT)
                raise
            self._hung_in_a_row = 0
            return fetched

    def _get_once(self, url: str, dest: Path) -> _Fetched:
        with self._limiter.slot():
            return self._download_once(url, dest)

    def _download_once(self, url: str, dest: Path) -> _Fetched:
        deadline = time.monotonic() + (self.settings.download_timeout_seconds or 60.0)
        part = dest.with_name(dest.name + ".part")
        with self._client.stream("GET", url) as resp:
            code = resp.status_code
            if code in (408, 429) or code >= 500:
                raise _RetryableStatus(code, parse_retry_after(resp.headers.get("retry-after")))
            if code != 200:
                return _Fetched(code, None, b"", 0)
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype and ctype not in ACCEPTED_CONTENT_TYPES:  # checked before reading the body
                log.info("refused %s: content type %r", url, ctype[:60])
                return _Fetched(code, None, b"", 0)
            head, read = stream_to_file(resp, part, max_bytes=self.max_bytes, deadline=deadline)
            return _Fetched(code, part, head, read)

    def _attempt(self, url: str, dest: Path) -> tuple[_Fetched | None, DownloadResult | None]:
        """One logical GET; errors become a terminal ``DownloadResult`` (second item)."""
        def result(kind: str, reason: str, status: int | None = None, read: int = 0, **fmt: object) -> DownloadResult:
            return DownloadResult("", 0, kind, status_code=status, bytes_read=read, reason=reason, detail=DETAIL[reason].format(**fmt))

        try:
            return self._get(url, dest), None
        except _HostGivenUp:  # left pending: the next run asks again
            return None, result("pending", "download_timeout", seconds=self.settings.download_timeout_seconds or 60.0)
        except StreamStopped as stop:
            if stop.reason == "too_large":
                return None, result("failed", "too_large", 200, stop.bytes_read, mb=self.settings.max_pdf_mb)
            # a stalled or trickling transfer is transient: pending, so the next run tries again
            return None, result("pending", "download_timeout", 200, stop.bytes_read, seconds=self.settings.download_timeout_seconds)
        except _RetryableStatus as exc:
            return None, result("pending", "unavailable", exc.code, code=exc.code)
        except RedirectRefused as exc:  # never followed: a request-forgery path into the user's network
            log.warning("refused a redirect from %s to %s", url, exc.target)
            return None, result("failed", "redirect_refused", host=exc.target)
        except httpx.TimeoutException:
            return None, result("pending", "download_timeout", seconds=self.settings.download_timeout_seconds)
        except httpx.TransportError:
            return None, result("pending", "network")
        except httpx.HTTPError:
            return None, result("pending", "network")
        except DigestError as exc:  # a replay transport without this request: not there (in this snapshot)
            log.info("full text not available from the transport: %s", exc)
            return None, result("pending", "not_in_snapshot")
        except OSError as exc:
            raise FulltextError(f"cannot write to the full-text cache {dest.parent}: {exc.strerror or exc}") from None

    def download(self, paper: Paper) -> DownloadResult:
        """The paper's PDF (cached), else its HTML rendering, else a pending/failed result. Never raises
        for network or server trouble (only ``FulltextError`` when the cache cannot be written)."""
        base = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        pdf = self.pdf_path(paper)
        if pdf.is_file() and pdf.stat().st_size > 0:
            return DownloadResult(**base, kind="pdf", path=pdf, from_cache=True)
        fetched, stop = self._attempt(f"{self.files_url}/pdf/{paper.versioned_id}", pdf)
        if stop is not None:
            return dataclasses.replace(stop, **base)
        assert fetched is not None
        total_read = fetched.bytes_read
        if fetched.status == 200 and fetched.path is not None:
            if b"%PDF-" in fetched.head and not looks_truncated(fetched.path):
                os.replace(fetched.path, pdf)
                return DownloadResult(**base, kind="pdf", path=pdf, status_code=200, bytes_read=total_read)
            # an HTML page instead of the PDF, or a transfer cut short: not cached, fetched again next run
            pending_reason = "download_truncated" if b"%PDF-" in fetched.head else "not_pdf"
            fetched.path.unlink(missing_ok=True)
        elif fetched.status == 200:  # refused by its content type, before its body was read
            pending_reason = "not_pdf"
        elif fetched.status in (404, 410):
            pending_reason = "not_found"
        else:
            return DownloadResult(**base, kind="failed", status_code=fetched.status, reason="http_error",
                                  detail=DETAIL["http_error"].format(code=fetched.status))
        html = self._download_html(paper)
        if html.kind == "html":
            return dataclasses.replace(html, bytes_read=html.bytes_read + total_read)
        code = fetched.status
        return DownloadResult(**base, kind="pending", status_code=code, bytes_read=total_read + html.bytes_read,
                              reason=pending_reason, detail=DETAIL[pending_reason])

    def _download_html(self, paper: Paper) -> DownloadResult:
        base = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        dest = self.html_path(paper)
        if dest.is_file() and dest.stat().st_size > 0:
            return DownloadResult(**base, kind="html", path=dest, from_cache=True)
        fetched, stop = self._attempt(f"{self.files_url}/html/{paper.versioned_id}", dest)
        if stop is not None or fetched is None:
            return dataclasses.replace(stop, **base) if stop else DownloadResult(**base, kind="pending")
        if fetched.status != 200 or fetched.path is None:
            return DownloadResult(**base, kind="pending", status_code=fetched.status, reason="not_found")
        text = fetched.path.read_bytes().decode("utf-8", errors="replace")
        ft = html_to_fulltext(text)
        if b"%PDF-" in fetched.head or sum(len(v) for v in ft.sections.values()) < 500:
            fetched.path.unlink(missing_ok=True)
            return DownloadResult(**base, kind="pending", status_code=200, bytes_read=fetched.bytes_read, reason="not_pdf")
        os.replace(fetched.path, dest)
        return DownloadResult(**base, kind="html", path=dest, status_code=200, bytes_read=fetched.bytes_read)

    # -- full text -------------------------------------------------------------------------------------
    def complete(self, paper: Paper, res: DownloadResult, extracted: FullText | None = None) -> FullText:
        """The ``FullText`` of a finished ``download``: a PDF is extracted in the pool (unless ``extracted``
        is given), an HTML file parsed, a pending/failed download turned into its status and note.

        Safe to call from several threads at once (each extraction takes one pool worker); the pipeline
        downloads in one thread and completes each PDF in another, so extraction overlaps the next
        downloads. An unreadable PDF falls back to the HTML rendering (a request, serialised with the rest).
        """
        ids = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        if res.kind == "pdf":
            ft = extracted or extract_pdf(res.path, self.settings.max_pages, self.settings.extract_timeout_seconds,  # type: ignore[arg-type]
                                          pool=self.pool, engine=self.settings.pdf_engine)
            ft = dataclasses.replace(ft, **ids)
            if ft.status is TextStatus.FAILED and ft.detail in (DETAIL["encrypted"], DETAIL["no_text"], DETAIL["corrupt"]):
                html = self._download_html(paper)  # an unreadable PDF: arXiv's HTML may still be readable
                if html.kind == "html" and html.path is not None:
                    return self._html_fulltext(paper, html.path)
            return ft
        if res.kind == "html" and res.path is not None:
            return self._html_fulltext(paper, res.path)
        status = TextStatus.PENDING if res.kind == "pending" else TextStatus.FAILED
        return FullText(paper.arxiv_id, paper.version, status, detail=res.detail or DETAIL["not_found"])

    def _html_fulltext(self, paper: Paper, path: Path) -> FullText:
        text = path.read_bytes().decode("utf-8", errors="replace")
        return html_to_fulltext(text, arxiv_id=paper.arxiv_id, version=paper.version)

    def fetch(self, paper: Paper) -> FullText:
        """Download and extract one paper: status OK, PENDING (not there yet) or FAILED, with a clean detail."""
        return self.complete(paper, self.download(paper))

    def fetch_many(self, papers: Sequence[Paper]) -> list[FullText]:
        """Download one at a time (politeness), then extract all PDFs in parallel in the pool."""
        results = [self.download(p) for p in papers]
        pdfs = [(i, r.path) for i, r in enumerate(results) if r.kind == "pdf" and r.path is not None]
        extracted = extract_many([p for _, p in pdfs], self.settings.max_pages, self.settings.extract_timeout_seconds, pool=self.pool,
                                 engine=self.settings.pdf_engine)
        by_index = {i: ft for (i, _), ft in zip(pdfs, extracted)}
        return [self.complete(p, r, by_index.get(i)) for i, (p, r) in enumerate(zip(papers, results))]

