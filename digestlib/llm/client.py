"""The OpenAI-compatible client: one chat completion, retried, validated, cached and accounted.

This module knows nothing about papers. ``LLMClient.complete`` sends one chat completion and returns a
validated ``Completion``; what happens around the HTTP call lives in its own module beside this one:

* **retries** (``base.http.RetryPolicy`` on tenacity, the SDK's own are off with ``max_retries=0``):
  exponential backoff with jitter on 429 / 408 / 409 / 5xx / timeouts / connection errors, honouring
  ``Retry-After`` (seconds or HTTP-date) and ``retry-after-ms``; a 429 also pauses every other thread
  until the server's ``Retry-After`` has passed (``breaker.py``), so a rate limit is not hammered by 16
  threads at once;
* **structured output** (``capabilities.py``): ``json_schema`` (strict) first; an endpoint that refuses it
  (400 naming response_format / json_schema, 422, "unsupported") is asked for ``json_object`` with the
  schema described in a system message, then plain text; the mode that works is remembered per
  (base_url, model) so later calls skip the refused ones;
* **validation** (``replies.py``): ``finish_reason == "length"`` is a retryable ``LLMTruncatedError`` (the
  next try gets a larger ``max_tokens``), malformed JSON is a retryable ``LLMMalformedError``; both carry
  the last ``content`` so a caller can salvage what came back;
* **circuit breaker** (``breaker.py``): repeated authentication (401/403) or quota (429
  ``insufficient_quota``) errors, refused connections, hung or non-API answers raise ``LLMFatalError``,
  and every later call raises it at once without any HTTP;
* **concurrency** (``limiter.py``): at most ``llm.concurrency`` requests in flight, halved on overload;
* **cache** (``cache.py``): a content-addressed key looked up in an ``LLMCache`` (the store implements it;
  ``MemoryCache`` for tests); a hit makes no HTTP call and is recorded as ``cached=True`` at zero cost;
* **accounting** (``pricing.py``): ``usage`` of every response is recorded through
  ``LLMCache.record_call``; ``estimate_cost`` prices tokens with ``LLMSettings.prices``.

The API key is read from ``env[settings.api_key_env]`` in ``LLMClient.__init__`` (``env`` is
``Config.environ``, the snapshot config.py took; this module never reads the environment itself) and kept
only inside the private SDK client; it never reaches an attribute that is printed, pickled or saved, and
every error message is redacted.

Must not: know about papers, or read the environment.
"""

from __future__ import annotations

import functools
import json
import re
import time
from typing import Callable, Mapping, NoReturn

import httpx
import openai
import tenacity
from openai.types.chat import ChatCompletion

from ..base.config import LLMSettings, check_api_key, read_environment
from ..base.errors import (ConfigError, LLMContextOverflowError, LLMError, LLMFatalError, LLMMalformedError,
                           LLMRefusalError, LLMTransientError, LLMTruncatedError, redact)
from ..base.http import Backoff, RetryPolicy, enforce_deadline, parse_retry_after
from .breaker import Breaker, dropped_mid_request
from .cache import LLMCache, cache_key
from .capabilities import Capabilities, Found
from .intents import begin_intent
from .limiter import AdaptiveLimiter
from .pricing import Usage, estimate_cost
from .replies import Completion, extract_json, is_api_answer, schema_problem, strip_thinking

