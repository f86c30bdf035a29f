"""What an answer holds: the text without the model's reasoning (``</think>``), the JSON object in it, a
light check against the schema, and ``Completion``, the validated answer a call returns.

Servers in ``json_object`` or plain-text mode enforce no schema and reasoning models wrap their answer in
``<think>`` blocks, so everything a caller reads passes through here first.

Must not: send anything or know about papers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Completion", "extract_json", "is_api_answer", "schema_problem", "strip_thinking"]


@dataclass(frozen=True)
class Completion:
    """One validated answer. ``parsed`` is the JSON object when a schema was given."""

    content: str
    parsed: dict | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    cached: bool
    mode: str  # "json_schema", "json_object", "text" (the mode that produced it)
    seconds: float = 0.0  # wall time of the HTTP attempts (0 for a cache hit)
    key: str = ""  # the cache key

    def cached_response(self) -> dict[str, Any]:
        """What the response cache keeps of it (the layout ``cache.CACHE_FORMAT`` versions)."""
        return {"content": self.content, "parsed": self.parsed, "finish_reason": self.finish_reason,
                "model": self.model, "mode": self.mode}


_FENCE_RE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_THINK_CLOSE_RE = re.compile(r"</think>", re.I)
_THINK_OPEN_RE = re.compile(r"<think>", re.I)


def strip_thinking(content: str) -> str:
    """The answer without the model's reasoning: every ``<think>...</think>`` block, everything before a
    lone ``</think>`` (DeepSeek-R1 and Qwen3 chat templates open the block in the prompt, so the answer
    holds only its end), and an unclosed ``<think>`` to the end (reasoning cut by the token limit)."""
    text = _THINK_BLOCK_RE.sub("", content or "")
    closes = list(_THINK_CLOSE_RE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    opened = _THINK_OPEN_RE.search(text)
    if opened:
        text = text[:opened.start()]
    return text.lstrip()


def extract_json(content: str) -> dict | None:
    """The JSON object in ``content`` (bare, fenced, or surrounded by prose), or ``None``."""
    text = strip_thinking(content).strip()
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    for candidate in (text, text[text.find("{"): text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def schema_problem(parsed: dict, schema: Mapping[str, Any]) -> str | None:
    """A light check of required keys and string types (servers in json_object/text mode don't enforce)."""
    props = schema.get("properties") or {}
    for key in schema.get("required") or ():
        if key not in parsed:
            return f"missing key {key!r}"
        if (props.get(key) or {}).get("type") == "string" and not isinstance(parsed[key], str):
            return f"key {key!r} is not a string"
    return None


def is_api_answer(response: object) -> bool:
    """Whether a 200 answer is a chat completion at all: openai hands back a body it cannot read as JSON
    (an HTML page) as a plain string, and one without ``choices`` as an object without them."""
    if isinstance(response, (str, bytes)):
        return False
    return isinstance(getattr(response, "choices", None), list)
