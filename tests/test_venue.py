"""venue.py and links.py: what a reader sees at a glance, over the real 2026-01-22 announcement (issue 25).

The announcement's comments name a venue for 16 of its 25 new and cross-listed papers: ten "Accepted at
ICASSP 2026" (written seven ways), two EACL 2026 (one "Findings of EACL"), one IJCNLP-AACL 2025 (spelt
"Accepetd"), three only submitted (TASLP, EUSIPCO 2026, a journal); three abstracts link their code or
demo page, two with the sentence's full stop stuck to the address.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digestlib.post import render
from digestlib.day.selection import first_page_text
from digestlib.post.links import find_urls, paper_links
from digestlib.post.markup import restrict_links
from digestlib.base.models import Paper, ResultStatus, VenueStatus
from digestlib.post.venue import read_venues
from tests import postparse
from tests.jekyll_site import small_day

ACCEPTED, SUBMITTED, NAMED = VenueStatus.ACCEPTED, VenueStatus.SUBMITTED, VenueStatus.NAMED

# What the post must show for each of the day's 25 papers (verified by hand against the comments).
EXPECTED_VENUES = {
    "2601.14770": [("ICASSP 2026", ACCEPTED)],  # Accepted at ICASSP 2026
    "2601.14699": [("ICASSP 2026", ACCEPTED)],  # 5 pages, 2 figures, Accepted at ICASSP 2026
    "2601.14516": [("ICASSP 2026", ACCEPTED)],  # Accepted for presentation at ICASSP 2026
    "2601.14751": [("ICASSP 2026", ACCEPTED)],
    "2601.14620": [("ICASSP 2026", ACCEPTED)],  # Accepted by ICASSP 2026
    "2601.14356": [("ICASSP 2026", ACCEPTED)],  # the long form, "(ICASSP) 2026"
    "2601.15118": [("ICASSP 2026", ACCEPTED)],
    "2601.14850": [("ICASSP 2026", ACCEPTED)],  # Accepted @ IEEE ICASSP 2026
    "2601.14472": [("ICASSP 2026", ACCEPTED)],
    "2601.14684": [("ICASSP 2026", ACCEPTED)],  # Accepted for ICASSP 2026
    "2601.14744": [("Findings of EACL 2026", ACCEPTED)],
    "2601.14304": [("EACL 2026", ACCEPTED)],
    "2601.13910": [("IJCNLP-AACL 2025", ACCEPTED)],  # Accepetd by IJCNLP-AACL 2025(Oral)
    "2601.14786": [("TASLP", SUBMITTED)],  # a preprint of a paper submitted to IEEE/ACM TASLP
    "2601.14960": [("EUSIPCO 2026", SUBMITTED)],
    "2601.15097": [("European Journal of Neuroscience", SUBMITTED)],
}
# No venue: no comment, page counts, "conference", "Manuscript in progress", an IEEE copyright notice,
# and 2601.15240's "previously submitted to ASRU 2025" (an earlier venue, not this paper's).
NO_VENUE = {"2601.15083", "2601.14728", "2601.14931", "2601.14721", "2601.14925", "2601.15240", "2601.14259",
            "2601.14263", "2601.14651"}
EXPECTED_LINKS = {
    "2601.15240": ((("https://github.com/zlin0/wedefense",), ())),
    "2601.13910": ((("https://github.com/David-Pigeon/SyntheticSingers",), ())),
    "2601.14786": (((), ("https://lonian6.github.io/ssmttm/",))),
}


@pytest.fixture(scope="module")
def mailing(shared_data: Path) -> dict:
    path = shared_data / "arxiv" / "mailings" / "2026-01-22-cs.SD+eess.AS.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text(encoding="utf-8"))


def _papers(mailing: dict, *, new_only: bool = True) -> list[Paper]:
    return [Paper(p["id"], int(str(p["version"]).lstrip("v")), p["title"], tuple(p["authors"]), tuple(p["categories"]), p["abstract"],
                  comment=p["comment"], listing_order=p["listing_order"])
            for p in mailing["papers"] if not new_only or p["announce_type"] in ("new", "cross")]


def test_every_venue_of_the_real_day(mailing):
    papers = _papers(mailing)
    assert len(papers) == 25 and set(EXPECTED_VENUES) | NO_VENUE == {p.arxiv_id for p in papers}
    got = {p.arxiv_id: [(v.name, v.status) for v in read_venues(p.comment, p.journal_ref)] for p in papers}
    for arxiv_id, expected in EXPECTED_VENUES.items():
        assert got[arxiv_id] == expected, (arxiv_id, papers[[p.arxiv_id for p in papers].index(arxiv_id)].comment)
    for arxiv_id in NO_VENUE:
        assert got[arxiv_id] == [], arxiv_id
    counts = [s for v in got.values() for _, s in v]
    assert counts.count(ACCEPTED) == 13 and counts.count(SUBMITTED) == 3
    assert sum(1 for v in got.values() for name, _ in v if name == "ICASSP 2026") == 10


def test_the_replacements_too(mailing):
    """The day's 22 replacements (shown in 更新 only) are read with the same rules."""
    got = {p.arxiv_id: [(v.name, v.status) for v in read_venues(p.comment)] for p in _papers(mailing, new_only=False)}
    assert got["2509.15389"] == [("ICASSP 2026", ACCEPTED)]  # "ICASSP 2026 (Accepted)": the status after
    assert got["2507.00966"] == [("TASLP", ACCEPTED)]  # the journal's full name
    assert got["2510.15231"] == [("EACL 2026", NAMED)]  # a bare "EACL 2026.": never shown as accepted
    assert got["2601.13704"] == []  # "submitted to the IEEE for possible publication": no venue named
    assert got["2509.03010"] == [("APSIPA ASC 2025", ACCEPTED)]


