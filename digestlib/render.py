"""The post in the seed's layout, and the escaping that keeps paper and LLM text inert.

Layout (see ``/work/shared/seed/2026-01-22-arxiv-daily.md``)::

    front matter            front_matter(day)             ends with the blank line after ``---``
    header                  render_chunks(day)[0]         3 lines + blank line
    one block per paper     render_chunks(day)[1:]        ``## title`` ... ``---``, + blank line unless last
    ``## 更新`` (optional)   last chunk                    replacements, only when ``day.updates``

``render_post(day) == front_matter(day) + "".join(render_chunks(day))``.

Escaping (issue 6). Jekyll runs Liquid over the post, then kramdown (GFM input) over the result, and
JupyterLab / the HTML report render the same chunks with a CommonMark renderer. Two kinds of field:

* **plain text** (title, authors, categories, update titles, notes' details): :func:`escape_text`
  collapses white space, entity-encodes ``& < >``, backslash-escapes every Markdown-active character
  (``\\ ` * _ [ ] # | $ ! ~``) and entity-encodes a ``{`` that would open Liquid (``{{``, ``{%``) or a
  kramdown extension / attribute list (``{:``). It is reversed exactly by :func:`unescape_text`.
* **Markdown** (``abstract_zh``, ``details_md``): :func:`sanitize_markdown` keeps emphasis, lists and
  ``http(s)`` links but makes everything else inert: ``& < >`` (unless already an entity) become
  entities so no HTML element can be created; ``{`` before ``{ % :`` becomes ``&#123;`` (inside code
  spans, where entities would show, ``{{``/``{%`` become the Liquid string literals ``{{ "{{" }}`` /
  ``{{ "{%" }}``, which Jekyll prints verbatim); ``$`` is escaped (no kramdown ``$$`` math); ``[`` that
  does not open an ``[text](http(s)://...)`` link is escaped (no ``javascript:`` links, reference
  definitions, footnotes or abbreviations); images become links; ``|`` is escaped except on lines that
  start with a pipe (tables); lines that would be headings (``#``), setext underlines or rules
  (``---``, ``===``, ``***``), code fences (an unbalanced fence would swallow the following papers)
  or definition lists (``: ``) get a leading backslash. It is idempotent, so a parsed post renders
  back unchanged, and text without these characters passes through untouched (the seed round trip).

No ``{% raw %}`` is used anywhere: a raw block spanning the excerpt separator makes Jekyll warn, and a
literal ``{% endraw %}`` in the text would end it early.

Known quirk kept for byte identity with the seed: kramdown reads any line holding an unescaped ``|`` as
a table row, so the counts line ``- 抓取总数：N 篇 | 本页显示：M 篇…`` becomes a one-row table inside
its list item on the site (escaping that pipe would fix it, at the price of one byte of difference from the seed).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from .errors import RenderError
from .linkguard import restrict_links
from .models import (
    AnnounceType,
    DayDigest,
    Interpretation,
    Paper,
    PaperEntry,
    ResultStatus,
    Window,
)

__all__ = [
    "ABSTRACT_ONLY_LABEL",
    "EMPTY_DAY_NOTE",
    "EXTRACTIVE_LABEL",
    "UNTRANSLATED_LABEL",
    "ParsedPaper",
    "ParsedPost",
    "ParsedUpdate",
    "digest_from_parsed",
    "display_post",
    "display_post_text",
    "escape_text",
    "extractive_summary",
    "failed_note",
    "front_matter",
    "interpretation_markdown",
    "offline_note",
    "parse_post",
    "pending_note",
    "post_outputs",
    "post_title",
    "render_chunks",
    "render_no_announcement",
    "render_post",
    "sanitize_markdown",
    "split_front_matter",
    "unescape_text",
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
    "fulltext": "（全文尚未发布，解读将在 PDF 可用后补全。）",
    "llm": "（解读尚未生成，将在下次运行时补全。）",
    "quota": "（LLM 服务暂不可用（认证或额度问题），解读将在下次运行时补全。）",
    "budget": "（已达本日 LLM 预算，解读将在预算允许的下次运行时补全。）",
}
_OFFLINE_NOTES = {
    "interpretation": "（未配置 LLM 端点，暂无详细解读。）",
    "translation": UNTRANSLATED_LABEL,
}
_FAILED_NOTE = "（详细解读生成失败，将在下次运行时重试。）"
_FAILED_NOTE_DETAIL = "（详细解读生成失败：{detail}。将在下次运行时重试。）"
_MISSING_ABSTRACT = "（暂无摘要。）"
_MISSING_DETAILS = "（暂无详细解读。）"
_UNKNOWN_AUTHORS = "（作者未知）"

# Text that looks like a raw exception / traceback / URL must never reach a post.
_EXCEPTION_LIKE = re.compile(
    r"Traceback|Exception|Error\b|Errno|errno|https?://|File \"|\bat 0x[0-9a-f]+|[{}<>]", re.IGNORECASE
)


def pending_note(reason: str = "fulltext") -> str:
    """The 详细解读 placeholder while a paper waits: ``fulltext`` (PDF not out yet), ``llm``, ``quota``."""
    try:
        return _PENDING_NOTES[reason]
    except KeyError:
        raise ValueError(f"unknown pending reason {reason!r}; one of {sorted(_PENDING_NOTES)}") from None


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
# Escaping

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_PLAIN_SPECIAL = set("\\`*_[]#|$!~")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
LIQUID_OPEN_BRACE = "&#123;"


def escape_text(text: str) -> str:
    """Plain text -> inline Markdown that shows exactly this text in Jekyll (Liquid + kramdown) and
    in Jupyter. White space (including newlines) is collapsed to single spaces."""
    text = _CONTROL_CHARS.sub(" ", str(text))
    text = " ".join(text.split())
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch in _PLAIN_SPECIAL:
            out.append("\\" + ch)
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "{" and i + 1 < n and text[i + 1] in "{%:":
            out.append(LIQUID_OPEN_BRACE)
        else:
            out.append(ch)
    return "".join(out)


def unescape_text(text: str) -> str:
    """Inverse of :func:`escape_text` (for parsing a post back)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in _PLAIN_SPECIAL:
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


