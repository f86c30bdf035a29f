"""No endpoint configured: the English abstract, and an extractive LexRank summary in three parts.

Owns: :func:`offline_translation`, :func:`offline_interpretation` (sumy's LexRank over pysbd sentences,
picked per part from section titles, with the abstract split at "we propose" / "results show" cues) and
the sentence filters (no table rows, captions or fragments). Must not: call the LLM or read the network
(sumy's NLTK data is never needed: pysbd splits sentences).

Loaded on first use, since most runs have an endpoint: sumy's LexRank (inside :func:`_summarize`: submodules
that pull in numpy, which ``lazy_loader`` would import at once, and whose lazy modules are not safe to
load from the several threads that summarise at once).
"""

from __future__ import annotations

import re
import threading
from typing import Protocol

import pysbd

from ..post.markup import clean_answer_markdown
from ..base.models import Interpretation, Paper, ResultStatus
from .results import PARTS, InterpretationResult, TranslationResult, is_abstract_only
from .translate import keep_original, translation_needed


def offline_translation(paper: Paper, lang: str = "zh") -> TranslationResult:
    """No endpoint: the English abstract, labelled by its status (for English output it is the answer:
    ``DONE``, as with an endpoint, :func:`~digestlib.tasks.translate.keep_original`)."""
    if not translation_needed(lang):
        return keep_original(paper)
    return TranslationResult(ResultStatus.OFFLINE, paper.abstract.strip(),
                             "no LLM endpoint configured: the English abstract is shown")


class _Segmenter(Protocol):
    def segment(self, text: str) -> list[str]: ...


class PysbdTokenizer:
    """A sumy tokenizer on pysbd (sumy's default needs NLTK punkt data, which cannot be downloaded here)."""

    language = "english"
    _local = threading.local()

    def _segmenter(self) -> _Segmenter:
        seg = getattr(self._local, "segmenter", None)
        if seg is None:
            seg = self._local.segmenter = pysbd.Segmenter(language="en", clean=False)
        return seg

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.strip() for s in self._segmenter().segment(paragraph) if s and s.strip())

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(re.findall(r"[A-Za-z][A-Za-z0-9'-]*|\d+(?:\.\d+)?", sentence))


_ROLE_RES = (
    ("results", re.compile(r"experiment|result|evaluat|conclu|discussion|analys|ablation|benchmark|summary|"
                           r"finding|performance|comparison", re.I)),
    ("method", re.compile(r"method|approach|model|architecture|framework|system|propos|design|formulation|"
                          r"algorithm|pipeline|training|implementation|dataset|data|setup", re.I)),
    ("background", re.compile(r"abstract|introduction|background|motivation|related|prior|overview|preliminar",
                              re.I)),
)
_METHOD_CUE = re.compile(r"\b(?:we|this (?:paper|work|study)|in this (?:paper|work|study)|here)\b[^.]*?\b"
                         r"(?:propose|present|introduce|develop|design|describe|investigate|study|explore)", re.I)
_RESULT_CUE = re.compile(r"\b(?:results?|experiments?|show|shows|demonstrat|achiev|outperform|improv|evaluat|"
                         r"reduc|accuracy|state-of-the-art)", re.I)
_SKIP_SECTIONS = re.compile(r"reference|bibliograph|acknowledg|appendix|supplementary", re.I)


def _sections(paper_text: str) -> list[tuple[str, str]]:
    pieces = re.split(r"(?m)^#{1,3}\s+(.+?)\s*$", paper_text or "")
    sections: list[tuple[str, str]] = []
    if pieces[0].strip():
        sections.append(("body", pieces[0]))
    for i in range(1, len(pieces) - 1, 2):
        sections.append((pieces[i], pieces[i + 1]))
    return sections


def _role(title: str) -> str | None:
    if _SKIP_SECTIONS.search(title):
        return "skip"
    for role, rx in _ROLE_RES:
        if rx.search(title):
            return role
    return None


_NUMBER_TOKEN = re.compile(r"^[(\[]?[-+±~≈<>]?\d+(?:[.,]\d+)*%?[)\],;:]?$")
_FUNCTION_WORDS = frozenset(
    "a an the of to in on for with by from as at is are was were be been this that these those we our it its "
    "and or but not than which while when where can could may might will would should has have had do does "
    "into over under between both each more most less only also such their they there here".split())


