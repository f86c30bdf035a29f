"""The Jekyll site a reader visits: ``digest site init DIR`` and the per-day data its pages are built from.

``init_site`` copies ``digestlib/app/site_template/`` (layouts, home, archive, search page and index, feed and
sitemap through GitHub Pages' own plugins, styles, ``_includes/math.html``) into a folder, file by file, never
overwriting a file that exists, and writes one page per arXiv category of the parameter file plus a
"为你推荐" page when interests are configured. Running it again changes nothing the user wrote.

``write_day_data`` writes ``_data/digest/<date>.json`` for a published day (contract 3): each paper's id,
title, authors, categories, the abstract as shown (Chinese when translated), its anchor in the post and
whether it is marked for the reader. The category pages, the for-you page and ``search.json`` are Liquid over
these files and ``site.posts``, so Jekyll (on GitHub Pages too) rebuilds every index from them; nothing here
renders HTML.

Must not: run git (``site.write_post`` commits what publishing wrote), or overwrite anything in the site
except the day's own data file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
import os
import shutil
import subprocess
from typing import Iterable, Sequence

from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.errors import UsageError
from ..base.models import DayDigest, ResultStatus
from ..post import render
from ..post.bibtex import publish_bib
from ..source.ids import paper_anchor
from ..store.store import Store
from .reviewed import reviewed_digest

TEMPLATE_DIR = Path(__file__).with_name("site_template")
DATA_DIR = Path("_data") / "digest"
CATEGORY_DIR = "categories"
FOR_YOU_PAGE = "for-you.html"
_CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*$")


@dataclass(frozen=True)
class SiteInit:
    """What ``init_site`` did: the files it wrote and the ones it left as they were."""

    site: Path
    written: tuple[Path, ...]
    kept: tuple[Path, ...]


def template_files() -> list[Path]:
    """Every file of the site template, relative to it, in a stable order."""
    return sorted(p.relative_to(TEMPLATE_DIR) for p in TEMPLATE_DIR.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts)


def category_page(category: str) -> str:
    """The page listing one arXiv category's papers across the published days (Liquid does the listing)."""
    if not _CATEGORY_RE.match(category):
        raise UsageError(f"invalid arXiv category {category!r} for a site page")
    return (f"---\nlayout: category\ntitle: \"{category}\"\ncategory: \"{category}\"\n"
            f"permalink: /{CATEGORY_DIR}/{category}.html\n---\n"
            f"<p class=\"lead\">每天公告中属于 {category} 的论文（含交叉列表），最新的一天在前。</p>\n")


def for_you_page() -> str:
    """The "为你推荐" page: papers the reader's interests marked (★), newest day first."""
    return ("---\nlayout: for-you\ntitle: 为你推荐\npermalink: /for-you.html\n---\n"
            "<p class=\"lead\">按参数文件中的兴趣（关键词、关注的作者）标记的论文，最新的一天在前。</p>\n")


def generated_pages(categories: Sequence[str], with_for_you: bool) -> dict[Path, str]:
    """The pages that depend on the parameter file: one per category, and the for-you page."""
    pages = {Path(CATEGORY_DIR) / f"{c}.html": category_page(c) for c in categories}
    if with_for_you:
        pages[Path(FOR_YOU_PAGE)] = for_you_page()
    return pages


def _write_new(site: Path, files: Iterable[tuple[Path, bytes]]) -> tuple[list[Path], list[Path]]:
    written, kept = [], []
    for rel, data in files:
        target = site / rel
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as fh:  # never replaces a file that appeared meanwhile
            fh.write(data)
        written.append(target)
    return written, kept


