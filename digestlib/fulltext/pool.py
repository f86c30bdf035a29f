"""The worker pool for PDF extraction, on **pebble**: worker processes with a hard per-call timeout.

pebble's ``ProcessPool`` is a maintained pool that does what extraction needs and ``concurrent.futures``
does not: a per-task timeout counted from when a worker takes the task, a hung or overrunning worker
killed and replaced while the others carry on, a crashed worker reported (``ProcessExpired``) rather than
breaking the pool, and workers retired after ``max_tasks``. Workers start from a forkserver (safe in a
threaded parent such as a Jupyter kernel) and leave when the parent dies (their task pipe closes).

Owns ``ExtractionPool`` (``run(fn, calls, timeout) -> [ExtractionResult]``, shared by several threads at once, at
most ``workers`` calls running whoever asked), the module-level default pool (closed at exit), and
``extract_many`` / ``extract_pdf`` (results turned into ``FullText``). Must not download or parse: what
runs in the workers is ``pdf.extract_pdf_in_process``, one PDF per worker at a time (PDFium is not
thread-safe; each worker process has its own).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import multiprocessing
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Literal, Sequence, TypeVar

import pebble

from ..base.errors import FulltextError
from ..base.models import FullText
from .pdf import PAGES_AFTER_REFERENCES, PDF_ENGINES, extract_pdf_in_process, failed_text, quiet_pypdf

log = logging.getLogger(__name__)

__all__ = ["ExtractionPool", "ExtractionResult", "extract_many", "extract_pdf", "shutdown_default_pool"]


def _init_worker() -> None:
    """Runs once in each worker: pypdf's noise and every warning silenced."""
    quiet_pypdf()
    warnings.simplefilter("ignore")


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:  # safe in threaded parents (Jupyter kernels); workers fork from a clean server
        ctx = multiprocessing.get_context("forkserver")
        try:
            ctx.set_forkserver_preload(["digestlib.fulltext.pdf", "pypdfium2"])
        except Exception:  # noqa: BLE001 - preload is only an optimisation
            pass
        return ctx
    return multiprocessing.get_context("spawn")


T = TypeVar("T")


@dataclass(frozen=True)
class ExtractionResult(Generic[T]):
    """What one call run in the pool came back with: its ``value`` when ``kind`` is ``ok``, else why not."""

    kind: Literal["ok", "error", "timeout", "crashed"]
    value: T | None = None
    error: str = ""


def _result_of(future: concurrent.futures.Future[T]) -> ExtractionResult[T]:
    try:
        return ExtractionResult("ok", future.result())
    except concurrent.futures.TimeoutError:
        return ExtractionResult("timeout")
    except pebble.ProcessExpired as exc:
        return ExtractionResult("crashed", error=f"exit code {exc.exitcode}")
    except concurrent.futures.CancelledError:
        return ExtractionResult("crashed", error="cancelled")
    except BaseException as exc:  # noqa: BLE001 - the call's own error, reported as data
        return ExtractionResult("error", error=f"{type(exc).__name__}: {str(exc)[:300]}")


