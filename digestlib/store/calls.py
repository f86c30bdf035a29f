"""Queries behind the LLM client (``llm.LLMCache`` protocol): the response cache, the accounting of calls
answered and failed, what an endpoint can do, and the intent log of calls in flight."""

from __future__ import annotations

import json
from ..base.errors import redact
from .connection import SqlValue, StoreConnection
from .rows import timestamp


class CallQueries(StoreConnection):
    """The LLM's cache and books: nothing is paid twice, and every request sent is counted."""

    def cache_get(self, key: str) -> dict | None:
        rows = self._query("SELECT response FROM llm_cache WHERE key=?", (key,))
        return json.loads(rows[0]["response"]) if rows else None

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None:
        self._execute("INSERT OR REPLACE INTO llm_cache VALUES (?,?,?,?,?,?,?)",
                      (key, task, model, redact(json.dumps(response, ensure_ascii=False)), prompt_tokens,  # a model may echo a key
                       completion_tokens, timestamp()))

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None:
        self._execute("INSERT INTO llm_calls (day, task, model, prompt_tokens, completion_tokens, cached, seconds, at)"
                      " VALUES (?,?,?,?,?,?,?,?)",
                      (day, task, model, prompt_tokens, completion_tokens, int(cached), seconds, timestamp()))

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None:
        """An HTTP call that got no usable answer (llm.LLMClient's hook): kept apart from ``llm_calls``,
        whose rows are the answers received (tokens, budget, cache hits)."""
        self._execute("INSERT INTO llm_failed_calls (day, task, model, status, cause, seconds, at)"
                      " VALUES (?,?,?,?,?,?,?)", (day, task, model, status, redact(cause)[:200], seconds, timestamp()))

    def failed_call_rows(self, day: str | None = None) -> list[dict[str, SqlValue]]:
        """Per task, model and status: how many calls failed, the time they took, and the last cause."""
        where, params = ("WHERE day=?", (day,)) if day else ("", ())
        rows = self._query(
            f"""SELECT task, model, status, COUNT(*) AS calls, SUM(seconds) AS seconds,
                (SELECT f2.cause FROM llm_failed_calls f2 WHERE f2.task=f.task AND f2.model=f.model
                 AND f2.status=f.status {'AND f2.day=f.day' if day else ''} ORDER BY f2.id DESC LIMIT 1) AS cause
                FROM llm_failed_calls f {where.replace('day', 'f.day')} GROUP BY task, model, status
                ORDER BY task, model, status""",
            params,
        )
        return [dict(r) for r in rows]

    def paid_calls_since(self, since: str) -> list[dict[str, SqlValue]]:
        """Per model: HTTP calls (cache hits excluded) and their tokens, recorded at or after ``since``."""
        rows = self._query("SELECT model, COUNT(*) AS calls, SUM(prompt_tokens) AS prompt_tokens, "
                           "SUM(completion_tokens) AS completion_tokens FROM llm_calls WHERE cached=0 AND at>=? "
                           "GROUP BY model", (since,))
        return [dict(r) for r in rows]

    def failed_calls_since(self, since: str) -> int:
        """HTTP requests to the LLM that failed (an error status, a timeout, an unreadable answer, a connection
        dropped mid-answer) at or after ``since``: with ``paid_calls_since`` every request sent. A refused
        connection ("unreachable") sent no request and is not counted."""
        rows = self._query("SELECT COUNT(*) AS n FROM llm_failed_calls WHERE at>=? AND status!='unreachable'",
                           (since,))
        return int(rows[0]["n"]) if rows else 0

    # -- what an endpoint can do (found once, remembered across runs; llm.LLMCache protocol) ---------
    def capability_get(self, base_url: str, model: str) -> dict[str, str]:
        rows = self._query("SELECT name, value FROM llm_capabilities WHERE base_url=? AND model=?", (base_url, model))
        return {r["name"]: r["value"] for r in rows}

    def capability_put(self, base_url: str, model: str, name: str, value: str) -> None:
        self._execute("INSERT OR REPLACE INTO llm_capabilities VALUES (?,?,?,?,?)",
                      (base_url, model, name, str(value), timestamp()))

    def usage_rows(self, day: str | None = None) -> list[dict[str, SqlValue]]:
        """Per task and model: calls (cache hits included), cache hits, and the tokens actually paid for."""
        where, params = ("WHERE day=?", (day,)) if day else ("", ())
        rows = self._query(
            f"""SELECT task, model, COUNT(*) AS calls, SUM(cached) AS cached_calls,
                SUM(CASE WHEN cached=0 THEN prompt_tokens ELSE 0 END) AS prompt_tokens,
                SUM(CASE WHEN cached=0 THEN completion_tokens ELSE 0 END) AS completion_tokens,
                SUM(seconds) AS seconds
                FROM llm_calls {where} GROUP BY task, model ORDER BY task, model""",
            params,
        )
        return [dict(r) for r in rows]

    # -- the LLM intent log (intents.py): calls in flight, recorded before they are sent -------------
    def intent_begin(self, key: str, *, day: str, task: str, model: str) -> None:
        self._execute("INSERT OR REPLACE INTO llm_intents VALUES (?,?,?,?,?)", (key, day, task, model, timestamp()))

    def intent_end(self, key: str) -> None:
        self._execute("DELETE FROM llm_intents WHERE key=?", (key,))

    def take_interrupted_intents(self) -> list[dict[str, SqlValue]]:
        """Calls a killed run left in flight with no stored answer (they will be sent again); clears the log.
        Call at the start of a run, under the run lock (no other run can have calls in flight)."""
        with self.transaction():
            rows = self._query("SELECT i.* FROM llm_intents i LEFT JOIN llm_cache c ON c.key=i.key "
                               "WHERE c.key IS NULL ORDER BY i.sent_at")
            self._execute("DELETE FROM llm_intents")
        return [dict(r) for r in rows]

