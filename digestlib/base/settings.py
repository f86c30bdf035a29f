"""The settings of one run: one frozen dataclass per parameter section, and ``Config`` holding them all.

These are the parameter reference (each field's default and what it means); ``config.py`` reads a
parameter file or papermill's parameters into them and validates every key. Secrets never enter what a
``Config`` shows or saves: it records only the *name* of the variable holding the API key, and its
``environ`` snapshot is left out of its repr and of :meth:`Config.public_dict`, because the config is
shown in notebooks and reports. :func:`check_api_key` checks the key itself, never showing it.

Must not: read files or the environment (``environment.py`` does), or put a secret's value into
anything shown, stored or rendered.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from .environment import Environment, read_environment, real_now
from .errors import ConfigError
from .redaction import strip_url_credentials

# Absolute, so that `digest` works from any directory (the project's own parameter file is the default).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PARAMS_FILE = PROJECT_ROOT / "parameters" / "cs.SD+eess.AS.yaml"
DEFAULT_POST_SLUG = "arxiv-daily"
# The output language (post labels: labels.py; LLM answers: tasks/prompts.py): Chinese, English, Japanese.
LANGUAGES = ("zh", "en", "ja")


def default_out_dir(params_file: str | os.PathLike[str]) -> Path:
    """``output/`` for the default field's file (``cs.SD+eess.AS.yaml``, wherever it is), ``output/<file
    name>/`` for any other one: each field keeps its own store (ledger, announcements, caches), so two
    fields run on one day never mix, and the default field's folder is the one it always had."""
    path = Path(params_file)
    if path.name == DEFAULT_PARAMS_FILE.name:
        return Path("output")
    return Path("output") / path.name.removesuffix(".yaml").removesuffix(".yml")


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


# fulltext.pdf_engine: auto = PDFium, and pypdf for a PDF PDFium cannot read
PDF_ENGINES = ("auto", "pdfium", "pypdf")


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
    now: dt.datetime = field(default_factory=real_now, compare=False)
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

    def public_dict(self) -> dict[str, object]:
        """The config as plain data, safe to show or store (holds no secret by construction)."""
        data = asdict(self)
        del data["environ"], data["now"], data["llm"]["api_key_set"]  # not parameters (and secrets)
        data["date"] = self.date.isoformat()
        for key in ("out_dir", "glossary_file", "replay_dir"):
            data[key] = str(data[key]) if data[key] is not None else None
        for section, key in (("llm", "base_url"), ("arxiv", "api_url"), ("arxiv", "rss_url"), ("arxiv", "files_url")):
            data[section][key] = strip_url_credentials(data[section][key])  # https://user:pass@host -> ***@host
        return data


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
