"""Shared pytest fixtures, and the unit loop's guard.

Two loops: ``make test`` runs everything (``pytest -n 3``); ``make test-fast`` runs ``pytest --unit`` (one
xdist worker per core): the tests not marked ``integration`` or ``jekyll``, none of which may start a
process or a server. Under ``--unit`` a test that starts a process (``subprocess``, ``os.fork``/
``posix_spawn``/``system``, ``multiprocessing``, hence papermill kernels and the PDF extraction pool) or
listens on a socket (the loopback fakes) fails at once, named, with where it asked: such a test belongs in
the integration loop (``@pytest.mark.integration``), or should talk to ``tests.fakes.mock_http`` (an
``httpx.MockTransport``) and call the CLI in process (``tests.fakes.cli``).
"""

from __future__ import annotations

import _posixsubprocess
import os
import platform
import socket
import subprocess
import sysconfig
import threading
import traceback
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Loopback OpenAI-compatible server fixtures (fake_openai_server, fake_openai, fake_openai_no_schema) and
# their in-process MockTransport twins (mock_openai, mock_arxiv).
pytest_plugins = ["tests.fakes.fixtures"]

UNIT_OPTION = "--unit"
SLOW_MARKS = ("integration", "jekyll")


def find_shared_data() -> Path | None:
    """The read-only test data folder: ``../shared/data`` beside this checkout, else ``/work/shared/data``."""
    for candidate in (REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; the test is skipped when it is absent (as on a user's machine)."""
    found = find_shared_data()
    if found is None:
        pytest.skip("shared test data not found (../shared/data or /work/shared/data)")
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(UNIT_OPTION, action="store_true", default=False,
                     help="the unit loop (make test-fast): skip integration/jekyll tests and fail any test "
                          "that starts a process or listens on a socket")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--unit`` the tests marked integration or jekyll are deselected (as ``-m`` would)."""
    if not config.getoption(UNIT_OPTION):
        return
    slow = [item for item in items if any(item.get_closest_marker(mark) for mark in SLOW_MARKS)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        chosen = set(map(id, slow))
        items[:] = [item for item in items if id(item) not in chosen]


class ProcessOrServerInUnitTest(Exception):
    """A unit test started a process or a server. Raised where it was asked for; the guard also fails the
    test when the code under test swallowed it or a thread hit it (each violation is recorded)."""


class UnitGuard:
    """Replaces every way of starting a process, and ``socket.listen``, while a unit test's phase runs."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.violations: list[str] = []
        self.lock = threading.Lock()
        self.saved: list[tuple[Any, str, Any]] = []

    def refuse(self, what: str) -> None:
        message = (f"{self.nodeid} {what} in the unit loop (pytest {UNIT_OPTION}, make test-fast) from "
                   f"{caller()}: mark the test @pytest.mark.integration, or use tests.fakes.mock_http and call "
                   "the code in process")
        with self.lock:
            self.violations.append(message)
        raise ProcessOrServerInUnitTest(message)

    def replace(self, owner: Any, name: str, what: str) -> None:
        if not hasattr(owner, name):
            return
        guard = self

        def refused(*args: Any, **kwargs: Any) -> Any:
            guard.refuse(what)

        self.saved.append((owner, name, vars(owner).get(name, MISSING)))
        setattr(owner, name, refused)

    def install(self) -> None:
        self.replace(subprocess.Popen, "_execute_child", "started a subprocess")
        self.replace(subprocess, "_fork_exec", "started a subprocess")
        self.replace(_posixsubprocess, "fork_exec", "started a process (multiprocessing spawn/forkserver)")
        for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
            self.replace(os, name, f"called os.{name} (a process)")
        self.replace(socket.socket, "listen", "listened on a socket (a server)")

    def uninstall(self) -> list[str]:
        while self.saved:
            owner, name, original = self.saved.pop()
            if original is MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        return self.violations


MISSING = object()
STDLIB = sysconfig.get_paths()["stdlib"]


def caller() -> str:
    """Where the process or server was asked for: the innermost frame outside the standard library."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not frame.filename.startswith(STDLIB) and frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "the standard library"


def pytest_configure(config: pytest.Config) -> None:
    """Under ``--unit``, ask once for what the standard library learns from a process and then caches:
    ``platform.platform()`` runs ``uname -p`` on its first call (the openai SDK asks, once per process)."""
    if config.getoption(UNIT_OPTION):
        platform.platform()


def guarded(item: pytest.Item) -> Generator[None, Any, Any]:
    """One phase (setup, call or teardown) of ``item`` under the guard when ``--unit`` is on. A violation
    fails the test even when the code under test swallowed the exception (or it was raised in a thread)."""
    if not item.config.getoption(UNIT_OPTION):
        return (yield)
    guard = UnitGuard(item.nodeid)
    guard.install()
    try:
        result = yield
    except BaseException as exc:
        failure: BaseException | None = exc
    else:
        failure = None
    violations = guard.uninstall()
    if violations:
        pytest.fail("\n".join(dict.fromkeys(violations)), pytrace=False)
    if failure is not None:
        raise failure
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    return (yield from guarded(item))
