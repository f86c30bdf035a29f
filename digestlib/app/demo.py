"""The bundled sample day: twelve invented audio/speech papers and arXiv-like PDFs made from them.

Everything here was written for arxiv-digest (see ``sample/papers.yaml``); nothing is copied from
arXiv. ``make_pdf`` draws a small multi-page paper with fpdf2's core fonts — title, authors, abstract,
numbered sections with a results table, references, a running header, page numbers and the rotated
arXiv side stamp — so that the full-text extraction and section detection meet what real PDFs show.
Output is deterministic: the same bytes on every run (fixed creation date, content-derived file id).

``write_sample_snapshot`` records the whole day (feed, API metadata, PDFs, the pending paper's 404s) as a
replayable snapshot for ``digest demo``. The HTML rendering that only the tests' fake arXiv serves lives in
``tests/fakes/sample_html.py``.

Must not: fetch anything, or hold what only tests use.

Loaded lazily with ``lazy_loader`` (``digest --help`` and the other commands start without them): fpdf
(the PDFs) and ``digestlib.fulltext`` (tiktoken, the extraction pool) for recording the snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Iterator, Mapping
from xml.sax.saxutils import escape

import httpx
import lazy_loader as lazy
import yaml

from .. import source
from ..base import calendar
from ..base.config import ArxivSettings, FulltextSettings
from ..base.models import AnnounceType, Paper

fpdf = lazy.load("fpdf")
fulltext = lazy.load("digestlib.fulltext", suppress_warning=True)

SAMPLE_DIR = Path(__file__).with_name("sample")
SAMPLE_FILE = SAMPLE_DIR / "papers.yaml"
SAMPLE_DATE = dt.date(2026, 2, 5)  # Thursday; announced Wed 2026-02-04 20:00 ET; no US holiday

_SECTION_ORDER = ("introduction", "method", "experiments", "conclusion")
_SECTION_TITLES = {"introduction": "Introduction", "method": "Method", "experiments": "Experiments",
                   "conclusion": "Conclusion"}
# Characters the PDF core fonts (Latin-1) cannot draw, with what to write instead.
_LATIN1_FALLBACK = {"\u2013": "-", "\u2014": " - ", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                    "\u2026": "...", "\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u00a0": " "}
_FIXED_DATE = dt.datetime(2026, 2, 4, 12, 0, 0, tzinfo=dt.timezone.utc)


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE_FILE.read_text(encoding="utf-8"))


def _entries() -> list[dict[str, Any]]:
    return list(_data()["papers"])


def sample_entry(arxiv_id: str) -> dict[str, Any] | None:
    return next((e for e in _entries() if e["arxiv_id"] == arxiv_id), None)


def _to_paper(entry: Mapping[str, Any], order: int) -> Paper:
    published = dt.datetime.fromisoformat(str(entry["published"]).replace("Z", "+00:00"))
    return Paper(
        arxiv_id=str(entry["arxiv_id"]),
        version=int(entry.get("version", 1)),
        title=" ".join(entry["title"].split()),
        authors=tuple(entry["authors"]),
        categories=tuple(entry["categories"]),
        abstract=" ".join(entry["abstract"].split()),
        announce_type=AnnounceType(entry.get("announce_type", "new")),
        comment=entry.get("comment"),
        published=published,
        updated=published,
        listing_order=order,
    )


def sample_papers() -> list[Paper]:
    """The twelve papers of the sample day, in listing order (new submissions, then the cross-list)."""
    entries = _entries()
    ordered = [e for e in entries if e.get("announce_type", "new") == "new"] + \
              [e for e in entries if e.get("announce_type", "new") != "new"]
    return [_to_paper(e, i) for i, e in enumerate(ordered, start=1)]


def pending_ids() -> set[str]:
    """Ids of sample papers whose PDF is "not there yet" (no file is written for them)."""
    return {str(e["arxiv_id"]) for e in _entries() if not e.get("has_pdf", True)}


def sample_sections(arxiv_id: str) -> dict[str, str]:
    """The body text of a sample paper: introduction, method, experiments, conclusion, references."""
    entry = sample_entry(arxiv_id)
    if entry is None:
        raise KeyError(f"{arxiv_id} is not a sample paper")
    sections = {k: entry["sections"][k].strip() for k in _SECTION_ORDER if k in entry["sections"]}
    sections["references"] = "\n".join(f"[{i}] {r}" for i, r in enumerate(entry.get("references", []), start=1))
    return sections


def _latin1(text: str) -> str:
    for bad, good in _LATIN1_FALLBACK.items():
        text = text.replace(bad, good)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _stamp(paper: Paper) -> str:
    when = paper.published or dt.datetime.combine(SAMPLE_DATE, dt.time(), dt.timezone.utc)
    return f"arXiv:{paper.versioned_id}  [{paper.primary_category}]  {when.day} {when:%b %Y}"


def numbered_sections(sections: Mapping[str, str]) -> Iterator[tuple[int, str, str, str]]:
    """The body sections in order as (number, key, heading, text); references are not numbered."""
    body = [(name, text) for name, text in sections.items() if name != "references"]
    for number, (name, text) in enumerate(body, start=1):
        yield number, name, _SECTION_TITLES.get(name, name.replace("_", " ").title()), text


def make_pdf(paper: Paper, sections: Mapping[str, str] | None = None) -> bytes:
    """An arXiv-like PDF of ``paper`` (deterministic bytes).

    ``sections`` maps a section name to its text (paragraphs separated by blank lines); ``references``
    is written unnumbered at the end, one entry per line. Without ``sections``, a sample paper uses its
    bundled text and table; any other paper gets short sections built from its abstract.
    """
    entry = sample_entry(paper.arxiv_id)
    if sections is None:
        if entry is not None:
            sections = sample_sections(paper.arxiv_id)
        else:
            sections = {"introduction": paper.abstract, "method": paper.abstract,
                        "experiments": paper.abstract, "conclusion": paper.abstract}
    table = entry.get("table") if entry is not None else None
    short_title = paper.title if len(paper.title) <= 70 else paper.title[:67].rsplit(" ", 1)[0] + " ..."

    class _Doc(fpdf.FPDF):
        def header(self) -> None:  # running header from page 2 on, as journals and preprints do
            if self.page_no() > 1:
                self.set_font("Helvetica", "I", 8)
                self.set_text_color(90, 90, 90)
                self.cell(0, 5, _latin1(short_title), align="C")
                self.ln(9)
                self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 9)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = _Doc(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(_latin1(paper.title))
    pdf.set_author(_latin1(", ".join(paper.authors)))
    pdf.set_creator("arxiv-digest sample")
    pdf.set_margins(25, 20, 25)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()

    # the arXiv side stamp: rotated, grey, in the left margin of page 1
    pdf.set_font("Times", "", 18)
    pdf.set_text_color(150, 150, 150)
    with pdf.rotation(90, x=14, y=230):
        pdf.text(14, 230, _latin1(_stamp(paper)))
    pdf.set_text_color(0, 0, 0)

    pdf.set_font("Helvetica", "B", 17)
    pdf.multi_cell(0, 8, _latin1(paper.title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, _latin1(", ".join(paper.authors)), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, "Sample preprint written for the arxiv-digest demo", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, "Abstract", align="C")
    pdf.ln(7)
    pdf.set_font("Times", "", 10.5)
    pdf.set_x(35)
    pdf.multi_cell(140, 5, _latin1(paper.abstract), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    def paragraphs(text: str) -> None:
        pdf.set_font("Times", "", 11)
        for para in [p for p in text.split("\n\n") if p.strip()]:
            pdf.multi_cell(0, 5.5, _latin1(" ".join(para.split())), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)

    for number, name, title, text in numbered_sections(sections):
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, f"{number} {_latin1(title)}")
        pdf.ln(8)
        paragraphs(text)
        if name == "experiments" and table:
            pdf.set_font("Times", "", 10)
            with pdf.table(text_align="CENTER", first_row_as_headings=True, line_height=5.5) as t:
                for row in [table["header"], *table["rows"]]:
                    cells = t.row()
                    for value in row:
                        cells.cell(_latin1(str(value)))
            pdf.ln(1)
            pdf.set_font("Times", "I", 10)
            pdf.multi_cell(0, 5, _latin1(table["caption"]), align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)

    refs = sections.get("references", "")
    if refs.strip():
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "References")
        pdf.ln(8)
        pdf.set_font("Times", "", 10)
        for line in [r for r in refs.splitlines() if r.strip()]:
            pdf.multi_cell(0, 5, _latin1(line.strip()), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    return bytes(pdf.output())


def write_sample_pdfs(directory: str | Path, *, include_pending: bool = False) -> list[Path]:
    """Write ``<id>v<n>.pdf`` for each sample paper that has a PDF (all of them with ``include_pending``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pending = pending_ids()
    written = []
    for paper in sample_papers():
        if paper.arxiv_id in pending and not include_pending:
            continue
        path = directory / f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.pdf"
        path.write_bytes(make_pdf(paper))
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------------------
# The sample day as a replayable snapshot (``digest demo``)
# ---------------------------------------------------------------------------------------------------------

def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def sample_rss_feed(categories: tuple[str, ...] = ("cs.SD", "eess.AS")) -> bytes:
    """The sample day as rss.arxiv.org's Atom feed for ``categories`` (entries dated the mailing)."""
    stamp = f"{SAMPLE_DATE.isoformat()}T00:00:00-05:00"
    cats = "+".join(categories)
    out = ["<?xml version='1.0' encoding='UTF-8'?>",
           '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">',
           f"  <id>http://rss.arxiv.org/atom/{cats}</id>",
           f"  <title>{_x(', '.join(categories))} updates on arXiv.org</title>",
           f"  <updated>{stamp}</updated>",
           f'  <link href="http://rss.arxiv.org/atom/{cats}" rel="self" type="application/atom+xml"/>',
           f"  <subtitle>{_x(', '.join(categories))} updates on the arXiv.org e-print archive.</subtitle>"]
    for p in sample_papers():
        if not set(p.categories) & set(categories):
            continue
        out += [
            "  <entry>",
            f"    <id>oai:arXiv.org:{p.versioned_id}</id>",
            f"    <title>{_x(p.title)}</title>",
            f"    <updated>{stamp}</updated>",
            f'    <link href="https://arxiv.org/abs/{p.arxiv_id}" rel="alternate" type="text/html"/>',
            f"    <summary>arXiv:{p.versioned_id} Announce Type: {p.announce_type.value} \nAbstract: {_x(p.abstract)}</summary>",
            *[f'    <category term="{_x(c)}"/>' for c in p.categories],
            f"    <published>{stamp}</published>",
            f"    <arxiv:announce_type>{p.announce_type.value}</arxiv:announce_type>",
            "    <rights>http://creativecommons.org/licenses/by/4.0/</rights>",
            f"    <dc:creator>{_x(', '.join(p.authors))}</dc:creator>",
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def sample_api_feed(papers: list[Paper], *, total: int | None = None, start: int = 0, per_page: int = 100) -> bytes:
    """An export-API answer (2025+ format) holding ``papers``."""
    def ts(d: dt.datetime | None) -> str:
        return (d or _FIXED_DATE).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    out = ["<?xml version='1.0' encoding='UTF-8'?>",
           '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
           'xmlns="http://www.w3.org/2005/Atom">',
           "  <id>https://arxiv.org/api/sample</id>",
           "  <title>arXiv Query: sample day</title>",
           f"  <updated>{ts(None)}</updated>",
           f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>",
           f"  <opensearch:totalResults>{len(papers) if total is None else total}</opensearch:totalResults>",
           f"  <opensearch:startIndex>{start}</opensearch:startIndex>"]
    for p in papers:
        out += [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{p.versioned_id}</id>",
            f"    <title>{_x(p.title)}</title>",
            f"    <updated>{ts(p.updated)}</updated>",
            f'    <link href="https://arxiv.org/abs/{p.versioned_id}" rel="alternate" type="text/html"/>',
            f'    <link href="https://arxiv.org/pdf/{p.versioned_id}" rel="related" type="application/pdf" title="pdf"/>',
            f"    <summary>{_x(p.abstract)}</summary>",
            *[f'    <category term="{_x(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in p.categories],
            f"    <published>{ts(p.published)}</published>",
            *([f"    <arxiv:comment>{_x(p.comment)}</arxiv:comment>"] if p.comment else []),
            f'    <arxiv:primary_category term="{_x(p.primary_category)}"/>',
            *[f"    <author>\n      <name>{_x(a)}</name>\n    </author>" for a in p.authors],
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def sample_transport() -> httpx.MockTransport:
    """An ``httpx.MockTransport`` answering like arXiv for the sample day: feed, API, PDFs (404 when pending)."""
    papers = {p.arxiv_id: p for p in sample_papers()}
    pending = pending_ids()

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/atom/" in path or "/rss/" in path:
            cats = tuple(urllib.parse.unquote(path.rsplit("/", 1)[-1]).split("+"))
            return httpx.Response(200, content=sample_rss_feed(cats), headers={"content-type": "application/atom+xml"})
        if path.endswith("/query"):
            params = request.url.params
            start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
            if params.get("id_list"):
                wanted = [i.strip().removeprefix("arXiv:") for i in params["id_list"].split(",") if i.strip()]
                found = [papers[w.split("v")[0]] for w in wanted if w.split("v")[0] in papers]
            else:
                query = params.get("search_query", "")
                cats = set(re.findall(r"cat:([\w.\-]+)", query))
                found = sorted((p for p in papers.values() if not cats or set(p.categories) & cats),
                               key=lambda p: p.published or _FIXED_DATE)
            page = found[start:start + size]
            return httpx.Response(200, content=sample_api_feed(page, total=len(found), start=start, per_page=size),
                                  headers={"content-type": "application/atom+xml"})
        m = re.match(r"^/(pdf|html)/(.+?)v(\d+)/?$", path)
        if m and m.group(2) in papers and int(m.group(3)) == papers[m.group(2)].version:
            paper = papers[m.group(2)]
            if m.group(1) == "pdf" and paper.arxiv_id not in pending:
                return httpx.Response(200, content=make_pdf(paper), headers={"content-type": "application/pdf"})
        return httpx.Response(404, content=b"Not Found", headers={"content-type": "text/plain"})

    return httpx.MockTransport(handler)


def write_sample_snapshot(folder: str | Path, *, categories: tuple[str, ...] = ("cs.SD", "eess.AS")) -> Path:
    """Record the sample day into ``folder`` as a replayable snapshot (``digest run --replay``).

    The requests are made by the project's own ``ArxivSource`` and ``FulltextFetcher`` through a recorder,
    against ``sample_transport()``, so the snapshot holds exactly what a run asks for: the feed, the API
    metadata, the five PDFs, and the 404s (PDF and HTML) of the paper whose PDF is not out yet.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(ArxivSettings(), api_delay_seconds=0.0)
    inner = sample_transport()
    announced = calendar.announcement_time(SAMPLE_DATE)
    with source.ArxivSource(settings, categories, record_dir=folder, transport=inner,
                            backoff_seconds=0.0) as arxiv_source:
        announcement = arxiv_source.fetch_announcement(SAMPLE_DATE, now=announced + dt.timedelta(hours=6))
    with tempfile.TemporaryDirectory(prefix="digest-sample-") as scratch:
        fetch_settings = FulltextSettings(requests_per_second=0, max_retries=0, workers=1)
        with fulltext.FulltextFetcher(fetch_settings, settings.files_url, Path(scratch), user_agent=settings.user_agent,
                             transport=source.make_transport(record_dir=folder, inner=inner)) as fetcher:
            for paper in announcement.papers:
                if paper.announce_type.is_new:
                    fetcher.download(paper)
    return folder
