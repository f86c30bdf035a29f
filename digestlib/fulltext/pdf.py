"""Reading one PDF with PDFium or pypdf: its pages, its printed title, its running heads, then cleaned sections.

Two engines (``fulltext.pdf_engine``) behind one reading loop: ``_PdfiumDocument`` (pypdfium2, Chromium's PDF
engine in C++, about a tenth of pypdf's CPU; the default) and ``_PypdfDocument`` (pure Python; the fallback
under ``auto`` for a PDF PDFium cannot open or finds no text in, and a choice). Both give page texts and page
1's runs of text with their font size and position to the same pure ``structure_pdf_text``; PDFium's own
marks (U+FFFE for a hyphen at a line break, ``\r\n``, control characters) are undone by
``clean.normalize_text``. pypdf and pypdfium2 are lazy loads (``lazy_loader.load`` at module level): they
are imported when a PDF is first read, never at import, so that reading a finished day stays light.

``extract_pdf_in_process`` runs inside a pool worker (``pool.py``) or in this process; it never raises for
a bad PDF (corrupt, truncated, encrypted, image-only all become a FAILED ``FullText`` with a clean note).
``structure_pdf_text`` is the pure part (page texts -> ``FullText``) and is what tests drive directly.
Reading stops after the page holding the "References" heading: the bibliography and the appendix after it
are never sent to the LLM (``budget.budgeted_text``), and in long papers they are most of the pages and of
pypdf's CPU.
Must not download, start processes or enforce the hard timeout (the pool does): the soft timeout here
only stops reading further pages.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import logging
import math
import os
import re
import threading
import time
import warnings
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import lazy_loader

from ..base.config import PDF_ENGINES  # fulltext.pdf_engine: auto (PDFium, else pypdf) | pdfium | pypdf
from ..base.models import FullText, TextStatus
from .clean import clean_pages, clean_title, title_words
from .notes import DETAIL
from .sections import is_caps, split_sections, titleish

__all__ = ["MIN_TEXT_CHARS", "PAGES_AFTER_REFERENCES", "PDF_ENGINES", "choose_title", "drop_running_titles", "extract_pdf_in_process", "failed_text",
           "looks_truncated", "quiet_pypdf", "references_start", "structure_pdf_text"]

pypdf = lazy_loader.load("pypdf")  # heavy: imported on the first PDF read by pypdf
pdfium = lazy_loader.load("pypdfium2")  # heavy (and native): imported on the first PDF read by PDFium; .raw is its C API
# A lazy module's first touch is not thread-safe before Python 3.12.3 (a second thread can see it half
# imported): the engines take their first attribute under this lock, as a plain import would.
_FIRST_TOUCH = threading.Lock()

MIN_TEXT_CHARS = 200  # fewer letters than this in a whole PDF: image-only (scanned) or empty
PAGES_AFTER_REFERENCES = 0  # pages read after the one holding the references heading (0: stop on that page)
_REFERENCES_HEADING = re.compile(
    r"^\s*(?:[ivx\d]{1,4}\.?\s+|\d{1,2}\s*)?(?:references?|bibliography|literatur(?:verzeichnis)?|works cited)\s*:?\s*$",
    re.IGNORECASE,
)


def references_start(page_text: str) -> bool:
    """A line of ``page_text`` is the references heading alone ("References", "7 REFERENCES", "LITERATUR")."""
    return any(_REFERENCES_HEADING.match(line) for line in page_text.split("\n"))


_PREAMBLE = re.compile(
    r"^(draft|typeset|preprint|accepted|submitted|published|received|to appear|under review|arxiv|proceedings"
    r"|journal|vol\.|volume|copyright|©|\(received|manuscript|version|doi|http)",
    re.IGNORECASE,
)


def _sane_title(t: str | None) -> bool:
    if not t:
        return False
    t = t.strip()
    words = t.split()
    if not (2 <= len(words) <= 40) or sum(ch.isalpha() for ch in t) < 8:
        return False
    if re.search(r"\.(dvi|tex|pdf|docx?|ps)$|^microsoft|^untitled|^title$|^paper\b|^arxiv|^\d", t, re.IGNORECASE):
        return False
    return True


def _layout_title(frags: Sequence[tuple[str, float, float]], page_height: float) -> str:
    """The largest distinctly-bigger-than-body text on the top part of page 1 (fragments in stream order)."""
    if not frags:
        return ""
    letters_by_size: collections.Counter[float] = collections.Counter()
    for text, size, _y in frags:
        letters_by_size[round(size * 2) / 2] += sum(ch.isalpha() for ch in text)
    if not letters_by_size:
        return ""
    body = letters_by_size.most_common(1)[0][0]
    top = [(t, round(s * 2) / 2, y) for t, s, y in frags if page_height <= 0 or y >= 0.4 * page_height]
    sizes = collections.Counter()
    for t, s, _y in top:
        sizes[s] += sum(ch.isalpha() for ch in t)
    candidates = sorted((s for s, c in sizes.items() if s >= body + 1.0 and c >= 8), reverse=True)
    if not candidates:
        return ""
    size = candidates[0]
    out: list[str] = []
    started = False
    for t, s, _y in top:
        if abs(s - size) <= 0.3:
            out.append(t)
            started = True
        elif started:
            if sum(ch.isalpha() for ch in t) >= 4:
                break
    title = clean_title(" ".join(x.strip("\n") for x in out))
    return title if _sane_title(title) else ""


def _first_lines_title(lines: Sequence[str]) -> str:
    for ln in lines[:25]:
        s = ln.strip()
        if not s or _PREAMBLE.match(s) or not titleish(s, max_words=25) and not (is_caps(s) and 3 <= len(s.split()) <= 25):
            continue
        if len(s.split()) >= 3:
            return clean_title(s)
    return ""


def choose_title(meta_title: str | None, layout_title: str, first_page_lines: Sequence[str]) -> str:
    """Metadata title when sane and printed on page 1, else the big top lines, else the first title-like line."""
    meta = clean_title(meta_title or "")
    meta_ok = _sane_title(meta)
    if layout_title:
        # the printed title wins; metadata only when it is the same words (it may be spaced better)
        return meta if meta_ok and title_words(meta) == title_words(layout_title) else layout_title
    if meta_ok:
        page_words = set(title_words(" ".join(first_page_lines[:60])))
        mw = title_words(meta)
        if mw and sum(w in page_words for w in mw) / len(mw) >= 0.9:
            return meta
    guess = _first_lines_title(first_page_lines)
    if guess:
        return guess
    return meta if meta_ok else ""


def quiet_pypdf() -> None:  # the pool's workers call it on start
    """pypdf reports every font it cannot fully parse; none of that belongs in a notebook or terminal."""
    logger = logging.getLogger("pypdf")
    if not getattr(logger, "_digest_quiet", False):
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        logger.setLevel(logging.CRITICAL + 1)
        logger._digest_quiet = True  # type: ignore[attr-defined]
    warnings.filterwarnings("ignore", module=r"pypdf(\..*)?")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(pypdf|PdfReadWarning|font).*")


def _id_from_name(path: str | os.PathLike[str]) -> tuple[str, int]:
    stem = Path(path).stem
    m = re.match(r"^(.*?)v(\d+)$", stem)
    if m:
        return m.group(1).replace("_", "/"), int(m.group(2))
    return stem, 0


def failed_text(path: str | os.PathLike[str], reason: str, pages: int = 0, **fmt: object) -> FullText:
    """A FAILED ``FullText`` for the PDF at ``path`` (its id read from the file name), noted ``DETAIL[reason]``."""
    aid, ver = _id_from_name(path)
    return FullText(aid, ver, TextStatus.FAILED, source="pdf", pages=pages, detail=DETAIL[reason].format(**fmt))


def looks_truncated(path: Path) -> bool:
    """No ``%%EOF`` in the last 2 KiB: a transfer cut short."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 2048))
        return b"%%EOF" not in fh.read()


