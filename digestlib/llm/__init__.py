"""Floor 2, the OpenAI-compatible endpoint: one chat completion at a time, validated, cached, accounted.

``client`` (``LLMClient``), ``limiter`` (adaptive concurrency), ``breaker`` (when to stop calling an
endpoint), ``replies`` (``</think>``, JSON), ``capabilities`` (what an endpoint accepts), ``cache`` (the
protocols the store implements, the request key), ``pricing`` (cost, usage), ``intents`` (calls in flight).

The names below load their module on first use (``lazy_loader``): what only prices a day's tokens or
reads a finished day (``digestlib.llm.pricing``) must not load the client and the openai package
(tests/test_startup.py).

Must not: know about papers (the prompts and what an answer means are ``tasks/``).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "breaker": ["SERVER_STOPPED_FIX", "Breaker"],
    "cache": ["CapabilityStore", "IntentLog", "LLMCache", "MemoryCache", "cache_key"],
    "capabilities": ["MODES", "Capabilities"],
    "client": ["LLMClient", "default_base_url", "without_credentials"],
    "limiter": ["AdaptiveLimiter"],
    "pricing": ["Usage", "estimate_cost"],
    "replies": ["Completion", "extract_json", "strip_thinking"],
})
