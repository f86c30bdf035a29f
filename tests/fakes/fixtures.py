"""pytest fixtures for the fakes: the loopback OpenAI-compatible server, its in-process twins, the CLI.

Wire them with ``pytest_plugins = ["tests.fakes.fixtures"]`` in ``tests/conftest.py`` (or import the names).

* ``fake_openai_server`` (session): one server process for the whole run.
* ``fake_openai`` (function): that server, reset (empty fault queue and log, no delay, json_schema on).
* ``fake_openai_no_schema`` (function): the same server answering 400 to ``json_schema`` requests.
* ``mock_openai`` (function): the same fake in process behind an ``httpx.MockTransport``
  (``tests.fakes.mock_http.MockOpenAI``): give the LLM client ``http_client=mock_openai.http_client()``.
* ``mock_arxiv`` (function): the fake arXiv in process (``MockArxiv``) serving the shared 2026-01-22 mailing,
  clock one hour after its announcement, sample PDFs and HTML: pass ``transport=mock_arxiv.transport``.
* ``digest_cli`` (function): ``run_digest`` of ``tests.fakes.cli`` (the ``digest`` command in process) with
  this test's ``monkeypatch``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Iterator

import pytest

from .cli import Done, run_digest

from .fake_arxiv import sample_html, sample_pdf, shared_mailing_path
from .fake_openai import FakeOpenAI, start_fake_openai
from .mock_http import MockArxiv, MockOpenAI


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


@pytest.fixture
def mock_openai() -> Iterator[MockOpenAI]:
    mock = MockOpenAI()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def mock_arxiv(shared_data: Path) -> Iterator[MockArxiv]:
    path = shared_mailing_path(shared_data)
    if not path.is_file():
        pytest.skip(f"shared mailing data not found: {path}")
    mock = MockArxiv([path], pdf_factory=sample_pdf, html_factory=sample_html)
    try:
        yield mock
    finally:
        mock.stop()
