"""One exception root for the project.

Every failure a user can meet is a ``DigestError`` carrying the exit status the CLI
should return and a one-line message; third-party exceptions are wrapped at the
boundary of the module that calls the third party.
"""

from __future__ import annotations

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
    """A parameter file or environment variable is missing, unknown or of the wrong type."""


class NotYetAnnouncedError(DigestError):
    """The announcement for the date is expected but not out yet; retry later."""

    exit_code = EXIT_TEMPFAIL


class SourceError(DigestError):
    """arXiv (RSS, API) answered badly, emptily or not at all."""


class FulltextError(DigestError):
    """A paper's full text could not be obtained or read."""


class LLMError(DigestError):
    """The OpenAI-compatible endpoint failed for one request."""


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


class LLMUnavailableError(LLMFatalError):
    """A run stopped by the breaker: one line naming the cause and the fix (exit 69, no post)."""


class TasksFailedError(DigestError):
    """The day was written, but some task failed (its label in the post names the cause)."""

    exit_code = EXIT_TASKS_FAILED


class StoreError(DigestError):
    """The SQLite store is unusable (corrupt, wrong schema, locked)."""


class RunLockedError(DigestError):
    """Another run of the same output folder holds the lock."""


class ReviewPendingError(DigestError):
    """Publish refused: papers of the day still await a reviewer's decision (``pending`` of them)."""

    exit_code = EXIT_REVIEW_PENDING

    def __init__(self, message: str, *, pending: int = 0) -> None:
        super().__init__(message)
        self.pending = pending


class RenderError(DigestError):
    """A post could not be rendered or parsed."""


class BudgetExhaustedError(DigestError):
    """The run stopped calling the LLM on purpose: the next call would pass ``llm.max_cost_per_day`` or
    ``llm.max_tokens_per_day``. The day was written; ``pending`` tasks wait for a run with more budget."""

    exit_code = EXIT_INCOMPLETE

    def __init__(self, message: str, *, pending: int = 0) -> None:
        super().__init__(message)
        self.pending = pending


class NotifyError(DigestError):
    """A notification (e-mail, webhook) could not be sent: reported in one line, never fatal."""


class SiteError(DigestError):
    """The Jekyll site could not take the post (git refused to commit or push)."""


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
