"""The ``digest`` command: run / backfill / snapshot / publish / review / daily / check / demo.

Owns: parsing the arguments, calling the module that does each command (``run.py`` for a date: validation,
calendar gate, lock, summary, exit status; ``notebook.py`` executes and exports; ``daily.py``,
``publish.py``, ``review/``, ``check.py``, ``source/snapshot``), printing what they report, and mapping
errors to exit statuses: every error is one line on stderr, never a traceback.
Must not: hold logic of its own (a decision here is a decision nobody else can reuse or test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import calendar, errors
from .config import DEFAULT_PARAMS_FILE, Config, default_out_dir, read_now
from .errors import DigestError, UsageError
from .notebook import skip_slow_optional_imports
from .run import backfill, load_run, params_dir_of, run_and_notify, run_date


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


def _load(args: argparse.Namespace, date: dt.date | str) -> tuple[Config, dict]:
    return load_run(args.params, args.out, date, getattr(args, "replay", None))


def _run(args: argparse.Namespace) -> Callable[[Config, dict], int]:
    """``run.run_date`` with this command line's options: what backfill, demo and daily run per date."""
    return lambda cfg, params: run_date(cfg, params, params_dir_of(args.params), wait_seconds=args.wait,
                                        quiet=args.quiet)


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    cfg, params = _load(args, args.date)
    return run_and_notify(cfg, params, params_dir_of(args.params), wait_seconds=args.wait, quiet=args.quiet)


def cmd_backfill(args: argparse.Namespace) -> int:
    return backfill(args.date_from, args.date_to, load=lambda date: _load(args, date), run=_run(args),
                    warn=_warn)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from .source.snapshot import record_day

    cfg, _ = _load(args, args.date)
    folder = Path(args.dir)
    count = record_day(cfg, folder)
    print(f"Recorded the announcement of {cfg.date} ({count} requests) in {folder}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import publish

    cfg, _ = _load(args, args.date)
    print(publish(cfg, Path(args.site) if args.site else None, push=args.push, wait_seconds=args.wait).message())
    from .notify import notify_day

    notify_day(cfg, "publish")  # e-mail / webhook; a failure is one line on stderr, never the exit status
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    """What a scheduler calls: the due day, late PDFs of earlier days, publishing (logic in daily.py)."""
    from .daily import run_daily
    from .publish import publish_day
    from .site import push_site

    now = read_now()
    _load(args, calendar.latest_mailing_date(now))  # a bad parameter file: exit 2, nothing written
    site = Path(args.site) if args.site else None
    if site is not None:
        from .site import require_jekyll_site

        require_jekyll_site(site)
    if args.push and site is None:
        raise UsageError("--push needs --site")
    report = run_daily(
        out_dir=Path(args.out), now=now, load=lambda date: _load(args, date), run=_run(args), site_dir=site,
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

    cfg, _ = _load(args, read_now().date())
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
    return _run(args)(cfg, params)


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
    skip_slow_optional_imports()  # about 1 s of start-up for every command that reads a notebook
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
