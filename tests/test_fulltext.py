"""Full text: real PDFs, a loopback file server for every way a download goes wrong, the pool, the budget."""

from __future__ import annotations

import collections
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from digestlib import fulltext
from digestlib.base.config import FulltextSettings
from digestlib.base.errors import FulltextError
from digestlib.fulltext import (
    DETAIL,
    ExtractionPool,
    FulltextFetcher,
    budgeted_text,
    canonical_key,
    clean_pages,
    count_tokens,
    extract_many,
    extract_pdf,
    html_to_fulltext,
    split_sections,
    structure_pdf_text,
)
from digestlib.base.models import FullText, Paper, TextStatus
from digestlib.app.demo import make_pdf, sample_papers
from tests.fakes.sample_html import make_html
from tests.fakes.files_server import FilesServer, Reply

UA = "arxiv-digest-tests/1.0"

# The titles as printed on page 1 of each real PDF (checked by eye), and the sections each one has as read
# by default (up to the page holding the "References" heading: no appendix).
REAL = {
    "1512.04469v1": ("Über die Klassifizierung von Knoten in dynamischen Netzwerken mit Inhalt",
                     {"abstract", "introduction", "conclusion", "references"}),
    "1601.03642v1": ("Creativity in Machine Learning", {"abstract", "introduction", "conclusion", "references"}),
    "1707.04066v1": ("The size distribution of near earth objects larger than 10 meters",
                     {"abstract", "introduction", "conclusion", "references"}),
    "1801.07779v1": ("The WiLI benchmark dataset for written language identification",
                     {"abstract", "introduction", "conclusion", "references"}),
    "2206.10883v3": ("Multi-LexSum: Real-World Summaries of Civil Rights Lawsuits at Multiple Granularities",
                     {"abstract", "introduction", "experiments", "conclusion", "references"}),
    "2302.07302v1": ("CiteSee: Augmenting Citations in Scientific Papers with Persistent and Personalized Historical Context",
                     {"abstract", "introduction", "experiments", "conclusion", "references"}),
    "2304.02623v1": ("Beyond Summarization: Designing AI Support for Real-World Expository Writing Tasks",
                     {"abstract", "introduction", "conclusion", "references"}),
    "2501.10120v1": ("PaSa: An LLM Agent for Comprehensive Academic Paper Search",
                     {"abstract", "introduction", "method", "experiments", "conclusion", "references"}),
}
# The two PDF engines (``fulltext.pdf_engine``; ``auto`` is PDFium with pypdf as the fallback): every test of a
# real or hostile PDF runs for both, through the same ``structure_pdf_text``.
ENGINES = ("pdfium", "pypdf")
# The real PDFs with an appendix after the bibliography (found when reading goes on past the references).
WITH_APPENDIX = {"1601.03642v1", "1801.07779v1", "2206.10883v3", "2501.10120v1"}


@pytest.fixture(scope="module")
def pdf_dir(shared_data) -> Path:
    """The 8 real arXiv PDFs (``shared_data`` from conftest skips cleanly when the data is absent)."""
    folder = shared_data / "pdf"
    if not any(folder.glob("*.pdf")):
        pytest.skip("no PDFs in the shared test data")
    return folder


def _norm(s: str) -> str:
    return " ".join(re.findall(r"\w+", s.lower()))


@pytest.fixture(scope="module")
def pool():
    with ExtractionPool(2) as p:
        yield p


@pytest.fixture(scope="module", params=ENGINES)
def real_engine(request) -> str:
    return request.param


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


def _read_real(pool, pdf_dir, engine: str) -> dict[str, FullText]:
    paths = sorted(pdf_dir.glob("*.pdf"))
    return {p.stem: ft for p, ft in zip(paths, extract_many(paths, max_pages=60, timeout=60, pool=pool, engine=engine))}


@pytest.fixture(scope="module")
def real_texts(pool, pdf_dir, real_engine):
    texts = _read_real(pool, pdf_dir, real_engine)
    assert {ft.engine for ft in texts.values()} == {real_engine}
    return texts


@pytest.fixture(scope="module")
def whole_texts(pool, pdf_dir, real_engine):
    """The real PDFs read to the page cap (``pages_after_references=-1``), bibliography and appendix included."""
    paths = sorted(pdf_dir.glob("*.pdf"))
    outcomes = pool.run(fulltext.extract_pdf_in_process, [(p, 60, 0.0, -1, real_engine) for p in paths], timeout=60)
    assert all(o.kind == "ok" for o in outcomes), outcomes
    return {p.stem: o.value for p, o in zip(paths, outcomes)}


@pytest.fixture(scope="module")
def sample_pdf() -> tuple[Paper, bytes]:
    paper = sample_papers()[0]
    return paper, make_pdf(paper)


def _settings(**kw) -> FulltextSettings:
    base = dict(max_pdf_mb=5.0, download_timeout_seconds=5.0, extract_timeout_seconds=20.0,
                requests_per_second=0, max_retries=2, workers=2)
    base.update(kw)
    return FulltextSettings(**base)


@pytest.fixture()
def server():
    with FilesServer() as s:
        yield s


def _fetcher(server, tmp_path, pool, **kw) -> FulltextFetcher:
    return FulltextFetcher(_settings(**kw), server.url, tmp_path / "cache", user_agent=UA, backoff=0.01, pool=pool)


def _clean_detail(detail: str) -> None:
    assert detail and "Error" not in detail and "Traceback" not in detail and "httpx" not in detail and "http://" not in detail


# ------------------------------------------------------------------------------------------- real PDFs

@pytest.mark.parametrize("stem", sorted(REAL))
@pytest.mark.integration
def test_real_pdf_title_and_sections(real_texts, stem):
    ft = real_texts[stem]
    title, expected = REAL[stem]
    assert ft.status is TextStatus.OK, ft.detail
    assert ft.source == "pdf" and ft.pages >= 4
    assert _norm(ft.title) == _norm(title)
    assert expected <= set(ft.sections), sorted(ft.sections)
    assert "appendix" not in ft.sections  # reading stopped on the references heading's page
    assert ft.detail == ""  # the pages left out after the references are no "partial" extraction
    assert len(ft.sections["introduction"]) > 500
    text = ft.text
    assert "ﬁ" not in text and "ﬂ" not in text  # ligatures resolved
    assert not _control_chars(text + ft.title)  # PDFium's U+FFFE, U+0002 ..., \r: none reaches a prompt
    assert not re.search(r"arXiv:\d{4}\.\d{4,5}v\d+\s+\[", text)  # side stamp removed
    assert not re.search(r"^\d{1,3}$", text, re.M)  # no bare page numbers left


