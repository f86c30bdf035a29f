"""One announcement day end to end, resumable: fetch -> select -> full text + LLM tasks -> the store.

The store sits between every stage, so a run killed at any moment resumes where it stopped: the
announcement is fetched once and stored whole, each paper's full text and each task result is stored
as soon as it exists, and every LLM answer is cached by content (a repeat costs no call).
A pipeline, not stages (:class:`_DayRun`): the moment the RSS feed names the papers (ids, versions,
abstracts), their downloads and translations start, while the API call that completes their metadata runs;
downloads go one at a time on one connection at arXiv's rate (``fulltext.requests_per_second``/``burst``),
each PDF is extracted in the process pool while the next one downloads, and each interpretation starts the
moment its paper's text is stored. The ledger is claimed only on the stored announcement: what the feed
started early is work on the same papers, never a claim. Papers whose full text is not there yet (404,
server trouble, a stalled download) are retried on every run, whatever its date, until
``fulltext.abstract_only_after_hours`` after the first attempt; then they are interpreted from the abstract.

Owns: the day's run and its scheduling (the order of LLM tasks: ``dispatch.py``). Must not: choose or
assemble the day's papers (``selection.py``), format text (render.py, labels.py) or talk HTTP itself
(source/, fulltext/, llm.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Callable

import httpx
from tqdm import tqdm  # text bars: relayed to the terminal by papermill, dropped from the report

from ..base import calendar
from .spend import Budget
from .interests import most_relevant
from ..base.config import Config
from .dispatch import PriorityDispatcher
from ..base.redaction import install_log_redaction
from ..base.errors import LLMRateLimitedError, LLMUnavailableError, UsageError
from ..fulltext import DownloadResult, FulltextFetcher, count_tokens
from ..llm.intents import interrupted_note
from ..base.models import INTERPRET, TRANSLATE, FullText, Paper, PendingReason, ResultStatus, TextStatus
from .outcome import RunOutcome, compute_outcome, run_started
from ..source import ArxivSource, intake, make_transport
from .selection import Selection, interpretations_pending, select_papers
from ..store.store import Store
from ..tasks import DayTasks, open_tasks, translation_needed
from .records import (interpretation_record, over_budget_record, paper_text, save_record, stored_text,
                      translation_record, waiting_record)

log = logging.getLogger("digestlib.day.pipeline")

# A free LLM slot goes to an interpretation first: it is the end of the longer chain (download,
# extraction, call), and translations, ready from the start, fill the slots interpretations leave.
_INTERPRET_PRIORITY, _TRANSLATE_PRIORITY = 0, 1


@dataclass
class RunNotes:
    """What the user should hear about a run beyond the post itself (one line each)."""

    messages: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message: str) -> None:
        with self.lock:
            if message not in self.messages:
                self.messages.append(message)


def load_announcement(cfg: Config, store: Store, notes: RunNotes | None = None, *,
                      on_feed: Callable[[list[Paper]], None] | None = None) -> list[Paper]:
    """The day's announcement from the store, or fetched once (RSS + API, or the API for past days).

    The source's warnings (API lag, the API fallback when the RSS feed is stuck) go to ``notes``. ``on_feed``
    hears the feed's papers (validated) before the API call that completes them; not called for a stored
    announcement or on the API-only route.
    """
    stored = store.announcement(cfg.date)
    if stored is not None:
        kept, skipped = intake.normalise_papers(stored)  # a store written before entries were checked
        for note in skipped:
            if notes is not None:
                notes.add(note)
        return kept
    with ArxivSource(cfg.arxiv, cfg.categories, replay_dir=cfg.replay_dir) as source:
        announcement = source.fetch_announcement(
            cfg.date, now=cfg.now, on_feed=None if on_feed is None else lambda feed: on_feed(intake.normalise_papers(feed)[0]))
    # Validated and normalised before anything is stored: one bad entry is skipped with a note, never the day.
    papers, skipped = intake.normalise_papers(announcement.papers)
    for note in skipped:
        if notes is not None:
            notes.add(note)
    store.save_announcement(cfg.date, papers, announcement.source)
    announcement = replace(announcement, papers=papers)
    for warning in announcement.warnings:
        if notes is not None:
            notes.add(warning)
    return list(announcement.papers)


class _DayWorker:
    """Runs the full-text and LLM stages for a set of papers, storing every result as it lands.

    ``tasks`` answers them (the endpoint, or offline: ``tasks.engines``), chosen once where the day starts."""

    def __init__(self, cfg: Config, store: Store, notes: RunNotes, tasks: DayTasks) -> None:
        self.cfg, self.store, self.notes, self.tasks = cfg, store, notes, tasks
        # llm.max_cost_per_day / max_tokens_per_day: consulted before each LLM task (spend.py)
        self.budget = Budget(cfg.llm, store, cfg.date.isoformat()) if tasks.paid else None
        self.abstract_only: set[tuple[str, int]] = set()  # fulltext.top_n: papers interpreted from the abstract
        self._top_n_planned = False

    # -- full text ---------------------------------------------------------------------------------
    def stored_fulltext(self, paper: Paper) -> FullText | None:
        """The paper's full text when the store holds a final one (anything but PENDING), else None."""
        text = stored_text(self.store, paper)
        return text if text is not None and text.status is not TextStatus.PENDING else None

    def fulltext(self, fetcher: FulltextFetcher, paper: Paper, download: DownloadResult | None = None) -> FullText:
        """The paper's full text: the stored one when final; else ``download`` (made now when not given)
        completed by the fetcher (a PDF is extracted in the process pool; safe from any thread) and stored.
        Still pending ``abstract_only_after_hours`` after the first attempt (on the pipeline's clock,
        ``DIGEST_NOW`` included): ABSTRACT_ONLY, interpreted from the abstract and labelled."""
        record = self.store.get_fulltext(paper.arxiv_id, paper.version)
        if record and record.fulltext.status is not TextStatus.PENDING:
            return record.fulltext
        text = fetcher.complete(paper, download if download is not None else fetcher.download(paper))
        now = self.cfg.now  # the run's clock, read once by config (DIGEST_NOW fakes it)
        self.store.save_fulltext(text, at=now)
        if text.status is TextStatus.PENDING:
            first = record.first_attempt_at if record else now
            if now - first >= dt.timedelta(hours=self.cfg.fulltext.abstract_only_after_hours):
                text = replace(text, status=TextStatus.ABSTRACT_ONLY, source="abstract")
                self.store.save_fulltext(text, at=now)
        return text

    # -- LLM tasks ---------------------------------------------------------------------------------
    def _settled(self, paper: Paper, task: str) -> bool:
        """Pay once: a final result stays (only an explicit regenerate replaces it); with the breaker
        tripped nothing more is tried, and what is left stays untouched for the next run."""
        done = self.store.get_result(paper.arxiv_id, paper.version, task)
        if done is not None and self.tasks.settles(done.status):
            return True
        return self.tasks.fatal_error is not None

    def translate(self, paper: Paper) -> None:
        if self._settled(paper, TRANSLATE):
            return
        result = self.tasks.translate(paper)
        if result.status is ResultStatus.PENDING and self.tasks.fatal_error:
            return  # the breaker tripped during this call: untouched, the next run does it
        save_record(self.store, paper, translation_record(result, pending_reason=self._pending_reason(result.status)))

    def interpret(self, paper: Paper, text: FullText) -> None:
        if text.status is TextStatus.PENDING:
            save_record(self.store, paper, waiting_record(text))
            return
        asked_from = paper_text(paper, text, self.tasks.text_budget_tokens())
        if self._settled(paper, INTERPRET):
            return
        result = self.tasks.interpret(paper, asked_from)
        if result.status is ResultStatus.PENDING and self.tasks.fatal_error:
            return  # the breaker tripped during this call: untouched, the next run does it
        top_n = (paper.arxiv_id, paper.version) in self.abstract_only
        save_record(self.store, paper, interpretation_record(
            result, text, pending_reason=self._pending_reason(result.status), abstract_reason="top_n" if top_n else None))

    def run_task(self, task: str, paper: Paper, text: FullText | None = None) -> None:
        """Run the translation, or the interpretation of ``paper`` from ``text``, if the day's budget allows.

        With a budget set, a result already done is kept as is (no call, not even a cached one); a task the
        budget refuses is stored PENDING (reason ``budget``) and the run goes on without calling."""
        def run() -> None:
            if text is None:
                self.translate(paper)
            else:
                self.interpret(paper, text)

        budget = self.budget
        if budget is None or not budget.active:
            return run()
        if task == TRANSLATE and not translation_needed(self.cfg.language):
            return run()  # English output: the abstract is kept, nothing is asked or paid
        if text is not None and text.status is TextStatus.PENDING:
            return run()  # waits for its PDF: no call
        done = self.store.get_result(paper.arxiv_id, paper.version, task)
        if done is not None and done.status is ResultStatus.DONE:
            return None
        asked_from = paper.abstract if text is None else paper_text(paper, text, self.tasks.text_budget_tokens())
        ticket = budget.reserve(task, count_tokens(asked_from))
        if ticket is None:
            save_record(self.store, paper, over_budget_record(task, paper, budget.stopped_reason))
            self.notes.add(f"stopped calling the LLM: {budget.stopped_reason}; the rest stays pending "
                           "(run the date again with a larger budget)")
            return None
        try:
            return run()
        finally:
            budget.release(ticket)

    def _pending_reason(self, status: ResultStatus) -> PendingReason | None:
        """After authentication or quota failures the client stops calling: the rest stays pending."""
        if status is not ResultStatus.PENDING:
            return None
        fatal = self.tasks.fatal_error
        if fatal is not None:
            self.notes.add(f"stopped calling the LLM ({fatal}); the remaining papers stay pending for the next run")
            return PendingReason.QUOTA
        return PendingReason.LLM

    # -- every stage at once -----------------------------------------------------------------------
    def plan_top_n(self, papers: tuple[Paper, ...] | list[Paper]) -> None:
        """``fulltext.top_n``: only the N most relevant papers are read in full (decided once per run)."""
        if self.cfg.fulltext.top_n and not self._top_n_planned:
            self._top_n_planned = True
            in_full = most_relevant(tuple(papers), self.cfg.interests, self.cfg.fulltext.top_n)
            self.abstract_only = {(p.arxiv_id, p.version) for p in papers} - in_full

    def run(self, label: str) -> "_DayRun":
        """The pipeline of one run (a context manager): ``add`` papers as they become known, then ``finish``."""
        return _DayRun(self, label)