def _escaped(text: str, i: int) -> bool:
    """True when ``text[i]`` is preceded by an odd number of backslashes (already escaped)."""
    k = i - 1
    while k >= 0 and text[k] == "\\":
        k -= 1
    return (i - 1 - k) % 2 == 1


# Inline code spans (backtick runs). Approximate on purpose: a mismatch with kramdown only changes
# how a brace or dollar looks, never safety (HTML is entity-encoded everywhere).
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_LIQUID_LITERAL = re.compile(r'\{\{ "\{[{%]" \}\}|\{[{%]')
_LIQUID_LITERALS = ('{{ "{{" }}', '{{ "{%" }}')
# Only well-formed http(s) links survive; the URL may not hold braces, pipes, quotes or brackets.
_LINK = re.compile(r"\[([^\[\]\n]*)\]\((https?://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+)\)", re.IGNORECASE)


def _sanitize_code(segment: str) -> str:
    """Inside a code span: HTML entities (safety first) and Liquid string literals for ``{{``/``{%``."""
    segment = _escape_html(segment)

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        return tok if len(tok) > 2 else '{{ "' + tok + '" }}'

    return _LIQUID_LITERAL.sub(repl, segment)


def _escape_html(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            m = _ENTITY.match(text, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _sanitize_prose(segment: str) -> str:
    """Outside code spans: HTML, Liquid/kramdown braces, dollars, brackets, images, pipes."""
    segment = _escape_html(segment)
    links = {m.start(): m for m in _LINK.finditer(segment)}
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        ch = segment[i]
        if ch == "{" and segment.startswith(_LIQUID_LITERALS, i):
            out.append(segment[i : i + 10])  # already a Liquid string literal: inert, keep it
            i += 10
            continue
        if ch == "{" and i + 1 < n and segment[i + 1] in "{%:":
            out.append(LIQUID_OPEN_BRACE)
        elif ch == "$" and not _escaped(segment, i):
            out.append("\\$")
        elif ch == "!" and i + 1 < n and segment[i + 1] == "[" and not _escaped(segment, i):
            out.append("\\!")  # an image would load a remote resource: show a link instead
        elif ch == "[" and not _escaped(segment, i):
            m = links.get(i)
            if m is not None:
                out.append(f"[{_sanitize_prose(m.group(1))}]({m.group(2)})")  # keep a well-formed http(s) link
                i = m.end()
                continue
            out.append("\\[")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_LIST_PREFIX = r"^((?:[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)*[ \t]*)"
_HEADING_LINE = re.compile(_LIST_PREFIX + r"(#)")
# A code fence could open in one field and close in another, swallowing the <details> structure
# between them: fences never survive. A leading ": " would start a kramdown definition list.
_FENCE_LINE = re.compile(_LIST_PREFIX + r"(`{3,}|~{3,})")
_DEFLIST_LINE = re.compile(_LIST_PREFIX + r"(:)(?=[ \t]|$)")


def _escape_fences(text: str) -> str:
    """Runs before code-span detection, so a second pass detects the same spans (idempotence)."""
    lines = text.split("\n")
    for k, line in enumerate(lines):
        m = _FENCE_LINE.match(line)
        if m:
            lines[k] = line[: m.start(2)] + "\\" + line[m.start(2):]
    return "\n".join(lines)
_RULE_LINE = re.compile(r"^([ \t]*)(?:(-[ \t]*)+|(=[ \t]*)+|(\*[ \t]*){3,}|(_[ \t]*){3,})$")
_TABLE_LINE = re.compile(r"^[ \t]*\|")


def _sanitize_lines(text: str) -> str:
    lines = text.split("\n")
    for k, line in enumerate(lines):
        m = _RULE_LINE.match(line)
        if m and line.strip():
            lines[k] = m.group(1) + "\\" + line[len(m.group(1)):]
            continue
        m = _DEFLIST_LINE.match(line)
        if m:
            lines[k] = line[: m.start(2)] + "\\" + line[m.start(2):]
            line = lines[k]
        m = _HEADING_LINE.match(line)
        if m:
            lines[k] = line[: m.start(2)] + "\\" + line[m.start(2):]
            line = lines[k]
        if "|" in line and not _TABLE_LINE.match(line):
            lines[k] = "".join(
                "\\|" if ch == "|" and not _escaped(line, i) else ch for i, ch in enumerate(line)
            )
    return "\n".join(lines)


def sanitize_markdown(text: str) -> str:
    """Markdown from papers or the LLM -> Markdown that cannot inject HTML, Liquid, kramdown extensions,
    non-http links or page structure. Idempotent; text without special characters is unchanged."""
    text = _CONTROL_CHARS.sub(" ", str(text).replace("\r\n", "\n").replace("\r", "\n"))
    text = _escape_fences(text)
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        if "\n\n" in m.group(0):
            continue  # code spans never cross a blank line
        out.append(_sanitize_prose(text[pos : m.start()]))
        out.append(m.group(1) + _sanitize_code(m.group(2)) + m.group(1))
        pos = m.end()
    out.append(_sanitize_prose(text[pos:]))
    return _sanitize_lines("".join(out))


# --------------------------------------------------------------------------------------------------
# Rendering

_ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})$")
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


