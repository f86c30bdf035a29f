"""Build posts with the real ``jekyll`` binary in a throw-away site, and inspect the HTML it writes.

No Gemfile, no bundler, no network: Debian's jekyll runs standalone with kramdown (GFM input), the
Jekyll default. Liquid runs in strict mode so an undefined variable or filter is an error, and kramdown
warnings are switched on, so anything odd in a post shows up in the build log, which
:func:`build_site` returns line by line (every line that is not one of Jekyll's usual progress lines
counts as a problem).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests import postparse

SITE_TITLE = "DigestTestSite"

CONFIG = f"""\
title: {SITE_TITLE}
markdown: kramdown
kramdown:
  input: GFM
  show_warnings: true
liquid:
  error_mode: strict
  strict_filters: true
  strict_variables: true
permalink: /:year/:month/:day/:title.html
"""

DEFAULT_LAYOUT = """\
<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ page.title }}</title></head>
<body>{{ content }}</body></html>
"""

POST_LAYOUT = """\
---
layout: default
---
<article class="post"><h1 class="post-title">{{ page.title }}</h1>
<div class="post-content">{{ content }}</div></article>
"""

# Jekyll's ordinary progress lines; anything else in the log is reported.
_USUAL = (
    "Configuration file:",
    "Source:",
    "Destination:",
    "Incremental build:",
    "Generating...",
    "done in",
    "Auto-regeneration:",
)


def jekyll_binary() -> str | None:
    return shutil.which("jekyll")


@dataclass
class BuildResult:
    returncode: int
    log: str
    problems: list[str]  # log lines that are not usual progress lines (warnings, errors)
    pages: dict[str, str] = field(default_factory=dict)  # post file name -> built HTML


def build_site(posts: dict[str, str], root: Path, *, timeout: float = 120.0) -> BuildResult:
    """Write ``posts`` (file name in ``_posts`` -> text) into a fresh site under ``root`` and build it."""
    src, dest = root / "site", root / "_site"
    (src / "_posts").mkdir(parents=True)
    (src / "_layouts").mkdir()
    (src / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (src / "_layouts" / "default.html").write_text(DEFAULT_LAYOUT, encoding="utf-8")
    (src / "_layouts" / "post.html").write_text(POST_LAYOUT, encoding="utf-8")
    for name, text in posts.items():
        (src / "_posts" / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": str(root)}
    proc = subprocess.run(
        [jekyll_binary() or "jekyll", "build", "--source", str(src), "--destination", str(dest),
         "--disable-disk-cache", "--safe", "--strict-front-matter"],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=root,
    )
    log = proc.stdout + proc.stderr
    problems = [ln.strip() for ln in log.splitlines() if ln.strip() and not ln.strip().startswith(_USUAL)]
    pages: dict[str, str] = {}
    for name in posts:
        stem = Path(name).stem  # YYYY-MM-DD-title
        y, m, d, title = stem[:4], stem[5:7], stem[8:10], stem[11:]
        out = dest / y / m / d / f"{title}.html"
        if out.exists():
            pages[name] = out.read_text(encoding="utf-8")
    return BuildResult(proc.returncode, log, problems, pages)


# --------------------------------------------------------------------------------------------------
# A tiny DOM over html.parser (enough to walk the built post)

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list["Node | str"] = field(default_factory=list)
    parent: "Node | None" = None

    @property
    def elements(self) -> list["Node"]:
        return [c for c in self.children if isinstance(c, Node)]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.elements:
            yield from c.iter()

    def find_all(self, tag: str) -> list["Node"]:
        return [n for n in self.iter() if n.tag == tag]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.cur)
        self.cur.children.append(node)
        if tag not in _VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), parent=self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(html: str) -> Node:
    b = _Builder()
    b.feed(html)
    b.close()
    return b.root


# --------------------------------------------------------------------------------------------------
# Sample digests shared by the render, exporter and Jekyll tests

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_NAME = "2026-01-22-arxiv-daily.md"

# Text that must come out of the post literally: Liquid, HTML, Markdown control sequences, LaTeX.
PAYLOADS = (
    "{{ site.title }}",
    "{% raw %}x{% endraw %}",
    "{% endraw %}",
    "{% include nope.html %}",
    "{{",
    "{%",
    "{%- if true -%}",
    "{{{ x }}}",
    "{% comment %}",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</details>",
    "</div>",
    '<div markdown="1">',
    "<!-- c -->",
    "&#x3C;b&#x3E; &amp; &lt;",
    "# heading",
    "## second level",
    "---",
    "a\n===",
    "[x](javascript:alert(1))",
    "[id]: javascript:alert(1)",
    "![img](http://example.com/x.png)",
    "[^1]: foot",
    "*[HTML]: abbr",
    '{: onclick="alert(1)"}',
    "{::nomarkdown}",
    "*bold* _it_ | pipe |",
    "| a | b |",
    "~~strike~~",
    "```",
    "~~~~ python",
    "`{{ code }}`",
    "```\n{{ fenced }} $y$ [z]\n```",
    ": not a definition",
    "$x_1$",
    "$$a$$",
    "\\(a<b\\)",
)


def seed_path() -> Path | None:
    """The seed post, from /work/shared or ``../shared`` next to the repository; None if absent."""
    for base in (Path("/work/shared"), REPO_ROOT.parent / "shared"):
        p = base / "seed" / SEED_NAME
        if p.is_file():
            return p
    return None


def with_paper_anchors(post: str) -> str:
    """A post in the seed's layout with contract 1's anchor in each paper heading (``## <a id="ID"></a>title``):
    the seed predates the anchors, and this is the only difference between it and what we render."""
    return postparse.with_anchors(post)


def seed_text() -> str:
    """The seed post as our renderer writes it (with the paper anchors); the seed must exist."""
    path = seed_path()
    assert path is not None, "seed post not found"
    return with_paper_anchors(path.read_text(encoding="utf-8"))


def _window():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from digestlib.base.models import Window

    tz = ZoneInfo("Asia/Shanghai")
    return Window(dt.datetime(2026, 1, 22, 8, 50, tzinfo=tz), dt.datetime(2026, 1, 23, 8, 50, tzinfo=tz),
                  "08:50", "CST", "北京时间")


def payload_day(with_updates: bool = True):
    """A DayDigest whose every field carries the payloads (one paper per payload)."""
    import datetime as dt

    from digestlib.base.models import AnnounceType, DayDigest, Interpretation, Paper, PaperEntry
    from digestlib.post.render import interpretation_markdown

    entries = []
    for k, p in enumerate(PAYLOADS):
        paper = Paper(f"2601.{20000 + k}", 1, f"T{k} {p} end", (p, "Alice Zhang"), ("cs.SD", "eess.AS"), p,
                      comment=p)
        interp = Interpretation(f"背景 {p}", f"- 方法 {p}\n- **粗体**", f"{p}\n\n结果")
        # the payload also starts a line of the abstract and of the details, so an unbalanced code
        # fence in one field meets another one in the next field
        entries.append(PaperEntry(paper, f"摘要 {p} 结束\n{p}", interpretation_markdown(interp)))
    updates = ()
    if with_updates:
        updates = (
            PaperEntry(Paper("2601.00001", 2, "Upd {{ x }} <b>bold</b> [l](javascript:x)", ("Bob",), ("cs.SD",), "",
                             announce_type=AnnounceType.REPLACE), "", ""),
        )
    return DayDigest(dt.date(2026, 1, 23), ("cs.SD", "eess.AS"), _window(), 50, tuple(entries), updates)


def small_day():
    """Two ordinary papers (one pending, one interpreted) and one replacement."""
    import datetime as dt

    from digestlib.base.models import AnnounceType, DayDigest, Interpretation, Paper, PaperEntry, ResultStatus
    from digestlib.post.render import interpretation_markdown, pending_note

    a = PaperEntry(
        Paper("2601.15300", 1, "Speech Enhancement with Tiny Models", ("Ann Lee", "Bo Li"), ("eess.AS", "cs.SD"), "abs"),
        "本文提出一种轻量级语音增强模型。",
        pending_note("fulltext"),
        interpretation_status=ResultStatus.PENDING,
    )
    b = PaperEntry(
        Paper("2601.15200", 2, "A Codec {{ site.title }} <b>", ("Cy D",), ("cs.SD",), "abs"),
        "基于神经网络的音频编解码器。",
        interpretation_markdown(Interpretation("- **背景**：现有方法码率高。", "- 使用残差量化。", "- 在 1.5 kbps 下 PESQ 为 3.1。")),
        unverified_numbers=("3.1",),
    )
    u = PaperEntry(Paper("2512.01234", 3, "An Updated Paper", ("E F",), ("cs.SD",), "abs",
                         announce_type=AnnounceType.REPLACE), "", "")
    return DayDigest(dt.date(2026, 1, 23), ("cs.SD", "eess.AS"), _window(), 7, (a, b), (u,))