class _DayRun:
    """One run's pipeline: every stage at once, each paper as soon as its input exists.

    ``add`` takes papers the moment they are known (the feed's papers before the API call that completes
    their metadata, the retry queue later; each paper once): its translation goes to the LLM pool at once
    (it needs only the abstract) and the paper joins the download queue. One download thread works through
    that queue, one request at a time on one connection under the fetcher's rate limit; each PDF is handed
    to an extraction thread (the process pool does the work) while the next one downloads, and each
    interpretation is submitted the moment its text is stored. Texts the store already holds, HTML
    renderings and not-there-yet answers go straight to interpretation. ``finish`` waits for all of it;
    leaving on an error stops the downloads, cancels LLM tasks not yet started and waits for those running
    (their results are stored, so the next run resumes). One progress line shows the stages side by side.
    """

    _DONE = object()  # the download queue's end

    def __init__(self, worker: _DayWorker, label: str) -> None:
        self.worker, self.label = worker, label
        self._stack = ExitStack()
        self._seen: set[tuple[str, int]] = set()
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._futures: list[Future] = []  # LLM tasks (appended by several threads)
        self._extracting: list[Future] = []
        self._counts = {"full text": 0, "translated": 0, "interpreted": 0}
        self._stop = threading.Event()
        self._downloader: threading.Thread | None = None
        self._download_error: BaseException | None = None

    def __enter__(self) -> "_DayRun":
        cfg, stack = self.worker.cfg, self._stack
        try:
            # interpretations before translations, and one interpretation alone until the endpoint's
            # structured-output mode is known (dispatch.py says why)
            self._pool = PriorityDispatcher(max(1, cfg.llm.concurrency), thread_name_prefix="llm")
            stack.callback(self._pool.shutdown, wait=True, cancel_futures=True)  # runs first on the way out
            self._fetcher = stack.enter_context(FulltextFetcher(
                cfg.fulltext, cfg.arxiv.files_url, cfg.cache_dir, user_agent=cfg.arxiv.user_agent,
                transport=_replay_transport(cfg)))
            # one thread per extraction process: each waits on its PDF's worker (closed before the fetcher)
            self._extractors = stack.enter_context(ThreadPoolExecutor(max_workers=self._fetcher.pool.workers,
                                                                      thread_name_prefix="extract"))
            show = sys.stderr.isatty() or "ipykernel" in sys.modules  # in the kernel, papermill relays stderr
            self._bar = stack.enter_context(tqdm(total=0, desc=self.label, unit="step", file=sys.stderr,
                                                 disable=not show, leave=True))
            stack.callback(self._stop_downloads)  # runs before the pools close
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- feeding the pipeline
    def add(self, papers: list[Paper] | tuple[Paper, ...]) -> None:
        """Start every stage for the papers not seen yet in this run."""
        fresh = []
        with self._lock:
            for paper in papers:
                key = (paper.arxiv_id, paper.version)
                if key not in self._seen:
                    self._seen.add(key)
                    fresh.append(paper)
            if not fresh:
                return
            self._bar.total += 3 * len(fresh)
            self._bar.refresh()
        if self._downloader is None:
            self._downloader = threading.Thread(target=self._download_all, name="download", daemon=True)
            self._downloader.start()
        for paper in fresh:
            self._queue.put(paper)
        self.worker.tasks.discover()  # once per run; overlaps the first downloads
        for paper in fresh:
            self._submit(TRANSLATE, paper)

    def finish(self) -> None:
        """Wait until every paper added is downloaded, extracted, translated and interpreted (and stored)."""
        self._queue.put(self._DONE)
        if self._downloader is not None:
            self._downloader.join()
        if self._download_error is not None:
            raise self._download_error
        for future in list(self._extracting):  # every interpretation is submitted once these are done
            future.result()
        for future in list(self._futures):
            future.result()

    # -- the stages
    def _step(self, stage: str) -> None:
        with self._lock:
            self._counts[stage] += 1
            total = len(self._seen)
            self._bar.set_postfix_str(" · ".join(f"{name} {n}/{total}" for name, n in self._counts.items()),
                                      refresh=False)
            self._bar.update()

    def _submit(self, task: str, paper: Paper, text: FullText | None = None) -> None:
        translating = task == TRANSLATE
        stage = "translated" if translating else "interpreted"
        future = self._pool.submit(_TRANSLATE_PRIORITY if translating else _INTERPRET_PRIORITY,
                                   self.worker.run_task, task, paper, text,
                                   probe=None if translating else self.worker.tasks.structured_mode_known)
        future.add_done_callback(lambda _: self._step(stage))
        with self._lock:
            self._futures.append(future)

    def _interpret(self, paper: Paper, text: FullText) -> None:
        self._step("full text")
        self._submit(INTERPRET, paper, text)

    def _extract_then_interpret(self, paper: Paper, download: DownloadResult) -> None:
        self._interpret(paper, self.worker.fulltext(self._fetcher, paper, download))

    def _download_all(self) -> None:
        """The download thread: the queue in order, one request at a time (the fetcher's one connection)."""
        try:
            while not self._stop.is_set():
                paper = self._queue.get()
                if paper is self._DONE:
                    return
                self._download_one(paper)
        except BaseException as exc:  # a store or cache error: stop downloading, ``finish`` raises it
            self._download_error = exc

    def _download_one(self, paper: Paper) -> None:
        worker = self.worker
        if (paper.arxiv_id, paper.version) in worker.abstract_only:  # fulltext.top_n: not downloaded
            self._interpret(paper, FullText(paper.arxiv_id, paper.version, TextStatus.ABSTRACT_ONLY, source="abstract"))
            return
        stored = worker.stored_fulltext(paper)
        if stored is not None:
            self._interpret(paper, stored)
            return
        for done in [f for f in self._extracting if f.done()]:
            done.result()  # an extraction thread hit a store or cache error: stop downloading
        download = self._fetcher.download(paper)
        if download.kind == "pdf":
            future = self._extractors.submit(self._extract_then_interpret, paper, download)
            with self._lock:
                self._extracting.append(future)
        else:
            self._interpret(paper, worker.fulltext(self._fetcher, paper, download))

    def _stop_downloads(self) -> None:
        self._stop.set()
        self._queue.put(self._DONE)
        if self._downloader is not None:
            self._downloader.join()


