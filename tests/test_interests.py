"""interests.py, the ★ mark in the post, `order: relevance`, fulltext.top_n selection, the budget gate, BibTeX."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import bibtexparser
import pytest

from digestlib.post import bibtex, render
from digestlib.day.spend import Budget
from digestlib.base.config import InterestSettings, LLMSettings, build_config
from digestlib.base.errors import ConfigError
from digestlib.post.foryou import for_you_markdown
from digestlib.day.interests import by_relevance, most_relevant, score_paper
from digestlib.base.models import Paper
from digestlib.day.selection import select_papers
from digestlib.post.digest import build_digest
from digestlib.store.store import Store
from digestlib.app.demo import sample_papers
from tests import postparse
from tests.jekyll_site import seed_path, small_day, with_paper_anchors

SAMPLE_INTERESTS = {
    "keywords": {"target speaker extraction": 3, "streaming": 2},
    "negative_keywords": ["microcontrollers"],
    "authors": ["K. Watanabe"],
}


def _paper(title: str = "A title", abstract: str = "", authors: tuple[str, ...] = ("Ann Lee",), **kw) -> Paper:
    return Paper(kw.pop("arxiv_id", "2601.00001"), 1, title, authors, ("cs.SD",), abstract, **kw)


def _listing(papers: list[Paper]) -> list[Paper]:
    """The post's listing order: newest id first (selection.select_papers)."""
    return sorted((p for p in papers if p.announce_type.is_new), key=lambda p: p.arxiv_id, reverse=True)


def _post_day(tmp_path: Path, params: dict, papers: tuple[Paper, ...]):
    """The day's digest as the post shows it (order, marks, scores), built from a store holding ``papers``."""
    cfg = build_config(date="2026-02-05", params=params, env={}, out_dir=tmp_path / f"out{len(list(tmp_path.iterdir()))}")
    with Store(cfg.store_path) as store:
        store.save_announcement(cfg.date, list(papers), "rss")
        return build_digest(cfg, store, select_papers(cfg, store, list(papers)))


def _post_order(tmp_path: Path, params: dict, papers: tuple[Paper, ...]) -> tuple[Paper, ...]:
    return tuple(e.paper for e in _post_day(tmp_path, params, papers).entries)


def test_score_sums_keywords_authors_and_penalties_with_reasons() -> None:
    interests = InterestSettings(keywords={"speech enhancement": 2.0, "TTS": 1.0}, negative_keywords={"music": 1.5},
                                 authors=("Shinji Watanabe",), author_weight=3.0)
    paper = _paper("Speech-Enhancement for music", "We study TTS.", ("S. Watanabe", "Bo Li"))
    rel = score_paper(paper, interests)
    assert rel.keywords == ("speech enhancement", "TTS")
    assert rel.authors == ("S. Watanabe",)
    assert rel.negatives == ("music",)
    assert rel.score == 2 + 1 + 3 - 1.5
    assert rel.marked and rel.terms == ("speech enhancement", "TTS", "S. Watanabe")
    assert rel.reasons[-1] == "−music"


def test_keywords_match_whole_words_and_authors_need_the_same_initial() -> None:
    interests = InterestSettings(keywords={"TTS": 1.0}, authors=("Shinji Watanabe",))
    assert not score_paper(_paper("On attestations", "", ("Kenji Watanabe",)), interests).marked
    assert score_paper(_paper("On TTS.", "", ("José García",)), interests).marked
    assert score_paper(_paper("x", "", ("shinji  WATANABE",)), interests).authors == ("shinji  WATANABE",)


def test_a_negative_keyword_can_take_a_paper_below_the_mark() -> None:
    interests = InterestSettings(keywords={"speech": 1.0}, negative_keywords={"music": 1.0})
    rel = score_paper(_paper("Speech and music"), interests)
    assert rel.score == 0 and not rel.marked


