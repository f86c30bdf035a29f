"""The bundled sample day: invented papers, deterministic arXiv-like PDFs that extract with all sections."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from digestlib.fulltext import ExtractionPool, extract_many, html_to_fulltext
from digestlib.base.models import AnnounceType, TextStatus
from digestlib.app.demo import (
    SAMPLE_DATE,
    make_pdf,
    pending_ids,
    sample_papers,
    sample_sections,
    write_sample_pdfs,
)
from tests.fakes.sample_html import make_html

ALL_SECTIONS = {"abstract", "introduction", "method", "experiments", "conclusion", "references"}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample-pdfs")
    paths = write_sample_pdfs(folder)
    with ExtractionPool(2) as pool:
        texts = extract_many(paths, pool=pool)
    return paths, texts


def test_sample_date_is_a_weekday_mailing_in_early_february():
    assert SAMPLE_DATE == dt.date(2026, 2, 5)
    assert SAMPLE_DATE.weekday() < 5


def test_sample_papers_metadata():
    papers = sample_papers()
    assert len(papers) == 12
    assert len({p.arxiv_id for p in papers}) == 12
    for order, p in enumerate(papers, start=1):
        assert re.fullmatch(r"2602\.0\d{4}", p.arxiv_id) and p.version == 1
        assert p.listing_order == order
        assert p.primary_category in {"cs.SD", "eess.AS", "cs.CL"}
        assert set(p.categories) & {"cs.SD", "eess.AS"}
        words = len(p.abstract.split())
        assert 120 <= words <= 200, (p.arxiv_id, words)
        assert re.search(r"\d+\.\d+", p.abstract)  # reports numbers
        assert len(p.authors) >= 2 and p.title
        # submitted in the cycle announced on Wed 2026-02-04 20:00 ET (Tue 14:00 ET .. Wed 14:00 ET)
        assert dt.datetime(2026, 2, 3, 19, tzinfo=dt.timezone.utc) <= p.published < dt.datetime(2026, 2, 4, 19, tzinfo=dt.timezone.utc)
    assert [p.announce_type for p in papers].count(AnnounceType.CROSS) == 1
    assert papers[-1].announce_type is AnnounceType.CROSS  # cross-lists come after new submissions
    assert any("WER" in p.abstract for p in papers)


def test_one_paper_is_not_there_yet(tmp_path):
    pending = pending_ids()
    assert len(pending) == 1
    written = write_sample_pdfs(tmp_path)
    assert len(written) == 11
    assert not any(p.stem.startswith(next(iter(pending))) for p in written)
    assert len(write_sample_pdfs(tmp_path / "all", include_pending=True)) == 12


def test_pdfs_are_deterministic():
    paper = sample_papers()[2]
    first, second = make_pdf(paper), make_pdf(paper)
    assert first == second
    assert first.startswith(b"%PDF-") and b"%%EOF" in first[-64:]


@pytest.mark.integration
def test_sample_pdfs_extract_with_all_sections(extracted):
    paths, texts = extracted
    papers = {p.versioned_id: p for p in sample_papers()}
    for path, ft in zip(paths, texts):
        paper = papers[path.stem]
        assert ft.status is TextStatus.OK, ft.detail
        assert (ft.arxiv_id, ft.version) == (paper.arxiv_id, paper.version)
        assert ft.pages >= 2  # multi-page
        assert ft.title == paper.title
        assert ALL_SECTIONS <= set(ft.sections), sorted(ft.sections)
        assert " ".join(ft.sections["abstract"].split()) == paper.abstract
        assert ft.sections["references"].startswith("[1] ")
        assert "arXiv:" + paper.versioned_id not in ft.text  # the side stamp is cleaned away
        assert "Sample preprint written" not in ft.sections["introduction"]


@pytest.mark.integration
def test_numbers_in_abstract_are_in_the_body(extracted):
    """The body text is consistent with the abstract: every number quoted there appears in the paper body."""
    paths, texts = extracted
    papers = {p.versioned_id: p for p in sample_papers()}
    for path, ft in zip(paths, texts):
        body = "\n".join(v for k, v in ft.sections.items() if k != "abstract")
        for number in re.findall(r"\d+(?:[.,]\d+)?", papers[path.stem].abstract):
            assert number in body, (path.stem, number)


@pytest.mark.integration
def test_results_table_is_in_experiments(extracted):
    _, texts = extracted
    first = texts[0]
    assert "Table 1:" in first.sections["experiments"]
    assert "CALA (ours) 2.9 7.1 7.8 142" in first.sections["experiments"]


def test_make_pdf_with_custom_sections():
    paper = sample_papers()[0]
    data = make_pdf(paper, {"introduction": "Hello intro.\n\nSecond paragraph.", "related_work": "Others did it.",
                            "conclusion": "Done.", "references": "[1] Someone, Something, 2020."})
    assert data.startswith(b"%PDF-")


def test_sample_sections_and_html():
    paper = sample_papers()[3]
    sections = sample_sections(paper.arxiv_id)
    assert list(sections) == ["introduction", "method", "experiments", "conclusion", "references"]
    ft = html_to_fulltext(make_html(paper), arxiv_id=paper.arxiv_id, version=paper.version)
    assert ft.title == paper.title
    assert ALL_SECTIONS <= set(ft.sections)
    with pytest.raises(KeyError):
        sample_sections("2602.99999")


@pytest.mark.integration
def test_sample_snapshot_replays(tmp_path):
    """``digest demo`` replays this snapshot: the feed, the metadata and the files, with no network."""
    from digestlib.source import ArxivSource, make_transport
    from digestlib.base.config import ArxivSettings, FulltextSettings
    from digestlib.fulltext import FulltextFetcher
    from digestlib.app.demo import write_sample_snapshot

    folder = write_sample_snapshot(tmp_path / "snap")
    with ArxivSource(ArxivSettings(), ("cs.SD", "eess.AS"), replay_dir=folder) as source:
        announcement = source.fetch_announcement(SAMPLE_DATE)
    assert announcement.source == "rss"
    assert [p.arxiv_id for p in announcement.papers] == [p.arxiv_id for p in sample_papers()]
    assert [p.published for p in announcement.papers] == [p.published for p in sample_papers()]
    with ExtractionPool(2) as pool, FulltextFetcher(
            FulltextSettings(requests_per_second=0), "https://arxiv.org", tmp_path / "cache", user_agent="t",
            transport=make_transport(replay_dir=folder), pool=pool) as fetcher:
        texts = fetcher.fetch_many(announcement.papers)
    status = {ft.arxiv_id: ft.status for ft in texts}
    assert status == {p.arxiv_id: TextStatus.PENDING if p.arxiv_id in pending_ids() else TextStatus.OK
                      for p in sample_papers()}


@pytest.mark.integration
def test_the_demo_shows_the_product_from_recorded_answers(tmp_path) -> None:
    """`digest demo` replays the recorded model answers through the real LLM client (a loopback server):
    every paper with a recorded answer gets its Chinese abstract and three-part interpretation, the header
    says the abstracts are translated, the report names the recorded answers, and a preview site is written."""
    import os
    import subprocess
    import sys

    import yaml

    from digestlib.app.replay_llm import ANSWERS_FILE
    from tests import postparse

    digest = str(Path(sys.executable).with_name("digest"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    done = subprocess.run([digest, "demo", "--out", str(tmp_path / "out"), "-q"], capture_output=True, text=True,
                          timeout=600, env=env, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded" in done.stdout and "Recorded answers served: " in done.stdout
    day_dir = tmp_path / "out" / SAMPLE_DATE.isoformat()
    text = (day_dir / f"{SAMPLE_DATE}-arxiv-daily.md").read_text(encoding="utf-8")
    assert "窗口内更新的论文中文译文：" in text and "未翻译" not in text  # the header: every abstract translated
    post = postparse.parse_post(text)
    recorded = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))["answers"]
    pending = pending_ids()
    assert {p.arxiv_id for p in post.papers} == {p.arxiv_id for p in sample_papers()}
    for paper in post.papers:
        assert paper.arxiv_id in recorded
        assert paper.abstract_zh == recorded[paper.arxiv_id]["translate"].strip()
        if paper.arxiv_id in pending:  # no PDF yet: the interpretation waits for it, as on a live day
            assert "全文尚未发布" in paper.details_md
        else:
            assert paper.details_md.startswith("1)  \n- **") and "\n\n2)  \n- " in paper.details_md
            assert "\n\n3)  \n- " in paper.details_md
    assert "recorded-sample-answers" in (day_dir / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "out" / "demo-site" / "_posts" / f"{SAMPLE_DATE}-arxiv-daily.md").is_file()
    assert (tmp_path / "out" / "demo-site" / "_data" / "digest" / f"{SAMPLE_DATE}.json").is_file()


def test_the_sample_grows_past_one_review_page() -> None:
    """Twelve papers, so that the review's paging (10 cards a page) shows a second page on the demo day;
    some carry a venue in their comments and one a code link in its abstract (the post's Venue/Code lines)."""
    from digestlib.post.links import paper_links
    from digestlib.post.venue import paper_venues

    papers = sample_papers()
    assert len(papers) > 10
    assert sum(1 for p in papers if paper_venues(p)) >= 2
    assert any(paper_links(p).code for p in papers)
    assert len(pending_ids()) == 1  # the pending path stays on show


def test_every_recorded_answer_passes_the_validators() -> None:
    """Each sample paper has a recorded translation and three-part interpretation that the real validators
    accept, and every number the interpretation quotes is in the paper's own text (abstract, body, table)."""
    import yaml

    from digestlib.app.replay_llm import ANSWERS_FILE
    from digestlib.app.demo import sample_entry
    from digestlib.tasks.evidence import missing_numbers
    from digestlib.tasks.results import PARTS
    from digestlib.tasks.validate import interpretation_violations, translation_violations

    recorded = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))["answers"]
    papers = sample_papers()
    assert set(recorded) == {p.arxiv_id for p in papers}
    for paper in papers:
        answer = recorded[paper.arxiv_id]
        assert translation_violations(paper.abstract, answer["translate"]) == [], paper.arxiv_id
        table = sample_entry(paper.arxiv_id)["table"]
        evidence = "\n".join([paper.abstract, *sample_sections(paper.arxiv_id).values(), table["caption"],
                              *(" ".join(map(str, row)) for row in [table["header"], *table["rows"]])])
        assert set(answer["interpret"]) == set(PARTS)
        assert interpretation_violations(answer["interpret"], paper, evidence) == [], paper.arxiv_id
        for part in PARTS:
            text = answer["interpret"][part]
            assert text.startswith("- **"), (paper.arxiv_id, part)  # a Markdown bullet list, as the prompt asks
            assert missing_numbers(text, evidence) == [], (paper.arxiv_id, part)
