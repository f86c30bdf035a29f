"""Static check of the library: no unused imports, undefined names or shadowed definitions."""

from __future__ import annotations

from pathlib import Path

from pyflakes.api import checkPath
from pyflakes.reporter import Reporter

ROOT = Path(__file__).resolve().parents[1]


class _Collect(Reporter):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def unexpectedError(self, filename, message):  # noqa: N802 (pyflakes' API)
        self.messages.append(f"{filename}: {message}")

    def syntaxError(self, filename, msg, lineno, offset, text):  # noqa: N802
        self.messages.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message):
        self.messages.append(str(message))


def test_library_is_pyflakes_clean() -> None:
    reporter = _Collect()
    for path in sorted((ROOT / "digestlib").rglob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py")):
        checkPath(str(path), reporter)
    assert reporter.messages == []
