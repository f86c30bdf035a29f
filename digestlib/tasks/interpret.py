"""The three-part 详细解读: ask, salvage, validate, repair once (``exchange.py``), check the evidence, return a
total result.

``interpret_paper`` never raises for LLM trouble; its ``InterpretationResult`` is ``DONE`` (validated,
with the numbers the paper does not hold listed in ``unverified_numbers``), ``FAILED`` or ``PENDING``
(breaker tripped), like the translation. A shrunken context window is retried once with less text.

Owns: the interpret task, salvaging the three parts from a structured, cut, malformed or plain answer,
and their final shape (one tight bullet list per part, cleaned by markup.py). Must not: talk HTTP (every
request goes through ``LLMClient.complete``) or render the post.
"""

from __future__ import annotations

import json
import re
from typing import Mapping

from ..base.errors import LLMError, LLMFatalError
from ..llm.client import LLMRefusalError, extract_json
from ..post.markup import clean_answer_markdown
from ..base.models import Interpretation, Paper, ResultStatus
from .evidence import unrelated_names, unverified_numbers
from .exchange import Messages, Request, TaskClient, exchange
from .prompts import PROMPT_VERSION, interpretation_messages, interpretation_schema
from .results import PARTS, InterpretationResult, is_abstract_only
from .validate import CJK_RE, interpretation_violations


_BULLET_RE = re.compile(r"^(\s*)(?:[-*+•·・▪●]|\d{1,2}[.)]|[（(]\d{1,2}[)）])\s+(.*)$")
_PART_PREFIX_RE = re.compile(r"^\s*(?:\*\*)?\s*(?:[（(]?[1-3][)）]|第[一二三]部分[:：]?)(?:\*\*)?\s*")


def normalize_bullets(text: str) -> str:
    """One tight Markdown bullet list: ``- `` markers, two-space nesting, no blank lines, no code indents."""
    text = _PART_PREFIX_RE.sub("", text.strip(), count=1)
    raw_lines = [ln for ln in text.split("\n") if ln.strip()]
    if not raw_lines:
        return ""
    matches = [_BULLET_RE.match(ln) for ln in raw_lines]
    has_bullets = any(matches)
    indents = sorted({len(m.group(1).replace("\t", "    ")) for m in matches if m})
    out: list[str] = []
    for ln, m in zip(raw_lines, matches):
        if m:
            level = min(3, indents.index(len(m.group(1).replace("\t", "    "))))
            out.append("  " * level + "- " + m.group(2).strip())
        elif has_bullets and out:
            # a continuation line: join it to the previous item (no indented code blocks)
            out[-1] = out[-1] + ("" if CJK_RE.match(ln.strip()[:1] or " ") else " ") + ln.strip()
        else:
            out.append("- " + ln.strip())
    if out and out[0].startswith("  "):
        out[0] = out[0].lstrip()
    return "\n".join(out)


_PART_KEYS = {
    "background": ("background", "背景", "研究背景", "研究背景与问题"),
    "method": ("method", "methods", "approach", "方法", "核心方法"),
    "results": ("results", "result", "experiments", "结果", "实验结果", "任务与结果"),
}


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"- {_as_text(v).strip()}" for v in value if _as_text(v).strip())
    if isinstance(value, dict):
        return "\n".join(f"- **{k}**：{_as_text(v).strip()}" for k, v in value.items())
    return "" if value is None else str(value)


def _parts_from_mapping(data: Mapping[str, object]) -> dict[str, str] | None:
    parts: dict[str, str] = {}
    for key, names in _PART_KEYS.items():
        for name in names:
            if name in data:
                parts[key] = _as_text(data[name])
                break
    return parts if len(parts) == len(PARTS) else None


def _partial_json_fields(content: str) -> dict[str, str]:
    """String fields of a JSON object cut anywhere (the last one may be unterminated)."""
    found: dict[str, str] = {}
    for m in re.finditer(r'"([A-Za-z_\u4e00-\u9fff]+)"\s*:\s*"((?:[^"\\]|\\.)*)("?)', content, re.S):
        raw = m.group(2)
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            raw = raw[:-1]
        raw = re.sub(r"\\u[0-9a-fA-F]{0,3}$", "", raw)
        try:
            value = json.loads(f'"{raw}"')
        except ValueError:
            value = raw.replace("\\n", "\n").replace('\\"', '"')
        found[m.group(1)] = value
    return found


_SPLIT_RE = re.compile(r"(?m)^\s*(?:#{1,6}\s*)?(?:\*\*)?\s*(?:[（(]?([1-3])[)）.、:：]|第([一二三])部分[:：]?)")


