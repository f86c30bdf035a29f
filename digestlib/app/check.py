"""`digest check`: one tiny request to the configured endpoint, then one line per capability.

Reachable, key accepted, model found, the structured-output level that works (json_schema, json_object,
text), the context window, the latency. Nothing is written: the answers go to a throw-away cache.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from ..base.config import Config
from ..base.errors import LLMError, LLMFatalError, LLMMalformedError, LLMTruncatedError
from ..llm import MODES, LLMClient, MemoryCache

PROBE_SCHEMA = {"type": "object", "properties": {"ok": {"type": "string"}}, "required": ["ok"],
                "additionalProperties": False}
PROBE_MESSAGES = [{"role": "user", "content": 'Reply with the JSON object {"ok": "yes"} and nothing else.'}]


@dataclass(frozen=True)
class CheckLine:
    name: str
    ok: bool
    text: str

    def render(self) -> str:
        return f"{'ok ' if self.ok else 'NO '} {self.name:<18} {self.text}"


def check_endpoint(cfg: Config) -> list[CheckLine]:
    """Probe the endpoint of ``cfg.llm``; the first failing capability ends the list (the rest is unknown)."""
    settings = dataclasses.replace(cfg.llm, max_retries=1, concurrency=1,
                                   timeout_seconds=min(cfg.llm.timeout_seconds, 60.0))
    client = LLMClient(settings, MemoryCache(), env=cfg.environ, day=cfg.date.isoformat())
    client.breaker.unreachable_threshold = client.breaker.fatal_threshold = 1  # one try is the whole point
    model = settings.model_for("interpret")
    lines = [CheckLine("endpoint", True, f"{client.base_url} (model {model})")]
    started = time.monotonic()
    found: dict = {}
    try:
        with client:
            found = client.discover(model)
            completion = client.complete("check", PROBE_MESSAGES, model=model, schema=PROBE_SCHEMA,
                                         schema_name="check", max_tokens=64)
            mode, note = completion.mode, ""
    except (LLMMalformedError, LLMTruncatedError) as exc:  # it answered: reachable, key and model are fine
        mode, note = client.mode_for(model), f"; the answer was not the JSON asked for ({exc}): salvage will be used"
    except LLMFatalError as exc:
        cause = exc.cause
        lines.append(CheckLine("reachable", cause != "unreachable", "yes" if cause != "unreachable" else str(exc)))
        if cause != "unreachable":
            lines.append(CheckLine("key accepted", cause not in ("auth", "quota"),
                                   str(exc) if cause in ("auth", "quota") else "yes"))
        if cause == "model":
            lines.append(CheckLine("model found", False, str(exc)))
        if exc.fix:
            lines.append(CheckLine("fix", False, exc.fix))
        return lines
    except LLMError as exc:
        lines.append(CheckLine("reachable", "connection" not in str(exc), str(exc)))
        return lines
    seconds = time.monotonic() - started
    lines.append(CheckLine("reachable", True, "yes"))
    lines.append(CheckLine("key accepted", True, "yes"))
    models = found.get("models")
    listed = "" if not models else (" (listed by /models)" if model in models else " (answers, though /models lists "
                                                                                    + ", ".join(models[:3]) + ")")
    lines.append(CheckLine("model found", True, "yes" + listed))
    refused = MODES[:MODES.index(mode)]
    lines.append(CheckLine("structured output", True, mode + (f" ({', '.join(refused)} refused)" if refused else "")
                           + note))
    window = client.context_window
    lines.append(CheckLine("context window", True,
                           f"{window} tokens" if window else "unknown (assumed 8192: set llm.context_tokens)"))
    lines.append(CheckLine("paper text budget", True, f"{client.text_budget_tokens()} tokens"
                           + (" (llm.context_tokens)" if settings.context_tokens else " (auto)")))
    if found.get("slots"):
        lines.append(CheckLine("slots", True, f"{found['slots']} (concurrency capped to it)"))
    lines.append(CheckLine("latency", True, f"{seconds:.2f} s for the probe"))
    return lines