def _has_letters(pages: Iterable[str], minimum: int) -> bool:
    """At least ``minimum`` letters in ``pages`` (counting stops once reached: page 1 is usually enough)."""
    count = 0
    for page in pages:
        count += sum(map(str.isalpha, page))
        if count >= minimum:
            return True
    return False


class _Unreadable(Exception):
    """A PDF an engine cannot open or read: ``reason`` is a key of ``DETAIL``. Private to this module."""

    def __init__(self, reason: str, pages: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pages = pages


Fragment = tuple[str, float, float]  # (text, effective font size, baseline y) of a run of page 1's text


class _Document(Protocol):
    """One open PDF as the reading loop sees it, whichever engine reads it."""

    engine: str
    page_count: int
    meta_title: str | None

    def page_text(self, index: int, frags: list[Fragment] | None = None) -> tuple[str, float]: ...

    def close(self) -> None: ...


class _PypdfDocument:
    """pypdf's reading of one PDF (pure Python, ~15x the CPU of PDFium): today's path, and the fallback."""

    engine = "pypdf"

    def __init__(self, path: Path) -> None:
        with _FIRST_TOUCH:
            reader_class = pypdf.PdfReader
        try:
            self._reader = reader = reader_class(str(path), strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
                except Exception:  # noqa: BLE001 - AES without a crypto library, unknown handlers
                    ok = 0
                if not ok:
                    raise _Unreadable("encrypted")
            self.page_count = len(reader.pages)
            try:
                self.meta_title = reader.metadata.title if reader.metadata else None
            except Exception:  # noqa: BLE001 - broken Info dictionaries are common
                self.meta_title = None
        except _Unreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken input
            name = type(exc).__name__
            if "Decrypt" in name or "Dependency" in name or "password" in str(exc).lower():
                raise _Unreadable("encrypted") from None
            raise _Unreadable("corrupt") from None

    def page_text(self, index: int, frags: list[Fragment] | None = None) -> tuple[str, float]:
        """Page ``index``'s text and height; with ``frags``, its runs of text with their size and position."""
        try:
            page = self._reader.pages[index]
            if frags is None:
                return page.extract_text() or "", 0.0
            try:
                height = float(page.mediabox.height)
            except Exception:  # noqa: BLE001
                height = 0.0

            def visitor(text: str, cm: Sequence[float], tm: Sequence[float], font: object, size: float) -> None:
                if text and text.strip():
                    c = tm[2] * cm[0] + tm[3] * cm[2]
                    d = tm[2] * cm[1] + tm[3] * cm[3]
                    y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                    frags.append((text, float(size) * math.hypot(c, d), float(y)))

            return page.extract_text(visitor_text=visitor) or "", height
        except Exception as exc:
            if "Decrypt" in type(exc).__name__ or "Dependency" in type(exc).__name__:
                raise _Unreadable("encrypted", self.page_count) from None
            raise

    def close(self) -> None:
        self._reader = None  # type: ignore[assignment]


# PDFium keeps global state and is not thread-safe: one document at a time per process. The pool gives each
# worker one PDF at a time anyway; the lock covers callers that extract in their own process from threads.
_PDFIUM_LOCK = threading.Lock()


class _PdfiumDocument:
    """PDFium's reading of one PDF (pypdfium2: Chromium's PDF engine, C++): the default engine.

    Every page and text page handle is closed as soon as it is read and the document on ``close``, so a
    worker's memory does not grow over a day's papers (pypdfium2 would otherwise wait for the GC)."""

    engine = "pdfium"

    def __init__(self, path: Path) -> None:
        with _FIRST_TOUCH:
            self._raw = pdfium_c = pdfium.raw
        try:
            # owner-password-only PDFs (common on arXiv) open with no password: PDFium ignores the owner's rights
            self._doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            raise _Unreadable("encrypted" if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)
                              else "corrupt") from None
        except Exception:  # noqa: BLE001 - anything else PDFium's loader reports is a file it cannot read
            raise _Unreadable("corrupt") from None
        try:
            self.page_count = len(self._doc)
            try:
                self.meta_title = self._doc.get_metadata_value("Title") or None
            except Exception:  # noqa: BLE001 - broken Info dictionaries are common
                self.meta_title = None
        except Exception:  # noqa: BLE001
            self.close()
            raise _Unreadable("corrupt") from None

    def page_text(self, index: int, frags: list[Fragment] | None = None) -> tuple[str, float]:
        page = self._doc[index]
        try:
            textpage = page.get_textpage()
            try:
                text = self._edges_on_their_own_lines(textpage, textpage.get_text_range())
                if frags is None:
                    return text, 0.0
                frags.extend(self._fragments(textpage))
                return text, float(page.get_height())
            finally:
                textpage.close()
        finally:
            page.close()

    _EDGE_CHARS = 300  # how far into a page's text, from either end, a header or footer may sit

    def _edges_on_their_own_lines(self, textpage: pdfium.PdfTextPage, text: str) -> str:
        """A line break where PDFium joined two lines with a space at the start or end of a page's text.

        PDFium sometimes glues a footer (the page number) to the last line of the body, or a running head to
        the first, with a generated space although the two are on different lines (fpdf's footers, for
        one); ``clean_pages`` then cannot drop them, as it works on whole lines. Only the page's edges are
        looked at, where headers and footers are, which costs a few calls per page."""
        c = self._raw
        handle = textpage.raw
        n = c.FPDFText_CountChars(handle)
        if len(text) != n or n < 3:
            return text  # the text's indices are not the characters' ones: leave it as PDFium gave it
        y_before, y_after, x = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        edge = self._EDGE_CHARS
        candidates = [i for i in range(1, n - 1) if text[i] == " " and (i < edge or i >= n - edge)] if n > 2 * edge \
            else [i for i in range(1, n - 1) if text[i] == " "]
        chars = None
        for i in candidates:
            if c.FPDFText_IsGenerated(handle, i) != 1:
                continue
            c.FPDFText_GetCharOrigin(handle, i - 1, x, y_before)
            c.FPDFText_GetCharOrigin(handle, i + 1, x, y_after)
            if abs(y_before.value - y_after.value) > 0.8 * max(c.FPDFText_GetFontSize(handle, i + 1), 1.0):
                chars = chars if chars is not None else list(text)
                chars[i] = "\n"
        return text if chars is None else "".join(chars)

    def _fragments(self, textpage: pdfium.PdfTextPage) -> list[Fragment]:
        """Runs of characters of one size on one line, in stream order, like pypdf's visitor gives them.

        The size is the character's font size times the scale of its matrix (text matrix and CTM), as
        pypdf's ``size * hypot(c, d)``; the position is the first character's baseline origin."""
        c = self._raw
        handle = textpage.raw
        matrix = c.FS_MATRIX()
        x, y = ctypes.c_double(), ctypes.c_double()
        out: list[Fragment] = []
        chars: list[str] = []
        run_font = run_size = run_y = 0.0

        def flush() -> None:
            text = "".join(chars)
            if text.strip():
                out.append((text, run_size, run_y))
            chars.clear()

        for i in range(c.FPDFText_CountChars(handle)):
            ch = chr(c.FPDFText_GetUnicode(handle, i))
            if ch in "\r\n":
                flush()
                continue
            if c.FPDFText_IsGenerated(handle, i) == 1:
                if chars:
                    chars.append(" ")
                continue
            font = c.FPDFText_GetFontSize(handle, i)
            if not chars or font != run_font:
                flush()
                run_font = font
                c.FPDFText_GetMatrix(handle, i, matrix)
                c.FPDFText_GetCharOrigin(handle, i, x, y)
                run_size, run_y = font * (math.hypot(matrix.c, matrix.d) or 1.0), y.value
            chars.append("-" if ch == "\ufffe" else ch)
        flush()
        return out

    def close(self) -> None:
        doc, self._doc = getattr(self, "_doc", None), None
        if doc is not None:
            doc.close()


def _read_pages(doc: _Document, limit: int, started: float, soft_timeout: float,
                pages_after_references: int) -> dict[str, object]:
    """Read ``doc``'s pages up to the references (see ``extract_pdf_in_process``): the inputs of
    ``structure_pdf_text`` as keyword arguments."""
    pages: list[str] = []
    frags: list[Fragment] = []
    page_height = 0.0
    errors = 0
    stopped_early = False
    references_page = -1  # the page of the references heading
    for i in range(limit):
        if references_page >= 0 and 0 <= pages_after_references < i - references_page:
            break  # bibliography and appendix from here on: never sent to the LLM (see the docstring)
        if soft_timeout > 0 and i > 0 and time.monotonic() - started > soft_timeout:
            stopped_early = True
            break
        try:
            text, height = doc.page_text(i, frags if i == 0 else None)
            if i == 0:
                page_height = height
        except _Unreadable:
            raise
        except Exception:  # noqa: BLE001 - one bad page must not lose the others
            errors += 1
            text = ""
        pages.append(text)
        if references_page < 0 and i > 0 and references_start(text):
            references_page = i
    return dict(pages=pages, frags=frags, page_height=page_height, stopped_early=stopped_early, errors=errors,
                pages_skipped=references_page >= 0 and len(pages) < limit)


def _extract_with(engine: str, path: Path, max_pages: int, started: float, soft_timeout: float,
                  pages_after_references: int) -> FullText:
    """One engine's ``FullText`` of ``path`` (FAILED with a clean note for a PDF it cannot read)."""
    aid, ver = _id_from_name(path)
    opener = _PdfiumDocument if engine == "pdfium" else _PypdfDocument
    with _PDFIUM_LOCK if engine == "pdfium" else contextlib.nullcontext():
        try:
            doc = opener(path)
        except _Unreadable as exc:
            return dataclasses.replace(failed_text(path, exc.reason), engine=engine)
        total = doc.page_count
        try:
            limit = min(total, max_pages) if max_pages > 0 else total
            read = _read_pages(doc, limit, started, soft_timeout, pages_after_references)
        except _Unreadable as exc:
            return dataclasses.replace(failed_text(path, exc.reason, pages=total), engine=engine)
        finally:
            doc.close()
    pages, errors = read.pop("pages"), read.pop("errors")
    if not _has_letters(pages, MIN_TEXT_CHARS):
        reason = "corrupt" if errors and errors == len(pages) else "no_text"
        return dataclasses.replace(failed_text(path, reason, pages=total), engine=engine)
    ft = structure_pdf_text(pages, aid=aid, version=ver, total_pages=total, meta_title=doc.meta_title, **read)
    return dataclasses.replace(ft, engine=engine)


def extract_pdf_in_process(path: str | os.PathLike[str], max_pages: int = 60, soft_timeout: float = 0.0,
                           pages_after_references: int = PAGES_AFTER_REFERENCES, engine: str = "auto") -> FullText:
    """Extract one PDF in *this* process (the pool workers run this). Never raises for a bad PDF.

    ``engine`` (``fulltext.pdf_engine``): ``pdfium`` (PDFium through pypdfium2), ``pypdf`` (pure Python),
    or ``auto``: PDFium, and pypdf for a PDF that PDFium cannot open or that gives it no text (pypdf's
    note is kept when both fail). ``FullText.engine`` says which one read it.

    Reading stops ``pages_after_references`` pages after the page holding the "References" heading
    (``references_start``, looked for from page 2 on); by default that page is the last one read, as it
    holds the end of the text before the bibliography (often the conclusion). Negative: read to the page
    cap. The bibliography and the appendix after it are never sent to the LLM (``budget.budgeted_text``
    leaves out ``references`` and ``appendix``, and ``sections`` files every section after the references
    under ``appendix``), and in long papers they are most of the pages and of the CPU. Those pages are
    skipped on purpose, so no "partial" note is added; ``pages`` still counts all the PDF's pages.

    ``soft_timeout`` > 0 stops reading further pages once exceeded (the text so far is kept, noted in
    ``detail``); the hard per-PDF limit is the pool's, which kills the worker.
    """
    quiet_pypdf()
    started = time.monotonic()
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return failed_text(path, "missing_file")
    if b"%PDF-" not in head:
        return failed_text(path, "corrupt")  # an HTML page or an error message saved as a PDF
    if looks_truncated(path):
        return failed_text(path, "truncated")
    if engine not in PDF_ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r} (one of {', '.join(PDF_ENGINES)})")
    first = "pypdf" if engine == "pypdf" else "pdfium"
    ft = _extract_with(first, path, max_pages, started, soft_timeout, pages_after_references)
    if engine == "auto" and ft.status is TextStatus.FAILED:
        # PDFium could not open it or found no text: pypdf's reading (or its note) is the answer
        ft = _extract_with("pypdf", path, max_pages, started, soft_timeout, pages_after_references)
    return ft


