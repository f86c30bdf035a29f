"""Reading a post back (tests only): the inverse of digestlib.post.render, for round trips and assertions.

Moved out of the library: no digestlib code reads a post back (the store is the source of truth; the
review UI, publish and the report all start from stored results). :func:`digest_from_parsed` infers a
paper's status from the Chinese labels render.py writes -- which is fine for a test of the rendering,
and exactly what the library must never do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from digestlib.base.errors import RenderError
from digestlib.post.markup import LIQUID_OPEN_BRACE, PLAIN_SPECIAL
from digestlib.post.labels import ZH
from digestlib.base.models import (AnnounceType, DayDigest, Paper, PaperEntry, PendingReason, ResultStatus, VenueMention,
                              VenueStatus, Window)
from digestlib.source.ids import split_versioned_id
from digestlib.post.render import (
    failed_note,
    offline_note,
    pending_note,
)

_HHMM = "%Y-%m-%d %H:%M"


def unescape_text(text: str) -> str:
    """Inverse of :func:`escape_text` (for parsing a post back)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in PLAIN_SPECIAL:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "&":
            for entity, char in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), (LIQUID_OPEN_BRACE, "{")):
                if text.startswith(entity, i):
                    out.append(char)
                    i += len(entity)
                    break
            else:
                out.append(ch)
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class ParsedPaper:
    title: str  # unescaped plain text
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    versioned_id: str
    arxiv_id: str
    version: int
    abstract_zh: str  # Markdown as in the post
    details_md: str  # Markdown as in the post
    interest_terms: tuple[str, ...] = ()  # the ★ mark's terms, unescaped
    anchor: str | None = None  # the heading's <a id="..."></a>, when written
    venues: tuple[VenueMention, ...] = ()  # the Venue line, read back with the Chinese status words
    code_links: tuple[str, ...] = ()  # the Code line's link targets
    demo_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedUpdate:
    title: str
    versioned_id: str
    arxiv_id: str
    version: int


@dataclass(frozen=True)
class ParsedPost:
    date: dt.date
    layout: str
    title: str
    categories: tuple[str, ...]
    tz_label: str
    tz_name_zh: str
    anchor: str
    window_start: dt.datetime  # naive, as written (in the anchor's zone)
    window_end: dt.datetime
    fetched_count: int
    shown_count: int
    papers: tuple[ParsedPaper, ...]
    updates: tuple[ParsedUpdate, ...] = ()
    bib_href: str | None = None  # the header's BibTeX link, when there is one
    draft: bool = False  # a run's own post: the front matter's `published: false` line (render.draft_post)


_FM_LINES = re.compile(
    r'\A---\nlayout: (?P<layout>[^\n]*)\ntitle: "(?P<title>arXiv Daily – (?P<date>\d{4}-\d{2}-\d{2}))"\n'
    r"tags: \[arxiv(?P<tags>(?:, [^,\]\n]+)*)\]\n(?P<draft>published: false  # [^\n]*\n)?---\n\n"
)
_HEADER = re.compile(
    r"以下为 (?P<date>\d{4}-\d{2}-\d{2})（(?P<label>[^，\n]*)，(?P<zone>[^）\n]*)）窗口内更新的论文(?P<holds>[^：\n]*)：\n"
    r"- 时间窗口（锚点 (?P<anchor>[^ \n]+) (?P=label)）：(?P<start>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) — "
    r"(?P<end>\d{4}-\d{2}-\d{2} \d{2}:\d{2})\n"
    r"- 抓取总数：(?P<fetched>\d+) 篇 \\?\| 本页显示：(?P<shown>\d+) 篇（去重/过滤后）\n"
    r"(?:- BibTeX 引用：\[[^\]\n]*\]\((?P<bib>[^)\n]+)\)\n)?"
)
_PAPER = re.compile(
    r"## (?:<a id=\"(?P<anchor>[^\"\n]+)\"></a>)?(?P<title>[^\n]*)\n"
    r"- \*\*Authors\*\*: (?P<authors>[^\n]*)\n"
    r"- \*\*Categories\*\*: (?P<cats>[^\n]*)\n"
    r"(?:- \*\*★ 关注\*\*: (?P<mark>[^\n]*)\n)?"
    r"- \*\*arXiv\*\*: \[https://arxiv\.org/abs/(?P<vid>[^\]\n]+)\]\(https://arxiv\.org/abs/(?P=vid)\)\n"
    r"- \*\*PDF\*\*: \[https://arxiv\.org/pdf/(?P=vid)\]\(https://arxiv\.org/pdf/(?P=vid)\)\n"
    r"(?:- \*\*Venue\*\*: (?P<venue>[^\n]*)\n)?"
    r"(?:- \*\*Code\*\*: (?P<code>[^\n]*)\n)?"
    r"(?:- \*\*Demo\*\*: (?P<demo>[^\n]*)\n)?"
    r"\n"
    r"(?P<abstract>.*?)\n"
    r"\n"
    r"<details>\n<summary>详细解读</summary>\n\n<div markdown=\"1\">\n\n"
    r"(?P<details>.*?)\n"
    r"</div>\n\n</details>\n\n---\n",
    re.DOTALL,
)
_UPDATE_LINE = re.compile(
    r"- (?P<title>.*)（\[(?P<vid>[^\]\n]+)\]\(https://arxiv\.org/abs/(?P=vid)\)，第 (?P<n>\d+) 版）"
)

