"""The post in the seed's layout, and the words readers see for each status.

Layout (see ``/work/shared/seed/2026-01-22-arxiv-daily.md``)::

    front matter            front_matter(day)             ends with the blank line after ``---``
    header                  render_chunks(day)[0]         3 lines + blank line
    one block per paper     render_chunks(day)[1:]        ``## <a id="ID"></a>title`` ... ``---``, + blank line unless last
    ``## 更新`` (optional)   last chunk                    replacements, only when ``day.updates``

``render_post(day) == front_matter(day) + "".join(render_chunks(day))``.

Escaping lives in markup.py (:func:`~digestlib.post.markup.escape_text` for plain fields,
:func:`~digestlib.post.markup.escape_markdown` for Markdown fields, after
:func:`~digestlib.post.markup.restrict_links`); this module decides which field gets which.

Statuses arrive as ``models.ResultStatus`` / ``PendingReason`` / ``FailureCause``; the words readers see
for them are chosen here (and in review/), nowhere else, from the output language's table in labels.py
(``DayDigest.language``: zh, the seed's words byte for byte; en; ja).

Owns: the post's layout, labels and notes, the notebook display of the post, and the mapping from stored
task results to a ``PaperEntry`` (:func:`entry_from_results`). Must not: fetch anything, read the store,
or read a post back (no library code does; tests/postparse.py parses posts for the tests).

No ``{% raw %}`` is used anywhere: a raw block spanning the excerpt separator makes Jekyll warn, and a
literal ``{% endraw %}`` in the text would end it early.

One deliberate departure from the seed (issue 24): kramdown reads any line holding an unescaped ``|`` as
a table row, so the seed's counts line ``- 抓取总数：N 篇 | 本页显示：M 篇…`` became a one-row table inside
its list item on the site; the label writes a backslash before it (one byte more than the seed), which kramdown and
CommonMark both show as ``|`` in the text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..base.errors import RenderError
from . import show
from .labels import ZH, PostLabels, labels_for
from .links import paper_links
from .markup import escape_markdown, escape_text, restrict_links
from ..source.ids import is_arxiv_id, paper_anchor
from .venue import paper_venues
from ..base.models import (
    DayDigest,
    FailureCause,
    Interpretation,
    Paper,
    PaperEntry,
    PendingReason,
    ResultStatus,
)
from ..base.taxonomy import is_post_tag

if TYPE_CHECKING:  # the stored result's type only: render never reads the store
    from ..store.store import ResultRecord

__all__ = [
    "display_post",
    "escape_text",
    "extractive_summary",
    "failed_note",
    "front_matter",
    "interpretation_markdown",
    "offline_note",
    "pending_note",
    "post_outputs",
    "post_title",
    "render_chunks",
    "render_no_announcement",
    "render_post",
    "split_front_matter",
    "untranslated_abstract",
]

# --------------------------------------------------------------------------------------------------
# Labels and notes (clean Chinese text; never an exception string)

# The words per output language live in labels.py (``language: zh | en | ja``).

# Text that looks like a raw exception / traceback / URL must never reach a post.
_EXCEPTION_LIKE = re.compile(
    r"Traceback|Exception|Error\b|Errno|errno|https?://|File \"|\bat 0x[0-9a-f]+|[{}<>]", re.IGNORECASE
)


def pending_note(reason: str = PendingReason.FULLTEXT, language: str = "zh") -> str:
    """The 详细解读 placeholder while a paper waits: ``fulltext`` (PDF not out yet), ``llm``, ``quota``."""
    try:
        return labels_for(language).pending[reason]
    except KeyError:
        raise ValueError(f"unknown pending reason {reason!r}; one of {sorted(r.value for r in PendingReason)}") from None


def offline_note(what: str = "interpretation", language: str = "zh") -> str:
    """The label used when no LLM endpoint is configured (``interpretation`` or ``translation``)."""
    words = labels_for(language)
    notes = {"interpretation": words.offline_interpretation, "translation": words.untranslated}
    try:
        return notes[what]
    except KeyError:
        raise ValueError(f"unknown offline note {what!r}; one of {sorted(notes)}") from None


def failed_note(detail: str | None = None, language: str = "zh") -> str:
    """A clean note for a task that gave up. ``detail`` is shown only when it is a short human reason
    (e.g. "PDF 已加密"); anything that looks like an exception string, a URL or markup is dropped."""
    words = labels_for(language)
    if detail:
        detail = " ".join(detail.split()).strip("。.；; ")
        if detail and len(detail) <= 60 and not _EXCEPTION_LIKE.search(detail):
            return words.failed_detail.format(detail=escape_text(detail))
    return words.failed


def untranslated_abstract(abstract: str, language: str = "zh") -> str:
    """``abstract_zh`` when no LLM is configured: the labelled English abstract, escaped as plain text."""
    label = labels_for(language).untranslated
    text = escape_text(abstract)
    return f"{label}\n{text}" if text else label


def extractive_summary(sentences: Iterable[str], language: str = "zh") -> str:
    """``details_md`` built offline from extracted sentences: labelled list, each sentence plain text."""
    words = labels_for(language)
    items = [escape_text(s) for s in sentences]
    items = [s for s in items if s]
    if not items:
        return f"{words.extractive}\n\n{words.missing_details}"
    return words.extractive + "\n\n" + "\n".join(f"- {s}" for s in items)


def _strip_block(text: str) -> str:
    """Drop leading blank lines and trailing blank/white-space-only lines (keep trailing spaces of the
    last real line: they are a Markdown hard break in the seed's style)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text)
    text = re.sub(r"(?:\n[ \t]*)+\Z", "", text)
    return text.rstrip("\n")


def interpretation_markdown(interp: Interpretation, *, abstract_only: bool = False, language: str = "zh") -> str:
    """The three-part 详细解读 in the seed's style: ``"1)  \\n"`` + background, blank line, ``"2)  \\n"``
    + method, blank line, ``"3)  \\n"`` + results. ``abstract_only`` prefixes the label ``abstract_only``."""
    parts = [
        f"1)  \n{_strip_block(interp.background)}",
        f"2)  \n{_strip_block(interp.method)}",
        f"3)  \n{_strip_block(interp.results)}",
    ]
    body = "\n\n".join(parts)
    return f"{labels_for(language).abstract_only}\n\n{body}" if abstract_only else body


# --------------------------------------------------------------------------------------------------
# Rendering

_HHMM = "%Y-%m-%d %H:%M"


def post_title(date: dt.date) -> str:
    return f"arXiv Daily – {date.isoformat()}"  # EN DASH, as in the seed


def _check_categories(categories: Sequence[str]) -> tuple[str, ...]:
    for cat in categories:
        if not is_post_tag(cat):  # taxonomy.POST_TAG_RE: the rule config.py checked the parameter file with
            raise RenderError(f"invalid arXiv category {cat!r} for the post's tags")
    return tuple(categories)


def _front_matter(date: dt.date, categories: Sequence[str], title: str | None = None,
                  tags: Sequence[str] = ()) -> str:
    """The seed's front matter; a field's own ``title`` ("{date}" replaced) and ``tags`` when given."""
    tag_list = ", ".join(_check_categories(tags) if tags else ("arxiv", *_check_categories(categories)))
    shown = post_title(date) if title is None else title.replace("{date}", date.isoformat())
    shown = shown.replace("\\", "\\\\").replace('"', '\\"')  # a YAML double-quoted scalar
    return f'---\nlayout: post\ntitle: "{shown}"\ntags: [{tag_list}]\n---\n\n'


def front_matter(day: DayDigest) -> str:
    """The YAML front matter, including the blank line that follows it."""
    return _front_matter(day.date, day.categories, day.title, day.tags)


def header_holds(day: DayDigest) -> str:
    """What the header says the post holds, truly: 中文译文 only when every abstract shown is translated
    (the seed's words); 英文原文 when none is (offline, or every translation failed); else how many are not."""
    words = labels_for(day.language)
    by_reviewer = sum(1 for e in day.entries if e.abstract_by_reviewer)
    untranslated = sum(1 for e in day.entries
                       if e.translation_status is not ResultStatus.DONE and not e.abstract_by_reviewer)
    if by_reviewer:  # the reviewer translated (or rewrote) these by hand: say so, and only the rest are English
        if untranslated:
            return words.holds_reviewer_some.format(r=by_reviewer, n=untranslated)
        return words.holds_reviewer.format(r=by_reviewer)
    if not untranslated:
        return words.holds_all
    if untranslated == len(day.entries):
        return words.holds_none
    return words.holds_some.format(n=untranslated)


def _header(day: DayDigest) -> str:
    words = labels_for(day.language)
    w = day.window
    label = escape_text(w.tz_label)
    zone = escape_text(words.zone_names.get(w.tz_name_zh, w.tz_name_zh))
    colon = "：" if day.language in ("zh", "ja") else ": "
    intro = words.header_intro.format(date=day.date.isoformat(), tz_label=label, zone=zone, holds=header_holds(day))
    window = words.header_window.format(anchor=escape_text(w.anchor), tz_label=label,
                                        start=w.start.strftime(_HHMM), end=w.end.strftime(_HHMM))
    counts = words.header_counts.format(fetched=int(day.fetched_count), shown=day.shown_count)
    return (
        f"{intro}\n- {window}\n- {counts}\n"
        + (f"- {words.bib}{colon}[{escape_text(day.bib_href)}]({_bib_target(day.bib_href)})\n" if day.bib_href else "")
    )


MARK = "★"
_BIB_HREF = re.compile(r"^(?:https?://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+|[A-Za-z0-9._/-]+\.bib)$")


def _bib_target(href: str) -> str:
    """The .bib link target: a relative file name or an http(s) URL, nothing that could break the line."""
    if not _BIB_HREF.match(href):
        raise RenderError(f"invalid BibTeX link {href!r}")
    return href


def _mark_line(entry: PaperEntry, words: PostLabels) -> str:
    """``- **★ 关注**: term · term`` for a paper that matches the reader's interests; nothing otherwise."""
    terms = [t for t in (escape_text(x) for x in entry.interest_terms) if t]
    return f"- **{MARK} {words.mark}**: {' · '.join(terms)}\n" if terms else ""


def _at_a_glance(entry: PaperEntry, words: PostLabels) -> str:
    """The Venue, Code and Demo lines after the PDF line (venue.py, links.py); nothing that is not there.
    The authors' links are live: links.py keeps only characters that cannot break a Markdown link."""
    lines = ""
    if entry.venues:
        shown = " · ".join(words.venue_status[v.status].format(venue=escape_text(v.name)) for v in entry.venues)
        lines += f"- **Venue**: {shown}\n"
    for label, urls in (("Code", entry.code_links), ("Demo", entry.demo_links)):
        if urls:
            lines += f"- **{label}**: " + " · ".join(f"[{escape_text(u)}]({_author_link(u)})" for u in urls) + "\n"
    return lines


_AUTHOR_LINK = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#@&+,;=%]+$")


def _author_link(url: str) -> str:
    if not _AUTHOR_LINK.match(url):
        raise RenderError(f"invalid author link {url!r}")
    return url


def _paper_urls(paper: Paper) -> tuple[str, str]:
    if not is_arxiv_id(paper.arxiv_id) or int(paper.version) < 1:
        raise RenderError(f"invalid arXiv id {paper.arxiv_id!r} v{paper.version!r}: cannot link it")
    return paper.abs_url, paper.pdf_url


def paper_heading_anchor(paper: Paper) -> str:
    """The anchor that starts a paper's heading, ``<a id="2601.15240"></a>`` (contract 1: kramdown's ``{#id}``
    cannot hold a dot), so that ``{post url}#2601.15240`` opens at that paper; the id is checked first."""
    _paper_urls(paper)
    return f'<a id="{paper_anchor(paper.arxiv_id)}"></a>'


def _paper_block(entry: PaperEntry, words: PostLabels = ZH) -> str:
    paper = entry.paper
    abs_url, pdf_url = _paper_urls(paper)
    authors = ", ".join(a for a in (escape_text(x) for x in paper.authors) if a) or words.unknown_authors
    categories = ", ".join(escape_text(c) for c in paper.categories)
    # links only to the paper's own arXiv pages and the authors' own code/demo links (markup.restrict_links);
    # anything else becomes plain text. A bare address is kept only when the paper's own text holds it
    # (a post read back, with no English abstract, has only its translation for that).
    links = (*entry.code_links, *entry.demo_links)
    own = f"{paper.abstract} {paper.comment or ''}" if paper.abstract else entry.abstract_zh
    abstract = _strip_block(escape_markdown(restrict_links(entry.abstract_zh, paper, links, own_text=own))) or words.missing_abstract
    details = _strip_block(escape_markdown(restrict_links(entry.details_md, paper, links, own_text=own))) or words.missing_details
    title = escape_text(paper.title) or escape_text(paper.versioned_id)
    return (
        f"## {paper_heading_anchor(paper)}{title}\n"
        f"- **Authors**: {authors}\n"
        f"- **Categories**: {categories}\n"
        f"{_mark_line(entry, words)}"
        f"- **arXiv**: [{abs_url}]({abs_url})\n"
        f"- **PDF**: [{pdf_url}]({pdf_url})\n"
        f"{_at_a_glance(entry, words)}"
        "\n"
        f"{abstract}\n"
        "\n"
        "<details>\n"
        f"<summary>{words.details_summary}</summary>\n"
        "\n"
        '<div markdown="1">\n'
        "\n"
        f"{details}\n"
        "</div>\n"
        "\n"
        "</details>\n"
        "\n"
        "---\n"
    )


def _updates_block(updates: Sequence[PaperEntry], words: PostLabels = ZH) -> str:
    lines = [words.updates_heading, "", words.updates_intro, ""]
    for entry in updates:
        paper = entry.paper
        abs_url, _ = _paper_urls(paper)
        title = escape_text(paper.title) or escape_text(paper.versioned_id)
        lines.append(words.update_line.format(title=title, id=paper.versioned_id, url=abs_url,
                                              version=int(paper.version)))
    return "\n".join(lines) + "\n"


def render_chunks(day: DayDigest) -> list[str]:
    """Header, one chunk per paper (in the given order), then the updates chunk when there are updates.
    Joined they give the post body exactly (every chunk but the last ends with a blank line)."""
    words = labels_for(day.language)
    blocks = [_header(day)]
    if day.entries:
        blocks.extend(_paper_block(e, words) for e in day.entries)
    else:
        blocks.append(words.empty_day + "\n")
    if day.updates:
        blocks.append(_updates_block(day.updates, words))
    return [b + "\n" for b in blocks[:-1]] + [blocks[-1]]


def render_post(day: DayDigest) -> str:
    """The whole post: front matter + body, byte for byte in the seed's layout."""
    return front_matter(day) + "".join(render_chunks(day))


def render_no_announcement(date: dt.date, categories: Sequence[str], reason: str, language: str = "zh") -> str:
    """A short post for a day without an announcement (weekend, holiday): front matter + one line."""
    words = labels_for(language)
    cats = words.category_separator.join(escape_text(c) for c in _check_categories(categories))
    why = escape_text(reason)
    note = words.no_announcement.format(date=date.isoformat(), categories=cats,
                                        why=words.no_announcement_why.format(reason=why) if why else "")
    return _front_matter(date, categories) + note + "\n"


# --------------------------------------------------------------------------------------------------
# Notebook display (the exporters read these outputs back; see exporters.py)

POST_ROLE = "post"
NOTE_ROLE = "note"  # run notes, read back by the CLI (exporters.collect_notes)


def _bundles(chunks: Sequence[str], fm: str, date: dt.date) -> list[tuple[dict[str, str], dict[str, object]]]:
    count = len(chunks)
    out: list[tuple[dict[str, str], dict[str, object]]] = []
    for index, chunk in enumerate(chunks):
        meta: dict[str, object] = {"role": POST_ROLE, "index": index, "count": count, "date": date.isoformat()}
        if index == 0:
            meta["front_matter"] = fm
        out.append(({"text/markdown": chunk}, {"digest": meta}))
    return out


def post_outputs(day: DayDigest) -> list[tuple[dict[str, str], dict[str, object]]]:
    """The (data, metadata) pairs :func:`display_post` displays, one per chunk (the exporters' contract)."""
    return _bundles(render_chunks(day), front_matter(day), day.date)


def _display(bundles: Sequence[tuple[dict[str, str], dict[str, object]]]) -> None:
    for data, metadata in bundles:
        show.display(data, raw=True, metadata=metadata)


def display_post(day: DayDigest) -> None:
    """Display the post as Markdown outputs, one per chunk, each with output metadata
    ``{"digest": {"role": "post", "index": i, "count": n, "date": "YYYY-MM-DD"}}``; the first chunk's
    metadata also holds ``"front_matter"``. ``jupyter nbconvert --to jekyll`` rebuilds the post from them."""
    _display(post_outputs(day))


_FRONT_MATTER = re.compile(r"\A---\n(?:.*?\n)?---\n\n?", re.DOTALL)


def split_front_matter(post: str) -> tuple[str, str]:
    """``post`` -> (front matter including the blank line after it, body)."""
    m = _FRONT_MATTER.match(post)
    if not m:
        raise RenderError("the post does not start with a YAML front matter block")
    return m.group(0), post[m.end():]


DRAFT_LINE = "published: false  # a draft, not reviewed: `digest publish --date {date}` writes the post"


def draft_post(post: str, date: dt.date) -> str:
    """The run's own post, marked as a draft until ``digest publish``: one last front-matter line
    ``published: false`` (Jekyll does not build such a post, should it be copied into a site by hand)
    with a comment naming the command that writes the reviewed post. Nothing else changes, so the
    published post is this text without that line. Idempotent: a post already marked stays as it is."""
    fm, body = split_front_matter(post)
    if re.search(r"(?m)^published: false\b", fm):
        return post
    closing = fm.rindex("---\n")
    return fm[:closing] + DRAFT_LINE.format(date=date.isoformat()) + "\n" + fm[closing:] + body


# --------------------------------------------------------------------------------------------------
# From stored task results to what the post shows (pipeline, review and publish all go through here).
# A failed task's label names its real cause (content["cause"], set by the pipeline from tasks.failure_cause).


def _labelled_english(label: str, abstract: str) -> str:
    text = escape_text(abstract)
    return f"{label}\n{text}" if text else label


def _abstract_zh(paper: Paper, translation: ResultRecord | None, words: PostLabels = ZH) -> tuple[str, ResultStatus]:
    if translation is None:
        return _labelled_english(words.translation_pending, paper.abstract), ResultStatus.PENDING
    status = translation.status
    if status is ResultStatus.DONE and translation.content.get("text"):
        return translation.content["text"], status
    if status is ResultStatus.OFFLINE:
        return _labelled_english(words.untranslated, paper.abstract), status
    if status is ResultStatus.FAILED:
        default = words.translation_failed[FailureCause.VALIDATION]
        label = words.translation_failed.get(translation.content.get("cause", ""), default)
        return _labelled_english(label, paper.abstract), status
    return _labelled_english(words.translation_pending, paper.abstract), ResultStatus.PENDING


def _details_md(interpretation: ResultRecord | None, language: str = "zh") -> tuple[str, ResultStatus]:
    words = labels_for(language)
    if interpretation is None:
        return pending_note(PendingReason.LLM, language), ResultStatus.PENDING
    status, content = interpretation.status, interpretation.content
    parts = [content.get(k) for k in ("background", "method", "results")]
    if status in (ResultStatus.DONE, ResultStatus.OFFLINE) and all(parts):
        body = interpretation_markdown(Interpretation(*parts), abstract_only=content.get("source") == "abstract",
                                       language=language)
        if content.get("abstract_reason") == "top_n" and content.get("source") == "abstract":
            body = words.abstract_by_choice + body[len(words.abstract_only):]
        return (f"{words.extractive}\n\n{body}" if status is ResultStatus.OFFLINE else body), status
    if status is ResultStatus.PENDING:
        return pending_note(content.get("reason", PendingReason.LLM), language), status
    cause = words.failure_causes.get(content.get("cause", ""))
    return failed_note(cause or interpretation.detail, language), ResultStatus.FAILED


def entry_from_results(paper: Paper, *, translation: ResultRecord | None, interpretation: ResultRecord | None,
                       edits: Mapping[str, str] | None = None, language: str = "zh",
                       first_page: str = "") -> PaperEntry:
    """A paper's post entry from its stored results (``store.ResultRecord`` or None); the reviewer's
    edits win. Every non-success becomes a clean labelled note, never an error string. ``language``
    picks the labels (labels.py). The venue comes from the paper's comments and journal reference
    (venue.py), the code and demo links from its abstract, comments and ``first_page`` (links.py)."""
    abstract, t_status = _abstract_zh(paper, translation, labels_for(language))
    details, i_status = _details_md(interpretation, language)
    edits = edits or {}
    found = paper_links(paper, first_page)
    # an edit over an abstract the model did not translate is the reviewer's translation (the header says so)
    by_reviewer = (t_status is not ResultStatus.DONE and "abstract_zh" in edits
                   and edits["abstract_zh"].strip() not in ("", abstract.strip(), paper.abstract.strip()))
    return PaperEntry(
        paper=paper,
        abstract_by_reviewer=by_reviewer,
        abstract_zh=edits.get("abstract_zh", abstract),
        details_md=edits.get("details_md", details),
        translation_status=t_status,
        interpretation_status=i_status,
        unverified_numbers=tuple(interpretation.unverified) if interpretation is not None else (),
        venues=paper_venues(paper),
        code_links=found.code,
        demo_links=found.demo,
    )


def display_notes(notes: Iterable[str]) -> None:
    """Show the run's notes (pending papers, a stopped LLM) as Markdown in the notebook and report."""
    for note in notes:
        show.display(show.markdown(f"**Note:** {escape_text(note)}"),
                     metadata={"digest": {"role": NOTE_ROLE, "text": note}})
