"""pytest fixtures for the loopback OpenAI-compatible server.

Wire them with ``pytest_plugins = ["tests.fakes.fixtures"]`` in ``tests/conftest.py`` (or import the names).

* ``fake_openai_server`` (session): one server process for the whole run.
* ``fake_openai`` (function): that server, reset (empty fault queue and log, no delay, json_schema on).
* ``fake_openai_no_schema`` (function): the same server answering 400 to ``json_schema`` requests.
* ``digest_cli`` (function): ``run_digest`` of ``tests.fakes.cli`` (the ``digest`` command in process) with
  this test's ``monkeypatch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Iterator

import pytest

from .cli import Done, run_digest
from .fake_openai import FakeOpenAI, start_fake_openai


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    server = start_fake_openai()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset()
    return fake_openai_server


@pytest.fixture
def fake_openai_no_schema(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.reset(no_json_schema=True)
    return fake_openai_server


@pytest.fixture
def digest_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Done]:
    def run(args: list[str], **options) -> Done:
        return run_digest(args, monkeypatch, **options)
    return run