def test_sample_day_ranked_and_marked_from_a_parameter_file(tmp_path: Path) -> None:
    cfg = build_config(date="2026-02-05", params={"interests": SAMPLE_INTERESTS, "order": "relevance"}, env={})
    papers = tuple(_listing(sample_papers()))
    ordered = [p.arxiv_id for p in _post_order(tmp_path, {"interests": SAMPLE_INTERESTS, "order": "relevance"}, papers)]
    # 3 (keyword) and 3 (followed author) tie and keep the listing order; 2 (streaming); the unmatched
    # keep the listing order; the paper with only a negative keyword goes last.
    assert ordered == ["2602.04021", "2602.03568", "2602.03117", "2602.04277", "2602.04152", "2602.03905",
                       "2602.03827", "2602.03691", "2602.03476", "2602.03342", "2602.03229", "2602.04388"]
    marks = {p.arxiv_id: score_paper(p, cfg.interests).terms for p in papers if score_paper(p, cfg.interests).marked}
    assert marks == {"2602.04021": ("target speaker extraction",), "2602.03568": ("Kenji Watanabe",),
                     "2602.03117": ("streaming",)}
    assert _post_order(tmp_path, {"interests": SAMPLE_INTERESTS}, papers) == papers  # order: listing (the default) keeps arXiv's order


def test_top_n_picks_the_most_relevant_and_all_when_zero() -> None:
    interests = InterestSettings(**{k: v for k, v in SAMPLE_INTERESTS.items() if k != "negative_keywords"},
                                 negative_keywords={"microcontrollers": 1.0})
    papers = _listing(sample_papers())
    assert {i for i, _ in most_relevant(papers, interests, 3)} == {"2602.04021", "2602.03568", "2602.03117"}
    assert len(most_relevant(papers, interests, 0)) == len(papers)
    assert [i for i, _ in sorted(most_relevant(papers, InterestSettings(), 2))] == ["2602.04277", "2602.04388"]
    assert [p.arxiv_id for p in by_relevance(papers, InterestSettings())] == [p.arxiv_id for p in papers]


def test_interest_parameters_are_validated() -> None:
    for bad in ({"interests": {"keywords": {"x": -1}}}, {"interests": {"keywords": [3]}},
                {"interests": {"weights": {}}}, {"order": "score"}, {"interests": {"authors": [""]}},
                {"notify": {"webhook_kind": "discord"}}, {"notify": {"events": ["sometimes"]}},
                {"notify": {"email_to": ["a@example.org"]}}, {"llm": {"max_cost_per_day": "lots"}},
                {"fulltext": {"top_n": -1}}):
        with pytest.raises(ConfigError):
            build_config(date="2026-02-05", params=bad, env={})


# -- the post -----------------------------------------------------------------------------------------

def test_mark_line_only_for_matching_papers_and_round_trips() -> None:
    day = small_day()
    first = replace(day.entries[0], interest_terms=("speech enhancement", "a_b *c*"), relevance_score=4.0)
    marked = replace(day, entries=(first, *day.entries[1:]), bib_href="2026-01-22.bib")
    text = render.render_post(marked)
    assert text.count("- **★ 关注**: ") == 1
    assert "- **★ 关注**: speech enhancement · a\\_b \\*c\\*\n" in text
    assert "- BibTeX 引用：[2026-01-22.bib](2026-01-22.bib)\n" in text
    parsed = postparse.parse_post(text)
    assert parsed.papers[0].interest_terms == ("speech enhancement", "a_b *c*")
    assert parsed.bib_href == "2026-01-22.bib"
    assert render.render_post(postparse.digest_from_parsed(parsed)) == text


def test_without_interests_entries_are_untouched_and_the_seed_renders_byte_for_byte(tmp_path: Path) -> None:
    plain = _post_day(tmp_path, {}, tuple(_listing(sample_papers()))).entries  # no interests: no mark, no score
    assert plain and all(e.interest_terms == () and e.relevance_score is None for e in plain)
    seed = seed_path()
    if seed is None:
        pytest.skip("seed post not found")
    text = with_paper_anchors(seed.read_text(encoding="utf-8"))
    # the seed with its paper anchors and the counts line's "|" escaped (issue 24; see tests/test_render.py)
    assert render.render_post(postparse.digest_from_parsed(postparse.parse_post(text))) == text.replace(
        " 篇 | 本页显示", " 篇 \\| 本页显示", 1)
    assert "★" not in text


def test_a_hostile_bib_link_is_refused() -> None:
    with pytest.raises(Exception):
        render.render_post(replace(small_day(), bib_href="x.bib) [click](javascript:alert(1)"))


