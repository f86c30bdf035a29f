"""The evidence check: are the numbers and names of an answer in the paper?

Every number in an interpretation is looked up in the paper text after normalisation (full-width forms,
``78 %`` = ``78%``, ``1,500`` = ``1500``, ``4.41`` = ``4.410``, ``0.338 M`` = ``0.338M`` = ``33.8万``,
``78%`` = ``0.78``; a number written with decimals or as a percentage also matches a paper value it rounds
from, e.g. ``4.4`` ~ ``4.41``). Not checked, by decision: list markers (``1)``, ``(2)``, ``3.`` at a line
start), digits inside names (``GPT-4o``, ``F1``, ``R@1``, ``wav2vec2``, ``BS.775``), and plain integers from
0 to 10 -- these are nearly always counts that the paper writes as words ("two stages", "three model sizes").

Owns: :func:`unverified_numbers` (interpretation vs paper), :func:`missing_numbers` (translation vs
abstract) and :func:`unrelated_names` (a reviewer flag). Must not: reject answers itself (validate.py and
the tasks decide), call the LLM, or format anything for the post.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass


_NUM_CORE = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_NUM_RE = re.compile(r"(?<!\d)" + _NUM_CORE)
_SUFFIX_RE = re.compile(r"\s?(%|百万|万|亿|千|million\b|billion\b|thousand\b|[kKMB](?![A-Za-z]))")
_PAPER_NUM_RE = re.compile(r"(?<!\d)" + _NUM_CORE + "(?:" + _SUFFIX_RE.pattern + ")?")
_MULTIPLIERS = {"百万": 1e6, "万": 1e4, "亿": 1e8, "千": 1e3, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9,
                "million": 1e6, "billion": 1e9, "thousand": 1e3}
_LIST_MARKER_RE = re.compile(r"(?m)^\s*(?:[-*+]\s+)?(?:\*\*)?(?:\(?\d{1,2}[).、]|（\d{1,2}）)(?:\*\*)?(?=\s|[\u4e00-\u9fff]|$)")
_ZH_NUMERALS = {0: "零〇", 1: "一", 2: "二两双", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}


def _key(value: float) -> float:
    return round(value, 6)  # 0.338 * 1e6 == 338000.00000000006 -> 338000.0


@dataclass(frozen=True)
class _Num:
    raw: str  # as written, with its suffix ("78%", "0.338M")
    value: float
    decimals: int
    suffix: str

    @property
    def candidates(self) -> set[float]:
        values = {_key(self.value)}
        if self.suffix == "%":
            values.add(_key(self.value / 100))
        elif self.suffix in _MULTIPLIERS:
            values.add(_key(self.value * _MULTIPLIERS[self.suffix]))
        return values

    @property
    def trivial(self) -> bool:
        """A plain integer 0..10: a count, a list marker or a number the paper spells out."""
        return self.decimals == 0 and self.suffix == "" and self.value <= 10


_NUM_FORMS = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "％": "%", "．": ".",
                            "\u2212": "-", "\u2009": " ", "\u202f": " ", "\u00a0": " "})


def _normalize(text: str) -> str:
    """Full-width digits, ``％`` and odd spaces to ASCII (not NFKC: it would turn ``，`` into a thousands comma)."""
    return (text or "").translate(_NUM_FORMS)


def _scan(text: str, *, strict: bool) -> list[_Num]:
    """Numbers in ``text``. ``strict`` (the checked side) skips digits inside names (GPT-4o, F1, BS.775)."""
    t = _normalize(text)
    nums: list[_Num] = []
    for m in _NUM_RE.finditer(t):
        start = m.start()
        if strict:
            before = t[start - 1] if start else ""
            before2 = t[start - 2] if start >= 2 else ""
            if re.match(r"[A-Za-z]", before) or before == "@":
                continue
            if before in "-_./" and re.match(r"[A-Za-z]", before2):
                continue
        core = m.group(1)
        suffix_m = _SUFFIX_RE.match(t, m.end())
        suffix = suffix_m.group(1) if suffix_m else ""
        digits = core.replace(",", "")
        try:
            value = float(digits)
        except ValueError:  # pragma: no cover - regex guarantees digits
            continue
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        nums.append(_Num(core + (suffix if suffix in ("%",) or suffix in _MULTIPLIERS else ""), value, decimals, suffix))
    return nums


class _PaperNumbers:
    """Every value the paper text contains (generous: names, tables, thousands read both ways)."""

    def __init__(self, text: str) -> None:
        t = _normalize(text)
        tokens = set(_PAPER_NUM_RE.findall(t))  # (core, suffix) pairs, deduplicated before any arithmetic
        values: set[float] = set()
        for core, suffix in tokens:
            value = float(core.replace(",", ""))
            values.add(value)
            if suffix == "%":
                values.add(_key(value / 100))
            elif suffix:
                values.add(_key(value * _MULTIPLIERS[suffix]))
            if "," in core:  # "1,500" may also be a list "1, 500"
                values.update(float(piece) for piece in re.findall(r"\d+(?:\.\d+)?", core))
        self.values = values
        self.sorted = sorted(values)

    def has(self, num: _Num) -> bool:
        if num.candidates & self.values:
            return True
        if num.decimals or num.suffix == "%":
            half = 0.5 * 10 ** (-num.decimals)
            targets = [(num.value - half, num.value + half)]
            if num.suffix == "%":
                targets.append(((num.value - half) / 100, (num.value + half) / 100))
            for low, high in targets:
                i = bisect.bisect_left(self.sorted, low - 1e-12)
                if i < len(self.sorted) and self.sorted[i] <= high + 1e-12:
                    return True
        return False


def unverified_numbers(text: str, paper_text: str) -> tuple[str, ...]:
    """Numbers in ``text`` (an interpretation) not found in ``paper_text``; see the module docstring."""
    body = _LIST_MARKER_RE.sub(" ", _normalize(text))
    paper = _PaperNumbers(paper_text)
    missing: list[str] = []
    for num in _scan(body, strict=True):
        if num.trivial or paper.has(num):
            continue
        if num.raw not in missing:
            missing.append(num.raw)
    return tuple(missing)


def missing_numbers(source: str, translation: str) -> list[str]:
    """Numbers of ``source`` that ``translation`` lacks (values compared; small integers may be Chinese numerals)."""
    have: set[float] = set()
    for num in _scan(translation, strict=False):
        have |= num.candidates
    norm_translation = _normalize(translation)
    missing: list[str] = []
    for num in _scan(source, strict=False):
        if num.candidates & have:
            continue
        if num.decimals == 0 and num.suffix == "" and num.value in _ZH_NUMERALS and any(
                ch in norm_translation for ch in _ZH_NUMERALS[int(num.value)]):
            continue
        if num.raw not in missing:
            missing.append(num.raw)
    return missing


_COMMON_LATIN = frozenset("""the and for with from this that are was were our its into than not but all any can via
per also each both such more most less using based which their these those has have had been new via vs etc""".split())


def _latin_terms(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9+-]{2,}", text)
    return [w for w in words if w.lower() not in _COMMON_LATIN]


def unrelated_names(text: str, evidence: str, *, min_terms: int = 5, max_known: float = 0.2) -> tuple[str, ...]:
    """Latin names in ``text`` absent from ``evidence`` when nearly all of them are (a sign of unrelated content).

    A flag for the reviewer, not a rejection: a budgeted full text can miss names a faithful answer uses.
    """
    terms = list(dict.fromkeys(_latin_terms(text)))
    if len(terms) < min_terms:
        return ()
    lower = evidence.lower()
    unknown = tuple(w for w in terms if w.lower() not in lower)
    return unknown if (len(terms) - len(unknown)) / len(terms) < max_known else ()
