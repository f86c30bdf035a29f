"""The LLM intent log: every call is recorded in the store *before* it is sent and cleared once its
answer is stored (or the call has failed for good).

After a SIGKILL the rows left are exactly the calls that were in flight. Their answers never reached
us, so nothing can be reused: the resumed run sends them again (a provider may bill them twice), and
its notes say how many. Every answer that did arrive was stored in the response cache before its row
was cleared, so it is reused and never paid again. SECURITY.md states this promise.
"""

from __future__ import annotations

from .cache import IntentLog


class Intent:
    """One recorded call; ``end()`` clears it (idempotent)."""

    def __init__(self, log: IntentLog | None, key: str) -> None:
        self._log = log
        self.key = key
        self._open = True

    def end(self) -> None:
        if self._open and self._log is not None:
            self._open = False
            self._log.intent_end(self.key)


def begin_intent(cache: object, key: str, *, day: str, task: str, model: str) -> Intent:
    """Record that the call ``key`` is about to be sent (a no-op for caches without an intent log)."""
    log = cache if isinstance(cache, IntentLog) else None
    if log is not None:
        log.intent_begin(key, day=day, task=task, model=model)
    return Intent(log, key)


def interrupted_note(count: int) -> str:
    return (f"{count} LLM call(s) were in flight when an earlier run was stopped and got no answer; "
            "they are sent again (the provider may bill them twice)")
