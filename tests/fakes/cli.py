"""The ``digest`` command run in the test's own process (the unit loop starts no ``digest`` subprocess).

>>> done = run_digest(["run", "--date", "2026-01-22", "--offline"], monkeypatch, env={"DIGEST_NOW": "..."})
>>> done.returncode, done.stdout, done.stderr

``digestlib.app.cli.main`` with the environment set through ``monkeypatch`` (the project's ``OPENAI_*``,
``ARXIV_*`` and ``DIGEST_*`` variables cleared first, as the subprocess tests clear them), its output
captured, and what ``main`` changes for its own process put back: the SIGTERM handler, the loggers'
levels (``--quiet`` silences ``digestlib``) and the unimportable optional modules of
:func:`digestlib.app.notebook.skip_slow_optional_imports`. A warning logged during the command reaches the
captured stderr as in the ``digest`` process, where nobody configures logging and ``logging.lastResort``
prints it: pytest's handlers leave the root logger while the command runs. The fixture
``digest_cli`` (``tests.fakes.fixtures``) binds ``monkeypatch``. A command that runs the notebook still
starts a kernel, a process: the unit loop's guard fails it, and such a test stays in the integration loop.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from digestlib.app import cli
from digestlib.app.notebook import SLOW_OPTIONAL_IMPORTS

PROJECT_ENV_PREFIXES = ("OPENAI_", "ARXIV_", "DIGEST_")


@dataclass(frozen=True)
class Done:
    """What a ``subprocess.run`` of ``digest`` would have returned."""

    returncode: int
    stdout: str
    stderr: str


def run_digest(args: Sequence[str], monkeypatch: pytest.MonkeyPatch, *, env: Mapping[str, str] | None = None,
               clean_env: bool = True) -> Done:
    """``digest ARGS`` in process: the exit status (``SystemExit`` too, as argparse raises it) and output."""
    if clean_env:
        for name in [n for n in os.environ if n.startswith(PROJECT_ENV_PREFIXES)]:
            monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    for name in SLOW_OPTIONAL_IMPORTS:
        if name not in sys.modules:  # main makes it unimportable; monkeypatch removes that afterwards
            monkeypatch.setitem(sys.modules, name, None)
    stdout, stderr = io.StringIO(), io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    levels = logger_levels()
    root = logging.getLogger()
    pytest_handlers, root.handlers = root.handlers, []
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        root.handlers = pytest_handlers
        signal.signal(signal.SIGTERM, sigterm)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
    return Done(int(code or 0), stdout.getvalue(), stderr.getvalue())


def logger_levels() -> dict[str, int]:
    return {name: logger.level for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger)}
