"""A tiny loopback file server for the full-text tests: scripted replies per path, measured bytes sent.

>>> with FilesServer() as server:
...     server.add("/pdf/2602.03117v1", Reply(404), Reply(body=pdf_bytes))
...     url = server.url  # http://127.0.0.1:<port>

Each request to a path consumes the first queued ``Reply``; the last one stays (it answers every later
request). Unknown paths answer 404. A reply can omit Content-Length (chunked), stall after some bytes
(``stall`` seconds; woken early when the server stops) or trickle its body slowly. ``sent[path]``
counts the body bytes the server managed to write, so a test can check that a client stopped early.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/pdf"
    chunked: bool = False  # no Content-Length: Transfer-Encoding chunked
    stall: float = 0.0  # seconds to wait after ``stall_after`` body bytes (or before the headers if -1)
    stall_after: int = 0
    trickle: float = 0.0  # seconds between chunks
    chunk_size: int = 64 * 1024
    headers: dict[str, str] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client hanging up mid-answer is expected
        pass


class FilesServer:
    def __init__(self) -> None:
        self.init_state()
        self._httpd = _QuietServer(("127.0.0.1", 0), self.handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def init_state(self) -> None:
        """The scripted replies and what was asked and sent (``tests.fakes.mock_http.MockFiles`` shares them)."""
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[str] = []
        self.sent: dict[str, int] = defaultdict(int)
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler answering from this server's routes."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0].rstrip("/")
                with server._lock:
                    server.requests.append(path)
                    queue = server.routes.get(path)
                    reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Reply(404, b"not found", "text/plain")
                try:
                    server._answer(self, path, reply)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    pass

        return Handler

    # ------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.routes[path] = list(replies)

    def count(self, path: str) -> int:
        return sum(1 for p in self.requests if p == path)

    def __enter__(self) -> "FilesServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, path: str, r: Reply) -> None:
        if r.stall and r.stall_after < 0:
            self.stopping.wait(r.stall)
        h.send_response(r.status)
        h.send_header("Content-Type", r.content_type)
        for k, v in r.headers.items():
            h.send_header(k, v)
        if r.chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(r.body)))
        h.end_headers()
        pos = 0
        stalled = False
        while pos < len(r.body):
            if r.stall and not stalled and 0 <= r.stall_after <= pos:
                stalled = True
                h.wfile.flush()
                self.stopping.wait(r.stall)
            end = min(len(r.body), pos + r.chunk_size)
            if r.stall and not stalled and r.stall_after > pos:
                end = min(end, r.stall_after)
            piece = r.body[pos:end]
            if r.chunked:
                h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                h.wfile.write(piece)
            h.wfile.flush()
            pos = end
            with self._lock:
                self.sent[path] += len(piece)
            if r.trickle:
                if self.stopping.wait(r.trickle):
                    return
        if r.chunked:
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
