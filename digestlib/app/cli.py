"""The ``digest`` command: run / backfill / snapshot / publish / review / daily / weekly / check / demo / site init.

Owns: parsing the arguments, calling the module that does each command (``one_date.py`` for a date:
validation, calendar gate, lock, summary, exit status; ``notebook.py`` executes and exports; ``daily.py``,
``publish.py``, ``review/``, ``check.py``, ``source/snapshot``), printing what they report, and mapping
errors to exit statuses: every error is one line on stderr, never a traceback.
Must not: hold logic of its own (a decision here is a decision nobody else can reuse or test).

The one lazy place: the commands whose modules pull in a heavy library at import (``weekly`` and
``check``: openai through the LLM client; ``review``: ipywidgets and JupyterLab) are loaded with
``lazy_loader`` on first use, so that ``digest --help`` and every other command start without them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, Sequence

import lazy_loader as lazy

from ..base import calendar, errors
from ..base.config import DEFAULT_PARAMS_FILE, Config, default_out_dir, read_now
from ..base.errors import DigestError, UsageError
from ..fulltext.recording import record_day
from ..store.store import Store
from .daily import catch_up
from .demo import SAMPLE_DATE, write_sample_snapshot
from .notebook import skip_slow_optional_imports
from ..base.redaction import install_log_redaction
from .notify import notify_day
from .one_date import backfill, digest_date, digest_date_notifying, load_date, params_dir_of, require_endpoint
from .publish import publish, publish_day
from .replay_llm import ReplayServer
from .site import push_site, require_jekyll_site
from .site_pages import init_site, jekyll_build, preview_day

# the one lazy place (module docstring): heavy at import, loaded when their command runs
check = lazy.load("digestlib.app.check", suppress_warning=True)
review = lazy.load("digestlib.review", suppress_warning=True)
weekly = lazy.load("digestlib.app.weekly", suppress_warning=True)


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


def _port(value: str) -> int:
    """An argparse type: a TCP port, 1-65535."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {value!r}")
    return port


def _load(args: argparse.Namespace, date: dt.date | str) -> tuple[Config, dict]:
    return load_date(args.params, args.out, date, getattr(args, "replay", None))


def _date_runner(args: argparse.Namespace) -> Callable[[Config, dict], int]:
    """``one_date.digest_date`` with this command line's options: what backfill, demo and daily run per date."""
    return lambda cfg, params: digest_date(cfg, params, params_dir_of(args.params), wait_seconds=args.wait,
                                        quiet=args.quiet, offline=getattr(args, "offline", None))


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    cfg, params = _load(args, args.date)
    return digest_date_notifying(cfg, params, params_dir_of(args.params), wait_seconds=args.wait,
                                 quiet=args.quiet, offline=args.offline)


def cmd_backfill(args: argparse.Namespace) -> int:
    return backfill(args.date_from, args.date_to, load=lambda date: _load(args, date), run=_date_runner(args),
                    warn=_warn)