def init_site(site: Path, categories: Sequence[str], *, with_for_you: bool = False) -> SiteInit:
    """Write the site template and the parameter file's pages into ``site``; files that exist are kept."""
    if site.exists() and not site.is_dir():
        raise UsageError(f"not a folder: {site}")
    if (site / "_plugins").exists():
        raise UsageError(f"{site / '_plugins'} exists: GitHub Pages does not run custom plugins; remove it")
    site.mkdir(parents=True, exist_ok=True)
    files = [(rel, (TEMPLATE_DIR / rel).read_bytes()) for rel in template_files()]
    files += [(rel, text.encode("utf-8")) for rel, text in generated_pages(categories, with_for_you).items()]
    written, kept = _write_new(site, files)
    return SiteInit(site, tuple(written), tuple(kept))


def ensure_pages(site: Path, categories: Sequence[str], *, with_for_you: bool = False) -> list[Path]:
    """The parameter file's pages that a site made before (or by hand) still lacks; returns those written."""
    written, _ = _write_new(site, [(rel, text.encode("utf-8"))
                                   for rel, text in generated_pages(categories, with_for_you).items()])
    return written


def day_data(day: DayDigest, post_name: str) -> dict:
    """What the site's indexes know about one published day (contract 3)."""
    papers = []
    for entry in day.entries:
        paper = entry.paper
        translated = entry.translation_status is ResultStatus.DONE and bool(entry.abstract_zh.strip())
        papers.append({
            "id": paper.arxiv_id,
            "versioned_id": paper.versioned_id,
            "anchor": paper_anchor(paper.arxiv_id),
            "title": " ".join(paper.title.split()),
            "authors": list(paper.authors),
            "categories": list(paper.categories),
            "abstract": " ".join((entry.abstract_zh if translated else paper.abstract).split()),
            "translated": translated,
            "for_you": bool(entry.interest_terms),
            "terms": list(entry.interest_terms),
        })
    return {"date": day.date.isoformat(), "post": post_name, "categories": list(day.categories),
            "papers": papers}


def write_day_files(site: Path, day: DayDigest, post_name: str, categories: Sequence[str], *,
                    with_for_you: bool = False) -> list[Path]:
    """Everything a published day puts into the site besides its post: the .bib next to the post, the day's
    data file and any category / for-you page still missing. Returns them (the commit's companions)."""
    bib = publish_bib(site, day)  # where the post's relative link finds it on the site
    data = write_day_data(site, day, post_name)
    return [bib, data, *ensure_pages(site, categories, with_for_you=with_for_you)]


def write_day_data(site: Path, day: DayDigest, post_name: str) -> Path:
    """Write ``_data/digest/<date>.json`` (only when its text changes, so a re-publish commits nothing)."""
    target = site / DATA_DIR / f"{day.date.isoformat()}.json"
    text = json.dumps(day_data(day, post_name), ensure_ascii=False, indent=1) + "\n"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, text)
    return target


def jekyll_build(site: Path, destination: Path, *, timeout: float = 300.0) -> tuple[bool, str]:
    """``jekyll build`` the site when Jekyll is installed: (built, the log's last lines or why not)."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        return False, "Jekyll is not installed (Debian: apt-get install jekyll; see the README)"
    env = {**os.environ, "JEKYLL_ENV": "production", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        done = subprocess.run([jekyll, "build", "--source", str(site), "--destination", str(destination),
                               "--disable-disk-cache"], capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"jekyll build took longer than {timeout:.0f} s"
    log = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, "\n".join(log[-5:])


def preview_day(cfg: Config, store: Store, site: Path) -> Path:
    """A local preview site of ``cfg``'s day as it stands (every paper not rejected, reviewed or not): the
    demo's way to show the site. Not ``digest publish``: nothing here passes or skips the review gate of
    a real site, and the preview is a folder of the output, never the user's site."""
    init_site(site, cfg.categories, with_for_you=cfg.interests.configured)
    day = reviewed_digest(cfg, store)
    write_day_files(site, day, cfg.post_name, cfg.categories, with_for_you=cfg.interests.configured)
    (site / "_posts").mkdir(exist_ok=True)
    atomic_write_text(site / "_posts" / cfg.post_name, render.render_post(day))
    return site / "_posts" / cfg.post_name
