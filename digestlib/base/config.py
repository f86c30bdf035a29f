"""Parameters (YAML file, papermill parameters) + environment -> one immutable, validated ``Config``.

This is the one module that reads the process environment (``os.environ``): :func:`build_config` takes
one snapshot of it (:class:`Environment`) and the clock (:func:`read_now`: ``DIGEST_NOW`` or the real
clock), both kept in the ``Config`` and passed from there to whoever needs them (the calendar, the LLM
client, notifications, the review UI). Secrets never enter what a ``Config`` shows or saves: it records
only the *name* of the variable holding the API key, its ``environ`` snapshot is left out of its repr
and of :meth:`Config.public_dict`, because the config is shown in notebooks and reports. The one live
read left is :func:`secret_env_value`, through which the redaction step learns the secrets' values at the
moment it redacts. YAML dates arrive as strings through papermill, so the date is parsed here and nowhere
else.

Must not: do network I/O, or put a secret's value into anything shown, stored or rendered.

Why over 500 lines: one frozen dataclass per parameter section and the validation of each key with its
own message (arXiv's category taxonomy included) belong together: the file is the parameter reference.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .models import is_post_tag
from .errors import ConfigError, UsageError
from .redaction import register_secret_env, strip_url_credentials
from .safe_yaml import YAMLRefused, excerpt, load_yaml_file

# Absolute, so that `digest` works from any directory (the project's own parameter file is the default).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PARAMS_FILE = PROJECT_ROOT / "parameters" / "cs.SD+eess.AS.yaml"
DEFAULT_POST_SLUG = "arxiv-daily"
# The output language (post labels: labels.py; LLM answers: tasks/prompts.py): Chinese, English, Japanese.
LANGUAGES = ("zh", "en", "ja")
UTC = dt.timezone.utc


class Environment(Mapping[str, str]):
    """An immutable snapshot of the process environment, taken once (:func:`read_environment`).

    It holds secrets (the API key, an SMTP password, a webhook URL), so its repr names only how many
    variables it holds, and it is never part of what a config shows or stores."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Environment(<{len(self._values)} variables>)"

    def __deepcopy__(self, memo: dict) -> "Environment":
        return self  # immutable


def read_environment() -> Environment:
    """The process environment, read now, as an immutable snapshot (the only read of ``os.environ``
    besides :func:`secret_env_value`)."""
    return Environment(os.environ)


def secret_env_value(name: str) -> str | None:
    """The current value of the secret variable ``name``: what the redaction step removes from every
    output (read live, because a secret never enters a config object)."""
    return os.environ.get(name)


