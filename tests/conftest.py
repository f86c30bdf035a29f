"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Loopback OpenAI-compatible server fixtures: fake_openai_server, fake_openai, fake_openai_no_schema.
pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only test data folder (``/work/shared/data`` or ``../shared/data``); skip when absent."""
    for candidate in (Path("/work/shared/data"), REPO_ROOT.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    pytest.skip("shared test data not found (/work/shared/data or ../shared/data)")
