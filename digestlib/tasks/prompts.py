"""The prompts: templates, their versions, the glossary, and the messages sent for each task.

Owns: loading ``digestlib/tasks/prompt_templates/*.md`` (their bytes are part of the LLM cache key through
``PROMPT_VERSION``), filling ``{{name}}`` placeholders, the interpretation's JSON schema, the glossary
(load it, pick the terms a text uses), neutralising ``<paper>``-like tags inside untrusted text, and the
chat messages of both tasks. Must not: call the LLM, validate answers, or talk HTTP.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Mapping

import yaml

from ..base.errors import ConfigError
from ..base.models import Paper
from ..base.safe_yaml import YAMLRefused, load_yaml_file
from .results import PARTS

PROMPTS_DIR = Path(__file__).with_name("prompt_templates")


INTERPRETATION_SCHEMA: dict[str, object] = {  # a JSON schema
    "type": "object",
    "properties": {
        "background": {"type": "string", "description": "研究背景与既有方法的问题：简体中文 Markdown 无序列表"},
        "method": {"type": "string", "description": "论文提出的方法：简体中文 Markdown 无序列表"},
        "results": {"type": "string", "description": "实验任务与结果（含论文报告的数字）：简体中文 Markdown 无序列表"},
    },
    "required": list(PARTS),
    "additionalProperties": False,
}
_SCHEMAS: dict[str, dict[str, object] | None] = {"translate": None, "interpret": INTERPRETATION_SCHEMA}

# The output language is a template variable: ONE set of (Chinese) prompts asks for zh, en or ja answers.
# zh's values render the prompts exactly as they read before the language became a variable (cache keys).
SOURCE_LANGUAGE = "en"  # arXiv abstracts are English: with language en nothing is translated
_NOTE = ("\n注意：输出语言为{name}：全部内容（包括加粗的小标题和“摘要未给出更多细节”这类说明）都用{name}书写；"
         "模型名、数据集名、指标名仍保留英文原文；上面的中文示例只说明格式。")
LANGUAGE_VALUES: dict[str, dict[str, str]] = {
    "zh": {"language_name": "简体中文", "reader_language": "中文", "language_note": ""},
    "en": {"language_name": "英语", "reader_language": "英语", "language_note": _NOTE.format(name="英语")},
    "ja": {"language_name": "日语", "reader_language": "日语", "language_note": _NOTE.format(name="日语")},
}


def language_values(lang: str) -> dict[str, str]:
    """The prompts' language placeholders for the output language ``lang`` (zh, en, ja)."""
    try:
        return LANGUAGE_VALUES[lang]
    except KeyError:
        raise ConfigError(f"no prompts for output language {lang!r} (one of: {', '.join(LANGUAGE_VALUES)})") from None


def interpretation_schema(lang: str = "zh") -> dict[str, object]:
    """The interpretation's JSON schema with its field descriptions in the output language's name."""
    if lang == "zh":
        return INTERPRETATION_SCHEMA
    name = language_values(lang)["language_name"]
    text = json.dumps(INTERPRETATION_SCHEMA, ensure_ascii=False).replace("简体中文", name)
    return json.loads(text)


def _load_prompts() -> dict[str, str]:
    return {p.name[: -len(".md")]: p.read_text(encoding="utf-8").strip()
            for p in sorted(PROMPTS_DIR.glob("*.md")) if p.name.count(".") >= 2}


PROMPTS: dict[str, str] = _load_prompts()


def prompt_version(task: str) -> str:
    """The task's prompt version (part of every cache key): a hash of its templates and answer schema."""
    h = hashlib.sha256()
    for name in sorted(n for n in PROMPTS if n.startswith(task + ".")):
        # hashed with zh's language values filled in: making the language a variable kept zh's cache keys
        text = re.sub(r"\{\{(\w+)\}\}", lambda m: LANGUAGE_VALUES["zh"].get(m.group(1), m.group(0)), PROMPTS[name])
        h.update(name.encode() + b"\0" + text.encode("utf-8") + b"\0")
    h.update(json.dumps(_SCHEMAS.get(task), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return f"{task}-{h.hexdigest()[:12]}"


PROMPT_VERSION: dict[str, str] = {task: prompt_version(task) for task in ("translate", "interpret", "weekly")}

_PLACEHOLDER_RE = re.compile(r"\{\{(\w+)\}\}")


def render_prompt(name: str, **values: str) -> str:
    """Fill ``{{name}}`` placeholders in one pass (inserted values are never re-expanded)."""
    template = PROMPTS[name]
    return _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), "")), template)