def _table_like(s: str) -> bool:
    """A flattened table row or caption run ("System Cue SI-SDRi (dB) WER (%) Mixture - 0.0 48.3 ..."):
    numbers side by side, or many numbers among words that make no sentence (almost no function words)."""
    tokens = s.split()
    numeric = [bool(_NUMBER_TOKEN.match(t)) for t in tokens]
    # "9.8 26.1" is a table; "1.2, 0.8, 0.5 and 0.3" is a sentence listing numbers
    adjacent = sum(1 for i in range(len(tokens) - 1)
                   if numeric[i] and numeric[i + 1] and not tokens[i].endswith((",", ";")))
    if adjacent >= 2:
        return True
    numbers = sum(numeric)
    function = sum(1 for t in tokens if t.lower().strip(".,;:()[]") in _FUNCTION_WORDS)
    return numbers >= 4 and function < 0.1 * len(tokens)


def quotable_sentence(s: str) -> bool:
    """A sentence an extractive summary may quote: prose, not a caption, a table row or a fragment."""
    letters = len(re.findall(r"[A-Za-z]", s))
    return (30 <= len(s) <= 500 and letters >= 0.5 * len(s) and not re.match(r"^(?:Fig(?:ure)?|Table)\.?\s*\d", s)
            and not _table_like(s))


def _summarize(sentences: list[str], count: int, tokenizer: PysbdTokenizer) -> list[str]:
    sentences = list(dict.fromkeys(s for s in sentences if quotable_sentence(s)))
    if len(sentences) <= count:
        return sentences
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in sentences])])
    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    chosen = {str(s) for s in summarizer(document, count)}
    return [s for s in sentences if s in chosen][:count]


def offline_interpretation(paper: Paper, paper_text: str, *, per_part: int = 3,
                           max_chars_per_section: int = 6000) -> InterpretationResult:
    """No endpoint: an extractive LexRank summary of the paper's own sentences for each part.

    Background comes from the abstract/introduction, method from method-like sections, results from
    experiments/conclusion; parts without a matching section fall back to the abstract's sentences
    (split at "we propose ..." and "results show ..." cues).
    """
    abstract_only = is_abstract_only(paper, paper_text)
    tokenizer = PysbdTokenizer()
    buckets: dict[str, list[str]] = {k: [] for k in PARTS}
    abstract = paper.abstract.strip()
    if not abstract_only:
        for title, body in _sections(paper_text):
            role = _role(title)
            if re.fullmatch(r"\s*(?:abstract|摘要)\s*", title, re.I):
                abstract = abstract or body.strip()  # split below like the paper's own abstract
                continue
            if role == "skip":
                continue
            sentences = list(tokenizer.to_sentences(re.sub(r"\s+", " ", body[:max_chars_per_section])))
            if role is None:  # unknown section: by position in thirds
                third = max(1, len(sentences) // 3)
                buckets["background"] += sentences[:third]
                buckets["method"] += sentences[third:2 * third]
                buckets["results"] += sentences[2 * third:]
            else:
                buckets[role] += sentences
    if abstract_only and not abstract:
        abstract = (paper_text or "").strip()
    abstract_sentences = list(tokenizer.to_sentences(re.sub(r"\s+", " ", abstract)))
    split_m = next((i for i, s in enumerate(abstract_sentences) if _METHOD_CUE.search(s)), None)
    split_r = next((i for i, s in enumerate(abstract_sentences)
                    if i > (split_m if split_m is not None else 0) and _RESULT_CUE.search(s)), None)
    if split_m is None:
        split_m = max(1, len(abstract_sentences) // 3)
    if split_r is None:
        split_r = max(split_m + 1, 2 * len(abstract_sentences) // 3)
    from_abstract = {
        "background": abstract_sentences[:split_m] or abstract_sentences[:1],
        "method": abstract_sentences[split_m:split_r],
        "results": abstract_sentences[split_r:],
    }
    parts: dict[str, str] = {}
    for key in PARTS:
        pool = (from_abstract[key] + buckets[key]) if key == "background" else (buckets[key] or from_abstract[key])
        chosen = _summarize(pool, per_part, tokenizer) or _summarize(from_abstract[key], per_part, tokenizer)
        lines = [f"- {clean_answer_markdown(s).replace(chr(10), ' ')}" for s in chosen]
        parts[key] = "\n".join(ln for ln in lines if len(ln) > 2) or "- (no matching sentences in the paper text)"
    return InterpretationResult(
        ResultStatus.OFFLINE, Interpretation(**parts),
        "no LLM endpoint configured: extractive summary of the paper's own sentences",
        (), "abstract" if abstract_only else "fulltext", model="", prompt_version="offline-lexrank")
