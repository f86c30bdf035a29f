"""One editable text field of a review card, with its own undo history.

Browsers keep one undo stack per page: in a plain ``<textarea>`` (ipywidgets' ``Textarea``), Ctrl+Z pressed
after a card's own changes are undone goes on undoing the *previous* card's edit, off-screen, and that
loss is stored at once (issue 24). :class:`FieldEditor` is a small anywidget (its lab extension ships in
the ``anywidget`` wheel, so nothing is built or fetched) whose textarea never lets the browser's shared
undo run: Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z and Ctrl/Cmd+Y (and the Edit menu's ``historyUndo`` /
``historyRedo`` input events) are stopped and sent to Python as ``undo`` / ``redo``, where
:class:`FieldHistory` keeps this field's own past and future texts. Typing is sent after a short pause
or when the field loses focus, so one undo step is one burst of typing, not one keystroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import anywidget
import traitlets

_ESM = r"""
function render({ model, el }) {
  const area = document.createElement("textarea");
  area.spellcheck = false;
  area.style.width = "100%";
  area.style.boxSizing = "border-box";
  area.style.height = model.get("height");
  area.style.fontFamily = "inherit";
  area.value = model.get("value");
  let timer = null;
  const push = () => {
    clearTimeout(timer);
    timer = null;
    if (area.value !== model.get("value")) {
      model.set("value", area.value);
      model.save_changes();
    }
  };
  const history = (action) => { push(); model.send({ action }); };
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(push, model.get("debounce_ms"));
  });
  area.addEventListener("blur", push);
  // capture phase on the textarea itself: neither the browser's page-wide undo nor JupyterLab's
  // keyboard shortcuts (which listen further up) ever see these keys
  area.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key !== "z" && key !== "y") return;
    event.preventDefault();
    event.stopPropagation();
    history(key === "y" || event.shiftKey ? "redo" : "undo");
  }, true);
  area.addEventListener("beforeinput", (event) => {
    if (event.inputType === "historyUndo" || event.inputType === "historyRedo") {
      event.preventDefault();
      history(event.inputType === "historyUndo" ? "undo" : "redo");
    }
  });
  model.on("change:value", () => {
    const value = model.get("value");
    if (area.value !== value) area.value = value;
  });
  model.on("change:height", () => { area.style.height = model.get("height"); });
  el.appendChild(area);
}
export default { render };
"""


class FieldEditor(anywidget.AnyWidget):
    """A textarea whose Ctrl+Z / Ctrl+Y are this field's own (see the module docstring)."""

    _esm = _ESM
    value = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Unicode("18em").tag(sync=True)
    debounce_ms = traitlets.Int(500).tag(sync=True)

    def __init__(self, on_history: Callable[[str], None] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_history = on_history
        self.on_msg(self._message)

    def _message(self, _widget: object, content: dict, _buffers: object) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action in ("undo", "redo") and self._on_history is not None:
            self._on_history(action)


@dataclass
class FieldHistory:
    """One field's undo and redo texts (this card only: no other field's change is ever in here)."""

    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)

    def changed(self, before: str, after: str) -> None:
        """A new text typed (or restored): ``before`` can be undone to; the redo texts are gone."""
        if before != after:
            self.past.append(before)
            self.future.clear()

    def undo(self, current: str) -> str | None:
        """The text to show after an undo (None: nothing to undo)."""
        if not self.past:
            return None
        self.future.append(current)
        return self.past.pop()

    def redo(self, current: str) -> str | None:
        """The text to show after a redo (None: nothing to redo)."""
        if not self.future:
            return None
        self.past.append(current)
        return self.future.pop()
