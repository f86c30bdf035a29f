"""``digest daily``: the one command a scheduler calls, as often as it likes.

What it does, on the clock it is given (``now``; the CLI passes ``Config.now``, so ``DIGEST_NOW``
fakes it):

1. works out the announcement that is due (the newest mailing announced by ``now``) and the days it must
   (re)run: that one, any mailing missed since the newest post (the machine was off), and every earlier
   day within :data:`LOOKBACK_DAYS` that still has pending papers (a PDF that was not out yet);
2. runs them oldest first, each exactly as ``digest run`` does (papermill, the run lock, exit codes);
3. publishes each of them, and the due day, to ``--site`` through :func:`publish.publish_day` (the review
   policy decides: while papers await a reviewer it stops at "ready for review" and says so);
4. with ``weekly.after_last_day``, writes the week's post (``digest weekly``) after the week's last
   announcement day is posted (and published, with a site);
5. says what it did in one summary line and exits with the worst status of its days
   (:data:`errors.SEVERITY`): 0 also when there was nothing to do; 75 when the announcement is not out yet.

Idempotent: a day already posted with nothing pending is not run again, and a post whose text has not
changed is neither rewritten nor committed. Two at once do not both run: the second finds the output
folder's daily lock taken and exits 75 (retry later) having done nothing.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..base import calendar, errors
from . import site
from ..base.config import Config
from ..base.errors import DigestError
from ..base.locks import daily_lock
from ..base.models import INTERPRET, TRANSLATE, ResultStatus
from ..day.selection import stored_selection
from ..store.store import Store
from .notify import notify_day

LOOKBACK_DAYS = 14  # earlier days still pending are re-run for this long (full texts give up after 72 h)

Loader = Callable[[dt.date], "tuple[Config, dict]"]
Runner = Callable[[Config, dict], int]
Publisher = Callable[[Config], Path]  # writes the day into the site, returns the post's path
WeeklyWriter = Callable[[str], "tuple[Path, bool]"]  # writes the week's post ("2026-W04"): (path, changed)


@dataclass
class DayOutcome:
    """What happened to one date in this call (the summary line is made of these)."""

    date: dt.date
    why: str  # due | missed | pending
    status: int = errors.EXIT_OK
    message: str = ""
    pending: int = 0  # papers of the day still pending after the run
    published: str = ""  # "", "committed", "written", "unchanged", "awaiting review"


@dataclass
class DailyReport:
    due: dt.date
    days: list[DayOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pushed: int = 0  # commits pushed by this call
    pushed_earlier: int = 0  # of those, commits an earlier call made but failed to push
    push_failed: str = ""  # git's reason, when the push failed

    @property
    def exit_code(self) -> int:
        return errors.worst_exit_code([*(d.status for d in self.days),
                                       errors.EXIT_RUNTIME if self.push_failed else errors.EXIT_OK])

    def _push_words(self) -> str:
        if self.push_failed:
            return f"; push failed: {self.push_failed}"
        if self.pushed:
            earlier = f", {self.pushed_earlier} left unpushed by an earlier run" if self.pushed_earlier else ""
            return f"; pushed {self.pushed} commit(s){earlier}"
        return ""

    def summary(self) -> str:
        """One line for a scheduler's log: every date touched and what became of it."""
        if not self.days:
            if self.pushed or self.push_failed:
                return f"daily: nothing to run; the newest announcement ({self.due}) is posted{self._push_words()}" \
                       f" -> exit {self.exit_code}"
            return f"daily: nothing to do; the newest announcement ({self.due}) is posted and nothing is pending"
        parts = []
        for day in self.days:
            text = f"{day.date} ({day.why}): {_status_word(day.status)}"
            if day.pending:
                text += f", {day.pending} pending"
            if day.published:
                text += f", {day.published}"
            parts.append(text)
        return f"daily: {'; '.join(parts)}{self._push_words()} -> exit {self.exit_code}"


def _status_word(status: int) -> str:
    return {
        errors.EXIT_OK: "done", errors.EXIT_TASKS_FAILED: "written, some tasks failed",
        errors.EXIT_INCOMPLETE: "written, stopped early (rest pending)", errors.EXIT_TEMPFAIL: "not out yet",
        errors.EXIT_UNAVAILABLE: "LLM unavailable, no post", errors.EXIT_USAGE: "bad input",
    }.get(status, f"failed (exit {status})")


