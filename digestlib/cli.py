"""The ``digest`` command: run / backfill / snapshot / publish / review / demo.

It holds no logic of its own beyond orchestration: validate input first (so bad input writes nothing),
then papermill executes the notebook, then nbconvert's exporters write the post and the report, and
the three files are moved into place atomically. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from . import calendar, errors
from .atomic import atomic_write_text, umask
from .config import (DEFAULT_PARAMS_FILE, Config, build_config, check_api_key, default_out_dir, parse_date,
                     read_params_file)
from .errors import DigestError, RunLockedError, UsageError
from .redaction import redact_file

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "daily_digest.ipynb"
# A date whose announcement is further ahead than a long weekend plus a holiday is a usage error (exit 2),
# not "retry later" (exit 75): no scheduler retry will reach it.
FUTURE_DATE_SLACK = dt.timedelta(days=4)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as a DigestError (one line, exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _folder(value: str) -> str:
    """An argparse type: a folder that may not exist yet, but is not a file."""
    if Path(value).exists() and not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {value}")
    return value


def _seconds(value: str) -> float:
    """An argparse type: a non-negative number of seconds (filelock waits forever on a negative one)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {value!r}")
    return seconds


def _notebook_path() -> Path:
    if NOTEBOOK.is_file():
        return NOTEBOOK
    raise DigestError(f"the notebook {NOTEBOOK} is missing (is this a complete checkout?)")


@contextmanager
def run_lock(out_dir: Path, wait_seconds: float) -> Iterator[None]:
    """One run per output folder at a time: the second waits up to ``wait_seconds`` or refuses."""
    from filelock import FileLock, Timeout

    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / ".digest.lock"))
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise RunLockedError(f"another digest run is using {out_dir}; try again when it has finished") from None
    try:
        yield
    finally:
        lock.release()


def notebook_parameters(cfg: Config, params: dict, params_dir: Path) -> dict:
    """What papermill injects: the run's paths and the parameter file's values (never a secret)."""
    return {
        "date": cfg.date.isoformat(),
        "out_dir": str(cfg.out_dir),
        "replay_dir": str(cfg.replay_dir) if cfg.replay_dir else None,
        "params_dir": str(params_dir),
        **params,
    }


def _kernel_error(exc: Exception) -> DigestError:
    """Map an exception raised inside the notebook back to our error class (and exit status)."""
    ename = getattr(exc, "ename", "")
    evalue = getattr(exc, "evalue", "") or str(exc)
    cls = getattr(errors, ename, None)
    if isinstance(cls, type) and issubclass(cls, DigestError):
        return cls(evalue)
    return DigestError(f"the notebook failed: {ename or exc.__class__.__name__}: {evalue}".strip())