@pytest.mark.integration
def test_real_pdf_details(real_texts):
    german = real_texts["1512.04469v1"]
    assert german.sections["abstract"].startswith("In dieser Arbeit wird der DYCOS-Algorithmus")  # "Zusammenfassung—" run-in
    assert german.sections["references"].startswith("LITERATUR") or "[AL11]" in german.sections["references"]
    assert "Herausforderungen" in german.sections["introduction"]  # "Herausfor-" + "derungen" joined
    assert "VI. AUSBLICK" in german.sections["conclusion"]
    neo = real_texts["1707.04066v1"]
    assert not re.search(r"Trilling et al\.(?! \(?(19|20)\d\d)", neo.text)  # running header "2 Trilling et al." removed
    assert "Department of Physics" not in neo.sections.get("introduction", "")  # affiliations are not sections
    lexsum = real_texts["2206.10883v3"]
    assert "state-of-the-art" in lexsum.sections["abstract"]  # a real hyphen kept across the line break
    assert "knowledge workers" in lexsum.sections["abstract"]  # "knowl-" + "edge" joined
    citesee = real_texts["2302.07302v1"]
    assert citesee.sections["experiments"].startswith("5 STUDY 1: DISCOVER RELEVANT CITATIONS")
    acm = real_texts["2304.02623v1"]  # alternating running heads: "Shen, et al." on the even pages only
    assert "Shen, et al." not in acm.text and "writing Several studies" in acm.sections["introduction"]


def _control_chars(text: str) -> set[str]:
    """Characters no prompt should hold: C0/C1 controls but newline, noncharacters, surrogates, ligatures."""
    return {ch for ch in text if (ord(ch) < 32 and ch != "\n") or 0x7f <= ord(ch) <= 0x9f or ch in "\ufffe\uffff"
            or 0xd800 <= ord(ch) < 0xe000 or 0xfb00 <= ord(ch) <= 0xfb06}


def test_pdfium_marks_and_control_characters_are_normalised():
    """PDFium's line-break hyphen (U+FFFE, the two lines joined) is a hyphen and a line break again, so the
    hyphenation rules decide as with pypdf's text; U+0002 and other control characters, \r\n and ligature
    code points never get through."""
    pages = ["Title Words Of A Paper\r\n1 Introduction\r\nWe use a speci\ufffefic model that is well\r\n"
             "known to the DYCOS\ufffeAlgorithmus and its e\ufb00ect\x02 on \x12\x13data\tsets.\r\n"]
    ft = structure_pdf_text(pages)
    text = ft.sections["introduction"]
    assert "specific model" in text and "DYCOS-Algorithmus" in text and "effect on data sets." in text
    assert not _control_chars(ft.text + ft.title)


@pytest.mark.integration
def test_real_pdf_engines_agree(pool, pdf_dir, real_texts, real_engine):
    """PDFium and pypdf give the same titles and sections (so the 25 papers' posts differ only in words the
    engines read differently), and the words of each section mostly agree."""
    if real_engine != "pdfium":
        pytest.skip("compared once, from the PDFium side")
    other = _read_real(pool, pdf_dir, "pypdf")
    for stem, ft in real_texts.items():
        assert ft.title == other[stem].title, stem
        assert list(ft.sections) == list(other[stem].sections), stem
        for key, body in ft.sections.items():
            mine, theirs = collections.Counter(_norm(body).split()), collections.Counter(_norm(other[stem].sections[key]).split())
            overlap = sum((mine & theirs).values()) / max(1, max(sum(mine.values()), sum(theirs.values())))
            assert overlap >= 0.8, (stem, key, overlap)


@pytest.mark.integration
def test_real_pdf_read_past_the_references(real_texts, whole_texts):
    """Read to the page cap, the appendices are found, and what the LLM is sent is the same as by default."""
    for stem, whole in whole_texts.items():
        ft = real_texts[stem]
        assert ("appendix" in whole.sections) == (stem in WITH_APPENDIX), stem
        assert whole.title == ft.title and whole.pages == ft.pages and whole.detail == ft.detail == ""
        assert budgeted_text(whole, 4500) == budgeted_text(ft, 4500), stem
        assert len(whole.sections["references"]) >= len(ft.sections["references"])
    assert whole_texts["2206.10883v3"].sections["appendix"].startswith("A Multi-LexSum release")
    # "A Handheld VR Device ..." in a reference is not an appendix
    assert "appendix" not in whole_texts["2302.07302v1"].sections


