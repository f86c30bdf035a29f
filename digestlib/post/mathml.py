"""TeX spans in sanitised HTML typeset as MathML, for the report (which runs no script: Chromium and Firefox
show MathML natively).

The spans are found as the site's KaTeX auto-render finds them (site_template/_includes/math.html): the
delimiters ``$$…$$`` and ``\\[…\\]`` (display), ``$…$`` and ``\\(…\\)`` (inline), in the text of the
rendered page (the post writes ``\\$``, which Markdown shows as ``$``), a closing delimiter inside braces or
after a backslash not counting, never inside ``code``, ``pre``, ``script``, ``style``, ``textarea``.

Inert by construction: this runs AFTER the page is sanitised and only on text between tags; each span's text
(entities decoded) goes to latex2mathml, and its output is sanitised again with nh3 against a MathML
allow-list (no ``href``, no ``style``, no HTML element: ``\\href{javascript:…}`` and ``\\text{<b>…}`` lose
their link and markup). A span latex2mathml cannot read stays as its escaped text, never an error.

Owns: finding the spans and converting them. Must not: know the report's layout (report.py).
"""

from __future__ import annotations

import html
import re

import nh3
from latex2mathml.converter import convert

# the site's auto-render delimiters, in its order ("$$" before "$")
DELIMITERS: tuple[tuple[str, str, bool], ...] = (
    ("$$", "$$", True), ("$", "$", False), ("\\(", "\\)", False), ("\\[", "\\]", True),
)
_LEFT = re.compile("|".join(re.escape(left) for left, _, _ in DELIMITERS))
_RIGHT = {left: (right, display) for left, right, display in DELIMITERS}

# what latex2mathml writes, minus anything that links, styles or scripts
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mstyle", "mpadded", "mphantom", "menclose", "mover", "munder", "munderover", "mtable", "mtr",
    "mtd", "mlabeledtr", "merror", "semantics", "annotation",
}
MATHML_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"mathvariant", "displaystyle", "scriptlevel"},
    "math": {"display"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "form", "largeop", "movablelimits", "minsize",
           "maxsize", "symmetric", "accent"},
    "mstyle": {"mathcolor", "mathbackground"},
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mfrac": {"linethickness"},
    "menclose": {"notation"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mtable": {"columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame"},
    "mtr": {"columnalign", "rowalign"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
    "annotation": {"encoding"},
}

# nh3 writes every attribute value in double quotes; comments are stripped from the report
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9-]*)(?:[^\">]|\"[^\"]*\")*>", re.S)
IGNORED_TAGS = {"script", "noscript", "style", "textarea", "pre", "code", "math"}


def tex_to_mathml(tex: str, *, display: bool) -> str | None:
    """One TeX span as sanitised MathML, or ``None`` when it cannot be read."""
    if not tex.strip():
        return None
    try:
        mathml = convert(tex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on malformed TeX: the span then stays text
        return None
    clean = nh3.clean(mathml, tags=MATHML_TAGS, attributes=MATHML_ATTRIBUTES, strip_comments=True,
                      link_rel=None, url_schemes=set())
    return clean if clean.startswith("<math") else None


def _end_of_math(delimiter: str, text: str, start: int) -> int:
    """Where ``delimiter`` closes the span (KaTeX auto-render's findEndOfMath): not inside braces, not
    right after a backslash; -1 when it never does."""
    index, braces = start, 0
    while index < len(text):
        if braces <= 0 and text.startswith(delimiter, index):
            return index
        ch = text[index]
        if ch == "\\":
            index += 1
        elif ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        index += 1
    return -1


def math_in_text(escaped: str) -> str:
    """One text node of sanitised HTML (entities and all) with its TeX spans as MathML."""
    text = html.unescape(escaped)
    if not _LEFT.search(text):
        return escaped
    out: list[str] = []
    pos = 0
    while True:
        m = _LEFT.search(text, pos)
        if m is None:
            break
        right, display = _RIGHT[m.group(0)]
        end = _end_of_math(right, text, m.end())
        if end < 0:
            break
        mathml = tex_to_mathml(text[m.end():end], display=display)
        source = text[m.start():end + len(right)]
        out.append(html.escape(text[pos:m.start()], quote=False))
        out.append(mathml if mathml is not None else html.escape(source, quote=False))
        pos = end + len(right)
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def math_in_html(fragment: str) -> str:
    """Sanitised HTML with the TeX spans of its text (outside code, pre, script, style…) as MathML."""
    out: list[str] = []
    ignored = 0
    pos = 0
    for m in _TAG.finditer(fragment):
        text = fragment[pos:m.start()]
        out.append(text if ignored else math_in_text(text))
        out.append(m.group(0))
        name = (m.group(2) or "").lower()
        if name in IGNORED_TAGS and not m.group(0).endswith("/>"):
            ignored = max(0, ignored - 1) if m.group(1) else ignored + 1
        pos = m.end()
    tail = fragment[pos:]
    out.append(tail if ignored else math_in_text(tail))
    return "".join(out)