def _sweep_stale(out_dir: Path, day_dir: Path) -> None:
    """Remove what a killed run left behind: staging folders, half-written files (only under the run lock)."""
    for path in out_dir.glob(".????-??-??-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    if day_dir.is_dir():
        for path in day_dir.glob(".*.tmp"):
            path.unlink(missing_ok=True)


def execute_day(cfg: Config, params: dict, params_dir: Path, *, quiet: bool = False) -> Path:
    """papermill + exporters into a temporary folder, then move the three files into ``<out>/<date>/``
    (the folder itself the first time, so that its files appear together). Called under the run lock."""
    import papermill as pm
    from papermill.exceptions import PapermillException, PapermillExecutionError

    from .exporters import export_post, export_report

    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale(cfg.out_dir, cfg.day_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{cfg.date}-", dir=cfg.out_dir))
    try:
        executed = staging / "digest.ipynb"
        try:
            # The kernel's stderr (the pipeline's tqdm bars) is relayed live to this terminal.
            pm.execute_notebook(
                str(_notebook_path()), str(executed), parameters=notebook_parameters(cfg, params, params_dir),
                kernel_name="python3", progress_bar=not quiet, log_output=False,
                stderr_file=None if quiet else sys.stderr, cwd=str(Path.cwd()),
                # The kernel app's own messages are not the user's business (start-up warnings, and the
                # "KeyboardInterrupt caught in kernel" that jupyter_client's interrupt-then-shutdown can
                # cause): the notebook's own errors come back through papermill, as one line.
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
        except PapermillExecutionError as exc:
            raise _kernel_error(exc) from None
        except PapermillException as exc:
            raise DigestError(f"papermill could not run the notebook: {exc}") from None
        # One redaction step for every output: the key, key-shaped tokens, URL credentials.
        redact_file(executed)
        post = errors.redact(export_post(executed))
        report = errors.redact(export_report(executed))
        atomic_write_text(staging / cfg.post_name, post)
        atomic_write_text(staging / "report.html", report)
        from .bibtex import bib_name, write_run_bib

        write_run_bib(cfg, staging)  # <date>.bib: one BibTeX entry per paper shown, linked from the post
        day_dir = cfg.day_dir
        if not day_dir.exists():  # the first time, the folder appears with its three files at once
            os.chmod(staging, 0o777 & ~umask())  # mkdtemp made it 0700
            os.rename(staging, day_dir)
        else:  # a re-run replaces each file whole: readers see the old file or the new one
            for name in (cfg.post_name, "report.html", "digest.ipynb", bib_name(cfg.date)):
                os.replace(staging / name, day_dir / name)
        return day_dir
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _params_dir(args: argparse.Namespace) -> Path:
    """Where relative paths in the parameter file (the glossary) resolve: the file's own folder."""
    return Path(args.params).resolve().parent


def _load(args: argparse.Namespace, date: dt.date | str) -> tuple[Config, dict]:
    """Validate everything the user gave before anything is written."""
    params = read_params_file(args.params)
    cfg = build_config(date=date, out_dir=args.out, params=params, replay_dir=getattr(args, "replay", None),
                       params_dir=_params_dir(args))
    if cfg.replay_dir is not None and not cfg.replay_dir.is_dir():
        raise UsageError(f"snapshot folder not found: {cfg.replay_dir}")
    check_api_key(cfg.llm)  # a key with "\r" or a space: one clear line (exit 2), before any call
    return cfg, params


def _run_one(cfg: Config, params: dict, args: argparse.Namespace) -> int:
    status = calendar.status_for(cfg.date, calendar.now())
    if status == "none":
        print(f"No arXiv announcement is dated {cfg.date} (weekend or arXiv holiday): no post written.")
        if cfg.no_announcement_post:
            from .render import render_no_announcement

            path = cfg.day_dir / cfg.post_name
            reason = "周末" if cfg.date.weekday() >= 5 else "arXiv 节假日"
            atomic_write_text(path, render_no_announcement(cfg.date, cfg.categories, reason))
            print(f"Wrote a short no-announcement post: {path}")
        return 0
    if status == "not_yet" and cfg.replay_dir is None:
        expected = calendar.expected_at(cfg.date)
        if expected is not None and expected - calendar.now() > FUTURE_DATE_SLACK:  # not "retry later": a date no retry will reach soon
            raise UsageError(f"{cfg.date} is in the future: its announcement is expected at "
                             f"{expected:%Y-%m-%d %H:%M %Z}; give a date that has been announced")
        raise errors.NotYetAnnouncedError(
            f"the announcement dated {cfg.date} is not out yet; expected at {expected:%Y-%m-%d %H:%M %Z}")
    from .outcome import run_started

    started, since = time.monotonic(), run_started()
    with run_lock(cfg.out_dir, args.wait):
        try:
            day_dir = execute_day(cfg, params, _params_dir(args), quiet=args.quiet)
        except errors.LLMFatalError:
            _print_summary(cfg, since, started)  # the breaker: no post, but the run's numbers still
            raise
    print(f"Wrote {day_dir / cfg.post_name}, {day_dir / 'report.html'} and {day_dir / 'digest.ipynb'}")
    from .exporters import collect_notes

    for note in collect_notes(day_dir / "digest.ipynb"):  # what a scheduler's log should show too
        print(f"Note: {note}")
    outcome = _print_summary(cfg, since, started)
    if outcome.budget_pending:  # the day's LLM budget stopped the run: incomplete, the rest pending
        line = (f"Incomplete: the day's LLM budget was reached; {outcome.budget_pending} paper(s) left pending "
                "(run the date again with a larger llm.max_cost_per_day / llm.max_tokens_per_day)")
        print(line)
        from .notify import notify_day

        notify_day(cfg, "incomplete", detail=line)
    return outcome.exit_code  # 0 complete or legitimately pending; 3 some task failed; 4 budget reached


def _print_summary(cfg: Config, since: str, started: float):
    """The run's one-line summary, read back from the store (the same numbers the notebook shows)."""
    from .outcome import compute_outcome
    from .store import Store

    with Store(cfg.store_path) as store:
        outcome = compute_outcome(store, cfg.date, since=since, prices=cfg.llm.prices,
                                  seconds=time.monotonic() - started)
    print(f"Summary: {outcome.summary()}")
    return outcome


def cmd_run(args: argparse.Namespace) -> int:
    cfg, params = _load(args, args.date)
    try:
        return _run_one(cfg, params, args)
    except DigestError as exc:
        if exc.exit_code != errors.EXIT_TEMPFAIL:  # "not announced yet" is not a failure to report
            from .notify import notify_day

            notify_day(cfg, "failed", detail=f"digest run failed: {exc}")
        raise


def cmd_backfill(args: argparse.Namespace) -> int:
    start, end = parse_date(args.date_from), parse_date(args.date_to)
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    dates = calendar.mailing_dates(start, end)
    first, _ = _load(args, start)  # validate the parameters before doing anything
    print(f"Backfilling {len(dates)} announcement day(s) from {start} to {end}.")
    if first.no_announcement_post:  # every date, as `digest run` does it: the others get their short post
        dates = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    statuses = []
    for date in dates:  # a day that fails says so in one line; the others still run
        cfg, params = _load(args, date)
        try:
            statuses.append(_run_one(cfg, params, args))
        except errors.LLMFatalError:
            raise  # the endpoint is unusable: the later days would fail the same way
        except DigestError as exc:
            print(f"digest: error: {date}: {exc}", file=sys.stderr)
            statuses.append(exc.exit_code)
    return errors.worst_exit_code(statuses)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from .snapshot import record_day

    cfg, _ = _load(args, args.date)
    folder = Path(args.dir)
    count = record_day(cfg, folder)
    print(f"Recorded the announcement of {cfg.date} ({count} requests) in {folder}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import publish_day

    cfg, _ = _load(args, args.date)
    path = publish_day(cfg, Path(args.site) if args.site else None, push=args.push, wait_seconds=args.wait)
    print(f"Published {path}")
    from .notify import notify_day

    notify_day(cfg, "publish")  # e-mail / webhook; a failure is one line on stderr, never the exit status
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    """What a scheduler calls: the due day, late PDFs of earlier days, publishing (logic in daily.py)."""
    from .daily import run_daily
    from .publish import publish_day
    from .site import push_site

    _load(args, calendar.latest_mailing_date(calendar.now()))  # a bad parameter file: exit 2, nothing written
    site = Path(args.site) if args.site else None
    if site is not None and not site.is_dir():
        raise UsageError(f"Jekyll site folder not found: {site}")
    if args.push and site is None:
        raise UsageError("--push needs --site")
    report = run_daily(
        out_dir=Path(args.out), now=calendar.now(), load=lambda date: _load(args, date),
        run=lambda cfg, params: _run_one(cfg, params, args), site_dir=site,
        publish=(lambda cfg: publish_day(cfg, site)) if site is not None else None,
        push=(lambda: push_site(site)) if args.push else None,
    )
    print(report.summary())
    return report.exit_code


def cmd_review(args: argparse.Namespace) -> int:
    from .review import launch_review

    cfg, _ = _load(args, args.date)
    return launch_review(cfg, port=args.port, allow_root=args.allow_root, params_file=args.params)


def cmd_check(args: argparse.Namespace) -> int:
    """Reachable, key accepted, model found, structured output, context window, latency (logic in check.py)."""
    from .check import check_endpoint

    cfg, _ = _load(args, calendar.now().date())
    if not cfg.llm.configured:
        raise UsageError("no LLM endpoint configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL (see README)")
    lines = check_endpoint(cfg)
    for line in lines:
        print(line.render())
    return errors.EXIT_OK if all(line.ok for line in lines) else errors.EXIT_UNAVAILABLE


def cmd_demo(args: argparse.Namespace) -> int:
    from .sample import SAMPLE_DATE, write_sample_snapshot

    out = Path(args.out)
    snapshot = write_sample_snapshot(out / "sample-snapshot")
    args.replay = str(snapshot)
    args.params = str(DEFAULT_PARAMS_FILE) if Path(DEFAULT_PARAMS_FILE).is_file() else args.params
    cfg, params = _load(args, SAMPLE_DATE)
    print(f"Demo: the bundled sample day {SAMPLE_DATE}, replayed offline"
          f"{'' if cfg.llm.configured else ' with no LLM endpoint (abstracts stay in English, labelled)'}.")
    return _run_one(cfg, params, args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="digest", description="Turn an arXiv announcement day into a Chinese digest post.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser, *, replay: bool = True) -> None:
        p.add_argument("--params", default=str(DEFAULT_PARAMS_FILE), help="parameter file (YAML)")
        p.add_argument("--out", default=None, type=_folder,
                       help="output folder (holds the store and every file a run writes; default: output/ for "
                            "the default parameter file, output/<file name>/ for another, so fields never mix)")
        if replay:
            p.add_argument("--replay", metavar="DIR", help="serve a recorded snapshot instead of the network")
        p.add_argument("--wait", type=_seconds, default=0.0, metavar="SECONDS",
                       help="wait this long for another run of the same --out to finish (default: refuse)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("run", help="make the post, the report and the executed notebook for one date")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="run every announcement day in a range")
    p.add_argument("--from", dest="date_from", required=True, help="first date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="last date, YYYY-MM-DD")
    common(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("snapshot", help="record a day's raw feed, API pages and PDFs for offline replay")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    p.add_argument("dir", type=_folder, help="folder to record into")
    common(p, replay=False)
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("publish", help="write the reviewed post into a Jekyll site's _posts/")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    p.add_argument("--site", help="the Jekyll site folder (the post goes to its _posts/; always to <out>/<date>/)")
    p.add_argument("--push", action="store_true", help="git push the site after committing the post")
    common(p, replay=False)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("daily", help="for a scheduler: run the due announcement, retry late PDFs, publish")
    p.add_argument("--site", help="a Jekyll site folder: write _posts/ there (committed when it is a git repository)")
    p.add_argument("--push", action="store_true", help="git push the site after committing (needs --site)")
    common(p, replay=False)
    p.set_defaults(func=cmd_daily)

    p = sub.add_parser("review", help="open the review notebook for a date in JupyterLab")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    p.add_argument("--port", type=int, default=8888, help="JupyterLab's port on 127.0.0.1 (default 8888)")
    p.add_argument("--allow-root", action="store_true", help="let JupyterLab run as root (e.g. in a container)")
    common(p, replay=False)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("demo", help="run the bundled sample day offline, with no key")
    common(p, replay=False)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("check", help="one tiny request to the configured LLM endpoint; one line per capability")
    common(p, replay=False)
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "out", "") is None:
            args.out = str(default_out_dir(args.params))
        return args.func(args)
    except DigestError as exc:
        print(f"digest: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digest: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # the file system said no: a path through a file, a full disk, no permission
        where = f": {exc.filename}" if exc.filename else ""
        print(f"digest: error: {errors.redact(exc.strerror or str(exc))}{where}", file=sys.stderr)
        return errors.EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
