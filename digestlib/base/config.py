"""Parameters (YAML file, papermill parameters) + environment -> one immutable, validated ``Config``.

The one door to the settings: :func:`build_config` validates every parameter with its own message,
applies the environment's overrides (``ARXIV_API_URL``...), and keeps one snapshot of the environment
and the clock in the ``Config``; :func:`load_config` reads a parameter file first. YAML dates arrive as
strings through papermill, so the date is parsed here and nowhere else. The pieces live beside it, each
re-exported here so that callers import from one place: ``settings`` (the dataclasses: the parameter
reference), ``environment`` (the one reader of ``os.environ`` and of the clock), ``taxonomy`` (arXiv's
categories, the post-tag rule).

Must not: do network I/O, or put a secret's value into anything shown, stored or rendered.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Iterable, Mapping, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .environment import Environment, read_environment, read_now
from .errors import ConfigError, UsageError
from .redaction import register_secret_env, strip_url_credentials
from .safe_yaml import YAMLRefused, excerpt, load_yaml_file
from .settings import (
    DEFAULT_PARAMS_FILE,
    DEFAULT_POST_SLUG,
    LANGUAGES,
    NOTIFY_EVENTS,
    PDF_ENGINES,
    PROJECT_ROOT,
    STARTTLS_MODES,
    WEBHOOK_KINDS,
    ArxivSettings,
    Config,
    FulltextSettings,
    InterestSettings,
    LLMSettings,
    NotifySettings,
    PublishSettings,
    WeeklySettings,
    check_api_key,
    default_out_dir,
)
from .taxonomy import check_category, is_post_tag

__all__ = [
    "DEFAULT_PARAMS_FILE", "DEFAULT_POST_SLUG", "ENV_OVERRIDES", "LANGUAGES", "NOTIFY_EVENTS", "PARAMETER_KEYS",
    "PDF_ENGINES", "PROJECT_ROOT", "STARTTLS_MODES", "WEBHOOK_KINDS",
    "ArxivSettings", "Config", "Environment", "FulltextSettings", "InterestSettings", "LLMSettings",
    "NotifySettings", "PublishSettings", "WeeklySettings",
    "build_config", "check_api_key", "default_out_dir", "did_you_mean", "load_config", "parse_date",
    "read_environment", "read_now", "read_params_file",
]


_Section = TypeVar("_Section")  # one of the settings dataclasses

# Keys a parameter file may hold (top level), mapped to the settings dataclass for nested ones.
_NESTED = {"arxiv": ArxivSettings, "fulltext": FulltextSettings, "llm": LLMSettings, "publish": PublishSettings}
_NESTED.update(interests=InterestSettings, notify=NotifySettings, weekly=WeeklySettings)
_TOP_LEVEL = {f.name for f in fields(Config)} - {"date", "out_dir", "replay_dir", "now", "environ", *_NESTED}
PARAMETER_KEYS = tuple(sorted(_TOP_LEVEL | set(_NESTED)))

# Environment variables that override the parameter file: variable -> (section, key).
ENV_OVERRIDES = {
    "ARXIV_API_URL": ("arxiv", "api_url"),
    "ARXIV_RSS_URL": ("arxiv", "rss_url"),
    "ARXIV_FILES_URL": ("arxiv", "files_url"),
    "OPENAI_BASE_URL": ("llm", "base_url"),
    "DIGEST_MODEL": ("llm", "model"),
}


def parse_date(value: object) -> dt.date:
    """Accept a ``date`` or an ISO ``YYYY-MM-DD`` string (papermill passes YAML dates as strings)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise UsageError(f"invalid date {excerpt(value)}: expected YYYY-MM-DD, e.g. 2026-01-22")


