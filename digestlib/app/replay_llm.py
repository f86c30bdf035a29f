"""Recorded model answers, served the way an OpenAI-compatible endpoint serves live ones (``digest demo``).

A snapshot replays arXiv; this replays the LLM. ``RecordedAnswers`` holds the answers that ship with the
sample day (``sample/answers.yaml``: a Chinese translation and the three-part 详细解读 per paper);
``ReplayServer`` is a loopback HTTP server on ``127.0.0.1`` (a free port) that answers ``/v1/chat/completions``
with the recorded answer for the request's task and paper, so the demo goes through the real pipeline: the
same ``LLMClient`` (modes, retries, cache), the same validation and the same store. A request nothing was
recorded for gets an HTTP 404 naming it, and the run reports that paper as failed, as it would live.

The request is keyed by what it asks: the task (the system prompt of the translation or of the
interpretation) and the paper (its title inside ``<title>…</title>``), not by the exact bytes, so a
changed prompt wording still finds its answer.

Must not: bind anything but 127.0.0.1, or answer anything that was not recorded.
"""

from __future__ import annotations

import functools
import html
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping

import yaml

from .demo import sample_papers

ANSWERS_FILE = Path(__file__).with_name("sample") / "answers.yaml"
REPLAY_MODEL = "recorded-sample-answers"
_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)


def _flat(text: str) -> str:
    return " ".join(html.unescape(text or "").split()).casefold()


@dataclass(frozen=True)
class RecordedAnswers:
    """Answers by paper: ``{arxiv_id: {"translate": str, "interpret": {background, method, results}}}``,
    and the titles that name each paper in a request."""

    model: str
    answers: Mapping[str, Mapping[str, Any]]
    titles: Mapping[str, str]  # flattened title -> arxiv id

    def answer_for(self, messages: list[Mapping[str, Any]], structured: bool) -> tuple[str, str, str] | None:
        """(task, arxiv id, content) for a chat request, or None when nothing is recorded for it."""
        system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
        user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
        task = "interpret" if ("详细解读" in system or structured) else "translate"
        arxiv_id = None
        for found in _TITLE_RE.findall(user):
            arxiv_id = self.titles.get(_flat(found))
            if arxiv_id:
                break
        recorded = self.answers.get(arxiv_id or "", {}).get(task)
        if not recorded:
            return None
        content = recorded if isinstance(recorded, str) else json.dumps(dict(recorded), ensure_ascii=False)
        return task, str(arxiv_id), content


@functools.lru_cache(maxsize=1)
def sample_answers() -> RecordedAnswers:
    """The recorded answers of the bundled sample day."""
    data = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))
    answers = {str(k): v for k, v in (data.get("answers") or {}).items()}
    titles = {_flat(p.title): p.arxiv_id for p in sample_papers() if p.arxiv_id in answers}
    return RecordedAnswers(str(data.get("model") or REPLAY_MODEL), answers, titles)


def _handler(recorded: RecordedAnswers, served: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet: the demo prints its own lines
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": recorded.model, "object": "model"}]})
            elif self.path.rstrip("/").endswith("/props"):
                self._json(200, {"default_generation_settings": {"n_ctx": 32768}, "total_slots": 4})
            else:
                self._json(404, {"error": {"message": f"not found: {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._json(400, {"error": {"message": "the request body is not JSON"}})
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"not found: {self.path}"}})
            structured = bool(request.get("response_format")) and \
                (request.get("response_format") or {}).get("type") != "text"
            found = recorded.answer_for(list(request.get("messages") or []), structured)
            if found is None:
                return self._json(404, {"error": {"message": "no recorded answer for this request",
                                                  "type": "not_found"}})
            task, arxiv_id, content = found
            served.append(f"{task}:{arxiv_id}")
            prompt_chars = sum(len(str(m.get("content") or "")) for m in request.get("messages") or [])
            self._json(200, {
                "id": f"recorded-{task}-{arxiv_id}", "object": "chat.completion", "created": 0,
                "model": request.get("model") or recorded.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_chars // 3, "completion_tokens": len(content) // 2,
                          "total_tokens": prompt_chars // 3 + len(content) // 2},
            })

    return Handler


class ReplayServer:
    """A loopback OpenAI-compatible server answering from ``recorded`` (``with ReplayServer() as s: s.base_url``)."""

    def __init__(self, recorded: RecordedAnswers | None = None) -> None:
        self.recorded = recorded or sample_answers()
        self.served: list[str] = []  # "task:arxiv_id" of every answer given
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.recorded, self.served))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-llm", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "ReplayServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
