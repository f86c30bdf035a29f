"""Debian's Chromium driven by Playwright, for the browser tests (review UI, site, math): one launcher."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from typing import Iterator

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@contextmanager
def system_chromium() -> Iterator[object]:
    """A Playwright browser on the system's ``chromium`` (no browser download); the test is skipped when
    Playwright or Chromium is missing (``make system-deps`` installs Chromium)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
