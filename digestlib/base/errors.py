"""One exception root for the project: every exception class digestlib defines lives here.

Every failure a user can meet is a ``DigestError`` carrying the exit status the CLI should return, a
one-line (redacted) message and the fields a caller needs to act on it (url, status, paper id, task,
path...), all keyword arguments with defaults, so ``SomeError("message")`` always works (the CLI rebuilds
an error raised inside the notebook from its class name and message). Third-party exceptions are wrapped
at the boundary of the module that calls the third party. Modules keep private control-flow exceptions
(a retry signal inside one function) to themselves; nothing else raised on purpose is defined elsewhere.

Must not: import anything from the project but ``redaction`` (every module imports this one).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from . import redaction as _redaction

# Exit statuses: the contract with schedulers (documented in the README's "Exit status" table).
EXIT_OK = 0  # every paper complete, or legitimately pending (a PDF not out yet); or nothing to do
EXIT_RUNTIME = 1  # a runtime failure not covered below (one line on stderr)
EXIT_USAGE = 2  # bad input: a malformed date or option, a bad parameter file; nothing written
EXIT_TASKS_FAILED = 3  # the day was written, but some task failed (its label names the cause); re-run to retry
EXIT_INCOMPLETE = 4  # the run stopped on purpose (a budget was reached): the rest is pending, a re-run continues
EXIT_REVIEW_PENDING = 5  # publish refused: papers still await a reviewer's decision
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: the LLM endpoint cannot be used (breaker tripped); no post
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: a scheduler should retry later

# When several days end differently (backfill, daily), the overall status is the most severe, in this order.
SEVERITY = (EXIT_UNAVAILABLE, EXIT_RUNTIME, EXIT_USAGE, EXIT_TASKS_FAILED, EXIT_INCOMPLETE, EXIT_TEMPFAIL, EXIT_OK)


def worst_exit_code(codes: "Iterable[int]") -> int:
    """The most severe of several exit statuses (0 for none)."""
    found = set(codes)
    return next((code for code in SEVERITY if code in found), max(found, default=EXIT_OK))


class DigestError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(DigestError):
    """The user asked for something malformed (bad date, bad option)."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A parameter file or environment variable is missing, unknown or of the wrong type.

    ``path`` is the file concerned (if any), ``key`` the parameter or variable (if known)."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class YAMLRefused(ConfigError, ValueError):
    """A YAML text too large or using aliases (safe_yaml.py); ``reason`` says which (with the line)."""

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(reason, path=path)
        self.reason = reason


class PortTakenError(UsageError):
    """The port asked for JupyterLab is already in use on 127.0.0.1 (``port``)."""

    def __init__(self, message: str, *, port: int | None = None) -> None:
        super().__init__(message)
        self.port = port