# Reverse lookup of the header's zone name, for digest_from_parsed.
ZONES_BY_NAME = {
    "北京时间": "Asia/Shanghai",
    "协调世界时": "UTC",
    "UTC": "UTC",
    "美东时间": "America/New_York",
    "美国东部时间": "America/New_York",
    "东京时间": "Asia/Tokyo",
    "伦敦时间": "Europe/London",
}


def _venues_of(line: str | None) -> tuple[VenueMention, ...]:
    """``ICASSP 2026（已接收） · EUSIPCO 2026（投稿中）`` -> the venues (the Chinese words of labels.ZH)."""
    if not line:
        return ()
    venues = []
    for part in line.split(" · "):
        for status, template in ZH.venue_status.items():
            head, _, tail = template.partition("{venue}")
            if part.startswith(head) and part.endswith(tail) and (tail or status is VenueStatus.NAMED):
                venues.append(VenueMention(unescape_text(part[len(head):len(part) - len(tail)]), status))
                break
        else:
            raise RenderError(f"unreadable venue {part!r}")
    return tuple(venues)


def _link_targets(line: str | None) -> tuple[str, ...]:
    """``[label](url) · [label](url)`` -> the urls."""
    return tuple(re.findall(r"\]\((https?://[^)\s]+)\)", line or ""))


def with_anchors(post: str) -> str:
    """A post written before papers had anchors (the seed) as render.py writes it now: each paper's
    heading ``## <a id="ID"></a>title`` (contract 1; the id from the paper's arXiv line below it)."""
    return re.sub(r"^## (?!<a id=)(.*)\n(- \*\*Authors(?:.*\n)+?- \*\*arXiv\*\*: \[https://arxiv\.org/abs/"
                  r"(\d{4}\.\d{4,5}|[a-z.-]+/\d{7})v\d+\])",
                  lambda m: f'## <a id="{m.group(3)}"></a>{m.group(1)}\n{m.group(2)}', post, flags=re.M)


def _split_vid(vid: str, where: str) -> tuple[str, int]:
    found = split_versioned_id(vid)
    if found is None:
        raise RenderError(f"{where}: invalid versioned arXiv id {vid!r}")
    return found


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def parse_post(text: str) -> ParsedPost:
    """Parse a post in the seed's layout (as written by :func:`render_post`). Raises ``RenderError``
    naming the line where the text stops following the layout."""
    fm = _FM_LINES.match(text)
    if not fm:
        raise RenderError("line 1: front matter is not in the digest layout (layout/title/tags)")
    pos = fm.end()
    hd = _HEADER.match(text, pos)
    if not hd:
        raise RenderError(f"line {_line_of(text, pos)}: header (intro, window, counts) not in the digest layout")
    if hd.group("date") != fm.group("date"):
        raise RenderError(f"line {_line_of(text, pos)}: header date {hd.group('date')} != title date {fm.group('date')}")
    pos = hd.end()

    def expect_sep() -> None:
        nonlocal pos
        if text.startswith("\n", pos):
            pos += 1
        else:
            raise RenderError(f"line {_line_of(text, pos)}: expected a blank line")

    papers: list[ParsedPaper] = []
    updates: list[ParsedUpdate] = []
    if pos < len(text):
        expect_sep()
    while pos < len(text):
        if text.startswith(ZH.empty_day + "\n", pos) and not papers:
            pos += len(ZH.empty_day) + 1
        elif text.startswith(ZH.updates_heading + "\n", pos):
            pos = _parse_updates(text, pos, updates)
        else:
            m = _PAPER.match(text, pos)
            if not m:
                raise RenderError(f"line {_line_of(text, pos)}: expected a paper block ('## title' … '---')")
            where = f"line {_line_of(text, pos)}"
            arxiv_id, version = _split_vid(m.group("vid"), where)
            authors = m.group("authors")
            papers.append(
                ParsedPaper(
                    title=unescape_text(m.group("title")),
                    authors=() if authors == ZH.unknown_authors else tuple(unescape_text(a) for a in authors.split(", ")),
                    categories=tuple(unescape_text(c) for c in m.group("cats").split(", ")) if m.group("cats") else (),
                    versioned_id=m.group("vid"),
                    arxiv_id=arxiv_id,
                    version=version,
                    abstract_zh=m.group("abstract"),
                    details_md=m.group("details"),
                    interest_terms=tuple(unescape_text(t) for t in m.group("mark").split(" · "))
                    if m.group("mark") else (),
                    anchor=m.group("anchor"),
                    venues=_venues_of(m.group("venue")),
                    code_links=_link_targets(m.group("code")),
                    demo_links=_link_targets(m.group("demo")),
                )
            )
            pos = m.end()
        if pos < len(text):
            expect_sep()
    return ParsedPost(
        date=dt.date.fromisoformat(fm.group("date")),
        layout=fm.group("layout"),
        title=fm.group("title"),
        categories=tuple(t for t in fm.group("tags").split(", ") if t),
        tz_label=unescape_text(hd.group("label")),
        tz_name_zh=unescape_text(hd.group("zone")),
        anchor=unescape_text(hd.group("anchor")),
        window_start=dt.datetime.strptime(hd.group("start"), _HHMM),
        window_end=dt.datetime.strptime(hd.group("end"), _HHMM),
        fetched_count=int(hd.group("fetched")),
        shown_count=int(hd.group("shown")),
        papers=tuple(papers),
        updates=tuple(updates),
        bib_href=hd.group("bib"),
        draft=fm.group("draft") is not None,
    )


