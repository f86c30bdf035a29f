"""llm.py: retries, Retry-After, timeouts, structured-output fallback, breaker, cache, accounting.

Integration tests run against the loopback fake server (tests/fakes/fake_openai.py) in its own process.
"""

from __future__ import annotations

import email.utils
import pickle
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from digestlib.base.config import LLMSettings
from digestlib.base.errors import (LLMError, LLMFatalError, LLMMalformedError, LLMRefusalError, LLMTransientError,
                                   LLMTruncatedError)
from digestlib.base.http import parse_retry_after
from digestlib.llm import SERVER_STOPPED_FIX, LLMClient, MemoryCache, cache_key, estimate_cost, extract_json
from tests.fakes.fake_openai import start_fake_openai

SCHEMA = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("background", "method", "results")},
    "required": ["background", "method", "results"],
    "additionalProperties": False,
}
TRANSLATE = [{"role": "user", "content": "<abstract>We reach 78% accuracy and 4.41 dB.</abstract>"}]
INTERPRET = [{"role": "user", "content": "<paper>We reach 78% accuracy and 4.41 dB.</paper>"}]


def make_client(url: str, cache: MemoryCache | None = None, *, env: dict | None = None, **settings) -> LLMClient:
    values = {"base_url": url, "model": "test-model", "concurrency": 4, "timeout_seconds": 5.0, "max_retries": 4}
    values.update(settings)
    return LLMClient(LLMSettings(**values), cache if cache is not None else MemoryCache(), env=env or {},
                     day="2026-01-22", backoff_initial=0.05, backoff_max=0.2)


# ---------------------------------------------------------------------------------------------- unit


def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after({"Retry-After": date}, now=now) <= 31
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "-5"}) == 0.0


def test_estimate_cost():
    prices = {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.60}, "gpt-4o": {"prompt": 2.5, "completion": 10}}
    assert estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000, prices) == pytest.approx(0.75)
    assert estimate_cost("gpt-4o-mini-2024-07-18", 2_000_000, 0, prices) == pytest.approx(0.30)  # longest prefix
    assert estimate_cost("unknown", 10, 10, prices) is None


def test_extract_json_variants():
    assert extract_json('{"a": "1"}') == {"a": "1"}
    assert extract_json('```json\n{"a": "1"}\n```') == {"a": "1"}
    assert extract_json('<think>hmm</think>Sure: {"a": "1"} done') == {"a": "1"}
    assert extract_json('{"a": ') is None
    assert extract_json("[1, 2]") is None


def test_cache_key_depends_on_everything_that_shapes_the_answer():
    base = dict(task="t", model="m", prompt_version="v1", messages=TRANSLATE, schema=None, temperature=0.2,
                max_tokens=100)
    key = cache_key(**base)
    assert key == cache_key(**base)
    for change in ({"model": "m2"}, {"prompt_version": "v2"}, {"task": "u"}, {"schema": SCHEMA},
                   {"messages": INTERPRET}, {"temperature": 0.0}, {"max_tokens": 50}):
        assert cache_key(**{**base, **change}) != key


def test_key_never_exposed_and_placeholder_for_local_servers():
    secret = "sk-test-SECRET-0123456789"
    client = LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1"), MemoryCache(),
                       env={"OPENAI_API_KEY": secret})
    assert secret not in repr(client)
    assert all(secret not in repr(v) for v in vars(client).values() if not isinstance(v, openai.OpenAI))
    with pytest.raises(TypeError):
        pickle.dumps(client)
    # the placeholder a local server gets as its key: tests/test_llm_unit.py (the Authorization header sent)


# ---------------------------------------------------------------------------------------------- loopback


@pytest.mark.integration
def test_complete_records_usage(fake_openai):
    cache = MemoryCache()
    client = make_client(fake_openai.url, cache)
    c = client.complete("translate", TRANSLATE)
    assert "测试译文" in c.content and c.finish_reason == "stop" and not c.cached
    assert c.prompt_tokens > 0 and c.completion_tokens > 0
    assert cache.calls[-1]["cached"] is False and cache.calls[-1]["day"] == "2026-01-22"
    assert client.stats["http_calls"] == 1


@pytest.mark.integration
def test_429_retry_after_is_honoured(fake_openai):
    fake_openai.control({"status": 429, "headers": {"Retry-After": "1"},
                         "body": {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}})
    client = make_client(fake_openai.url)
    started = time.monotonic()
    c = client.complete("translate", TRANSLATE)
    elapsed = time.monotonic() - started
    assert "测试译文" in c.content
    assert elapsed >= 1.0
    log = fake_openai.log()
    assert [e["status"] for e in log] == [429, 200]
    assert log[1]["time"] - log[0]["time"] >= 1.0


