"""`digest site init` + two published days, built by the real Jekyll, checked by html-proofer, feedparser and
Debian's Chromium (Playwright): home, feed, category page, paper anchors, search; screenshots of the pages
at desktop and phone widths go to ``output/test-artifacts/``.

The two days are the bundled sample papers with their recorded answers (sample/answers.yaml), written into
the site the way ``digest publish --site`` writes a day (``site_pages.write_day_files`` + ``site.write_post``).
One site build is shared by the whole module.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import feedparser
import pytest

from digestlib.post import render
from digestlib.base.models import DayDigest, Interpretation, PaperEntry
from digestlib.app.replay_llm import sample_answers
from digestlib.app.demo import sample_papers
from digestlib.app.site import write_post
from digestlib.app.site_pages import template_files, write_day_files
from tests.jekyll_site import _window, jekyll_binary, parse_html
from tests.browser import system_chromium

pytestmark = [pytest.mark.jekyll, pytest.mark.integration]

if jekyll_binary() is None and not os.environ.get("CI"):
    pytest.skip("jekyll is not installed (set CI=1 to make this a failure)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
ARTIFACTS = ROOT / "output" / "test-artifacts"
CATEGORIES = ("cs.SD", "eess.AS")
DAY_ONE, DAY_TWO = dt.date(2026, 2, 4), dt.date(2026, 2, 5)
USER_CONFIG_LINE = "# the user's own line: site init must keep it\n"


def _day(date: dt.date, papers) -> DayDigest:
    answers = sample_answers().answers
    entries = []
    for paper in papers:
        recorded = answers[paper.arxiv_id]
        details = render.interpretation_markdown(Interpretation(**recorded["interpret"]))
        entries.append(PaperEntry(paper, recorded["translate"], details))
    return DayDigest(date, CATEGORIES, _window(), len(entries), tuple(entries), bib_href=f"{date}.bib")


def _days() -> list[DayDigest]:
    papers = sample_papers()
    return [_day(DAY_ONE, papers[:2]), _day(DAY_TWO, papers[2:])]


def _snapshot(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def _site_init(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([DIGEST, "site", "init", str(site)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("site")
    src = root / "site"
    done = _site_init(src)
    assert done.returncode == 0, done.stderr
    for rel in template_files():
        assert (src / rel).is_file(), rel
    assert not (src / "_plugins").exists()
    config = src / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8") + USER_CONFIG_LINE, encoding="utf-8")
    days = _days()
    for day in days:
        name = f"{day.date}-arxiv-daily.md"
        companions = write_day_files(src, day, name, CATEGORIES)
        write_post(src, name, render.render_post(day), message=f"digest {day.date}", companions=companions)
    before = _snapshot(src)
    again = _site_init(src)  # on a site with the user's edits and two published days: changes nothing
    assert again.returncode == 0, again.stderr
    dest = root / "_site"
    env = {**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": str(root)}
    build = subprocess.run([jekyll_binary() or "jekyll", "build", "--source", str(src), "--destination", str(dest),
                            "--disable-disk-cache", "--safe", "--strict-front-matter", "--trace"],
                           capture_output=True, text=True, timeout=300, env=env, cwd=root)
    return {"src": src, "dest": dest, "build": build, "days": days, "before": before, "after": _snapshot(src),
            "again": again}


def _post_path(date: dt.date) -> str:
    return f"{date:%Y/%m/%d}/arxiv-daily.html"


def test_site_init_keeps_what_is_there(site) -> None:
    assert site["after"] == site["before"]
    assert USER_CONFIG_LINE in (site["src"] / "_config.yml").read_text(encoding="utf-8")
    assert "kept" in site["again"].stdout and "wrote 0 file(s)" in site["again"].stdout


def test_the_site_builds_without_a_warning(site) -> None:
    build = site["build"]
    assert build.returncode == 0, build.stdout + build.stderr
    usual = ("Configuration file:", "Source:", "Destination:", "Incremental build:", "Generating...",
             "Jekyll Feed:", "done in", "Auto-regeneration:")
    problems = [ln.strip() for ln in (build.stdout + build.stderr).splitlines()
                if ln.strip() and not ln.strip().startswith(usual)]
    assert problems == []
    config = (site["src"] / "_config.yml").read_text(encoding="utf-8")
    assert "lang: zh-CN" in config
    for plugin in ("jekyll-feed", "jekyll-seo-tag", "jekyll-sitemap"):
        assert f"  - {plugin}" in config


def test_html_proofer_finds_no_broken_link_anchor_or_image(site) -> None:
    proofer = shutil.which("htmlproofer")
    if proofer is None:
        pytest.skip("htmlproofer is not installed (make system-deps: ruby-html-proofer)")
    done = subprocess.run([proofer, "--disable-external", "--check-html", str(site["dest"])], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "successfully" in done.stdout + done.stderr


def test_home_links_both_days_newest_first(site) -> None:
    home = (site["dest"] / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in home
    links = [n.attrs.get("href") for n in parse_html(home).find_all("a") if "post-link" in (n.attrs.get("class") or "")]
    assert links == ["/" + _post_path(DAY_TWO), "/" + _post_path(DAY_ONE)]
    archive = (site["dest"] / "archive.html").read_text(encoding="utf-8")
    assert 'id="m-2026-02"' in archive and _post_path(DAY_ONE) in archive and _post_path(DAY_TWO) in archive


def test_the_feed_parses_and_has_both_days(site) -> None:
    feed = feedparser.parse((site["dest"] / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    titles = [e.title for e in feed.entries]
    assert titles == [f"arXiv Daily – {DAY_TWO}", f"arXiv Daily – {DAY_ONE}"]


def test_the_bib_sits_next_to_its_post(site) -> None:
    for day in site["days"]:
        assert (site["dest"] / f"{day.date:%Y/%m/%d}" / f"{day.date}.bib").is_file()
        html = (site["dest"] / _post_path(day.date)).read_text(encoding="utf-8")
        assert f'href="{day.date}.bib"' in html


def test_the_category_page_lists_the_days_papers_of_that_category(site) -> None:
    page = (site["dest"] / "categories" / "cs.SD.html").read_text(encoding="utf-8")
    hrefs = {n.attrs.get("href") for n in parse_html(page).find_all("a")}
    for day in site["days"]:
        for entry in day.entries:
            link = f"/{_post_path(day.date)}#{entry.paper.arxiv_id}"
            assert (link in hrefs) == ("cs.SD" in entry.paper.categories), (link, entry.paper.categories)
    assert any("cs.SD" not in e.paper.categories for d in site["days"] for e in d.entries)  # the test can fail


def test_the_search_index_holds_every_paper(site) -> None:
    index = json.loads((site["dest"] / "search.json").read_text(encoding="utf-8"))
    ids = {row["id"] for row in index}
    assert ids == {e.paper.arxiv_id for d in site["days"] for e in d.entries}
    row = next(r for r in index if r["id"] == "2602.03342")
    assert "歌声" in row["abstract"] and row["url"] == f"/{_post_path(DAY_ONE)}#2602.03342"


# ------------------------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site["dest"]))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    with system_chromium() as chromium:
        yield chromium


WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.browser
def test_a_papers_anchor_opens_at_that_paper(browser, served) -> None:
    page = browser.new_page(viewport=WIDTHS["desktop"])
    try:
        page.goto(f"{served}/{_post_path(DAY_TWO)}#2602.04021")
        page.wait_for_load_state("load")
        top = page.evaluate("document.getElementById('2602.04021').getBoundingClientRect().top")
        heading = page.evaluate("document.getElementById('2602.04021').parentElement.textContent")
        first = page.evaluate("document.querySelector('.post-content h2').getBoundingClientRect().top")
        assert "Spatially Prompted Target Speaker Extraction" in heading
        assert 0 <= top < 200, top  # scrolled to it
        assert first < 0  # and the post's first paper is above the window: the page did scroll
    finally:
        page.close()


@pytest.mark.browser
def test_the_search_finds_a_paper_by_id_and_by_chinese_words(browser, served) -> None:
    page = browser.new_page(viewport=WIDTHS["desktop"])
    try:
        page.goto(f"{served}/search.html")
        page.wait_for_selector("html[data-search-ready='true']", timeout=30_000)
        cases = {"2602.03117": "2602.03117", "arXiv:2602.03905v1": "2602.03905", "歌声": "2602.03342",
                 "混响 会议": "2602.04021", "Okafor": "2602.03568"}
        for query, wanted in cases.items():
            page.fill("#search-box", query)
            page.wait_for_function("document.querySelectorAll('#search-results li').length > 0")
            found = page.eval_on_selector_all("#search-results li", "els => els.map(e => e.dataset.arxivId)")
            assert found == [wanted], (query, found)
        page.fill("#search-box", "不存在的词语组合")
        page.wait_for_function("document.querySelectorAll('#search-results li').length === 0")
        assert "没有找到" in page.inner_text("#search-status")
        link = page.goto(f"{served}/search.html?q=歌声")
        assert link is not None and link.ok
        page.wait_for_selector("#search-results li a")
        page.click("#search-results li a")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/{_post_path(DAY_ONE)}#2602.03342")
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_screenshots_of_home_post_search_and_category(browser, served, width) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {"home": "/", "post": f"/{_post_path(DAY_TWO)}", "search": "/search.html?q=语音",
             "category": "/categories/cs.SD.html"}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport=WIDTHS[width], color_scheme=scheme,
                                      device_scale_factor=2 if width == "phone" else 1)
        page = context.new_page()
        try:
            for name, path in pages.items():
                page.goto(served + path)
                page.wait_for_load_state("load")
                if name == "search":
                    page.wait_for_selector("#search-results li")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (name, width, overflow)  # nothing wider than a phone's screen
                page.screenshot(path=str(ARTIFACTS / f"site-{name}-{width}-{scheme}.png"),
                                full_page=name != "post")
        finally:
            context.close()