@pytest.mark.parametrize("comment, expected", [
    ("Accepetd by Interspeech 2025", [("Interspeech 2025", ACCEPTED)]),
    ("accented speech corpus; Interspeech 2026", [("Interspeech 2026", NAMED)]),  # "accented" is not a typo
    ("Under review at Interspeech 2026", [("Interspeech 2026", SUBMITTED)]),
    ("Accepted at ICASSP 2026. Extended version submitted to TASLP", [("ICASSP 2026", ACCEPTED), ("TASLP", SUBMITTED)]),
    ("An extended version of our ICASSP 2025 paper, submitted to TASLP", [("TASLP", SUBMITTED)]),
    ("Rejected from NeurIPS 2025, now submitted to ICLR 2026", [("ICLR 2026", SUBMITTED)]),
    ("Code for the ICASSP 2026 Grand Challenge", []),
    ("uses the ICASSP template", []),
    ("To appear in IEEE Trans. Audio, Speech, Lang. Process.", [("TASLP", ACCEPTED)]),
    ("Proc. of Interspeech 2025", [("Interspeech 2025", ACCEPTED)]),
    ("Accepted to WASPAA 2025", [("WASPAA 2025", ACCEPTED)]),
    ("Accepted at the ICASSP 2026 Workshop on Speech", [("ICASSP 2026 Workshop", ACCEPTED)]),
    ("ICASSP'26 camera-ready", [("ICASSP 2026", ACCEPTED)]),
    ("Accepted at NAACL 2025 main conference", [("NAACL 2025", ACCEPTED)]),
    ("© 2026 IEEE. Personal use of this material is permitted. Accepted at ICASSP 2026",
     [("ICASSP 2026", ACCEPTED)]),
    ("This work has been submitted to the IEEE for possible publication. Copyright may be transferred without "
     "notice, after which this version may no longer be accessible.", []),
    ("", []),
])
def test_venue_rules(comment, expected):
    assert [(v.name, v.status) for v in read_venues(comment)] == expected


def test_a_journal_reference_is_published_work():
    assert [(v.name, v.status) for v in read_venues(None, "Proc. Interspeech 2024, pp. 1-5")] == \
        [("Interspeech 2024", ACCEPTED)]
    assert [(v.name, v.status) for v in read_venues("Submitted to JASA", "J. Acoust. Soc. Am. 155, 1 (2024)")] \
        == [("J. Acoust. Soc. Am. 155, 1 (2024)", ACCEPTED), ("JASA", SUBMITTED)]


def test_code_and_demo_links_of_the_real_day(mailing):
    for paper in _papers(mailing):
        found = paper_links(paper)
        assert (found.code, found.demo) == EXPECTED_LINKS.get(paper.arxiv_id, ((), ())), paper.arxiv_id


def test_link_rules():
    urls = [u for u, _ in find_urls("see github.com/foo/bar), and (https://x.github.io/demo/). Also "
                                    "https://example.com/a?b=1; https://GitHub.com/foo/bar/ again.")]
    assert urls == ["https://github.com/foo/bar", "https://x.github.io/demo/", "https://example.com/a?b=1"]
    paper = Paper("2601.00001", 1, "t", (), (), "Audio samples are at https://example.org/samples. Code: "
                  "https://huggingface.co/spaces/a/b and https://huggingface.co/org/model, see https://github.com "
                  "and https://arxiv.org/abs/2601.00001", comment="Project page: https://example.net/p")
    found = paper_links(paper)
    assert found.code == ("https://huggingface.co/org/model",)
    assert found.demo == ("https://example.org/samples", "https://huggingface.co/spaces/a/b", "https://example.net/p")


def test_first_page_links():
    """A footnote on page 1 (text of the introduction's start) is read; the rest of the paper is not."""
    sections = {"abstract": "We propose X.", "introduction": "Intro.1 Code: https://gitlab.com/me/x.\n" + "y" * 7000
                + " https://github.com/too/late", "method": "https://github.com/not/read"}
    paper = Paper("2601.00002", 1, "t", (), (), "No link here.")
    assert paper_links(paper, first_page_text(sections)).code == ("https://gitlab.com/me/x",)
    assert first_page_text(None) == "" and first_page_text({}) == ""


