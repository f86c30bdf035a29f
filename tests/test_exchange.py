"""tasks.exchange: ask, check, repair once; a repaired answer serves the first request next time (pay once).

Fast: an ``LLMClient`` over ``httpx.MockTransport`` and an in-memory cache; the checks are the test's own."""

from __future__ import annotations

import json

import httpx
import pytest

from digestlib.base.config import build_config
from digestlib.llm import LLMClient, MemoryCache
from digestlib.base.errors import LLMMalformedError
from digestlib.tasks.exchange import Request, exchange


class _Answers:
    """Answers chat requests with the next scripted content (finish_reason ``stop``), recording each request."""

    def __init__(self, *contents: str) -> None:
        self.contents, self.requests = list(contents), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        content = self.contents.pop(0)
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})


def _client(answers: _Answers, cache: MemoryCache) -> LLMClient:
    settings = build_config(date="2026-01-22", env={}, params={"llm": {"model": "m", "base_url": "http://llm.test/v1",
                                                                         "max_retries": 0}}).llm
    return LLMClient(settings, cache, env={}, http_client=httpx.Client(transport=httpx.MockTransport(answers)),
                     sleep=lambda s: None)


REQUEST = Request("translate", "m", "v1", "zh", max_tokens=100)
MESSAGES = [{"role": "system", "content": "translate"}, {"role": "user", "content": "<abstract>Hello.</abstract>"}]


def _chinese(content: str, parsed: object) -> list[str]:
    return [] if "你好" in content else ["not Chinese"]


def test_a_rejected_answer_is_repaired_once_and_the_repair_serves_the_next_run() -> None:
    cache, answers = MemoryCache(), _Answers("Hello.", "你好。")
    with _client(answers, cache) as client:
        answer = exchange(client, REQUEST, MESSAGES, _chinese)
    assert answer.content == "你好。" and answer.problems == ()
    repair = answers.requests[1]["messages"]
    assert repair[:2] == MESSAGES and repair[2] == {"role": "assistant", "content": "Hello."}
    assert "not Chinese" in repair[3]["content"]  # the problems, in the task's repair prompt
    again = _Answers()  # nothing to answer: a call would fail the test
    with _client(again, cache) as client:
        assert exchange(client, REQUEST, MESSAGES, _chinese).content == "你好。"
    assert again.requests == []


def test_a_repair_that_fails_again_returns_its_problems_and_is_not_cached() -> None:
    cache, answers = MemoryCache(), _Answers("Hello.", "Hello again.")
    with _client(answers, cache) as client:
        answer = exchange(client, REQUEST, MESSAGES, _chinese)
    assert answer.content == "Hello again." and answer.problems == ("not Chinese",)
    assert len(answers.requests) == 2 and cache.entries == {}


def test_a_malformed_answer_is_salvaged_only_when_the_task_asks() -> None:
    structured = Request("interpret", "m", "v1", "zh", schema={"type": "object"}, schema_name="x", salvage=True)
    with _client(_Answers("{not json", "{not json", "{not json"), MemoryCache()) as client:
        answer = exchange(client, structured, MESSAGES, lambda content, parsed: [])
    assert answer.content == "{not json" and answer.note == "salvaged from a malformed answer"
    with _client(_Answers("{not json", "{not json", "{not json"), MemoryCache()) as client:
        with pytest.raises(LLMMalformedError):
            exchange(client, Request("interpret", "m", "v1", "zh", schema={"type": "object"}, schema_name="x"),
                     MESSAGES, lambda content, parsed: [])
