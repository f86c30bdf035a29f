"""Markdown sanitising, in one place: text from papers and models made inert for the post.

Three steps, each a different job (they were once two functions both called ``sanitize_markdown``):

1. :func:`clean_answer_markdown` -- at intake (tasks/), on a model's answer before it is validated and
   stored: *removes* structure. Drops ``<script>``/``<style>``/``<iframe>`` blocks, HTML comments and tags
   (keeping their inner text), images, links to non-http(s) schemes (kept as text), reference definitions,
   horizontal rules and front-matter delimiters, front-matter-like lines (``layout: post``), code fences and
   ``{% raw %}`` lines; headings become bold text; a bare ``javascript:`` is defanged. Not idempotent with
   respect to meaning (it rewrites), so it runs once, on answers only -- never on a reviewer's edit.
2. :func:`restrict_links` -- at render, on every Markdown field: a link survives only when it points at the
   paper's own arXiv abstract, PDF or HTML page, or at exactly one of the authors' own code and demo links
   (links.py, passed in as ``also``); any other ``[label](url)`` becomes plain text (the label, then the
   address without its scheme, which no Markdown renderer turns into a link).
3. :func:`escape_markdown` / :func:`escape_text` -- at render, on everything: *escapes*, so that Jekyll's
   Liquid, kramdown and Jupyter's CommonMark renderer show the text and build nothing from it.

Escaping. Jekyll runs Liquid over the post, then kramdown (GFM input) over the result, and JupyterLab / the
HTML report render the same chunks with a CommonMark renderer. Two kinds of field:

* **plain text** (title, authors, categories, update titles, notes' details): :func:`escape_text`
  collapses white space, entity-encodes ``& < >``, backslash-escapes every Markdown-active character
  (``\\ ` * _ [ ] # | $ ! ~``) and entity-encodes a ``{`` that would open Liquid (``{{``, ``{%``) or a
  kramdown extension / attribute list (``{:``). tests/postparse.py reverses it exactly.
* **Markdown** (``abstract_zh``, ``details_md``): :func:`escape_markdown` keeps emphasis, lists and
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

Owns: these functions and their patterns. Must not: know the post's layout (render.py), decide whether an
answer is acceptable (tasks/validate.py), or fetch anything.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..base.models import Paper

# ----------------------------------------------------------------------------------------------
# 1. cleaning a model's answer (intake)

_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_BLOCK_TAG_RE = re.compile(r"<\s*(script|style|iframe|object|embed|noscript|template)\b.*?(?:<\s*/\s*\1\s*>|\Z)",
                           re.S | re.I)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_TAG_RE = re.compile(r"</?\s*[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_AUTOLINK_RE = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*)>")
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_BAD_SCHEME_RE = re.compile(r"\b(javascript|vbscript|data|file|livescript)\s*:", re.I)
_HR_RE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_SETEXT_RE = re.compile(r"^\s{0,3}=+\s*$")
FENCE_LINE_RE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}(?:\s+(.*?))?\s*#*\s*$")
_REFDEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_FRONT_MATTER_RE = re.compile(
    r"^\s*(?:layout|title|permalink|tags|categories|date|published|author|excerpt_separator|excerpt|redirect_from)"
    r"\s*:(?:\s|$)", re.I)
_LIQUID_BLOCK_RE = re.compile(r"^\s*\{%-?\s*(?:end)?raw\s*-?%\}\s*$")


def _safe_url(url: str) -> bool:
    return bool(re.match(r"^https?://", url.strip(), re.I))


def clean_answer_markdown(text: str) -> str:
    """Remove anything in a model's answer that could change the post's structure or run in a browser
    (see the module docstring, step 1)."""
    t = _INVISIBLE_RE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    t = _BLOCK_TAG_RE.sub("", t)
    t = _COMMENT_RE.sub("", t)
    t = _AUTOLINK_RE.sub(lambda m: m.group(1) if _safe_url(m.group(1)) else "", t)
    t = _TAG_RE.sub("", t)
    t = _IMAGE_RE.sub(lambda m: m.group(1), t)
    t = _LINK_RE.sub(lambda m: m.group(0) if _safe_url(m.group(2)) else m.group(1), t)
    lines: list[str] = []
    for line in t.split("\n"):
        if (_HR_RE.match(line) or _SETEXT_RE.match(line) or FENCE_LINE_RE.match(line) or _REFDEF_RE.match(line)
                or _FRONT_MATTER_RE.match(line) or _LIQUID_BLOCK_RE.match(line)):
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            title = (heading.group(1) or "").strip().strip("*").strip()
            if title:
                lines.append(f"**{title}**")
            continue
        lines.append(line.rstrip())
    t = "\n".join(lines)
    t = _BAD_SCHEME_RE.sub(lambda m: m.group(1) + "：", t)
    t = re.sub(r"<(?=/|[A-Za-z!?])", "＜", t)  # an unclosed tag fragment left after stripping
    t = re.sub(r"\n{3,}", "\n\n", t)
    return t.strip()


# ----------------------------------------------------------------------------------------------
# 2. links: only the paper's own arXiv pages

_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"\n]*\")?\s*\)")


def allowed_link(url: str, paper: Paper) -> bool:
    """True for the paper's own arXiv abs / pdf / html page (any version of it, http or https)."""
    pattern = (r"https?://(?:www\.)?arxiv\.org/(?:abs|pdf|html)/" + re.escape(paper.arxiv_id)
               + r"(?:v\d{1,3})?(?:\.pdf)?/?(?:#[A-Za-z0-9._-]*)?")
    return re.fullmatch(pattern, url.strip(), re.IGNORECASE) is not None