def test_post_lines_after_the_pdf_line_and_only_authors_links_live(mailing):
    papers = {p.arxiv_id: p for p in _papers(mailing)}
    day = small_day()
    wedefense = render.entry_from_results(papers["2601.15240"], translation=None, interpretation=None)
    singers = render.entry_from_results(papers["2601.13910"], translation=None, interpretation=None)
    ssmttm = render.entry_from_results(papers["2601.14786"], translation=None, interpretation=None)
    nothing = render.entry_from_results(papers["2601.14925"], translation=None, interpretation=None)
    # the model's answer links the authors' code (kept live) and another address (made inert)
    model = ("代码见[仓库](https://github.com/zlin0/wedefense)，另见[别处](https://evil.example/x)。")
    from dataclasses import replace

    wedefense = replace(wedefense, abstract_zh=model, translation_status=ResultStatus.DONE)

    post = render.render_post(replace(day, entries=(wedefense, singers, ssmttm, nothing), updates=()))
    assert ("- **PDF**: [https://arxiv.org/pdf/2601.13910v1](https://arxiv.org/pdf/2601.13910v1)\n"
            "- **Venue**: IJCNLP-AACL 2025（已接收）\n"
            "- **Code**: [https://github.com/David-Pigeon/SyntheticSingers](https://github.com/David-Pigeon/SyntheticSingers)\n"
            "\n") in post
    assert ("- **Venue**: TASLP（投稿中）\n"
            "- **Demo**: [https://lonian6.github.io/ssmttm/](https://lonian6.github.io/ssmttm/)\n\n") in post
    assert ("- **PDF**: [https://arxiv.org/pdf/2601.15240v1](https://arxiv.org/pdf/2601.15240v1)\n"
            "- **Code**: [https://github.com/zlin0/wedefense](https://github.com/zlin0/wedefense)\n\n") in post
    assert "[仓库](https://github.com/zlin0/wedefense)" in post and "evil.example/x" in post
    assert "](https://evil.example" not in post
    block = post[post.index("2601.14925"):]
    assert "**Venue**" not in block.split("---\n")[0]  # the copyright notice names no venue
    parsed = postparse.parse_post(post)
    assert [p.code_links for p in parsed.papers][:2] == [("https://github.com/zlin0/wedefense",),
                                                         ("https://github.com/David-Pigeon/SyntheticSingers",)]
    assert render.render_post(postparse.digest_from_parsed(parsed)) == post  # the layout reads back


def test_venue_words_per_language(mailing):
    papers = {p.arxiv_id: p for p in _papers(mailing)}
    entry = render.entry_from_results(papers["2601.14960"], translation=None, interpretation=None)
    from dataclasses import replace

    for language, line in (("zh", "EUSIPCO 2026（投稿中）"), ("en", "EUSIPCO 2026 (submitted)"),
                           ("ja", "EUSIPCO 2026（投稿中）")):
        post = render.render_post(replace(small_day(), entries=(entry,), updates=(), language=language))
        assert f"- **Venue**: {line}\n" in post


def test_restrict_links_takes_exactly_the_given_addresses():
    paper = Paper("2601.00003", 1, "t", (), (), "")
    text = "[a](https://github.com/me/x) [b](https://github.com/me/x-evil) [c](https://arxiv.org/abs/2601.00003)"
    out = restrict_links(text, paper, ("https://github.com/me/x",))
    assert "[a](https://github.com/me/x)" in out and "[c](https://arxiv.org/abs/2601.00003)" in out
    assert "](https://github.com/me/x-evil)" not in out
    assert "](https://github.com/me/x)" not in restrict_links(text, paper)


def test_review_card_shows_venue_and_live_links(mailing):
    from digestlib.base.models import ReviewStatus
    from digestlib.review.state import PaperReview
    from digestlib.review.widgets import at_a_glance_html

    papers = {p.arxiv_id: p for p in _papers(mailing)}
    for arxiv_id, needle in (("2601.13910", "<a class='digest-code' href='https://github.com/David-Pigeon/SyntheticSingers'"),
                             ("2601.14786", "<a class='digest-demo' href='https://lonian6.github.io/ssmttm/'"),
                             ("2601.14960", "<span class='digest-venue' data-status='submitted'>EUSIPCO 2026 (submitted)")):
        paper = papers[arxiv_id]
        entry = render.entry_from_results(paper, translation=None, interpretation=None)
        item = PaperReview(paper, {"abstract_zh": "", "details_md": ""}, {}, {}, ReviewStatus.PENDING, "", "",
                           entry=entry)
        assert needle in at_a_glance_html(item), arxiv_id
    bare = papers["2601.14925"]
    item = PaperReview(bare, {}, {}, {}, ReviewStatus.PENDING, "", "",
                       entry=render.entry_from_results(bare, translation=None, interpretation=None))
    assert at_a_glance_html(item) == ""
