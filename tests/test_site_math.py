"""The post on a real Jekyll site (issue 24): the header's counts line stays text (its "|" escaped, not a
one-row table), and math in an abstract or an interpretation (``$x^2$``) is typeset by KaTeX, loaded from
the site itself (``site_template/_includes/math.html`` and ``assets/katex``), in Chromium; Liquid and HTML
in the same text stay inert."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from digestlib.post import render
from tests.browser import system_chromium
from tests.jekyll_site import CONFIG, POST_LAYOUT, jekyll_binary, parse_html, small_day

pytestmark = pytest.mark.jekyll

TEMPLATE = Path(__file__).resolve().parents[1] / "digestlib" / "app" / "site_template"
LAYOUT = """\
<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ page.title }}</title>
{% include math.html %}
</head>
<body>{{ content }}</body></html>
"""
MATH_ABSTRACT = "我们把误差降到 $x^2$ 以下，并给出 {{ site.title }} 与 <b>粗体</b>。"


def _build(tmp_path: Path) -> Path:
    if jekyll_binary() is None:
        pytest.skip("jekyll is not installed")
    src, dest = tmp_path / "site", tmp_path / "_site"
    (src / "_posts").mkdir(parents=True)
    (src / "_layouts").mkdir()
    (src / "_includes").mkdir()
    (src / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (src / "_layouts" / "default.html").write_text(LAYOUT, encoding="utf-8")
    (src / "_layouts" / "post.html").write_text(POST_LAYOUT, encoding="utf-8")
    shutil.copy(TEMPLATE / "_includes" / "math.html", src / "_includes" / "math.html")
    shutil.copytree(TEMPLATE / "assets", src / "assets")
    day = small_day()
    first = dataclasses.replace(day.entries[0], abstract_zh=render.escape_markdown(MATH_ABSTRACT))
    day = dataclasses.replace(day, entries=(first, *day.entries[1:]))
    (src / "_posts" / f"{day.date}-arxiv-daily.md").write_text(render.render_post(day), encoding="utf-8")
    env = {**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    done = subprocess.run([jekyll_binary(), "build", "--source", str(src), "--destination", str(dest),
                           "--disable-disk-cache", "--safe"], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = list(dest.glob("*/*/*/arxiv-daily.html"))
    assert len(pages) == 1
    return pages[0]


def test_header_counts_line_is_text_not_a_table(tmp_path: Path) -> None:
    page = _build(tmp_path)
    html = page.read_text(encoding="utf-8")
    doc = parse_html(html)
    counts = [li for li in doc.find_all("li") if "抓取总数" in li.text()]
    assert len(counts) == 1
    assert "篇 | 本页显示：" in counts[0].text() and "\\|" not in counts[0].text()
    assert not counts[0].find_all("table") and "<table" not in html


def test_math_is_typeset_from_the_site_itself(tmp_path: Path) -> None:
    page_file = _build(tmp_path)
    html = page_file.read_text(encoding="utf-8")
    assert "$x^2$" in html and "{{ site.title }}" in html and "&lt;b&gt;" in html  # inert for Liquid and HTML
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "_site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with system_chromium() as browser:
            view = browser.new_page()
            elsewhere: list[str] = []
            view.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
            view.goto(base + "/" + page_file.relative_to(tmp_path / "_site").as_posix(), wait_until="load")
            view.wait_for_selector(".katex", timeout=30_000)
            annotation = view.evaluate("document.querySelector('.katex annotation').textContent")
            assert annotation == "x^2"
            assert "$x^2$" not in view.inner_text("body")
            assert view.evaluate("document.querySelectorAll('b').length") == 0  # the <b> stayed text
            assert not elsewhere, elsewhere  # KaTeX came from the site itself
    finally:
        server.shutdown()
