"""Benchmark: one day of papers (translate + interpret each) against the loopback server.

    .venv/bin/python benchmarks/bench_llm.py [--papers 300] [--delay 2.0] [--concurrency 16]

The fake server answers every call after ``--delay`` seconds. Prints the wall time, the ideal bound
(calls x delay / concurrency), their ratio (target efficiency >= 0.85), then the same day again from the
cache (target: 0 calls, < 5 s), and the peak memory (target < 500 MB).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digestlib.config import LLMSettings  # noqa: E402
from digestlib.llm import LLMClient, MemoryCache  # noqa: E402
from digestlib.models import Paper, ResultStatus  # noqa: E402
from digestlib.tasks import interpret_paper, load_glossary, translate_abstract  # noqa: E402
from tests.fakes.fake_openai import start_fake_openai  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("speech enhancement audio codec transformer encoder decoder spectrogram latency dataset benchmark "
         "speaker verification model training inference attention diffusion vocoder").split()


def make_day(n: int, seed: int = 7) -> list[tuple[Paper, str]]:
    rng = random.Random(seed)
    day = []
    for i in range(n):
        sentences = [f"We study {rng.choice(WORDS)} {rng.choice(WORDS)} for robust {rng.choice(WORDS)} systems."
                     for _ in range(6)]
        sentences.append(f"Our model reaches {rng.randint(50, 99)}.{rng.randint(0, 9)}% accuracy with "
                         f"{rng.randint(1, 900)}M parameters and {rng.randint(2, 40)} dB gain on 1,{rng.randint(100, 999)} clips.")
        abstract = " ".join(sentences * 2)
        body = " ".join(f"Sentence {k} about {rng.choice(WORDS)} reports {rng.random() * 100:.2f} on {rng.choice(WORDS)}."
                        for k in range(600))
        text = (f"## Abstract\n{abstract}\n\n## Introduction\n{body[:10000]}\n\n## Method\n{body[10000:25000]}\n\n"
                f"## Experiments\n{body[25000:40000]}\n\n## Conclusion\n{body[40000:44000]}")
        paper = Paper(arxiv_id=f"2601.{10000 + i}", version=1, title=f"Paper {i} on {rng.choice(WORDS)}",
                      authors=("A. Author",), categories=("cs.SD", "eess.AS"), abstract=abstract, listing_order=i)
        day.append((paper, text))
    return day


def run_day(client: LLMClient, day: list[tuple[Paper, str]], glossary: dict) -> list:
    def work(item: tuple[Paper, str]) -> tuple:
        paper, text = item
        return translate_abstract(paper, client, glossary), interpret_paper(paper, text, client, glossary)

    return client.map_concurrent(work, day)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    day = make_day(args.papers)
    glossary = load_glossary(ROOT / "parameters" / "glossary.yaml")
    settings = LLMSettings(base_url="http://127.0.0.1:1/v1", model="bench-model", concurrency=args.concurrency,
                           timeout_seconds=30.0, max_retries=3)
    cache = MemoryCache()
    ok = True
    with start_fake_openai(delay=args.delay) as server:
        settings = LLMSettings(**{**settings.__dict__, "base_url": server.url})
        client = LLMClient(settings, cache, env={}, day="2026-01-22")
        started = time.monotonic()
        results = run_day(client, day, glossary)
        wall = time.monotonic() - started
        calls = len(server.log())
        ideal = calls * args.delay / args.concurrency
        done = sum(1 for t, i in results if t.status is ResultStatus.DONE and i.status is ResultStatus.DONE)
        efficiency = ideal / wall if wall else 0.0
        print(f"papers            {len(day)} ({done} fully done)")
        print(f"HTTP calls        {calls}  (client: {client.stats})")
        print(f"wall time         {wall:.1f} s")
        print(f"ideal bound       {ideal:.1f} s  (= {calls} calls x {args.delay:g} s / {args.concurrency})")
        print(f"efficiency        {efficiency:.3f}  (target >= 0.85)")
        ok &= efficiency >= 0.85 and done == len(day)

        server.reset(delay=args.delay)
        again_client = LLMClient(settings, cache, env={}, day="2026-01-22")
        started = time.monotonic()
        again = run_day(again_client, day, glossary)
        cached_wall = time.monotonic() - started
        cached_calls = len(server.log())
        print(f"cached re-run     {cached_calls} HTTP calls, {cached_wall:.2f} s  (target 0 calls, < 5 s)")
        ok &= cached_calls == 0 and cached_wall < 5.0 and again == results
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory       {peak_mb:.0f} MB maxrss  (target < 500 MB)")
    ok &= peak_mb < 500
    print("RESULT            " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
