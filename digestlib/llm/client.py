"""The OpenAI-compatible client: concurrency, retries, structured-output fallback, cache, usage.

This module knows nothing about papers. ``LLMClient.complete`` sends one chat completion and
returns a validated ``Completion``; everything around the HTTP call is ours:

* **retries** (tenacity, the SDK's own are off with ``max_retries=0``): exponential backoff with
  jitter on 429 / 408 / 409 / 5xx / timeouts / connection errors, honouring ``Retry-After``
  (seconds or HTTP-date) and ``retry-after-ms``; a 429 also pauses every other thread until the
  server's ``Retry-After`` has passed, so a rate limit is not hammered by 16 threads at once;
* **structured output**: ``json_schema`` (strict) first; an endpoint that refuses it (400 naming
  response_format / json_schema, 422, "unsupported") is asked for ``json_object`` with the schema
  described in a system message, then plain text; the mode that works is remembered per
  (base_url, model) so later calls skip the refused ones;
* **validation**: ``finish_reason == "length"`` is a retryable ``LLMTruncatedError`` (the next try
  gets a larger ``max_tokens``), malformed JSON is a retryable ``LLMMalformedError``; both carry the
  last ``content`` so a caller can salvage what came back;
* **circuit breaker**: repeated authentication (401/403) or quota (429 ``insufficient_quota``)
  errors raise ``LLMFatalError``, and every later call raises it at once without any HTTP;
* **cache**: a content-addressed key (task, model, prompt version, messages, schema, sampling)
  looked up in an ``LLMCache`` (the store implements it; ``MemoryCache`` for tests); a hit makes no
  HTTP call and is recorded as ``cached=True`` at zero cost;
* **accounting**: ``usage`` of every response is recorded through ``LLMCache.record_call``;
  ``estimate_cost`` prices tokens with ``LLMSettings.prices`` (USD per 1M tokens).

The API key is read from ``env[settings.api_key_env]`` in ``LLMClient.__init__`` (``env`` is
``Config.environ``, the snapshot config.py took; this module never reads the environment itself) and kept
only inside the private SDK client; it never reaches an attribute that is printed, pickled or saved, and
every error message is redacted.

Must not: know about papers, or read the environment. Why over 500 lines: one client and the machinery
it alone uses (limiter, capabilities, modes, cache key); a split into ``llm/`` (client, limiter,
capabilities, cache) is the next step when it grows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

import httpx
import openai
import tenacity

from ..base.config import LLMSettings, check_api_key, read_environment
from .intents import begin_intent
from ..base.errors import (ConfigError, LLMContextOverflowError, LLMError, LLMFatalError, LLMMalformedError,
                     LLMRateLimitedError, LLMRefusalError, LLMTransientError, LLMTruncatedError, redact)
from ..day.spend import estimate_cost
from ..base.http import backoff_wait, enforce_deadline, parse_retry_after

__all__ = [
    "Completion",
    "LLMCache",
    "LLMClient",
    "LLMMalformedError",
    "LLMRefusalError",
    "LLMTransientError",
    "LLMTruncatedError",
    "MemoryCache",
    "MODES",
    "cache_key",
    "estimate_cost",
    "extract_json",
    "parse_retry_after",
]

MODES = ("json_schema", "json_object", "text")  # structured-output modes, best first
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_PLACEHOLDER = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
CACHE_FORMAT = 1  # bump when the cached response layout changes


class AdaptiveLimiter:
    """How many requests may be in flight, adapted AIMD-style to what the server bears.

    Starts at ``ceiling``; an overload signal (a timeout, 429, 503) halves the limit at once; after
    ``limit`` answers in a row it grows by one again, never above ``ceiling``. A one-slot server thus
    ends up with one request at a time instead of a queue that times out.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.in_flight = 0
        self.overloads = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __enter__(self) -> "AdaptiveLimiter":
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def cap(self, ceiling: int) -> None:
        """Never more than ``ceiling`` (the server's slot count, when it tells)."""
        with self._cond:
            self.ceiling = max(1, min(self.ceiling, ceiling))
            self.limit = min(self.limit, self.ceiling)

    def success(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()

    def overload(self) -> None:
        with self._cond:
            self.overloads += 1
            self.limit = max(1, self.limit // 2)
            self._successes = 0


class _ModeRefused(Exception):
    """Internal: the endpoint refused the structured-output mode of this request."""


class _ParamRefused(Exception):
    """Internal: the endpoint refused a sampling parameter (reasoning models: max_tokens, temperature)."""

    def __init__(self, quirk: str) -> None:
        super().__init__(quirk)
        self.quirk = quirk


# ----------------------------------------------------------------------------------------------
# cache protocol and an in-memory implementation


class LLMCache(Protocol):
    """What the client needs from the store (``store.py`` implements it over SQLite)."""

    def cache_get(self, key: str) -> dict | None: ...

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None: ...

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None: ...

    # optional (the client looks it up with getattr): a call that got no usable answer
    # def record_failed_call(self, *, day, task, model, status: str, cause: str, seconds: float) -> None


class MemoryCache:
    """A thread-safe in-memory ``LLMCache`` (tests, benchmarks, throw-away runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.failed_calls: list[dict] = []  # HTTP calls without a usable answer (record_failed_call)

    def cache_get(self, key: str) -> dict | None:
        with self._lock:
            entry = self.entries.get(key)
            return json.loads(json.dumps(entry["response"])) if entry else None

    def cache_put(self, key: str, *, task: str, model: str, response: dict, prompt_tokens: int,
                  completion_tokens: int) -> None:
        with self._lock:
            self.entries[key] = {"task": task, "model": model, "response": json.loads(json.dumps(response)),
                                 "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}

    def record_call(self, *, day: str, task: str, model: str, prompt_tokens: int, completion_tokens: int,
                    cached: bool, seconds: float) -> None:
        with self._lock:
            self.calls.append({"day": day, "task": task, "model": model, "prompt_tokens": prompt_tokens,
                               "completion_tokens": completion_tokens, "cached": cached, "seconds": seconds})

    def record_failed_call(self, *, day: str, task: str, model: str, status: str, cause: str,
                           seconds: float) -> None:
        with self._lock:
            self.failed_calls.append({"day": day, "task": task, "model": model, "status": status,
                                      "cause": cause, "seconds": seconds})


# ----------------------------------------------------------------------------------------------
# plain helpers


@dataclass(frozen=True)
class Completion:
    """One validated answer. ``parsed`` is the JSON object when a schema was given."""

    content: str
    parsed: dict | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    cached: bool
    mode: str  # "json_schema", "json_object", "text" (the mode that produced it)
    seconds: float = 0.0  # wall time of the HTTP attempts (0 for a cache hit)
    key: str = ""  # the cache key


def cache_key(*, task: str, model: str, prompt_version: str, messages: Sequence[Mapping[str, Any]],
              schema: Mapping[str, Any] | None, temperature: float | None, max_tokens: int | None) -> str:
    """Content address of a request: sha256 over everything that shapes the answer."""
    payload = {
        "v": CACHE_FORMAT,
        "task": task,
        "model": model,
        "prompt_version": prompt_version,
        "messages": [{"role": m.get("role"), "content": m.get("content")} for m in messages],
        "schema": schema,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# Hosted providers whose model names are unambiguous: ``llm.model: deepseek-chat`` with no base URL means
# DeepSeek, not OpenAI (OPENAI_BASE_URL / llm.base_url still win).
PROVIDER_BASE_URLS = {
    "deepseek-": "https://api.deepseek.com/v1",
    "qwen-": "https://dashscope.aliyuncs.com/compatible-mode/v1",
}


def default_base_url(model: str) -> str:
    """The endpoint a model name implies when none is configured (OpenAI's for anything else)."""
    for prefix, url in PROVIDER_BASE_URLS.items():
        if model.startswith(prefix):
            return url
    return DEFAULT_BASE_URL


_FENCE_RE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_THINK_CLOSE_RE = re.compile(r"</think>", re.I)
_THINK_OPEN_RE = re.compile(r"<think>", re.I)


def strip_thinking(content: str) -> str:
    """The answer without the model's reasoning: every ``<think>...</think>`` block, everything before a
    lone ``</think>`` (DeepSeek-R1 and Qwen3 chat templates open the block in the prompt, so the answer
    holds only its end), and an unclosed ``<think>`` to the end (reasoning cut by the token limit)."""
    text = _THINK_BLOCK_RE.sub("", content or "")
    closes = list(_THINK_CLOSE_RE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    opened = _THINK_OPEN_RE.search(text)
    if opened:
        text = text[:opened.start()]
    return text.lstrip()


def extract_json(content: str) -> dict | None:
    """The JSON object in ``content`` (bare, fenced, or surrounded by prose), or ``None``."""
    text = strip_thinking(content).strip()
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    for candidate in (text, text[text.find("{"): text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _schema_problem(parsed: dict, schema: Mapping[str, Any]) -> str | None:
    """A light check of required keys and string types (servers in json_object/text mode don't enforce)."""
    props = schema.get("properties") or {}
    for key in schema.get("required") or ():
        if key not in parsed:
            return f"missing key {key!r}"
        if (props.get(key) or {}).get("type") == "string" and not isinstance(parsed[key], str):
            return f"key {key!r} is not a string"
    return None


_MODE_WORDS_RE = re.compile(r"response[_ ]?format|json[_ ]?schema|json[_ ]?object|structured[_ ]output|"
                            r"guided[_ ]json|grammar|gbnf", re.I)
# "maximum context length is 8192 tokens" (OpenAI, vLLM, llama-cpp-python), "exceed context window of 2048"
# (llama-cpp-python), "exceeds the available context size" (llama.cpp's server, with n_ctx in the body)
_OVERFLOW_RE = re.compile(r"context[_ ]length[_ ]exceeded|maximum context length|exceeds? (?:the )?context window|"
                          r"exceeds? the available context size|exceed_context_size|prompt is too long|"
                          r"context size has been exceeded", re.I)
_WINDOW_RE = re.compile(r"(?:maximum context length is|context window of|\"n_ctx\"\s*:)\s*(\d+)", re.I)

# Context windows of hosted models (tokens) for ``context_tokens: auto`` when the server does not tell.
KNOWN_CONTEXT_WINDOWS = {
    "deepseek-chat": 131072, "deepseek-reasoner": 131072, "gpt-4o": 128000, "gpt-4o-mini": 128000,
    "gpt-4.1": 1047576, "gpt-4.1-mini": 1047576, "qwen-plus": 131072, "qwen-max": 32768, "qwen-turbo": 1000000,
}
DEFAULT_CONTEXT_WINDOW = 8192  # what a local server most often runs with when nothing tells us more
# Tokens of paper text at most with ``auto`` (a huge window is no reason to pay more): with the section shares of
# fulltext/budget.py this keeps what the three parts use at about 60 % of the seed script's prompt tokens;
# an explicit ``llm.context_tokens`` is taken as given.
AUTO_BUDGET_CAP = 4500
_GENERIC_REFUSAL_RE = re.compile(r"not supported|unsupported|not implemented|unknown (?:field|parameter|argument)|"
                                 r"extra (?:inputs|fields)", re.I)
_OTHER_PARAMS_RE = re.compile(r"temperature|max_tokens|max_completion_tokens|top_p|\bmodel\b", re.I)

_DROP_ERRORS = frozenset({"RemoteProtocolError", "ReadError", "WriteError"})
SERVER_STOPPED_FIX = "check the server (is it still running? its log says why it stopped); the next run resumes"


def _dropped_mid_request(cause: BaseException | None) -> bool:
    """The server accepted the connection and then closed or reset it before a full answer (a crash, a
    restart, a proxy giving up): unlike a refusal, proof that the URL reached a server."""
    if isinstance(cause, (ConnectionResetError, BrokenPipeError)):
        return True
    # by name: the SDK's transport is httpx or its fork httpx2, whose classes are not httpx's
    return cause is not None and any(kind.__name__ in _DROP_ERRORS for kind in type(cause).__mro__)


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part (a proxy or gateway login someone put in OPENAI_BASE_URL)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return re.sub(r"//[^/@]*@", "//", url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


def _is_api_answer(response: Any) -> bool:
    """Whether a 200 answer is a chat completion at all: openai hands back a body it cannot read as JSON
    (an HTML page) as a plain string, and one without ``choices`` as an object without them."""
    if isinstance(response, (str, bytes)):
        return False
    return isinstance(getattr(response, "choices", None), list)


def _redactor(secret: str) -> Callable[[str], str]:
    if len(secret) < 4:
        return lambda text: text
    return lambda text: text.replace(secret, "***")


T = TypeVar("T")
R = TypeVar("R")


class _CallState:
    """Per-call mutable state shared by the attempts of one ``complete``."""

    def __init__(self, mode: str, max_tokens: int) -> None:
        self.mode = mode
        self.max_tokens = max_tokens
        self.shape_failures = 0  # truncated / malformed answers so far
        self.auth_failures = 0
        self.seconds = 0.0


# ----------------------------------------------------------------------------------------------
# the client


class LLMClient:
    """A thread-safe OpenAI-compatible chat client with our retries, fallback, breaker and cache.

    ``complete`` may be called from many threads; at most ``settings.concurrency`` requests are in
    flight at once (sleeping between retries does not hold a slot).
    """

    fatal_threshold = 2  # consecutive auth/quota/unknown-model failures that trip the breaker
    unreachable_threshold = 3  # consecutive connection (refused, DNS, TLS) failures that trip it
    timeout_threshold = 4  # answers in a row not whole within llm.timeout_seconds, each sent alone (hung or dripping)
    not_api_threshold = 3  # consecutive answers that are not the API's JSON (an HTML page, a wrong type)
    shape_retries = 2  # extra tries for truncated / malformed answers (within settings.max_retries)
    truncation_retry_answers = 8  # a run's retries after finish_reason "length" bill at most this many
    #                               answers' worth of tokens (x max_output_tokens), then are not made

    def __init__(self, settings: LLMSettings, cache: LLMCache, *, env: Mapping[str, str] | None = None,
                 day: str = "", backoff_initial: float = 1.0, backoff_max: float = 30.0,
                 retry_after_cap: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 http_client: Any = None) -> None:
        self.settings = settings
        self.cache = cache
        self.day = day
        full_url = (settings.base_url or default_base_url(settings.model_for("interpret"))).rstrip("/")
        # what is shown, stored (llm_capabilities) and keyed on: the URL without any user:password in it;
        # only the private SDK client below gets the URL as given
        self.base_url = without_credentials(full_url)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
        env = read_environment() if env is None else env  # callers pass Config.environ
        key = env.get(settings.api_key_env) or ""
        check_api_key(settings, env)  # no whitespace or control character: refused before the first call
        if not key and not settings.base_url:
            raise ConfigError(f"no API key: set {settings.api_key_env} (or llm.base_url for a local server)")
        self._redact_key = _redactor(key)  # holds the key in a closure: nothing to print or pickle
        # The only place the key lives: the private SDK client (which sends it as a Bearer token).
        # llm.timeout_seconds bounds each whole answer (connect, wait, body), not each read: a server
        # dripping its answer a byte a second costs one timeout (digestlib.base.http.enforce_deadline)
        # (openai accepts an ``httpx.Client``; its own default is an ``httpx2`` one, which this cannot wrap)
        http_client = enforce_deadline(http_client or httpx.Client(
            timeout=settings.timeout_seconds, follow_redirects=True,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100)), settings.timeout_seconds)
        self._openai = openai.OpenAI(base_url=full_url, api_key=key or KEY_PLACEHOLDER,
                                     timeout=settings.timeout_seconds, max_retries=0, http_client=http_client)
        self.limiter = AdaptiveLimiter(settings.concurrency)  # in-flight requests, adapted to the server
        self._lock = threading.Lock()
        self._modes: dict[tuple[str, str], int] = {}  # (base_url, model) -> index into MODES that works
        # Until one structured request has succeeded, they go one at a time, so that a server refusing
        # json_schema is asked once, not once per request already waiting for a slot.
        self._mode_known: set[tuple[str, str]] = set()
        self._probe_locks: dict[tuple[str, str], threading.Lock] = {}
        self._quirks: dict[tuple[str, str], frozenset[str]] = {}  # parameters the model refuses
        self._fatal: LLMFatalError | None = None
        self._consecutive_fatal = 0
        self._consecutive_unreachable = 0
        # Whether this endpoint was reached in this run (it answered, or accepted a request and then dropped
        # it): refusals after that mean the server stopped (crashed, restarted), not a wrong URL.
        self._answered = False
        self._dropped = False
        self._rate_limit_waited = 0.0  # seconds of Retry-After pauses this run (llm.max_rate_limit_wait_seconds)
        self._strikes: dict[str, int] = {}  # "timeout" / "not_api": such answers in a row, reset by a good one
        self._known_models: set[str] = set()  # models whose remembered capabilities were loaded
        self.context_window: int | None = None  # tokens, when found (parameter, server, table, overflow error)
        self._pause_until = 0.0
        self._stats = {"http_calls": 0, "cache_hits": 0, "retries": 0, "errors": 0,
                       "prompt_tokens": 0, "completion_tokens": 0, "fallbacks": 0, "timeouts": 0,
                       "truncated_tokens": 0, "truncation_retries_refused": 0}

    # -- presentation: never the key
    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.base_url!r}, concurrency={self.settings.concurrency})"

    def __reduce__(self) -> Any:  # pragma: no cover - guard
        raise TypeError("LLMClient holds a secret and cannot be pickled")

    def close(self) -> None:
        self._openai.close()

    def __enter__(self) -> "LLMClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public state
    @property
    def fatal_error(self) -> LLMFatalError | None:
        """The error that tripped the breaker, or ``None``."""
        return self._fatal

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def mode_for(self, model: str) -> str:
        """The structured-output mode this client currently uses for ``model``."""
        self._load_capabilities(model)
        with self._lock:
            return MODES[self._modes.get((self.base_url, model), 0)]

    def structured_mode_known(self, model: str) -> bool:
        """Whether a structured request to ``model`` here has been answered (in this run or, from the
        store, an earlier one). Until then such requests go one at a time (``_discovering_mode``); a caller
        with other work should give the free slots to that work meanwhile."""
        self._load_capabilities(model)
        with self._lock:
            return (self.base_url, model) in self._mode_known

    def model_for(self, task: str) -> str:
        return self.settings.model_for(task)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        return estimate_cost(model, prompt_tokens, completion_tokens, self.settings.prices)

    def discover(self, model: str | None = None) -> dict[str, Any]:
        """Ask the server what it is, once per run (two small GETs, failures ignored: the first real call
        tells): llama.cpp's ``/props`` (``n_ctx``, ``total_slots``), vLLM's ``/v1/models``
        (``max_model_len``), else a table of hosted models. Caps the concurrency at the slot count and
        sets the context window used by ``context_tokens: auto``. Returns what was found."""
        model = model or self.settings.model_for("interpret")
        self._load_capabilities(model)
        found: dict[str, Any] = {}
        root = re.sub(r"/v\d+$", "", self.base_url)
        props = self._get_json(root + "/props")
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            n_ctx = (settings or {}).get("n_ctx") if isinstance(settings, dict) else None
            n_ctx = n_ctx or props.get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                found["context_window"] = n_ctx
            slots = props.get("total_slots")
            if isinstance(slots, int) and slots > 0:
                found["slots"] = slots
        models = self._get_json(self.base_url + "/models")
        if isinstance(models, dict) and isinstance(models.get("data"), list):
            ids = [m.get("id") for m in models["data"] if isinstance(m, dict)]
            found["models"] = [i for i in ids if isinstance(i, str)]
            for entry in models["data"]:
                if isinstance(entry, dict) and entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
                    found.setdefault("context_window", entry["max_model_len"])
        if "context_window" not in found:
            known = [name for name in KNOWN_CONTEXT_WINDOWS if model.startswith(name)]
            if known:
                found["context_window"] = KNOWN_CONTEXT_WINDOWS[max(known, key=len)]
        if "context_window" in found:
            self.remember_context_window(model, int(found["context_window"]))
        if "slots" in found:
            self.limiter.cap(int(found["slots"]))
            self._persist(model, "slots", found["slots"])
        return found

    def _get_json(self, url: str) -> Any:
        try:
            return self._openai.get(url, cast_to=object, options={"timeout": min(10.0, self.settings.timeout_seconds)})
        except (openai.OpenAIError, ValueError, TypeError):
            return None

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T],
                       progress: Callable[[int, int], None] | None = None, *, workers: int | None = None) -> list[R]:
        """``[fn(x) for x in items]`` on ``workers`` threads (default: the concurrency), in input order.

        ``progress(done, total)`` is called after each item. An exception from ``fn`` is raised after
        the items already running have finished (no new items start).
        """
        items = list(items)
        total = len(items)
        results: list[Any] = [None] * total
        if not items:
            return []
        done = 0
        first_error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=workers or max(1, self.settings.concurrency),
                                thread_name_prefix="llm") as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised below
                    if first_error is None:
                        first_error = exc
                        for other in futures:
                            other.cancel()
                done += 1
                if progress is not None:
                    progress(done, total)
        if first_error is not None:
            raise first_error
        return results

    # -- the call
    def complete(self, task: str, messages: list[dict], *, model: str | None = None, schema: dict | None = None,
                 schema_name: str = "", max_tokens: int | None = None, prompt_version: str = "",
                 accept: Callable[[Completion], bool] | None = None) -> Completion:
        """One chat completion, cached, retried and validated.

        ``accept`` (optional) decides whether an answer may enter the cache: a caller that validates
        the content (language, numbers) passes its check so a rejected answer is asked again next run
        instead of being served from the cache forever; a cached answer it rejects is ignored.
        """
        self._check_breaker()
        model = model or self.settings.model_for(task)
        self._load_capabilities(model)
        max_tokens = max_tokens or self.output_tokens()
        key = cache_key(task=task, model=model, prompt_version=prompt_version, messages=messages, schema=schema,
                        temperature=self.settings.temperature, max_tokens=max_tokens)
        hit = self._from_cache(key, task, model, accept)
        if hit is not None:
            return hit

        state = _CallState(self.mode_for(model) if schema else "text", max_tokens)
        retrying = tenacity.Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(LLMTransientError),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        intent = begin_intent(self.cache, key, day=self.day, task=task, model=model)  # before it is sent
        try:
            completion = retrying(self._attempt, task, model, messages, schema, schema_name, state, key)
        except LLMError as exc:
            intent.end()
            with self._lock:
                self._stats["errors"] += 1
            if self._fatal is not None and not isinstance(exc, LLMFatalError):
                raise self._fatal from None  # the breaker tripped while this call was retrying
            raise exc from None
        if accept is None or accept(completion):
            response = {"content": completion.content, "parsed": completion.parsed,
                        "finish_reason": completion.finish_reason, "model": completion.model, "mode": completion.mode}
            self.cache.cache_put(key, task=task, model=model, response=response,
                                 prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens)
        intent.end()  # only once the answer is stored: a kill before this re-sends the call (SECURITY.md)
        return completion

    def cache_answer(self, key: str, task: str, completion: Completion) -> None:
        """Store ``completion`` under another request's ``key`` too: an answer accepted after a repair turn
        then serves the first request next time, so a finished day re-runs with no call."""
        if not key:
            return
        response = {"content": completion.content, "parsed": completion.parsed,
                    "finish_reason": completion.finish_reason, "model": completion.model, "mode": completion.mode}
        self.cache.cache_put(key, task=task, model=completion.model, response=response, prompt_tokens=0,
                             completion_tokens=0)

    # -- internals
    def _redact(self, text: str) -> str:
        return self._redact_key(redact(text))

    def _check_breaker(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    def _record_failure(self, task: str, model: str, status: str, cause: str, started: float) -> None:
        """Account for an HTTP call that got no usable answer (the report's usage table shows them):
        through the cache's optional ``record_failed_call``; the cause redacted and cut short."""
        record = getattr(self.cache, "record_failed_call", None)
        if record is not None:
            record(day=self.day, task=task, model=model, status=status, cause=self._redact(cause)[:200],
                   seconds=round(time.monotonic() - started, 3))

    def _from_cache(self, key: str, task: str, model: str, accept: Callable[[Completion], bool] | None) -> Completion | None:
        response = self.cache.cache_get(key)
        if not response:
            return None
        try:
            completion = Completion(content=str(response.get("content", "")), parsed=response.get("parsed"),
                                    finish_reason=str(response.get("finish_reason", "stop")), prompt_tokens=0,
                                    completion_tokens=0, model=model, cached=True,
                                    mode=str(response.get("mode", "text")), seconds=0.0, key=key)
        except (AttributeError, TypeError):
            return None
        if accept is not None and not accept(completion):
            return None
        with self._lock:
            self._stats["cache_hits"] += 1
        self.cache.record_call(day=self.day, task=task, model=model, prompt_tokens=0, completion_tokens=0,
                               cached=True, seconds=0.0)
        return completion

    def _stop(self, retry_state: tenacity.RetryCallState) -> bool:
        if self._fatal is not None:
            return True
        if retry_state.attempt_number > self.settings.max_retries:
            return True
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        state: _CallState = retry_state.args[5]
        if isinstance(exc, (LLMTruncatedError, LLMMalformedError)) and state.shape_failures > self.shape_retries:
            return True
        if isinstance(exc, LLMTruncatedError):
            with self._lock:
                spent = self._stats["truncated_tokens"]
                if spent >= self.truncation_retry_tokens:  # the run's tokens for cut answers are spent
                    self._stats["truncation_retries_refused"] += 1
                    return True
        return False

    @property
    def truncation_retry_tokens(self) -> int:
        """The most completion tokens a run bills for answers cut at the token limit before it stops asking
        again after one (every call's first try is still made)."""
        return self.truncation_retry_answers * max(1, self.settings.max_output_tokens)

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, (LLMTruncatedError, LLMMalformedError)):
            return 0.0  # the answer came; asking again needs no backoff
        # jitter: 50-100 % of the backoff step; the server's wish capped, plus a little (never shorter than asked)
        return backoff_wait(retry_state.attempt_number, initial=self.backoff_initial, maximum=self.backoff_max,
                            retry_after=getattr(exc, "retry_after", None), retry_after_cap=self.retry_after_cap,
                            jitter=True)

    def _count_retry(self, retry_state: tenacity.RetryCallState) -> None:
        with self._lock:
            self._stats["retries"] += 1

    def _remember_mode(self, model: str, mode: str) -> None:
        with self._lock:
            index = MODES.index(mode)
            changed = index > self._modes.get((self.base_url, model), 0)
            if changed:
                self._modes[(self.base_url, model)] = index
                self._stats["fallbacks"] += 1
        if changed:
            self._persist(model, "mode", mode)

    def _persist(self, model: str, name: str, value: Any) -> None:
        """Remember a capability in the store (when the cache is one) so later runs need not rediscover it."""
        put = getattr(self.cache, "capability_put", None)
        if put is not None:
            put(self.base_url, model, name, str(value))

    def _load_capabilities(self, model: str) -> None:
        """What earlier runs found about this endpoint and model (structured-output mode, context window)."""
        with self._lock:
            if model in self._known_models:
                return
            self._known_models.add(model)
        get = getattr(self.cache, "capability_get", None)
        found = get(self.base_url, model) if get is not None else {}
        with self._lock:
            if found.get("mode") in MODES:
                index = MODES.index(found["mode"])
                self._modes[(self.base_url, model)] = max(index, self._modes.get((self.base_url, model), 0))
                self._mode_known.add((self.base_url, model))
            if str(found.get("context_window", "")).isdigit() and not self.settings.context_tokens:
                window = int(found["context_window"])
                self.context_window = min(self.context_window or window, window)

    def remember_context_window(self, model: str, window: int) -> None:
        """The model's context window in tokens (from the server, a table, or an overflow error)."""
        with self._lock:
            self.context_window = min(self.context_window or window, window)
        self._persist(model, "context_window", window)

    def text_budget_tokens(self) -> int:
        """Tokens of paper text an interpretation may send: ``llm.context_tokens`` when set, else what the
        context window leaves after the instructions and the answer (``auto``)."""
        if self.settings.context_tokens:
            budget = self.settings.context_tokens
            if self.context_window:  # an overflow taught us the window is smaller than the setting assumed
                budget = min(budget, max(500, self.context_window - self.output_tokens() - 1500))
            return budget
        window = self.context_window or DEFAULT_CONTEXT_WINDOW
        output = min(self.output_tokens(), max(512, window // 4))
        return max(500, min(AUTO_BUDGET_CAP, window - output - 1500))

    def output_tokens(self) -> int:
        """``max_output_tokens``, but never more than a quarter of a known small context window."""
        cap = self.settings.max_output_tokens
        if self.context_window and self.context_window <= 32768:
            cap = min(cap, max(512, self.context_window // 4))
        return cap

    def _count_unreachable(self, exc: BaseException) -> None:
        """Connection refused, DNS, TLS, a malformed header: a few in a row trip the breaker."""
        cause = exc.__cause__ or exc.__context__
        detail = f"{cause.__class__.__name__}: {cause}" if cause is not None else str(exc)
        lowered = detail.lower()
        if "header" in lowered or "protocolerror" in lowered and "illegal" in lowered:
            what = f"the API key cannot be sent to LLM endpoint {self.base_url} (it holds whitespace or a control character)"
            fix, immediate = "check OPENAI_API_KEY (no trailing newline or \\r)", True
        elif "name or service not known" in lowered or "nodename" in lowered or "getaddrinfo" in lowered \
                or "name resolution" in lowered:
            what, fix, immediate = f"LLM endpoint {self.base_url}: the host name does not resolve (DNS)", \
                "check OPENAI_BASE_URL", False
        elif "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
            what, fix, immediate = f"LLM endpoint {self.base_url}: the TLS handshake failed", \
                "check OPENAI_BASE_URL (http or https?) and the server's certificate", False
        elif _dropped_mid_request(cause):
            with self._lock:
                self._dropped = True
            what = (f"LLM endpoint {self.base_url} stopped answering: it closed the connection before a full "
                    "answer (the server crashed or restarted, or a proxy cut the request)")
            fix, immediate = SERVER_STOPPED_FIX, False
        elif "refused" in lowered:
            with self._lock:
                reached, dropped = self._answered or self._dropped, self._dropped
            if reached:
                before = "dropped a request mid-answer" if dropped else "answered earlier in this run"
                what = (f"LLM endpoint {self.base_url} stopped answering: it {before} and now refuses "
                        "connections (the server crashed or restarted)")
                fix, immediate = SERVER_STOPPED_FIX, False
            else:
                what, fix, immediate = (f"LLM endpoint {self.base_url} refused the connection", "check OPENAI_BASE_URL",
                                        False)
        else:
            what, fix, immediate = f"LLM endpoint {self.base_url} is unreachable", "check OPENAI_BASE_URL", False
        with self._lock:
            self._consecutive_unreachable += 1
            if (immediate or self._consecutive_unreachable >= self.unreachable_threshold) and self._fatal is None:
                self._fatal = LLMFatalError(what, cause="unreachable", base_url=self.base_url, fix=fix)
            fatal = self._fatal
        if fatal is not None:
            raise fatal from None

    def _budget_rate_limit_wait(self, retry_after: float) -> None:
        """Count a server's ``Retry-After`` against the run's total wait for rate limits
        (``llm.max_rate_limit_wait_seconds``); one that does not fit stops the run at once
        (``LLMRateLimitedError``, exit 75, with the time to retry) instead of waiting it out."""
        budget = self.settings.max_rate_limit_wait_seconds
        with self._lock:
            now = time.monotonic()
            added = max(0.0, now + retry_after - max(self._pause_until, now))  # overlapping pauses count once
            if self._fatal is None and self._rate_limit_waited + added > budget:
                when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=retry_after)
                self._fatal = LLMRateLimitedError(
                    f"LLM endpoint {self.base_url} is rate limited and asks to wait {retry_after:.0f} s (until "
                    f"{when:%Y-%m-%d %H:%M} UTC), more than this run may wait "
                    f"({max(0.0, budget - self._rate_limit_waited):.0f} s of llm.max_rate_limit_wait_seconds "
                    f"left)", retry_at=when, base_url=self.base_url,
                    fix=f"run again after {when:%Y-%m-%d %H:%M} UTC")
            elif self._fatal is None:
                self._rate_limit_waited += added
            fatal = self._fatal
        if fatal is not None:
            raise fatal from None

    def _strike(self, kind: str, what: str, fix: str) -> None:
        """One more answer of this ``kind`` in a row ("timeout", "not_api"); enough of them trip the breaker
        (``LLMFatalError`` with that cause): a day against an endpoint that cannot answer ends soon."""
        threshold = self.timeout_threshold if kind == "timeout" else self.not_api_threshold
        with self._lock:
            self._strikes[kind] = self._strikes.get(kind, 0) + 1
            if self._strikes[kind] >= threshold and self._fatal is None:
                self._fatal = LLMFatalError(what, cause=kind, base_url=self.base_url, fix=fix)
            fatal = self._fatal
        if fatal is not None:
            raise fatal from None

    def _strike_not_api(self) -> None:
        self._strike("not_api", f"LLM endpoint {self.base_url} does not answer as an OpenAI-compatible API "
                     f"(an HTML page or another content type, {self.not_api_threshold} times in a row)",
                     "check OPENAI_BASE_URL (it usually ends in /v1) and that no login or bot wall is in front of it")

    def _wait_for_pause(self) -> None:
        while True:
            with self._lock:
                remaining = self._pause_until - time.monotonic()
            if remaining <= 0:
                return
            self._sleep(min(remaining, 1.0))
            self._check_breaker()

    def _attempt(self, task: str, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                 state: _CallState, key: str) -> Completion:
        self._check_breaker()
        self._wait_for_pause()
        for _ in range(8):  # loops only to step down the structured-output mode or drop refused parameters
            try:
                return self._request(task, model, messages, schema, schema_name, state, key)
            except _ParamRefused as refused:
                with self._lock:
                    quirks = self._quirks.get((self.base_url, model), frozenset())
                    self._quirks[(self.base_url, model)] = quirks | {refused.quirk}
            except _ModeRefused:
                index = MODES.index(state.mode)
                if index + 1 >= len(MODES):
                    raise LLMError("the endpoint refused the request even in plain-text mode") from None
                state.mode = MODES[index + 1]
                self._remember_mode(model, state.mode)
        raise LLMError("the endpoint kept refusing the request parameters")

    def _build_request(self, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                       state: _CallState) -> dict[str, Any]:
        with self._lock:
            quirks = self._quirks.get((self.base_url, model), frozenset())
            known = self._modes.get((self.base_url, model), 0)
        if schema is not None and MODES.index(state.mode) < known:
            # another request found the mode refused while this one waited for a slot: don't ask again
            state.mode = MODES[known]
        request: dict[str, Any] = {"model": model}
        if "no_temperature" not in quirks:
            request["temperature"] = self.settings.temperature
        request["max_completion_tokens" if "max_completion_tokens" in quirks else "max_tokens"] = state.max_tokens
        msgs = [dict(m) for m in messages]
        if schema is not None:
            name = re.sub(r"[^A-Za-z0-9_-]", "_", schema_name or "answer")[:64]
            if state.mode == "json_schema":
                request["response_format"] = {"type": "json_schema",
                                              "json_schema": {"name": name, "schema": schema, "strict": True}}
            else:
                if state.mode == "json_object":
                    request["response_format"] = {"type": "json_object"}
                described = ("Reply with only one JSON object (no code fences, no text around it) that matches "
                             "this JSON Schema:\n" + json.dumps(schema, ensure_ascii=False))
                msgs.append({"role": "system", "content": described})
        request["messages"] = msgs
        return request

    @contextmanager
    def _discovering_mode(self, model: str, schema: dict | None) -> Iterator[None]:
        """While no structured request to this endpoint and model has been answered yet, structured requests
        go one at a time (the others wait without holding a slot): a server refusing json_schema is asked
        once, not once per request already waiting (the others then send the mode the first one found)."""
        where = (self.base_url, model)
        if schema is None or where in self._mode_known:
            yield
            return
        with self._lock:
            probe = self._probe_locks.setdefault(where, threading.Lock())
        probe.acquire()
        if where in self._mode_known:  # found by the request this one waited for: go at once, unserialised
            probe.release()
            yield
            return
        try:
            yield  # an exception (a refusal, a timeout) leaves the mode unknown for the next one
            with self._lock:
                self._mode_known.add(where)
                mode = MODES[self._modes.get(where, 0)]
            self._persist(model, "mode", mode)  # later runs start with the mode that answered
        finally:
            probe.release()

    def _request(self, task: str, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                 state: _CallState, key: str) -> Completion:
        started = time.monotonic()
        # waiting for the mode probe holds no slot: other requests use it meanwhile
        with self._discovering_mode(model, schema), self.limiter:
            request = self._build_request(model, messages, schema, schema_name, state)  # the mode known now
            self._check_breaker()
            # a timeout counts against the endpoint only for a request that had it to itself: one queued
            # behind others on a one-slot server (llama.cpp) is a reason to send fewer, not a hung server
            alone = self.limiter.in_flight <= 1
            with self._lock:
                self._stats["http_calls"] += 1
            try:
                response = self._openai.chat.completions.create(**request, timeout=self.settings.timeout_seconds)
            except openai.APIStatusError as exc:
                state.seconds += time.monotonic() - started
                with self._lock:
                    self._answered = True
                self._record_failure(task, model, f"HTTP {exc.status_code}", str(exc.message), started)
                self._handle_status_error(exc, state, schema, model)
                raise AssertionError("unreachable")  # pragma: no cover
            except openai.APITimeoutError:
                state.seconds += time.monotonic() - started
                self._record_failure(task, model, "timeout",
                                     f"no answer within {self.settings.timeout_seconds:g} s", started)
                self.limiter.overload()  # the server is slower than we ask of it: fewer at once
                with self._lock:
                    self._stats["timeouts"] += 1
                if alone:
                    self._strike("timeout", f"LLM endpoint {self.base_url} gave no whole answer within "
                                 f"{self.settings.timeout_seconds:g} s, {self.timeout_threshold} times in a row",
                                 "check the server (is it overloaded or stuck?) or raise llm.timeout_seconds")
                raise LLMTransientError(f"request timed out after {self.settings.timeout_seconds:g} s") from None
            except openai.APIConnectionError as exc:
                state.seconds += time.monotonic() - started
                # a refused connection sent nothing (not a request the summary counts); a dropped one was sent
                status = "dropped" if _dropped_mid_request(exc.__cause__) else "unreachable"
                self._record_failure(task, model, status, f"connection error: {exc.__class__.__name__}", started)
                self._count_unreachable(exc)
                raise LLMTransientError(self._redact(f"connection error: {exc.__class__.__name__}")) from None
            except (openai.APIResponseValidationError, ValueError, TypeError) as exc:
                state.seconds += time.monotonic() - started
                self._record_failure(task, model, "bad response", f"unreadable response: {exc.__class__.__name__}",
                                     started)
                state.shape_failures += 1
                self._strike_not_api()
                raise LLMMalformedError(f"unreadable response: {exc.__class__.__name__}") from None
            if not _is_api_answer(response):  # a 200 that is not the API's JSON (a bot wall, a login page)
                state.seconds += time.monotonic() - started
                self._record_failure(task, model, "bad response", "the answer is not the API's JSON", started)
                state.shape_failures += 1
                self._strike_not_api()
                raise LLMMalformedError("the answer is not the API's JSON") from None
        seconds = time.monotonic() - started
        state.seconds += seconds
        with self._lock:
            self._consecutive_fatal = 0
            self._consecutive_unreachable = 0
            self._answered = True
            self._strikes.clear()
        self.limiter.success()
        return self._read_response(response, task, model, schema, state, key, seconds)

    def _handle_status_error(self, exc: openai.APIStatusError, state: _CallState, schema: dict | None,
                             model: str) -> None:
        status = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        code = str(body.get("code") or exc.code or "")
        text = self._redact(f"{exc.message} {json.dumps(body, ensure_ascii=False)[:500]}")
        headers = dict(exc.response.headers) if exc.response is not None else {}
        short = self._redact(str(body.get("message") or exc.message))[:300]
        quota = status == 429 and ("insufficient_quota" in code or "insufficient_quota" in text)
        if status in (401, 403, 404) or quota:
            if quota:
                kind, cause, what = "quota exhausted", "quota", f"LLM endpoint {self.base_url} says the quota is exhausted"
                fix = "top up the account or wait for the quota to reset"
            elif status == 404:
                kind, cause = "unknown model", "model"
                what = f"LLM endpoint {self.base_url} does not know the model {model!r} (HTTP 404)"
                fix = "check DIGEST_MODEL / llm.model and OPENAI_BASE_URL (it usually ends in /v1)"
            else:
                kind, cause = "authentication failed", "auth"
                what = f"LLM endpoint {self.base_url} refused the API key (HTTP {status})"
                fix = "check OPENAI_API_KEY"
            with self._lock:
                self._consecutive_fatal += 1
                tripped = self._consecutive_fatal >= self.fatal_threshold
                if tripped and self._fatal is None:
                    self._fatal = LLMFatalError(f"{what}: {short}", cause=cause, base_url=self.base_url, fix=fix)
            if tripped:
                raise self._fatal from None
            if status == 404:  # not retried: the next call tells whether the model is really unknown
                raise LLMError(f"HTTP 404 from {self.base_url}: {short}") from None
            # once more, soon: a gateway can flap; a second failure trips the breaker
            raise LLMTransientError(f"{kind} (HTTP {status}): {short}", retry_after=0.0, status=status) from None
        if status in (400, 413, 422, 500) and _OVERFLOW_RE.search(text):
            window = _WINDOW_RE.search(text)
            if window:
                self.remember_context_window(model, int(window.group(1)))
            raise LLMContextOverflowError(f"the prompt does not fit the context window (HTTP {status}): {short}",
                                          window=int(window.group(1)) if window else None) from None
        if schema is not None and status == 500 and (state.mode == "json_schema" or (
                state.mode == "json_object" and _MODE_WORDS_RE.search(text))):
            raise _ModeRefused() from None  # llama.cpp: a json_schema it cannot turn into a grammar is a 500
        if status in (429, 503):
            self.limiter.overload()
        if status == 400:
            with self._lock:
                quirks = self._quirks.get((self.base_url, model), frozenset())
            if "max_completion_tokens" in text and "max_completion_tokens" not in quirks:
                raise _ParamRefused("max_completion_tokens") from None
            if (re.search(r"temperature", text, re.I) and "no_temperature" not in quirks
                    and re.search(r"unsupported|not supported|does not support|only the default", text, re.I)
                    and not _MODE_WORDS_RE.search(text)):
                raise _ParamRefused("no_temperature") from None
        if schema is not None and state.mode != "text" and (
                status == 422 or (status == 400 and (_MODE_WORDS_RE.search(text) or (
                    _GENERIC_REFUSAL_RE.search(text) and not _OTHER_PARAMS_RE.search(text))))):
            raise _ModeRefused() from None
        if status == 429 or status in (408, 409) or status >= 500:
            retry_after = parse_retry_after(headers)
            if status in (429, 503) and retry_after:
                self._budget_rate_limit_wait(retry_after)  # longer than the run may wait: stops it (75)
            if status == 429 and retry_after:
                with self._lock:
                    self._pause_until = max(self._pause_until,
                                            time.monotonic() + min(retry_after, self.retry_after_cap))
            raise LLMTransientError(f"HTTP {status}: {short}", retry_after=retry_after, status=status) from None
        raise LLMError(f"HTTP {status} from {self.base_url}: {short}") from None

    def _read_response(self, response: Any, task: str, model: str, schema: dict | None, state: _CallState,
                       key: str, seconds: float) -> Completion:
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        with self._lock:
            self._stats["prompt_tokens"] += prompt_tokens
            self._stats["completion_tokens"] += completion_tokens
        self.cache.record_call(day=self.day, task=task, model=model, prompt_tokens=prompt_tokens,
                               completion_tokens=completion_tokens, cached=False, seconds=round(seconds, 3))
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            state.shape_failures += 1
            raise LLMMalformedError("the response has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        finish = str(getattr(choice, "finish_reason", "") or "stop")
        content = getattr(message, "content", None) if message is not None else None
        refusal = getattr(message, "refusal", None) if message is not None else None
        if refusal or finish == "content_filter":
            raise LLMRefusalError(self._redact(f"the model refused: {str(refusal or finish)[:200]}"))
        content = strip_thinking(content if isinstance(content, str) else "")
        if finish == "length":
            state.shape_failures += 1
            with self._lock:
                self._stats["truncated_tokens"] += completion_tokens
            state.max_tokens = min(int(state.max_tokens * 1.5) + 1, 4 * self.settings.max_output_tokens)
            raise LLMTruncatedError(f"the answer was cut at the token limit ({completion_tokens} tokens)",
                                    content=content)
        parsed = None
        if schema is not None:
            parsed = extract_json(content)
            problem = "not a JSON object" if parsed is None else _schema_problem(parsed, schema)
            if problem:
                state.shape_failures += 1
                if state.mode == "json_schema":
                    # the server ignored or mangled strict mode: describe the schema on the next try
                    state.mode = "json_object"
                raise LLMMalformedError(f"malformed JSON answer: {problem}", content=content)
        elif not content.strip():
            state.shape_failures += 1
            raise LLMMalformedError("empty answer", content=content)
        return Completion(content=content, parsed=parsed, finish_reason=finish, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, model=model, cached=False, mode=state.mode,
                          seconds=round(state.seconds, 3), key=key)
