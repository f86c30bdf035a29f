"""Citations: one BibTeX entry per paper shown, with arXiv's eprint fields (``DIR/<date>/<date>.bib``).

The entries follow arXiv's own export (``@misc`` with ``eprint``, ``archivePrefix``, ``primaryClass``),
which both BibTeX (with a modern style) and biblatex understand. Titles and names are plain text from the
feed, so every character BibTeX or LaTeX treats specially is escaped (``{ } \\ # $ % & _ ~ ^``): a title
such as ``50% of {x} & $y$`` cites as written and never unbalances the file. Words with capitals after
the first letter ("WeDefense", "TTS") are braced so that styles which lower-case titles keep them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from ..base.atomic import atomic_write_text
from ..base.models import DayDigest, Paper
from ..day.selection import bib_name  # defined below its users (the digest's bib_href, here, the CLI)
from ..source.ids import yymm_year

__all__ = ["bib_name", "citation_key", "digest_papers", "entry_for", "bib_for", "write_day_bib", "write_run_bib",
           "publish_bib"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_PROTECT = re.compile(r"(?<![\w\\{])([A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*|[A-Z]{2,}[A-Za-z0-9]*)(?![\w}])")


def escape(text: str) -> str:
    """Plain text -> a BibTeX field value that shows exactly this text (white space collapsed)."""
    text = " ".join(_CONTROL.sub(" ", str(text)).split())
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def _title(text: str) -> str:
    return _PROTECT.sub(lambda m: "{" + m.group(1) + "}", escape(text))


def _ascii_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", "".join(ch for ch in text if not unicodedata.combining(ch)).casefold())


_STOP = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards", "toward", "via", "from"}


def _year(paper: Paper, fallback: dt.date | None = None) -> int:
    when = paper.published or paper.updated
    if when is not None:
        return when.year
    encoded = yymm_year(paper.arxiv_id)  # new-style ids start with yymm
    if encoded is not None:
        return encoded
    return (fallback or dt.date.today()).year


def citation_key(paper: Paper) -> str:
    """arXiv-export style ``<family name><year><first title word>``, ASCII only, e.g. ``zhang2026wedefense``."""
    family = ""
    if paper.authors:
        parts = paper.authors[0].replace(",", " ").split()
        family = _ascii_word(parts[-1]) if parts else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    first = next((w for w in words if w and w not in _STOP), "")
    key = f"{family}{_year(paper)}{first}"
    return key if family or first else "arxiv" + re.sub(r"[^0-9A-Za-z]", "", paper.arxiv_id)


def _author(name: str) -> str:
    name = escape(name)
    # a name holding the word "and" would be split by BibTeX: keep it whole
    return "{" + name + "}" if re.search(r"(?i)(?:^|\s)and(?:\s|$)", name) else name


def entry_for(paper: Paper, *, key: str | None = None) -> str:
    """One ``@misc`` entry for the paper, ending with a newline (the review card's BibTeX button shows it)."""
    fields = [
        ("title", _title(paper.title) or escape(paper.versioned_id)),
        ("author", " and ".join(_author(a) for a in paper.authors if a.strip()) or "{arXiv}"),
        ("year", str(_year(paper))),
        ("eprint", escape(paper.arxiv_id)),
        ("archivePrefix", "arXiv"),
        ("primaryClass", escape(paper.primary_category)),
        ("url", escape(paper.abs_url)),
    ]
    if paper.doi:
        fields.append(("doi", escape(paper.doi)))
    body = ",\n".join(f"  {name:<13} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key or citation_key(paper)},\n{body}\n}}\n"


def bib_for(papers: Iterable[Paper]) -> str:
    """Every paper's entry, in the given order, with keys made unique (``...a``, ``...b`` on a clash)."""
    seen: dict[str, int] = {}
    entries = []
    for paper in papers:
        key = citation_key(paper)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            key = f"{key}{chr(ord('a') + count - 1) if count <= 26 else count}"
        entries.append(entry_for(paper, key=key))
    return "\n".join(entries)


def write_day_bib(path: Path, papers: Sequence[Paper]) -> Path:
    """Write the papers' entries to ``path`` atomically (an empty file for a day with none shown)."""
    atomic_write_text(path, bib_for(papers))
    return path


def digest_papers(day: DayDigest) -> list[Paper]:
    """The papers a post shows, in post order (the replacements of 更新 are not cited)."""
    return [entry.paper for entry in day.entries]


def write_run_bib(day: DayDigest, folder: Path) -> Path:
    """``folder/<date>.bib`` for the papers the run's post shows (the same selection and order as the post,
    the day as the store holds it: ``view.read_day``). Called by the CLI next to the post and the report."""
    return write_day_bib(folder / bib_name(day.date), digest_papers(day))


def publish_bib(site: Path, day: DayDigest) -> Path:
    """Put the day's .bib where the published post's relative link finds it.

    Jekyll's default permalink puts the post at ``/YYYY/MM/DD/arxiv-daily.html``, so the header's link
    ``<date>.bib`` resolves to ``SITE/YYYY/MM/DD/<date>.bib``, which Jekyll copies as a static file."""
    folder = site / f"{day.date:%Y}" / f"{day.date:%m}" / f"{day.date:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    return write_day_bib(folder / bib_name(day.date), digest_papers(day))