# A bare address that a Markdown renderer with autolinking (GFM: JupyterLab's marked, nbconvert's mistune,
# the report) would turn into a link: a scheme, or "www.". Not inside a link's parentheses or a code span.
_BARE_URL = re.compile(r"(?<![\w/(\[`@.-])(?:https?://|www\.)[^\s<>()\[\]`（）]+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?'\"。，；：！？、"


def _inert_bare_urls(text: str, paper: Paper, own_text: str | None = None) -> str:
    """Every bare address but the paper's own (its arXiv pages, or an address its abstract or comment
    gives, such as its code) loses its scheme and ``www.``: shown, never linked. The model's invention is
    what must not become live (SECURITY.md)."""
    own_text = f"{paper.abstract or ''} {paper.comment or ''}" if own_text is None else own_text

    def inert(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in _TRAILING_PUNCT:
            url, tail = url[:-1], url[-1] + tail
        if allowed_link(url, paper) or url in own_text:
            return match.group(0)
        address = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
        while address.lower().startswith("www."):
            address = address[4:]
        return address + tail

    return _BARE_URL.sub(inert, text)


def restrict_links(text: str, paper: Paper, also: Iterable[str] = (), *, own_text: str | None = None) -> str:
    """Keep links to the paper's own arXiv pages and to exactly the addresses in ``also`` (the authors'
    code and demo links); every other Markdown link becomes plain text, and every other bare address
    loses its scheme and ``www.`` (so no renderer that autolinks, in the post, the report or the
    notebook's displayed outputs, makes it live). ``own_text``: the paper's own words whose addresses
    are kept (default: its abstract and comment)."""
    if not text:
        return text
    if "](" not in text:
        return _inert_bare_urls(text, paper, own_text)
    authors = {u.strip().rstrip("/").lower() for u in also}

    def plain(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if allowed_link(url, paper) or url.strip().rstrip("/").lower() in authors:
            return match.group(0)
        address = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://)?", "", url).removeprefix("www.")
        return f"{label}（{address}）" if address and address != label else label

    return _inert_bare_urls(_MD_LINK.sub(plain, text), paper, own_text)


# ----------------------------------------------------------------------------------------------
# 3. escaping for Liquid, kramdown and CommonMark (render)

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
PLAIN_SPECIAL = set("\\`*_[]#|$!~")
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
        if ch in PLAIN_SPECIAL:
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


def escape_markdown(text: str) -> str:
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