def _header(day: DayDigest) -> str:
    w = day.window
    label, zone = escape_text(w.tz_label), escape_text(w.tz_name_zh)
    return (
        f"以下为 {day.date.isoformat()}（{label}，{zone}）窗口内更新的论文中文译文：\n"
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
    if not _ARXIV_ID.match(paper.arxiv_id) or int(paper.version) < 1:
        raise RenderError(f"invalid arXiv id {paper.arxiv_id!r} v{paper.version!r}: cannot link it")
    return paper.abs_url, paper.pdf_url


def _paper_block(entry: PaperEntry) -> str:
    paper = entry.paper
    abs_url, pdf_url = _paper_urls(paper)
    authors = ", ".join(a for a in (escape_text(x) for x in paper.authors) if a) or _UNKNOWN_AUTHORS
    categories = ", ".join(escape_text(c) for c in paper.categories)
    # links only to the paper's own arXiv pages (linkguard); anything else becomes plain text
    abstract = _strip_block(sanitize_markdown(restrict_links(entry.abstract_zh, paper))) or _MISSING_ABSTRACT
    details = _strip_block(sanitize_markdown(restrict_links(entry.details_md, paper))) or _MISSING_DETAILS
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


_UPDATES_HEADING = "## 更新"
_UPDATES_INTRO = "以下论文在本窗口内发布了新版本（仅列出，不重复解读）："


def _updates_block(updates: Sequence[PaperEntry]) -> str:
    lines = [_UPDATES_HEADING, "", _UPDATES_INTRO, ""]
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


def display_post_text(post: str, date: dt.date) -> None:
    """Display an already rendered post (e.g. :func:`render_no_announcement`) as one post chunk."""
    fm, body = split_front_matter(post)
    _display(_bundles([body], fm, date))


# --------------------------------------------------------------------------------------------------
# Parsing a post back


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


_FM_LINES = re.compile(
    r'\A---\nlayout: (?P<layout>[^\n]*)\ntitle: "(?P<title>arXiv Daily – (?P<date>\d{4}-\d{2}-\d{2}))"\n'
    r"tags: \[arxiv(?P<tags>(?:, [^,\]\n]+)*)\]\n---\n\n"
)
_HEADER = re.compile(
    r"以下为 (?P<date>\d{4}-\d{2}-\d{2})（(?P<label>[^，\n]*)，(?P<zone>[^）\n]*)）窗口内更新的论文中文译文：\n"
    r"- 时间窗口（锚点 (?P<anchor>[^ \n]+) (?P=label)）：(?P<start>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) — "
    r"(?P<end>\d{4}-\d{2}-\d{2} \d{2}:\d{2})\n"
    r"- 抓取总数：(?P<fetched>\d+) 篇 \| 本页显示：(?P<shown>\d+) 篇（去重/过滤后）\n"
    r"(?:- BibTeX 引用：\[[^\]\n]*\]\((?P<bib>[^)\n]+)\)\n)?"
)
_PAPER = re.compile(
    r"## (?P<title>[^\n]*)\n"
    r"- \*\*Authors\*\*: (?P<authors>[^\n]*)\n"
    r"- \*\*Categories\*\*: (?P<cats>[^\n]*)\n"
    r"(?:- \*\*★ 关注\*\*: (?P<mark>[^\n]*)\n)?"
    r"- \*\*arXiv\*\*: \[https://arxiv\.org/abs/(?P<vid>[^\]\n]+)\]\(https://arxiv\.org/abs/(?P=vid)\)\n"
    r"- \*\*PDF\*\*: \[https://arxiv\.org/pdf/(?P=vid)\]\(https://arxiv\.org/pdf/(?P=vid)\)\n"
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
_VID = re.compile(r"^(?P<id>.+)v(?P<v>[1-9]\d*)$")

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


def _split_vid(vid: str, where: str) -> tuple[str, int]:
    m = _VID.match(vid)
    if not m or not _ARXIV_ID.match(m.group("id")):
        raise RenderError(f"{where}: invalid versioned arXiv id {vid!r}")
    return m.group("id"), int(m.group("v"))


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
        if text.startswith(EMPTY_DAY_NOTE + "\n", pos) and not papers:
            pos += len(EMPTY_DAY_NOTE) + 1
        elif text.startswith(_UPDATES_HEADING + "\n", pos):
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
                    authors=() if authors == _UNKNOWN_AUTHORS else tuple(unescape_text(a) for a in authors.split(", ")),
                    categories=tuple(unescape_text(c) for c in m.group("cats").split(", ")) if m.group("cats") else (),
                    versioned_id=m.group("vid"),
                    arxiv_id=arxiv_id,
                    version=version,
                    abstract_zh=m.group("abstract"),
                    details_md=m.group("details"),
                    interest_terms=tuple(unescape_text(t) for t in m.group("mark").split(" · "))
                    if m.group("mark") else (),
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
    )


def _parse_updates(text: str, pos: int, updates: list[ParsedUpdate]) -> int:
    head = f"{_UPDATES_HEADING}\n\n{_UPDATES_INTRO}\n\n"
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
    if details.startswith(tuple(_PENDING_NOTES.values())):
        return ResultStatus.PENDING
    if details.startswith((_OFFLINE_NOTES["interpretation"], EXTRACTIVE_LABEL)):
        return ResultStatus.OFFLINE
    if details.startswith(_FAILED_NOTE[:8]):
        return ResultStatus.FAILED
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
            translation_status=(
                ResultStatus.OFFLINE if p.abstract_zh.startswith(UNTRANSLATED_LABEL) else ResultStatus.DONE
            ),
            interpretation_status=_status_of_details(p.details_md),
            interest_terms=p.interest_terms,
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


# --------------------------------------------------------------------------------------------------
# From stored task results to what the post shows (pipeline, review and publish all go through here)

TRANSLATION_FAILED_LABEL = "（译文未通过校验，以下为英文原文）"
TRANSLATION_PENDING_LABEL = "（译文尚未生成，以下为英文原文；将在下次运行时补全）"
# A failed task's label names its real cause (content["cause"], set by the pipeline from tasks.failure_cause).
TRANSLATION_FAILED_LABELS = {
    "validation": TRANSLATION_FAILED_LABEL,
    "unreachable": "（翻译失败：无法连接 LLM 服务，以下为英文原文；将在下次运行时重试）",
    "provider": "（翻译失败：LLM 服务返回错误，以下为英文原文；将在下次运行时重试）",
}
FAILURE_CAUSES_ZH = {"validation": "回答未通过校验", "unreachable": "无法连接 LLM 服务", "provider": "LLM 服务返回错误"}


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
        return pending_note("llm"), ResultStatus.PENDING
    status, content = interpretation.status, interpretation.content
    parts = [content.get(k) for k in ("background", "method", "results")]
    if status in (ResultStatus.DONE, ResultStatus.OFFLINE) and all(parts):
        body = interpretation_markdown(Interpretation(*parts), abstract_only=content.get("source") == "abstract")
        if content.get("abstract_reason") == "top_n" and content.get("source") == "abstract":
            body = ABSTRACT_BY_CHOICE_LABEL + body[len(ABSTRACT_ONLY_LABEL):]
        return (f"{EXTRACTIVE_LABEL}\n\n{body}" if status is ResultStatus.OFFLINE else body), status
    if status is ResultStatus.PENDING:
        return pending_note(content.get("reason", "llm")), status
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
