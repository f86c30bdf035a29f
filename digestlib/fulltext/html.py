"""Reading an HTML rendering (arXiv's LaTeXML pages, or any article-like page) into a ``FullText``.

Owns the HTML parsing: readable blocks (scripts, styles, navigation, arXiv's page chrome dropped; MathML
as its ``alttext``), the title from ``<h1>`` or ``<title>``, and headings handed to the shared
``SectionSorter`` (``sections.py``). Must not download anything or detect sections on its own.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ..base.models import FullText, TextStatus
from .clean import clean_title, normalize_text
from .sections import SectionSorter, canonical_key

__all__ = ["extract_html", "html_to_fulltext"]


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
    return clean_title(parser.doc_title), blocks


def html_to_fulltext(html: str, *, arxiv_id: str = "", version: int = 0) -> FullText:
    """An HTML rendering -> ``FullText`` (source "html"); headings give the sections, ``<h1>`` the title."""
    doc_title, blocks = extract_html(html)
    headings = [(i, lvl, t) for i, (k, lvl, t) in enumerate(blocks) if k == "h"]
    title = ""
    h1 = [t for _, lvl, t in headings if lvl == 1]
    if h1:
        title = clean_title(re.sub(r"^Title:\s*", "", h1[0]))
    elif doc_title:
        title = re.sub(r"^\[[^\]]+\]\s*", "", doc_title)
    # Top level: the smallest heading level below the title, plus any heading naming a canonical key.
    levels = sorted({lvl for _, lvl, _ in headings if not (lvl == 1 and len(h1) == 1)})
    top_level = levels[0] if levels else 2
    sorter = SectionSorter()
    current: tuple[str, str] | None = None  # (key, heading) of the open section
    parts: list[str] = []
    front: list[str] = []

    def close_section() -> None:
        if current is not None:
            key, heading = current
            sorter.add(key, heading, heading, "\n\n".join(parts).strip())

    for kind, lvl, text in blocks:
        if kind == "h" and lvl == 1 and len(h1) == 1:
            continue
        named = canonical_key(text) if kind == "h" else None
        if kind == "h" and (lvl <= top_level or named in ("abstract", "references", "appendix")):
            close_section()
            current, parts = (sorter.key_for(text), text), []
        elif current is None:
            front.append(text)
        else:
            parts.append(text)
    close_section()
    return FullText(arxiv_id, version, TextStatus.OK, source="html", title=title,
                    sections=sorter.sections(front, front_min_chars=300), pages=0)
