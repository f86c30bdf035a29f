"""Regenerate one paper's translation or interpretation at a reviewer's request.

The request goes through the same tasks (prompts, validation, evidence check) as a run, but past the
response cache (asking again must really ask again) and with the reviewer's extra instruction appended
to the prompt. The interpretation is asked from the same paper text the run sends (``day.records.paper_text``
with the budget of the endpoint's window, discovered as the run does), the call is accounted for in the
store like any other, and the result replaces the stored one, built as the run builds it
(``day.records``).
"""

from __future__ import annotations

from typing import Callable

import httpx

from ..base.config import Config
from ..base.errors import DigestError, UsageError
from ..base.models import INTERPRET, TRANSLATE, Paper, PendingReason, ResultStatus
from ..day.records import interpretation_record, paper_text, save_record, stored_text, translation_record
from ..llm.client import Completion, LLMClient
from ..store.store import Store
from ..tasks import LLMTasks, load_glossary
from ..tasks.exchange import Messages

INSTRUCTION_PREFIX = "审稿人的补充要求（请在不违反以上规则的前提下遵循）："
MAX_INSTRUCTION_CHARS = 500


class _FreshCache:
    """The store as an LLM cache that never hits: answers are stored and calls accounted, not reused; what
    the endpoint is (its window, its structured-output mode) is remembered and read as in a run."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def cache_get(self, key: str) -> dict | None:
        return None

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None:
        self.store.cache_put(key, task=task, model=model, response=response, prompt_tokens=prompt_tokens,
                             completion_tokens=completion_tokens)

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None:
        self.store.record_call(day=day, task=task, model=model, prompt_tokens=prompt_tokens,
                               completion_tokens=completion_tokens, cached=cached, seconds=seconds)

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None:
        self.store.record_failed_call(day=day, task=task, model=model, status=status, cause=cause, seconds=seconds)

    def capability_get(self, base_url: str, model: str) -> dict[str, str]:
        return self.store.capability_get(base_url, model)

    def capability_put(self, base_url: str, model: str, name: str, value: str) -> None:
        self.store.capability_put(base_url, model, name, value)


class _InstructedClient:
    """An ``LLMClient`` whose requests carry the reviewer's extra instruction in the last user message."""

    def __init__(self, client: LLMClient, instruction: str) -> None:
        self._client = client
        self._instruction = instruction
        self.settings = client.settings

    def model_for(self, task: str) -> str:
        return self._client.model_for(task)

    def text_budget_tokens(self) -> int:
        return self._client.text_budget_tokens()

    def cache_answer(self, key: str, task: str, completion: Completion) -> None:
        self._client.cache_answer(key, task, completion)

    def complete(self, task: str, messages: Messages, *, model: str | None = None, schema: dict | None = None,
                 schema_name: str = "", max_tokens: int | None = None, prompt_version: str = "",
                 accept: Callable[[Completion], bool] | None = None) -> Completion:
        if self._instruction:
            messages = [dict(m) for m in messages]
            for message in reversed(messages):
                if message.get("role") == "user":
                    message["content"] = f"{message['content']}\n\n{INSTRUCTION_PREFIX}{self._instruction}"
                    break
        return self._client.complete(task, messages, model=model, schema=schema, schema_name=schema_name,
                                     max_tokens=max_tokens, prompt_version=prompt_version, accept=accept)


def regenerate_task(cfg: Config, store: Store, paper: Paper, task: str, instruction: str = "", *,
                    llm_http_client: httpx.Client | None = None) -> ResultStatus:
    """Run ``task`` (translate / interpret) for ``paper`` again and store the result; return its status.
    ``llm_http_client`` carries the LLM requests (a test's ``httpx.MockTransport``)."""
    if task not in (TRANSLATE, INTERPRET):
        raise UsageError(f"unknown task {task!r}: translate or interpret")
    if not cfg.llm.configured:
        raise DigestError("no LLM endpoint is configured (OPENAI_BASE_URL / OPENAI_API_KEY): cannot regenerate")
    instruction = " ".join((instruction or "").split())[:MAX_INSTRUCTION_CHARS]
    with LLMClient(cfg.llm, _FreshCache(store), env=cfg.environ, day=cfg.date.isoformat(),
                   http_client=llm_http_client) as raw:
        tasks = LLMTasks(_InstructedClient(raw, instruction), raw, load_glossary(cfg.glossary_file), cfg.language)
        tasks.discover()  # as the run does first: the window sets the paper-text budget under ``auto``
        if task == TRANSLATE:
            translation = tasks.translate(paper)
            status = translation.status
            record = translation_record(translation, pending_reason=_pending_reason(tasks, status), regenerated=True)
        else:
            text = stored_text(store, paper)
            interpretation = tasks.interpret(paper, paper_text(paper, text, tasks.text_budget_tokens()))
            status = interpretation.status
            record = interpretation_record(interpretation, text, pending_reason=_pending_reason(tasks, status),
                                           regenerated=True)
        save_record(store, paper, record, regenerate=True)
        return status


def _pending_reason(tasks: LLMTasks, status: ResultStatus) -> PendingReason | None:
    """Pending after the client stopped calling (authentication, quota), or for another LLM trouble."""
    if status is not ResultStatus.PENDING:
        return None
    return PendingReason.QUOTA if tasks.fatal_error is not None else PendingReason.LLM
