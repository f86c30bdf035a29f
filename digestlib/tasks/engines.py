"""Who answers a day's tasks, chosen once where the day starts: the LLM endpoint, or offline.

Like papermill's engine registry: :data:`ENGINES` names the strategies, :func:`open_tasks` picks one
from the configuration (an endpoint is configured, or not), and the day (``day/pipeline``) and a reviewer's
regenerate (``review/regenerate``) call the same methods whichever it is, with no ``if offline`` of their
own. :class:`OfflineTasks` answers at once and for free (the English abstract, an extractive summary:
``offline.py``); :class:`LLMTasks` asks through ``LLMClient`` (the prompts, validation and repair of
``translate.py`` / ``interpret.py``).

Owns: that choice and the questions a day asks of it (is a result final, the paper-text budget, what
stopped the calls, what the run should tell about its retries). Must not: touch the store (it is handed
in as the client's cache), schedule work, or talk HTTP itself.
"""

from __future__ import annotations

import threading
from typing import Mapping, Protocol

import httpx

from ..base.config import Config, LLMSettings
from ..base.errors import LLMFatalError
from ..base.models import INTERPRET, Paper, ResultStatus
from ..llm.client import LLMCache, LLMClient
from .exchange import TaskClient
from .interpret import interpret_paper
from .offline import offline_interpretation, offline_translation
from .prompts import load_glossary
from .results import InterpretationResult, TranslationResult
from .translate import translate_abstract


class DayTasks(Protocol):
    """What a day (or a regenerate) asks of whoever answers its tasks."""

    paid: bool  # calls cost money or tokens: the day's budget applies (``day/spend``)

    @property
    def fatal_error(self) -> LLMFatalError | None: ...

    def discover(self) -> None: ...

    def structured_mode_known(self) -> bool: ...

    def text_budget_tokens(self) -> int: ...

    def settles(self, status: ResultStatus) -> bool: ...

    def translate(self, paper: Paper) -> TranslationResult: ...

    def interpret(self, paper: Paper, paper_text: str) -> InterpretationResult: ...

    def cut_answers(self) -> int: ...

    def closing_notes(self) -> list[str]: ...

    def close(self) -> None: ...


class OfflineTasks:
    """No endpoint: the English abstract and an extractive summary, final for an offline run."""

    paid = False
    fatal_error: LLMFatalError | None = None

    def __init__(self, settings: LLMSettings, lang: str) -> None:
        self.settings, self.lang = settings, lang

    @classmethod
    def open(cls, cfg: Config, cache: LLMCache, *, http_client: httpx.Client | None = None) -> "OfflineTasks":
        load_glossary(cfg.glossary_file)  # unused offline, but a broken glossary file is refused here too
        return cls(cfg.llm, cfg.language)

    def discover(self) -> None:
        """Nothing to ask."""

    def structured_mode_known(self) -> bool:
        return True  # no structured requests: interpretations need not go one at a time

    def text_budget_tokens(self) -> int:
        return self.settings.text_budget_tokens

    def settles(self, status: ResultStatus) -> bool:
        """An offline result is as final as offline gets (a run with an endpoint replaces it)."""
        return status in (ResultStatus.DONE, ResultStatus.OFFLINE)

    def translate(self, paper: Paper) -> TranslationResult:
        return offline_translation(paper, self.lang)

    def interpret(self, paper: Paper, paper_text: str) -> InterpretationResult:
        return offline_interpretation(paper, paper_text)

    def cut_answers(self) -> int:
        return 0

    def closing_notes(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


class LLMTasks:
    """The endpoint answers, through ``client`` (an ``LLMClient``, or one that wraps it)."""

    paid = True

    def __init__(self, client: TaskClient, llm: LLMClient, glossary: Mapping[str, str], lang: str) -> None:
        self.client, self.llm, self.glossary, self.lang = client, llm, glossary, lang
        self._discovered = False
        self._discover_lock = threading.Lock()

    @classmethod
    def open(cls, cfg: Config, cache: LLMCache, *, http_client: httpx.Client | None = None) -> "LLMTasks":
        glossary = load_glossary(cfg.glossary_file) if cfg.glossary_file else {}
        client = LLMClient(cfg.llm, cache, env=cfg.environ, day=cfg.date.isoformat(), http_client=http_client)
        return cls(client, client, glossary, cfg.language)

    @property
    def fatal_error(self) -> LLMFatalError | None:
        """The error that tripped the client's breaker (authentication, quota...): nothing more is asked."""
        return self.llm.fatal_error

    def discover(self) -> None:
        """Ask the endpoint what it is (window, slots, remembered modes) once, before the first call."""
        with self._discover_lock:
            if not self._discovered:
                self._discovered = True
                self.llm.discover()

    def structured_mode_known(self) -> bool:
        """Whether the endpoint has answered a structured (interpretation) request yet, in this run or an
        earlier one: until then interpretations go one at a time (``day/dispatch``)."""
        return self.llm.structured_mode_known(self.llm.model_for(INTERPRET))

    def text_budget_tokens(self) -> int:
        """The paper-text budget, always after discovery: under ``auto`` it follows the window the endpoint
        names, so a text read before the run's first call (a stored one) is cut as every later one is."""
        self.discover()
        return self.client.text_budget_tokens()

    def settles(self, status: ResultStatus) -> bool:
        """Pay once: a done result is final (only an explicit regenerate replaces it)."""
        return status is ResultStatus.DONE

    def translate(self, paper: Paper) -> TranslationResult:
        return translate_abstract(paper, self.client, self.glossary, lang=self.lang)

    def interpret(self, paper: Paper, paper_text: str) -> InterpretationResult:
        return interpret_paper(paper, paper_text, self.client, self.glossary, lang=self.lang)

    def cut_answers(self) -> int:
        """Answers cut at the token limit (``finish_reason: length``) not asked again: the retries' cap."""
        return int(self.llm.stats.get("truncation_retries_refused", 0))

    def closing_notes(self) -> list[str]:
        """Answers cut at the token limit, one after another, were not asked again past the run's cap."""
        stats = self.llm.stats
        if not self.cut_answers():
            return []
        return [f"{stats['truncation_retries_refused']} answer(s) cut at the token limit were not asked again: this "
                f"run's retries for cut answers had billed {stats['truncated_tokens']} tokens (at most "
                f"{self.llm.truncation_retry_tokens})"]

    def close(self) -> None:
        self.llm.close()


ENGINES: dict[str, type[LLMTasks] | type[OfflineTasks]] = {"llm": LLMTasks, "offline": OfflineTasks}


def engine_name(settings: LLMSettings) -> str:
    """``llm`` when an endpoint is configured, else ``offline`` (the run completes without one)."""
    return "llm" if settings.configured else "offline"


def open_tasks(cfg: Config, cache: LLMCache, *, http_client: httpx.Client | None = None) -> DayTasks:
    """The day's task engine, chosen once from ``cfg.llm``; ``cache`` is the store (answers, accounting,
    remembered endpoint capabilities); ``http_client`` carries the LLM requests (a test's ``MockTransport``)."""
    return ENGINES[engine_name(cfg.llm)].open(cfg, cache, http_client=http_client)
