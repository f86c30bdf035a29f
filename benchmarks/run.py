"""`make bench`: every benchmark, one after the other (each prints its own figures).

- bench_day.py: the real pipeline end to end (`digest run` through papermill) against the loopback fakes of
  tests/fakes: the replayed 2026-01-22 (skipped when /work/shared/data is absent) and a synthetic day of 300
  papers at LLM concurrency 16, 2 s per call, the same with one other process keeping a core busy, and
  1,000 papers (issue 28's cases); wall time against the ideal bound, calls, prompt tokens per
  task and per paper, CPU and peak memory of the process tree, and the re-run of the finished day. Writes
  output/bench/results.md (``--write-results``, passed on: the tracked benchmarks/results.md).
- bench_fulltext.py: PDF extraction alone, pages per second and CPU seconds on the real PDFs of
  /work/shared/data/pdf, process pool vs one process, for PDFium and for pypdf (skipped when the shared data is absent).

(The former bench_llm.py timed ``LLMClient.map_concurrent``, which the pipeline never calls; its
"efficiency" figure is gone: bench_day.py measures the pipeline itself.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDF_DIR = Path("/work/shared/data/pdf")


def main() -> int:
    status = 0
    print("\n=== bench_day.py ===", flush=True)
    passed = [a for a in sys.argv[1:] if a == "--write-results"]
    status |= subprocess.call([sys.executable, str(HERE / "bench_day.py"), *passed], cwd=HERE.parent)
    print("\n=== bench_fulltext.py ===", flush=True)
    if any(PDF_DIR.glob("*.pdf")):
        for engine in ("pdfium", "pypdf"):  # fulltext.pdf_engine: the default engine and the fallback
            status |= subprocess.call([sys.executable, str(HERE / "bench_fulltext.py"), str(PDF_DIR), "--engine", engine],
                                      cwd=HERE.parent)
    else:
        print(f"skipped: no PDFs in {PDF_DIR} (the shared data is absent)")
    return status


if __name__ == "__main__":
    sys.exit(main())