def read_now(env: Mapping[str, str] | None = None) -> dt.datetime:
    """The run's clock, read once: tz-aware UTC. ``DIGEST_NOW`` (ISO 8601; naive means UTC) fakes it."""
    env = read_environment() if env is None else env
    fake = (env.get("DIGEST_NOW") or "").strip()
    if not fake:
        return dt.datetime.now(UTC)
    try:
        value = dt.datetime.fromisoformat(fake.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"DIGEST_NOW must be an ISO date-time such as 2026-01-22T02:00:00Z, got {fake!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _real_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def default_out_dir(params_file: str | os.PathLike[str]) -> Path:
    """``output/`` for the default field's file (``cs.SD+eess.AS.yaml``, wherever it is), ``output/<file
    name>/`` for any other one: each field keeps its own store (ledger, announcements, caches), so two
    fields run on one day never mix, and the default field's folder is the one it always had."""
    path = Path(params_file)
    if path.name == DEFAULT_PARAMS_FILE.name:
        return Path("output")
    return Path("output") / path.name.removesuffix(".yaml").removesuffix(".yml")

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
    files_url: str = "https://export.arxiv.org"  # arXiv's host for programmatic access (/pdf, /html)
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
    # arXiv's bulk-data guidance for export.arxiv.org ("play nice"): bursts of 4 requests, a 1 s sleep per burst
    requests_per_second: float = 4.0  # on one connection; 0 = no limit
    burst: int = 4  # requests back to back, then a sleep of burst / requests_per_second seconds
    max_retries: int = 3
    abstract_only_after_hours: float = 72.0  # then interpret from the abstract alone, labelled
    workers: int = 0  # extraction processes; 0 = one per core
    top_n: int = 0  # interpret the full text of only the N most relevant papers (0 = all); the rest from the abstract
    pdf_engine: str = "auto"  # auto (PDFium, pypdf when PDFium cannot read a PDF) | pdfium | pypdf


@dataclass(frozen=True)
class LLMSettings:
    base_url: str | None = None  # OPENAI_BASE_URL overrides
    model: str | None = None  # DIGEST_MODEL overrides
    translate_model: str | None = None  # defaults to model
    interpret_model: str | None = None  # defaults to model
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable; the value is read by llm.py only
    concurrency: int = 8
    timeout_seconds: float = 120.0  # the whole of each answer (connect, wait, body), not each read
    max_retries: int = 5
    max_rate_limit_wait_seconds: float = 600.0  # total wait for rate limits per run; a longer ask stops it (75)
    context_tokens: int = 0  # budget of paper text sent for an interpretation; 0 = "auto" (from the context window)
    temperature: float = 0.2
    max_output_tokens: int = 4096
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # model -> {prompt, completion} per 1M tokens
    max_cost_per_day: float = 0.0  # budget of a day's digest in the priced currency (0 = no cap)
    max_tokens_per_day: int = 0  # budget of a day's digest in tokens paid for (0 = no cap)
    # Derived, not a parameter: whether the environment read by build_config held a key (never the key).
    api_key_set: bool = field(default=False, repr=False, compare=False, metadata={"derived": True})

    @property
    def configured(self) -> bool:
        """True when an endpoint is configured; otherwise the run completes offline."""
        return bool(self.base_url) or self.api_key_set

    @property
    def text_budget_tokens(self) -> int:
        """The paper-text budget without asking the server: ``context_tokens``, or for ``auto`` what an 8k
        window leaves (the client refines ``auto`` from the server: ``LLMClient.text_budget_tokens``)."""
        return self.context_tokens or 4000

    def model_for(self, task: str) -> str:
        specific = {"translate": self.translate_model, "interpret": self.interpret_model}.get(task)
        return specific or self.model or "gpt-4o-mini"


@dataclass(frozen=True)
class PublishSettings:
    # true: `digest publish` refuses while a paper awaits a decision; false: publish everything not rejected
    require_review: bool = True


@dataclass(frozen=True)
class WeeklySettings:
    # true: `digest daily` writes the week's post (`digest weekly`) once the week's last announcement day
    # is posted (published, with --site); no LLM call
    after_last_day: bool = False
    # true: one short LLM call writes a 本周概览 paragraph at the top (cached in the store: paid once per week
    # and content); false: the weekly post makes no LLM call at all
    overview: bool = False


@dataclass(frozen=True)
class InterestSettings:
    """The reader's interests: they rank and mark papers (interests.py), they never drop one."""

    keywords: Mapping[str, float] = field(default_factory=dict)  # term -> weight (a list means weight 1 each)
    negative_keywords: Mapping[str, float] = field(default_factory=dict)  # term -> penalty (a list: 1 each)
    authors: tuple[str, ...] = ()  # followed authors, e.g. "Shinji Watanabe"
    author_weight: float = 3.0  # score added per followed author on the paper
    min_score: float = 1.0  # a paper is marked "for you" (★) at this score or above

    @property
    def configured(self) -> bool:
        return bool(self.keywords or self.authors)


NOTIFY_EVENTS = ("publish", "failed", "incomplete")
WEBHOOK_KINDS = ("json", "slack", "feishu", "telegram")
STARTTLS_MODES = ("auto", "required", "off")


@dataclass(frozen=True)
class NotifySettings:
    """Where to say that a digest is out (notify.py). Credentials and webhook URLs (which carry tokens) are
    read from the environment variables named here, never from the parameter file."""

    events: tuple[str, ...] = ("publish",)  # publish, failed, incomplete
    link: str | None = None  # the post's public address; {date} is replaced, e.g. https://me.github.io/{date}
    email_to: tuple[str, ...] = ()
    email_from: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: str = "auto"  # auto: when the server offers it; required: refuse to send without; off
    smtp_username_env: str = "DIGEST_SMTP_USERNAME"
    smtp_password_env: str = "DIGEST_SMTP_PASSWORD"
    webhook_kind: str = "json"  # json | slack | feishu | telegram
    webhook_url_env: str = "DIGEST_WEBHOOK_URL"  # the variable holding the webhook URL (it carries a token)
    telegram_chat_id: str | None = None
    timeout_seconds: float = 10.0


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
    title: str | None = None  # the post's title; "{date}" is replaced (default "arXiv Daily – <date>")
    tags: tuple[str, ...] = ()  # the post's tags (default: arxiv + the categories)
    post_slug: str = DEFAULT_POST_SLUG  # post file name <date>-<post_slug>.md; one per field in a shared site
    language: str = "zh"  # output language: zh (default), en, ja
    replay_dir: Path | None = None
    arxiv: ArxivSettings = field(default_factory=ArxivSettings)
    fulltext: FulltextSettings = field(default_factory=FulltextSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    interests: InterestSettings = field(default_factory=InterestSettings)
    order: str = "listing"  # listing: arXiv's order (the seed's); relevance: the most relevant first
    notify: NotifySettings = field(default_factory=NotifySettings)
    weekly: WeeklySettings = field(default_factory=WeeklySettings)
    # Read once by build_config, not parameters: the run's clock and the environment (secrets: never shown).
    now: dt.datetime = field(default_factory=_real_now, compare=False)
    environ: Environment = field(default_factory=Environment, repr=False, compare=False)

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
        return f"{self.date.isoformat()}-{self.post_slug}.md"

    @property
    def categories_path(self) -> str:
        """The RSS path segment, e.g. ``cs.SD+eess.AS``."""
        return "+".join(self.categories)

    def public_dict(self) -> dict[str, Any]:
        """The config as plain data, safe to show or store (holds no secret by construction)."""
        data = asdict(self)
        del data["environ"], data["now"], data["llm"]["api_key_set"]  # not parameters (and secrets)
        data["date"] = self.date.isoformat()
        for key in ("out_dir", "glossary_file", "replay_dir"):
            data[key] = str(data[key]) if data[key] is not None else None
        for section, key in (("llm", "base_url"), ("arxiv", "api_url"), ("arxiv", "rss_url"), ("arxiv", "files_url")):
            data[section][key] = strip_url_credentials(data[section][key])  # https://user:pass@host -> ***@host
        return data


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
    raise UsageError(f"invalid date {excerpt(value)}: expected YYYY-MM-DD, e.g. 2026-01-22")


def read_params_file(path: str | os.PathLike[str]) -> dict[str, Any]:
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


def _coerce(name: str, value: Any, default: Any) -> Any:
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


def _build_section(section: str, cls: type, given: Any, env: Mapping[str, str]) -> Any:
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


def _interest_lists_as_weights(given: Mapping[str, Any]) -> dict[str, Any]:
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


def _validate_interests(values: dict[str, Any]) -> None:
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


def _validate_notify(values: dict[str, Any]) -> None:
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


PDF_ENGINES = ("auto", "pdfium", "pypdf")  # fulltext.pdf_engine: auto = PDFium, and pypdf for a PDF PDFium cannot read


def _validate_fulltext(values: dict[str, Any]) -> None:
    if values.get("pdf_engine", "auto") not in PDF_ENGINES:
        raise ConfigError(f"fulltext.pdf_engine must be one of {', '.join(PDF_ENGINES)}, got {values['pdf_engine']!r}")


_SECTION_CHECKS = {"interests": _validate_interests, "notify": _validate_notify, "fulltext": _validate_fulltext}


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
        raise ConfigError(f"unknown arXiv category {excerpt(cat)} ({hint})")


def _validate_anchor(anchor: str, tz: str) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", anchor):
        raise ConfigError(f"window_anchor must be HH:MM (24 h), got {excerpt(anchor)}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r} for window_timezone (e.g. Asia/Shanghai)") from None


def _validate_field_keys(values: Mapping[str, Any]) -> None:
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
    env = read_environment() if env is None else Environment(env)
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


_KEY_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")


def check_api_key(settings: LLMSettings, env: Mapping[str, str] | None = None) -> None:
    """Validate the API key before the first call: a key with whitespace or a control character (a
    trailing ``\\r`` from a file saved on Windows, a pasted newline) is refused in one clear line rather
    than sent hundreds of times. The key itself is never shown, only where the bad character sits."""
    env = read_environment() if env is None else env
    key = env.get(settings.api_key_env)
    if not key:
        return
    bad = _KEY_BAD_CHAR.search(key)
    if bad:
        where = "at its end" if bad.start() >= len(key.rstrip()) else (
            "at its start" if bad.start() < len(key) - len(key.lstrip()) else f"at position {bad.start() + 1}")
        raise ConfigError(f"{settings.api_key_env} holds a whitespace or control character "
                          f"(U+{ord(bad.group()):04X}) {where}: set it again without it")
