"""The process environment and the run's clock, each read once.

This is the one reader of ``os.environ`` (besides ``redaction.secret_env_value``, which looks up the
secrets' values at the moment it redacts): :func:`read_environment` takes one immutable snapshot
(:class:`Environment`) and :func:`read_now` reads the clock (``DIGEST_NOW`` or the real one); both are
kept in the ``Config`` and passed from there to whoever needs them (the calendar, the LLM client,
notifications, the review UI).

Must not: put a secret's value into anything shown, stored or rendered (the snapshot's repr names only
how many variables it holds).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Iterator, Mapping

from .errors import UsageError

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

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Environment(<{len(self._values)} variables>)"

    def __deepcopy__(self, memo: dict[int, object]) -> "Environment":
        return self  # immutable


def read_environment() -> Environment:
    """The process environment, read now, as an immutable snapshot (the only read of ``os.environ``
    besides ``redaction.secret_env_value``)."""
    return Environment(os.environ)


def real_now() -> dt.datetime:
    """The real clock, tz-aware UTC (what ``Config.now`` holds when nothing read ``DIGEST_NOW``)."""
    return dt.datetime.now(UTC)


def read_now(env: Mapping[str, str] | None = None) -> dt.datetime:
    """The run's clock, read once: tz-aware UTC. ``DIGEST_NOW`` (ISO 8601; naive means UTC) fakes it."""
    env = read_environment() if env is None else env
    fake = (env.get("DIGEST_NOW") or "").strip()
    if not fake:
        return real_now()
    try:
        value = dt.datetime.fromisoformat(fake.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"DIGEST_NOW must be an ISO date-time such as 2026-01-22T02:00:00Z, got {fake!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
