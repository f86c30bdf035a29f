"""The authors' own code and demo links, found in the abstract, the comments and the first page of the text.

Audio papers link their code and their sound samples; readers want them before opening the paper. The
addresses sit in running text, often with the sentence's full stop stuck to them
(``https://github.com/David-Pigeon/SyntheticSingers.``), so :func:`find_urls` takes trailing punctuation
off (and an unbalanced closing bracket), writes a scheme-less ``github.com/...`` as ``https://``, and gives
each address once. :func:`paper_links` sorts them:

* **code**: repositories on GitHub, GitLab and Hugging Face (``huggingface.co/spaces/...`` is a demo);
* **demo**: GitHub Pages sites (``*.github.io``) and any other address the text calls a demo, samples,
  project page or website (the words just before it);
* anything else (a dataset, a citation, a company's site) is not shown.

These links are the authors', so the post shows them live: ``markup.restrict_links`` lets exactly these
addresses through (links the model writes stay inert). Only addresses made of the characters
``markup.escape_markdown`` keeps in a link are taken, so a link line can never break the post.

Owns: finding and sorting the links. Must not: format them (render.py), fetch or check them, or cut the
first page out of a full text (``day.selection.first_page_text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ..base.models import Paper

__all__ = ["PaperLinks", "find_urls", "paper_links"]

# The characters markup keeps inside a link target, less ``! $ ' *`` and brackets (never needed in a
# repository's or a demo page's address, and all of them end or wrap URLs in running text).
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@&+,;=%]"
_URL = re.compile(
    r"(?<![\w@/.])(?:(?:https?://)" + _URL_CHARS + r"+"
    r"|(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co)/" + _URL_CHARS + r"+"
    r"|[A-Za-z0-9-]+\.github\.io(?:/" + _URL_CHARS + r"*)?)",
    re.IGNORECASE)
_TRAILING = ".,;:?"
_CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co")
_DEMO_WORDS = re.compile(r"\b(?:demos?|demonstrations?|samples?|audio\s+examples?|examples|project\s+(?:page|"
                         r"website|site)|web\s*page|website|listen|listening)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PaperLinks:
    code: tuple[str, ...] = ()
    demo: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.code, *self.demo)


def _trim(url: str) -> str:
    """Trailing sentence punctuation off (``…/SyntheticSingers.`` -> ``…/SyntheticSingers``)."""
    return url.rstrip(_TRAILING)


def _normalise(url: str) -> str:
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}" + (f"/{path}" if path else "")


def find_urls(text: str) -> list[tuple[str, int]]:
    """The http(s) addresses in ``text`` (and scheme-less GitHub, GitLab, Hugging Face, github.io ones),
    trimmed and normalised, each once, with where each was first found."""
    found: list[tuple[str, int]] = []
    keys: set[str] = set()
    for m in _URL.finditer(text or ""):
        url = _normalise(_trim(m.group(0)))
        key = url.rstrip("/").lower()
        if not re.match(r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?:[/?#]|$)", url) or key in keys:
            continue
        keys.add(key)
        found.append((url, m.start()))
    return found


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].removeprefix("www.")


def _kind(url: str, before: str) -> str | None:
    host = _host(url)
    path = url.split("://", 1)[1].partition("/")[2]
    if host.endswith(".github.io"):
        return "demo"
    if host in _CODE_HOSTS:
        if not path.strip("/"):
            return None  # the site itself, not a repository
        return "demo" if host == "huggingface.co" and path.startswith("spaces/") else "code"
    return "demo" if _DEMO_WORDS.search(before[-80:]) else None


def _sorted_links(texts: Iterable[str]) -> PaperLinks:
    code: list[str] = []
    demo: list[str] = []
    seen: set[str] = set()
    for text in texts:
        for url, start in find_urls(text):
            key = url.rstrip("/").lower()
            if key in seen or "arxiv.org" in _host(url):
                continue
            kind = _kind(url, text[:start])
            if kind is None:
                continue
            seen.add(key)
            (code if kind == "code" else demo).append(url)
    return PaperLinks(tuple(code), tuple(demo))


def paper_links(paper: Paper, first_page: str = "") -> PaperLinks:
    """The paper's code and demo links: from its abstract, its comments, then its first page."""
    return _sorted_links((paper.abstract or "", paper.comment or "", paper.journal_ref or "", first_page or ""))