@pytest.mark.integration
def test_retry_after_ms_on_503(fake_openai):
    fake_openai.control({"status": 503, "headers": {"retry-after-ms": "300"}})
    client = make_client(fake_openai.url)
    started = time.monotonic()
    client.complete("translate", TRANSLATE)
    assert time.monotonic() - started >= 0.3
    assert [e["status"] for e in fake_openai.log()] == [503, 200]


@pytest.mark.integration
def test_500_then_success(fake_openai):
    fake_openai.control({"status": 500}, {"status": 502})
    cache = MemoryCache()
    client = make_client(fake_openai.url, cache)
    c = client.complete("translate", TRANSLATE)
    assert "测试译文" in c.content
    assert [e["status"] for e in fake_openai.log()] == [500, 502, 200]
    assert client.stats["retries"] == 2
    # the failed calls are accounted too (the report's usage table shows them), apart from the answers
    assert [(f["task"], f["status"], f["day"]) for f in cache.failed_calls] == [
        ("translate", "HTTP 500", "2026-01-22"), ("translate", "HTTP 502", "2026-01-22")]
    assert all(f["cause"] and f["seconds"] >= 0 for f in cache.failed_calls) and len(cache.calls) == 1


@pytest.mark.integration
def test_5xx_exhausts_retries(fake_openai):
    fake_openai.control(*[{"status": 500}] * 5)
    client = make_client(fake_openai.url, max_retries=2)
    with pytest.raises(LLMTransientError):
        client.complete("translate", TRANSLATE)
    assert len(fake_openai.log()) == 3  # 1 + max_retries


@pytest.mark.integration
def test_hung_request_times_out_and_is_retried(fake_openai):
    fake_openai.control({"hang": 60})
    client = make_client(fake_openai.url, timeout_seconds=2)  # the good answer's slack on a loaded machine
    started = time.monotonic()
    c = client.complete("translate", TRANSLATE)
    assert "测试译文" in c.content
    assert time.monotonic() - started < 30  # the 60 s hang was not waited out (a loaded machine's slack)
    assert len(fake_openai.log()) == 2


def test_connection_refused_is_retried_then_raised():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = MemoryCache()
    client = make_client(f"http://127.0.0.1:{port}/v1", cache, max_retries=1)
    with pytest.raises(LLMTransientError, match="connection"):
        client.complete("translate", TRANSLATE)
    assert client.stats["http_calls"] == 2
    assert [f["status"] for f in cache.failed_calls] == ["unreachable", "unreachable"] and not cache.calls


@pytest.mark.integration
def test_refusals_after_answers_say_the_server_stopped_not_the_url():
    """The endpoint answered in this run, then went away (crashed, restarted): the URL was right."""
    server = start_fake_openai()
    try:
        client = make_client(server.url)
        assert "测试译文" in client.complete("translate", TRANSLATE).content
    finally:
        server.stop()
    with pytest.raises(LLMFatalError) as stopped:
        client.complete("translate", INTERPRET)
    assert str(stopped.value) == (f"LLM endpoint {server.url} stopped answering: it answered earlier in this run "
                                  "and now refuses connections (the server crashed or restarted)")
    assert stopped.value.fix == SERVER_STOPPED_FIX and stopped.value.cause == "unreachable"


@pytest.mark.integration
def test_malformed_json_is_retried(fake_openai):
    fake_openai.control({"malformed": True})
    client = make_client(fake_openai.url)
    c = client.complete("interpret", INTERPRET, schema=SCHEMA, schema_name="interp")
    assert set(c.parsed) == {"background", "method", "results"}
    assert len(fake_openai.log()) == 2


@pytest.mark.integration
def test_malformed_json_bounded_then_raised_with_content(fake_openai):
    fake_openai.control(*[{"malformed": True}] * 6)
    client = make_client(fake_openai.url, max_retries=5)
    with pytest.raises(LLMMalformedError) as info:
        client.complete("interpret", INTERPRET, schema=SCHEMA)
    assert info.value.content.startswith('{"background"')
    assert len(fake_openai.log()) == 3  # shape_retries = 2


@pytest.mark.integration
def test_unreadable_http_body_is_retried(fake_openai):
    fake_openai.control({"bad_body": True})
    client = make_client(fake_openai.url)
    assert "测试译文" in client.complete("translate", TRANSLATE).content
    assert len(fake_openai.log()) == 2


