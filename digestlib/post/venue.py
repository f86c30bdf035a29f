"""Where a paper was accepted or submitted, read from its arXiv comments and journal reference (no LLM).

A reader scanning a day wants to know, before opening a paper, whether it is an accepted ICASSP paper or a
manuscript under review. The authors say so in the comments field ("Accepted at ICASSP 2026", "Submitted to
EUSIPCO 2026", "Accepetd by IJCNLP-AACL 2025(Oral)", "IEEE International Conference on Acoustics, Speech
and Signal Processing (ICASSP) 2026") or in the journal reference. :func:`read_venues` turns that into
:class:`Venue` values: a canonical name from :data:`VENUES` (the table kept here) with its year, and a
:class:`~digestlib.base.models.VenueStatus`:

* ``ACCEPTED`` only when the authors say so: accepted (typos too), to appear, published, presented,
  camera-ready, in proceedings of, oral / poster / spotlight; or a journal reference (published work);
* ``SUBMITTED`` for submitted, under review, in submission;
* ``NAMED`` for a venue with its year and no status word ("EACL 2026. Code and data ..."): shown without
  a qualifier, never as accepted.

Nothing is read from copyright notices ("© 2026 IEEE. Personal use of this material is permitted ...",
"This work has been submitted to the IEEE for possible publication ..."), from earlier venues ("previously
submitted to ASRU 2025", "extended version of our ICASSP 2025 paper", "rejected from ..."), from
challenges ("the ICASSP 2026 Grand Challenge") or from a bare acronym without a year.

Owns: the venue table and the reading. Must not: format what a post shows (render.py and labels.py choose
the words), fetch anything or call the LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ..base.models import Paper, VenueMention, VenueStatus

__all__ = ["JOURNALS", "VENUES", "Venue", "paper_venues", "read_venues"]

Venue = VenueMention  # the value this module makes (defined in models.py, which PaperEntry carries it in)


# canonical name -> regular expressions of the ways authors write it (matched case-insensitively, as whole
# words). Long forms first where one contains another; "ACL" never matches inside "EACL" or "NAACL".
VENUES: dict[str, tuple[str, ...]] = {
    "ICASSP": (r"IEEE\s+International\s+Conference\s+on\s+Acoustics,?\s+Speech,?\s+and\s+Signal\s+Processing"
               r"(?:\s*\(\s*ICASSP\s*\))?", r"ICASSP"),
    "Interspeech": (r"INTERSPEECH", r"Annual\s+Conference\s+of\s+the\s+International\s+Speech\s+Communication"
                    r"\s+Association"),
    "TASLP": (r"(?:IEEE\s*/\s*ACM\s+|IEEE\s+)?Transactions\s+on\s+Audio,?\s+Speech,?\s+and\s+Language\s+Processing",
              r"(?:IEEE\s*/\s*ACM\s+|IEEE\s+)?Trans\.\s*(?:on\s+)?Audio,?\s+Speech,?\s+(?:and\s+)?Lang\.\s*Process\.?",
              r"(?:IEEE\s*/\s*ACM\s+)?T-?ASLP"),
    "IEEE SPL": (r"IEEE\s+Signal\s+Processing\s+Letters", r"IEEE\s+SPL"),
    "IEEE JSTSP": (r"IEEE\s+Journal\s+of\s+Selected\s+Topics\s+in\s+Signal\s+Processing", r"J-?STSP"),
    "IEEE TPAMI": (r"IEEE\s+Transactions\s+on\s+Pattern\s+Analysis\s+and\s+Machine\s+Intelligence", r"T-?PAMI"),
    "JASA": (r"Journal\s+of\s+the\s+Acoustical\s+Society\s+of\s+America", r"JASA"),
    "EURASIP JASMP": (r"EURASIP\s+Journal\s+on\s+Audio,?\s+Speech,?\s+and\s+Music\s+Processing",),
    "Computer Speech & Language": (r"Computer\s+Speech\s+(?:&|and)\s+Language",),
    "Speech Communication": (r"Speech\s+Communication(?=\s*(?:\(|journal|$|[.,;]))",),
    "TISMIR": (r"Transactions\s+of\s+the\s+International\s+Society\s+for\s+Music\s+Information\s+Retrieval",
               r"TISMIR"),
    "ISMIR": (r"International\s+Society\s+for\s+Music\s+Information\s+Retrieval\s+Conference", r"ISMIR"),
    "EUSIPCO": (r"European\s+Signal\s+Processing\s+Conference", r"EUSIPCO"),
    "WASPAA": (r"IEEE\s+Workshop\s+on\s+Applications\s+of\s+Signal\s+Processing\s+to\s+Audio\s+and\s+Acoustics",
               r"WASPAA"),
    "IWAENC": (r"IWAENC",),
    "ASRU": (r"IEEE\s+Automatic\s+Speech\s+Recognition\s+and\s+Understanding\s+Workshop", r"ASRU"),
    "SLT": (r"IEEE\s+Spoken\s+Language\s+Technology\s+Workshop", r"SLT"),
    "APSIPA ASC": (r"APSIPA(?:\s+ASC)?",),
    "ISCSLP": (r"ISCSLP",),
    "SSW": (r"Speech\s+Synthesis\s+Workshop", r"SSW"),
    "Odyssey": (r"Odyssey",),
    "DCASE": (r"DCASE(?:\s+Workshop)?",),
    "ICME": (r"ICME",),
    "ACM MM": (r"ACM\s+(?:International\s+Conference\s+on\s+)?Multimedia", r"ACM\s*MM"),
    "DAFx": (r"DAFx",),
    "NeurIPS": (r"Neural\s+Information\s+Processing\s+Systems", r"NeurIPS", r"NIPS"),
    "ICML": (r"International\s+Conference\s+on\s+Machine\s+Learning", r"ICML"),
    "ICLR": (r"International\s+Conference\s+on\s+Learning\s+Representations", r"ICLR"),
    "AAAI": (r"AAAI(?:\s+Conference\s+on\s+Artificial\s+Intelligence)?",),
    "IJCAI": (r"IJCAI",),
    "AISTATS": (r"AISTATS",),
    "TMLR": (r"Transactions\s+on\s+Machine\s+Learning\s+Research", r"TMLR"),
    "IJCNLP-AACL": (r"IJCNLP\s*-\s*AACL", r"AACL\s*-\s*IJCNLP"),
    "Findings of EACL": (r"Findings\s+of\s+(?:the\s+)?EACL", r"EACL\s+Findings"),
    "Findings of ACL": (r"Findings\s+of\s+(?:the\s+)?ACL", r"ACL\s+Findings"),
    "Findings of EMNLP": (r"Findings\s+of\s+(?:the\s+)?EMNLP", r"EMNLP\s+Findings"),
    "Findings of NAACL": (r"Findings\s+of\s+(?:the\s+)?NAACL", r"NAACL\s+Findings"),
    "EACL": (r"EACL",),
    "NAACL": (r"NAACL(?:\s*-\s*HLT)?",),
    "AACL": (r"AACL",),
    "EMNLP": (r"Empirical\s+Methods\s+in\s+Natural\s+Language\s+Processing", r"EMNLP"),
    "ACL": (r"Annual\s+Meeting\s+of\s+the\s+Association\s+for\s+Computational\s+Linguistics", r"ACL"),
    "COLING": (r"COLING",),
    "LREC": (r"LREC(?:\s*-\s*COLING)?",),
    "CVPR": (r"Conference\s+on\s+Computer\s+Vision\s+and\s+Pattern\s+Recognition", r"CVPR"),
    "ICCV": (r"ICCV",),
    "ECCV": (r"ECCV",),
    "WACV": (r"WACV",),
    "ICPR": (r"ICPR",),
    "ICIP": (r"ICIP",),
    "KDD": (r"KDD",),
    "SIGIR": (r"SIGIR",),
    "CHI": (r"CHI(?=\s*'?\d)",),
}

# Journals: named without a year ("submitted to IEEE/ACM TASLP"); a conference needs its year unless a
# status word is said of it ("Accepted at ICASSP").
JOURNALS = frozenset({"TASLP", "IEEE SPL", "IEEE JSTSP", "IEEE TPAMI", "JASA", "EURASIP JASMP",
                      "Computer Speech & Language", "Speech Communication", "TISMIR", "TMLR"})

# Venues that are workshops themselves: "WASPAA 2025 workshop" stays "WASPAA 2025".
_WORKSHOPS = frozenset({"WASPAA", "ASRU", "SLT", "SSW", "DCASE", "IWAENC"})

# Words that make the acronym a different thing: "the ICASSP 2026 Grand Challenge" is not a venue.
_NOT_A_VENUE_AFTER = re.compile(r"\s*(?:(?:19|20)\d{2}\s*)?(?:grand\s+)?(?:challenge|competition|shared\s+task|"
                                r"dataset|style|template|format)\b", re.IGNORECASE)
_WORKSHOP_AFTER = re.compile(r"^[^.;]{0,40}?\bworkshops?\b", re.IGNORECASE)
_YEAR_AFTER = re.compile(r"\s*(?:[-'’]\s*)?(?:(?P<y4>(?:19|20)\d{2})(?!\d)|(?<=['’])(?P<y2>\d{2})(?!\d))")
_YEAR_BEFORE = re.compile(r"(?<!\d)(?P<y4>(?:19|20)\d{2})(?:\s+IEEE)?\s*$")

_ACCEPTED = re.compile(
    r"\b(?:accepted|acceptance|to\s+appear|appears?\s+in|published|presented|camera[-\s]?ready|in\s+proceedings"
    r"|proc\.|proceedings\s+of|oral|poster|spotlight|main\s+conference|main\s+track)(?![A-Za-z])",
    re.IGNORECASE)
_SUBMITTED = re.compile(r"\b(?:submitted|submission|under\s+review|in\s+review|under\s+consideration|"
                        r"resubmitted|revised\s+for)(?![A-Za-z])", re.IGNORECASE)
# An earlier venue of this work or another: never read as this paper's venue.
_EARLIER = re.compile(r"\b(?:previously|formerly|earlier|rejected|withdrawn\s+from|extended\s+version\s+of|"
                      r"extension\s+of|extends\s+our|prior\s+version)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{7,9}")

# Copyright and publisher notices: their sentences are dropped before reading.
_NOTICE = re.compile(
    r"©|\(c\)\s*(?:19|20)\d{2}|\bcopyright\b|personal\s+use\s+of\s+this\s+material|permission\s+from\s+ieee"
    r"|for\s+possible\s+publication|may\s+be\s+transferred\s+without\s+notice|no\s+longer\s+be\s+accessible"
    r"|creative\s+commons|\bCC[-\s]BY\b",
    re.IGNORECASE)
# Sentence ends, but not after the abbreviations of venue names ("Proc. of", "IEEE Trans. Audio").
_ABBREVIATIONS = ("Proc", "proc", "Conf", "conf", "Int", "Intl", "Trans", "Lang", "Process", "Vol", "vol", "No",
                  "pp", "Symp", "Assoc", "Comput", "Ling", "Sig", "Acoust", "Soc", "Am", "J")
_SENTENCE = re.compile("".join(f"(?<!\\b{a}\\.)" for a in _ABBREVIATIONS) + r"(?<=[.;!?])\s+|\s*\n\s*")

# A venue not in the table: the capitalised words after "submitted to" / "accepted at" ...
_GENERIC = re.compile(
    r"\b(?P<verb>(?i:submitted|accepted|to\s+appear|published))\s+(?i:for\s+(?:presentation|publication)\s+)?"
    r"(?i:at|to|by|in|for|with)\s+(?:the\s+)?"
    r"(?P<name>[A-Z][\w&/-]*(?:\s+(?:(?:of|on|for|and|in|the|&)\s+)*[A-Z][\w&/-]*){0,9})")
_PUBLISHERS = {"ieee", "acm", "ieee/acm", "springer", "elsevier", "arxiv", "journal", "conference", "mdpi", "wiley",
               "iop", "nature", "frontiers", "this", "a", "an", "our", "review", "publication"}

_VENUE_RES = [(name, re.compile(r"(?<![A-Za-z])(?:" + "|".join(forms) + r")(?![A-Za-z])", re.IGNORECASE))
              for name, forms in VENUES.items()]


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    venue: str  # canonical
    year: str  # "" when none is written
    workshop: bool

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.venue, self.year, "Workshop" if self.workshop else "") if p)

    @property
    def needs_status(self) -> bool:
        """A conference named without a year is read only when a status word goes with it."""
        return not self.year and self.venue not in JOURNALS


def _year(text: str, start: int, end: int) -> str:
    after = _YEAR_AFTER.match(text, end)
    if after:
        return after.group("y4") or f"20{after.group('y2')}"
    before = _YEAR_BEFORE.search(text[max(0, start - 12):start])
    return before.group("y4") if before else ""


def _mentions(text: str) -> list[_Mention]:
    """Venues of the table named in ``text``, left to right; of overlapping ones the longest."""
    found: list[tuple[int, int, str]] = []
    for name, pattern in _VENUE_RES:
        for m in pattern.finditer(text):
            found.append((m.start(), m.end(), name))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[_Mention] = []
    last_end = -1
    for start, end, name in found:
        if start < last_end:
            continue
        last_end = end
        if _NOT_A_VENUE_AFTER.match(text, end):
            continue
        kept.append(_Mention(start, end, name, _year(text, start, end), name not in _WORKSHOPS and bool(_WORKSHOP_AFTER.match(text[end:]))))
    return kept


def _looks_accepted(word: str) -> bool:
    """"Accepetd", "Acceptde", "Acceped", "Acccepted": a transposition, a missing or an extra letter."""
    w, target = word.lower(), "accepted"
    if w == target or sorted(w) == sorted(target):
        return True
    shorter, longer = (w, target) if len(w) < len(target) else (target, w)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def _last_status(text: str) -> tuple[int, VenueStatus] | None:
    last: tuple[int, VenueStatus] | None = None
    for pattern, status in ((_ACCEPTED, VenueStatus.ACCEPTED), (_SUBMITTED, VenueStatus.SUBMITTED)):
        for m in pattern.finditer(text):
            if last is None or m.start() > last[0]:
                last = (m.start(), status)
    for m in _WORD.finditer(text):
        if (last is None or m.start() > last[0]) and _looks_accepted(m.group(0)):
            last = (m.start(), VenueStatus.ACCEPTED)
    return last


def _status_after(tail: str) -> VenueStatus | None:
    """A status right after the name: "ICASSP 2026 (Accepted)", "EUSIPCO 2026, under review"."""
    found = _last_status(tail[:40])
    return found[1] if found else None


def _sentences(comment: str) -> list[str]:
    """The comment's sentences without copyright or publisher notices."""
    return [s for s in _SENTENCE.split(comment) if s.strip() and not _NOTICE.search(s)]


