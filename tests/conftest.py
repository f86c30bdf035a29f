"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Loopback OpenAI-compatible server fixtures: fake_openai_server, fake_openai, fake_openai_no_schema.
pytest_plugins = ["tests.fakes.fixtures"]


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
