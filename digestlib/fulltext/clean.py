"""Cleaning extracted text: ligatures, the arXiv side stamp, page numbers, running headers and footers,
hyphenation, lines joined into paragraphs, titles tidied.

Pure functions over strings, shared by the PDF and HTML readers. Must not read files, know about pypdf or
HTML, or decide what a heading is (that is ``sections.py``).
"""

from __future__ import annotations

import collections
import math
import re
import unicodedata
from typing import Sequence

from ..source.ids import ID_PATTERN

__all__ = ["clean_pages", "clean_title", "normalize_text", "title_words", "unwrap", "vocabulary"]


_LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
    "\ufb06": "st", "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00a0": " ",
    "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\r\n": "\n", "\r": "\n", "\f": "\n",
}
_LIG_RE = re.compile("|".join(map(re.escape, sorted(_LIGATURES, key=len, reverse=True))))

# "arXiv:2601.15240v1 [cs.SD] 21 Jan 2026" (new ids) and "arXiv:math/0601001v2 [math.AG] 3 Jan 2006".
_STAMP_RE = re.compile(
    r"arXiv\s*:\s*" + ID_PATTERN + r"v\d+\s*\[[^\]\n]{1,20}\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}"
)
_STAMP_SQUASHED = re.compile(rf"arXiv:?{ID_PATTERN}v\d+")
_PAGE_NUMBER_RE = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$|^[ivxlc]{1,6}$", re.IGNORECASE
)


# PDFium marks a hyphen at a line break with the noncharacter U+FFFE and joins the two lines: it becomes the
# hyphen and the line break again, so ``unwrap`` decides whether the word was split or hyphenated (as with
# pypdf's text). Other control characters (U+0002 and the like: glyphs a font maps to no letter), U+FFFF
# and lone surrogates are dropped; a tab is a space. None of them may reach a prompt.
_LINE_HYPHEN = "\ufffe"
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\uffff\ud800-\udfff]")


def normalize_text(text: str) -> str:
    """Ligatures to letters, odd spaces to spaces, soft hyphens and zero-width characters removed, line ends
    (``\\r\\n``) to ``\\n``, PDFium's line-break hyphen (U+FFFE) to ``-`` and a line break, control characters
    dropped."""
    text = _LIG_RE.sub(lambda m: _LIGATURES[m.group(0)], text)
    if _LINE_HYPHEN in text:
        text = text.replace(_LINE_HYPHEN, "-\n")
    text = _CONTROL_RE.sub("", text.replace("\t", " "))
    return unicodedata.normalize("NFC", text)


