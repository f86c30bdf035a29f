"""PDF extraction throughput: the process pool against one process, on the real PDFs of the shared data.

    .venv/bin/python benchmarks/bench_fulltext.py [PDF_DIR] [--repeat N] [--workers N]

Prints, per file, the pages, the single-process seconds, the characters extracted and the sections
detected, then pages per second for one process and for the pool and the speed-up. "Pages" are the
file's pages (up to ``--max-pages``): reading stops on the page holding the "References" heading
(``PAGES_AFTER_REFERENCES``), so bibliography and appendix pages are counted but not parsed. Each mode
runs ``--repeat`` times, alternating, and the best run counts (other processes on a small machine add noise);
the pool is started and warmed before timing, and its start-up time is printed separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digestlib.fulltext import ExtractionPool, extract_many, extract_pdf_in_process  # noqa: E402

DEFAULT_DIRS = (Path("/work/shared/data/pdf"), Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdf_dir", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="pool size (0 = one per CPU)")
    parser.add_argument("--max-pages", type=int, default=60)
    parser.add_argument("--engine", default="auto", choices=("auto", "pdfium", "pypdf"), help="fulltext.pdf_engine")
    args = parser.parse_args()

    folder = args.pdf_dir or next((d for d in DEFAULT_DIRS if d.is_dir()), None)
    if folder is None or not any(folder.glob("*.pdf")):
        print("no PDFs found (pass a folder)", file=sys.stderr)
        return 2
    paths = sorted(folder.glob("*.pdf"))
    cpus = os.cpu_count() or 1

    # The pool is started and warmed first; then single-process and pool runs alternate, so that both
    # modes see the same background load on a shared machine.
    t = time.perf_counter()
    pool = ExtractionPool(args.workers)
    pool.run(abs, [(i,) for i in range(pool.workers)], timeout=60)
    pool_start = time.perf_counter() - t
    single_runs: list[float] = []
    single_cpu: list[float] = []
    pool_runs: list[float] = []
    per_file: dict[Path, list[float]] = {p: [] for p in paths}
    results = {}
    try:
        for _ in range(args.repeat):
            started, cpu = time.perf_counter(), time.process_time()
            for p in paths:
                t = time.perf_counter()
                results[p] = extract_pdf_in_process(p, args.max_pages, engine=args.engine)
                per_file[p].append(time.perf_counter() - t)
            single_runs.append(time.perf_counter() - started)
            single_cpu.append(time.process_time() - cpu)
            started = time.perf_counter()
            pooled = extract_many(paths, args.max_pages, timeout=120, pool=pool, engine=args.engine)
            pool_runs.append(time.perf_counter() - started)
    finally:
        pool.close()
    assert [r.sections for r in pooled] == [results[p].sections for p in paths], "pool and single process differ"

    pages = [min(results[p].pages, args.max_pages) for p in paths]
    print(f"{'file':<20} {'pages':>5} {'seconds':>8} {'chars':>8}  sections")
    for p, n in zip(paths, pages):
        ft = results[p]
        chars = sum(len(v) for v in ft.sections.values())
        print(f"{p.name:<20} {n:>5} {min(per_file[p]):>8.2f} {chars:>8}  {','.join(ft.sections)}")
    total_pages = sum(pages)
    best_single, best_pool = min(single_runs), min(pool_runs)
    print()
    print(f"machine: {cpus} CPU(s); pool: {pool.workers} worker processes; best of {args.repeat} runs; "
          f"engine {args.engine} ({', '.join(sorted({r.engine for r in results.values()}))})")
    print(f"CPU, one process: {min(single_cpu):.2f} s for the {len(paths)} files (load-insensitive; "
          f"runs: {', '.join(f'{x:.2f}' for x in single_cpu)})")
    print(f"pool start-up (not timed below): {pool_start:.2f} s")
    print(f"one process : {total_pages} pages in {best_single:.2f} s = {total_pages / best_single:.1f} pages/s"
          f"  (runs: {', '.join(f'{x:.2f}' for x in single_runs)})")
    print(f"process pool: {total_pages} pages in {best_pool:.2f} s = {total_pages / best_pool:.1f} pages/s"
          f"  (runs: {', '.join(f'{x:.2f}' for x in pool_runs)})")
    print(f"speed-up    : {best_single / best_pool:.2f}x (best runs), "
          f"{statistics.median(single_runs) / statistics.median(pool_runs):.2f}x (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