def _read_sentence(sentence: str) -> list[Venue]:
    venues: list[Venue] = []
    mentions = _mentions(sentence)
    previous_end = 0
    for k, mention in enumerate(mentions):
        before = sentence[previous_end:mention.start]
        next_start = mentions[k + 1].start if k + 1 < len(mentions) else len(sentence)
        previous_end = mention.end
        if _EARLIER.search(before):
            continue
        found = _last_status(before)
        status = found[1] if found else _status_after(sentence[mention.end:next_start])
        if status is None:
            if mention.needs_status:
                continue
            status = VenueStatus.NAMED
        venues.append(Venue(mention.name, status))
    if not mentions:
        venues.extend(_generic(sentence))
    return venues


def _generic(sentence: str) -> Iterable[Venue]:
    """A venue outside the table, named after a status verb: "Submitted to European Journal of Neuroscience"."""
    for m in _GENERIC.finditer(sentence):
        if _EARLIER.search(sentence[:m.start()]):
            continue
        name = m.group("name").strip()
        if name.lower() in _PUBLISHERS or len(name) < 3:
            continue
        status = VenueStatus.SUBMITTED if m.group("verb").lower().startswith("submitted") else VenueStatus.ACCEPTED
        year = _YEAR_AFTER.match(sentence, m.end())
        if year and year.group("y4"):
            name = f"{name} {year.group('y4')}"
        yield Venue(name, status)


