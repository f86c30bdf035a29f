"""The loopback fake OpenAI-compatible server of tests/fakes, recording every chat request in full.

    python benchmarks/recording_llm.py --delay 2.0 --record FILE

prints ``LISTENING http://127.0.0.1:PORT/v1`` like ``tests.fakes.fake_openai`` and answers the same way
(the same handler: every call answered after ``--delay`` seconds), and appends one JSON line per chat
request to FILE: ``{"t0": start, "t1": end (time.monotonic, comparable across processes on Linux),
"request": the request body}``. The benchmark counts the prompt tokens of each task
from these lines (the fake's own log keeps only the first characters of a prompt). 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import serve_on_loopback  # noqa: E402
from tests.fakes.fake_openai import _Handler, _State  # noqa: E402


class RecordingHandler(_Handler):
    record_file = None  # set on the subclass made in serve()
    record_lock = threading.Lock()

    def _chat(self, raw: bytes) -> None:
        started = time.monotonic()
        try:
            super()._chat(raw)
        finally:
            try:
                request = json.loads(raw)
            except ValueError:
                request = {"unparsed": raw.decode("utf-8", "replace")}
            line = json.dumps({"t0": started, "t1": time.monotonic(), "request": request},
                              ensure_ascii=False)
            with self.record_lock:
                self.record_file.write(line + "\n")
                self.record_file.flush()


def serve(record: Path, delay: float) -> None:
    state = _State(delay, False, None)
    with open(record, "a", encoding="utf-8") as handle:
        handler = type("Handler", (RecordingHandler,), {"state": state, "record_file": handle})
        serve_on_loopback(handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before each answer")
    parser.add_argument("--record", type=Path, required=True, help="JSON-lines file of the chat requests")
    args = parser.parse_args()
    serve(args.record, args.delay)


if __name__ == "__main__":
    main()
