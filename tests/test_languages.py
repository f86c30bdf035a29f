"""The output language (``language: zh | en | ja``): one set of prompts, a label table per language.

A day in English and a day in Japanese against the loopback fake arXiv and fake OpenAI server (which answers
in the language its system prompt asks for, as a model would), offline days in all three languages, and the
unit facts: zh's prompts render as they did before the language became a variable, en is never translated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from digestlib.base import errors
from digestlib.post import render
from digestlib.base.config import LANGUAGES, build_config
from digestlib.post.labels import LABELS, labels_for
from digestlib.base.models import Paper, ResultStatus
from tests.day_run import run_day_digest
from digestlib.tasks import (PROMPT_VERSION, PROMPTS, interpretation_messages, interpretation_schema, language_share,
                             language_values, offline_translation, render_prompt, translate_abstract,
                             translation_messages)
from tests.conftest import find_shared_data
from tests.fakes.fake_arxiv import FakeArxivProcess, start_fake_arxiv
from tests.fakes.fake_openai import FakeOpenAI, requested_language

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = "2026-01-22"
NOW = "2026-01-22T02:00:00+00:00"
MAILING = (find_shared_data() or Path("/nonexistent")) / "arxiv" / "mailings" / f"{DATE}-cs.SD+eess.AS.json"
PAPER = Paper(arxiv_id="2601.00001", version=1, title="A Test Paper",
              abstract="We propose a model. It reaches 91.5% accuracy on 3 datasets.", authors=("A. Author",),
              categories=("cs.SD",))


# ------------------------------------------------------------------------------------------ units


def test_config_takes_zh_en_ja_and_refuses_others_in_one_line() -> None:
    assert LANGUAGES == ("zh", "en", "ja")
    for lang in LANGUAGES:
        assert build_config(date=DATE, out_dir="out", params={"language": lang}, env={}).language == lang
    with pytest.raises(errors.ConfigError) as caught:
        build_config(date=DATE, out_dir="out", params={"language": "fr"}, env={})
    assert "\n" not in str(caught.value) and "zh, en, ja" in str(caught.value)


def test_every_language_has_every_label() -> None:
    zh = vars(LABELS["zh"])
    for lang, table in LABELS.items():
        for name, value in vars(table).items():
            assert value or name == "zone_names", (lang, name)
            if isinstance(value, dict) and name != "zone_names":
                assert set(value) == set(zh[name]), (lang, name)
    with pytest.raises(ValueError):
        labels_for("fr")


def test_zh_prompts_render_as_before_and_keep_their_cache_version() -> None:
    """The language placeholders filled with zh's values give the prompt text with no placeholder left
    (the bytes the templates held before the language became a variable), so zh's cache keys stay."""
    zh = language_values("zh")
    for name in PROMPTS:
        rendered = render_prompt(name, **zh, glossary="", title="T", abstract="A", source_note="N", paper_text="P",
                                 violation="V")
        assert "{{" not in rendered, name
    system = translation_messages(PAPER, {}, "zh")[0]["content"]
    assert "简体中文" in system and "日语" not in system and "英语" not in system
    assert requested_language(system) == "zh"
    assert interpretation_schema("zh") is interpretation_schema()  # the same object: the same request bytes
    assert PROMPT_VERSION["translate"].startswith("translate-")


def test_one_set_of_prompts_asks_for_each_language() -> None:
    for lang in ("en", "ja"):
        messages = interpretation_messages(PAPER, PAPER.abstract, {"model": "模型"}, abstract_only=True,
                                           max_chars=10_000, lang=lang)
        assert requested_language(messages[0]["content"]) == lang
        assert "简体中文" not in json.dumps(interpretation_schema(lang), ensure_ascii=False)
    ja = translation_messages(PAPER, {}, "ja")
    assert requested_language(ja[0]["content"]) == "ja" and "简体中文" not in ja[0]["content"]
    # en: the glossary (English -> rendering) is moot, left out of the interpretation's prompt
    en = interpretation_messages(PAPER, PAPER.abstract, {"model": "模型"}, abstract_only=True, max_chars=10_000,
                                 lang="en")
    assert "模型" not in en[1]["content"]


def test_english_keeps_the_abstract_and_never_calls() -> None:
    class NoCalls:
        def __getattr__(self, name: str):
            raise AssertionError(f"the client was used: {name}")

    result = translate_abstract(PAPER, NoCalls(), {}, lang="en")  # type: ignore[arg-type]
    assert (result.status, result.text, result.model) == (ResultStatus.DONE, PAPER.abstract, "")
    assert offline_translation(PAPER, "en").status is ResultStatus.DONE
    assert offline_translation(PAPER, "ja").status is ResultStatus.OFFLINE


# ------------------------------------------------------------------------------------------ days


@pytest.fixture(scope="module")
def fake_arxiv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeArxivProcess]:
    if not MAILING.is_file():
        pytest.skip(f"{MAILING} not found")
    mailing = json.loads(MAILING.read_text(encoding="utf-8"))
    keep = [p for p in mailing["papers"] if p["announce_type"] in ("new", "cross")][:4]
    mailing = {**mailing, "papers": keep}
    arxiv = start_fake_arxiv([mailing], now=NOW, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                             workdir=tmp_path_factory.mktemp("fake-arxiv"))
    try:
        yield arxiv
    finally:
        arxiv.stop()


