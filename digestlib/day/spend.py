"""The day's LLM budget (``llm.max_cost_per_day``, ``llm.max_tokens_per_day``), checked before each call.

The pipeline asks :meth:`Budget.reserve` before each LLM task. The answer comes from the store's call
accounting (the tokens the day has paid for so far, over every run of that date, priced with
``llm.prices``) plus what the calls in flight are expected to cost. When the next call would pass a cap,
the budget *stops*: from then on every reservation is refused, so the run stops calling, leaves the rest
pending (labelled in the post), says so in its summary, and exits with ``EXIT_INCOMPLETE`` (4). A later
run of the same date with a larger budget continues where this one stopped; what was paid is in the store
and the response cache, so nothing is asked twice.

A call's cost is estimated before it is made: its prompt is counted with the tokenizer (plus the
instructions' overhead) and its answer is taken
to be as long as the task's answers have been so far (a conservative default before the first answer).

``estimate_cost`` (tokens priced with ``llm.prices``) is ``llm/pricing.py``'s, re-exported here; importing
it loads neither the LLM client nor the openai package.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol

from ..base.config import LLMSettings
from ..base.errors import ConfigError
from ..llm.pricing import estimate_cost

__all__ = ["Budget", "Reservation", "Spend", "estimate_cost"]


# Before the first answer of a task is seen: tokens of instructions around the paper text, and the answer.
DEFAULT_PROMPT_OVERHEAD = 800
DEFAULT_COMPLETION = {"translate": 600, "interpret": 1500}


@dataclass(frozen=True)
class Spend:
    """Tokens paid for and their estimated cost (``cost`` is None when nothing is priced)."""

    tokens: int
    cost: float | None
    calls: int = 0


@dataclass(frozen=True)
class Reservation:
    task: str
    tokens: int
    cost: float


UsageRow = Mapping[str, int | float | str | None]  # model, prompt/completion tokens, calls, cached calls


class UsageSource(Protocol):
    """What the budget reads of the store (``store.Store.usage_rows``)."""

    def usage_rows(self, day: str) -> Iterable[UsageRow]: ...


class Budget:
    """Thread-safe gate over the day's spend. ``store`` needs ``usage_rows(day)`` (see ``store.Store``)."""

    def __init__(self, settings: LLMSettings, store: UsageSource, day: str) -> None:
        self.settings, self.store, self.day = settings, store, day
        self.max_cost = float(settings.max_cost_per_day or 0.0)
        self.max_tokens = int(settings.max_tokens_per_day or 0)
        self._lock = threading.Lock()
        self._in_flight: dict[int, Reservation] = {}
        self._next = 0
        self.stopped_reason: str | None = None  # set once: the run then makes no more calls
        self.refused = 0  # tasks refused since the stop
        if self.max_cost:
            for task in ("translate", "interpret"):
                model = settings.model_for(task)
                if estimate_cost(model, 1_000_000, 1_000_000, settings.prices) is None:
                    raise ConfigError(f"llm.max_cost_per_day needs a price for model {model!r} in llm.prices")

    @property
    def active(self) -> bool:
        return bool(self.max_cost or self.max_tokens)

    @property
    def stopped(self) -> bool:
        return self.stopped_reason is not None

    # -- the store's accounting ----------------------------------------------------------------------
    def _rows(self) -> list[UsageRow]:
        return list(self.store.usage_rows(self.day))

    def spent(self) -> Spend:
        """What the day has paid for so far (cache hits are free and not counted)."""
        tokens, costs, calls = 0, [], 0
        for row in self._rows():
            prompt, completion = int(row.get("prompt_tokens") or 0), int(row.get("completion_tokens") or 0)
            tokens += prompt + completion
            calls += int(row.get("calls") or 0) - int(row.get("cached_calls") or 0)
            cost = estimate_cost(str(row.get("model") or ""), prompt, completion, self.settings.prices)
            if cost is not None:
                costs.append(cost)
        return Spend(tokens, round(sum(costs), 6) if costs else None, calls)

    def _observed(self, task: str) -> tuple[float | None, float | None]:
        """Mean prompt and completion tokens of the task's paid calls today (None before the first)."""
        for row in self._rows():
            paid = int(row.get("calls") or 0) - int(row.get("cached_calls") or 0)
            if row.get("task") == task and paid > 0:
                return int(row.get("prompt_tokens") or 0) / paid, int(row.get("completion_tokens") or 0) / paid
        return None, None

    # -- the gate ----------------------------------------------------------------------------------
    def estimate(self, task: str, input_tokens: int) -> tuple[int, int]:
        """(prompt, completion) tokens the next call of ``task`` with ``input_tokens`` of paper text will use."""
        _, mean_completion = self._observed(task)
        prompt = input_tokens + DEFAULT_PROMPT_OVERHEAD
        completion = int(mean_completion) if mean_completion else DEFAULT_COMPLETION.get(task, 1000)
        return prompt, min(completion, self.settings.max_output_tokens)

    def reserve(self, task: str, input_tokens: int) -> int | None:
        """A ticket for one call of ``task``, or None when it would pass a cap (the budget then stops)."""
        if not self.active:
            return -1
        prompt, completion = self.estimate(task, input_tokens)
        model = self.settings.model_for(task)
        cost = estimate_cost(model, prompt, completion, self.settings.prices) or 0.0
        with self._lock:
            if self.stopped:
                self.refused += 1
                return None
            spent = self.spent()
            pending_tokens = sum(r.tokens for r in self._in_flight.values())
            pending_cost = sum(r.cost for r in self._in_flight.values())
            if self.max_tokens and spent.tokens + pending_tokens + prompt + completion > self.max_tokens:
                self.stopped_reason = (f"the next call would pass llm.max_tokens_per_day ({self.max_tokens:,} tokens;"
                                       f" {spent.tokens:,} spent)")
            elif self.max_cost and (spent.cost or 0.0) + pending_cost + cost > self.max_cost:
                self.stopped_reason = (f"the next call would pass llm.max_cost_per_day ({self.max_cost:g};"
                                       f" {spent.cost or 0.0:.4f} spent)")
            if self.stopped:
                self.refused += 1
                return None
            self._next += 1
            self._in_flight[self._next] = Reservation(task, prompt + completion, cost)
            return self._next

    def release(self, ticket: int | None) -> None:
        """The call is over: its real usage is in the store now."""
        if ticket is None or ticket < 0:
            return
        with self._lock:
            self._in_flight.pop(ticket, None)

    def summary(self) -> str:
        """``spend against the budget`` for the report: e.g. ``$0.0123 of $0.05, 41,200 of 100,000 tokens``."""
        spent = self.spent()
        parts = []
        if self.max_cost:
            parts.append(f"cost {spent.cost or 0.0:.4f} of {self.max_cost:g}")
        if self.max_tokens:
            parts.append(f"{spent.tokens:,} of {self.max_tokens:,} tokens")
        return "; ".join(parts) if parts else "no budget set"
