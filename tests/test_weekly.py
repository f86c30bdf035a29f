"""The replayed 2026-01-22 as a reader meets it on the site (issue 25): the daily post's Venue / Code / Demo
lines live in the built page, and `digest weekly` names every paper of the week with a working link into
the daily post (real `digest run` / `publish` / `weekly` processes, real Jekyll). Also the week's rules
(ISO weeks, Jekyll's permalink styles checked against a real build) and `digest daily`'s weekly step.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from digestlib.app import daily
from digestlib.base import errors
from digestlib.base.config import Config, WeeklySettings
from digestlib.base.errors import UsageError
from digestlib.base.models import VenueStatus
from digestlib.app.weekly import first_sentence, jekyll_post_url, parse_week, weekly_post_name
from tests.fakes.fake_arxiv import start_fake_arxiv
from tests.fakes.fake_openai import start_fake_openai
from tests.jekyll_site import CONFIG, build_site, jekyll_binary, parse_html
from tests.postparse import parse_post
from tests.test_jekyll_build import check_paper_structure, content
from tests.test_venue import EXPECTED_LINKS, EXPECTED_VENUES, NO_VENUE

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = "2026-01-22"
NOW = "2026-01-22T02:00:00+00:00"
WEEKLY_NAME = "2026-01-19-arxiv-weekly-2026-W04.md"
needs_jekyll = pytest.mark.skipif(jekyll_binary() is None and not os.environ.get("CI"), reason="jekyll not installed")


@pytest.fixture(scope="module")
def replayed(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`digest run`, `digest publish --site` and `digest weekly --site` over the replayed day, once."""
    mailing_path = shared_data / "arxiv" / "mailings" / f"{DATE}-cs.SD+eess.AS.json"
    if not mailing_path.is_file():
        pytest.skip(f"{mailing_path} not found")
    tmp = tmp_path_factory.mktemp("weekly")
    params = tmp / "params.yaml"
    params.write_text(
        "categories: [cs.SD, eess.AS]\n"
        "glossary_file: null\n"
        "arxiv: {api_delay_seconds: 0.05}\n"
        "fulltext: {requests_per_second: 50}\n"
        "llm: {model: fake-model, concurrency: 8}\n"
        "publish: {require_review: false}\n"
        "interests: {keywords: {codec: 2, deepfake: 1}}\n", encoding="utf-8")
    site = tmp / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text(CONFIG, encoding="utf-8")  # the test site's permalink style
    arxiv = start_fake_arxiv([mailing_path], now=NOW, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                             workdir=tmp / "fake-arxiv")
    llm = start_fake_openai(api_key="sk-weekly-test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(arxiv.env(), OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-weekly-test", DIGEST_NOW=NOW)
    out = tmp / "out"

    def digest(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([DIGEST, *args, "--params", str(params), "--out", str(out)], env=env,
                              capture_output=True, text=True, timeout=600, cwd=ROOT)

    try:
        steps = [digest("run", "--date", DATE, "-q"), digest("publish", "--date", DATE, "--site", str(site)),
                 digest("weekly", "--week", "2026-W04", "--site", str(site))]
        for step in steps:
            assert step.returncode == 0, step.stdout + step.stderr[-3000:]
        yield {"site": site, "out": out, "mailing": json.loads(mailing_path.read_text(encoding="utf-8")),
               "steps": steps, "digest": digest, "tmp": tmp, "llm": llm, "env": env, "params": params}
    finally:
        arxiv.stop()
        llm.stop()


@pytest.mark.integration
def test_daily_post_shows_venue_code_and_demo(replayed):
    post = (replayed["site"] / "_posts" / f"{DATE}-arxiv-daily.md").read_text(encoding="utf-8")
    parsed = parse_post(post)  # the seed's layout, with the new lines where they belong
    assert len(parsed.papers) == 25
    for paper in parsed.papers:
        assert paper.anchor == paper.arxiv_id
        expected = EXPECTED_VENUES.get(paper.arxiv_id, [])
        assert [(v.name, v.status) for v in paper.venues] == expected, paper.arxiv_id
        assert (paper.code_links, paper.demo_links) == EXPECTED_LINKS.get(paper.arxiv_id, ((), ())), paper.arxiv_id
    assert post.count("（已接收）") == 13 and post.count("（投稿中）") == 3 and post.count("- **Venue**: ") == 16
    for arxiv_id, venues in EXPECTED_VENUES.items():  # no submitted paper is shown as accepted
        block = post[post.index(f'<a id="{arxiv_id}">'):].split("\n---\n")[0]
        if venues[0][1] is VenueStatus.SUBMITTED:
            assert "（投稿中）" in block and "（已接收）" not in block, arxiv_id
    for arxiv_id in NO_VENUE:
        block = post[post.index(f'<a id="{arxiv_id}">'):].split("\n---\n")[0]
        assert "**Venue**" not in block, arxiv_id


@pytest.mark.integration
def test_report_table_has_venue_and_links(replayed):
    report = (replayed["out"] / DATE / "report.html").read_text(encoding="utf-8")
    table = report[re.search(r"<table class=.digest-papers", report).start():]  # the table, not the style sheet
    table = table[:table.index("</table>")]
    assert "<th>会议/期刊</th>" in table and "<th>代码 / 演示</th>" in table  # the report speaks the post's language
    assert table.count("ICASSP 2026 (accepted)") == 10 and table.count("(submitted)") == 3
    assert 'href="https://github.com/zlin0/wedefense"' in table or "href='https://github.com/zlin0/wedefense'" in table


@needs_jekyll
@pytest.mark.integration
def test_site_builds_with_live_author_links_and_weekly_anchors_resolve(replayed):
    site = replayed["site"]
    posts = {p.name: p.read_text(encoding="utf-8") for p in (site / "_posts").glob("*.md")}
    assert set(posts) == {f"{DATE}-arxiv-daily.md", WEEKLY_NAME}
    built = build_site(posts, replayed["tmp"] / "jekyll")
    assert built.returncode == 0 and built.problems == [], built.log

    daily_div = content(built, f"{DATE}-arxiv-daily.md")
    check_paper_structure(daily_div, 25, updates=False)
    hrefs = {a.attrs.get("href") for a in daily_div.find_all("a")}
    for url in ("https://github.com/zlin0/wedefense", "https://github.com/David-Pigeon/SyntheticSingers",
                "https://lonian6.github.io/ssmttm/"):
        assert url in hrefs, url  # the authors' links are live
    assert "https://github.com/David-Pigeon/SyntheticSingers." not in hrefs
    anchors = {a.attrs["id"] for a in daily_div.find_all("a") if a.attrs.get("id")}
    ids = {p["id"] for p in replayed["mailing"]["papers"] if p["announce_type"] in ("new", "cross")}
    assert ids <= anchors

    # every paper of the week is named in the weekly post, its title linking to its anchor in the built daily
    weekly_div = content(built, WEEKLY_NAME)
    dest = replayed["tmp"] / "jekyll" / "_site"
    linked: dict[str, str] = {}
    for a in weekly_div.find_all("a"):
        href = a.attrs.get("href") or ""
        m = re.fullmatch(r"(/[^#]+)#(.+)", href)
        if not m:
            continue
        page = dest / m.group(1).lstrip("/")
        assert page.is_file(), href  # the daily post is where the link says
        target = {n.attrs.get("id") for n in parse_html(page.read_text(encoding="utf-8")).iter()}
        assert m.group(2) in target, href  # and holds the anchor
        linked.setdefault(m.group(2), a.text())
    assert set(linked) == ids
    h3 = weekly_div.find_all("h3")
    assert len(h3) == 25  # each paper once under its category (为你推荐 lists, it does not repeat blocks)


@pytest.mark.integration
def test_weekly_post_layout(replayed):
    text = (replayed["site"] / "_posts" / WEEKLY_NAME).read_text(encoding="utf-8")
    assert text.startswith('---\nlayout: post\ntitle: "arXiv Weekly – 2026-W04"\ntags: [arxiv, weekly, cs.SD, '
                           'eess.AS]\n---\n\n本周（2026-01-19 — 2026-01-25）共 25 篇论文，来自 1 个公告日：'
                           "[2026-01-22](/2026/01/22/arxiv-daily.html)。\n")
    assert (replayed["out"] / "weekly" / WEEKLY_NAME).read_text(encoding="utf-8") == text
    headings = re.findall(r"^## (.*)$", text, flags=re.M)
    assert headings[0] == "★ 为你推荐"
    assert headings[1].startswith("cs.SD（") and headings[2].startswith("eess.AS（")  # the field's own first
    counts = [int(re.search(r"（(\d+) 篇）", h).group(1)) for h in headings[1:]]
    assert sum(counts) == 25
    for_you = text.split("## ★ 为你推荐\n\n")[1].split("\n\n")[0].splitlines()
    assert for_you and all(re.match(r"- \[.+\]\(/2026/01/22/arxiv-daily\.html#\d{4}\.\d{5}\) — ", ln) for ln in for_you)
    assert "codec" in for_you[0]
    # a paper's block: title link, venue, code, first sentence of the Chinese abstract (the fake's first sentence)
    block = re.split(r"\n#{2,3} ", text[text.index("](/2026/01/22/arxiv-daily.html#2601.13910)"):])[0]
    assert "- **Venue**: IJCNLP-AACL 2025（已接收）\n" in block
    assert "- **Code**: [https://github.com/David-Pigeon/SyntheticSingers](https://github.com/David-Pigeon/SyntheticSingers)\n" in block
    sentence = block.rstrip().splitlines()[-1]
    assert sentence.startswith("【译】测试译文：这是第1句的中文译文") and sentence.endswith("。")
    assert sentence.count("。") == 1  # the first sentence only


@pytest.mark.integration
def test_weekly_again_is_unchanged_and_bad_weeks_are_refused(replayed):
    again = replayed["digest"]("weekly", "--week", "2026-W04", "--site", str(replayed["site"]))
    assert again.returncode == 0 and again.stdout.startswith("Unchanged:"), again.stdout + again.stderr
    empty = replayed["digest"]("weekly", "--week", "2026-W10")
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1 and "nothing is stored for 2026-W10" in empty.stderr
    for bad in ("2026-4", "2026-W54", "2026W04"):
        done = replayed["digest"]("weekly", "--week", bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (replayed["out"] / "weekly" / "2026-03-02-arxiv-weekly-2026-W10.md").exists()


@pytest.mark.integration
def test_the_optional_overview_is_one_cached_call_and_its_absence_is_said(replayed):
    """weekly.overview: true asks the model once for a 本周概览 (a second run is served from the store);
    with no endpoint the post is written without it, and the command says so (exit 3)."""
    import shutil

    out = replayed["tmp"] / "out-overview"
    out.mkdir()
    shutil.copy(replayed["out"] / "digest.sqlite", out / "digest.sqlite")
    params = replayed["tmp"] / "overview.yaml"
    params.write_text(replayed["params"].read_text(encoding="utf-8") + "weekly: {overview: true}\n", encoding="utf-8")
    command = [DIGEST, "weekly", "--week", "2026-W04", "--params", str(params), "--out", str(out)]
    calls = replayed["llm"].calls()
    first = subprocess.run(command, env=replayed["env"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert first.returncode == 0, first.stdout + first.stderr
    text = (out / "weekly" / WEEKLY_NAME).read_text(encoding="utf-8")
    assert "\n## 本周概览\n\n【概览】本周共 25 篇论文，集中在" in text  # all 25 papers were sent
    assert text.index("## 本周概览") < text.index("## ★ 为你推荐")
    assert replayed["llm"].calls() == calls + 1
    again = subprocess.run(command, env=replayed["env"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert again.returncode == 0 and again.stdout.startswith("Unchanged:") and replayed["llm"].calls() == calls + 1
    offline = {k: v for k, v in replayed["env"].items() if not k.startswith("OPENAI_")}
    (out / "weekly" / WEEKLY_NAME).unlink()
    missing = subprocess.run(command, env=offline, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1, missing.stderr
    assert "overview is missing: no LLM endpoint configured" in missing.stderr
    text = (out / "weekly" / WEEKLY_NAME).read_text(encoding="utf-8")
    assert "本周概览" not in text and text.count("\n### ") == 25


# ------------------------------------------------------------------------------------ the week's rules


def test_parse_week_and_names():
    assert parse_week("2026-W04") == (dt.date(2026, 1, 19), dt.date(2026, 1, 25))
    assert parse_week("2026-W01") == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))  # ISO: the week of Jan 1
    assert parse_week("2026-W53")[0] == dt.date(2026, 12, 28)  # 2026 has 53 ISO weeks
    with pytest.raises(UsageError):
        parse_week("2025-W53")
    cfg = Config(date=dt.date(2026, 1, 22), out_dir=Path("x"))
    assert weekly_post_name(cfg, dt.date(2026, 1, 19)) == WEEKLY_NAME
    other = Config(date=dt.date(2026, 1, 22), out_dir=Path("x"), post_slug="arxiv-daily-cs-cl")
    assert weekly_post_name(other, dt.date(2026, 1, 19)) == "2026-01-19-arxiv-weekly-cs-cl-2026-W04.md"


def test_first_sentence():
    assert first_sentence("随着进步，合成音频已难以区分。尽管如此……") == "随着进步，合成音频已难以区分。"
    assert first_sentence("We study 1.5 kbps codecs. Results follow.") == "We study 1.5 kbps codecs."
    assert len(first_sentence("长" * 500)) == 300


@needs_jekyll
@pytest.mark.parametrize("permalink, baseurl", [("date", ""), ("pretty", "/blog"), ("ordinal", ""),
                                                ("/:categories/:year/:month/:day/:title:output_ext", "/b/c"),
                                                ("/posts/:year/:i_month/:slug/", "")])
@pytest.mark.integration
def test_post_urls_are_where_jekyll_puts_the_posts(tmp_path, permalink, baseurl):
    """jekyll_post_url against a real build: the page exists at the address computed (baseurl off)."""
    src, dest = tmp_path / "src", tmp_path / "dest"
    (src / "_posts").mkdir(parents=True)
    (src / "_config.yml").write_text(f"permalink: {permalink}\nbaseurl: '{baseurl}'\n", encoding="utf-8")
    (src / "_posts" / "2026-01-22-arxiv-daily.md").write_text("---\ntitle: x\n---\nhello\n", encoding="utf-8")
    done = subprocess.run([jekyll_binary() or "jekyll", "build", "--source", str(src), "--destination", str(dest),
                           "--disable-disk-cache", "--safe"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"})
    assert done.returncode == 0, done.stdout + done.stderr
    url = jekyll_post_url(dt.date(2026, 1, 22), "arxiv-daily", permalink, baseurl)
    assert url.startswith(baseurl + "/")
    path = dest / url[len(baseurl):].lstrip("/")
    assert (path / "index.html" if url.endswith("/") else path).is_file(), (url, sorted(dest.rglob("*.html")))


def _config_for(out: Path, after_last_day: bool):
    def load(date: dt.date):
        return Config(date=date, out_dir=out, weekly=WeeklySettings(after_last_day=after_last_day)), {}
    return load


@pytest.mark.parametrize("now, due, week", [("2026-01-23T02:00:00+00:00", dt.date(2026, 1, 23), "2026-W04"),
                                            ("2026-01-22T02:00:00+00:00", dt.date(2026, 1, 22), None)])
def test_daily_writes_the_weekly_after_the_weeks_last_day(tmp_path, now, due, week):
    """Friday's announcement is the week's last: `digest daily` writes the week; Thursday's is not."""
    out = tmp_path / "out"
    (out / due.isoformat()).mkdir(parents=True)
    (out / due.isoformat() / f"{due.isoformat()}-arxiv-daily.md").write_text("posted", encoding="utf-8")
    written: list[str] = []

    def weekly(w: str):
        written.append(w)
        return out / "weekly" / "x.md", True

    for after_last_day, expected in ((True, [week] if week else []), (False, [])):
        written.clear()
        report = daily.catch_up(out_dir=out, now=dt.datetime.fromisoformat(now), load=_config_for(out, after_last_day),
                                 run=lambda cfg, params: errors.EXIT_OK, weekly=weekly, echo=lambda line: None)
        assert written == expected and report.exit_code == 0
