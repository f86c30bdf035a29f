"""The one report (issue 24): after `digest run` and after `digest publish` the same sections, in the
output language, opening with the run's summary (the CLI's own numbers and duration), numbers under
human headers, charts with alt text and integer ticks, no empty chart, a true cost."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from digestlib.post import report
from digestlib.base.config import build_config
from digestlib.post.labels import REPORT_EN, REPORT_ZH
from digestlib.base.models import AnnounceType, Paper, ResultStatus, ReviewStatus
from digestlib.app.demo import SAMPLE_DATE, write_sample_snapshot
from digestlib.store.store import Store
from tests.fakes.fake_openai import start_fake_openai

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
KEY = "sk-report-test-3c9d1e7a5b"
DATE = SAMPLE_DATE.isoformat()


def _sections(page: str) -> list[str]:
    return [h.get_text(" ", strip=True).rstrip("¶").strip() for h in BeautifulSoup(page, "html.parser").find_all(["h1", "h2"])]


def _check_page(page: str, words=REPORT_ZH) -> BeautifulSoup:
    soup = BeautifulSoup(page, "html.parser")
    images = soup.find_all("img")
    assert images, "no chart"
    for image in images:
        assert image.get("alt") and "No description" not in image["alt"]
    assert any(words.chart_titles["category"] in i["alt"] for i in images)
    numbers = soup.find("table", class_="digest-numbers")
    assert [th.get_text() for th in numbers.find("thead").find_all("th")] == [words.item, words.value]
    text = soup.get_text(" ")
    for raw in ("cached_calls", "completion_tokens", "cost_usd", "cache_hit_rate", "No description"):
        assert raw not in text
    return soup


@pytest.mark.integration
def test_run_and_publish_reports_have_the_same_sections(tmp_path: Path) -> None:
    llm = start_fake_openai(api_key=KEY)
    try:
        out = tmp_path / "out"
        snapshot = write_sample_snapshot(tmp_path / "snapshot")
        params = tmp_path / "params.yaml"
        params.write_text("categories: [cs.SD, eess.AS]\nllm: {model: fake-model, concurrency: 4, "
                          "prices: {fake-model: {prompt: 1.0, completion: 2.0}}}\npublish: {require_review: false}\n",
                          encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
        env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY=KEY)
        common = ["--date", DATE, "--params", str(params), "--out", str(out)]
        run = subprocess.run([DIGEST, "run", *common, "--replay", str(snapshot)], env=env, capture_output=True,
                             text=True, timeout=600, cwd=ROOT)
        assert run.returncode in (0, 3), run.stderr
        page = (out / DATE / "report.html").read_text(encoding="utf-8")
        soup = _check_page(page)
        seconds = re.search(r"Summary: .*, ([\d.]+) s", run.stdout).group(1)
        summary = soup.find(class_="digest-summary").get_text()
        assert f"用时 {seconds} 秒" in summary  # the CLI's duration, not another clock's
        after_run = _sections(page)
        assert after_run[0] == REPORT_ZH.title.format(date=DATE)
        assert after_run[1] == REPORT_ZH.summary

        site = tmp_path / "site"
        site.mkdir()
        (site / "_config.yml").write_text("title: test\n", encoding="utf-8")
        published = subprocess.run([DIGEST, "publish", *common, "--site", str(site)], env=env, capture_output=True,
                                   text=True, timeout=300, cwd=ROOT)
        assert published.returncode == 0, published.stderr
        page = (out / DATE / "report.html").read_text(encoding="utf-8")
        soup = _check_page(page)
        assert _sections(page)[:len(after_run)] == after_run, (_sections(page), after_run)  # one report
        assert f"用时 {seconds} 秒" in soup.find(class_="digest-summary").get_text()
        assert published.stdout.startswith("Published ")
        again = subprocess.run([DIGEST, "publish", *common, "--site", str(site)], env=env, capture_output=True,
                               text=True, timeout=300, cwd=ROOT)
        assert again.returncode == 0 and again.stdout.startswith("Unchanged: "), again.stdout  # not "Published"
        assert "nothing written or committed" in again.stdout
    finally:
        llm.stop()


@pytest.fixture
def quiet_day(tmp_path: Path):
    """A stored day whose results were stored without any LLM call (prices configured)."""
    cfg = build_config(date=dt.date(2026, 1, 22), out_dir=tmp_path / "out",
                       params={"llm": {"prices": {"m": {"prompt": 1.0, "completion": 2.0}}}}, env={})
    with Store(cfg.store_path) as store:
        papers = [Paper(f"2601.0000{i}", 1, f"Title {i}", ("A. Author",), ("cs.SD",), "Abstract.",
                        announce_type=AnnounceType.NEW) for i in (1, 2, 3)]
        store.save_announcement(cfg.date, papers, "rss")
        for p in papers:
            store.claim(cfg.date, p.arxiv_id, 1)
            store.save_result(p.arxiv_id, 1, "translate", ResultStatus.DONE, content={"text": "译文。"})
        store.set_review(cfg.date, papers[0].arxiv_id, 1, ReviewStatus.APPROVED)
    return cfg


def _view(cfg) -> report.DayView:
    with Store(cfg.store_path) as store:
        return report.read_day(cfg, store)


def test_no_call_no_token_chart_and_cost_zero(quiet_day, tmp_path: Path) -> None:
    report.write_report(_view(quiet_day), tmp_path / "report.html")
    soup = _check_page((tmp_path / "report.html").read_text(encoding="utf-8"))
    alts = [i["alt"] for i in soup.find_all("img")]
    assert len(alts) == 2 and not any(REPORT_ZH.chart_titles["tokens"] in a for a in alts)
    assert REPORT_ZH.no_calls in soup.get_text()
    cost_row = next(tr for tr in soup.find("table", class_="digest-numbers").find_all("tr")
                    if tr.find("th").get_text() == REPORT_ZH.rows["cost"])
    assert cost_row.find("td").get_text() == "$0.0000"  # prices configured, nothing called: 0, not "no price"
    status_alt = next(a for a in alts if REPORT_ZH.chart_titles["status"] in a)
    assert "已通过 1" in status_alt and "待审 2" in status_alt  # the alt text says what the chart shows


def test_report_in_english(quiet_day, tmp_path: Path) -> None:
    from dataclasses import replace

    cfg = replace(quiet_day, language="en")
    report.write_report(_view(cfg), tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    _check_page(page, REPORT_EN)
    assert '<html lang="en">' in page and _sections(page)[0] == REPORT_EN.title.format(date="2026-01-22")


def test_count_charts_have_integer_ticks() -> None:
    fig = report.chart_figure("papers", {"cs.SD": 1, "eess.AS": 2})
    fig.canvas.draw()
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def test_cost_unknown_only_when_tokens_have_no_price() -> None:
    assert report.cost_summary([], {})["cost_usd"] == 0.0
    unpriced = [{"task": "translate", "model": "x", "calls": 1, "prompt_tokens": 10, "completion_tokens": 5}]
    assert report.cost_summary(unpriced, {})["cost_usd"] is None


def _without_cell_ids(page: str) -> str:
    return re.sub(r"cell-id=[0-9a-f]+", "", page)  # nbformat gives each new cell a random id


def test_the_page_is_built_from_the_view_alone(quiet_day, tmp_path: Path) -> None:
    """The store is read once, by read_day: with the store gone, the page is still the same page."""
    view = _view(quiet_day)
    before = report.build_report(view)
    for path in quiet_day.store_path.parent.glob(quiet_day.store_path.name + "*"):
        path.unlink()
    after = report.build_report(view)
    assert not quiet_day.store_path.exists(), "a display opened the store again"
    assert _without_cell_ids(after) == _without_cell_ids(before)
    _check_page(after)


def test_html_pieces_escape_what_they_show() -> None:
    hostile = "<script>alert('x')</script> & \"q\""
    failed = [{"task": "translate", "model": hostile, "status": "HTTP 500", "calls": 1, "cause": hostile}]
    html = report.failed_calls_html(failed)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 2
    numbers = {"summary": report.cost_summary([]), "announced": 1, "selected": 1, "shown": 1, "approved": 0,
               "rejected": 0, "pending": 1, "failures": [("2601.00001v1", "translate", hostile)], "seconds": {},
               "failed_calls": failed}
    html = report.numbers_html(numbers)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3
    assert BeautifulSoup(html, "html.parser").find("table", class_="digest-failures").get_text(" ").count(
        "<script>alert('x')</script>") == 1  # escaped once: the reader sees the text as it was