_ELLIPSIS_END = re.compile(r"(?:\.{2,}|…)\s*$")
# "Shen, et al." / "2 Trilling et al." / "Trilling et al. 3": the first author's running head
_AUTHOR_HEAD = re.compile(r"^(?:\d{1,4}\s+)?([^\W\d_][\w'’-]+),?\s+et\s+al\.?(?:\s+\d{1,4})?$")


def _is_running_title(line: str, titles: Sequence[list[str]]) -> bool:
    """``line`` is the paper's title (or its start followed by "..."), maybe with a page number attached."""
    words = title_words(_ELLIPSIS_END.sub("", line))
    while words and words[0].isdigit():
        words = words[1:]
    while words and words[-1].isdigit():
        words = words[:-1]
    if len(words) < 2 or sum(len(w) for w in words) < 10:
        return False
    shortened = _ELLIPSIS_END.search(line) is not None
    for title in titles:
        if words == title or (shortened and len(words) >= 3 and words == title[: len(words)]):
            return True
    return False


def drop_running_titles(paged: Sequence[Sequence[str]], titles: Iterable[str], edge: int = 3) -> list[list[str]]:
    """Remove the running header/footer that repeats the paper's title, or its first author's "Surname et
    al.", at the edge of pages 2 and later.

    ``clean_pages`` finds headers by repetition, which needs the same line on several pages: a two-page
    paper, a title printed on only some pages, or the author head of alternating heads (acmart: author on
    even pages, title on odd ones) when only the pages up to the references are read, escapes it and the
    head ends up in the middle of a sentence. A line among the first or last ``edge`` of a later page that
    *is* the title (or the title cut short with "..."), or that is "<Name>, et al." with a name printed
    near the top of page 1, is a running head; page 1, where the title is printed as such, is left alone.
    """
    wanted = [w for w in (title_words(clean_title(t)) for t in titles if t) if len(w) >= 2]
    out = [list(page) for page in paged]
    front = set(title_words(" ".join(out[0][:40]))) if out else set()

    def running_head(line: str) -> bool:
        m = _AUTHOR_HEAD.match(line.strip())
        return (m is not None and set(title_words(m.group(1))) <= front) or _is_running_title(line, wanted)

    for page in out[1:]:
        n = len(page)
        drop = {i for i in range(n) if (i < edge or i >= n - edge) and running_head(page[i])}
        page[:] = [ln for i, ln in enumerate(page) if i not in drop]
    return out


def structure_pdf_text(
    pages: Sequence[str], *, aid: str = "", version: int = 0, total_pages: int | None = None,
    meta_title: str | None = None, frags: Sequence[tuple[str, float, float]] = (), page_height: float = 0.0,
    stopped_early: bool = False, pages_skipped: bool = False,
) -> FullText:
    """Raw page texts -> a cleaned, sectioned ``FullText`` (pure; used by the workers and by tests).

    ``pages_skipped``: the pages after ``pages`` were left out on purpose (past the references), so the
    "only the first N pages" note is not added."""
    total = total_pages if total_pages is not None else len(pages)
    paged = clean_pages(pages)
    title = choose_title(meta_title, _layout_title(frags, page_height), paged[0] if paged else [])
    paged = drop_running_titles(paged, [title, meta_title or ""])
    lines = [ln for page in paged for ln in page]
    sections = split_sections(lines)
    detail = ""
    if stopped_early:
        detail = DETAIL["partial_time"].format(done=len(pages), total=total)
    elif len(pages) < total and not pages_skipped:
        detail = DETAIL["partial_pages"].format(done=len(pages), total=total)
    return FullText(aid, version, TextStatus.OK, source="pdf", title=title, sections=sections, pages=total, detail=detail)

