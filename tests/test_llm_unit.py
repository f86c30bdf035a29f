"""The LLM client without a server: every exchange goes through an ``httpx.MockTransport``, every wait
through a fake clock, so retries, Retry-After, the breaker, replies, structured-output fallback, usage and
the deadline are checked in milliseconds and in a fixed order (no thread races the scheduler)."""

from __future__ import annotations

import json
import threading
from typing import Callable

import httpx
import openai
import pytest

from digestlib.base.config import LLMSettings
from digestlib.base.errors import (LLMContextOverflowError, LLMError, LLMFatalError, LLMMalformedError,
                                   LLMRateLimitedError, LLMRefusalError, LLMTransientError, LLMTruncatedError)
from digestlib.llm import (SERVER_STOPPED_FIX, LLMClient, MemoryCache, estimate_cost, extract_json,
                           strip_thinking)

URL = "http://llm.test/v1"
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"],
          "additionalProperties": False}
ASK = [{"role": "user", "content": "<abstract>We reach 78% accuracy.</abstract>"}]
Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """A clock that moves only when something sleeps; ``waits`` lists every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def answer(content: str = "好的译文 78%", *, finish: str = "stop", prompt: int = 11, completion: int = 7,
           refusal: str | None = None) -> httpx.Response:
    message: dict = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})


def error(status: int, message: str = "boom", headers: dict | None = None, code: str | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {"message": message, "type": "x", "code": code}})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


class Script:
    """A MockTransport handler answering from a list (the last entry repeats), recording every request."""

    def __init__(self, *steps: httpx.Response | Handler) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        return step(request) if callable(step) else step

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/chat/completions")]


def make(script: Script | Handler, clock: FakeClock | None = None, cache: MemoryCache | None = None,
         env: dict | None = None, **settings: object) -> LLMClient:
    values: dict = {"base_url": URL, "model": "m", "concurrency": 4, "timeout_seconds": 5.0, "max_retries": 4}
    values.update(settings)
    clock = clock or FakeClock()
    return LLMClient(LLMSettings(**values), cache if cache is not None else MemoryCache(), env=env or {},
                     day="2026-01-22", backoff_initial=1.0, backoff_max=8.0, retry_after_cap=30.0,
                     sleep=clock.sleep, clock=clock,
                     http_client=httpx.Client(transport=httpx.MockTransport(script)))


# ------------------------------------------------------------------------------------------------ retries

def test_a_5xx_is_retried_after_a_jittered_backoff() -> None:
    clock, script = FakeClock(), Script(error(500), error(502), answer())
    client = make(script, clock)
    assert client.complete("translate", ASK).content == "好的译文 78%"
    assert len(script.requests) == 3 and client.stats["retries"] == 2
    assert 0.5 <= clock.waits[0] <= 1.0 and 1.0 <= clock.waits[1] <= 2.0  # 50-100 % of 1 s, then of 2 s


def test_retries_end_after_max_retries_with_the_last_error() -> None:
    clock, script = FakeClock(), Script(error(500))
    client = make(script, clock, max_retries=2)
    with pytest.raises(LLMTransientError, match="HTTP 500"):
        client.complete("translate", ASK)
    assert len(script.requests) == 3 and len(clock.waits) == 2
    assert client.stats["errors"] == 1


def test_retry_after_seconds_is_honoured() -> None:
    clock, script = FakeClock(), Script(error(503, headers={"Retry-After": "7"}), answer())
    make(script, clock).complete("translate", ASK)
    assert 7.0 <= clock.waits[0] <= 7.25  # the server's wish, plus a little, never shorter


def test_retry_after_ms_wins_over_retry_after() -> None:
    clock, script = FakeClock(), Script(error(503, headers={"retry-after-ms": "300", "Retry-After": "9"}), answer())
    make(script, clock).complete("translate", ASK)
    assert 0.3 <= clock.waits[0] < 0.4


def test_retry_after_is_capped() -> None:
    clock, script = FakeClock(), Script(error(503, headers={"Retry-After": "100"}), answer())
    make(script, clock, max_rate_limit_wait_seconds=1000).complete("translate", ASK)
    assert 30.0 <= clock.waits[0] <= 30.25  # retry_after_cap


def test_a_429_pauses_every_later_request_until_its_retry_after_has_passed() -> None:
    clock, script = FakeClock(), Script(error(429, headers={"Retry-After": "5"}), answer(), answer("第二"))
    client = make(script, clock)
    client.complete("translate", ASK)
    started = clock.now
    assert client.breaker.pause_until > started - 5.5
    assert client.complete("translate", [{"role": "user", "content": "<abstract>Other 5.</abstract>"}]).content == "第二"
    assert sum(clock.waits) >= 5.0


def test_a_retry_after_longer_than_the_run_may_wait_stops_the_run_at_once() -> None:
    clock, script = FakeClock(), Script(error(429, headers={"Retry-After": "3600"}))
    client = make(script, clock, max_rate_limit_wait_seconds=60)
    with pytest.raises(LLMRateLimitedError, match="asks to wait 3600 s") as stopped:
        client.complete("translate", ASK)
    assert stopped.value.exit_code == 75 and len(script.requests) == 1 and clock.waits == []
    with pytest.raises(LLMRateLimitedError):
        client.complete("translate", ASK)
    assert len(script.requests) == 1  # the breaker: no more HTTP


def test_rate_limit_waits_add_up_against_the_run_budget() -> None:
    clock = FakeClock()
    script = Script(error(429, headers={"Retry-After": "20"}), error(429, headers={"Retry-After": "20"}),
                    error(429, headers={"Retry-After": "20"}), answer())
    client = make(script, clock, max_rate_limit_wait_seconds=50)
    with pytest.raises(LLMRateLimitedError):
        client.complete("translate", ASK)
    assert len(script.requests) == 3 and client.breaker.rate_limit_waited == pytest.approx(40.0, abs=1.0)


def test_a_timeout_is_retried_and_counted() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    clock, script = FakeClock(), Script(timeout, answer())
    client = make(script, clock)
    assert client.complete("translate", ASK).content
    assert client.stats["timeouts"] == 1 and client.limiter.overloads == 1 and len(script.requests) == 2


def test_a_404_or_a_plain_400_is_not_retried() -> None:
    for status in (404, 400):
        clock, script = FakeClock(), Script(error(status, "nope"))
        with pytest.raises(LLMError, match=f"HTTP {status}") as failed:
            make(script, clock).complete("translate", ASK)
        assert not isinstance(failed.value, LLMTransientError)
        assert len(script.requests) == 1 and clock.waits == []


def test_the_sdk_retries_nothing_itself() -> None:
    script = Script(error(500))
    with pytest.raises(LLMTransientError):
        make(script, max_retries=0).complete("translate", ASK)
    assert len(script.requests) == 1


# ------------------------------------------------------------------------------------------------ breaker

def test_two_refused_keys_trip_the_breaker_and_later_calls_send_nothing() -> None:
    script = Script(error(401, "Incorrect API key"))
    client = make(script)
    with pytest.raises(LLMFatalError, match="refused the API key") as tripped:
        client.complete("translate", ASK)
    assert tripped.value.cause == "auth" and tripped.value.fix == "check OPENAI_API_KEY"
    assert len(script.requests) == 2 and client.fatal_error is tripped.value
    with pytest.raises(LLMFatalError):
        client.complete("interpret", ASK)
    assert len(script.requests) == 2


def test_an_exhausted_quota_is_fatal() -> None:
    client = make(Script(error(429, "You exceeded your current quota", code="insufficient_quota")))
    with pytest.raises(LLMFatalError) as tripped:
        client.complete("translate", ASK)
    assert tripped.value.cause == "quota"


def test_a_never_reached_endpoint_is_a_wrong_url() -> None:
    script = Script(refused)
    client = make(script)
    with pytest.raises(LLMFatalError) as tripped:
        client.complete("translate", ASK)
    assert str(tripped.value) == f"LLM endpoint {URL} refused the connection"
    assert tripped.value.fix == "check OPENAI_BASE_URL" and len(script.requests) == 3


def test_refusals_after_an_answer_say_the_server_stopped() -> None:
    script = Script(answer(), refused)
    client = make(script)
    client.complete("translate", ASK)
    with pytest.raises(LLMFatalError) as tripped:
        client.complete("translate", [{"role": "user", "content": "<abstract>Another 1.</abstract>"}])
    assert str(tripped.value) == (f"LLM endpoint {URL} stopped answering: it answered earlier in this run and now "
                                  "refuses connections (the server crashed or restarted)")
    assert tripped.value.fix == SERVER_STOPPED_FIX


def test_refusals_after_a_dropped_request_say_it_dropped_one() -> None:
    client = make(Script(dropped, refused))
    with pytest.raises(LLMFatalError) as tripped:
        client.complete("translate", ASK)
    assert "stopped answering: it dropped a request mid-answer and now refuses connections" in str(tripped.value)


def test_refusals_while_an_accepted_request_is_still_in_flight_say_the_server_stopped() -> None:
    """Issue 23: eight requests in flight, the server crashes on one; the refusals of the others reach the
    breaker before the dropped request's error does. The connection that request was sent on was
    accepted, so the URL is right: the line must say the server stopped, never "check OPENAI_BASE_URL"."""
    connected, release = threading.Event(), threading.Event()

    def accepted_then_dropped(request: httpx.Request) -> httpx.Response:
        request.extensions["trace"]("connection.connect_tcp.complete", {"return_value": None})
        connected.set()
        release.wait(10)  # the server is handling it ... and dies
        return dropped(request)

    def handler(request: httpx.Request) -> httpx.Response:
        return accepted_then_dropped(request) if "first" in request.content.decode() else refused(request)

    client = make(handler, max_retries=0)
    results: list[BaseException] = []
    first = threading.Thread(target=lambda: results.append(
        pytest.raises(LLMError, client.complete, "translate", [{"role": "user", "content": "first"}]).value))
    first.start()
    assert connected.wait(10)
    try:
        for i in range(3):  # the other requests: refused, and reported first
            try:
                client.complete("translate", [{"role": "user", "content": f"other {i}"}])
            except LLMFatalError:
                break
            except LLMTransientError:
                continue
    finally:
        release.set()
        first.join(10)
    fatal = client.fatal_error
    assert fatal is not None and fatal.fix == SERVER_STOPPED_FIX, fatal
    assert str(fatal).startswith(f"LLM endpoint {URL} stopped answering: it ")
    assert "(the server crashed or restarted)" in str(fatal) and "OPENAI_BASE_URL" not in str(fatal) + fatal.fix


def test_a_host_that_does_not_resolve_is_named() -> None:
    def dns(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(LLMFatalError, match="the host name does not resolve"):
        make(Script(dns)).complete("translate", ASK)


def test_html_pages_instead_of_the_api_trip_the_breaker() -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>Sign in</html>")
    script = Script(page)
    with pytest.raises(LLMFatalError, match="does not answer as an OpenAI-compatible API") as tripped:
        make(script, max_retries=5).complete("translate", ASK)
    assert tripped.value.cause == "not_api" and len(script.requests) == 3


def test_answers_that_never_come_whole_trip_the_breaker() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    script = Script(timeout)
    with pytest.raises(LLMFatalError, match="gave no whole answer") as tripped:
        make(script, max_retries=9, concurrency=1).complete("translate", ASK)
    assert tripped.value.cause == "timeout" and len(script.requests) == 4


# ------------------------------------------------------------------------------------------------ replies

def test_strip_thinking_removes_every_form_of_reasoning() -> None:
    assert strip_thinking("<think>hmm</think>答案") == "答案"
    assert strip_thinking("the template opened it</think>\n答案") == "答案"
    assert strip_thinking("答案<think>cut by the token li") == "答案"
    assert strip_thinking("<THINK>a</THINK>x<think>b</think>y") == "xy"


def test_extract_json_finds_the_object_bare_fenced_or_in_prose() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('```json\n{"a": 2}\n```') == {"a": 2}
    assert extract_json('Here it is: {"a": 3} hope it helps') == {"a": 3}
    assert extract_json("<think>{\"no\": 0}</think>[1, 2]") is None
    assert extract_json("no json") is None


def test_a_reasoning_answer_is_parsed_after_its_think_block() -> None:
    client = make(Script(answer('<think>Let me see {"x": 1}</think>\n```json\n{"summary": "好"}\n```')))
    done = client.complete("interpret", ASK, schema=SCHEMA, schema_name="interp")
    assert done.parsed == {"summary": "好"} and done.mode == "json_schema"


def test_a_malformed_answer_is_asked_again_at_once() -> None:
    clock, script = FakeClock(), Script(answer("not json"), answer('{"summary": "好"}'))
    done = make(script, clock).complete("interpret", ASK, schema=SCHEMA)
    assert done.parsed == {"summary": "好"} and clock.waits == [0.0]
    assert done.mode == "json_object"  # strict mode was ignored: the schema is described the next time
    second = script.bodies()[1]
    assert second["response_format"] == {"type": "json_object"} and "JSON Schema" in second["messages"][-1]["content"]


def test_malformed_answers_are_bounded_and_the_last_content_kept() -> None:
    script = Script(answer('{"other": 1}'))
    with pytest.raises(LLMMalformedError, match="missing key 'summary'") as failed:
        make(script, max_retries=9).complete("interpret", ASK, schema=SCHEMA)
    assert failed.value.content == '{"other": 1}' and len(script.requests) == 3  # shape_retries = 2


def test_a_truncated_answer_is_asked_again_with_a_larger_budget() -> None:
    script = Script(answer("cut", finish="length", completion=100), answer())
    client = make(script, max_output_tokens=100)
    client.complete("translate", ASK)
    assert [b["max_tokens"] for b in script.bodies()] == [100, 151]
    assert client.stats["truncated_tokens"] == 100


def test_truncation_retries_stop_once_the_run_has_billed_enough_cut_answers() -> None:
    script = Script(answer("cut", finish="length", completion=50))
    client = make(script, max_output_tokens=10, max_retries=4)
    for _ in range(3):
        with pytest.raises(LLMTruncatedError):
            client.complete("translate", ASK)
    assert client.stats["truncation_retries_refused"] >= 1
    assert len(script.requests) < 3 * 3


def test_a_content_filter_is_a_refusal_and_not_retried() -> None:
    script = Script(answer("", finish="content_filter"))
    with pytest.raises(LLMRefusalError):
        make(script).complete("translate", ASK)
    assert len(script.requests) == 1


def test_an_empty_text_answer_is_malformed() -> None:
    with pytest.raises(LLMMalformedError, match="empty answer"):
        make(Script(answer("   ")), max_retries=1).complete("translate", ASK)


# ---------------------------------------------------------------------------------- structured output

@pytest.mark.parametrize("refusal", [
    error(400, "response_format json_schema is not supported"),
    error(422, "Unprocessable"),
    error(500, "failed to parse grammar"),  # llama.cpp: a schema it cannot turn into a grammar
])
def test_a_refused_json_schema_falls_back_to_json_object_and_is_remembered(refusal: httpx.Response) -> None:
    script = Script(refusal, answer('{"summary": "好"}'))
    client = make(script)
    assert client.complete("interpret", ASK, schema=SCHEMA).mode == "json_object"
    assert client.mode_for("m") == "json_object" and client.stats["fallbacks"] == 1
    client.complete("interpret", [{"role": "user", "content": "<paper>Other 2.</paper>"}], schema=SCHEMA)
    kinds = [b.get("response_format", {}).get("type") for b in script.bodies()]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_json_object_refused_too_falls_back_to_plain_text() -> None:
    script = Script(error(400, "json_schema unsupported"), error(400, "response_format json_object unsupported"),
                    answer('{"summary": "好"}'))
    done = make(script).complete("interpret", ASK, schema=SCHEMA)
    assert done.mode == "text" and "response_format" not in script.bodies()[2]


def test_a_reasoning_model_gets_max_completion_tokens_and_no_temperature() -> None:
    script = Script(error(400, "Unsupported parameter: 'max_tokens'; use 'max_completion_tokens' instead."),
                    error(400, "Unsupported value: 'temperature' does not support 0.2 with this model."),
                    answer())
    client = make(script)
    client.complete("translate", ASK)
    last = script.bodies()[-1]
    assert "max_completion_tokens" in last and "max_tokens" not in last and "temperature" not in last
    client.complete("translate", [{"role": "user", "content": "<abstract>Again 3.</abstract>"}])
    assert len(script.requests) == 4  # remembered: no refusal the second time


def test_a_context_overflow_names_the_window_and_is_remembered() -> None:
    client = make(Script(error(400, "This model's maximum context length is 4096 tokens.")))
    with pytest.raises(LLMContextOverflowError) as overflow:
        client.complete("interpret", ASK)
    assert overflow.value.window == 4096 and client.context_window == 4096
    assert client.output_tokens() <= 1024 and client.text_budget_tokens() < 4096


def test_discover_reads_the_slots_and_the_context_window() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/props":
            return httpx.Response(200, json={"default_generation_settings": {"n_ctx": 2048}, "total_slots": 2})
        return httpx.Response(200, json={"data": [{"id": "m"}]})

    client = make(server, concurrency=8)
    assert client.discover() == {"context_window": 2048, "slots": 2, "models": ["m"]}
    assert client.limiter.limit == 2 and client.context_window == 2048


# ------------------------------------------------------------------------------------- usage and cache

def test_usage_is_recorded_and_priced() -> None:
    cache = MemoryCache()
    client = make(Script(answer(prompt=1000, completion=500)), cache=cache,
                  prices={"m": {"prompt": 1.0, "completion": 2.0}})
    done = client.complete("translate", ASK)
    assert (done.prompt_tokens, done.completion_tokens, done.cached) == (1000, 500, False)
    assert cache.calls[0] | {"seconds": 0} == {"day": "2026-01-22", "task": "translate", "model": "m",
                                               "prompt_tokens": 1000, "completion_tokens": 500, "cached": False,
                                               "seconds": 0}
    assert client.cost("m", 1000, 500) == pytest.approx(0.002) == estimate_cost("m", 1000, 500, client.settings.prices)
    assert client.stats["prompt_tokens"] == 1000 and client.stats["http_calls"] == 1


def test_a_cached_answer_costs_no_call() -> None:
    cache, script = MemoryCache(), Script(answer())
    make(script, cache=cache).complete("translate", ASK)
    again = make(script, cache=cache)
    hit = again.complete("translate", ASK)
    assert hit.cached and hit.prompt_tokens == 0 and len(script.requests) == 1
    assert cache.calls[-1]["cached"] is True and again.stats["cache_hits"] == 1


def test_failed_calls_are_accounted_with_their_status() -> None:
    cache = MemoryCache()
    make(Script(error(500, "overloaded"), answer()), cache=cache).complete("translate", ASK)
    assert [(c["status"], c["task"]) for c in cache.failed_calls] == [("HTTP 500", "translate")]


def test_a_rejected_answer_is_not_cached() -> None:
    cache, script = MemoryCache(), Script(answer())
    client = make(script, cache=cache)
    client.complete("translate", ASK, accept=lambda c: False)
    client.complete("translate", ASK, accept=lambda c: False)
    assert len(script.requests) == 2 and not cache.entries


# --------------------------------------------------------------------------------------- key, deadline

def test_the_key_is_sent_as_a_bearer_token_and_never_shown() -> None:
    secret = "sk-test-SECRET-0123456789"
    script = Script(error(400, f"bad request for key {secret}"))
    client = make(script, env={"OPENAI_API_KEY": secret})
    with pytest.raises(LLMError) as failed:
        client.complete("translate", ASK)
    assert script.requests[0].headers["authorization"] == f"Bearer {secret}"
    assert secret not in str(failed.value) and secret not in repr(client)
    assert all(secret not in repr(v) for v in vars(client).values() if not isinstance(v, openai.OpenAI))
    local = make(script)
    with pytest.raises(LLMError):
        local.complete("translate", ASK)
    assert script.requests[-1].headers["authorization"] == "Bearer not-needed"


def test_a_dripping_answer_is_cut_at_the_whole_deadline() -> None:
    def drip(request: httpx.Request) -> httpx.Response:
        def body():
            stop = threading.Event()
            while True:
                stop.wait(0.05)  # one byte every 50 ms: each read is quick, the whole answer never ends
                yield b" "

        return httpx.Response(200, headers={"content-type": "application/json"}, content=body())

    client = make(drip, timeout_seconds=0.3, max_retries=0)
    with pytest.raises(LLMTransientError, match="timed out after 0.3 s"):
        client.complete("translate", ASK)
    assert client.stats["timeouts"] == 1


def test_the_breaker_thresholds_are_the_clients_to_set() -> None:
    """``digest check`` wants one try only: a first refusal trips the breaker at once."""
    script = Script(refused)
    client = make(script, max_retries=3)
    client.breaker.unreachable_threshold = 1
    with pytest.raises(LLMFatalError, match="refused the connection"):
        client.complete("translate", ASK)
    assert len(script.requests) == 1