def _remove_stamp(lines: list[str]) -> list[str]:
    """Drop the arXiv side stamp, whether it comes out as one line or one character per line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        # a run of very short lines may be the vertical stamp, one glyph per line
        if len(lines[i].strip()) <= 2:
            j = i
            while j < len(lines) and len(lines[j].strip()) <= 2:
                j += 1
            if j - i >= 10:
                run = "".join(x.strip() for x in lines[i:j])
                if _STAMP_SQUASHED.search(run) or _STAMP_SQUASHED.search(run[::-1]):
                    i = j
                    continue
            out.extend(lines[i:j])
            i = j
            continue
        line = _STAMP_RE.sub("", lines[i])
        if line.strip() or not lines[i].strip():
            out.append(line.rstrip())
        i += 1
    return out


def _edge_key(line: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.strip().lower()))


def clean_pages(pages: Sequence[str]) -> list[list[str]]:
    """Per page: normalised lines without the arXiv stamp, bare page numbers and running headers/footers.

    A header or footer is a line among the first or last three of a page whose text (digits ignored) comes
    back at the edge of at least two pages and of at least 30 % of the pages.
    """
    paged = [_remove_stamp(normalize_text(p or "").split("\n")) for p in pages]
    paged = [[ln.rstrip() for ln in lines if ln.strip()] for lines in paged]
    edge = 3
    counts: collections.Counter[str] = collections.Counter()
    for lines in paged:
        keys = {_edge_key(ln) for ln in lines[:edge] + lines[-edge:]}
        counts.update(k for k in keys if k and k != "#")
    threshold = max(2, math.ceil(0.3 * len(paged)))
    repeated = {k for k, c in counts.items() if c >= threshold} if len(paged) >= 2 else set()
    cleaned: list[list[str]] = []
    for lines in paged:
        keep = []
        for idx, ln in enumerate(lines):
            at_edge = idx < edge or idx >= len(lines) - edge
            if at_edge and (_PAGE_NUMBER_RE.match(ln.strip()) or _edge_key(ln) in repeated):
                continue
            keep.append(ln)
        cleaned.append(keep)
    return cleaned


_COMPOUND_PREFIXES = {
    "self", "non", "well", "state", "real", "end", "high", "low", "long", "short", "large", "small", "multi",
    "cross", "semi", "fine", "open", "zero", "few", "one", "two", "three", "four", "five", "data", "task",
    "domain", "text", "speech", "audio", "speaker", "user", "time", "frequency", "sequence", "token", "word",
    "character", "sentence", "human", "machine", "rule", "model", "context", "language", "full", "half",
    "top", "bottom", "left", "right", "first", "second", "third", "single", "double", "pre", "post", "co",
    "sub", "inter", "intra", "over", "under", "out", "in", "on", "off", "up", "down", "so", "ill", "all",
}


def vocabulary(text: str) -> set[str]:
    """The words a document uses (lower case, hyphenated forms kept), to repair line-end hyphens."""
    return set(re.findall(r"[^\W\d_][\w\-’']*", text.lower()))


def _join_hyphenated(left: str, right: str, vocab: set[str]) -> str:
    """Join ``left`` (ending with ``word-``) and ``right``: ``speci-`` + ``fic`` -> ``specific``.

    The hyphen is kept (``state-of-the-`` + ``art`` -> ``state-of-the-art``) when the document uses the
    hyphenated form but never the joined one, when the left part is itself already hyphenated or a common
    compound prefix, or when the next line starts with a capital or a digit (``GPT-`` + ``4o``).
    """
    m = re.search(r"([^\W\d_][\w\-]*)-$", left)
    n = re.match(r"([\w\-’']+)", right)
    if not m or not n:
        return left + right
    head, tail = m.group(1), n.group(1)
    joined = (head + tail).lower()
    hyphenated = (head + "-" + tail).lower()
    if not tail[0].islower():
        keep = True
    elif joined in vocab:
        keep = False
    elif hyphenated in vocab or "-" in head or head.lower() in _COMPOUND_PREFIXES:
        keep = True
    else:
        keep = False
    return left + right if keep else left[:-1] + right


_BULLET_RE = re.compile(r"^(?:[•●▪◦∙·\-–—*]\s|\(\w{1,3}\)\s|\[\d+\]|(?:Figure|Fig\.|Table|Algorithm)\s+\d+[:.])")


def unwrap(lines: Sequence[str], vocab: set[str]) -> str:
    """Join PDF lines into paragraphs: hyphen splits repaired, a short line ending a sentence ends the paragraph."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if not lines:
        return ""
    lengths = sorted(len(ln) for ln in lines)
    typical = lengths[int(0.8 * (len(lengths) - 1))] if lengths else 80
    paragraphs: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        if not current:
            current = line
        elif _BULLET_RE.match(line) and not current.endswith("-"):
            paragraphs.append(current)
            current = line
        elif current.endswith("-") and len(current) > 1 and current[-2].isalpha():
            current = _join_hyphenated(current, line, vocab)
        else:
            current = current + " " + line
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        short = len(line) < 0.75 * typical
        if nxt and short and re.search(r"[.!?:]['\"”’)]*$", line):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n\n".join(re.sub(r"[ \t]{2,}", " ", p) for p in paragraphs)



def clean_title(text: str) -> str:
    """A title on one line: normalised, spaces collapsed, trailing footnote marks and commas removed."""
    t = normalize_text(text).replace("\n", " ")
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"[\s∗*†‡§¶♦♣♠⋄□,]+$", "", t)
    return t


def title_words(t: str) -> list[str]:
    """The lower-cased words of a title, for comparing two spellings of it."""
    return re.findall(r"\w+", t.lower())
