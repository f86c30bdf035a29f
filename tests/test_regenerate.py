"""A reviewer's regenerate asks from what the run asked from: the same paper text, cut to the same budget.

The run (``run_day``) and the regenerate (``regenerate_task``) are sent the same stored paper against one
recording ``httpx.MockTransport`` endpoint whose window (``/props``'s ``n_ctx``) leaves a budget other than
the 4000 tokens ``llm.context_tokens: auto`` assumes without asking; the two interpretation requests must
carry the identical paper text, and the stored results the same shape.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import httpx

from digestlib.base.config import build_config
from digestlib.base.models import AnnounceType, FullText, Paper, ResultStatus, TextStatus
from digestlib.day.pipeline import run_day
from digestlib.review.regenerate import regenerate_task
from digestlib.store.store import Store
from tests.fakes.fake_openai import fake_interpretation, fake_translation

DATE = dt.date(2026, 1, 22)
N_CTX = 6144  # leaves about 3100 tokens of paper text: not the 4000 assumed without asking


def _between(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>(.*)</{tag}>", text, re.S)
    return m.group(1) if m else ""


def _section(name: str, n: int) -> str:
    return " ".join(f"In the {name} part, experiment {i} reached {i}.5 percent on benchmark set {i} of the study."
                    for i in range(n))


class _Endpoint:
    """An OpenAI-compatible endpoint with llama.cpp's ``/props``, recording every chat request."""

    def __init__(self) -> None:
        self.chats: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.rstrip("/") == "/props":
            return httpx.Response(200, json={"default_generation_settings": {"n_ctx": N_CTX}, "total_slots": 1})
        if request.method == "GET" and path.rstrip("/") == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        body = json.loads(request.content)
        self.chats.append(body)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "<paper>" in user:
            content = json.dumps(fake_interpretation(_between(user, "paper")), ensure_ascii=False)
        else:
            content = fake_translation(_between(user, "abstract").strip())
        return httpx.Response(200, json={
            "id": f"chatcmpl-{len(self.chats)}", "object": "chat.completion", "created": 0, "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200}})

    def papers_sent(self) -> list[str]:
        """The paper text of each interpretation request, in order."""
        users = [next(m["content"] for m in c["messages"] if m["role"] == "user") for c in self.chats]
        return [_between(u, "paper") for u in users if "<paper>" in u]


def test_regenerate_sends_the_paper_text_the_run_sent(tmp_path: Path, monkeypatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DIGEST_MODEL", "DIGEST_NOW"):
        monkeypatch.delenv(name, raising=False)
    cfg = build_config(date=DATE, out_dir=tmp_path / "out", env={},
                       params={"categories": ["cs.SD", "eess.AS"],
                               "llm": {"model": "fake-model", "base_url": "http://llm.test/v1",
                                       "context_tokens": "auto"}})
    paper = Paper("2601.00001", 1, "A long paper", ("A. Author",), ("cs.SD",),
                  "We study streaming speech enhancement with 12 layers and report 3.5 dB gains.",
                  announce_type=AnnounceType.NEW)
    sections = {"abstract": paper.abstract, **{name: _section(name, 300) for name in ("introduction", "method", "results")}}
    with Store(cfg.store_path) as store:
        store.save_announcement(DATE, [paper], "rss")
        store.save_fulltext(FullText(paper.arxiv_id, 1, TextStatus.OK, source="pdf", title=paper.title, sections=sections))
    endpoint = _Endpoint()

    run_day(cfg, llm_http_client=httpx.Client(transport=httpx.MockTransport(endpoint)))
    with Store(cfg.store_path) as store:
        ran = store.get_result(paper.arxiv_id, 1, "interpret")
        assert regenerate_task(cfg, store, paper, "interpret",
                               llm_http_client=httpx.Client(transport=httpx.MockTransport(endpoint))) is ResultStatus.DONE
        regenerated = store.get_result(paper.arxiv_id, 1, "interpret")

    run_text, regenerated_text = endpoint.papers_sent()
    assert run_text.strip() and len(run_text) < sum(map(len, sections.values()))  # cut to the budget
    assert regenerated_text == run_text
    assert ran.status is ResultStatus.DONE and regenerated.content.pop("regenerated") is True
    assert regenerated.content == ran.content  # the same record, built in one place