def is_posted(cfg: Config) -> bool:
    """The day's post is in the output folder (written by a run that got that far)."""
    return (cfg.day_dir / cfg.post_name).is_file()


def pending_papers(cfg: Config, store: Store | None) -> int:
    """Papers of the day's post whose translation or interpretation is missing or still pending
    (``store`` None: nothing is stored yet)."""
    if store is None or store.announcement(cfg.date) is None:
        return 0
    selection = stored_selection(cfg, store)
    count = 0
    for paper in selection.new:
        for task in (TRANSLATE, INTERPRET):
            result = store.get_result(paper.arxiv_id, paper.version, task)
            if result is None or result.status is ResultStatus.PENDING:
                count += 1
                break
    return count


def stored_post_dates(store: Store | None) -> set[dt.date]:
    """The dates whose posts claimed papers in this output folder's ledger."""
    return set(store.ledger().values()) if store is not None else set()


class FolderStore:
    """The output folder's store for one ``digest daily``, opened once: at the start when it exists, else
    once a run has made it (a call on a new folder must not create a store before a run does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None

    def get(self) -> Store | None:
        if self._store is None and self.path.is_file():
            self._store = Store(self.path)
        return self._store

    def __enter__(self) -> "FolderStore":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._store is not None:
            self._store.close()


def plan(due: dt.date, load: Loader, store: Store | None, *,
         lookback_days: int = LOOKBACK_DAYS) -> list[tuple[dt.date, str]]:
    """The dates to run, oldest first, each with why: ``due``, ``missed`` (no post since the newest one),
    ``pending`` (posted, but some paper still waits for its PDF or a task)."""
    horizon = due - dt.timedelta(days=lookback_days)
    recent = [d for d in calendar.mailing_dates(horizon, due)]
    posted = {d for d in recent if is_posted(load(d)[0])}
    known = {d for d in stored_post_dates(store) if horizon <= d <= due} | posted
    todo: dict[dt.date, str] = {}
    newest = max(posted, default=None)
    if newest is not None:  # catch up on mailings missed since the newest post
        for d in calendar.mailing_dates(newest + dt.timedelta(days=1), due):
            todo[d] = "missed"
    if due not in posted:
        todo[due] = "due"
    for d in sorted(known):
        if d not in todo and d in posted and pending_papers(load(d)[0], store) > 0:
            todo[d] = "pending"
        elif d not in todo and d not in posted:
            todo[d] = "missed"
    return sorted(todo.items())


def catch_up(*, out_dir: Path, now: dt.datetime, load: Loader, run: Runner, site_dir: Path | None = None,
              publish: Publisher | None = None, push: Callable[[], None] | None = None,
              echo: Callable[[str], None] = print, lookback_days: int = LOOKBACK_DAYS,
              weekly: "WeeklyWriter | None" = None) -> DailyReport:
    """Run what is due, publish into ``site_dir`` with ``publish(cfg)``, push once at the end if asked;
    the CLI prints :meth:`DailyReport.summary` and exits with :attr:`DailyReport.exit_code`."""
    due = calendar.latest_mailing_date(now)
    report = DailyReport(due)
    with daily_lock(out_dir), FolderStore(load(due)[0].store_path) as stored:
        for date, why in plan(due, load, stored.get(), lookback_days=lookback_days):
            cfg, params = load(date)
            day = DayOutcome(date, why)
            report.days.append(day)
            try:
                day.status = run(cfg, params)
            except errors.ConfigError:
                raise  # a bad parameter file is the same for every day: stop at once, exit 2
            except DigestError as exc:
                day.status, day.message = exc.exit_code, str(exc)
                _warn(f"{date}: {exc}" + (" (retry later)" if exc.exit_code == errors.EXIT_TEMPFAIL else ""))
                continue
            if is_posted(cfg):
                day.pending = pending_papers(cfg, stored.get())
        commits = 0
        if publish is not None and site_dir is not None:
            commits = _publish_all(report, load, site_dir, publish, echo)
        if weekly is not None:
            commits += _write_weeklies(report, load, site_dir, weekly, echo)
        if push is not None and site_dir is not None:
            waiting = site.unpushed_commits(site_dir)  # this run's and those an earlier push failed on
            if waiting:
                earlier = waiting - commits
                try:
                    push()
                except DigestError as exc:
                    report.push_failed = str(exc)
                    _warn(f"push failed: {exc} ({waiting} commit(s) unpushed; the next "
                          "`digest daily --push` pushes them)")
                else:
                    report.pushed = waiting
                    report.pushed_earlier = max(0, earlier)
    return report


def last_day_of_its_week(date: dt.date) -> bool:
    """No later announcement falls in ``date``'s ISO week (Thursday's, before a Friday holiday, too)."""
    return calendar.next_mailing_date(date).isocalendar()[:2] != date.isocalendar()[:2]


def _write_weeklies(report: DailyReport, load: Loader, site_dir: Path | None, weekly: WeeklyWriter,
                    echo: Callable[[str], None]) -> int:
    """``weekly.after_last_day``: the week's post once its last announcement day (one run now, or the due
    day) is posted: in the site's ``_posts`` with a site (so not while it awaits review), else in the output
    folder. Writing it again changes nothing unless a day changed. Returns the number of commits made."""
    statuses = {d.date: d.status for d in report.days}
    commits = 0
    for date in sorted(set(statuses) | {report.due}):
        cfg, _ = load(date)
        if not (cfg.weekly.after_last_day and last_day_of_its_week(date)) or statuses.get(date) in _NO_POST:
            continue
        out = (site_dir / "_posts" / cfg.post_name).is_file() if site_dir is not None else is_posted(cfg)
        if not out:
            continue  # its post is not out: the week's links would lead nowhere
        week = f"{date.isocalendar()[0]}-W{date.isocalendar()[1]:02d}"
        before = site.head_commit(site_dir) if site_dir is not None else None
        try:
            path, changed = weekly(week)
        except DigestError as exc:
            _warn(f"{week}: the weekly post failed: {exc}")
            continue
        if site_dir is not None and site.head_commit(site_dir) != before:
            commits += 1
        report.notes.append(f"weekly {week}: {'written' if changed else 'unchanged'}")
        if changed:
            echo(f"{week}: weekly post written: {path}")
    return commits


def _warn(message: str) -> None:
    """A day's failure: one line on stderr (the summary line on stdout says it too)."""
    print(f"digest: {message}", file=sys.stderr)


