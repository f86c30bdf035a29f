"""One redaction step for everything the project writes or prints (post, report, executed notebook,
notes, logs, error lines, store).

Three kinds of secret are removed: the configured API key (the value of every secret environment
variable, including the one named by ``llm.api_key_env``), any *key-shaped* token (``sk-...``, a
``Bearer`` token) even when it is not ours (a model may echo some other key it saw), and the
credentials of a URL (``https://user:pass@host`` -> ``https://***@host``), e.g. in ``OPENAI_BASE_URL``.
This module imports nothing from the project, so that every other module (``errors`` first) can use
it. The secrets' values are looked up when a text is redacted, by :func:`secret_env_value`: the one read
of ``os.environ`` outside ``environment.py``, because a secret never enters a config object.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

MASK = "***"

# Names of environment variables whose values are secrets and must never be written anywhere.
SECRET_ENV_VARS: list[str] = ["OPENAI_API_KEY", "DIGEST_API_KEY", "DIGEST_TRANSLATE_API_KEY",
                              "DIGEST_INTERPRET_API_KEY"]
_lock = threading.Lock()

# sk-..., sk-proj-..., pk-/rk- keys of OpenAI-like providers: 16+ token characters after the prefix.
_KEY_SHAPED = re.compile(r"(?<![A-Za-z0-9_-])(?:sk|pk|rk)-[A-Za-z0-9][A-Za-z0-9_-]{15,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
# scheme://userinfo@ -- the userinfo part (user, or user:password) goes.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")


def register_secret_env(name: str | None) -> None:
    """Treat the value of environment variable ``name`` as a secret too (``llm.api_key_env``)."""
    if name and name not in SECRET_ENV_VARS:
        with _lock:
            SECRET_ENV_VARS.append(name)


def secret_env_value(name: str) -> str | None:
    """The current value of the secret variable ``name``: what the redaction step removes from every
    output (read live, because a secret never enters a config object)."""
    return os.environ.get(name)


def _secrets() -> list[str]:
    values = {secret_env_value(name) or "" for name in SECRET_ENV_VARS}
    found: set[str] = set()
    for value in values:
        for variant in (value, value.strip()):  # a key with a stray "\r" is still the key
            if len(variant) >= 4:
                found.add(variant)
    return sorted(found, key=len, reverse=True)  # longest first: a key containing another goes whole


def redact_secrets(text: str) -> str:
    """``text`` without the configured key, key-shaped tokens and URL credentials."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _KEY_SHAPED.sub(MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


def strip_url_credentials(url: str | None) -> str | None:
    """``https://user:pass@host/v1`` -> ``https://***@host/v1`` (for showing a configured URL)."""
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", url) if url else url


def redact_file(path: Path) -> bool:
    """Redact a text file in place (atomically); True when something was removed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    clean = redact_secrets(text)
    if clean == text:
        return False
    tmp = path.with_name(f".{path.name}.redact.tmp")
    tmp.write_text(clean, encoding="utf-8")
    os.replace(tmp, path)
    return True


class RedactingFilter(logging.Filter):
    """A ``logging`` handler filter: each record's message (and traceback) redacted before any handler
    formats it, so that a library logging a URL with a password or a key is masked like everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not fit its format: leave it
            return True
        clean = redact_secrets(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Put a ``RedactingFilter`` on every handler of the root logger and on ``logging.lastResort`` (where
    records go when nobody configured logging). Safe to call more than once."""
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
