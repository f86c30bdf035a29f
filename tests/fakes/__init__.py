"""Fakes of outside services for tests (loopback servers, fixtures)."""

import os
import threading
import time


def exit_with_parent(server, poll_seconds: float = 0.5) -> None:
    """Shut ``server`` down when the process that started it dies (a killed test run leaves no orphan)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        server.shutdown()

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