_NO_POST = (errors.EXIT_UNAVAILABLE, errors.EXIT_TEMPFAIL, errors.EXIT_RUNTIME, errors.EXIT_USAGE)


def _publish_all(report: DailyReport, load: Loader, site_dir: Path, publish: Publisher,
                 echo: Callable[[str], None]) -> int:
    """Publish each day run now whose post was written, and the due day even when it was not run (a
    reviewer may have finished since). Returns the number of commits made."""
    days = {d.date: d for d in report.days}
    commits = 0
    for date in sorted(set(days) | {report.due}):
        day = days.get(date) or DayOutcome(date, "review")
        cfg, _ = load(date)
        if day.status in _NO_POST or not is_posted(cfg):
            continue
        target = site_dir / "_posts" / cfg.post_name
        before_text = target.read_text(encoding="utf-8") if target.is_file() else None
        before_head = site.head_commit(site_dir)
        try:
            path = publish(cfg)
        except DigestError as exc:
            if exc.exit_code == errors.EXIT_REVIEW_PENDING:  # the policy wants a person first: not a failure
                day.published = "ready for review, not published"
                echo(f"{date}: ready for review: {exc} (`digest review --date {date}`; the next "
                     "`digest daily` publishes it once approved)")
            else:
                day.published = "publishing failed"
                if day.status == errors.EXIT_OK:
                    day.status = exc.exit_code
                _warn(f"{date}: publishing failed: {exc}")
        else:
            changed = path.read_text(encoding="utf-8") != before_text
            if changed:  # a new or changed post: tell the readers (a failed notification is one line, no more)
                notify_day(cfg, "publish")
            if site.head_commit(site_dir) != before_head:
                commits += 1
                day.published = "committed to the site"
            elif changed:
                day.published = "written to the site"
            elif date in days:
                day.published = "site already up to date"
            if day.published:
                echo(f"{date}: {day.published}: {path}")
        if day.published and date not in days:
            report.days.append(day)
    report.days.sort(key=lambda d: d.date)
    return commits