def _journal_ref_venue(journal_ref: str) -> Venue | None:
    """A journal reference is published work: its venue from the table, else the reference itself."""
    ref = " ".join(journal_ref.split())
    if not ref:
        return None
    mentions = _mentions(ref)
    if mentions:
        return Venue(mentions[0].name, VenueStatus.ACCEPTED)
    return Venue(ref if len(ref) <= 80 else ref[:79].rstrip() + "…", VenueStatus.ACCEPTED)


_RANK = {VenueStatus.ACCEPTED: 0, VenueStatus.SUBMITTED: 1, VenueStatus.NAMED: 2}


def read_venues(comment: str | None, journal_ref: str | None = None) -> tuple[Venue, ...]:
    """Every venue the authors name, each once (the strongest status kept), accepted ones first."""
    found: list[Venue] = []
    if journal_ref:
        venue = _journal_ref_venue(journal_ref)
        if venue is not None:
            found.append(venue)
    for sentence in _sentences(comment or ""):
        found.extend(_read_sentence(sentence))
    best: dict[str, Venue] = {}
    for venue in found:
        key = venue.name.casefold()
        if key not in best or _RANK[venue.status] < _RANK[best[key].status]:
            best[key] = venue
    return tuple(sorted(best.values(), key=lambda v: _RANK[v.status]))


def paper_venues(paper: Paper) -> tuple[Venue, ...]:
    """:func:`read_venues` over the paper's own comments and journal reference."""
    return read_venues(paper.comment, paper.journal_ref)
