"""Plain data passed between the stages (see DESIGN.md: each arrow is a function call with dataclasses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

# The two LLM tasks of a paper: the names its results are stored under.
TRANSLATE, INTERPRET = "translate", "interpret"


class AnnounceType(str, Enum):
    """How a paper appears in an announcement (``arxiv:announce_type`` in the RSS feed)."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"

    @property
    def is_new(self) -> bool:
        """New submissions and cross-lists count as new; replacements never do."""
        return self in (AnnounceType.NEW, AnnounceType.CROSS)


@dataclass(frozen=True)
class Paper:
    """One arXiv paper as announced: metadata only, no derived text."""

    arxiv_id: str  # without version, e.g. "2601.15240" or "math/0601001"
    version: int  # 1 for "v1"
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # primary first
    abstract: str
    announce_type: AnnounceType = AnnounceType.NEW
    comment: str | None = None
    published: dt.datetime | None = None  # first version submitted (UTC)
    updated: dt.datetime | None = None  # this version submitted (UTC)
    journal_ref: str | None = None
    doi: str | None = None
    listing_order: int = 0

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.versioned_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.versioned_id}"


class TextStatus(str, Enum):
    """Outcome of getting a paper's full text."""

    OK = "ok"  # text extracted from PDF or HTML
    PENDING = "pending"  # not there yet (404 / non-PDF answer); in the retry queue
    ABSTRACT_ONLY = "abstract_only"  # gave up waiting: interpret from the abstract, labelled
    FAILED = "failed"  # corrupt, encrypted, image-only, oversized: a clear status, never a crash


@dataclass(frozen=True)
class FullText:
    """A paper's full text, cleaned and split into named sections."""

    arxiv_id: str
    version: int
    status: TextStatus
    source: str = ""  # "pdf", "html", "abstract" or ""
    title: str = ""  # the title as found in the document, when found
    sections: dict[str, str] = field(default_factory=dict)  # abstract, introduction, method, experiments, conclusion, references, appendix, body
    pages: int = 0
    detail: str = ""  # a clean human-readable reason when status is not OK (never a raw exception string)
    engine: str = ""  # the PDF engine that read it: "pdfium" or "pypdf" (fulltext.pdf_engine); "" for HTML/abstract

    @property
    def text(self) -> str:
        return "\n\n".join(self.sections.values())


class ResultStatus(str, Enum):
    """State of an LLM task (translation or interpretation) for one paper."""

    DONE = "done"  # produced by the LLM and validated
    OFFLINE = "offline"  # no endpoint configured: untranslated abstract / extractive summary, labelled
    PENDING = "pending"  # not done yet (waiting for full text, stopped after auth/quota errors)
    FAILED = "failed"  # gave up after retries; shown with a clean note


class PendingReason(str, Enum):
    """Why a task is PENDING (stored as ``content["reason"]``; render.py picks the words readers see)."""

    FULLTEXT = "fulltext"  # the PDF is not out yet
    LLM = "llm"  # not tried yet
    QUOTA = "quota"  # the provider refused the key or the quota: calls stopped
    BUDGET = "budget"  # the day's LLM budget is spent


class FailureCause(str, Enum):
    """Why a task FAILED (stored as ``content["cause"]``; render.py picks the words readers see)."""

    VALIDATION = "validation"  # an answer came, and it was not one we can publish
    UNREACHABLE = "unreachable"  # the provider could not be reached
    PROVIDER = "provider"  # the provider answered with an error


class ReviewStatus(str, Enum):
    """A reviewer's decision on one paper of one post (the words users read are chosen in review/)."""

    PENDING = "pending"  # nobody decided yet: `digest publish` refuses while any is pending (require_review)
    APPROVED = "approved"
    REJECTED = "rejected"  # left out of the post


class VenueStatus(str, Enum):
    """What the authors say of a venue in their comments (venue.py reads it; labels.py has the words)."""

    ACCEPTED = "accepted"  # accepted, published, to appear, a journal reference: said by the authors
    SUBMITTED = "submitted"  # submitted, under review
    NAMED = "named"  # the venue and its year with no status word: shown without a qualifier


@dataclass(frozen=True)
class VenueMention:
    """One venue the authors name: ``name`` canonical with its year ("ICASSP 2026")."""

    name: str
    status: VenueStatus


@dataclass(frozen=True)
class Interpretation:
    """The three-part 详细解读 as structured data (rendered to Markdown by render.py)."""

    background: str  # 1) background and problems of prior work
    method: str  # 2) the method
    results: str  # 3) tasks and results with the reported numbers


@dataclass(frozen=True)
class PaperEntry:
    """Everything the post shows for one paper: the render input."""

    paper: Paper
    abstract_zh: str  # Markdown paragraph shown under the links (Chinese, or the labelled English fallback)
    details_md: str  # Markdown inside <div markdown="1"> of the 详细解读 block
    translation_status: ResultStatus = ResultStatus.DONE
    interpretation_status: ResultStatus = ResultStatus.DONE
    unverified_numbers: tuple[str, ...] = ()  # numbers in the interpretation not found in the paper text
    interest_terms: tuple[str, ...] = ()  # matched interests: the ★ mark (empty = not marked; interests.py)
    relevance_score: float | None = None  # the interests score (None when no interests are configured)
    # what a reader sees at a glance (venue.py, links.py): the venues the authors name, their own links
    venues: tuple[VenueMention, ...] = ()
    code_links: tuple[str, ...] = ()  # repositories (GitHub, GitLab, Hugging Face): live links in the post
    demo_links: tuple[str, ...] = ()  # demo and project pages: live links in the post
    abstract_by_reviewer: bool = False  # the shown abstract is the reviewer's own text, not the model's


@dataclass(frozen=True)
class Window:
    """The time window a post covers, stated in the anchor's time zone."""

    start: dt.datetime  # tz-aware
    end: dt.datetime  # tz-aware
    anchor: str  # "10:00"
    tz_label: str  # "CST"
    tz_name_zh: str  # "北京时间"


@dataclass(frozen=True)
class DayDigest:
    """One post: the date, its window, the counts and the entries in display order."""

    date: dt.date
    categories: tuple[str, ...]
    window: Window
    fetched_count: int
    entries: tuple[PaperEntry, ...]
    updates: tuple[PaperEntry, ...] = ()  # replacements, shown only when include_replacements
    title: str | None = None  # the post's title ("{date}" replaced); None: the seed's "arXiv Daily – <date>"
    tags: tuple[str, ...] = ()  # the post's tags; empty: arxiv + the categories (the seed's)
    bib_href: str | None = None  # link to the day's BibTeX file in the header (None: no link line)
    language: str = "zh"  # the output language: picks the post's labels (labels.py)

    @property
    def shown_count(self) -> int:
        return len(self.entries)

