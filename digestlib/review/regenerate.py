"""Regenerate one paper's translation or interpretation at a reviewer's request.

The request goes through the same tasks (prompts, validation, evidence check) as a run, but past the
response cache (asking again must really ask again) and with the reviewer's extra instruction appended
to the prompt. The call is accounted for in the store like any other; the result replaces the stored
one, in the same shape the pipeline writes.
"""

from __future__ import annotations

from typing import Any

from ..base.config import Config
from ..base.errors import DigestError, UsageError
from ..llm.client import LLMClient
from ..base.models import Paper, ResultStatus
from ..base.models import INTERPRET, TRANSLATE
from ..store.store import Store
from ..tasks import interpret_paper, load_glossary, translate_abstract

INSTRUCTION_PREFIX = "审稿人的补充要求（请在不违反以上规则的前提下遵循）："
MAX_INSTRUCTION_CHARS = 500


class _FreshCache:
    """The store as an LLM cache that never hits: answers are stored and calls accounted, not reused."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def cache_get(self, key: str) -> dict | None:
        return None

    def cache_put(self, key: str, **kw: Any) -> None:
        self.store.cache_put(key, **kw)

    def record_call(self, **kw: Any) -> None:
        self.store.record_call(**kw)

    def record_failed_call(self, **kw: Any) -> None:
        self.store.record_failed_call(**kw)


class _InstructedClient:
    """An ``LLMClient`` whose requests carry the reviewer's extra instruction in the last user message."""

    def __init__(self, client: LLMClient, instruction: str) -> None:
        self._client = client
        self._instruction = instruction

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def complete(self, task: str, messages: list[dict], **kw: Any) -> Any:
        if self._instruction:
            messages = [dict(m) for m in messages]
            for message in reversed(messages):
                if message.get("role") == "user":
                    message["content"] = f"{message['content']}\n\n{INSTRUCTION_PREFIX}{self._instruction}"
                    break
        return self._client.complete(task, messages, **kw)


def regenerate_task(cfg: Config, store: Store, paper: Paper, task: str, instruction: str = "") -> ResultStatus:
    """Run ``task`` (translate / interpret) for ``paper`` again and store the result; return its status."""
    from .state import budget_for

    if task not in (TRANSLATE, INTERPRET):
        raise UsageError(f"unknown task {task!r}: translate or interpret")
    if not cfg.llm.configured:
        raise DigestError("no LLM endpoint is configured (OPENAI_BASE_URL / OPENAI_API_KEY): cannot regenerate")
    instruction = " ".join((instruction or "").split())[:MAX_INSTRUCTION_CHARS]
    glossary = load_glossary(cfg.glossary_file) if cfg.glossary_file else {}
    with LLMClient(cfg.llm, _FreshCache(store), env=cfg.environ, day=cfg.date.isoformat()) as raw:
        client: Any = _InstructedClient(raw, instruction)
        if task == TRANSLATE:
            result = translate_abstract(paper, client, glossary, lang=cfg.language)
            store.save_result(paper.arxiv_id, paper.version, TRANSLATE, result.status,
                              content={"text": result.text, "regenerated": True}, detail=result.detail, regenerate=True,
                              model=result.model)
            return result.status
        paper_text, text_status, text_detail = budget_for(cfg, store, paper)
        result = interpret_paper(paper, paper_text, client, glossary, lang=cfg.language)
        content: dict[str, Any] = {"source": result.source, "regenerated": True,
                                   "fulltext_status": text_status.value if text_status else "",
                                   "fulltext_detail": text_detail}
        if result.interpretation is not None:
            parts = result.interpretation
            content.update(background=parts.background, method=parts.method, results=parts.results)
        store.save_result(paper.arxiv_id, paper.version, INTERPRET, result.status, content=content,
                          detail=result.detail, unverified=result.unverified_numbers, model=result.model,
                          regenerate=True)
        return result.status
