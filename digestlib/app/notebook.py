"""Executing the day's notebook and exporting it: papermill runs ``notebooks/daily_digest.ipynb`` for one
date into a staging folder, nbconvert's exporters write the post and the report, and the files are moved
into ``<out>/<date>/`` atomically (readers see the old files or the new ones, never half of them).

Owns: the notebook's path and parameters, mapping an error raised inside the kernel back to our error
class, the one redaction pass over everything written, the staging folder and the final move.
Must not: decide whether a date should run (calendar, locks: ``one_date.py``), or print anything.

Heavy libraries, loaded lazily so that ``digest --help`` and the commands that never run a notebook start
without them: papermill with ``lazy_loader``; nbconvert's exporters (``post.exporters``) in a background
thread while the kernel runs (:func:`execute_day`), then taken from ``importlib`` once it is done.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import lazy_loader as lazy

from ..base import errors
from ..base.atomic import atomic_write_text, umask
from ..base.config import Config
from ..base.errors import DigestError
from ..base.redaction import redact_file
from ..post.bibtex import bib_name, write_run_bib
from ..post.render import draft_post
from ..post.view import read_day
from ..store.store import Store

pm = lazy.load("papermill")
EXPORTERS = "digestlib.post.exporters"  # nbconvert: loaded in a thread while the kernel runs

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "daily_digest.ipynb"


# jsonschema's "iri" format checker imports rfc3987-syntax, which compiles ~35 Earley parsers at import
# time: about 1 s of CPU in every process that imports nbformat (papermill, nbconvert), for a format no
# notebook schema uses (jsonschema#1428, opendatahub-io/notebooks#3532). jupyter-events requires
# jsonschema[format-nongpl], so the package is always installed.
SLOW_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make ``SLOW_OPTIONAL_IMPORTS`` unimportable in this process (jsonschema then leaves "iri" unchecked).

    For the ``digest`` command only, which owns its process: a library must not change what another
    program importing it can import. A module already imported is left alone."""
    for name in SLOW_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type] - None makes "import name" fail


KERNEL_ARGUMENTS = (
    # The kernel app's own messages are not the user's business (start-up warnings, and the
    # "KeyboardInterrupt caught in kernel" that jupyter_client's interrupt-then-shutdown can cause): the
    # notebook's own errors come back through papermill, as one line.
    "--IPKernelApp.log_level=CRITICAL",
)
# How the kernel ends once every cell has run: killed with its process group at once, not asked to shut
# down. Asked, ipykernel first terminates its child processes, SIGTERM then SIGKILL with growing pauses,
# and multiprocessing's resource tracker (a child of the kernel once the extraction pool has run, like
# the pool's forkserver) ignores SIGTERM: jupyter_client then waited 2.5 s and killed the kernel anyway,
# on every run that extracted a PDF. Nothing in the notebook needs the kernel's exit hooks: every file and
# the store are closed by the cells themselves.
KERNEL_SHUTDOWN = "immediate"


def notebook_path() -> Path:
    """The daily notebook; a clear error when the checkout lacks it."""
    if NOTEBOOK.is_file():
        return NOTEBOOK
    raise DigestError(f"the notebook {NOTEBOOK} is missing (is this a complete checkout?)")


def notebook_parameters(cfg: Config, params: dict, params_dir: Path) -> dict:
    """What papermill injects: the run's paths and the parameter file's values (never a secret)."""
    return {
        "date": cfg.date.isoformat(),
        "out_dir": str(cfg.out_dir),
        "replay_dir": str(cfg.replay_dir) if cfg.replay_dir else None,
        "params_dir": str(params_dir),
        **params,
    }


def kernel_error(exc: Exception) -> DigestError:
    """Map an exception raised inside the notebook back to our error class (and exit status)."""
    ename = getattr(exc, "ename", "")
    evalue = getattr(exc, "evalue", "") or str(exc)
    cls = getattr(errors, ename, None)
    if isinstance(cls, type) and issubclass(cls, DigestError):
        return cls(evalue)
    return DigestError(f"the notebook failed: {ename or exc.__class__.__name__}: {evalue}".strip())


def sweep_stale(out_dir: Path, day_dir: Path) -> None:
    """Remove what a killed run left behind: staging folders, half-written files (only under the run lock)."""
    for path in out_dir.glob(".????-??-??-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    if day_dir.is_dir():
        for path in day_dir.glob(".*.tmp"):
            path.unlink(missing_ok=True)


def execute_day(cfg: Config, store: Store, params: dict, params_dir: Path, *,
                quiet: bool = False) -> tuple[Path, list[str]]:
    """papermill + exporters into a temporary folder, then move the files into ``<out>/<date>/``
    (the folder itself the first time, so that its files appear together). Called under the run lock, with
    the command's open store (the .bib is made from the day it holds once the kernel has written it).
    Returns the day's folder and the run's notes (from the executed notebook)."""
    run_notebook = pm.execute_notebook  # papermill loads here, before the thread below imports jupyter_client too
    # nbconvert's exporters are needed once the kernel is done; this process only waits on it meanwhile
    threading.Thread(target=importlib.import_module, args=(EXPORTERS,), name="load-exporters",
                     daemon=True).start()
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    sweep_stale(cfg.out_dir, cfg.day_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{cfg.date}-", dir=cfg.out_dir))
    try:
        executed = staging / "digest.ipynb"
        try:
            # The kernel's stderr (the pipeline's tqdm bars) is relayed live to this terminal.
            run_notebook(
                str(notebook_path()), str(executed), parameters=notebook_parameters(cfg, params, params_dir),
                kernel_name="python3", progress_bar=not quiet, log_output=False,
                stderr_file=None if quiet else sys.stderr, cwd=str(Path.cwd()),
                extra_arguments=list(KERNEL_ARGUMENTS), shutdown_kernel=KERNEL_SHUTDOWN,
            )
        except pm.PapermillExecutionError as exc:
            raise kernel_error(exc) from None
        except pm.exceptions.PapermillException as exc:
            raise DigestError(f"papermill could not run the notebook: {exc}") from None
        exporters = importlib.import_module(EXPORTERS)  # loaded meanwhile by the thread above

        # One redaction step for every output: the key, key-shaped tokens, URL credentials.
        redact_file(executed)
        post = draft_post(errors.redact(exporters.export_post(executed)), cfg.date)  # a draft until `digest publish`
        atomic_write_text(staging / cfg.post_name, post)
        # report.html: written by one_date.py with report.write_report once the run's outcome is known (issue 24:
        # one report for run, publish and review, opening with the summary line the command prints)
        write_run_bib(read_day(cfg, store).day, staging)  # <date>.bib: one entry per paper shown, linked from the post
        notes = exporters.collect_notes(executed)
        day_dir = cfg.day_dir
        if not day_dir.exists():  # the first time, the folder appears with its files at once
            os.chmod(staging, 0o777 & ~umask())  # mkdtemp made it 0700
            os.rename(staging, day_dir)
        else:  # a re-run replaces each file whole: readers see the old file or the new one
            for name in (cfg.post_name, "digest.ipynb", bib_name(cfg.date)):
                os.replace(staging / name, day_dir / name)
        return day_dir, notes
    finally:
        shutil.rmtree(staging, ignore_errors=True)