@pytest.mark.integration
def test_truncated_answer_is_retried_with_a_larger_budget(fake_openai):
    fake_openai.control({"truncated": True})
    client = make_client(fake_openai.url, max_output_tokens=1000)
    c = client.complete("interpret", INTERPRET, schema=SCHEMA, max_tokens=1000)
    assert c.finish_reason == "stop" and c.parsed
    log = fake_openai.log()
    assert len(log) == 2 and log[1]["max_tokens"] > log[0]["max_tokens"]


@pytest.mark.integration
def test_reasoning_model_parameters_are_adapted_and_remembered(fake_openai):
    fake_openai.control(
        {"status": 400, "body": {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this "
                                                      "model. Use 'max_completion_tokens' instead.", "param": "max_tokens"}}},
        {"status": 400, "body": {"error": {"message": "Unsupported value: 'temperature' does not support 0.2 with this "
                                                      "model. Only the default (1) value is supported.",
                                           "param": "temperature"}}})
    client = make_client(fake_openai.url)
    c = client.complete("interpret", INTERPRET, schema=SCHEMA)
    assert c.mode == "json_schema" and c.parsed  # not mistaken for a json_schema refusal
    client.complete("translate", TRANSLATE)
    log = fake_openai.log()
    assert [e["status"] for e in log] == [400, 400, 200, 200]
    assert log[-1]["max_tokens"] is None and log[-1]["max_completion_tokens"] and log[-1]["temperature"] is None


@pytest.mark.integration
def test_content_filter_is_a_refusal_not_retried(fake_openai):
    fake_openai.control({"finish_reason": "content_filter"})
    client = make_client(fake_openai.url)
    with pytest.raises(LLMRefusalError):
        client.complete("translate", TRANSLATE)
    assert len(fake_openai.log()) == 1


@pytest.mark.integration
def test_client_error_is_not_retried(fake_openai):
    fake_openai.control({"status": 404, "body": {"error": {"message": "The model does not exist"}}})
    client = make_client(fake_openai.url)
    with pytest.raises(LLMError, match="404"):
        client.complete("translate", TRANSLATE)
    assert len(fake_openai.log()) == 1


@pytest.mark.integration
def test_json_schema_refused_falls_back_and_remembers(fake_openai_no_schema):
    server = fake_openai_no_schema
    client = make_client(server.url)
    first = client.complete("interpret", INTERPRET, schema=SCHEMA)
    assert first.mode == "json_object" and first.parsed
    assert [(e["response_format"], e["status"]) for e in server.log()] == [("json_schema", 400), ("json_object", 200)]
    assert client.mode_for("test-model") == "json_object"
    # the schema is described in a system message when the server cannot enforce it
    second = client.complete("interpret", [{"role": "user", "content": "<paper>Other 12.5 paper.</paper>"}],
                             schema=SCHEMA)
    assert second.parsed and len(server.log()) == 3 and server.log()[2]["response_format"] == "json_object"


@pytest.mark.integration
def test_falls_back_to_plain_text_when_json_object_refused_too(fake_openai_no_schema):
    server = fake_openai_no_schema
    server.control({"status": 400, "match_format": "json_object",
                    "body": {"error": {"message": "response_format json_object is unsupported"}}})
    client = make_client(server.url)
    c = client.complete("interpret", INTERPRET, schema=SCHEMA)
    assert c.mode == "text" and set(c.parsed) == {"background", "method", "results"}  # fenced JSON parsed
    assert [e["response_format"] for e in server.log()] == ["json_schema", "json_object", None]
    client.complete("interpret", [{"role": "user", "content": "<paper>x 33.3</paper>"}], schema=SCHEMA)
    assert server.log()[-1]["response_format"] is None and len(server.log()) == 4


@pytest.mark.integration
def test_auth_errors_trip_the_breaker_and_stop_all_calls(fake_openai):
    secret = "sk-test-WRONG-abcdef123456"
    fake_openai.control(*[{"status": 401, "body": {"error": {"message": f"Incorrect API key provided: {secret}",
                                                              "code": "invalid_api_key"}}}] * 5)
    client = make_client(fake_openai.url, env={"OPENAI_API_KEY": secret})
    with pytest.raises(LLMFatalError) as info:
        client.complete("translate", TRANSLATE)
    assert secret not in str(info.value) and "***" in str(info.value)
    assert len(fake_openai.log()) == 2  # one more try, then the breaker
    with pytest.raises(LLMFatalError):
        client.complete("interpret", INTERPRET, schema=SCHEMA)
    assert len(fake_openai.log()) == 2  # no further HTTP call
    assert client.fatal_error is not None


