"""Parameters (YAML file, papermill parameters) + environment -> one immutable, validated ``Config``.

Secrets never enter a ``Config``: it records only the *name* of the environment variable holding the
API key, because the config is shown in notebooks and reports. YAML dates arrive as strings through
papermill, so the date is parsed here and nowhere else.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError, UsageError

DEFAULT_PARAMS_FILE = Path("parameters/cs.SD+eess.AS.yaml")

# arXiv category taxonomy prefixes we accept (archive.subject or a bare archive such as "hep-th").
_CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")
_KNOWN_ARCHIVES = {
    "cs", "econ", "eess", "math", "physics", "q-bio", "q-fin", "stat", "astro-ph", "cond-mat", "gr-qc",
    "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin", "nucl-ex", "nucl-th", "quant-ph",
}
# arXiv's subject classes (https://arxiv.org/category_taxonomy): a typo such as cs.DS for cs.SD, or cs.sd,
# would fetch another feed or none at all, so it is an error here.
_SUBJECTS = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF "
          "PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn "
               "gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
}


@dataclass(frozen=True)
class ArxivSettings:
    api_url: str = "https://export.arxiv.org/api/query"
    rss_url: str = "https://rss.arxiv.org/atom"
    files_url: str = "https://arxiv.org"
    api_delay_seconds: float = 3.0  # arXiv asks for at most one API request every 3 s
    page_size: int = 100  # ids per id_list batch / results per search page
    timeout_seconds: float = 30.0
    max_retries: int = 4
    user_agent: str = "arxiv-digest/0.1 (+https://github.com/arxiv-digest/arxiv-digest)"


@dataclass(frozen=True)
class FulltextSettings:
    max_pdf_mb: float = 50.0
    max_pages: int = 60
    download_timeout_seconds: float = 60.0
    extract_timeout_seconds: float = 60.0
    requests_per_second: float = 2.0
    max_retries: int = 3
    abstract_only_after_hours: float = 72.0  # then interpret from the abstract alone, labelled
    workers: int = 0  # extraction processes; 0 = one per core


@dataclass(frozen=True)
class LLMSettings:
    base_url: str | None = None  # OPENAI_BASE_URL overrides
    model: str | None = None  # DIGEST_MODEL overrides
    translate_model: str | None = None  # defaults to model
    interpret_model: str | None = None  # defaults to model
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable; the value is read by llm.py only
    concurrency: int = 8
    timeout_seconds: float = 120.0
    max_retries: int = 5
    context_tokens: int = 12000  # budget of paper text sent for an interpretation
    temperature: float = 0.2
    max_output_tokens: int = 4096
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # model -> {prompt, completion} per 1M tokens

    @property
    def configured(self) -> bool:
        """True when an endpoint is configured; otherwise the run completes offline."""
        return bool(self.base_url) or bool(os.environ.get(self.api_key_env))

    def model_for(self, task: str) -> str:
        specific = {"translate": self.translate_model, "interpret": self.interpret_model}.get(task)
        return specific or self.model or "gpt-4o-mini"


@dataclass(frozen=True)
class Config:
    """Everything one run needs, immutable and validated."""

    date: dt.date
    out_dir: Path
    categories: tuple[str, ...] = ("cs.SD", "eess.AS")
    primary_only: bool = False
    include_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    max_papers: int = 0  # 0 = no limit
    include_replacements: bool = False
    window_anchor: str = "10:00"
    window_timezone: str = "Asia/Shanghai"
    no_announcement_post: bool = False
    glossary_file: Path | None = None
    replay_dir: Path | None = None
    arxiv: ArxivSettings = field(default_factory=ArxivSettings)
    fulltext: FulltextSettings = field(default_factory=FulltextSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)

    # Everything a run writes lives under out_dir (two output folders never share state).
    @property
    def store_path(self) -> Path:
        return self.out_dir / "digest.sqlite"

    @property
    def cache_dir(self) -> Path:
        return self.out_dir / "cache"

    @property
    def day_dir(self) -> Path:
        return self.out_dir / self.date.isoformat()

    @property
    def post_name(self) -> str:
        return f"{self.date.isoformat()}-arxiv-daily.md"

    @property
    def categories_path(self) -> str:
        """The RSS path segment, e.g. ``cs.SD+eess.AS``."""
        return "+".join(self.categories)

    def public_dict(self) -> dict[str, Any]:
        """The config as plain data, safe to show or store (holds no secret by construction)."""
        data = asdict(self)
        data["date"] = self.date.isoformat()
        for key in ("out_dir", "glossary_file", "replay_dir"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data


# Keys a parameter file may hold (top level), mapped to the settings dataclass for nested ones.
_NESTED = {"arxiv": ArxivSettings, "fulltext": FulltextSettings, "llm": LLMSettings}
_TOP_LEVEL = {f.name for f in fields(Config)} - {"date", "out_dir", "replay_dir", *_NESTED}
PARAMETER_KEYS = tuple(sorted(_TOP_LEVEL | set(_NESTED)))

# Environment variables that override the parameter file: variable -> (section, key).
ENV_OVERRIDES = {
    "ARXIV_API_URL": ("arxiv", "api_url"),
    "ARXIV_RSS_URL": ("arxiv", "rss_url"),
    "ARXIV_FILES_URL": ("arxiv", "files_url"),
    "OPENAI_BASE_URL": ("llm", "base_url"),
    "DIGEST_MODEL": ("llm", "model"),
}


def parse_date(value: Any) -> dt.date:
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
    raise UsageError(f"invalid date {value!r}: expected YYYY-MM-DD, e.g. 2026-01-22")


def read_params_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a parameter file; unknown keys and non-mapping content are errors, not surprises."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"parameter file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        raise ConfigError(f"unknown key {unknown[0]!r} in {path} (known: {', '.join(PARAMETER_KEYS)})")
    return data


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of ``default`` (the dataclass default) with a clear message."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"parameter {name!r} must be {expected}, got {value!r}")

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
        if isinstance(value, str):
            value = [value]
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


def _build_section(section: str, cls: type, given: Any, env: Mapping[str, str]) -> Any:
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"parameter {section!r} must be a mapping")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]} (known: {', '.join(sorted(known))})")
    defaults = cls()
    values = {k: _coerce(f"{section}.{k}", v, getattr(defaults, k)) for k, v in given.items()}
    for var, (sec, key) in ENV_OVERRIDES.items():
        if sec == section and env.get(var):
            values[key] = env[var]
    if section == "llm":
        _validate_prices(values.get("prices", {}))
    for key in ("api_url", "rss_url", "files_url", "base_url"):
        url = values.get(key)
        if url and not re.match(r"^https?://", url):
            raise ConfigError(f"{section}.{key} must be an http(s) URL, got {url!r}")
        if url:
            values[key] = url.rstrip("/")
    return cls(**values)


def _validate_prices(prices: Mapping[str, Any]) -> None:
    for model, table in prices.items():
        if not isinstance(table, Mapping) or not set(table) <= {"prompt", "completion"}:
            raise ConfigError(f"llm.prices.{model} must map 'prompt' and 'completion' to USD per 1M tokens")
        for key, val in table.items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or val < 0:
                raise ConfigError(f"llm.prices.{model}.{key} must be a non-negative number")


def _validate_category(cat: str) -> None:
    archive, _, subject = cat.partition(".")
    if (not _CATEGORY_RE.match(cat) or archive not in _KNOWN_ARCHIVES
            or (subject and subject not in _SUBJECTS.get(archive, "").split())):
        known = {f"{a}.{s}".casefold(): f"{a}.{s}" for a, subjects in _SUBJECTS.items() for s in subjects.split()}
        close = difflib.get_close_matches(cat.casefold(), list(known), n=1, cutoff=0.6)
        hint = f"did you mean {known[close[0]]}?" if close else "expected e.g. cs.SD, eess.AS, hep-th"
        raise ConfigError(f"unknown arXiv category {cat!r} ({hint})")


def _validate_anchor(anchor: str, tz: str) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", anchor):
        raise ConfigError(f"window_anchor must be HH:MM (24 h), got {anchor!r}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r} for window_timezone (e.g. Asia/Shanghai)") from None


def build_config(
    *,
    date: Any,
    out_dir: str | os.PathLike[str] = "output",
    params: Mapping[str, Any] | None = None,
    replay_dir: str | os.PathLike[str] | None = None,
    params_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Validate parameter values (from a file or papermill) and apply environment overrides.

    ``params_dir`` is where relative paths in the parameters (the glossary) are resolved;
    it defaults to ``parameters/`` under the current directory.
    """
    env = os.environ if env is None else env
    params = copy.deepcopy(dict(params or {}))
    unknown = sorted(set(params) - set(PARAMETER_KEYS))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r} (known: {', '.join(PARAMETER_KEYS)})")
    defaults = Config(date=dt.date(2000, 1, 1), out_dir=Path("."))
    values: dict[str, Any] = {}
    for key in _TOP_LEVEL:
        if key in params and params[key] is not None:
            values[key] = _coerce(key, params[key], getattr(defaults, key))
    for section, cls in _NESTED.items():
        values[section] = _build_section(section, cls, params.get(section), env)

    cats = values.get("categories", defaults.categories)
    if not cats:
        raise ConfigError("categories must list at least one arXiv category")
    for cat in cats:
        _validate_category(cat)
    _validate_anchor(values.get("window_anchor", defaults.window_anchor),
                     values.get("window_timezone", defaults.window_timezone))

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
        **values,
    )


def load_config(
    *,
    date: Any,
    params_file: str | os.PathLike[str] = DEFAULT_PARAMS_FILE,
    out_dir: str | os.PathLike[str] = "output",
    replay_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The CLI's entry: read and validate a parameter file, then build the config."""
    params = read_params_file(params_file)
    return build_config(date=date, out_dir=out_dir, params=params, replay_dir=replay_dir,
                        params_dir=Path(params_file).resolve().parent, env=env)