def _replay_transport(cfg: Config):
    """PDFs are served from the snapshot too when the run replays one."""
    return make_transport(replay_dir=cfg.replay_dir) if cfg.replay_dir is not None else None


@dataclass(frozen=True)
class DayResult:
    """What the run did: the papers it shows (``post.digest.build_digest`` makes the post of them), its notes."""

    selection: Selection
    notes: tuple[str, ...]
    budget_stopped: str | None = None  # why the run stopped calling the LLM (the day's budget); None if it did not
    outcome: RunOutcome | None = None  # the counts and the one-line summary (outcome.py)


def run_day(cfg: Config, *, llm_http_client: httpx.Client | None = None) -> DayResult:
    """Fetch, select, process and assemble one day; also retries other days' pending full texts.

    Who answers the LLM tasks (the endpoint, or offline) is chosen here, once (``tasks.engines``);
    ``llm_http_client`` carries the LLM requests (a test's ``httpx.MockTransport``)."""
    if not calendar.is_mailing_date(cfg.date):
        raise UsageError(f"no arXiv announcement is dated {cfg.date} (weekend or arXiv holiday)")
    install_log_redaction()  # in the kernel too: what a library logs is redacted
    notes = RunNotes()
    started, since = time.monotonic(), run_started()
    with Store(cfg.store_path) as store, ExitStack() as closing:
        interrupted = store.take_interrupted_intents()  # the intent log: what a killed run left in flight
        if interrupted:
            notes.add(interrupted_note(len(interrupted)))
        tasks = open_tasks(cfg, store, http_client=llm_http_client)
        closing.callback(tasks.close)
        worker = _DayWorker(cfg, store, notes, tasks)
        with worker.run(cfg.date.isoformat()) as day_run:

            def start_from_feed(feed_papers: list[Paper]) -> None:
                """The feed named the papers: downloads and translations start while the API call runs."""
                preview = select_papers(cfg, store, feed_papers, claim=False)
                worker.plan_top_n(preview.new)
                day_run.add(preview.new)

            announced = load_announcement(cfg, store, notes, on_feed=start_from_feed)
            selection = select_papers(cfg, store, announced)
            worker.plan_top_n(selection.new)  # a stored announcement: planned here (else from the feed)
            day_run.add(selection.new)  # what the feed did not start (each paper once)
            # The retry queue: papers of any day whose PDF was not there yet get their turn on every run.
            queued = [store.get_paper(i, v) for i, v in store.pending_fulltexts()]
            todays = {(p.arxiv_id, p.version) for p in selection.new}
            day_run.add([p for p in queued if p and (p.arxiv_id, p.version) not in todays])
            day_run.finish()
        fatal = tasks.fatal_error
        if fatal is not None:  # the breaker tripped: no post; what is left stays untouched for the next run
            fix = f"; {fatal.fix}" if fatal.fix else ""
            if isinstance(fatal, LLMRateLimitedError):  # retry later (75), at the time the server named
                raise LLMRateLimitedError(f"{fatal}; nothing was published{fix}", retry_at=fatal.retry_at,
                                          base_url=fatal.base_url, fix=fatal.fix)
            raise LLMUnavailableError(f"{fatal}; nothing was published{fix}", cause=fatal.cause,
                                      base_url=fatal.base_url, fix=fatal.fix)
        pending = interpretations_pending(cfg, store, selection)
        budget_stop = worker.budget.stopped_reason if worker.budget is not None else None
        outcome = compute_outcome(store, cfg.date, since=since, prices=cfg.llm.prices,
                                  seconds=time.monotonic() - started, cut_answers=tasks.cut_answers())
    for note in tasks.closing_notes():  # answers cut at the token limit: the retries' tokens were capped
        notes.add(note)
    if pending:
        notes.add(f"{pending} interpretation(s) pending (full text not there yet); run the date again later")
    return DayResult(selection, tuple(notes.messages), budget_stopped=budget_stop, outcome=outcome)
