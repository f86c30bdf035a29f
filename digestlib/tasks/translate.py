"""The abstract translation: ask, clean, validate, repair once (``exchange.py``), and return a total result.

``translate_abstract`` never raises for LLM trouble; its ``TranslationResult`` is ``DONE`` (validated),
``FAILED`` (rejected after one repair, or the request failed after the client's retries) or ``PENDING``
(the client's breaker tripped: authentication or quota). ``text`` is always displayable: the Chinese
translation when ``DONE``, the English abstract otherwise (render.py labels it from the status).

Owns: the translate task and the cleaning of its answer (:func:`clean_translation`). Must not: talk HTTP
(every request goes through ``LLMClient.complete``) or choose the labels readers see.
"""

from __future__ import annotations

import re
from typing import Mapping

from ..base.errors import LLMError, LLMFatalError
from ..llm.client import LLMRefusalError
from ..post.markup import FENCE_LINE_RE, clean_answer_markdown, escape_text
from ..base.models import Paper, ResultStatus
from .exchange import Request, TaskClient, exchange
from .prompts import PROMPT_VERSION, SOURCE_LANGUAGE, translation_messages
from .results import TranslationResult
from .validate import CJK_RE, translation_violations


_PREAMBLE_RES = [
    re.compile(r"^\s*(?:\*\*)?\s*(?:以下|下面|如下)?(?:是|为)?(?:该|本|这篇)?(?:论文)?(?:摘要)?的?(?:简体)?(?:中文)?"
               r"(?:翻译|译文)(?:结果)?(?:如下)?\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*"),
    re.compile(r"^\s*(?:\*\*)?\s*(?:中文|简体中文)?(?:摘要)?(?:翻译|译文)?\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*"
               r"(?=[\u4e00-\u9fff])"),
    re.compile(r"^\s*(?:sure[,!.]?\s*)?(?:here\s+is|here's)\s+the\s+(?:chinese\s+)?translation[^:：\n]*[:：]\s*", re.I),
]
_QUOTE_PAIRS = (("“", "”"), ('"', '"'), ("「", "」"), ("『", "』"), ("'", "'"))
_TRAILING_NOTE_RE = re.compile(r"\n+\s*(?:[（(]?\s*(?:注|说明|备注|译注|Note)\s*[:：]).*\Z", re.S | re.I)


def clean_translation(text: str) -> str:
    """Strip preambles (``翻译：``, ``以下是翻译``), fences, surrounding quotes and trailing notes; one paragraph."""
    t = _TRAILING_NOTE_RE.sub("", (text or "").strip()).strip()
    t = "\n".join(ln for ln in t.split("\n") if not FENCE_LINE_RE.match(ln)).strip()
    for _ in range(2):
        for rx in _PREAMBLE_RES:
            t = rx.sub("", t, count=1).strip()
    for left, right in _QUOTE_PAIRS:
        if len(t) > 2 and t.startswith(left) and t.endswith(right) and left not in t[1:-1] and right not in t[1:-1]:
            t = t[1:-1].strip()
    t = clean_answer_markdown(t)
    # one paragraph: drop list/quote markers and join lines
    pieces = [re.sub(r"^\s*(?:[-*+>]\s+)", "", ln).strip() for ln in t.split("\n")]
    pieces = [p for p in pieces if p]
    out = ""
    for p in pieces:
        if out and not (CJK_RE.match(out[-1]) or CJK_RE.match(p[0]) or out[-1] in "，。；：、）") :
            out += " "
        out += p
    return out


def translation_needed(lang: str) -> bool:
    """False for English output: arXiv abstracts are English already, and translating them would be paid for."""
    return lang != SOURCE_LANGUAGE


def keep_original(paper: Paper) -> TranslationResult:
    """English output: the abstract as written, ``DONE`` with no call (no model, nothing to pay); plain text
    escaped for Markdown, as the post shows any English abstract (it is the paper's text, not Markdown)."""
    return TranslationResult(ResultStatus.DONE, escape_text(paper.abstract.strip()),
                             "output language en: the original abstract is kept (no translation call)")


def translate_abstract(paper: Paper, client: TaskClient, glossary: Mapping[str, str] | None = None, *,
                       lang: str = "zh") -> TranslationResult:
    """The abstract in faithful, complete ``lang`` (Chinese by default), validated; see the module docstring
    for statuses. With ``lang`` English (the abstract's own language) nothing is asked: :func:`keep_original`."""
    if not translation_needed(lang):
        return keep_original(paper)
    version = PROMPT_VERSION["translate"]
    model = client.model_for("translate")
    abstract = paper.abstract.strip()

    def result(status: ResultStatus, text: str, detail: str = "") -> TranslationResult:
        return TranslationResult(status, text, detail, model=model, prompt_version=version)

    if not abstract:
        return result(ResultStatus.FAILED, "", "the paper has no abstract to translate")
    messages = translation_messages(paper, glossary, lang)
    request = Request("translate", model, version, lang, max_tokens=min(client.settings.max_output_tokens,
                                                                        max(1024, len(abstract))))

    def check(content: str, parsed: Mapping[str, object] | None) -> list[str]:
        return translation_violations(abstract, clean_translation(content), lang)

    try:
        answer = exchange(client, request, messages, check)
        if answer.problems:
            return result(ResultStatus.FAILED, paper.abstract,
                          "translation rejected after one retry: " + "; ".join(answer.problems))
        return result(ResultStatus.DONE, clean_translation(answer.content))
    except LLMFatalError as exc:
        return result(ResultStatus.PENDING, paper.abstract, f"not translated (LLM calls stopped): {exc.message}")
    except LLMRefusalError as exc:
        return result(ResultStatus.FAILED, paper.abstract, f"translation refused: {exc.message}")
    except LLMError as exc:
        return result(ResultStatus.FAILED, paper.abstract, f"translation failed: {exc.message}")