def load_glossary(path: str | Path | None) -> dict[str, str]:
    """Read a YAML mapping ``english term -> chinese rendering``; ``None`` gives an empty glossary."""
    if path is None:
        return {}
    path = Path(path)
    try:
        data = load_yaml_file(path)  # size-limited, aliases refused
    except FileNotFoundError:
        raise ConfigError(f"glossary file not found: {path}") from None
    except YAMLRefused as exc:
        raise ConfigError(f"glossary {path} refused: {exc.reason}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read glossary {path}: {exc.__class__.__name__}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"glossary {path} must be a mapping of English terms to Chinese renderings")
    glossary: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key.strip() or not value.strip():
            raise ConfigError(f"glossary {path}: entry {key!r} must map a term to a non-empty string")
        glossary[key.strip()] = value.strip()
    return glossary


@functools.lru_cache(maxsize=1024)
def _term_pattern(term: str) -> tuple[str, re.Pattern[str]]:
    words = [p for p in re.split(r"[\s-]+", term.strip().lower()) if p]
    pattern = re.compile(r"(?<![a-z])" + r"[\s-]+".join(map(re.escape, words)) + r"(?:s|es)?(?![a-z])")
    return max(words, key=len), pattern


def relevant_glossary(glossary: Mapping[str, str] | None, text: str, limit: int = 40) -> dict[str, str]:
    """The glossary entries whose English term occurs in ``text`` (case- and hyphen-insensitive)."""
    found: dict[str, str] = {}
    lower = text.lower()
    for term, zh in (glossary or {}).items():
        longest, pattern = _term_pattern(term)
        if longest in lower and pattern.search(lower):
            found[term] = zh
            if len(found) >= limit:
                break
    return found


def _glossary_block(terms: Mapping[str, str]) -> str:
    if not terms:
        return ""
    lines = "\n".join(f"- {en} → {zh}" for en, zh in terms.items())
    return f"术语表（这些术语必须使用以下译法）：\n{lines}\n\n"


_DATA_TAGS = ("paper", "abstract", "title")
_DATA_TAG_RE = re.compile(r"<\s*(/?)\s*(" + "|".join(_DATA_TAGS) + r")\b[^>]*>", re.I)


def neutralize_tags(text: str) -> str:
    """Make ``<paper>``, ``</abstract>``... inside untrusted text inert (``‹/paper›``)."""
    return _DATA_TAG_RE.sub(lambda m: f"‹{m.group(1)}{m.group(2).lower()}›", text or "")


def translation_messages(paper: Paper, glossary: Mapping[str, str] | None, lang: str = "zh") -> list[dict]:
    """The translation's messages into ``lang`` (zh, ja; en is never translated: translate.py)."""
    lv = language_values(lang)
    terms = relevant_glossary(glossary, paper.abstract)
    user = render_prompt("translate.user", **lv, glossary=_glossary_block(terms), title=neutralize_tags(paper.title),
                         abstract=neutralize_tags(paper.abstract.strip()))
    return [{"role": "system", "content": render_prompt("translate.system", **lv)}, {"role": "user", "content": user}]


def interpretation_messages(paper: Paper, paper_text: str, glossary: Mapping[str, str] | None, *,
                            abstract_only: bool, max_chars: int, lang: str = "zh") -> list[dict]:
    """The interpretation's messages, answered in ``lang``; the glossary (English term -> rendering in the
    output language) is left out for en, where the paper's own terms are the answer's."""
    lv = language_values(lang)
    text = paper_text.strip()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit("\n", 1)[0] + "\n[……后文因长度限制省略……]"
    terms = relevant_glossary(glossary if lang != SOURCE_LANGUAGE else None, text, limit=30)
    note = render_prompt("interpret.note_abstract" if abstract_only else "interpret.note_fulltext", **lv)
    user = render_prompt("interpret.user", **lv, glossary=_glossary_block(terms), title=neutralize_tags(paper.title),
                         source_note=note, paper_text=neutralize_tags(text))
    return [{"role": "system", "content": render_prompt("interpret.system", **lv)}, {"role": "user", "content": user}]