class ExtractionPool:
    """Worker processes with a hard per-call timeout: an overrunning worker is killed and replaced.

    ``workers=0`` means one per CPU. ``run`` may be called from several threads at once (the pipeline
    extracts each PDF from its own thread as soon as it is downloaded): the calls share the workers, and
    at most ``workers`` extractions run at any moment whoever asked for them. Workers start on the first
    call. Use as a context manager or call ``close()``; a module-level default pool is closed at exit.
    """

    def __init__(self, workers: int = 0, *, max_tasks_per_worker: int = 200) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_tasks_per_worker = max_tasks_per_worker
        self._pool = self._new_pool()
        self._lock = threading.Lock()
        self._closed = False

    def _new_pool(self) -> pebble.ProcessPool:
        return pebble.ProcessPool(max_workers=self.workers, max_tasks=self.max_tasks_per_worker,
                                  initializer=_init_worker, context=_mp_context())

    def __enter__(self) -> "ExtractionPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """No new calls; calls already running (maybe another thread's) finish, then the workers stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()
        self._pool.join()  # pebble keeps idle workers until joined; a running call ends by its timeout

    def run(self, fn: Callable[..., T], calls: Sequence[tuple[object, ...]],
            timeout: float) -> list[ExtractionResult[T]]:
        """Run ``fn(*args)`` for each args tuple in parallel; each call gets at most ``timeout`` seconds
        (counted from when a worker takes it, not while it waits for a free worker)."""
        with self._lock:
            if self._closed:
                raise FulltextError("the extraction pool is closed")
            try:
                futures = [self._pool.schedule(fn, args=args, timeout=timeout) for args in calls]
            except RuntimeError:  # pebble's pool broke (a worker could not start): start a new one, once
                self._pool.stop()
                self._pool = self._new_pool()
                try:
                    futures = [self._pool.schedule(fn, args=args, timeout=timeout) for args in calls]
                except RuntimeError as exc:
                    raise FulltextError(f"the extraction pool cannot start its workers ({exc})") from None
        return [_result_of(f) for f in futures]


_default_pool: ExtractionPool | None = None
_default_lock = threading.Lock()


def _get_default_pool() -> ExtractionPool:
    global _default_pool
    with _default_lock:
        if _default_pool is None or _default_pool.closed:
            _default_pool = ExtractionPool()
        return _default_pool


def shutdown_default_pool() -> None:
    """Stop the module-level pool's workers (also done at interpreter exit)."""
    global _default_pool
    with _default_lock:
        if _default_pool is not None:
            _default_pool.close()
            _default_pool = None


atexit.register(shutdown_default_pool)


def _to_fulltext(path: str | os.PathLike[str], result: ExtractionResult[FullText], timeout: float) -> FullText:
    if result.kind == "ok" and isinstance(result.value, FullText):
        return result.value
    if result.kind == "timeout":
        return failed_text(path, "extract_timeout", seconds=timeout)
    if result.kind == "crashed":
        return failed_text(path, "extract_crashed")
    log.warning("PDF extraction failed for %s: %s", path, result.error)
    return failed_text(path, "extract_error")


def extract_many(
    paths: Iterable[str | os.PathLike[str]], max_pages: int = 60, timeout: float = 60.0, *, pool: ExtractionPool | None = None,
    engine: str = "auto",
) -> list[FullText]:
    """Extract PDFs in parallel in the process pool; one ``FullText`` per path, in order, never raising.

    ``engine`` is ``fulltext.pdf_engine`` (``pdf.PDF_ENGINES``): each worker reads one PDF at a time, which
    is also what PDFium (not thread-safe) needs."""
    paths = [str(p) for p in paths]
    if not paths:
        return []
    if engine not in PDF_ENGINES:
        raise FulltextError(f"unknown PDF engine {engine!r} (one of {', '.join(PDF_ENGINES)})")
    pool = pool or _get_default_pool()
    soft = 0.75 * timeout if timeout > 0 else 0.0
    hard = timeout if timeout > 0 else 3600.0

    def size(p: str) -> int:
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    # largest first: the long jobs start early and the short ones fill the gaps (better balance)
    order = sorted(range(len(paths)), key=lambda i: -size(paths[i]))
    results = pool.run(extract_pdf_in_process, [(paths[i], max_pages, soft, PAGES_AFTER_REFERENCES, engine) for i in order], hard)
    by_index = dict(zip(order, results))
    return [_to_fulltext(p, by_index[i], timeout) for i, p in enumerate(paths)]


def extract_pdf(
    path: str | os.PathLike[str], max_pages: int = 60, timeout: float = 60.0, *, pool: ExtractionPool | None = None,
    engine: str = "auto",
) -> FullText:
    """Extract one PDF in the process pool with a hard ``timeout`` (seconds) and a page cap."""
    return extract_many([path], max_pages, timeout, pool=pool, engine=engine)[0]
