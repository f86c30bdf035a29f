"""`make bench`: every benchmark, one after the other (each prints its own figures and targets).

- bench_llm.py: a day of 300 papers against a loopback OpenAI-compatible server answering after 2 s,
  concurrency 16: wall time vs the ideal bound, then the same day from the cache, and peak memory.
- bench_fulltext.py: pages per second on the real PDFs in ../shared/data/pdf, process pool vs one process
  (skipped when the shared data is absent).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in ("bench_llm.py", "bench_fulltext.py"):
        print(f"\n=== {script} ===", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script)], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
