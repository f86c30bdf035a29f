"""The post in the seed's layout, and the words readers see for each status.

Layout (see ``/work/shared/seed/2026-01-22-arxiv-daily.md``)::

    front matter            front_matter(day)             ends with the blank line after ``---``
    header                  render_chunks(day)[0]         3 lines + blank line
    one block per paper     render_chunks(day)[1:]        ``## title`` ... ``---``, + blank line unless last
    ``## 更新`` (optional)   last chunk                    replacements, only when ``day.updates``

``render_post(day) == front_matter(day) + "".join(render_chunks(day))``.

Escaping lives in markup.py (:func:`~digestlib.markup.escape_text` for plain fields,
:func:`~digestlib.markup.escape_markdown` for Markdown fields, after
:func:`~digestlib.markup.restrict_links`); this module decides which field gets which.

Statuses arrive as ``models.ResultStatus`` / ``PendingReason`` / ``FailureCause``; the Chinese words
readers see for them are chosen here (and in review/), nowhere else.

Owns: the post's layout, labels and notes, the notebook display of the post, and the mapping from stored
task results to a ``PaperEntry`` (:func:`entry_from_results`). Must not: fetch anything, read the store,
or read a post back (no library code does; tests/postparse.py parses posts for the tests).

No ``{% raw %}`` is used anywhere: a raw block spanning the excerpt separator makes Jekyll warn, and a
literal ``{% endraw %}`` in the text would end it early.

Known quirk kept for byte identity with the seed: kramdown reads any line holding an unescaped ``|`` as
a table row, so the counts line ``- 抓取总数：N 篇 | 本页显示：M 篇…`` becomes a one-row table inside
its list item on the site (escaping that pipe would fix it, at the price of one byte of difference from the seed).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping, Sequence

from .errors import RenderError
from .markup import escape_markdown, escape_text, restrict_links
from .source.ids import is_arxiv_id
from .models import (
    DayDigest,
    FailureCause,
    Interpretation,
    Paper,
    PaperEntry,
    PendingReason,
    ResultStatus,
)

__all__ = [
    "ABSTRACT_ONLY_LABEL",
    "EMPTY_DAY_NOTE",
    "EXTRACTIVE_LABEL",
    "UNTRANSLATED_LABEL",
    "display_post",
    "display_post_text",
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

UNTRANSLATED_LABEL = "（未翻译：未配置 LLM 端点，以下为英文原文）"
EXTRACTIVE_LABEL = "（自动摘录，未经翻译）"
ABSTRACT_ONLY_LABEL = "（本解读仅依据摘要生成，全文暂不可得。）"
# fulltext.top_n: only the N most relevant papers are read in full; the others say so (never "not available")
ABSTRACT_BY_CHOICE_LABEL = "（本解读仅依据摘要生成：全文解读只用于最相关的论文。）"
EMPTY_DAY_NOTE = "本日无新论文。"

_PENDING_NOTES = {
    PendingReason.FULLTEXT: "（全文尚未发布，解读将在 PDF 可用后补全。）",
    PendingReason.LLM: "（解读尚未生成，将在下次运行时补全。）",
    PendingReason.QUOTA: "（LLM 服务暂不可用（认证或额度问题），解读将在下次运行时补全。）",
    PendingReason.BUDGET: "（已达本日 LLM 预算，解读将在预算允许的下次运行时补全。）",
}
_OFFLINE_NOTES = {
    "interpretation": "（未配置 LLM 端点，暂无详细解读。）",
    "translation": UNTRANSLATED_LABEL,
}
_FAILED_NOTE = "（详细解读生成失败，将在下次运行时重试。）"
_FAILED_NOTE_DETAIL = "（详细解读生成失败：{detail}。将在下次运行时重试。）"
_MISSING_ABSTRACT = "（暂无摘要。）"
_MISSING_DETAILS = "（暂无详细解读。）"
UNKNOWN_AUTHORS = "（作者未知）"

# Text that looks like a raw exception / traceback / URL must never reach a post.
_EXCEPTION_LIKE = re.compile(
    r"Traceback|Exception|Error\b|Errno|errno|https?://|File \"|\bat 0x[0-9a-f]+|[{}<>]", re.IGNORECASE
)


def pending_note(reason: str = PendingReason.FULLTEXT) -> str:
    """The 详细解读 placeholder while a paper waits: ``fulltext`` (PDF not out yet), ``llm``, ``quota``."""
    try:
        return _PENDING_NOTES[reason]
    except KeyError:
        raise ValueError(f"unknown pending reason {reason!r}; one of {sorted(r.value for r in PendingReason)}") from None


def offline_note(what: str = "interpretation") -> str:
    """The label used when no LLM endpoint is configured (``interpretation`` or ``translation``)."""
    try:
        return _OFFLINE_NOTES[what]
    except KeyError:
        raise ValueError(f"unknown offline note {what!r}; one of {sorted(_OFFLINE_NOTES)}") from None


def failed_note(detail: str | None = None) -> str:
    """A clean note for a task that gave up. ``detail`` is shown only when it is a short human reason
    (e.g. "PDF 已加密"); anything that looks like an exception string, a URL or markup is dropped."""
    if detail:
        detail = " ".join(detail.split()).strip("。.；; ")
        if detail and len(detail) <= 60 and not _EXCEPTION_LIKE.search(detail):
            return _FAILED_NOTE_DETAIL.format(detail=escape_text(detail))
    return _FAILED_NOTE


def untranslated_abstract(abstract: str) -> str:
    """``abstract_zh`` when no LLM is configured: the labelled English abstract, escaped as plain text."""
    text = escape_text(abstract)
    return f"{UNTRANSLATED_LABEL}\n{text}" if text else UNTRANSLATED_LABEL


def extractive_summary(sentences: Iterable[str]) -> str:
    """``details_md`` built offline from extracted sentences: labelled list, each sentence plain text."""
    items = [escape_text(s) for s in sentences]
    items = [s for s in items if s]
    if not items:
        return f"{EXTRACTIVE_LABEL}\n\n{_MISSING_DETAILS}"
    return EXTRACTIVE_LABEL + "\n\n" + "\n".join(f"- {s}" for s in items)


def _strip_block(text: str) -> str:
    """Drop leading blank lines and trailing blank/white-space-only lines (keep trailing spaces of the
    last real line: they are a Markdown hard break in the seed's style)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text)
    text = re.sub(r"(?:\n[ \t]*)+\Z", "", text)
    return text.rstrip("\n")


def interpretation_markdown(interp: Interpretation, *, abstract_only: bool = False) -> str:
    """The three-part 详细解读 in the seed's style: ``"1)  \\n"`` + background, blank line, ``"2)  \\n"``
    + method, blank line, ``"3)  \\n"`` + results. ``abstract_only`` prefixes :data:`ABSTRACT_ONLY_LABEL`."""
    parts = [
        f"1)  \n{_strip_block(interp.background)}",
        f"2)  \n{_strip_block(interp.method)}",
        f"3)  \n{_strip_block(interp.results)}",
    ]
    body = "\n\n".join(parts)
    return f"{ABSTRACT_ONLY_LABEL}\n\n{body}" if abstract_only else body


# --------------------------------------------------------------------------------------------------
# Rendering

_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*$")
_HHMM = "%Y-%m-%d %H:%M"


def post_title(date: dt.date) -> str:
    return f"arXiv Daily – {date.isoformat()}"  # EN DASH, as in the seed


def _check_categories(categories: Sequence[str]) -> tuple[str, ...]:
    for cat in categories:
        if not _CATEGORY.match(cat):
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
    untranslated = sum(1 for e in day.entries if e.translation_status is not ResultStatus.DONE)
    if not untranslated:
        return "中文译文"
    if untranslated == len(day.entries):
        return "（摘要未翻译，为英文原文）"
    return f"中文译文（其中 {untranslated} 篇摘要未翻译，为英文原文）"


def _header(day: DayDigest) -> str:
    w = day.window
    label, zone = escape_text(w.tz_label), escape_text(w.tz_name_zh)
    return (
        f"以下为 {day.date.isoformat()}（{label}，{zone}）窗口内更新的论文{header_holds(day)}：\n"
        f"- 时间窗口（锚点 {escape_text(w.anchor)} {label}）：{w.start.strftime(_HHMM)} — {w.end.strftime(_HHMM)}\n"
        f"- 抓取总数：{int(day.fetched_count)} 篇 | 本页显示：{day.shown_count} 篇（去重/过滤后）\n"
        + (f"- {BIB_LABEL}：[{escape_text(day.bib_href)}]({_bib_target(day.bib_href)})\n" if day.bib_href else "")
    )


BIB_LABEL = "BibTeX 引用"
MARK = "★"
MARK_LABEL = f"{MARK} 关注"
_BIB_HREF = re.compile(r"^(?:https?://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+|[A-Za-z0-9._/-]+\.bib)$")


def _bib_target(href: str) -> str:
    """The .bib link target: a relative file name or an http(s) URL, nothing that could break the line."""
    if not _BIB_HREF.match(href):
        raise RenderError(f"invalid BibTeX link {href!r}")
    return href


def _mark_line(entry: PaperEntry) -> str:
    """``- **★ 关注**: term · term`` for a paper that matches the reader's interests; nothing otherwise."""
    terms = [t for t in (escape_text(x) for x in entry.interest_terms) if t]
    return f"- **{MARK_LABEL}**: {' · '.join(terms)}\n" if terms else ""


def _paper_urls(paper: Paper) -> tuple[str, str]:
    if not is_arxiv_id(paper.arxiv_id) or int(paper.version) < 1:
        raise RenderError(f"invalid arXiv id {paper.arxiv_id!r} v{paper.version!r}: cannot link it")
    return paper.abs_url, paper.pdf_url


def _paper_block(entry: PaperEntry) -> str:
    paper = entry.paper
    abs_url, pdf_url = _paper_urls(paper)
    authors = ", ".join(a for a in (escape_text(x) for x in paper.authors) if a) or UNKNOWN_AUTHORS
    categories = ", ".join(escape_text(c) for c in paper.categories)
    # links only to the paper's own arXiv pages (markup.restrict_links); anything else becomes plain text
    abstract = _strip_block(escape_markdown(restrict_links(entry.abstract_zh, paper))) or _MISSING_ABSTRACT
    details = _strip_block(escape_markdown(restrict_links(entry.details_md, paper))) or _MISSING_DETAILS
    title = escape_text(paper.title) or escape_text(paper.versioned_id)
    return (
        f"## {title}\n"
        f"- **Authors**: {authors}\n"
        f"- **Categories**: {categories}\n"
        f"{_mark_line(entry)}"
        f"- **arXiv**: [{abs_url}]({abs_url})\n"
        f"- **PDF**: [{pdf_url}]({pdf_url})\n"
        "\n"
        f"{abstract}\n"
        "\n"
        "<details>\n"
        "<summary>详细解读</summary>\n"
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


UPDATES_HEADING = "## 更新"
UPDATES_INTRO = "以下论文在本窗口内发布了新版本（仅列出，不重复解读）："


def _updates_block(updates: Sequence[PaperEntry]) -> str:
    lines = [UPDATES_HEADING, "", UPDATES_INTRO, ""]
    for entry in updates:
        paper = entry.paper
        abs_url, _ = _paper_urls(paper)
        title = escape_text(paper.title) or escape_text(paper.versioned_id)
        lines.append(f"- {title}（[{paper.versioned_id}]({abs_url})，第 {int(paper.version)} 版）")
    return "\n".join(lines) + "\n"


def render_chunks(day: DayDigest) -> list[str]:
    """Header, one chunk per paper (in the given order), then the updates chunk when there are updates.
    Joined they give the post body exactly (every chunk but the last ends with a blank line)."""
    blocks = [_header(day)]
    if day.entries:
        blocks.extend(_paper_block(e) for e in day.entries)
    else:
        blocks.append(EMPTY_DAY_NOTE + "\n")
    if day.updates:
        blocks.append(_updates_block(day.updates))
    return [b + "\n" for b in blocks[:-1]] + [blocks[-1]]


def render_post(day: DayDigest) -> str:
    """The whole post: front matter + body, byte for byte in the seed's layout."""
    return front_matter(day) + "".join(render_chunks(day))


def render_no_announcement(date: dt.date, categories: Sequence[str], reason: str) -> str:
    """A short post for a day without an announcement (weekend, holiday): front matter + one line."""
    cats = "、".join(escape_text(c) for c in _check_categories(categories))
    why = escape_text(reason)
    note = f"arXiv 在 {date.isoformat()} 没有发布 {cats} 的新论文公告" + (f"（{why}）" if why else "") + "。"
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
    from IPython.display import display

    for data, metadata in bundles:
        display(data, raw=True, metadata=metadata)


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
    published post is this text without that line."""
    fm, body = split_front_matter(post)
    closing = fm.rindex("---\n")
    return fm[:closing] + DRAFT_LINE.format(date=date.isoformat()) + "\n" + fm[closing:] + body


def display_post_text(post: str, date: dt.date) -> None:
    """Display an already rendered post (e.g. :func:`render_no_announcement`) as one post chunk."""
    fm, body = split_front_matter(post)
    _display(_bundles([body], fm, date))


# --------------------------------------------------------------------------------------------------
# From stored task results to what the post shows (pipeline, review and publish all go through here)

TRANSLATION_FAILED_LABEL = "（译文未通过校验，以下为英文原文）"
TRANSLATION_PENDING_LABEL = "（译文尚未生成，以下为英文原文；将在下次运行时补全）"
# A failed task's label names its real cause (content["cause"], set by the pipeline from tasks.failure_cause).
TRANSLATION_FAILED_LABELS = {
    FailureCause.VALIDATION: TRANSLATION_FAILED_LABEL,
    FailureCause.UNREACHABLE: "（翻译失败：无法连接 LLM 服务，以下为英文原文；将在下次运行时重试）",
    FailureCause.PROVIDER: "（翻译失败：LLM 服务返回错误，以下为英文原文；将在下次运行时重试）",
}
FAILURE_CAUSES_ZH = {FailureCause.VALIDATION: "回答未通过校验", FailureCause.UNREACHABLE: "无法连接 LLM 服务",
                     FailureCause.PROVIDER: "LLM 服务返回错误"}


def _labelled_english(label: str, abstract: str) -> str:
    text = escape_text(abstract)
    return f"{label}\n{text}" if text else label


def _abstract_zh(paper: Paper, translation: Any) -> tuple[str, ResultStatus]:
    if translation is None:
        return _labelled_english(TRANSLATION_PENDING_LABEL, paper.abstract), ResultStatus.PENDING
    status = translation.status
    if status is ResultStatus.DONE and translation.content.get("text"):
        return translation.content["text"], status
    if status is ResultStatus.OFFLINE:
        return untranslated_abstract(paper.abstract), status
    if status is ResultStatus.FAILED:
        label = TRANSLATION_FAILED_LABELS.get(translation.content.get("cause", ""), TRANSLATION_FAILED_LABEL)
        return _labelled_english(label, paper.abstract), status
    return _labelled_english(TRANSLATION_PENDING_LABEL, paper.abstract), ResultStatus.PENDING


def _details_md(interpretation: Any) -> tuple[str, ResultStatus]:
    if interpretation is None:
        return pending_note(PendingReason.LLM), ResultStatus.PENDING
    status, content = interpretation.status, interpretation.content
    parts = [content.get(k) for k in ("background", "method", "results")]
    if status in (ResultStatus.DONE, ResultStatus.OFFLINE) and all(parts):
        body = interpretation_markdown(Interpretation(*parts), abstract_only=content.get("source") == "abstract")
        if content.get("abstract_reason") == "top_n" and content.get("source") == "abstract":
            body = ABSTRACT_BY_CHOICE_LABEL + body[len(ABSTRACT_ONLY_LABEL):]
        return (f"{EXTRACTIVE_LABEL}\n\n{body}" if status is ResultStatus.OFFLINE else body), status
    if status is ResultStatus.PENDING:
        return pending_note(content.get("reason", PendingReason.LLM)), status
    cause = FAILURE_CAUSES_ZH.get(content.get("cause", ""))
    return failed_note(cause or interpretation.detail), ResultStatus.FAILED


def entry_from_results(paper: Paper, *, translation: Any, interpretation: Any,
                       edits: Mapping[str, str] | None = None) -> PaperEntry:
    """A paper's post entry from its stored results (``store.ResultRecord`` or None); the reviewer's
    edits win. Every non-success becomes a clean labelled note, never an error string."""
    abstract, t_status = _abstract_zh(paper, translation)
    details, i_status = _details_md(interpretation)
    edits = edits or {}
    return PaperEntry(
        paper=paper,
        abstract_zh=edits.get("abstract_zh", abstract),
        details_md=edits.get("details_md", details),
        translation_status=t_status,
        interpretation_status=i_status,
        unverified_numbers=tuple(interpretation.unverified) if interpretation is not None else (),
    )


def display_notes(notes: Iterable[str]) -> None:
    """Show the run's notes (pending papers, a stopped LLM) as Markdown in the notebook and report."""
    from IPython.display import Markdown, display

    for note in notes:
        display(Markdown(f"**Note:** {escape_text(note)}"), metadata={"digest": {"role": NOTE_ROLE, "text": note}})
