"""Translate abstracts and interpret papers: the LLM tasks, each total (a status, never an exception).

Every request goes through ``LLMClient.complete`` (this package never talks HTTP). Paper text is
untrusted: it is sent inside ``<paper>`` / ``<abstract>`` tags with any such tags in it neutralised,
the system prompts tell the model to ignore instructions inside, and every answer is validated and
cleaned so that nothing in a paper can change the post's structure or inject content.

Results carry a ``models.ResultStatus``: ``DONE`` (validated answer), ``FAILED`` (rejected after one
repair retry, or the request failed after the client's retries), ``PENDING`` (the client's breaker tripped:
authentication or quota; left for a later run), ``OFFLINE`` (no endpoint: offline.py).

Modules, in the order a task runs through them:

=================  ==============================================================================
``prompts``        templates in ``digestlib/tasks/prompt_templates/``, their versions (cache keys), glossary, messages
``translate``      the abstract translation, and the cleaning of its answer
``interpret``      the three-part 详细解读: salvage of the parts, repair, final bullet lists
``validate``       length caps, language share, refusals, echoes, the other task's answer, injections
``evidence``       numbers and names of an answer looked up in the paper text
``offline``        no endpoint: the English abstract and an extractive LexRank summary
``results``        the result types, ``PARTS``, ``is_abstract_only``, ``failure_cause``
``exchange``       the one ask -> validate -> repair-once conversation both tasks hold with the model
``engines``        who answers a day's tasks (``LLMTasks`` or ``OfflineTasks``), chosen once
=================  ==============================================================================

Markdown cleaning of answers is :func:`digestlib.post.markup.clean_answer_markdown` (shared with render.py's
escaping in one module). This package must not talk HTTP, touch the store, or choose the words of a post.
This ``__init__`` only re-exports what importers use.
"""

from __future__ import annotations

from .engines import ENGINES, DayTasks, LLMTasks, OfflineTasks, open_tasks
from .evidence import missing_numbers, unrelated_names, unverified_numbers
from .interpret import interpret_paper, normalize_bullets, salvage_parts
from .offline import offline_interpretation, offline_translation
from .prompts import (INTERPRETATION_SCHEMA, PROMPT_VERSION, PROMPTS, PROMPTS_DIR, interpretation_messages,
                      interpretation_schema, language_values, load_glossary, neutralize_tags, relevant_glossary, render_prompt, translation_messages)
from .results import PARTS, InterpretationResult, TranslationResult, failure_cause, is_abstract_only
from .translate import clean_translation, keep_original, translate_abstract, translation_needed
from .validate import (answer_too_long, cjk_ratio, echo_share, injection_signals, interpretation_violations,
                       language_share, mostly_language, translation_violations)

__all__ = [
    "ENGINES",
    "DayTasks",
    "LLMTasks",
    "OfflineTasks",
    "open_tasks",
    "INTERPRETATION_SCHEMA",
    "InterpretationResult",
    "PARTS",
    "PROMPTS",
    "PROMPTS_DIR",
    "PROMPT_VERSION",
    "TranslationResult",
    "answer_too_long",
    "cjk_ratio",
    "clean_translation",
    "echo_share",
    "failure_cause",
    "injection_signals",
    "interpret_paper",
    "interpretation_messages",
    "interpretation_schema",
    "keep_original",
    "language_values",
    "interpretation_violations",
    "is_abstract_only",
    "language_share",
    "load_glossary",
    "missing_numbers",
    "mostly_language",
    "neutralize_tags",
    "normalize_bullets",
    "offline_interpretation",
    "offline_translation",
    "relevant_glossary",
    "render_prompt",
    "salvage_parts",
    "translate_abstract",
    "translation_messages",
    "translation_needed",
    "translation_violations",
    "unrelated_names",
    "unverified_numbers",
]
