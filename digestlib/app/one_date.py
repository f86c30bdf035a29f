"""One date's notebook under the output folder's lock: what ``digest run`` / ``backfill`` / ``demo`` /
``daily`` do for a date, outside the notebook. Check the calendar on the run's clock, take the lock, open
the store (once, passed down), execute the notebook (``notebook.py``), then read the run's outcome back
from the store: the lines to show, the summary and the exit status.

Owns: validating a run's input before anything is written (:func:`load_date`), the calendar gate (no
mailing, not yet announced, a date too far ahead), the summary line and the exit status of a date, the
notification of a failed or incomplete run, and the backfill loop. Must not: parse arguments or write to
stdout/stderr itself (lines go through the ``say`` / ``warn`` callables the CLI passes), or do what the
notebook does (the pipeline runs inside the kernel).

``post.report`` (pandas) is loaded lazily with ``lazy_loader``: a weekend date, ``digest --help`` and
the other commands start without it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Callable

import lazy_loader as lazy

from ..base import calendar, errors
from ..day import freshness
from ..base.atomic import atomic_write_text
from ..base.config import Config, build_config, check_api_key, parse_date, read_params_file
from ..base.errors import DigestError, UsageError
from ..base.locks import run_lock
from ..post.labels import labels_for
from ..post.render import render_no_announcement
from ..post.view import keep_outcome, read_day
from ..store.store import Store
from .notebook import execute_day
from .notify import notify_day
from ..day.outcome import RunOutcome, compute_outcome, notebook_outcome, run_started

report = lazy.load("digestlib.post.report", suppress_warning=True)  # pandas

Say = Callable[[str], None]
Loader = Callable[[dt.date], "tuple[Config, dict]"]
Runner = Callable[[Config, dict], int]

# A date whose announcement is further ahead than a long weekend plus a holiday is a usage error (exit 2),
# not "retry later" (exit 75): no scheduler retry will reach it.
FUTURE_DATE_SLACK = dt.timedelta(days=4)


def params_dir_of(params_file: str | os.PathLike[str]) -> Path:
    """Where relative paths in a parameter file (the glossary) resolve: the file's own folder."""
    return Path(params_file).resolve().parent


def load_date(params_file: str | os.PathLike[str], out_dir: str | os.PathLike[str], date: dt.date | str,
             replay_dir: str | os.PathLike[str] | None = None) -> tuple[Config, dict]:
    """Validate everything the user gave before anything is written: the parameter file, the date, the
    snapshot folder, the API key's characters. Returns the config and the file's raw parameters."""
    params = read_params_file(params_file)
    try:
        cfg = build_config(date=date, out_dir=out_dir, params=params, replay_dir=replay_dir,
                           params_dir=params_dir_of(params_file))
    except errors.ConfigError as exc:  # a bad value: name the file it is in
        if exc.path is not None or str(params_file) in str(exc):
            raise
        raise type(exc)(f"{exc} (in {params_file})", path=str(params_file), key=exc.key) from None
    if cfg.replay_dir is not None and not cfg.replay_dir.is_dir():
        raise UsageError(f"snapshot folder not found: {cfg.replay_dir}")
    when = calendar.announcement_time(cfg.date) if cfg.replay_dir is not None else None
    if cfg.replay_dir is not None and (when > cfg.now if when is not None
                                       else cfg.date > cfg.now.date() + dt.timedelta(days=1)):
        raise UsageError(f"--replay: {cfg.date} has not been announced yet (it is in the future), so no snapshot "
                         "can hold it; check --date")
    check_api_key(cfg.llm, cfg.environ)  # a key with "\r" or a space: one clear line (exit 2), before any call
    return cfg, params


def require_endpoint(cfg: Config, offline: bool) -> None:
    """A run without an LLM endpoint writes an English-only post: only when asked for (``--offline``), so
    that a scheduler with a broken environment fails (exit 2, one line) instead of "succeeding" every day."""
    if not cfg.llm.configured and not offline:
        raise UsageError(f"no LLM endpoint configured: set {cfg.llm.api_key_env} (or OPENAI_BASE_URL for a local "
                         "server), or pass --offline for a post with the abstracts in English")
    if cfg.llm.configured and offline:
        raise UsageError(f"--offline, but an LLM endpoint is configured: drop --offline, or unset "
                         f"{cfg.llm.api_key_env} and OPENAI_BASE_URL")