def test_for_you_markdown_lists_the_marked_papers() -> None:
    cfg = build_config(date="2026-01-22", params={"interests": {"keywords": ["speech"]}}, env={},
                       out_dir="/nonexistent-for-test")
    day = small_day()
    marked = replace(day.entries[0], interest_terms=("speech",), relevance_score=1.0)
    text = for_you_markdown(replace(day, entries=(marked, *day.entries[1:]), bib_href="2026-01-22.bib"),
                            cfg.interests)
    assert "为你推荐（1 篇）" in text and marked.paper.abs_url in text and "2026-01-22.bib" in text


# -- BibTeX -------------------------------------------------------------------------------------------

def test_bib_parses_with_one_entry_per_paper_and_eprint_fields() -> None:
    papers = _listing(sample_papers()) + [
        _paper("50% of {x} & $y$ _~^\\ with TTS", "", ("Ann and Bob", "Zoë Ünal"), arxiv_id="2601.00002",
               published=dt.datetime(2025, 12, 30, tzinfo=dt.timezone.utc)),
        _paper("50% again", "", ("Ann and Bob",), arxiv_id="2601.00003",
               published=dt.datetime(2025, 12, 30, tzinfo=dt.timezone.utc)),
    ]
    text = bibtex.bib_for(papers)
    lib = bibtexparser.parse_string(text)
    assert not lib.failed_blocks
    assert len(lib.entries) == len(papers)
    assert len({e.key for e in lib.entries}) == len(papers), "keys are unique"
    first = {f.key: f.value for f in lib.entries[0].fields}
    assert first["eprint"] == papers[0].arxiv_id and first["archivePrefix"] == "arXiv"
    assert first["primaryClass"] == papers[0].primary_category
    assert first["url"] == papers[0].abs_url and first["year"] == "2026"
    hostile = {f.key: f.value for f in lib.entries[-2].fields}
    assert hostile["title"] == r"50\% of \{x\} \& \$y\$ \_\textasciitilde{}\textasciicircum{}\textbackslash{} with {TTS}"
    assert hostile["author"] == "{Ann and Bob} and Zoë Ünal" and hostile["year"] == "2025"


def test_publish_bib_goes_where_the_relative_link_resolves(tmp_path: Path) -> None:
    day = small_day()
    day = replace(day, bib_href=bibtex.bib_name(day.date))
    path = bibtex.publish_bib(tmp_path, day)
    assert path == tmp_path / f"{day.date:%Y}" / f"{day.date:%m}" / f"{day.date:%d}" / day.bib_href
    assert len(bibtexparser.parse_string(path.read_text(encoding="utf-8")).entries) == day.shown_count


# -- the budget gate ----------------------------------------------------------------------------------

class _Usage:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def usage_rows(self, day: str | None = None) -> list[dict]:
        return self.rows


def test_budget_refuses_the_call_that_would_pass_the_cap_then_stays_stopped() -> None:
    usage = _Usage()
    settings = LLMSettings(model="m", max_tokens_per_day=5000)
    budget = Budget(settings, usage, "2026-01-22")
    t1 = budget.reserve("translate", 200)  # 200 + 800 overhead + 600 answer = 1600
    t2 = budget.reserve("translate", 200)  # in flight: 3200
    assert t1 and t2
    budget.release(t1)
    usage.rows = [{"task": "translate", "model": "m", "calls": 1, "cached_calls": 0, "prompt_tokens": 1000,
                   "completion_tokens": 500}]
    assert budget.reserve("translate", 100) is not None  # 1500 spent + 1600 in flight + 1400 = 4500
    assert budget.reserve("interpret", 3000) is None  # would pass 5000
    assert budget.stopped and "max_tokens_per_day" in budget.stopped_reason
    assert budget.reserve("translate", 1) is None, "once stopped, no more calls this run"


def test_cost_budget_needs_prices_and_counts_cost() -> None:
    with pytest.raises(ConfigError):
        Budget(LLMSettings(model="m", max_cost_per_day=0.01), _Usage(), "d")
    usage = _Usage()
    settings = LLMSettings(model="m", max_cost_per_day=0.01, prices={"m": {"prompt": 1.0, "completion": 2.0}})
    budget = Budget(settings, usage, "d")
    usage.rows = [{"task": "interpret", "model": "m", "calls": 2, "cached_calls": 0, "prompt_tokens": 8000,
                   "completion_tokens": 1000}]
    assert budget.spent().cost == pytest.approx(0.01)
    assert budget.reserve("translate", 10) is None and "max_cost_per_day" in budget.stopped_reason
