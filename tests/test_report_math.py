"""Math in the report (issue 24): the post's TeX spans ($x^2$, $$...$$), as the site's KaTeX finds them, are
MathML in report.html (shown by the browser with no script); hostile or malformed spans stay inert text."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from digestlib.post import mathml, report
from digestlib.base.config import build_config
from digestlib.base.models import AnnounceType, Paper, ResultStatus
from digestlib.store.store import Store

HOSTILE = r"$<script>alert(1)</script>$ 与 $\href{javascript:alert(2)}{x}$ 与 $\text{<img src=x onerror=alert(3)>}$"


@pytest.fixture
def math_day(tmp_path: Path):
    """The view of a stored day: one paper untranslated (its English abstract holds $x^2$), one translated with hostile
    and malformed spans and an interpretation with display math."""
    cfg = build_config(date=dt.date(2026, 1, 22), out_dir=tmp_path / "out", params={}, env={})
    with Store(cfg.store_path) as store:
        plain = Paper("2601.00001", 1, "Plain", ("A. Author",), ("cs.SD",), "We bound the error by $x^2$ here.",
                      announce_type=AnnounceType.NEW)
        hostile = Paper("2601.00002", 1, "Hostile", ("B. Author",), ("cs.SD",), "Abstract.",
                        announce_type=AnnounceType.NEW)
        store.save_announcement(cfg.date, [plain, hostile], "rss")
        for p in (plain, hostile):
            store.claim(cfg.date, p.arxiv_id, 1)
        store.save_result(hostile.arxiv_id, 1, "translate", ResultStatus.DONE,
                          content={"text": f"译文 {HOSTILE}，坏的 $x_$ 留作文字，花费 5 元。"})
        store.save_result(hostile.arxiv_id, 1, "interpret", ResultStatus.DONE,
                          content={"background": r"背景 $$\frac{a}{b}$$。", "method": r"方法 $\alpha$。",
                                   "results": "结果。", "source": "fulltext"})
        return report.read_day(cfg, store)


def _post(page: str) -> BeautifulSoup:
    soup = BeautifulSoup(page, "html.parser")
    return soup.find("div", attrs={"data-mime-type": "text/markdown", "class": "jp-OutputArea-output"})


def test_abstract_math_is_mathml(math_day) -> None:
    page = report.build_report(math_day)
    post = _post(page)
    assert post is not None
    sup = post.find("msup")
    assert sup is not None and sup.find_parent("math")["display"] == "inline"
    assert [c.get_text() for c in sup.find_all(["mi", "mn"])] == ["x", "2"]
    assert "$x^2$" not in post.get_text()
    fraction = post.find("mfrac")  # $$...$$ in the interpretation: display math
    assert fraction is not None and fraction.find_parent("math")["display"] == "block"
    assert "$x_$" in post.get_text()  # malformed: its text, unchanged, and the page was still built
    # the numbers table's cost keeps its dollar sign as text (only the post is typeset)
    assert BeautifulSoup(page, "html.parser").find("table", class_="digest-numbers").find("math") is None


def test_hostile_spans_stay_inert(math_day) -> None:
    page = report.build_report(math_day)
    soup = BeautifulSoup(page, "html.parser")
    post = _post(page)
    assert post.find("math") is not None
    assert soup.find("script") is None and soup.find("img", src="x") is None
    assert "javascript:" not in page.lower()
    for element in post.find_all(True):
        assert not any(a.lower().startswith("on") for a in element.attrs), element
        if element.find_parent("math") is not None or element.name == "math":
            assert "href" not in element.attrs and "style" not in element.attrs, element


def test_spans_found_like_katex_auto_render() -> None:
    convert = mathml.math_in_html
    assert "<msup>" in convert("<p>a $x^2$ b</p>")
    assert 'display="block"' in convert("<p>$$x^2$$</p>")
    assert "<msup>" in convert(r"<p>\(x^2\)</p>") and 'display="block"' in convert(r"<p>\[x\]</p>")
    assert convert("<p><code>$x^2$</code></p>") == "<p><code>$x^2$</code></p>"  # code stays code
    assert convert('<a href="#t-$x$">t</a>') == '<a href="#t-$x$">t</a>'  # attributes untouched
    assert convert("<p>only $5 here</p>") == "<p>only $5 here</p>"  # no closing delimiter: text
    assert convert(r"<p>$\frac{a</p>").startswith("<p>")  # never an error
    assert convert("<p>$&lt;b&gt;$</p>").count("<b>") == 0
    assert mathml.tex_to_mathml("x_", display=False) is None
    assert "href" not in (mathml.tex_to_mathml(r"\href{javascript:alert(1)}{x}", display=False) or "")
    assert "<b>" not in (mathml.tex_to_mathml(r"\text{<b>hi</b>}", display=False) or "")


@pytest.mark.integration
@pytest.mark.browser
def test_chromium_draws_the_math_without_script(math_day, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("chromium is not installed")
    path = tmp_path / "report.html"
    report.write_report(math_day, path)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            view = browser.new_page()
            dialogs: list[str] = []
            view.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            view.goto(path.as_uri(), wait_until="load")
            drawn = view.evaluate("""() => {
                const sup = document.querySelector('msup');
                const box = sup.getBoundingClientRect();
                return {mathml: sup instanceof MathMLElement, width: box.width, height: box.height,
                        scripts: document.scripts.length};
            }""")
            assert drawn["mathml"] and drawn["width"] > 0 and drawn["height"] > 0, drawn
            assert drawn["scripts"] == 0
            assert not dialogs  # no alert from the hostile spans
        finally:
            browser.close()
