"""Sections: which lines are headings, and which canonical key each top-level section is filed under.

ONE section detector for both readers: the PDF reader finds headings in cleaned lines
(``split_sections``: numbering-sequence checks so numbered list items are not mistaken), the HTML reader
takes its ``<h1>``-``<h6>``; both file each top-level section through the same ``SectionSorter`` (the
key rules, the positional rules for unrecognised and "Summary" headings, everything after the
references being appendix, and when a heading is kept in the text).

Section keys and how headings map to them (first match wins, see ``_KEY_RULES``):

=============  ====================================================================================
abstract       Abstract, Kurzfassung; Summary/Zusammenfassung *before* the introduction
introduction   Introduction, Einleitung, Einführung
method         Method(s), Approach, Model, Architecture, Framework, System, Algorithm, Design, Data,
               Dataset, Implementation, ... and any unrecognised section between the introduction and
               the first experiments/conclusion section (that is where papers describe what they did)
experiments    Experiment(s), Evaluation, Results, Analysis, Ablation, Study, Benchmark, Comparison,
               ... and any unrecognised section that follows an experiments section
conclusion     Conclusion(s), Concluding remarks, Future work, Outlook/Ausblick, Discussion,
               Limitations; Summary/Zusammenfassung after the introduction
references     References, Bibliography, Literatur(verzeichnis); back matter that is not content
               (Acknowledgements, Funding, Author contributions) is filed here too, so budgets drop it
appendix       Appendix/Appendices/Supplementary, "APPENDIX A", and every heading after the references
body           Related work, Background, Preliminaries, Basics, Notation, Ethics/Broader impact, and
               unrecognised sections before the introduction or after the conclusion; when no heading
               is found at all, the whole text
=============  ====================================================================================

Several headings mapping to one key are concatenated (the original headings are kept in the text).
Must not read files or parse PDF/HTML itself: it works on lines and heading texts it is given.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from typing import Sequence

from .clean import unwrap, vocabulary

__all__ = ["CANONICAL_KEYS", "SectionSorter", "canonical_key", "is_caps", "split_sections", "titleish"]

CANONICAL_KEYS = ("abstract", "introduction", "method", "experiments", "conclusion", "body", "references", "appendix")
_REFERENCES_TITLE = re.compile(r"(references?|bibliography|literatur(verzeichnis)?|works cited)")


_KEY_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("references", re.compile(r"^(references?|bibliography|literatur(verzeichnis)?|works cited|quellen(verzeichnis)?)$")),
    ("appendix", re.compile(r"\b(appendix|appendices|anhang|supplementary|supplemental)\b")),
    ("references", re.compile(r"^(acknowledge?ments?|danksagung|funding|author contributions?|competing interests?)\b")),
    ("abstract", re.compile(r"^(abstract|kurzfassung)$")),
    ("summary", re.compile(r"^(summary|zusammenfassung)$")),  # abstract before the introduction, else conclusion
    ("introduction", re.compile(r"\b(introduction|einleitung|einführung)\b")),
    ("conclusion", re.compile(r"\b(conclusions?|concluding|future work|outlook|ausblick|fazit|schlussfolgerung\w*|schluss)\b")),
    ("experiments", re.compile(
        r"\b(experiments?|experimental|evaluations?|results?|analysis|analyses|ablations?|empirical|benchmarks?"
        r"|study|studies|comparisons?|experimente|evaluierung|ergebnisse|auswertung|analyse|vergleich)\b")),
    ("body", re.compile(
        r"\b(related work|prior work|previous work|background|preliminaries|literature review|basics|grundlagen"
        r"|verwandte arbeiten|notation|ethics?|ethical|broader impacts?|societal impact)\b")),
    ("conclusion", re.compile(r"\b(discussion|diskussion|limitations?)\b")),
    ("method", re.compile(
        r"\b(methods?|methodology|approach(es)?|model(s|ing)?|architecture|framework|proposed|system|algorithms?"
        r"|design|technique|formulation|training|implementation|data|datasets?|corpus|corpora|pipeline"
        r"|observations|verfahren|methode|methodik|modell|ansatz|architektur|daten)\b")),
]


def _strip_number(title: str) -> str:
    """``"2.1 Related Work:"`` -> ``"related work"``."""
    t = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.|[A-Z]\.?)\s+(?=\S)", "", title.strip())
    t = re.sub(r"[\s:.—–-]+$", "", t).lower()
    return re.sub(r"\s+", " ", t)


_PLAIN_NAMES = {
    "introduction": {"introduction", "einleitung", "einführung"},
    "method": {"method", "methods"},
    "experiments": {"experiment", "experiments"},
    "conclusion": {"conclusion", "conclusions", "fazit", "schluss"},
    "references": {"reference", "references", "bibliography", "literatur", "literaturverzeichnis"},
    "appendix": {"appendix", "appendices", "anhang"},
}


def _names_key(title: str, key: str) -> bool:
    """The heading says nothing beyond its key (``Introduction``, ``LITERATUR``): no need to repeat it."""
    return key == "abstract" or _strip_number(title) in _PLAIN_NAMES.get(key, ())


def canonical_key(title: str) -> str | None:
    """The canonical key a heading title names (``None`` if unrecognised; ``summary`` is positional)."""
    t = _strip_number(title)
    for key, pattern in _KEY_RULES:
        if pattern.search(t):
            return key
    return None


@dataclass
class _Heading:
    line: int  # index in the line list
    text: str  # the heading as printed (number included)
    title: str  # without its number
    top: bool  # a top-level section (else a subsection: a paragraph break with its own line)
    rest: str = ""  # run-in text after the heading ("Abstract—We ...")
    consumed: int = 1  # lines the heading spans


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman(s: str) -> int:
    total, prev = 0, 0
    for ch in reversed(s):
        v = _ROMAN[ch]
        total = total - v if v < prev else total + v
        prev = max(prev, v)
    return total


_UNNUMBERED = re.compile(
    r"^(abstract|introduction|related work|background|conclusions?|conclusion and future work|conclusions and future work"
    r"|discussion|summary|limitations|references|bibliography|acknowledge?ments?|appendix|appendices"
    r"|supplementary materials?|literatur|literaturverzeichnis|zusammenfassung|einleitung|kurzfassung|ausblick"
    r"|danksagung|anhang|broader impacts?|ethics statement|methods?|experiments|results)[:.]?$",
    re.IGNORECASE,
)
_RUN_IN = re.compile(r"^(abstract|zusammenfassung|kurzfassung)\s*(?:[—–:.]|-{1,2})\s*(\S.*)$", re.IGNORECASE)
_APPENDIX_LINE = re.compile(r"^(?:APPENDIX|Appendix|APPENDICES|Appendices|ANHANG|Anhang)(?:\s+[A-Z0-9]{1,2}\b)?(?:\s*[:.—–-]\s*.*|\s+[A-Z].*)?$")
_NUMBERED = re.compile(r"^(\d{1,2})((?:\.\d{1,2}){0,3})\.?(?:\s+(\S.*)|(?<=\d)([A-Z].*))$")  # "1INTRODUCTION" too
_ROMAN_RE = re.compile(r"^([IVXLC]{1,6})\.\s+(\S.*)$")
_LETTER_RE = re.compile(r"^([A-H])(\.?)\s+(\S.*)$")
_INTRO_ANCHOR = re.compile(r"^(?:1\.?|I\.)\s+(introduction|einleitung|einführung|overview|motivation)\b", re.IGNORECASE)


def titleish(title: str, *, max_words: int = 14) -> bool:
    """Looks like a section title, not a sentence, a list item, a reference or a table row."""
    t = title.strip()
    if not t or len(t) > 110 or not t[0].isupper():
        return False
    words = t.split()
    if len(words) > max_words:
        return False
    if re.search(r"[,;]$|\.$", t) and not re.search(r"\b(etc|al)\.$", t):
        return False
    if re.match(r"^[A-Z]\.(\s|$)", t) or re.search(r"\b[A-Z]\.\s*[A-Z]\.|\bet al\b|@|https?:|www\.", t):
        return False
    if re.search(r"\b(1[89]|20)\d{2}\b", t):
        return False
    if re.search(r"[.!?]\s+\S", t[3:]):  # a sentence goes on after the heading
        return False
    letters = sum(ch.isalpha() for ch in t)
    if letters < 3 or letters < 0.6 * len(t.replace(" ", "")):
        return False
    return True


def is_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _detect_headings(lines: Sequence[str]) -> list[_Heading]:
    """Find section headings with numbering-sequence checks so numbered list items are not mistaken."""
    n = len(lines)
    # Front matter (affiliations numbered 1, 2, 3 ...) ends at the abstract or at "1 Introduction".
    start = 0
    for i, ln in enumerate(lines[: min(n, 400)]):
        s = ln.strip()
        if _INTRO_ANCHOR.match(s) or _RUN_IN.match(s) or re.fullmatch(r"(abstract|kurzfassung|zusammenfassung)[:.]?", s, re.I):
            start = i
            break
    headings: list[_Heading] = []
    last_top = 0
    last_roman = 0
    style: str | None = None  # "arabic" or "roman" once the first numbered section is seen
    in_refs = False
    in_appendix = False
    next_letter = "A"
    seen_intro = False
    i = start
    while i < n:
        s = lines[i].strip()
        h: _Heading | None = None
        m_run = _RUN_IN.match(s) if not seen_intro and style is None else None
        if m_run:
            h = _Heading(i, m_run.group(1), m_run.group(1), True, rest=m_run.group(2))
        elif _UNNUMBERED.match(s):
            h = _Heading(i, s, s.rstrip(":."), True)
        elif _APPENDIX_LINE.match(s) and (in_refs or style) and titleish(s):
            h = _Heading(i, s, s, True)
        elif in_refs or in_appendix:
            # "A Implementation Details" after the references: a short title after a finished line, not a
            # reference entry wrapped onto a line starting with "A ..." (the line after goes on in lower case)
            m = _LETTER_RE.match(s)
            prev = lines[i - 1].strip() if i else ""
            nxt = lines[i + 1].strip() if i + 1 < n else ""
            if (m and m.group(1) == next_letter and titleish(m.group(3), max_words=10) and not re.match(r"^[A-Z]\.", m.group(3))
                    and (not prev or re.search(r"[.)\]\d]$", prev)) and not (nxt[:1].islower())):
                h = _Heading(i, s, m.group(3), True)
                next_letter = chr(ord(next_letter) + 1)
        else:
            m = _NUMBERED.match(s)
            r = _ROMAN_RE.match(s)
            title = (m.group(3) or m.group(4)) if m else ""
            glued_ok = m is None or m.group(3) is not None or is_caps(title) or len(title.split()) <= 5
            if m and style != "roman" and glued_ok and titleish(title):
                num, sub = int(m.group(1)), m.group(2)
                if not sub:
                    strong = len(title.split()) <= 8 and (is_caps(title) or canonical_key(title) is not None)
                    if num == last_top + 1 or (num == 0 and last_top == 0) or (num == last_top + 2 and strong and last_top):
                        h = _Heading(i, s, title, True)
                        last_top, style = num, "arabic"
                elif num == last_top and style == "arabic" and sub.count(".") <= 3:
                    h = _Heading(i, s, title, False)
            elif r and style != "arabic" and titleish(r.group(2)):
                value = _roman(r.group(1))
                if value == last_roman + 1:
                    h = _Heading(i, s, r.group(2), True)
                    last_roman, style = value, "roman"
            elif style == "roman":
                m = _LETTER_RE.match(s)
                if m and m.group(2) and titleish(m.group(3), max_words=10):
                    h = _Heading(i, s, m.group(3), False)
        if h is not None:
            # an all-caps heading wrapped onto a second all-caps line ("3 DESIGNING AI SUPPORTS FOR" / "EXPOSITORY WRITING")
            if h.top and not h.rest and i + 1 < n and is_caps(h.title) and is_caps(lines[i + 1]):
                nxt = lines[i + 1].strip()
                if len(nxt.split()) <= 6 and titleish(nxt) and not _UNNUMBERED.match(nxt) and not _NUMBERED.match(nxt):
                    h.text += " " + nxt
                    h.title += " " + nxt
                    h.consumed = 2
            if h.top:
                key = canonical_key(h.title)
                if key == "references":
                    in_refs = in_refs or re.fullmatch(r"(references?|bibliography|literatur(verzeichnis)?)", h.title.strip().lower()) is not None
                elif key == "appendix":
                    in_appendix = True
                elif key == "introduction":
                    seen_intro = True
            headings.append(h)
            i += h.consumed
            continue
        i += 1
    return headings


class SectionSorter:
    """Files a document's top-level sections under canonical keys, in reading order.

    ``key_for(title)`` gives each heading its key (by its words, else by its position: after the
    introduction an unrecognised section is method, after experiments it is experiments; a "Summary" is
    the abstract before the introduction and the conclusion after it; everything after the references is
    appendix). ``add`` keeps the heading in the text unless it only names its key for the first time
    ("Introduction"). ``sections(front)`` is the result, with the text before the first heading.
    """

    def __init__(self) -> None:
        self.chunks: dict[str, list[str]] = collections.defaultdict(list)
        self.seen: set[str] = set()
        self.last_key: str | None = None
        self.after_refs = False

    def key_for(self, title: str) -> str:
        named = canonical_key(title)
        key = named
        if self.after_refs and key != "references":
            key = "appendix"
        elif key == "summary":
            key = "conclusion" if "introduction" in self.seen else "abstract"
        elif key is None:
            if self.last_key == "experiments":
                key = "experiments"
            elif self.last_key in ("introduction", "method") or (self.last_key == "body" and "introduction" in self.seen):
                key = "method"
            else:
                key = "body"
        if key == "references" and named == "references" and _REFERENCES_TITLE.fullmatch(title.strip().lower().rstrip(":.")):
            self.after_refs = True
        self.seen.add(key)
        self.last_key = key
        return key

    def add(self, key: str, heading: str, title: str, body: str) -> None:
        """One section's ``body`` under ``key``; ``heading`` is kept above it when it says more than the key."""
        text = body
        if self.chunks[key] or not _names_key(title, key):
            text = heading.strip() + ("\n\n" + body if body else "")
        if text.strip():
            self.chunks[key].append(text)

    def sections(self, front: Sequence[str] = (), *, front_min_chars: int = 0) -> dict[str, str]:
        """``{key: text}`` in canonical order. The ``front`` (text before the first heading) opens the body
        when there is no abstract and it is longer than ``front_min_chars``, or when nothing else was found."""
        front = [f for f in front if f.strip()]
        if front and "abstract" not in self.chunks and (
                not any(self.chunks.values()) or sum(len(f) for f in front) > front_min_chars):
            self.chunks["body"].insert(0, "\n\n".join(front))
        return {key: "\n\n".join(self.chunks[key]) for key in CANONICAL_KEYS if self.chunks.get(key)}


def split_sections(lines: Sequence[str]) -> dict[str, str]:
    """Cleaned document lines -> ``{canonical key: text}`` (see the module docstring for the mapping)."""
    vocab = vocabulary("\n".join(lines))
    headings = _detect_headings(lines)
    tops = [h for h in headings if h.top]
    if not tops:
        text = unwrap(lines, vocab)
        return {"body": text} if text.strip() else {}
    sub_at = {h.line: h for h in headings if not h.top}
    sorter = SectionSorter()
    for k, h in enumerate(tops):
        end = tops[k + 1].line if k + 1 < len(tops) else len(lines)
        key = sorter.key_for(h.title)
        # body of the section, subsections as their own paragraphs
        pieces: list[str] = []
        block: list[str] = [h.rest] if h.rest else []
        for idx in range(h.line + h.consumed, end):
            if idx in sub_at:
                pieces.append(unwrap(block, vocab))
                pieces.append(sub_at[idx].text)
                block = []
            else:
                block.append(lines[idx])
        pieces.append(unwrap(block, vocab))
        sorter.add(key, h.text, h.title, "\n\n".join(p for p in pieces if p.strip()))
    return sorter.sections([unwrap(lines[: tops[0].line], vocab)])
