"""What the store's queries return: frozen records, and the one timestamp format of every stored time.

Must not: query anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..base.models import FullText, ResultStatus, ReviewStatus


def timestamp() -> str:
    """Now, as every timestamp in the store is written (UTC, to the second): compare ``since`` values with it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def iso_or_none(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_or_none(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class FulltextRecord:
    """A stored full text with its retry bookkeeping."""

    fulltext: FullText
    attempts: int
    first_attempt_at: dt.datetime
    last_attempt_at: dt.datetime


@dataclass(frozen=True)
class ResultRecord:
    """A stored task result (translation or interpretation)."""

    arxiv_id: str
    version: int
    task: str
    status: ResultStatus
    content: dict[str, Any]
    detail: str
    unverified: tuple[str, ...]
    model: str


@dataclass(frozen=True)
class EditRecord:
    """A reviewer's text for one field, with the generated text it was written over."""

    field: str
    value: str
    base: str | None
    editor: str
    updated_at: str
    revision: int = 1


@dataclass(frozen=True)
class EditVersion:
    """One saved text of a field (``refused``: a stale save, kept but never current)."""

    field: str
    revision: int
    value: str
    editor: str
    saved_at: str
    made_on: int
    refused: bool


@dataclass(frozen=True)
class StaleSave:
    """A save refused because the field changed since the editor loaded it: both texts, to choose from."""

    field: str
    made_on: int
    current_revision: int
    current_value: str
    current_editor: str
    refused_value: str


@dataclass(frozen=True)
class ReviewRecord:
    """A reviewer's decision on one paper of one post: who and when."""

    arxiv_id: str
    version: int
    status: ReviewStatus
    reviewer: str
    decided_at: str

