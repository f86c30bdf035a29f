"""The loopback fakes without the loopback: their request handlers behind an ``httpx.MockTransport``.

The unit loop (``pytest --unit``) starts no server. These twins of the fakes answer in the test's own process,
with the very handler classes the servers run (one behaviour, two ways to reach it), through an
``httpx.MockTransport``; the code under test gets the transport where it takes one:

* :class:`MockOpenAI` -- ``tests.fakes.fake_openai`` (or ``fake_llamacpp``): ``LLMClient(settings, cache,
  http_client=mock.http_client())`` with ``settings.base_url = mock.url``; ``control``/``reset``/``log``/
  ``calls`` as on :class:`~tests.fakes.fake_openai.FakeOpenAI`.
* :class:`MockArxiv` -- ``tests.fakes.fake_arxiv`` (RSS, export API, PDF/HTML files, control API):
  ``ArxivSource(mock.settings(), categories, transport=mock.transport)`` and
  ``FulltextFetcher(..., mock.files_url, ..., transport=mock.transport)``; ``faults``/``set_now``/``log``/
  ``reset`` as on :class:`~tests.fakes.fake_arxiv.FakeArxivProcess`.
* :class:`MockFiles` -- ``tests.fakes.files_server.FilesServer`` (scripted replies per path):
  ``FulltextFetcher(settings, files.url, ..., transport=files.transport, pool=InlinePool())``.
* :func:`handler_transport` -- any ``BaseHTTPRequestHandler`` subclass as a transport.

What needs a socket stays in the integration loop: a client's read timeout on a slow answer (the mock blocks
the caller for a stall instead), a client that stops reading early (the whole answer is written before the
client reads: ``FilesServer.sent`` counts it all), connection reuse, and ``digest`` subprocesses, which
cannot see a mock.
A fault that closes the connection (``close``; a crash) raises ``httpx.RemoteProtocolError`` as httpx does
when a server hangs up; after a ``crash`` the mock refuses connections (``httpx.ConnectError``) as the dead
server would.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from .fake_arxiv import FakeArxiv, FakeArxivProcess, load_mailings, _parse_dt
from .fake_openai import FakeOpenAI, _Handler as OpenAIHandler, _State as OpenAIState
from .files_server import FilesServer


class ConnectionDropped(Exception):
    """Raised by a handler to hang up without finishing its answer (what the server's crash does)."""


class _Connection:
    """The socket a ``StreamRequestHandler`` reads the request from and writes its answer to, in memory."""

    def __init__(self, request: bytes) -> None:
        self.incoming = io.BytesIO(request)
        self.outgoing = bytearray()

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BytesIO:
        assert "r" in mode, mode  # writes go through sendall (wbufsize 0)
        return self.incoming

    def sendall(self, data: bytes) -> None:
        self.outgoing += data

    def settimeout(self, timeout: float | None) -> None:
        pass

    def setsockopt(self, *args: Any) -> None:
        pass


class _Answer:
    """What ``http.client.HTTPResponse`` reads an answer from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(self.data)


def raw_request(request: httpx.Request) -> bytes:
    body = request.read()
    lines = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()
              if name.lower() not in ("content-length", "transfer-encoding")]
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_answer(data: bytes, request: httpx.Request) -> httpx.Response:
    if not data:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    answer = http.client.HTTPResponse(_Answer(data), method=request.method)  # type: ignore[arg-type]
    try:
        answer.begin()
        body = answer.read()
    except (http.client.HTTPException, ValueError) as exc:  # a body cut short, a broken status line
        raise httpx.RemoteProtocolError(f"peer closed connection without sending complete message body ({exc!r})",
                                        request=request) from exc
    headers = [(k, v) for k, v in answer.getheaders() if k.lower() != "transfer-encoding"]
    return httpx.Response(answer.status, headers=headers, content=body, request=request)


def handler_transport(handler: type[BaseHTTPRequestHandler], *, server: Any = None,
                      client_address: tuple[str, int] = ("127.0.0.1", 50000)) -> httpx.MockTransport:
    """``handler`` answering each request in process, as its ``ThreadingHTTPServer`` would."""

    def answer(request: httpx.Request) -> httpx.Response:
        connection = _Connection(raw_request(request))
        try:
            handler(connection, client_address, server)  # type: ignore[arg-type]  # handles it, then returns
        except ConnectionDropped:
            pass  # what was written so far is all the client gets
        return parse_answer(bytes(connection.outgoing), request)

    return httpx.MockTransport(answer)


# ---------------------------------------------------------------------------------------------- OpenAI


class MockOpenAI(FakeOpenAI):
    """The fake OpenAI-compatible server in process (``FakeOpenAI``'s control API, no process, no port)."""

    def __init__(self, *, delay: float = 0.0, no_json_schema: bool = False, api_key: str | None = None,
                 handler: type[OpenAIHandler] = OpenAIHandler, state: OpenAIState | None = None,
                 host: str = "fake-openai.test") -> None:
        self.state = state or OpenAIState(delay, no_json_schema, api_key)
        self.crashed = threading.Event()
        mock = self

        class Handler(handler):  # type: ignore[valid-type, misc]
            state = mock.state

            def die(self) -> None:
                mock.crashed.set()
                raise ConnectionDropped()

        inner = handler_transport(Handler)

        def answer(request: httpx.Request) -> httpx.Response:
            if self.crashed.is_set():
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            return inner.handle_request(request)

        self.transport = httpx.MockTransport(answer)
        self.root = f"http://{host}"
        self.url = f"{self.root}/v1"
        self.proc = None
        self.control_client = httpx.Client(transport=self.transport, base_url=self.root)

    def http_client(self, **options: Any) -> httpx.Client:
        """An ``httpx.Client`` on the mock, for ``LLMClient(..., http_client=...)`` or the openai SDK."""
        return httpx.Client(transport=self.transport, **options)

    def _post(self, path: str, payload: dict) -> Any:
        return self.control_client.post(path, json=payload).json()

    def log(self) -> list[dict]:
        return self.control_client.get("/_log").json()

    def stop(self) -> None:
        self.control_client.close()


# ----------------------------------------------------------------------------------------------- arXiv


class MockArxiv(FakeArxivProcess):
    """The fake arXiv in process (``FakeArxivProcess``'s control API and ``settings()``, no process)."""

    def __init__(self, mailings: Iterable[str | Path | dict | list], *, now: dt.datetime | str | None = None,
                 files: str | Path | None = None, pdf_factory: Callable[[dict], bytes] | None = None,
                 html_factory: Callable[[dict], bytes] | None = None, rss_lag_hours: float = 0.0,
                 host: str = "fake-arxiv.test") -> None:
        clock = _parse_dt(now) if isinstance(now, str) else now
        self.fake = FakeArxiv(load_mailings(mailings), now=clock, files_dir=Path(files) if files else None,
                              pdf_factory=pdf_factory, html_factory=html_factory, rss_lag_hours=rss_lag_hours)
        self.transport = handler_transport(self.fake.handler())
        super().__init__(url=f"http://{host}", process=None, workdir=Path("."))  # type: ignore[arg-type]
        self.control_client = httpx.Client(transport=self.transport, base_url=self.url)

    def _call(self, path: str, payload: Any | None = None) -> Any:
        if payload is None:
            answer = self.control_client.get(path)
        else:
            answer = self.control_client.post(path, content=json.dumps(payload))
        return json.loads(answer.content or b"null")

    def stop(self) -> None:
        self.control_client.close()


# ----------------------------------------------------------------------------------------------- files


class MockFiles(FilesServer):
    """The scripted file server in process (``add``, ``count``, ``requests`` as on ``FilesServer``)."""

    def __init__(self, host: str = "fake-files.test") -> None:
        self.init_state()
        self.transport = handler_transport(self.handler())
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self) -> "MockFiles":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
