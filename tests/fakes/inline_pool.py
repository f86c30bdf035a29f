"""An ``ExtractionPool`` stand-in that extracts in the calling thread: full-text tests in the unit loop.

``FulltextFetcher(..., pool=InlinePool())`` downloads through a test's transport and reads the PDF in
process. The real pool's worker processes (and their hard per-call timeout, their crash handling) stay for
the integration loop; an error here comes back as data the way the pool reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from digestlib.base.errors import FulltextError
from digestlib.fulltext.pool import ExtractionResult


class InlinePool:
    def __init__(self) -> None:
        self.closed = False
        self.calls = 0

    def __enter__(self) -> "InlinePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def run(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], timeout: float) -> list[ExtractionResult]:
        """``fn(*args)`` for each call, one after the other (``timeout`` is not enforced in process)."""
        if self.closed:
            raise FulltextError("the extraction pool is closed")
        outcomes = []
        for args in calls:
            self.calls += 1
            try:
                outcomes.append(ExtractionResult("ok", fn(*args)))
            except Exception as exc:  # noqa: BLE001 - the call's own error, reported as data
                outcomes.append(ExtractionResult("error", error=f"{type(exc).__name__}: {str(exc)[:300]}"))
        return outcomes