def _paged_pdf(path: Path) -> None:
    """Four pages: introduction; conclusion and the references heading; more references; an appendix."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pages = [
        ("Abstract", "We read papers up to their references and no further, which saves time."),
        ("1 Introduction", "PAGE-ONE-MARKER. " + "Reading a paper costs time for every page of it. " * 4),
        ("2 Conclusion", "PAGE-TWO-MARKER. The pages after the references are never sent anywhere."),
        ("References", "[1] A. Author. A first paper. In Proceedings of a conference, 2020."),
        (None, "[2] B. Author. PAGE-THREE-MARKER, a second paper. Journal of things, 2021."),
        ("A Appendix Details", "PAGE-FOUR-MARKER. Extra proofs that nobody reads."),
    ]
    layout = [[0, 1], [2, 3], [4], [5]]
    for page in layout:
        pdf.add_page()
        for heading, text in (pages[i] for i in page):
            if heading:
                pdf.set_font("Helvetica", "B", 12)
                pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Times", "", 11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    path.write_bytes(bytes(pdf.output()))


def test_reading_stops_on_the_references_page(tmp_path, engine):
    """By default the page holding the references heading is the last one read, with no "partial" note."""
    path = tmp_path / "2602.09998v1.pdf"
    _paged_pdf(path)
    ft = fulltext.extract_pdf_in_process(path, engine=engine)
    assert ft.engine == engine
    assert ft.status is TextStatus.OK and ft.pages == 4 and ft.detail == ""
    assert "PAGE-ONE-MARKER" in ft.sections["introduction"] and "PAGE-TWO-MARKER" in ft.sections["conclusion"]
    assert ft.sections["references"].startswith("[1] A. Author")  # the references page itself is read
    assert "PAGE-THREE-MARKER" not in ft.text and "PAGE-FOUR-MARKER" not in ft.text
    assert "appendix" not in ft.sections
    # a caller may read further: one more page, or everything up to the page cap
    one = fulltext.extract_pdf_in_process(path, pages_after_references=1, engine=engine)
    assert "PAGE-THREE-MARKER" in one.sections["references"] and "PAGE-FOUR-MARKER" not in one.text
    assert one.detail == ""
    whole = fulltext.extract_pdf_in_process(path, pages_after_references=-1, engine=engine)
    assert "PAGE-FOUR-MARKER" in whole.sections["appendix"] and whole.detail == ""
    assert budgeted_text(whole, 4500) == budgeted_text(ft, 4500)
    # the page cap, unlike the references, is a partial extraction and says so
    capped = fulltext.extract_pdf_in_process(path, max_pages=1, engine=engine)
    assert capped.detail == DETAIL["partial_pages"].format(done=1, total=4)


def test_soft_deadline_keeps_the_pages_read(tmp_path, engine):
    """Past the soft deadline no further page is read: the text so far is kept, and the note says so."""
    path = tmp_path / "2602.09998v1.pdf"
    _paged_pdf(path)
    ft = fulltext.extract_pdf_in_process(path, soft_timeout=1e-9, engine=engine)
    assert ft.status is TextStatus.OK and ft.engine == engine
    assert ft.detail == DETAIL["partial_time"].format(done=1, total=4)
    assert "PAGE-ONE-MARKER" in ft.text and "PAGE-TWO-MARKER" not in ft.text


@pytest.mark.integration
def test_page_cap_and_partial_note(pool, pdf_dir, engine):
    ft = extract_pdf(pdf_dir / "2206.10883v3.pdf", max_pages=3, timeout=30, pool=pool, engine=engine)
    assert ft.status is TextStatus.OK and ft.pages == 37
    assert ft.detail == DETAIL["partial_pages"].format(done=3, total=37)
    assert "references" not in ft.sections


# ------------------------------------------------------------------------------------------- clean-up

def test_clean_pages_ligatures_stamp_headers_numbers():
    pages = [
        "Running Head Title\nThe ﬁrst ﬂow and eﬀect.\narXiv:2601.15240v1  [cs.SD]  21 Jan 2026\nBody one.\n1",
        "Running Head Title\nBody two continues.\n2",
        "Running Head Title\nBody three.\n3",
    ]
    cleaned = clean_pages(pages)
    flat = [ln for page in cleaned for ln in page]
    assert flat == ["The first flow and effect.", "Body one.", "Body two continues.", "Body three."]


def test_running_title_of_a_short_paper_is_removed():
    """A two-page paper's running head (its title, on page 2 only) escapes the repetition rule."""
    title = "Spatially Prompted Target Speaker Extraction in Reverberant Meetings"
    pages = [
        "Spatially Prompted Target Speaker Extraction in\nReverberant Meetings\nChen Yue, Oscar Ruiz\nAbstract\nWe extract one talker from a meeting recording.\n"
        "1 Introduction\nSo that the network can weigh voice and direction cues\n1",
        f"{title}\ndifferently depending on their reliability. The network predicts a mask.\n"
        f"We cite {title} here, mid-page, and it stays.\nMore body text follows here.\nAnd more.\nThe end.\n2",
    ]
    ft = structure_pdf_text(pages, meta_title=title)
    assert ft.title == title
    text = ft.text
    assert "direction cues differently depending" in text
    assert text.count(title) == 1 and f"We cite {title} here" in text
    # the shortened form ("Title words ...") and a page number glued to it are running heads too
    short = "Spatially Prompted Target Speaker Extraction ..."
    paged = fulltext.drop_running_titles([["x"], [short, "body"], ["3 " + title.upper(), "body"], ["body", title + " 4"]],
                                         [title])
    assert paged == [["x"], ["body"], ["body"], ["body"]]
    # a sentence that merely starts like the title is text, and so is anything on page 1
    kept = [[title, "a"], ["Spatially Prompted Target Speaker Extraction is hard in meetings.", "b"]]
    assert fulltext.drop_running_titles(kept, [title]) == kept
    # the first author's head ("Shen, et al.", on even pages only with acmart) goes when the name is on page 1;
    # another name, or the same words away from the page's edge, stay
    page1 = [title, "Zejiang Shen, Tal August"]
    middle = ["a", "b", "c", "Shen, et al.", "d", "e", "f"]
    pages = [page1, ["Shen, et al.", "body"], ["body", "3 Shen et al."], ["body", "Smith et al."], middle]
    paged = fulltext.drop_running_titles(pages, [title])
    assert paged == [page1, ["body"], ["body"], ["body", "Smith et al."], middle]


@pytest.mark.integration
def test_sample_pdf_running_head_is_not_in_the_text(tmp_path, pool, engine):
    paper = next(p for p in sample_papers() if p.arxiv_id == "2602.04021")
    path = tmp_path / f"{paper.versioned_id}.pdf"
    path.write_bytes(make_pdf(paper))
    ft = extract_pdf(path, pool=pool, engine=engine)
    assert ft.status is TextStatus.OK and ft.pages == 2 and ft.title == paper.title
    assert paper.title not in ft.text
    assert "voice and direction cues differently depending on their reliability" in " ".join(ft.text.split())


def test_vertical_stamp_removed():
    vertical = "\n".join("arXiv:2602.03117v1 [eess.AS] 3 Feb 2026".replace(" ", ""))
    cleaned = clean_pages(["Title line here\n" + vertical + "\nSome body text that stays."])
    assert cleaned == [["Title line here", "Some body text that stays."]]


