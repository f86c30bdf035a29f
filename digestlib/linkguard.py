"""Model output carries no live links except the paper's own arXiv pages, and no unbounded text.

Text from a model (or written into a paper to steer one) may hold Markdown links to anywhere: a
phishing page presented as "the code", a tracking pixel. The post keeps a link only when it points at
the paper's own arXiv abstract, PDF or HTML page; any other ``[label](url)`` is rendered as plain text
(the label, then the address without its scheme, which no Markdown renderer turns into a link).
Answers are capped per task before they are stored: a 1 MB "translation" is refused, not published.
"""

from __future__ import annotations

import re

from .models import Paper

# Per task: the most characters an accepted answer may hold (far above real answers: a translated
# abstract is ~300-1,000 characters, an interpretation ~1,500-4,000).
MAX_ANSWER_CHARS = {"translate": 8_000, "interpret": 24_000}
DEFAULT_MAX_ANSWER_CHARS = 24_000

_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"\n]*\")?\s*\)")


def answer_too_long(task: str, text: str) -> str | None:
    """Why an answer is refused for its length (None when within the task's cap)."""
    limit = MAX_ANSWER_CHARS.get(task, DEFAULT_MAX_ANSWER_CHARS)
    if len(text) > limit:
        return f"the answer is {len(text)} characters long, over the cap of {limit} for {task}"
    return None


def allowed_link(url: str, paper: Paper) -> bool:
    """True for the paper's own arXiv abs / pdf / html page (any version of it, http or https)."""
    pattern = (r"https?://(?:www\.)?arxiv\.org/(?:abs|pdf|html)/" + re.escape(paper.arxiv_id)
               + r"(?:v\d{1,3})?(?:\.pdf)?/?(?:#[A-Za-z0-9._-]*)?")
    return re.fullmatch(pattern, url.strip(), re.IGNORECASE) is not None


def restrict_links(text: str, paper: Paper) -> str:
    """Keep links to the paper's own arXiv pages; every other Markdown link becomes plain text."""
    if not text or "](" not in text:
        return text

    def plain(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if allowed_link(url, paper):
            return match.group(0)
        address = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://)?", "", url).removeprefix("www.")
        return f"{label}（{address}）" if address and address != label else label

    return _MD_LINK.sub(plain, text)
