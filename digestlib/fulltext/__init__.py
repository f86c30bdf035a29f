"""A paper's full text: download (PDF, else arXiv's HTML rendering), extraction, sections, token budget.

One module per concern, each usable alone:

=============  =========================================================================================
download.py    ``FulltextFetcher``, ``DownloadResult``: the files from arXiv through ``digestlib.base.http``
pdf.py         one PDF read by PDFium (pypdfium2) or pypdf (title, running heads, pages) -> ``FullText``
pool.py        ``ExtractionPool`` on pebble: worker processes with a hard per-PDF timeout
html.py        arXiv's HTML rendering (or any article-like page) -> ``FullText``
clean.py       ligatures, the arXiv stamp, page numbers, headers/footers, hyphenation, paragraphs
sections.py    headings and the canonical section keys: one ``SectionSorter`` for PDF and HTML
budget.py      ``count_tokens`` (offline) and ``budgeted_text`` for the LLM's window
notes.py       ``DETAIL``: the clean notes people read about a download or an extraction
record.py      ``record_day``: ``digest snapshot`` (feed, API and full texts through a recorder; not imported here)
=============  =========================================================================================

This package must not call the LLM. The names below are what the rest of the project imports.
"""

from __future__ import annotations

from .budget import BUDGET_ORDER, SECTION_LABELS, budgeted_text, count_tokens
from .clean import clean_pages, normalize_text
from .download import DownloadResult, FulltextFetcher
from .html import extract_html, html_to_fulltext
from .notes import ACCEPTED_CONTENT_TYPES, DETAIL
from .pdf import MIN_TEXT_CHARS, drop_running_titles, extract_pdf_in_process, structure_pdf_text
from .pool import ExtractionPool, ExtractionResult, extract_many, extract_pdf, shutdown_default_pool
from .sections import CANONICAL_KEYS, canonical_key, split_sections

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "BUDGET_ORDER",
    "CANONICAL_KEYS",
    "DETAIL",
    "MIN_TEXT_CHARS",
    "SECTION_LABELS",
    "DownloadResult",
    "ExtractionPool",
    "ExtractionResult",
    "FulltextFetcher",
    "budgeted_text",
    "canonical_key",
    "clean_pages",
    "count_tokens",
    "drop_running_titles",
    "extract_html",
    "extract_many",
    "extract_pdf",
    "extract_pdf_in_process",
    "html_to_fulltext",
    "normalize_text",
    "shutdown_default_pool",
    "split_sections",
    "structure_pdf_text",
]
