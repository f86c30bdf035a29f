"""YAML that cannot hurt us: a size limit, and no aliases (a "billion laughs" file expands a few hundred
bytes of ``&a``/``*a`` into gigabytes). Parameter files and the glossary are written by hand; they have
no need for anchors, so an alias is refused with the line it is on rather than expanded.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import YAMLRefused

MAX_YAML_BYTES = 1_000_000  # a parameter file or glossary is a few KB; 1 MB is generous
EXCERPT_CHARS = 60


class _NoAliasLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases (``*name``) at composition time, before anything expands."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise YAMLRefused(f"YAML aliases (*{event.anchor}) are not allowed (line {line})")
        return super().compose_node(parent, index)


def load_yaml_text(text: str) -> object:
    """Parse ``text`` safely: size-limited, aliases refused. Raises ``YAMLRefused`` or ``yaml.YAMLError``.

    What comes back is whatever the text holds (a mapping, a list, a scalar or None): the caller checks."""
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise YAMLRefused(f"larger than {MAX_YAML_BYTES // 1000} KB")
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_file(path: Path) -> object:
    """Like :func:`load_yaml_text`, checking the size before reading the file."""
    path = Path(path)
    if path.stat().st_size > MAX_YAML_BYTES:
        raise YAMLRefused(f"larger than {MAX_YAML_BYTES // 1000} KB")
    return load_yaml_text(path.read_text(encoding="utf-8"))


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short ``repr`` of ``value`` for an error line (never the whole offending value)."""
    try:
        text = repr(value) if not isinstance(value, (list, dict, tuple)) else _shallow(value, limit)
    except RecursionError:  # pragma: no cover - guard
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shallow(value: list[object] | tuple[object, ...] | dict[object, object], limit: int) -> str:
    """repr of a container built only as far as ``limit`` characters (a huge list is never rendered whole)."""
    out: list[str] = []
    size = 0
    items = value.items() if isinstance(value, dict) else value
    opener, closer = ("{", "}") if isinstance(value, dict) else ("[", "]")
    for item in items:
        if isinstance(value, dict):
            part = f"{_small(item[0], limit)}: {_small(item[1], limit)}"
        else:
            part = _small(item, limit)
        out.append(part)
        size += len(part) + 2
        if size > limit:
            return opener + ", ".join(out) + ", …"
    return opener + ", ".join(out) + closer


def _small(item: object, limit: int) -> str:
    if isinstance(item, (list, dict, tuple)):
        return _shallow(item, limit)
    text = repr(item)
    return text if len(text) <= limit else text[: limit] + "…"