def digest_date(cfg: Config, params: dict, params_dir: Path, *, wait_seconds: float = 0.0, quiet: bool = False,
             say: Say = print, offline: bool | None = None) -> int:
    """One date, as ``digest run`` does it; returns its exit status (0 complete or legitimately pending,
    3 some task failed, 4 the day's budget was reached); raises ``DigestError`` for the others."""
    status = calendar.status_for(cfg.date, cfg.now)
    if status == "none":
        say(f"No arXiv announcement is dated {cfg.date} (weekend or arXiv holiday): no post written.")
        if cfg.no_announcement_post:
            path = cfg.day_dir / cfg.post_name
            words = labels_for(cfg.language)
            reason = words.weekend if cfg.date.weekday() >= 5 else words.holiday
            atomic_write_text(path, render_no_announcement(cfg.date, cfg.categories, reason, cfg.language))
            say(f"Wrote a short no-announcement post: {path}")
        return errors.EXIT_OK
    if status == "not_yet" and cfg.replay_dir is None:
        expected = calendar.expected_at(cfg.date)
        if expected is not None and expected - cfg.now > FUTURE_DATE_SLACK:  # no retry will reach it soon
            raise UsageError(f"{cfg.date} is in the future: its announcement is expected at "
                             f"{expected:%Y-%m-%d %H:%M %Z}; give a date that has been announced")
        raise errors.NotYetAnnouncedError(
            f"the announcement dated {cfg.date} is not out yet; expected at {expected:%Y-%m-%d %H:%M %Z}",
            date=cfg.date, expected_at=expected)
    if offline is not None:  # the command line's choice (library callers decide for themselves)
        require_endpoint(cfg, offline)
    started, since = time.monotonic(), run_started()
    with run_lock(cfg.out_dir, wait_seconds), Store(cfg.store_path) as store:
        if freshness.is_up_to_date(cfg, freshness.day_fingerprint(cfg, store, params)):
            # a finished day whose files were written from this very state: nothing to fetch, ask or write
            say(f"Up to date: {cfg.day_dir / cfg.post_name}, {cfg.day_dir / 'report.html'} and "
                f"{cfg.day_dir / 'digest.ipynb'} (nothing changed since they were written)")
            return _summary(cfg, store, since, started, say).exit_code
        # report.html's charts are drawn in this process after the notebook: their imports load meanwhile,
        # while papermill only waits on the kernel (the kernel draws its own for the notebook's display)
        report.load_charts_in_background()
        try:
            day_dir, notes = execute_day(cfg, store, params, params_dir, quiet=quiet)
        except errors.LLMFatalError:
            _summary(cfg, store, since, started, say)  # the breaker: no post, but the run's numbers still
            raise
        shown = notebook_outcome(day_dir / "digest.ipynb") or {}  # what only the kernel knew: the cut answers
        outcome = _summary(cfg, store, since, started, None, cut_answers=int(shown.get("cut_answers") or 0))
        keep_outcome(cfg, outcome, notes)  # publish's and review's reports open with this same summary
        report.write_report(read_day(cfg, store), day_dir / "report.html", outcome=outcome, notes=notes)
        freshness.remember(cfg, store, params)
    say(f"Wrote {day_dir / cfg.post_name}, {day_dir / 'report.html'} and {day_dir / 'digest.ipynb'}")
    for note in notes:  # what a scheduler's log should show too
        say(f"Note: {note}")
    say(f"Summary: {outcome.summary()}")  # the report's summary shows this very line's numbers and duration
    if outcome.budget_pending:  # the day's LLM budget stopped the run: incomplete, the rest pending
        line = (f"Incomplete: the day's LLM budget was reached; {outcome.budget_pending} paper(s) left pending "
                "(run the date again with a larger llm.max_cost_per_day / llm.max_tokens_per_day)")
        say(line)
        notify_day(cfg, "incomplete", detail=line)
    return outcome.exit_code


def _summary(cfg: Config, store: Store, since: str, started: float, say: Say | None, *,
             cut_answers: int = 0) -> RunOutcome:
    """The run's one-line summary, read back from the store (the same numbers the notebook shows)."""
    outcome = compute_outcome(store, cfg.date, since=since, prices=cfg.llm.prices,
                              seconds=time.monotonic() - started, cut_answers=cut_answers)
    if say is not None:
        say(f"Summary: {outcome.summary()}")
    return outcome


def digest_date_notifying(cfg: Config, params: dict, params_dir: Path, *, wait_seconds: float = 0.0,
                          quiet: bool = False, say: Say = print, offline: bool | None = None) -> int:
    """``digest run``: :func:`digest_date`; a failure (but "not announced yet") is notified, then raised."""
    try:
        return digest_date(cfg, params, params_dir, wait_seconds=wait_seconds, quiet=quiet, say=say, offline=offline)
    except DigestError as exc:
        if exc.exit_code != errors.EXIT_TEMPFAIL:  # "not announced yet" is not a failure to report
            notify_day(cfg, "failed", detail=f"digest run failed: {exc}")
        raise


def backfill(date_from: str, date_to: str, *, load: Loader, run: Runner, say: Say = print,
             warn: Say = print) -> int:
    """Every mailing date from ``date_from`` to ``date_to``, oldest first (every date with
    ``no_announcement_post``); a day that fails says so in one ``warn`` line and the others still run.
    Returns the worst exit status."""
    start, end = parse_date(date_from), parse_date(date_to)
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    dates = calendar.mailing_dates(start, end)
    first, _ = load(start)  # validate the parameters before doing anything
    say(f"Backfilling {len(dates)} announcement day(s) from {start} to {end}.")
    if first.no_announcement_post:  # every date, as `digest run` does it: the others get their short post
        dates = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    statuses = []
    for date in dates:
        cfg, params = load(date)
        try:
            statuses.append(run(cfg, params))
        except errors.LLMFatalError:
            raise  # the endpoint is unusable: the later days would fail the same way
        except DigestError as exc:
            warn(f"digest: error: {date}: {exc}")
            statuses.append(exc.exit_code)
    return errors.worst_exit_code(statuses)
