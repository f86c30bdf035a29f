"""Fakes of outside services for tests: loopback servers (their own processes), their in-process twins
behind an ``httpx.MockTransport`` (``mock_http``, for the unit loop), the CLI in process (``cli``), fixtures."""

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def exit_with_parent(server, poll_seconds: float = 0.5) -> None:
    """Shut ``server`` down when the process that started it dies (a killed test run leaves no orphan)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        server.shutdown()

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def serve_on_loopback(handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
    """Serve ``handler`` on 127.0.0.1 until the parent dies; print the ``LISTENING <url>/v1`` line the
    process wrappers wait for (one place for every fake OpenAI-compatible server)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    host, real_port = server.server_address[:2]
    print(f"LISTENING http://{host}:{real_port}/v1", flush=True)
    try:
        exit_with_parent(server)
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:  # pragma: no cover
        pass
    finally:
        server.server_close()
