"""One exception root for the project.

Every failure a user can meet is a ``DigestError`` carrying the exit status the CLI
should return and a one-line message; third-party exceptions are wrapped at the
boundary of the module that calls the third party.
"""

from __future__ import annotations

import os

# Exit statuses: the contract with schedulers (documented in the README's "Exit status" table).
EXIT_OK = 0  # every paper complete, or legitimately pending (a PDF not out yet); or nothing to do
EXIT_RUNTIME = 1  # a runtime failure not covered below (one line on stderr)
EXIT_USAGE = 2  # bad input: a malformed date or option, a bad parameter file; nothing written
EXIT_TASKS_FAILED = 3  # the day was written, but some task failed (its label names the cause); re-run to retry
EXIT_INCOMPLETE = 4  # the run stopped on purpose (a budget was reached): the rest is pending, a re-run continues
EXIT_REVIEW_PENDING = 5  # publish refused: papers still await a reviewer's decision
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: the LLM endpoint cannot be used (breaker tripped); no post
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: a scheduler should retry later


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
    """Authentication or quota failures: stop calling, leave the rest pending."""


class StoreError(DigestError):
    """The SQLite store is unusable (corrupt, wrong schema, locked)."""


class RunLockedError(DigestError):
    """Another run of the same output folder holds the lock."""


class RenderError(DigestError):
    """A post could not be rendered or parsed."""


# Names of environment variables whose values are secrets and must never be written anywhere.
SECRET_ENV_VARS = ("OPENAI_API_KEY", "DIGEST_API_KEY", "DIGEST_TRANSLATE_API_KEY", "DIGEST_INTERPRET_API_KEY")


def redact(text: str) -> str:
    """Replace any secret found in the environment by ``***`` (so errors can be shown and stored)."""
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 4 and value in text:
            text = text.replace(value, "***")
    return text