def published_form(post: str) -> str:
    """A run's draft post as `digest publish` writes it when nothing was edited or rejected: the same
    text without the draft line (render.draft_post adds exactly that one line)."""
    fm = _FM_LINES.match(post)
    if not fm or fm.group("draft") is None:
        raise RenderError("the post is not a draft (no 'published: false' front-matter line)")
    return post[:fm.start("draft")] + post[fm.end("draft"):]


def _parse_updates(text: str, pos: int, updates: list[ParsedUpdate]) -> int:
    head = f"{ZH.updates_heading}\n\n{ZH.updates_intro}\n\n"
    if not text.startswith(head, pos):
        raise RenderError(f"line {_line_of(text, pos)}: updates section not in the digest layout")
    pos += len(head)
    while pos < len(text) and text.startswith("- ", pos):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        m = _UPDATE_LINE.fullmatch(text, pos, end)
        if not m:
            raise RenderError(f"line {_line_of(text, pos)}: malformed update line")
        arxiv_id, version = _split_vid(m.group("vid"), f"line {_line_of(text, pos)}")
        if version != int(m.group("n")):
            raise RenderError(f"line {_line_of(text, pos)}: version {m.group('n')} != id {m.group('vid')}")
        updates.append(ParsedUpdate(unescape_text(m.group("title")), m.group("vid"), arxiv_id, version))
        pos = min(end + 1, len(text))
    return pos


def _status_of_details(details: str) -> ResultStatus:
    if details.startswith(tuple(pending_note(reason) for reason in PendingReason)):
        return ResultStatus.PENDING
    if details.startswith((offline_note("interpretation"), ZH.extractive)):
        return ResultStatus.OFFLINE
    if details.startswith(failed_note()[:8]):
        return ResultStatus.FAILED
    return ResultStatus.DONE


def _status_of_abstract(abstract: str) -> ResultStatus:
    """The labelled English fallbacks (offline, failed, pending) are not translations (the header says so)."""
    if abstract.startswith(ZH.untranslated):
        return ResultStatus.OFFLINE
    if abstract.startswith(tuple(ZH.translation_failed.values())):
        return ResultStatus.FAILED
    if abstract.startswith(ZH.translation_pending):
        return ResultStatus.PENDING
    return ResultStatus.DONE


def digest_from_parsed(parsed: ParsedPost) -> DayDigest:
    """A ``DayDigest`` that renders back to the parsed post. The English abstracts are not in a post, so
    ``Paper.abstract`` is empty; statuses are inferred from the notes' labels."""
    if parsed.shown_count != len(parsed.papers):
        raise RenderError(
            f"the header says {parsed.shown_count} papers are shown but the post has {len(parsed.papers)}"
        )
    zone = ZONES_BY_NAME.get(parsed.tz_name_zh) or ZONES_BY_NAME.get(parsed.tz_label)
    tzinfo = ZoneInfo(zone) if zone else None
    window = Window(
        start=parsed.window_start.replace(tzinfo=tzinfo),
        end=parsed.window_end.replace(tzinfo=tzinfo),
        anchor=parsed.anchor,
        tz_label=parsed.tz_label,
        tz_name_zh=parsed.tz_name_zh,
    )
    entries = tuple(
        PaperEntry(
            paper=Paper(
                arxiv_id=p.arxiv_id,
                version=p.version,
                title=p.title,
                authors=p.authors,
                categories=p.categories,
                abstract="",
                listing_order=k,
            ),
            abstract_zh=p.abstract_zh,
            details_md=p.details_md,
            translation_status=_status_of_abstract(p.abstract_zh),
            interpretation_status=_status_of_details(p.details_md),
            interest_terms=p.interest_terms,
            venues=p.venues,
            code_links=p.code_links,
            demo_links=p.demo_links,
        )
        for k, p in enumerate(parsed.papers)
    )
    updates = tuple(
        PaperEntry(
            paper=Paper(
                arxiv_id=u.arxiv_id,
                version=u.version,
                title=u.title,
                authors=(),
                categories=(),
                abstract="",
                announce_type=AnnounceType.REPLACE,
            ),
            abstract_zh="",
            details_md="",
        )
        for u in parsed.updates
    )
    return DayDigest(
        date=parsed.date,
        categories=parsed.categories,
        window=window,
        fetched_count=parsed.fetched_count,
        entries=entries,
        updates=updates,
        bib_href=parsed.bib_href,
    )
