"""Issue 23: model text is inert in every output. An address the model adds (not the paper's own arXiv
pages) is neither a link nor bare text that an autolinking Markdown renderer (the report's nbconvert
mistune, JupyterLab's marked with GFM) turns into a link; the paper's own pages stay links."""

from __future__ import annotations

import re

import pytest

from digestlib.post.markup import escape_markdown, restrict_links
from digestlib.base.models import Paper

PAPER = Paper("2601.15240", 1, "A speech model", ("A. Author",), ("cs.SD",), "An abstract.")
INVENTED = [
    "See https://evil.example.com/login for the code.",
    "Code: www.evil.example.com/x.",
    "[the code](https://evil.example.com/repo)",
    "[https://evil.example.com/a](https://evil.example.com/a)",
    "<https://evil.example.com/auto>",
    "- 代码见 https://evil.example.com/中文，以及 http://www.evil.example.com。",
]


def _html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("text", INVENTED)
def test_an_invented_address_is_not_linked_by_an_autolinking_renderer(text: str) -> None:
    shown = escape_markdown(restrict_links(text, PAPER))
    assert "evil.example.com" in shown  # still shown, as text
    assert not re.search(r"https?://|www\.", shown, re.I), shown  # nothing a GFM autolinker would take
    assert "href" not in _html(shown), _html(shown)


def test_the_papers_own_pages_stay_links() -> None:
    text = "Read [the paper](https://arxiv.org/abs/2601.15240) or https://arxiv.org/pdf/2601.15240v1."
    shown = escape_markdown(restrict_links(text, PAPER))
    html = _html(shown)
    assert "href=\"https://arxiv.org/abs/2601.15240\"" in html
    assert "https://arxiv.org/pdf/2601.15240v1" in shown


def test_an_address_the_paper_itself_gives_is_kept() -> None:
    paper = Paper("2601.15240", 1, "T", ("A",), ("cs.SD",), "Code at https://github.com/zlin0/wedefense.")
    text = "该工具包已在https://github.com/zlin0/wedefense公开提供；另见 https://evil.example.com/x"
    shown = restrict_links(text, paper)
    assert "https://github.com/zlin0/wedefense" in shown and "https://evil" not in shown