def test_hyphenation_heuristic():
    lines = ["1 Introduction",
             "We use a speci-", "fic model that is state-of-the-", "art and self-", "supervised on GPT-",
             "4 outputs. The recog-", "nizer is well known."]
    sections = split_sections(lines)
    text = sections["introduction"]
    assert "specific model" in text
    assert "state-of-the-art" in text
    assert "self-supervised" in text
    assert "GPT-4 outputs" in text
    assert "recognizer" in text


def test_heading_detection_styles():
    lines = [
        "A Title", "1 Department of Physics", "2 Another Institute",  # numbered affiliations: front matter
        "Abstract", "We do things.",
        "1 Introduction", "Intro text.", "2 Related Work", "Prior text.",
        "3 Our Approach", "Method text.", "3.1 Details", "Detail text.",
        "8 NVIDIA H100 GPUs were used in the second stage of training here.",  # not a heading
        "4 Experiments", "Experiment text.", "5 Conclusion", "Final text.",
        "References", "[1] A. Author. A paper. 2020.", "A Appendix Title", "Appendix text.",
    ]
    s = split_sections(lines)
    assert s["abstract"] == "We do things."
    assert s["introduction"] == "Intro text."
    assert s["body"].startswith("2 Related Work")
    assert s["method"].startswith("3 Our Approach") and "3.1 Details" in s["method"] and "NVIDIA" in s["method"]
    assert s["experiments"] == "Experiment text."
    assert s["conclusion"] == "Final text."
    assert s["references"].startswith("[1] A. Author")
    assert s["appendix"].startswith("A Appendix Title")


def test_roman_and_german_headings():
    lines = ["Zusammenfassung—Wir zeigen etwas.", "I. EINLEITUNG", "Text eins.", "II. VERFAHREN", "Text zwei.",
             "III. EXPERIMENTE", "Text drei.", "IV. AUSBLICK", "Text vier.", "LITERATUR", "[AB12] Quelle."]
    s = split_sections(lines)
    assert s["abstract"] == "Wir zeigen etwas."
    assert s["introduction"].endswith("Text eins.")
    assert s["method"].endswith("Text zwei.")
    assert s["experiments"].endswith("Text drei.")
    assert s["conclusion"].endswith("Text vier.")
    assert s["references"] == "[AB12] Quelle."


@pytest.mark.parametrize("title,key", [
    ("1 Introduction", "introduction"), ("I. INTRODUCTION", "introduction"), ("2.1 Method", "method"),
    ("Conclusions", "conclusion"), ("Bibliography", "references"), ("Appendix B: Proofs", "appendix"),
    ("Einleitung", "introduction"), ("Literatur", "references"), ("5 Experimental Results", "experiments"),
    ("2 Related Work", "body"), ("Acknowledgements", "references"), ("3 Proposed Method", "method"),
])
def test_canonical_key(title, key):
    assert canonical_key(title) == key


def test_no_headings_gives_body():
    ft = structure_pdf_text(["Just some text without any structure at all, " * 5])
    assert list(ft.sections) == ["body"]


# ------------------------------------------------------------------------------------------- budget

def _ft() -> FullText:
    sentences = " ".join(f"Sentence number {i} reports a WER of {i}.{i}% on the test set." for i in range(60))
    return FullText("2602.00001", 1, TextStatus.OK, "pdf", sections={
        "abstract": "We study things. " * 5,
        "introduction": sentences,
        "method": "The method is simple.\n\n" + sentences,
        "experiments": "Results are good.",
        "references": "REFERENCE-MARKER " * 50,
        "appendix": "APPENDIX-MARKER " * 50,
        "body": "Related work text.",
    })


def test_budgeted_text_whole_paper_when_it_fits():
    out = budgeted_text(_ft(), 100_000)
    assert "REFERENCE-MARKER" not in out and "APPENDIX-MARKER" not in out
    labels = re.findall(r"^## (.+)$", out, re.M)
    assert labels == ["Abstract", "Introduction", "Method", "Experiments", "Other sections"]


def test_the_galloping_prefix_search_finds_what_a_binary_search_finds_whatever_the_guess():
    """Budgeting starts its search from an estimate (``budgeted_text``): the estimate may only save
    token counts, never change the text sent (a changed prompt would be paid again)."""
    from digestlib.fulltext.budget import largest_prefix

    pieces = [f"Sentence number {i} says something. " for i in range(60)]
    for limit in (0, 1, 7, 30, 59, 60, 10_000):
        expected = "".join(pieces[:min(limit, 60)]).rstrip()
        for guess in (None, 1, 2, 5, 29, 30, 31, 45, 60):
            calls = []

            def fits(text: str) -> bool:
                calls.append(text)
                return text.count("Sentence") <= limit

            assert largest_prefix(pieces, fits, guess) == expected, (limit, guess)
            if guess is not None and guess == min(limit, 60) and 0 < guess < 60:
                assert len(calls) == 2  # a right guess: itself and the next one, nothing else


@pytest.mark.parametrize("budget", [1, 5, 20, 60, 150, 333, 700, 1000])
def test_budgeted_text_respects_budget_and_sentence_boundaries(budget):
    out = budgeted_text(_ft(), budget)
    assert count_tokens(out) <= budget
    assert "REFERENCE-MARKER" not in out and "APPENDIX-MARKER" not in out
    if budget >= 60:
        assert out.startswith("## Abstract\nWe study things.")
        assert re.search(r"[.%]$", out), out[-40:]  # ends on a sentence end, never mid-word
        assert count_tokens(out) > budget - 40  # and uses the budget


@pytest.mark.integration  # a fresh interpreter with the network cut
def test_count_tokens_works_offline(tmp_path):
    """A fresh process with no network and an empty tiktoken cache counts with the shipped cl100k_base
    (2 tokens for "hello world"; the byte estimate used when no encoding loads would say 4)."""
    code = (
        "import socket\n"
        "def no_network(*a, **k):\n"
        "    raise OSError('network disabled in this test')\n"
        "socket.socket.connect = no_network\n"
        "socket.create_connection = no_network\n"
        "from digestlib.fulltext import count_tokens\n"
        "print(count_tokens('hello world'), count_tokens(''))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-cache"), "DATA_GYM_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2", "0"]


# ------------------------------------------------------------------------------------------- HTTP