def _three_numbered_parts(content: str) -> dict[str, str] | None:
    """Plain text with ``1) ... 2) ... 3) ...`` (or ``1.``/``（1）``/``第一部分``) parts."""
    marks = []
    for m in _SPLIT_RE.finditer(content):
        n = int(m.group(1)) if m.group(1) else "一二三".index(m.group(2)) + 1
        if n == len(marks) + 1:
            marks.append(m)
    if len(marks) != 3:
        return None
    parts = {}
    for i, key in enumerate(PARTS):
        end = marks[i + 1].start() if i + 1 < 3 else len(content)
        parts[key] = content[marks[i].end():end].strip().lstrip("*").strip()
    return parts


def salvage_parts(content: str, parsed: Mapping[str, object] | None = None) -> dict[str, str] | None:
    """The three parts from a parsed object, JSON (possibly cut mid-way) or ``1) 2) 3)`` plain text."""
    if parsed:
        parts = _parts_from_mapping(parsed)
        if parts:
            return parts
    data = extract_json(content or "")
    if data:
        parts = _parts_from_mapping(data)
        if parts:
            return parts
    fields = _partial_json_fields(content or "")
    if fields:
        parts = _parts_from_mapping(fields)
        if parts:
            return parts
    return _three_numbered_parts(content or "")


def _finish_parts(parts: Mapping[str, str]) -> Interpretation | None:
    cleaned = {k: normalize_bullets(clean_answer_markdown(parts.get(k) or "")) for k in PARTS}
    if any(len(v) < 4 for v in cleaned.values()):
        return None
    return Interpretation(**cleaned)


def interpret_paper(paper: Paper, paper_text: str, client: TaskClient,
                    glossary: Mapping[str, str] | None = None, *, lang: str = "zh") -> InterpretationResult:
    """The three-part 详细解读 from the paper's text (or its abstract, labelled ``source="abstract"``)."""
    version = PROMPT_VERSION["interpret"]
    model = client.model_for("interpret")
    abstract_only = is_abstract_only(paper, paper_text)
    source = "abstract" if abstract_only else "fulltext"
    text = paper_text or ""
    if abstract_only and len(paper.abstract.strip()) >= len(text.strip()):
        text = paper.abstract
    evidence = f"{paper.title}\n{paper.abstract}\n{paper_text or ''}"

    def result(status: ResultStatus, interpretation: Interpretation | None = None, detail: str = "",
               unverified: tuple[str, ...] = ()) -> InterpretationResult:
        return InterpretationResult(status, interpretation, detail, unverified, source, model=model,
                                    prompt_version=version)

    if not text.strip():
        return result(ResultStatus.FAILED, detail="no paper text and no abstract to interpret")
    budget_chars = max(4000, client.text_budget_tokens() * 4)
    messages = interpretation_messages(paper, text, glossary, abstract_only=abstract_only, max_chars=budget_chars,
                                       lang=lang)

    def parts_problems(content: str, parsed: Mapping[str, object] | None) -> tuple[dict[str, str] | None, list[str]]:
        parts = salvage_parts(content, parsed)
        if parts is None:
            return None, ["回答不是包含 background、method、results 三个字段的 JSON 对象"]
        problems = interpretation_violations(parts, paper, evidence, lang)
        if not problems and _finish_parts(parts) is None:
            problems = ["清理格式后某部分为空（不要使用标题、HTML 或代码块）"]
        return parts, problems

    def smaller() -> Messages:
        """The window is smaller than we assumed: send what it leaves (the client learnt its size), once."""
        return interpretation_messages(paper, text, glossary, abstract_only=abstract_only, lang=lang,
                                       max_chars=min(int(budget_chars * 0.6), max(2000, client.text_budget_tokens() * 3)))

    request = Request("interpret", model, version, lang, schema=interpretation_schema(lang),
                      schema_name="interpretation", salvage=True)
    try:
        answer = exchange(client, request, messages, lambda content, parsed: parts_problems(content, parsed)[1],
                          smaller=smaller)
        if answer.problems:
            return result(ResultStatus.FAILED, detail="interpretation rejected after one retry: " + "; ".join(answer.problems))
        parts, note = parts_problems(answer.content, answer.parsed)[0], answer.note
    except LLMFatalError as exc:
        return result(ResultStatus.PENDING, detail=f"not interpreted (LLM calls stopped): {exc.message}")
    except LLMRefusalError as exc:
        return result(ResultStatus.FAILED, detail=f"interpretation refused: {exc.message}")
    except LLMError as exc:
        return result(ResultStatus.FAILED, detail=f"interpretation failed: {exc.message}")

    interpretation = _finish_parts(parts or {})
    if interpretation is None:  # pragma: no cover - parts_problems already checked
        return result(ResultStatus.FAILED, detail="interpretation empty after cleaning")
    combined = "\n".join((interpretation.background, interpretation.method, interpretation.results))
    unverified = unverified_numbers(combined, evidence)
    if not abstract_only:
        unknown = unrelated_names(combined, evidence)
        if unknown:
            flag = "flagged: most names are not in the paper text (" + ", ".join(unknown[:8]) + ")"
            note = f"{note}; {flag}" if note else flag
    return result(ResultStatus.DONE, interpretation, note, unverified)
