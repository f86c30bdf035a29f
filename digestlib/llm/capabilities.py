"""What one endpoint accepts, per model: the structured-output mode that works, the sampling parameters it
refuses (reasoning models), its context window and slot count; remembered in the store (a
``CapabilityStore``) so later runs skip the probing.

Structured output is asked for in the best mode first (``MODES``): ``json_schema`` (strict), else
``json_object`` with the schema described in a system message, else plain text. Until one structured
request to an endpoint and model has been answered, such requests go one at a time (``discovering_mode``),
so a server refusing ``json_schema`` is asked once, not once per request already waiting.

Must not: send anything (``discover`` is given the GET to use) or know about papers.
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..base.config import LLMSettings
from .cache import CapabilityStore
from .pricing import Usage

__all__ = ["AUTO_BUDGET_CAP", "DEFAULT_CONTEXT_WINDOW", "KNOWN_CONTEXT_WINDOWS", "MODES", "Capabilities", "Found"]

MODES = ("json_schema", "json_object", "text")  # structured-output modes, best first

# Context windows of hosted models (tokens) for ``context_tokens: auto`` when the server does not tell.
KNOWN_CONTEXT_WINDOWS = {
    "deepseek-chat": 131072, "deepseek-reasoner": 131072, "gpt-4o": 128000, "gpt-4o-mini": 128000,
    "gpt-4.1": 1047576, "gpt-4.1-mini": 1047576, "qwen-plus": 131072, "qwen-max": 32768, "qwen-turbo": 1000000,
}
DEFAULT_CONTEXT_WINDOW = 8192  # what a local server most often runs with when nothing tells us more
# Tokens of paper text at most with ``auto`` (a huge window is no reason to pay more): with the section shares of
# fulltext/budget.py this keeps what the three parts use at about 60 % of the seed script's prompt tokens;
# an explicit ``llm.context_tokens`` is taken as given.
AUTO_BUDGET_CAP = 4500

Found = dict[str, Any]  # what ``discover`` found: context_window, slots, models


class Capabilities:
    """Thread-safe memory of what ``base_url`` accepts, per model (one per client)."""

    def __init__(self, base_url: str, settings: LLMSettings, store: object, usage: Usage) -> None:
        self.base_url = base_url
        self.settings = settings
        self.usage = usage  # counts the fallbacks
        self.store = store if isinstance(store, CapabilityStore) else None
        self._lock = threading.Lock()
        self._modes: dict[str, int] = {}  # model -> index into MODES that works
        self._mode_known: set[str] = set()  # models whose structured requests were answered
        self._probe_locks: dict[str, threading.Lock] = {}
        self._quirks: dict[str, frozenset[str]] = {}  # parameters the model refuses
        self._loaded: set[str] = set()  # models whose remembered capabilities were loaded
        self.context_window: int | None = None  # tokens, when found (parameter, server, table, overflow error)

    # -- the store
    def persist(self, model: str, name: str, value: object) -> None:
        """Remember a capability in the store (when the cache is one) so later runs need not rediscover it."""
        if self.store is not None:
            self.store.capability_put(self.base_url, model, name, str(value))

    def load(self, model: str) -> None:
        """What earlier runs found about this endpoint and model (structured-output mode, context window)."""
        with self._lock:
            if model in self._loaded:
                return
            self._loaded.add(model)
        found = self.store.capability_get(self.base_url, model) if self.store is not None else {}
        with self._lock:
            if found.get("mode") in MODES:
                self._modes[model] = max(MODES.index(found["mode"]), self._modes.get(model, 0))
                self._mode_known.add(model)
            if str(found.get("context_window", "")).isdigit() and not self.settings.context_tokens:
                window = int(found["context_window"])
                self.context_window = min(self.context_window or window, window)

    # -- structured-output modes
    def mode_for(self, model: str) -> str:
        self.load(model)
        with self._lock:
            return MODES[self._modes.get(model, 0)]

    def mode_known(self, model: str) -> bool:
        self.load(model)
        with self._lock:
            return model in self._mode_known

    def step_down(self, model: str, mode: str) -> str | None:
        """The next mode after ``mode`` refused (remembered), or ``None`` after plain text."""
        index = MODES.index(mode)
        if index + 1 >= len(MODES):
            return None
        following = MODES[index + 1]
        with self._lock:
            changed = index + 1 > self._modes.get(model, 0)
            if changed:
                self._modes[model] = index + 1
        if changed:
            self.usage.add("fallbacks")
            self.persist(model, "mode", following)
        return following

    @contextmanager
    def discovering_mode(self, model: str, structured: bool) -> Iterator[None]:
        """While no structured request to this endpoint and model has been answered yet, structured requests
        go one at a time (the others wait without holding a slot): a server refusing json_schema is asked
        once, not once per request already waiting (the others then send the mode the first one found)."""
        if not structured or model in self._mode_known:
            yield
            return
        with self._lock:
            probe = self._probe_locks.setdefault(model, threading.Lock())
        probe.acquire()
        if model in self._mode_known:  # found by the request this one waited for: go at once, unserialised
            probe.release()
            yield
            return
        try:
            yield  # an exception (a refusal, a timeout) leaves the mode unknown for the next one
            with self._lock:
                self._mode_known.add(model)
                mode = MODES[self._modes.get(model, 0)]
            self.persist(model, "mode", mode)  # later runs start with the mode that answered
        finally:
            probe.release()

    # -- refused parameters
    def quirks(self, model: str) -> frozenset[str]:
        with self._lock:
            return self._quirks.get(model, frozenset())

    def add_quirk(self, model: str, quirk: str) -> None:
        with self._lock:
            self._quirks[model] = self._quirks.get(model, frozenset()) | {quirk}

    def build_request(self, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                      mode: str, max_tokens: int) -> tuple[dict[str, Any], str]:
        """The keyword arguments of ``chat.completions.create`` and the mode they ask for (a mode found
        refused by another request while this one waited is not asked again)."""
        quirks = self.quirks(model)
        with self._lock:
            known = self._modes.get(model, 0)
        if schema is not None and MODES.index(mode) < known:
            mode = MODES[known]
        request: dict[str, Any] = {"model": model}
        if "no_temperature" not in quirks:
            request["temperature"] = self.settings.temperature
        request["max_completion_tokens" if "max_completion_tokens" in quirks else "max_tokens"] = max_tokens
        msgs = [dict(m) for m in messages]
        if schema is not None:
            name = re.sub(r"[^A-Za-z0-9_-]", "_", schema_name or "answer")[:64]
            if mode == "json_schema":
                request["response_format"] = {"type": "json_schema",
                                              "json_schema": {"name": name, "schema": schema, "strict": True}}
            else:
                if mode == "json_object":
                    request["response_format"] = {"type": "json_object"}
                described = ("Reply with only one JSON object (no code fences, no text around it) that matches "
                             "this JSON Schema:\n" + json.dumps(schema, ensure_ascii=False))
                msgs.append({"role": "system", "content": described})
        request["messages"] = msgs
        return request, mode

    # -- the context window
    def remember_context_window(self, model: str, window: int) -> None:
        """The model's context window in tokens (from the server, a table, or an overflow error)."""
        with self._lock:
            self.context_window = min(self.context_window or window, window)
        self.persist(model, "context_window", window)

    def output_tokens(self) -> int:
        """``max_output_tokens``, but never more than a quarter of a known small context window."""
        cap = self.settings.max_output_tokens
        if self.context_window and self.context_window <= 32768:
            cap = min(cap, max(512, self.context_window // 4))
        return cap

    def text_budget_tokens(self) -> int:
        """Tokens of paper text an interpretation may send: ``llm.context_tokens`` when set, else what the
        context window leaves after the instructions and the answer (``auto``)."""
        if self.settings.context_tokens:
            budget = self.settings.context_tokens
            if self.context_window:  # an overflow taught us the window is smaller than the setting assumed
                budget = min(budget, max(500, self.context_window - self.output_tokens() - 1500))
            return budget
        window = self.context_window or DEFAULT_CONTEXT_WINDOW
        output = min(self.output_tokens(), max(512, window // 4))
        return max(500, min(AUTO_BUDGET_CAP, window - output - 1500))

    def discover(self, model: str, get_json: Callable[[str], object]) -> Found:
        """Ask the server what it is with ``get_json`` (two small GETs; ``None`` for a failure): llama.cpp's
        ``/props`` (``n_ctx``, ``total_slots``), vLLM's ``/v1/models`` (``max_model_len``), else a table of
        hosted models. Remembers the context window and the slot count; returns what was found."""
        self.load(model)
        found: Found = {}
        root = re.sub(r"/v\d+$", "", self.base_url)
        props = get_json(root + "/props")
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            n_ctx = (settings or {}).get("n_ctx") if isinstance(settings, dict) else None
            n_ctx = n_ctx or props.get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                found["context_window"] = n_ctx
            slots = props.get("total_slots")
            if isinstance(slots, int) and slots > 0:
                found["slots"] = slots
        models = get_json(self.base_url + "/models")
        if isinstance(models, dict) and isinstance(models.get("data"), list):
            ids = [m.get("id") for m in models["data"] if isinstance(m, dict)]
            found["models"] = [i for i in ids if isinstance(i, str)]
            for entry in models["data"]:
                if isinstance(entry, dict) and entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
                    found.setdefault("context_window", entry["max_model_len"])
        if "context_window" not in found:
            known = [name for name in KNOWN_CONTEXT_WINDOWS if model.startswith(name)]
            if known:
                found["context_window"] = KNOWN_CONTEXT_WINDOWS[max(known, key=len)]
        if "context_window" in found:
            self.remember_context_window(model, int(found["context_window"]))
        if "slots" in found:
            self.persist(model, "slots", found["slots"])
        return found