def _day(fake_arxiv: FakeArxivProcess, out: Path, monkeypatch: pytest.MonkeyPatch, language: str,
         llm: FakeOpenAI | None = None, **params):
    for name in [k for k in os.environ if k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))]:
        monkeypatch.delenv(name)
    env = {**fake_arxiv.env(), "DIGEST_NOW": NOW}
    if llm is not None:
        env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test")
    params = {"arxiv": {"api_delay_seconds": 0.02}, "fulltext": {"requests_per_second": 100},
              "llm": {"model": "fake-model"}, "language": language,
              "glossary_file": str(ROOT / "parameters" / "glossary.yaml"), **params}
    monkeypatch.setenv("DIGEST_NOW", NOW)
    cfg = build_config(date=DATE, out_dir=out, env=env, params=params)
    return run_day_digest(cfg)[1]


def _header(post: str) -> str:
    return render.split_front_matter(post)[1].split("\n## ", 1)[0]


@pytest.mark.integration
def test_an_english_day_keeps_the_abstracts_and_makes_no_translate_call(
        fake_arxiv: FakeArxivProcess, fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch) -> None:
    day = _day(fake_arxiv, tmp_path / "out", monkeypatch, "en", fake_openai)
    post = render.render_post(day)
    log = fake_openai.log()
    assert log and {e["kind"] for e in log} == {"interpret"}  # no translate call at all
    assert {e["language"] for e in log} == {"en"}
    header = _header(post)
    assert header.startswith(f"Papers announced in the window of {DATE} (CST, Beijing time), with their abstracts:")
    assert "- Fetched: 4 papers \\| Shown: 4 papers" in header and "- BibTeX: [" in header
    assert post.count("<summary>Detailed reading</summary>") == 4
    assert "详细解读" not in post and "中文" not in post and "译" not in post
    for entry in day.entries:
        assert entry.translation_status is ResultStatus.DONE
        assert language_share(entry.details_md, "en") > 0.8
        assert entry.details_md.startswith("1)  \n- **Background**")


@pytest.mark.integration
def test_a_japanese_day_translates_and_interprets_in_japanese(
        fake_arxiv: FakeArxivProcess, fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch) -> None:
    day = _day(fake_arxiv, tmp_path / "out", monkeypatch, "ja", fake_openai, glossary_file=None)
    post = render.render_post(day)
    log = fake_openai.log()
    assert sorted(e["kind"] for e in log) == ["interpret"] * 4 + ["translate"] * 4
    assert {e["language"] for e in log} == {"ja"}
    assert _header(post).startswith(f"以下は {DATE}（CST、北京時間）のウィンドウ内で更新された論文と要旨の日本語訳です：")
    assert "- 取得総数：4 件 \\| 本ページ表示：4 件" in post
    assert post.count("<summary>詳細解説</summary>") == 4 and "详细解读" not in post
    for entry in day.entries:
        assert entry.abstract_zh.startswith("【訳】") and language_share(entry.abstract_zh, "ja") > 0.75
        assert language_share(entry.details_md, "ja") > 0.5


@pytest.mark.integration
@pytest.mark.parametrize("language, abstract_label, details_summary", [
    ("zh", "（未翻译：未配置 LLM 端点，以下为英文原文）", "详细解读"),
    ("en", None, "Detailed reading"),
    ("ja", "（未翻訳：LLM エンドポイントが設定されていないため、以下は英語の原文です）", "詳細解説"),
])
def test_the_offline_summariser_works_in_every_language(fake_arxiv: FakeArxivProcess, tmp_path: Path, monkeypatch,
                                                        language: str, abstract_label: str | None,
                                                        details_summary: str) -> None:
    day = _day(fake_arxiv, tmp_path / "out", monkeypatch, language)
    post = render.render_post(day)
    words = labels_for(language)
    assert post.count(f"<summary>{details_summary}</summary>") == 4
    for entry in day.entries:
        assert entry.details_md.startswith(words.extractive)
        if abstract_label:
            assert entry.abstract_zh.startswith(abstract_label)
        else:  # English: the abstract is the answer, unlabelled
            assert entry.translation_status is ResultStatus.DONE and not entry.abstract_zh.startswith("(")
    assert _header(post).split("\n")[0].endswith(
        {"zh": "（摘要未翻译，为英文原文）：", "en": "with their abstracts:", "ja": "（要旨は未翻訳、英語の原文）です："}[language])


def test_a_no_announcement_post_in_each_language() -> None:
    saturday = dt.date(2026, 1, 24)
    assert render.render_no_announcement(saturday, ["cs.SD", "eess.AS"], "周末").endswith(
        "arXiv 在 2026-01-24 没有发布 cs.SD、eess.AS 的新论文公告（周末）。\n")
    assert render.render_no_announcement(saturday, ["cs.SD", "eess.AS"], "weekend", "en").endswith(
        "arXiv made no announcement of new cs.SD, eess.AS papers on 2026-01-24 (weekend).\n")
    assert "公開していません（週末）。" in render.render_no_announcement(saturday, ["cs.SD"], "週末", "ja")


@pytest.mark.integration
def test_digest_run_writes_an_english_post_through_the_notebook(fake_arxiv: FakeArxivProcess,
                                                               fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"categories": ["cs.SD", "eess.AS"], "language": "en",
                                      "arxiv": {"api_delay_seconds": 0.02}, "fulltext": {"requests_per_second": 100},
                                      "llm": {"model": "fake-model"}}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(fake_arxiv.env(), DIGEST_NOW=NOW, OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="sk-test")
    out = tmp_path / "out"
    done = subprocess.run([DIGEST, "run", "--date", DATE, "--params", str(params), "--out", str(out), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    post = (out / DATE / f"{DATE}-arxiv-daily.md").read_text(encoding="utf-8")
    assert "with their abstracts:" in post and post.count("<summary>Detailed reading</summary>") == 4
    assert {e["kind"] for e in fake_openai.log()} == {"interpret"}