def cmd_snapshot(args: argparse.Namespace) -> int:
    cfg, _ = _load(args, args.date)
    folder = Path(args.dir)
    if args.quiet:  # no retry lines either: only the result, or the error
        logging.getLogger("digestlib").setLevel(logging.ERROR)
    created = not folder.exists()
    try:
        count = record_day(cfg, folder)
    except BaseException:
        if created:  # a failed snapshot leaves nothing behind (a folder the user had is left as it was)
            shutil.rmtree(folder, ignore_errors=True)
        raise
    print(f"Recorded the announcement of {cfg.date} ({count} requests) in {folder}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    cfg, _ = _load(args, args.date)
    print(publish(cfg, Path(args.site) if args.site else None, push=args.push, wait_seconds=args.wait).message())
    notify_day(cfg, "publish")  # e-mail / webhook; a failure is one line on stderr, never the exit status
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    """What a scheduler calls: the due day, late PDFs of earlier days, publishing (logic in daily.py)."""
    now = read_now()
    cfg, _ = _load(args, calendar.latest_mailing_date(now))  # a bad parameter file: exit 2, nothing written
    require_endpoint(cfg, args.offline)
    site = Path(args.site) if args.site else None
    if site is not None:
        require_jekyll_site(site)
    if args.push and site is None:
        raise UsageError("--push needs --site")
    report = catch_up(
        out_dir=Path(args.out), now=now, load=lambda date: _load(args, date), run=_date_runner(args), site_dir=site,
        publish=(lambda cfg: publish_day(cfg, site)) if site is not None else None,
        push=(lambda: push_site(site)) if args.push else None,
        weekly=lambda week: _weekly(args, week, site),
    )
    print(report.summary())
    return report.exit_code


def cmd_weekly(args: argparse.Namespace) -> int:
    """The week's post from the store (logic in weekly.py); no LLM call."""
    site = Path(args.site) if args.site else None
    done = weekly.write_weekly(args.week, lambda date: _load(args, date)[0], site, push=args.push)
    print(f"{'Wrote' if done.changed else 'Unchanged:'} {done.path} ({done.week.paper_count} papers, "
          f"{len(done.week.days)} days)")
    if done.overview_problem:  # the post is out, without the overview asked for: say so, exit 3
        _warn(f"digest: the weekly overview is missing: {done.overview_problem}; run the command again to retry")
        return errors.EXIT_TASKS_FAILED
    return 0


def _weekly(args: argparse.Namespace, week: str, site: Path | None) -> tuple[Path, bool]:
    done = weekly.write_weekly(week, lambda date: _load(args, date)[0], site)
    if done.overview_problem:
        _warn(f"digest: {week}: the weekly overview is missing: {done.overview_problem}")
    return done.path, done.changed


def cmd_review(args: argparse.Namespace) -> int:
    cfg, _ = _load(args, args.date)
    return review.launch_review(cfg, port=args.port, allow_root=args.allow_root, params_file=args.params)


def cmd_check(args: argparse.Namespace) -> int:
    """Reachable, key accepted, model found, structured output, context window, latency (logic in check.py)."""
    cfg, _ = _load(args, read_now().date())
    if not cfg.llm.configured:
        raise UsageError("no LLM endpoint configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL (see README)")
    lines = check.check_endpoint(cfg)
    for line in lines:
        print(line.render())
    return errors.EXIT_OK if all(line.ok for line in lines) else errors.EXIT_UNAVAILABLE


def cmd_demo(args: argparse.Namespace) -> int:
    """The sample day through the real pipeline: arXiv from a snapshot, the model from recorded answers
    (replay_llm.py, a loopback server), then a local preview site built when Jekyll is there."""
    out = Path(args.out)
    snapshot = write_sample_snapshot(out / "sample-snapshot")
    args.replay = str(snapshot)
    args.params = str(DEFAULT_PARAMS_FILE) if Path(DEFAULT_PARAMS_FILE).is_file() else args.params
    with ReplayServer() as replay:
        # the kernel papermill starts inherits this process's environment: point its LLM client at the replay
        names = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DIGEST_MODEL")
        saved = {name: os.environ.get(name) for name in names}
        os.environ.update(OPENAI_BASE_URL=replay.base_url, OPENAI_API_KEY="recorded-answers",
                          DIGEST_MODEL=replay.recorded.model)
        try:
            cfg, params = _load(args, SAMPLE_DATE)
            print(f"Demo: the bundled sample day {SAMPLE_DATE}, arXiv replayed from a snapshot and the model's "
                  f"answers replayed from recordings (model {replay.recorded.model!r}; no key, no network).")
            status = _date_runner(args)(cfg, params)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        print(f"Recorded answers served: {len(replay.served)} "
              f"({sum(s.startswith('translate') for s in replay.served)} translations, "
              f"{sum(s.startswith('interpret') for s in replay.served)} interpretations; "
              "the rest came from the store's cache)")
    site = out / "demo-site"
    with Store(cfg.store_path) as store:
        preview_day(cfg, store, site)
    built, log = jekyll_build(site, site / "_site")
    if built:
        print(f"Preview site: {site}/_site (built by Jekyll). Look at it with "
              f"`jekyll serve --source {site} --destination {site}/_site` and open http://127.0.0.1:4000/")
    else:
        print(f"Preview site written to {site} but not built: {log}")
    return status


def cmd_site_init(args: argparse.Namespace) -> int:
    """A Jekyll site GitHub Pages builds as it is (logic in site_pages.py); files that exist are kept."""
    cfg, _ = _load(args, read_now().date())
    site = Path(args.dir)
    done = init_site(site, cfg.categories, with_for_you=cfg.interests.configured)
    kept = f"; kept {len(done.kept)} that already existed, unchanged" if done.kept else ""
    print(f"Site in {site}: wrote {len(done.written)} file(s){kept}.")
    print(f"Publish a day into it with `digest publish --date YYYY-MM-DD --site {site}`; "
          f"look at it with `jekyll serve --source {site}` (or push it to GitHub: README, \"A site on GitHub Pages\").")
    return 0


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

    def offline_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--offline", action="store_true",
                       help="no LLM endpoint: write the post with the abstracts in English, labelled "
                            "(without this flag a missing endpoint is an error, exit 2)")

    p = sub.add_parser("run", help="make the post, the report and the executed notebook for one date")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    common(p)
    offline_flag(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="run every announcement day in a range")
    p.add_argument("--from", dest="date_from", required=True, help="first date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="last date, YYYY-MM-DD")
    common(p)
    offline_flag(p)
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
    offline_flag(p)
    p.set_defaults(func=cmd_daily)

    p = sub.add_parser("weekly", help="write the week's post from the stored days (no LLM call)")
    p.add_argument("--week", required=True, help="the ISO week, YYYY-Www (e.g. 2026-W04)")
    p.add_argument("--site", help="a Jekyll site folder: write _posts/ there (links follow its permalink style)")
    p.add_argument("--push", action="store_true", help="git push the site after committing (needs --site)")
    common(p, replay=False)
    p.set_defaults(func=cmd_weekly)

    p = sub.add_parser("review", help="open the review notebook for a date in JupyterLab")
    p.add_argument("--date", required=True, help="the announcement date, YYYY-MM-DD")
    p.add_argument("--port", type=_port, default=8888, help="JupyterLab's port on 127.0.0.1 (default 8888)")
    p.add_argument("--allow-root", action="store_true", help="let JupyterLab run as root (e.g. in a container)")
    common(p, replay=False)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("demo", help="run the bundled sample day offline, with no key")
    common(p, replay=False)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("site", help="make a Jekyll site for the posts (GitHub Pages builds it as it is)")
    site_sub = p.add_subparsers(dest="site_command", required=True, parser_class=_Parser)
    p = site_sub.add_parser("init", help="write the site's layouts, pages, search and feed into DIR (keeps existing files)")
    p.add_argument("dir", type=_folder, help="the site folder (created if missing)")
    p.add_argument("--params", default=str(DEFAULT_PARAMS_FILE), help="parameter file (its categories get a page each)")
    p.set_defaults(func=cmd_site_init, out=str(default_out_dir(DEFAULT_PARAMS_FILE)), replay=None)

    p = sub.add_parser("check", help="one tiny request to the configured LLM endpoint; one line per capability")
    common(p, replay=False)
    p.set_defaults(func=cmd_check)
    return parser


class _Terminated(BaseException):
    """SIGTERM (a scheduler's timeout, systemd stopping the unit): unwinds like Ctrl-C, so that locks are
    released and half-written files removed on the way out (raised by ``_on_sigterm`` only)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    skip_slow_optional_imports()  # about 1 s of start-up for every command that reads a notebook
    install_log_redaction()  # what any library logs is redacted too
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    args = None
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
    except _Terminated:
        out = getattr(args, "out", None)
        kept = f" (the store in {out})" if out else ""
        print(f"digest: terminated (SIGTERM); everything finished so far is kept{kept}, nothing half-written "
              "is published; run the same command again to resume", file=sys.stderr)
        return 128 + signal.SIGTERM
    except OSError as exc:  # the file system said no: a path through a file, a full disk, no permission
        where = f": {exc.filename}" if exc.filename else ""
        print(f"digest: error: {errors.redact(exc.strerror or str(exc))}{where}", file=sys.stderr)
        return errors.EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
