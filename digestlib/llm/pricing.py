"""What tokens cost (``llm.prices``, USD per 1M tokens) and the client's running usage counters.

``estimate_cost`` is here, in a module that imports nothing heavy, so that what only reads a day's costs
(the summary line, the report, ``day/spend.py``) does not load the client or the openai package
(``digestlib.llm`` loads its modules lazily; tests/test_startup.py checks it).

Must not: send anything or know about papers.
"""

from __future__ import annotations

import threading
from typing import Mapping

__all__ = ["USAGE_COUNTERS", "Usage", "estimate_cost"]


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int,
                  prices: Mapping[str, Mapping[str, float]]) -> float | None:
    """USD for the tokens at ``prices`` (model -> {prompt, completion} per 1M tokens).

    An exact model name wins, then the longest listed prefix (``gpt-4o-mini-2024-07-18`` is priced as
    ``gpt-4o-mini``); ``None`` when the model has no price.
    """
    table = prices.get(model)
    if table is None:
        candidates = [name for name in prices if model.startswith(name)]
        if not candidates:
            return None
        table = prices[max(candidates, key=len)]
    return (prompt_tokens * float(table.get("prompt", 0.0))
            + completion_tokens * float(table.get("completion", 0.0))) / 1_000_000


USAGE_COUNTERS = ("http_calls", "cache_hits", "retries", "errors", "prompt_tokens", "completion_tokens",
                  "fallbacks", "timeouts", "truncated_tokens", "truncation_retries_refused")


class Usage:
    """Thread-safe counters of one client's run (``LLMClient.stats``): calls, hits, retries, tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(USAGE_COUNTERS, 0)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
