"""Parameters + environment -> Config: validation with clear messages, env overrides, no secrets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digestlib.base.config import PARAMETER_KEYS, build_config, load_config, parse_date, read_params_file
from digestlib.base.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "parameters" / "cs.SD+eess.AS.yaml"


def test_default_parameter_file_loads() -> None:
    cfg = load_config(date="2026-01-22", params_file=PARAMS, out_dir="/tmp/x", env={})
    assert cfg.date == dt.date(2026, 1, 22)
    assert cfg.categories == ("cs.SD", "eess.AS")
    assert cfg.categories_path == "cs.SD+eess.AS"
    assert cfg.glossary_file == (ROOT / "parameters" / "glossary.yaml").resolve()
    assert cfg.store_path == Path("/tmp/x/digest.sqlite")
    assert cfg.arxiv.api_url == "https://export.arxiv.org/api/query"


@pytest.mark.parametrize("value", ["2026-13-01", "22-01-2026", "yesterday", "", 20260122, None])
def test_invalid_dates_are_usage_errors(value: object) -> None:
    with pytest.raises(UsageError, match="invalid date"):
        parse_date(value)


def test_yaml_and_string_dates_are_the_same() -> None:
    assert parse_date("2026-01-22") == parse_date(dt.date(2026, 1, 22)) == parse_date(dt.datetime(2026, 1, 22, 5))


def test_environment_overrides_the_parameter_file() -> None:
    env = {"ARXIV_API_URL": "http://127.0.0.1:9/api/query", "ARXIV_RSS_URL": "http://127.0.0.1:9/atom/",
           "ARXIV_FILES_URL": "http://127.0.0.1:9", "OPENAI_BASE_URL": "http://127.0.0.1:8/v1",
           "DIGEST_MODEL": "qwen-plus"}
    cfg = load_config(date="2026-01-22", params_file=PARAMS, env=env)
    assert cfg.arxiv.api_url == "http://127.0.0.1:9/api/query"
    assert cfg.arxiv.rss_url == "http://127.0.0.1:9/atom"  # trailing slash dropped
    assert cfg.arxiv.files_url == "http://127.0.0.1:9"
    assert cfg.llm.base_url == "http://127.0.0.1:8/v1"
    assert cfg.llm.model == "qwen-plus"
    assert cfg.llm.model_for("translate") == "qwen-plus"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="parameter file not found"):
        read_params_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: blue\n", "unknown key 'colour'"),
        ("llm: {modle: x}\n", "unknown key llm.modle"),
        ("max_papers: many\n", "'max_papers' must be a non-negative whole number"),
        ("primary_only: 'yes'\n", "'primary_only' must be true or false"),
        ("categories: [cs.SD, 3]\n", "'categories' must be a list of strings"),
        ("categories: [cs.XX.YY]\n", "unknown arXiv category"),
        ("categories: [foo.BAR]\n", "unknown arXiv category 'foo.BAR'"),
        ("window_anchor: '25:00'\n", "window_anchor must be HH:MM"),
        ("window_timezone: Mars/Olympus\n", "unknown time zone"),
        ("llm: {concurrency: -1}\n", "llm.concurrency"),
        ("llm: {prices: {m: {prompt: cheap}}}\n", "llm.prices.m.prompt"),
        ("arxiv: {api_url: ftp://x}\n", "must be an http"),
        ("glossary_file: missing.yaml\n", "glossary file not found"),
        ("- a list\n", "must be a mapping"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_parameter_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_config(date="2026-01-22", params_file=path, env={})


def test_config_holds_no_secret() -> None:
    env = {"OPENAI_API_KEY": "sk-test-SECRET-1234567890"}
    cfg = build_config(date="2026-01-22", params={}, env=env)
    assert "SECRET" not in repr(cfg.public_dict()) and "SECRET" not in repr(cfg)


def test_llm_configured_by_base_url_or_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert not build_config(date="2026-01-22", env={}).llm.configured
    assert build_config(date="2026-01-22", env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).llm.configured
    monkeypatch.setenv("OPENAI_API_KEY", "k-123456")  # the environment is read once, from the mapping given
    assert not build_config(date="2026-01-22", env={}).llm.configured
    assert build_config(date="2026-01-22", env={"OPENAI_API_KEY": "k-123456"}).llm.configured
    assert build_config(date="2026-01-22").llm.configured  # no mapping: the process environment
    cfg = build_config(date="2026-01-22", env={"OPENAI_API_KEY": "k-123456"})
    assert "k-123456" not in repr(cfg) and "k-123456" not in repr(cfg.public_dict())


def test_parameter_keys_cover_the_default_file() -> None:
    assert set(read_params_file(PARAMS)) <= set(PARAMETER_KEYS)


@pytest.mark.integration  # a fresh interpreter: what importing redaction alone loads
def test_redaction_stands_alone_and_reads_the_secret_at_redaction_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """``errors`` redacts every message through ``redaction``, which the settings import too: it must import
    nothing of the project (no circle through config), and it learns a secret's value when it redacts."""
    import subprocess
    import sys

    code = ("import sys, digestlib.base.redaction\n"
            "digestlib.base.redaction.redact_secrets('a text to redact')\n"
            "print(sorted(m for m in sys.modules if m.startswith('digestlib.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['digestlib.base', 'digestlib.base.redaction']"

    from digestlib.base.redaction import redact_secrets

    monkeypatch.setenv("OPENAI_API_KEY", "set-after-import-0123")
    assert redact_secrets("key set-after-import-0123 here") == "key *** here"