__all__ = ["DEFAULT_BASE_URL", "PROVIDER_BASE_URLS", "LLMClient", "default_base_url", "without_credentials"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_PLACEHOLDER = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key

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


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part (a proxy or gateway login someone put in OPENAI_BASE_URL)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return re.sub(r"//[^/@]*@", "//", url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


_MODE_WORDS_RE = re.compile(r"response[_ ]?format|json[_ ]?schema|json[_ ]?object|structured[_ ]output|"
                            r"guided[_ ]json|grammar|gbnf", re.I)
# "maximum context length is 8192 tokens" (OpenAI, vLLM, llama-cpp-python), "exceed context window of 2048"
# (llama-cpp-python), "exceeds the available context size" (llama.cpp's server, with n_ctx in the body)
_OVERFLOW_RE = re.compile(r"context[_ ]length[_ ]exceeded|maximum context length|exceeds? (?:the )?context window|"
                          r"exceeds? the available context size|exceed_context_size|prompt is too long|"
                          r"context size has been exceeded", re.I)
_WINDOW_RE = re.compile(r"(?:maximum context length is|context window of|\"n_ctx\"\s*:)\s*(\d+)", re.I)
_GENERIC_REFUSAL_RE = re.compile(r"not supported|unsupported|not implemented|unknown (?:field|parameter|argument)|"
                                 r"extra (?:inputs|fields)", re.I)
_OTHER_PARAMS_RE = re.compile(r"temperature|max_tokens|max_completion_tokens|top_p|\bmodel\b", re.I)


class _ModeRefused(Exception):
    """The endpoint refused the structured-output mode of this request (caught by ``_attempt``)."""


class _ParamRefused(Exception):
    """The endpoint refused a sampling parameter (reasoning models: max_tokens, temperature)."""

    def __init__(self, quirk: str) -> None:
        super().__init__(quirk)
        self.quirk = quirk


def _redactor(secret: str) -> Callable[[str], str]:
    if len(secret) < 4:
        return lambda text: text
    return lambda text: text.replace(secret, "***")


class _CallState:
    """Per-call mutable state shared by the attempts of one ``complete``."""

    def __init__(self, mode: str, max_tokens: int) -> None:
        self.mode = mode
        self.max_tokens = max_tokens
        self.shape_failures = 0  # truncated / malformed answers so far
        self.seconds = 0.0


class LLMClient:
    """A thread-safe OpenAI-compatible chat client with our retries, fallback, breaker and cache.

    ``complete`` may be called from many threads; at most ``settings.concurrency`` requests are in
    flight at once (sleeping between retries does not hold a slot). ``http_client`` is the
    ``httpx.Client`` the SDK sends with (tests give one over an ``httpx.MockTransport``); ``sleep`` and
    ``clock`` (the pause a 429 imposes on every thread) let tests wait for nothing.
    """

    shape_retries = 2  # extra tries for truncated / malformed answers (within settings.max_retries)
    truncation_retry_answers = 8  # a run's retries after finish_reason "length" bill at most this many
    #                               answers' worth of tokens (x max_output_tokens), then are not made

    def __init__(self, settings: LLMSettings, cache: LLMCache, *, env: Mapping[str, str] | None = None,
                 day: str = "", backoff_initial: float = 1.0, backoff_max: float = 30.0,
                 retry_after_cap: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, http_client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.cache = cache
        self.day = day
        full_url = (settings.base_url or default_base_url(settings.model_for("interpret"))).rstrip("/")
        # what is shown, stored (llm_capabilities) and keyed on: the URL without any user:password in it;
        # only the private SDK client below gets the URL as given
        self.base_url = without_credentials(full_url)
        self._sleep = sleep
        # jitter: 50-100 % of the backoff step; the server's wish capped, plus a little (never shorter than
        # asked); a truncated or malformed answer came, so asking again needs no wait
        self.retry_policy = RetryPolicy(
            attempts=settings.max_retries + 1, retry_on=(LLMTransientError,), sleep=sleep,
            backoff=Backoff(backoff_initial, backoff_max, retry_after_cap=retry_after_cap, jitter=True,
                            no_wait_after=(LLMTruncatedError, LLMMalformedError)))
        env = read_environment() if env is None else env  # callers pass Config.environ
        key = env.get(settings.api_key_env) or ""
        check_api_key(settings, env)  # no whitespace or control character: refused before the first call
        if not key and not settings.base_url:
            raise ConfigError(f"no API key: set {settings.api_key_env} (or llm.base_url for a local server)")
        self._redact_key = _redactor(key)  # holds the key in a closure: nothing to print or pickle
        self.breaker = Breaker(self.base_url, max_rate_limit_wait=settings.max_rate_limit_wait_seconds,
                               retry_after_cap=retry_after_cap, clock=clock)
        # The only place the key lives: the private SDK client (which sends it as a Bearer token).
        # llm.timeout_seconds bounds each whole answer (connect, wait, body), not each read: a server
        # dripping its answer a byte a second costs one timeout (digestlib.base.http.enforce_deadline)
        # (openai accepts an ``httpx.Client``; its own default is an ``httpx2`` one, which this cannot wrap)
        http_client = enforce_deadline(http_client or httpx.Client(
            timeout=settings.timeout_seconds, follow_redirects=True,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100)), settings.timeout_seconds)
        hooks = http_client.event_hooks
        http_client.event_hooks = {**hooks, "request": [*hooks.get("request", []), self.breaker.request_hook]}
        self._openai = openai.OpenAI(base_url=full_url, api_key=key or KEY_PLACEHOLDER,
                                     timeout=settings.timeout_seconds, max_retries=0, http_client=http_client)
        self.limiter = AdaptiveLimiter(settings.concurrency)  # in-flight requests, adapted to the server
        self.usage = Usage()
        self.capabilities = Capabilities(self.base_url, settings, cache, self.usage)

    # -- presentation: never the key
    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.base_url!r}, concurrency={self.settings.concurrency})"

    def __reduce__(self) -> NoReturn:  # pragma: no cover - guard
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
        return self.breaker.fatal

    @property
    def stats(self) -> dict[str, int]:
        return self.usage.snapshot()

    @property
    def context_window(self) -> int | None:
        return self.capabilities.context_window

    def mode_for(self, model: str) -> str:
        """The structured-output mode this client currently uses for ``model``."""
        return self.capabilities.mode_for(model)

    def structured_mode_known(self, model: str) -> bool:
        """Whether a structured request to ``model`` here has been answered (in this run or, from the
        store, an earlier one). Until then such requests go one at a time (``discovering_mode``); a caller
        with other work should give the free slots to that work meanwhile."""
        return self.capabilities.mode_known(model)

    def model_for(self, task: str) -> str:
        return self.settings.model_for(task)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        return estimate_cost(model, prompt_tokens, completion_tokens, self.settings.prices)

    def remember_context_window(self, model: str, window: int) -> None:
        self.capabilities.remember_context_window(model, window)

    def text_budget_tokens(self) -> int:
        return self.capabilities.text_budget_tokens()

    def output_tokens(self) -> int:
        return self.capabilities.output_tokens()

    @property
    def truncation_retry_tokens(self) -> int:
        """The most completion tokens a run bills for answers cut at the token limit before it stops asking
        again after one (every call's first try is still made)."""
        return self.truncation_retry_answers * max(1, self.settings.max_output_tokens)

    def discover(self, model: str | None = None) -> Found:
        """Ask the server what it is, once per run (two small GETs, failures ignored: the first real call
        tells; see ``Capabilities.discover``). Caps the concurrency at the slot count and sets the context
        window used by ``context_tokens: auto``. Returns what was found."""
        found = self.capabilities.discover(model or self.settings.model_for("interpret"), self._get_json)
        if "slots" in found:
            self.limiter.cap(int(found["slots"]))
        return found

    def _get_json(self, url: str) -> object:
        try:
            return self._openai.get(url, cast_to=object, options={"timeout": min(10.0, self.settings.timeout_seconds)})
        except (openai.OpenAIError, ValueError, TypeError):
            return None

    # -- the call
    def complete(self, task: str, messages: list[dict], *, model: str | None = None, schema: dict | None = None,
                 schema_name: str = "", max_tokens: int | None = None, prompt_version: str = "",
                 accept: Callable[[Completion], bool] | None = None) -> Completion:
        """One chat completion, cached, retried and validated.

        ``accept`` (optional) decides whether an answer may enter the cache: a caller that validates
        the content (language, numbers) passes its check so a rejected answer is asked again next run
        instead of being served from the cache forever; a cached answer it rejects is ignored.
        """
        self.breaker.check()
        model = model or self.settings.model_for(task)
        self.capabilities.load(model)
        max_tokens = max_tokens or self.output_tokens()
        key = cache_key(task=task, model=model, prompt_version=prompt_version, messages=messages, schema=schema,
                        temperature=self.settings.temperature, max_tokens=max_tokens)
        hit = self._from_cache(key, task, model, accept)
        if hit is not None:
            return hit

        state = _CallState(self.mode_for(model) if schema else "text", max_tokens)
        intent = begin_intent(self.cache, key, day=self.day, task=task, model=model)  # before it is sent
        try:
            completion = self.retry_policy.call(self._attempt, task, model, messages, schema, schema_name, state,
                                                key, stop=functools.partial(self._stop, state),
                                                before_sleep=lambda _: self.usage.add("retries"))
        except LLMError as exc:
            intent.end()
            self.usage.add("errors")
            fatal = self.breaker.fatal
            if fatal is not None and not isinstance(exc, LLMFatalError):
                raise fatal from None  # the breaker tripped while this call was retrying
            raise exc from None
        if accept is None or accept(completion):
            self.cache.cache_put(key, task=task, model=model, response=completion.cached_response(),
                                 prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens)
        intent.end()  # only once the answer is stored: a kill before this re-sends the call (SECURITY.md)
        return completion

    def cache_answer(self, key: str, task: str, completion: Completion) -> None:
        """Store ``completion`` under another request's ``key`` too: an answer accepted after a repair turn
        then serves the first request next time, so a finished day re-runs with no call."""
        if not key:
            return
        self.cache.cache_put(key, task=task, model=completion.model, response=completion.cached_response(),
                             prompt_tokens=0, completion_tokens=0)

    # -- internals
    def _redact(self, text: str) -> str:
        return self._redact_key(redact(text))

    def _record_failure(self, task: str, model: str, status: str, cause: str, started: float) -> None:
        """Account for an HTTP call that got no usable answer (the report's usage table shows them); the
        cause redacted and cut short."""
        self.cache.record_failed_call(day=self.day, task=task, model=model, status=status,
                                      cause=self._redact(cause)[:200], seconds=round(time.monotonic() - started, 3))

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
        self.usage.add("cache_hits")
        self.cache.record_call(day=self.day, task=task, model=model, prompt_tokens=0, completion_tokens=0,
                               cached=True, seconds=0.0)
        return completion

    def _stop(self, state: _CallState, retry_state: tenacity.RetryCallState) -> bool:
        """This call's own reasons to stop retrying (the attempts are the policy's): the breaker tripped,
        too many unusable answers, or the run's tokens for answers cut at the limit are spent."""
        if self.breaker.fatal is not None:
            return True
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, (LLMTruncatedError, LLMMalformedError)) and state.shape_failures > self.shape_retries:
            return True
        if isinstance(exc, LLMTruncatedError) and self.usage.get("truncated_tokens") >= self.truncation_retry_tokens:
            self.usage.add("truncation_retries_refused")
            return True
        return False

    def _attempt(self, task: str, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                 state: _CallState, key: str) -> Completion:
        self.breaker.check()
        self.breaker.wait_for_pause(self._sleep)
        for _ in range(8):  # loops only to step down the structured-output mode or drop refused parameters
            try:
                return self._request(task, model, messages, schema, schema_name, state, key)
            except _ParamRefused as refused:
                self.capabilities.add_quirk(model, refused.quirk)
            except _ModeRefused:
                following = self.capabilities.step_down(model, state.mode)
                if following is None:
                    raise LLMError("the endpoint refused the request even in plain-text mode") from None
                state.mode = following
        raise LLMError("the endpoint kept refusing the request parameters")

    def _request(self, task: str, model: str, messages: list[dict], schema: dict | None, schema_name: str,
                 state: _CallState, key: str) -> Completion:
        started = time.monotonic()
        timeout = self.settings.timeout_seconds
        # waiting for the mode probe holds no slot: other requests use it meanwhile
        with self.capabilities.discovering_mode(model, schema is not None), self.limiter:
            request, state.mode = self.capabilities.build_request(model, messages, schema, schema_name, state.mode,
                                                                  state.max_tokens)  # the mode known now
            self.breaker.check()
            # a timeout counts against the endpoint only for a request that had it to itself: one queued
            # behind others on a one-slot server (llama.cpp) is a reason to send fewer, not a hung server
            alone = self.limiter.in_flight <= 1
            self.usage.add("http_calls")
            try:
                response = self._openai.chat.completions.create(**request, timeout=timeout)
            except openai.APIStatusError as exc:
                state.seconds += time.monotonic() - started
                self.breaker.answered_with_status()
                self._record_failure(task, model, f"HTTP {exc.status_code}", str(exc.message), started)
                self._handle_status_error(exc, state, schema, model)
            except openai.APITimeoutError:
                state.seconds += time.monotonic() - started
                self._record_failure(task, model, "timeout", f"no answer within {timeout:g} s", started)
                self.limiter.overload()  # the server is slower than we ask of it: fewer at once
                self.usage.add("timeouts")
                if alone:
                    self.breaker.strike("timeout", f"LLM endpoint {self.base_url} gave no whole answer within "
                                        f"{timeout:g} s, {self.breaker.timeout_threshold} times in a row",
                                        "check the server (is it overloaded or stuck?) or raise llm.timeout_seconds")
                raise LLMTransientError(f"request timed out after {timeout:g} s") from None
            except openai.APIConnectionError as exc:
                state.seconds += time.monotonic() - started
                # a refused connection sent nothing (not a request the summary counts); a dropped one was sent
                status = "dropped" if dropped_mid_request(exc.__cause__) else "unreachable"
                self._record_failure(task, model, status, f"connection error: {exc.__class__.__name__}", started)
                self.breaker.count_unreachable(exc)
                raise LLMTransientError(self._redact(f"connection error: {exc.__class__.__name__}")) from None
            except (openai.APIResponseValidationError, ValueError, TypeError) as exc:
                state.seconds += time.monotonic() - started
                self._not_an_answer(task, model, state, started, f"unreadable response: {exc.__class__.__name__}")
            if not is_api_answer(response):  # a 200 that is not the API's JSON (a bot wall, a login page)
                state.seconds += time.monotonic() - started
                self._not_an_answer(task, model, state, started, "the answer is not the API's JSON")
        seconds = time.monotonic() - started
        state.seconds += seconds
        self.breaker.success()
        self.limiter.success()
        return self._read_response(response, task, model, schema, state, key, seconds)

    def _handle_status_error(self, exc: openai.APIStatusError, state: _CallState, schema: dict | None,
                             model: str) -> NoReturn:
        """What an HTTP error status means here: the breaker's count, a smaller context window, a refused
        mode or parameter (asked again without it), a retry after the server's wish, or a plain error."""
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
            if self.breaker.count_fatal(LLMFatalError(f"{what}: {short}", cause=cause, base_url=self.base_url,
                                                      fix=fix)):
                self.breaker.check()
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
            quirks = self.capabilities.quirks(model)
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
                # longer than the run may wait: stops it (75); a 429 also pauses every thread
                self.breaker.rate_limited(retry_after, pause_everyone=status == 429)
            raise LLMTransientError(f"HTTP {status}: {short}", retry_after=retry_after, status=status) from None
        raise LLMError(f"HTTP {status} from {self.base_url}: {short}") from None

    def _not_an_answer(self, task: str, model: str, state: _CallState, started: float, cause: str) -> NoReturn:
        self._record_failure(task, model, "bad response", cause, started)
        state.shape_failures += 1
        self.breaker.strike_not_api()
        raise LLMMalformedError(cause) from None

    def _read_response(self, response: ChatCompletion, task: str, model: str, schema: dict | None,
                       state: _CallState, key: str, seconds: float) -> Completion:
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self.usage.add("prompt_tokens", prompt_tokens)
        self.usage.add("completion_tokens", completion_tokens)
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
            self.usage.add("truncated_tokens", completion_tokens)
            state.max_tokens = min(int(state.max_tokens * 1.5) + 1, 4 * self.settings.max_output_tokens)
            raise LLMTruncatedError(f"the answer was cut at the token limit ({completion_tokens} tokens)",
                                    content=content)
        parsed = None
        if schema is not None:
            parsed = extract_json(content)
            problem = "not a JSON object" if parsed is None else schema_problem(parsed, schema)
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