def read_params_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a parameter file; unknown keys and non-mapping content are errors, not surprises."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"parameter file not found: {path}")
    try:
        data = load_yaml_file(path)  # size-limited, aliases refused (no "billion laughs")
    except YAMLRefused as exc:
        raise ConfigError(f"parameter file {path} refused: {exc.reason}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"parameter file {path} is not valid YAML{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read parameter file {path}: {exc.__class__.__name__}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"parameter file {path} must be a mapping of keys to values")
    unknown = sorted(set(data) - set(PARAMETER_KEYS))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in {path}{did_you_mean(unknown[0], PARAMETER_KEYS)} "
                          f"(known: {', '.join(PARAMETER_KEYS)})", path=str(path), key=str(unknown[0]))
    for section, cls in _NESTED.items():  # a typo in a nested key, named with its file
        given = data.get(section)
        if isinstance(given, Mapping):
            known = sorted(f.name for f in fields(cls) if not f.metadata.get("derived"))
            typo = sorted(str(k) for k in set(given) - set(known))
            if typo:
                raise ConfigError(f"unknown key {section}.{typo[0]} in {path}{did_you_mean(typo[0], known)} "
                                  f"(known: {', '.join(known)})", path=str(path), key=f"{section}.{typo[0]}")
    return data


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices`` (difflib), or nothing."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _coerce(name: str, value: object, default: object) -> object:
    """Check ``value`` against the type of ``default`` (the dataclass default) with a clear message."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"parameter {name!r} must be {expected}, got {excerpt(value)}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail("a non-negative whole number")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail("a non-negative number")
        return float(value)
    if isinstance(default, tuple):
        if isinstance(value, str):  # "categories: cs.SD" is one typo away from a wrong list: say so
            raise fail(f"a list of strings, e.g. [{value}]")
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise fail("a list of strings")
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping):
            raise fail("a mapping")
        return dict(value)
    if default is None or isinstance(default, (str, Path)):
        if value is None:
            return None
        if not isinstance(value, str):
            raise fail("a string")
        return value
    return value


def _build_section(section: str, cls: type[_Section], given: object, env: Mapping[str, str]) -> _Section:
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"parameter {section!r} must be a mapping")
    known = {f.name: f for f in fields(cls) if not f.metadata.get("derived")}
    if section == "llm" and str(given.get("context_tokens", "")).strip().lower() == "auto":
        given = {**given, "context_tokens": 0}  # found at run time: the server's window, or a known model's
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]}{did_you_mean(unknown[0], known)} "
                          f"(known: {', '.join(sorted(known))})", key=f"{section}.{unknown[0]}")
    defaults = cls()
    if section == "interests":
        given = _interest_lists_as_weights(given)
    values = {k: _coerce(f"{section}.{k}", v, getattr(defaults, k)) for k, v in given.items()}
    if section in _SECTION_CHECKS:
        _SECTION_CHECKS[section](values)
    for var, (sec, key) in ENV_OVERRIDES.items():
        if sec == section and env.get(var):
            values[key] = env[var]
    if section == "llm":
        _validate_prices(values.get("prices", {}))
        register_secret_env(values.get("api_key_env"))  # its value is redacted from every output
        values["api_key_set"] = bool(env.get(values.get("api_key_env", known["api_key_env"].default)))
    for key in ("api_url", "rss_url", "files_url", "base_url"):
        url = values.get(key)
        if url and not re.match(r"^https?://", url):
            raise ConfigError(f"{section}.{key} must be an http(s) URL, got {excerpt(strip_url_credentials(url))}")
        if url:
            values[key] = url.rstrip("/")
    return cls(**values)


def _interest_lists_as_weights(given: Mapping[str, object]) -> dict[str, object]:
    """``keywords: [a, b]`` is shorthand for ``keywords: {a: 1, b: 1}`` (the same for negative keywords)."""
    given = dict(given)
    for key in ("keywords", "negative_keywords"):
        value = given.get(key)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ConfigError(f"parameter 'interests.{key}' must list strings or map terms to weights")
            given[key] = {v: 1.0 for v in value}
        elif value is None and key in given:
            given[key] = {}
    return given


def _validate_interests(values: dict[str, object]) -> None:
    for key in ("keywords", "negative_keywords"):
        table = values.get(key, {})
        for term, weight in table.items():
            if not isinstance(term, str) or not term.strip():
                raise ConfigError(f"interests.{key}: every term must be a non-empty string, got {term!r}")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
                raise ConfigError(f"interests.{key}.{term} must be a positive number, got {weight!r}")
        values[key] = {term.strip(): float(weight) for term, weight in table.items()}
    if any(not a.strip() for a in values.get("authors", ())):
        raise ConfigError("interests.authors must not hold an empty name")


def _validate_notify(values: dict[str, object]) -> None:
    for event in values.get("events", ()):
        if event not in NOTIFY_EVENTS:
            raise ConfigError(f"notify.events: unknown event {event!r} (known: {', '.join(NOTIFY_EVENTS)})")
    if values.get("webhook_kind", "json") not in WEBHOOK_KINDS:
        raise ConfigError(f"notify.webhook_kind must be one of {', '.join(WEBHOOK_KINDS)}, "
                          f"got {values['webhook_kind']!r}")
    if values.get("smtp_starttls", "auto") not in STARTTLS_MODES:
        raise ConfigError(f"notify.smtp_starttls must be one of {', '.join(STARTTLS_MODES)}, "
                          f"got {values['smtp_starttls']!r}")
    if not 0 < values.get("smtp_port", 587) < 65536:
        raise ConfigError(f"notify.smtp_port must be a TCP port, got {values['smtp_port']!r}")
    link = values.get("link")
    if link and not re.match(r"^https?://", link):
        raise ConfigError(f"notify.link must be an http(s) URL, got {link!r}")
    if values.get("email_to") and not values.get("smtp_host"):
        raise ConfigError("notify.email_to is set but notify.smtp_host is not")
    if values.get("webhook_kind") == "telegram" and not values.get("telegram_chat_id"):
        raise ConfigError("notify.webhook_kind telegram needs notify.telegram_chat_id")



def _validate_fulltext(values: dict[str, object]) -> None:
    if values.get("pdf_engine", "auto") not in PDF_ENGINES:
        raise ConfigError(f"fulltext.pdf_engine must be one of {', '.join(PDF_ENGINES)}, got {values['pdf_engine']!r}")


_SECTION_CHECKS = {"interests": _validate_interests, "notify": _validate_notify, "fulltext": _validate_fulltext}


def _validate_prices(prices: Mapping[str, object]) -> None:
    for model, table in prices.items():
        if not isinstance(table, Mapping) or not set(table) <= {"prompt", "completion"}:
            raise ConfigError(f"llm.prices.{model} must map 'prompt' and 'completion' to USD per 1M tokens")
        for key, val in table.items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or val < 0:
                raise ConfigError(f"llm.prices.{model}.{key} must be a non-negative number")



def _validate_anchor(anchor: str, tz: str) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", anchor):
        raise ConfigError(f"window_anchor must be HH:MM (24 h), got {excerpt(anchor)}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r} for window_timezone (e.g. Asia/Shanghai)") from None


def _validate_field_keys(values: Mapping[str, object]) -> None:
    """title / tags / post_slug / language: what a second field's parameter file sets (one line each)."""
    language = values.get("language", "zh")
    if language not in LANGUAGES:
        raise ConfigError(f"language {language!r} is not supported (one of: {', '.join(LANGUAGES)}; "
                          "zh Chinese, en English, ja Japanese)")
    slug = values.get("post_slug", DEFAULT_POST_SLUG)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", slug):
        raise ConfigError(f"post_slug must be lowercase letters, digits and '-' (a file name), got {slug!r}")
    title = values.get("title")
    if title is not None and (not title.strip() or len(title) > 200 or any(c in title for c in "\r\n")):
        raise ConfigError(f"title must be one line of at most 200 characters, got {title!r}")
    for tag in values.get("tags", ()):
        if not is_post_tag(tag):  # the same rule render.py applies to the front matter
            raise ConfigError(f"tag {tag!r} must be letters, digits and . _ - (e.g. cs.CL, nlp, cpp)", key="tags")


