"""What the client needs from the store, as protocols, and a content-addressed key for each request.

``LLMCache`` is required (answers and the accounting of every call); ``CapabilityStore`` (what an endpoint
was found to accept, so later runs skip the probing) and ``IntentLog`` (calls in flight, see
``intents.py``) are optional: the client checks for them with ``isinstance`` (the protocols are
runtime-checkable), so a plain cache such as ``MemoryCache`` or the review's fresh cache needs neither.
``store.Store`` implements all three over SQLite.

Must not: know about papers or send anything.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

__all__ = ["CACHE_FORMAT", "CapabilityStore", "IntentLog", "LLMCache", "MemoryCache", "cache_key"]

CACHE_FORMAT = 1  # bump when the cached response layout changes


@runtime_checkable
class LLMCache(Protocol):
    """Answers by key, and the accounting of every call (the report's usage table reads it)."""

    def cache_get(self, key: str) -> dict | None: ...

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None: ...

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None: ...

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None: ...


@runtime_checkable
class CapabilityStore(Protocol):
    """What an endpoint and model were found to accept (structured-output mode, context window, slots)."""

    def capability_get(self, base_url: str, model: str) -> dict[str, str]: ...

    def capability_put(self, base_url: str, model: str, name: str, value: str) -> None: ...


@runtime_checkable
class IntentLog(Protocol):
    """Calls recorded before they are sent and cleared once answered (``intents.py``)."""

    def intent_begin(self, key: str, *, day: str, task: str, model: str) -> None: ...

    def intent_end(self, key: str) -> None: ...


class MemoryCache:
    """A thread-safe in-memory ``LLMCache`` (tests, benchmarks, throw-away runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.failed_calls: list[dict] = []  # HTTP calls without a usable answer (record_failed_call)

    def cache_get(self, key: str) -> dict | None:
        with self._lock:
            entry = self.entries.get(key)
            return json.loads(json.dumps(entry["response"])) if entry else None

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None:
        with self._lock:
            self.entries[key] = {"task": task, "model": model, "response": json.loads(json.dumps(response)),
                                 "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None:
        with self._lock:
            self.calls.append({"day": day, "task": task, "model": model, "prompt_tokens": prompt_tokens,
                               "completion_tokens": completion_tokens, "cached": cached, "seconds": seconds})

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None:
        with self._lock:
            self.failed_calls.append({"day": day, "task": task, "model": model, "status": status,
                                      "cause": cause, "seconds": seconds})


def cache_key(*, task: str, model: str, prompt_version: str, messages: Sequence[Mapping[str, Any]],
              schema: Mapping[str, Any] | None, temperature: float | None, max_tokens: int | None) -> str:
    """Content address of a request: sha256 over everything that shapes the answer."""
    payload = {
        "v": CACHE_FORMAT,
        "task": task,
        "model": model,
        "prompt_version": prompt_version,
        "messages": [{"role": m.get("role"), "content": m.get("content")} for m in messages],
        "schema": schema,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