@pytest.mark.integration
def test_404_is_pending_with_clean_detail(server, tmp_path, pool):
    paper = sample_papers()[0]
    with _fetcher(server, tmp_path, pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.PENDING
    assert ft.detail == "PDF 尚未发布（arXiv 返回 404）"
    assert server.count(f"/pdf/{paper.versioned_id}") == 1  # a 404 is not retried
    assert server.count(f"/html/{paper.versioned_id}") == 1  # the HTML rendering was tried
    assert not any((tmp_path / "cache" / "pdf").iterdir())


@pytest.mark.integration
def test_404_then_pdf_then_cache(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    route = f"/pdf/{paper.versioned_id}"
    server.add(route, Reply(404, b"nope", "text/plain"), Reply(body=data))
    with _fetcher(server, tmp_path, pool) as f:
        assert f.fetch(paper).status is TextStatus.PENDING
        ft = f.fetch(paper)
        assert ft.status is TextStatus.OK and ft.source == "pdf"
        assert (ft.arxiv_id, ft.version) == (paper.arxiv_id, paper.version)
        assert ft.title == paper.title
        again = f.download(paper)
    assert again.from_cache and again.path == tmp_path / "cache" / "pdf" / f"{paper.versioned_id}.pdf"
    assert server.count(route) == 2  # the cached file is never downloaded again
    v2 = Paper(**{**paper.__dict__, "version": 2})
    server.add(f"/pdf/{v2.versioned_id}", Reply(body=data))
    with _fetcher(server, tmp_path, pool) as f:
        assert f.download(v2).from_cache is False  # a new version is fetched anew


@pytest.mark.integration
def test_html_fallback(server, tmp_path, pool):
    paper = sample_papers()[1]
    server.add(f"/html/{paper.versioned_id}", Reply(body=make_html(paper).encode(), content_type="text/html"))
    with _fetcher(server, tmp_path, pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.OK and ft.source == "html"
    assert ft.title == paper.title
    assert {"abstract", "introduction", "method", "experiments", "conclusion", "references"} <= set(ft.sections)
    assert "MathJax" not in ft.text and "HTML (experimental)" not in ft.text  # script, header, nav dropped
    assert "4.08" in ft.sections["abstract"]


@pytest.mark.integration
def test_html_error_page_with_200_is_pending(server, tmp_path, pool):
    paper = sample_papers()[0]
    page = b"<!DOCTYPE html><html><body><h1>Service busy</h1><p>Try later.</p></body></html>"
    server.add(f"/pdf/{paper.versioned_id}", Reply(200, page, "application/pdf"))  # lies about its type
    with _fetcher(server, tmp_path, pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["not_pdf"]
    _clean_detail(ft.detail)
    assert not any((tmp_path / "cache" / "pdf").iterdir())


@pytest.mark.integration
def test_truncated_download_is_pending_and_not_cached(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    route = f"/pdf/{paper.versioned_id}"
    server.add(route, Reply(body=data[: len(data) // 2]), Reply(body=data))
    with _fetcher(server, tmp_path, pool) as f:
        ft = f.fetch(paper)
        assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["download_truncated"]
        _clean_detail(ft.detail)
        assert not any((tmp_path / "cache" / "pdf").iterdir())
        assert server.count(f"/html/{paper.versioned_id}") == 1  # the HTML rendering was tried meanwhile
        assert f.fetch(paper).status is TextStatus.OK  # a transfer cut short: the next attempt gets it


@pytest.mark.integration
def test_truncated_local_file(tmp_path, pool, sample_pdf, engine):
    _, data = sample_pdf
    path = tmp_path / "2602.03117v1.pdf"
    path.write_bytes(data[:-3000])
    assert extract_pdf(path, pool=pool, engine=engine).detail == DETAIL["truncated"]
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    ft = extract_pdf(path, pool=pool, engine=engine)
    assert ft.status is TextStatus.FAILED and ft.detail == DETAIL["corrupt"]
    # an error page saved under a PDF's name (a server that served HTML as application/pdf)
    path.write_bytes(b"<!DOCTYPE html><html><body><h1>Service busy</h1><p>Try later.</p></body></html>\n")
    ft = extract_pdf(path, pool=pool, engine=engine)
    assert ft.status is TextStatus.FAILED and ft.detail == DETAIL["corrupt"]
    for mode in ENGINES + ("auto",):  # the same notes whichever engine, and under auto after the fallback
        _clean_detail(extract_pdf(path, pool=pool, engine=mode).detail)


@pytest.mark.integration
def test_a_pdf_pdfium_refuses_is_read_by_pypdf_under_auto(tmp_path, pool, sample_pdf):
    """A trailer without /Root: PDFium refuses the file, pypdf finds the catalogue by itself. ``auto`` gives
    pypdf's reading (and says so); ``pdfium`` alone gives the clean "corrupt" note."""
    paper, data = sample_pdf
    path = tmp_path / "2602.03117v1.pdf"
    path.write_bytes(re.sub(rb"/Root \d+ 0 R", b"", data))
    alone = extract_pdf(path, pool=pool, engine="pdfium")
    assert alone.status is TextStatus.FAILED and alone.detail == DETAIL["corrupt"] and alone.engine == "pdfium"
    ft = extract_pdf(path, pool=pool, engine="auto")
    assert ft.status is TextStatus.OK and ft.engine == "pypdf" and ft.title == paper.title
    assert extract_pdf(path, pool=pool).engine == "pypdf"  # auto is the default
    # a PDF PDFium reads is read by PDFium under auto
    path.write_bytes(data)
    assert extract_pdf(path, pool=pool).engine == "pdfium"


def test_a_pdf_with_no_text_for_pdfium_falls_back_to_pypdf(tmp_path, monkeypatch):
    """``auto`` also asks pypdf when PDFium opens a PDF but finds no text in it (here PDFium is made to see
    none: pypdfium2 answers every page's text with nothing); when neither finds any, the note is the usual
    "no text" one."""
    import pypdfium2

    paper = sample_papers()[0]
    path = tmp_path / f"{paper.versioned_id}.pdf"
    path.write_bytes(make_pdf(paper))
    monkeypatch.setattr(pypdfium2.PdfTextPage, "get_text_range", lambda self, *args, **kwargs: "")
    assert fulltext.extract_pdf_in_process(path, engine="pdfium").detail == DETAIL["no_text"]
    ft = fulltext.extract_pdf_in_process(path, engine="auto")
    assert ft.status is TextStatus.OK and ft.engine == "pypdf" and ft.title == paper.title
    with pytest.raises(FulltextError):
        extract_pdf(path, engine="pdfium-ish")


def _encrypted(data: bytes, user: str, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ENGINES + ("auto",))
@pytest.mark.integration
def test_encrypted_pdf(server, tmp_path, pool, sample_pdf, mode):
    paper, data = sample_pdf
    server.add(f"/pdf/{paper.versioned_id}", Reply(body=_encrypted(data, "secret", "owner")))
    with _fetcher(server, tmp_path, pool, pdf_engine=mode) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.FAILED and ft.detail == DETAIL["encrypted"]
    # owner-password-only encryption (common on arXiv) still opens with the empty user password
    path = tmp_path / "2602.03117v1.pdf"
    path.write_bytes(_encrypted(data, "", "owner"))
    ok = extract_pdf(path, pool=pool, engine=mode)
    assert ok.status is TextStatus.OK and ok.title == paper.title
    assert ok.engine == ("pypdf" if mode == "pypdf" else "pdfium")


@pytest.mark.parametrize("mode", ENGINES + ("auto",))
@pytest.mark.integration
def test_image_only_pdf(tmp_path, pool, mode):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    for i in range(10):
        pdf.rect(20 + i * 5, 20 + i * 10, 100, 50, style="F")
    path = tmp_path / "2602.09999v1.pdf"
    path.write_bytes(bytes(pdf.output()))
    ft = extract_pdf(path, pool=pool, engine=mode)
    assert ft.status is TextStatus.FAILED and ft.detail == DETAIL["no_text"]


@pytest.mark.integration
def test_size_cap_streaming_aborts_early(server, tmp_path, pool):
    paper = sample_papers()[0]
    big = b"%PDF-1.7\n" + b"0" * (16 * 1024 * 1024)
    server.add(f"/pdf/{paper.versioned_id}", Reply(body=big, chunked=True))
    with _fetcher(server, tmp_path, pool, max_pdf_mb=0.5) as f:
        res = f.download(paper)
    assert res.kind == "failed" and res.reason == "too_large"
    assert res.detail == DETAIL["too_large"].format(mb=0.5)
    assert 0.5 * 1024 * 1024 < res.bytes_read < 0.5 * 1024 * 1024 + 2 * 64 * 1024
    time.sleep(0.2)
    assert server.sent[f"/pdf/{paper.versioned_id}"] < len(big) // 2  # the server could not send it all
    assert not list((tmp_path / "cache" / "pdf").iterdir())  # no partial file left behind


@pytest.mark.integration
def test_size_cap_by_content_length(server, tmp_path, pool):
    paper = sample_papers()[0]
    server.add(f"/pdf/{paper.versioned_id}", Reply(body=b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024)))
    with _fetcher(server, tmp_path, pool, max_pdf_mb=1) as f:
        ft = f.fetch(paper)
        res = f.download(paper)
    assert ft.status is TextStatus.FAILED and ft.detail == DETAIL["too_large"].format(mb=1)
    assert res.bytes_read == 0  # refused from the header, before reading the body


@pytest.mark.integration
def test_stalled_download_times_out(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    server.add(f"/pdf/{paper.versioned_id}", Reply(body=data, stall=30, stall_after=2000))
    started = time.monotonic()
    with _fetcher(server, tmp_path, pool, download_timeout_seconds=0.4, max_retries=1) as f:
        ft = f.fetch(paper)
    assert time.monotonic() - started < 20  # one deadline, not the 30 s stall (slack for a loaded machine)
    # a stall is transient: pending (the next run tries again), not failed for good
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["download_timeout"].format(seconds=0.4)
    _clean_detail(ft.detail)
    assert server.count(f"/pdf/{paper.versioned_id}") == 1  # the whole deadline overrun: not asked again this run
    assert not any((tmp_path / "cache" / "pdf").iterdir())


@pytest.mark.integration
def test_trickling_download_hits_the_deadline(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    server.add(f"/pdf/{paper.versioned_id}", Reply(body=data, chunk_size=200, trickle=0.5))  # the body: minutes
    started = time.monotonic()
    with _fetcher(server, tmp_path, pool, download_timeout_seconds=0.5, max_retries=3) as f:
        ft = f.fetch(paper)
    assert time.monotonic() - started < 20  # deadlines, not the trickle (slack for a loaded machine)
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["download_timeout"].format(seconds=0.5)
    assert not any((tmp_path / "cache" / "pdf").iterdir())


@pytest.mark.integration
def test_timeout_then_pdf_on_a_later_attempt(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    route = f"/pdf/{paper.versioned_id}"
    server.add(route, Reply(body=data, stall=30, stall_after=2000), Reply(body=data))
    with _fetcher(server, tmp_path, pool, download_timeout_seconds=0.4, max_retries=0) as f:
        assert f.fetch(paper).status is TextStatus.PENDING
        ft = f.fetch(paper)
    assert ft.status is TextStatus.OK and ft.title == paper.title and server.count(route) == 2


@pytest.mark.integration
def test_what_stays_failed_and_what_is_retried(server, tmp_path, pool, sample_pdf):
    """Oversized, corrupt, encrypted and image-only files will not fix themselves: FAILED. Server trouble is PENDING."""
    paper, data = sample_pdf
    papers = {name: Paper(**{**paper.__dict__, "arxiv_id": f"2602.0{i}000"}) for i, name in
              enumerate(("408", "429", "502", "403", "corrupt"), start=1)}
    server.add(f"/pdf/{papers['408'].versioned_id}", Reply(408, b"", "text/plain"))
    server.add(f"/pdf/{papers['429'].versioned_id}", Reply(429, b"", "text/plain", headers={"Retry-After": "0"}))
    server.add(f"/pdf/{papers['502'].versioned_id}", Reply(502, b"", "text/plain"))
    server.add(f"/pdf/{papers['403'].versioned_id}", Reply(403, b"", "text/plain"))
    server.add(f"/pdf/{papers['corrupt'].versioned_id}", Reply(body=b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"))
    with _fetcher(server, tmp_path, pool, max_retries=1) as f:
        got = {name: f.fetch(p) for name, p in papers.items()}
    assert {n: ft.status for n, ft in got.items()} == {
        "408": TextStatus.PENDING, "429": TextStatus.PENDING, "502": TextStatus.PENDING,
        "403": TextStatus.FAILED, "corrupt": TextStatus.FAILED}
    assert got["502"].detail == DETAIL["unavailable"].format(code=502)
    assert got["corrupt"].detail == DETAIL["corrupt"]
    for ft in got.values():
        _clean_detail(ft.detail)


@pytest.mark.integration
def test_5xx_is_retried_then_succeeds(server, tmp_path, pool, sample_pdf):
    paper, data = sample_pdf
    route = f"/pdf/{paper.versioned_id}"
    server.add(route, Reply(503, b"busy", "text/plain", headers={"Retry-After": "0"}), Reply(500, b"", "text/plain"), Reply(body=data))
    with _fetcher(server, tmp_path, pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.OK and server.count(route) == 3


@pytest.mark.integration
def test_5xx_for_good_is_pending(server, tmp_path, pool):
    paper = sample_papers()[0]
    route = f"/pdf/{paper.versioned_id}"
    server.add(route, Reply(503, b"busy", "text/plain"))
    with _fetcher(server, tmp_path, pool, max_retries=2) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["unavailable"].format(code=503)
    assert server.count(route) == 3


def test_connection_refused_is_pending(tmp_path, pool):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with FulltextFetcher(_settings(max_retries=1), f"http://127.0.0.1:{port}", tmp_path, user_agent=UA,
                         backoff=0.01, pool=pool) as f:
        ft = f.fetch(sample_papers()[0])
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["network"]


@pytest.mark.integration
def test_rate_limit_and_user_agent(server, tmp_path, pool):
    papers = sample_papers()[:3]
    started = time.monotonic()
    with _fetcher(server, tmp_path, pool, requests_per_second=10, burst=1) as f:
        for p in papers:
            f.download(p)  # 404 + HTML 404: two requests each
    assert time.monotonic() - started >= 0.45  # 6 requests at most 10 per second, one at a time
    started = time.monotonic()
    with _fetcher(server, tmp_path / "burst", pool, requests_per_second=10, burst=4) as f:
        for p in papers:
            f.download(p)
    assert time.monotonic() - started >= 0.38  # bursts of 4 at 10 per second: one 0.4 s sleep between them


@pytest.mark.integration
def test_transport_injection(tmp_path, pool, sample_pdf):
    import httpx

    paper, data = sample_pdf
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers["user-agent"]))
        return httpx.Response(200, content=data)

    with FulltextFetcher(_settings(), "https://arxiv.org", tmp_path, user_agent=UA,
                         transport=httpx.MockTransport(handler), pool=pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.OK
    assert seen == [(f"/pdf/{paper.versioned_id}", UA)]


def test_replay_transport_without_the_file_is_pending(tmp_path, pool):
    """A snapshot replay that lacks a request (the transport raises a DigestError) leaves the paper pending."""
    import httpx

    from digestlib.base.errors import SourceError

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/pdf/"):
            return httpx.Response(404)
        raise SourceError(f"the snapshot lacks the request GET {request.url.path}")

    def missing(request: httpx.Request) -> httpx.Response:
        raise SourceError("the snapshot lacks it")

    paper = sample_papers()[0]
    with FulltextFetcher(_settings(), "https://arxiv.org", tmp_path, user_agent=UA,
                         transport=httpx.MockTransport(handler), pool=pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["not_found"]
    with FulltextFetcher(_settings(), "https://arxiv.org", tmp_path, user_agent=UA,
                         transport=httpx.MockTransport(missing), pool=pool) as f:
        ft = f.fetch(paper)
    assert ft.status is TextStatus.PENDING and ft.detail == DETAIL["not_in_snapshot"]


def test_unwritable_cache_raises_fulltext_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FulltextError):
        FulltextFetcher(_settings(), "http://127.0.0.1:9", blocker / "cache", user_agent=UA)


@pytest.mark.integration
def test_fetch_many_extracts_in_parallel(server, tmp_path, pool):
    papers = sample_papers()
    for p in papers[:3]:
        server.add(f"/pdf/{p.versioned_id}", Reply(body=make_pdf(p)))
    with _fetcher(server, tmp_path, pool) as f:
        results = f.fetch_many(papers[:4])
    assert [r.status for r in results] == [TextStatus.OK] * 3 + [TextStatus.PENDING]
    assert [r.title for r in results[:3]] == [p.title for p in papers[:3]]


# ------------------------------------------------------------------------------------------- the pool

def _slow_pdf(ops: int, calls: int) -> bytes:
    """One page that draws a form of ``ops`` text operators ``calls`` times: pypdf reads the form's text
    again at each call (about 3 s per 100,000 operators on this machine). Each content stream stays under
    pypdf's per-stream parsing budget (``stream_parsing_work_maximum_count``, 2,000,000 tokens in pypdf 7),
    which a single long stream would hit, failing fast as "corrupt" instead of being slow."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    fonts = DictionaryObject({NameObject("/F1"): w._add_object(font)})
    form = DecodedStreamObject()
    form.set_data(b"BT /F1 10 Tf 72 700 Td " + b"(word ) Tj 1 0 Td " * ops + b"ET")
    form = form.flate_encode()
    form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(612), FloatObject(792)]),
                 NameObject("/Resources"): DictionaryObject({NameObject("/Font"): fonts})})
    page[NameObject("/Resources")] = DictionaryObject({
        NameObject("/Font"): fonts, NameObject("/XObject"): DictionaryObject({NameObject("/Fx"): w._add_object(form)})})
    stream = DecodedStreamObject()
    stream.set_data(b"/Fx Do " * calls)
    page[NameObject("/Contents")] = w._add_object(stream.flate_encode())
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _heavy_pdf(ops: int, pages: int) -> bytes:
    """``pages`` pages sharing one content stream of ``ops`` words, each at its own place: PDFium reads a
    page in a fraction of a second, but the text (~13 characters an op) takes seconds to clean and split."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    resources = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 2 Tf " + b"".join(b"1 0 0 1 %d %d Tm (wordy text ) Tj " % (10 + (i * 7) % 590, 10 + (i * 13) % 770)
                                              for i in range(ops)) + b"ET")
    content = w._add_object(stream.flate_encode())
    for _ in range(pages):
        page = w.add_blank_page(612, 792)
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = content
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.mark.integration
def test_hung_worker_is_killed_and_pool_stays_usable(tmp_path, pool, sample_pdf, engine):
    paper, data = sample_pdf
    slow = tmp_path / "2602.00002v1.pdf"
    slow.write_bytes(_slow_pdf(100_000, 10) if engine == "pypdf" else _heavy_pdf(100_000, 6))  # ~30 s of work
    good = tmp_path / "2602.03117v1.pdf"
    good.write_bytes(data)
    # a deadline a loaded 2-core machine cannot make the good PDF miss (it takes ~0.1 s), far under the slow
    # one's work; no wall-clock bound (a restarted worker's start-up on a busy machine takes seconds): the
    # timeout detail is written only when the pool kills the overrunning worker
    results = extract_many([slow, good], timeout=8, pool=pool, engine=engine)
    assert results[0].status is TextStatus.FAILED and results[0].detail == DETAIL["extract_timeout"].format(seconds=8)
    assert (results[0].arxiv_id, results[0].version) == ("2602.00002", 1)
    assert results[1].status is TextStatus.OK and results[1].title == paper.title and results[1].engine == engine
    # a generic hang (a sleeping worker) ends the same way, and the pool keeps working afterwards
    outcomes = pool.run(time.sleep, [(60,), (0,)], timeout=0.5)
    assert [o.kind for o in outcomes] == ["timeout", "ok"]
    assert extract_pdf(good, pool=pool).status is TextStatus.OK


@pytest.mark.integration
def test_worker_crash_is_reported(pool):
    import os

    outcome = pool.run(os._exit, [(3,)], timeout=5)[0]
    assert outcome.kind == "crashed"
    assert pool.run(abs, [(-2,)], timeout=5)[0].value == 2


def slept_span(seconds: float) -> tuple[float, float]:
    """Run in a pool worker: sleep, and say when (``time.time``, one clock for every process)."""
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def test_closed_pool_refuses():
    p = ExtractionPool(1)
    p.close()
    with pytest.raises(FulltextError):
        p.run(abs, [(1,)], timeout=1)


@pytest.mark.integration
def test_pool_serves_concurrent_callers_in_parallel_within_its_size():
    """The pipeline extracts each PDF from its own thread: calls overlap, at most ``workers`` run at once."""
    with ExtractionPool(2) as p:
        assert [o.value for o in p.run(abs, [(-1,), (-2,)], timeout=10)] == [1, 2]  # both workers started
        kinds: dict[int, list[str]] = {}
        spans: list[tuple[float, float]] = []  # when each call ran, by the workers' own clock

        def call(i: int) -> None:
            outcomes = p.run(slept_span, [(0.6,)], timeout=30)
            kinds[i] = [o.kind for o in outcomes]
            spans.extend(o.value for o in outcomes if o.value is not None)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert kinds == {i: ["ok"] for i in range(4)}
        # 4 calls on 2 workers, read from when they ran rather than a wall clock a loaded machine stretches:
        # two at once (parallel), never three (the pool's size)
        edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
        running = [sum(step for _, step in edges[: i + 1]) for i in range(len(edges))]
        assert max(running) == 2
        # a timeout in one caller does not disturb another's call
        got: dict[str, str] = {}
        slow = threading.Thread(target=lambda: got.update(slow=p.run(time.sleep, [(30,)], timeout=0.5)[0].kind))
        slow.start()
        got["fast"] = p.run(abs, [(-3,)], timeout=10)[0].kind
        slow.join(10)
        assert got == {"slow": "timeout", "fast": "ok"}
        assert p.run(abs, [(-4,)], timeout=10)[0].value == 4


@pytest.mark.parametrize("mode", ENGINES)
@pytest.mark.integration
def test_pypdf_noise_is_silenced(capfd, caplog, tmp_path, pool, sample_pdf, mode):
    """A PDF that makes pypdf warn (bad startxref) extracts fine and prints or logs nothing (PDFium neither)."""
    import logging

    paper, data = sample_pdf
    m = re.search(rb"startxref\s+(\d+)", data)
    noisy = data[: m.start(1)] + str(int(m.group(1)) + 7).encode() + data[m.end(1):]
    path = tmp_path / "2602.03117v1.pdf"
    path.write_bytes(noisy)
    caplog.set_level(logging.DEBUG)
    ft = fulltext.extract_pdf_in_process(path, engine=mode)  # in this process, so capfd and caplog see everything
    assert ft.status is TextStatus.OK and ft.title == paper.title
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert extract_pdf(path, pool=pool, engine=mode).status is TextStatus.OK
    # inside the workers the pypdf logger is muted too (the logger pickles by name: read in the worker)
    state = pool.run(getattr, [(logging.getLogger("pypdf"), "propagate")], timeout=5)[0]
    assert state.kind == "ok" and state.value is False


def test_html_to_fulltext_generic_page():
    page = """<html><head><title>Paper</title><style>p{}</style></head><body>
    <nav>Home | About</nav><h1>My Paper Title</h1>
    <h2>Abstract</h2><p>We show <math alttext="x^2">x2</math> works.</p>
    <h2>1 Introduction</h2><p>Intro words.</p><script>var a = 1;</script>
    <h2>2 Method</h2><h3>2.1 Detail</h3><p>Method words.</p>
    <h2>References</h2><ul><li>[1] A reference.</li></ul>
    <h2>A Extra proofs</h2><p>Appendix words.</p></body></html>"""
    ft = html_to_fulltext(page, arxiv_id="2602.1", version=1)
    assert ft.title == "My Paper Title"
    assert ft.sections["abstract"] == "We show x^2 works."
    assert ft.sections["introduction"] == "Intro words."
    assert ft.sections["method"] == "2.1 Detail\n\nMethod words."
    assert ft.sections["references"] == "[1] A reference."
    assert ft.sections["appendix"].startswith("A Extra proofs")
    assert "var a" not in ft.text and "Home" not in ft.text