def build_config(
    *,
    date: dt.date | str,
    out_dir: str | os.PathLike[str] = "output",
    params: Mapping[str, object] | None = None,
    replay_dir: str | os.PathLike[str] | None = None,
    params_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Validate parameter values (from a file or papermill) and apply environment overrides.

    ``params_dir`` is where relative paths in the parameters (the glossary) are resolved;
    it defaults to ``parameters/`` under the current directory.
    """
    env = read_environment() if env is None else Environment(env)
    params = copy.deepcopy(dict(params or {}))
    unknown = sorted(set(params) - set(PARAMETER_KEYS))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r} (known: {', '.join(PARAMETER_KEYS)})")
    defaults = Config(date=dt.date(2000, 1, 1), out_dir=Path("."))
    values: dict[str, object] = {}
    for key in _TOP_LEVEL:
        if key in params and params[key] is not None:
            values[key] = _coerce(key, params[key], getattr(defaults, key))
    for section, cls in _NESTED.items():
        values[section] = _build_section(section, cls, params.get(section), env)

    cats = values.get("categories", defaults.categories)
    if not cats:
        raise ConfigError("categories must list at least one arXiv category")
    for cat in cats:
        check_category(cat)
    if values.get("order", defaults.order) not in ("listing", "relevance"):
        raise ConfigError(f"order must be listing or relevance, got {values['order']!r}")
    _validate_anchor(values.get("window_anchor", defaults.window_anchor),
                     values.get("window_timezone", defaults.window_timezone))
    _validate_field_keys(values)

    base = Path(params_dir) if params_dir is not None else Path("parameters")
    glossary = values.get("glossary_file")
    if glossary:
        path = Path(glossary)
        if not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise ConfigError(f"glossary file not found: {path}")
        values["glossary_file"] = path.resolve()

    return Config(
        date=parse_date(date),
        out_dir=Path(out_dir).resolve(),
        replay_dir=Path(replay_dir).resolve() if replay_dir else None,
        now=read_now(env),
        environ=env,
        **values,
    )


def load_config(
    *,
    date: dt.date | str,
    params_file: str | os.PathLike[str] = DEFAULT_PARAMS_FILE,
    out_dir: str | os.PathLike[str] = "output",
    replay_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The CLI's entry: read and validate a parameter file, then build the config."""
    params = read_params_file(params_file)
    return build_config(date=date, out_dir=out_dir, params=params, replay_dir=replay_dir,
                        params_dir=Path(params_file).resolve().parent, env=env)

