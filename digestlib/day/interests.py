"""The reader's interests -> a relevance score and its reasons for each paper, with no LLM call.

Interests come from the parameter file (``interests:``; see ``config.InterestSettings``): weighted keywords,
negative keywords (penalties) and followed authors. They rank and mark papers; they never drop one (the
``include_keywords`` / ``exclude_keywords`` filter does that, as before). The score is plain arithmetic a
reader can check from the reasons shown next to it:

    score = sum of the weights of the keywords found in the title or abstract
          + author_weight for each followed author on the paper
          - the penalty of each negative keyword found

A paper is *for you* (marked ★ in the post, the report and the review cards) when its score reaches
``min_score``. Keywords match whole words, case-insensitively, with a space and a hyphen interchangeable
("speech enhancement" finds "Speech-Enhancement" but "TTS" does not find "attestations"). A followed author
matches the same name with accents and punctuation ignored, or the same family name with the same first
initial ("Shinji Watanabe" follows "S. Watanabe").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from ..base.config import InterestSettings
from ..base.models import Paper

__all__ = ["Relevance", "score_paper", "score_papers", "by_relevance", "most_relevant"]


@dataclass(frozen=True)
class Relevance:
    """A paper's score against the interests, and why."""

    score: float
    keywords: tuple[str, ...] = ()  # matched keywords, as configured
    authors: tuple[str, ...] = ()  # matched followed authors, as written on the paper
    negatives: tuple[str, ...] = ()  # matched negative keywords
    marked: bool = False  # score >= min_score with at least one keyword or author

    @property
    def reasons(self) -> tuple[str, ...]:
        """Human-readable reasons, positives first: ``speech enhancement``, ``Shinji Watanabe``, ``−music``."""
        return (*self.keywords, *self.authors, *(f"−{n}" for n in self.negatives))

    @property
    def terms(self) -> tuple[str, ...]:
        """What the ★ mark shows: the matched keywords and followed authors."""
        return (*self.keywords, *self.authors)


NO_RELEVANCE = Relevance(0.0)


@lru_cache(maxsize=1024)
def _keyword_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s\-]+", term.strip()) if w]
    body = r"[\s\-]+".join(words)
    start = r"(?<!\w)" if re.match(r"\w", term.strip()) else ""
    end = r"(?!\w)" if re.search(r"\w$", term.strip()) else ""
    return re.compile(start + body + end, re.IGNORECASE)


def _mentions(text: str, term: str) -> bool:
    return bool(_keyword_pattern(term).search(text))


def _name_tokens(name: str) -> tuple[str, ...]:
    """``"José  M. García-López"`` -> ``("jose", "m", "garcia", "lopez")``: accents, case, punctuation gone."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return tuple(re.findall(r"\w+", text))


def _same_author(followed: str, written: str) -> bool:
    a, b = _name_tokens(followed), _name_tokens(written)
    if not a or not b:
        return False
    if a == b:
        return True
    # same family name (last token), and the given names agree on the first initial
    return len(a) >= 2 and len(b) >= 2 and a[-1] == b[-1] and a[0][0] == b[0][0] and (
        len(a[0]) == 1 or len(b[0]) == 1 or a[0] == b[0])


def score_paper(paper: Paper, interests: InterestSettings) -> Relevance:
    """The paper's relevance (no I/O, no LLM)."""
    if not (interests.keywords or interests.authors or interests.negative_keywords):
        return NO_RELEVANCE
    text = f"{paper.title}\n{paper.abstract}"
    keywords = tuple(k for k in interests.keywords if _mentions(text, k))
    negatives = tuple(k for k in interests.negative_keywords if _mentions(text, k))
    authors = tuple(w for w in paper.authors if any(_same_author(f, w) for f in interests.authors))
    score = (sum(interests.keywords[k] for k in keywords) + interests.author_weight * len(authors)
             - sum(interests.negative_keywords[k] for k in negatives))
    score = round(score, 3)
    marked = bool(keywords or authors) and score >= interests.min_score
    return Relevance(score, keywords, authors, negatives, marked)


def score_papers(papers: Iterable[Paper], interests: InterestSettings) -> dict[tuple[str, int], Relevance]:
    """``(arxiv_id, version) -> Relevance`` for every paper."""
    return {(p.arxiv_id, p.version): score_paper(p, interests) for p in papers}


def by_relevance(papers: Sequence[Paper], interests: InterestSettings) -> list[Paper]:
    """The papers, most relevant first; ties keep the given (listing) order."""
    scores = score_papers(papers, interests)
    order = {id(p): k for k, p in enumerate(papers)}
    return sorted(papers, key=lambda p: (-scores[(p.arxiv_id, p.version)].score, order[id(p)]))


def most_relevant(papers: Sequence[Paper], interests: InterestSettings, n: int) -> set[tuple[str, int]]:
    """The ``(arxiv_id, version)`` of the ``n`` most relevant papers (all of them when ``n`` is 0).

    With no interests configured every score is 0, so these are the first ``n`` in the given order."""
    if n <= 0:
        return {(p.arxiv_id, p.version) for p in papers}
    return {(p.arxiv_id, p.version) for p in by_relevance(papers, interests)[:n]}