class NotYetAnnouncedError(DigestError):
    """The announcement for ``date`` is expected (at ``expected_at``) but not out yet; retry later."""

    exit_code = EXIT_TEMPFAIL

    def __init__(self, message: str, *, date: dt.date | None = None,
                 expected_at: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.date = date
        self.expected_at = expected_at


class SourceError(DigestError):
    """arXiv (RSS, API) answered badly, emptily or not at all: ``url`` asked, HTTP ``status`` if any."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class EmptyAnswerError(SourceError):
    """The API answered with no entries where papers were expected (after retries)."""


class MalformedAnswerError(SourceError):
    """An answer that is not the feed asked for (cut short, garbled, an error page): retried like a 503."""


class FulltextError(DigestError):
    """A paper's full text could not be obtained or read: ``paper_id``, the ``url`` and HTTP ``status``."""

    def __init__(self, message: str, *, paper_id: str | None = None, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.paper_id = paper_id
        self.url = url
        self.status = status


class LLMError(DigestError):
    """The OpenAI-compatible endpoint failed for one request (``task``: translate, interpret, check...)."""

    def __init__(self, message: str, *, task: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.task = task
        self.status = status


class LLMTransientError(LLMError):
    """A failure worth retrying (429, 5xx, timeout, connection); ``retry_after`` is the server's wish."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None,
                 task: str | None = None) -> None:
        super().__init__(message, task=task, status=status)
        self.retry_after = retry_after


class LLMTruncatedError(LLMTransientError):
    """The answer stopped at the token limit (``finish_reason == "length"``); ``content`` is the partial answer."""

    def __init__(self, message: str, *, content: str = "", task: str | None = None) -> None:
        super().__init__(message, task=task)
        self.content = content


class LLMMalformedError(LLMTransientError):
    """The answer was not the JSON object asked for (or not a chat completion); ``content`` is what came."""

    def __init__(self, message: str, *, content: str = "", task: str | None = None) -> None:
        super().__init__(message, task=task)
        self.content = content


class LLMRefusalError(LLMError):
    """The model refused (``message.refusal`` or ``finish_reason == "content_filter"``); not retried."""


class LLMContextOverflowError(LLMError):
    """The prompt did not fit the model's context window; ``window`` is the size the server named (if any).

    Not retried as is: the caller shrinks the paper text and asks once more."""

    def __init__(self, message: str, *, window: int | None = None, task: str | None = None) -> None:
        super().__init__(message, task=task)
        self.window = window


class LLMFatalError(LLMError):
    """The endpoint cannot be used (unreachable, key refused, unknown model, quota): the circuit breaker
    stops every call, the remaining tasks stay untouched for the next run, and no post is written.

    ``cause`` is one of ``unreachable``, ``auth``, ``model``, ``quota``; ``fix`` says what to check.
    """

    exit_code = EXIT_UNAVAILABLE

    def __init__(self, message: str, *, cause: str = "", base_url: str = "", fix: str = "") -> None:
        super().__init__(message)
        self.cause = cause
        self.base_url = base_url
        self.fix = fix


class LLMRateLimitedError(LLMFatalError):
    """The endpoint asks us to wait longer than the run may (``llm.max_rate_limit_wait_seconds``): the run
    stops at once, nothing published, exit 75 so that a scheduler retries after ``retry_at``."""

    exit_code = EXIT_TEMPFAIL

    def __init__(self, message: str, *, retry_at: dt.datetime | None = None, base_url: str = "",
                 fix: str = "") -> None:
        super().__init__(message, cause="rate_limited", base_url=base_url, fix=fix)
        self.retry_at = retry_at


class LLMUnavailableError(LLMFatalError):
    """A run stopped by the breaker: one line naming the cause and the fix (exit 69, no post)."""


class StoreError(DigestError):
    """The SQLite store at ``path`` is unusable (corrupt, wrong schema, locked)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class StaleReviewError(DigestError):
    """An approval refused: the ``fields`` it was of changed since the reviewer loaded them."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


class RunLockedError(DigestError):
    """Another run of the same output folder (``path``) holds the lock."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ReviewPendingError(DigestError):
    """Publish refused: papers of the day still await a reviewer's decision (``pending`` of them)."""

    exit_code = EXIT_REVIEW_PENDING

    def __init__(self, message: str, *, pending: int = 0) -> None:
        super().__init__(message)
        self.pending = pending


class RenderError(DigestError):
    """A post could not be rendered or parsed (``paper_id`` when one paper is the cause)."""

    def __init__(self, message: str, *, paper_id: str | None = None) -> None:
        super().__init__(message)
        self.paper_id = paper_id


class NotifyError(DigestError):
    """A notification could not be sent over ``channel`` (email, webhook): one line, never fatal."""

    def __init__(self, message: str, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.channel = channel


class SiteError(DigestError):
    """The Jekyll site at ``path`` could not take the post (git refused to commit or push)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class DailyBusyError(RunLockedError):
    """Another ``digest daily`` holds the output folder: this one did nothing; a scheduler retries later."""

    exit_code = EXIT_TEMPFAIL


# Names of environment variables whose values are secrets and must never be written anywhere
# (the list lives in redaction.py, which also learns the variable named by ``llm.api_key_env``).
SECRET_ENV_VARS = _redaction.SECRET_ENV_VARS


def redact(text: str) -> str:
    """The one redaction step (``redaction.redact_secrets``): the configured key, key-shaped tokens and
    URL credentials become ``***`` (so errors can be shown and stored)."""
    return _redaction.redact_secrets(text)