@pytest.mark.integration
def test_quota_exhausted_is_fatal(fake_openai):
    fake_openai.control({"quota": True}, {"quota": True})
    client = make_client(fake_openai.url)
    with pytest.raises(LLMFatalError, match="quota"):
        client.complete("translate", TRANSLATE)
    with pytest.raises(LLMFatalError):
        client.complete("translate", TRANSLATE)
    assert len(fake_openai.log()) == 2


@pytest.mark.integration
def test_key_is_sent_only_as_bearer(fake_openai):
    secret = "sk-test-RIGHT-987654321"
    fake_openai.reset(api_key=secret)
    client = make_client(fake_openai.url, env={"OPENAI_API_KEY": secret})
    client.complete("translate", TRANSLATE)
    entry = fake_openai.log()[0]
    assert entry["auth_ok"] is True and entry["key_in_body"] is False


@pytest.mark.integration
def test_custom_key_variable(fake_openai):
    fake_openai.reset(api_key="sk-other-var-123")
    client = make_client(fake_openai.url, env={"MY_KEY": "sk-other-var-123"}, api_key_env="MY_KEY")
    client.complete("translate", TRANSLATE)
    assert fake_openai.log()[0]["auth_ok"] is True


@pytest.mark.integration
def test_cache_hit_makes_no_http_call(fake_openai):
    cache = MemoryCache()
    make_client(fake_openai.url, cache).complete("interpret", INTERPRET, schema=SCHEMA, prompt_version="v1")
    again = make_client(fake_openai.url, cache).complete("interpret", INTERPRET, schema=SCHEMA, prompt_version="v1")
    assert again.cached and again.parsed and again.prompt_tokens == 0
    assert len(fake_openai.log()) == 1
    assert cache.calls[-1]["cached"] is True and cache.calls[-1]["prompt_tokens"] == 0
    make_client(fake_openai.url, cache).complete("interpret", INTERPRET, schema=SCHEMA, prompt_version="v2")
    make_client(fake_openai.url, cache, model="other-model").complete("interpret", INTERPRET, schema=SCHEMA,
                                                                       prompt_version="v1")
    assert len(fake_openai.log()) == 3


@pytest.mark.integration
def test_rejected_answers_are_not_cached(fake_openai):
    cache = MemoryCache()
    client = make_client(fake_openai.url, cache)
    client.complete("translate", TRANSLATE, accept=lambda c: False)
    client.complete("translate", TRANSLATE, accept=lambda c: False)
    assert len(fake_openai.log()) == 2 and not cache.entries


@pytest.mark.integration
def test_concurrency_is_bounded_and_used(fake_openai):
    fake_openai.reset(delay=0.3)
    client = make_client(fake_openai.url, concurrency=3)

    def one(i: int) -> str:
        return client.complete("translate", [{"role": "user", "content": f"<abstract>Paper {i} has 42.</abstract>"}]).content

    with ThreadPoolExecutor(max_workers=9) as pool:
        results = list(pool.map(one, range(9)))
    assert len(results) == 9 and all("42" in r for r in results)
    # what the server saw, not a wall clock: never more than 3 requests in flight, and 3 at once (not serial)
    assert max(entry["in_flight"] for entry in fake_openai.log()) == 3


@pytest.mark.integration
def test_retries_after_truncated_answers_are_bounded_in_tokens(fake_openai):
    """Issue 23: ``finish_reason: length`` on every answer must not make the retries bill several days'
    tokens: past ``truncation_retry_tokens`` a cut answer is not asked again."""
    fake_openai.control(every={"truncated": True})
    client = make_client(fake_openai.url, max_output_tokens=20, max_retries=4)
    for _ in range(30):
        with pytest.raises(LLMTruncatedError):
            client.complete("interpret", INTERPRET, schema=SCHEMA, max_tokens=20)
    stats = client.stats
    sent = len(fake_openai.log())
    # each call's first try is made (30); retries stop once the cut answers billed the cap
    assert stats["truncation_retries_refused"] > 0 and sent < 30 * 3, (sent, stats)
    retried_tokens_cap = client.truncation_retry_tokens
    per_answer = max(e["max_tokens"] or 0 for e in fake_openai.log())
    assert stats["truncated_tokens"] <= retried_tokens_cap + 30 * per_answer * 2
