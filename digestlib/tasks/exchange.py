"""One exchange with the model: ask, validate, repair once; shared by the translation and the interpretation.

The first answer is checked by the task's own ``check``; when it names problems, the conversation goes
on with the answer and the task's repair prompt (``<task>.repair``, the problems joined in its
``violation``), once. A repaired answer that passes is cached under the first request's key too, so a
re-run of a finished day starts from the good answer and costs no call. The client's ``accept`` is the same
check: an answer the task rejects never enters the cache.

Owns: that conversation, and :class:`TaskClient` (what a task needs of the client: ``LLMClient``, or the
reviewer's instructed wrapper). Must not: talk HTTP, build the task's messages, or turn errors into
statuses (each task does: its ``LLMError`` cases name the task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from ..base.config import LLMSettings
from ..llm.client import Completion, LLMContextOverflowError, LLMMalformedError, LLMTruncatedError
from .prompts import language_values, render_prompt

Messages = list[dict[str, str]]
Check = Callable[[str, Mapping[str, object] | None], list[str]]  # (content, parsed) -> problems


class TaskClient(Protocol):
    """What the tasks use of an ``LLMClient``."""

    settings: LLMSettings

    def complete(self, task: str, messages: Messages, *, model: str | None = None, schema: dict | None = None,
                 schema_name: str = "", max_tokens: int | None = None, prompt_version: str = "",
                 accept: Callable[[Completion], bool] | None = None) -> Completion: ...

    def cache_answer(self, key: str, task: str, completion: Completion) -> None: ...

    def model_for(self, task: str) -> str: ...

    def text_budget_tokens(self) -> int: ...


@dataclass(frozen=True)
class Request:
    """What stays the same between the first question and the repair."""

    task: str
    model: str
    prompt_version: str
    lang: str
    schema: dict | None = None
    schema_name: str = ""
    max_tokens: int | None = None
    salvage: bool = False  # take what a cut or malformed answer holds (the task's check decides)


@dataclass(frozen=True)
class Answer:
    """The last answer of the exchange; ``problems`` left when the repair did not fix it."""

    content: str
    parsed: Mapping[str, object] | None
    note: str = ""  # how it was salvaged, when it was
    problems: tuple[str, ...] = ()


def exchange(client: TaskClient, request: Request, messages: Messages, check: Check, *,
             smaller: Callable[[], Messages] | None = None) -> Answer:
    """Ask, check, and repair once. ``smaller`` gives the messages to send once instead when the prompt did
    not fit the model's window (the client has learnt its size). ``LLMError`` is the caller's to map."""
    first_key: list[str] = []  # the first answered request's key: a repaired answer is cached under it too

    def accept(completion: Completion) -> bool:
        return not check(completion.content, completion.parsed)

    def ask(msgs: Messages) -> Answer:
        try:
            c = client.complete(request.task, msgs, model=request.model, schema=request.schema,
                                schema_name=request.schema_name, max_tokens=request.max_tokens,
                                prompt_version=request.prompt_version, accept=accept)
        except LLMTruncatedError as exc:
            if not request.salvage:
                raise
            return Answer(exc.content, None, "salvaged from an answer cut at the token limit")
        except LLMMalformedError as exc:
            if not request.salvage:
                raise
            return Answer(exc.content, None, "salvaged from a malformed answer")
        if not first_key:
            first_key.append(c.key)
        elif not c.cached and accept(c):
            client.cache_answer(first_key[0], request.task, c)  # pay once: a re-run starts from the good answer
        return Answer(c.content, c.parsed)

    try:
        answer = ask(messages)
    except LLMContextOverflowError:
        if smaller is None:
            raise
        messages = smaller()
        answer = ask(messages)
    problems = check(answer.content, answer.parsed)
    if not problems:
        return answer
    repair = messages + [{"role": "assistant", "content": answer.content or "(empty)"},
                         {"role": "user", "content": render_prompt(f"{request.task}.repair",
                                                                   **language_values(request.lang),
                                                                   violation="；".join(problems))}]
    answer = ask(repair)
    return Answer(answer.content, answer.parsed, answer.note, tuple(check(answer.content, answer.parsed)))
