"""Showing things in a notebook: the one place post/ reaches ``IPython.display``.

IPython is imported on first use (:func:`ipython_display`, this module's one lazy load): the processes that
only render, report or publish a day (the CLI, a scheduler) import post/ and never need IPython, while in a
kernel it is already loaded and costs nothing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["display", "html", "ipython_display", "markdown"]


def ipython_display() -> ModuleType:
    """``IPython.display``, imported on first use (see the module docstring)."""
    return importlib.import_module("IPython.display")


def display(*objs: object, **kwargs: object) -> None:
    """``IPython.display.display``: a rich output of the cell (``raw=True``: ``objs`` are mime bundles)."""
    ipython_display().display(*objs, **kwargs)


def markdown(text: str) -> object:
    """A Markdown output (``IPython.display.Markdown``)."""
    return ipython_display().Markdown(text)


def html(text: str) -> object:
    """An HTML output (``IPython.display.HTML``)."""
    return ipython_display().HTML(text)
