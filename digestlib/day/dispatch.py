"""LLM tasks in priority order on a fixed number of threads, some held back while a probe is out.

Why not a plain ``ThreadPoolExecutor``: its queue is first in, first out. A day submits every translation at
once (each needs only its abstract) and each interpretation later, when its paper's text is stored; in
submission order the interpretations (the longer chain: download, extraction, then the call) wait behind
every translation, and the last round of calls runs half empty. And until the endpoint has answered one
structured request, the interpretations must go one at a time (``LLMClient`` asks for json_schema once,
not once per request already waiting), so a slot given to a second interpretation then is a slot idle.

:class:`PriorityDispatcher` keeps the executor (its threads, its shutdown and cancellation) but decides at
the moment a thread is free which task it runs: the highest priority (lowest number) among the tasks not
held back, first come first served within a priority. A task submitted with ``probe=`` is held back while
another probing task is running and ``probe()`` still says False (nothing known yet); the first such task
runs alone, the others of its kind follow once it has finished.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["PriorityDispatcher"]


@dataclass(order=True)
class _Task:
    priority: int
    seq: int
    fn: Callable[..., object] = field(compare=False)
    args: tuple = field(compare=False)
    future: Future = field(compare=False)
    probe: Callable[[], bool] | None = field(compare=False, default=None)


class PriorityDispatcher:
    """``submit(priority, fn, *args, probe=None) -> Future`` on ``workers`` threads (see the module doc).

    Every ``submit`` queues one "run the best task now" job on the executor, so there are never more
    jobs than tasks and each job takes exactly one task: the order is decided when a thread is free, not
    when the task was submitted. ``shutdown`` cancels what has not started."""

    def __init__(self, workers: int, *, thread_name_prefix: str = "llm") -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=thread_name_prefix)
        self._cond = threading.Condition()
        self._waiting: list[_Task] = []
        self._seq = itertools.count()
        self._probing = False  # a task submitted with ``probe`` is running while nothing is known yet

    def submit(self, priority: int, fn: Callable[..., object], *args: object,
               probe: Callable[[], bool] | None = None) -> Future:
        future: Future = Future()
        with self._cond:
            self._waiting.append(_Task(priority, next(self._seq), fn, args, future, probe))
            self._cond.notify_all()
        self._executor.submit(self._run_best)
        return future

    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop the threads; with ``cancel_futures`` the tasks not started are cancelled (their futures say so)."""
        if cancel_futures:
            with self._cond:
                dropped, self._waiting = self._waiting, []
                self._cond.notify_all()
            for task in dropped:
                task.future.cancel()
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    @staticmethod
    def _known(task: _Task) -> bool:
        """``task.probe()``; a probe that fails counts as known: the task then runs and meets the same
        error itself, reported through its future, instead of waiting for ever."""
        try:
            return bool(task.probe())  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - see the docstring
            return True

    def _held(self, task: _Task) -> bool:
        return task.probe is not None and self._probing and not self._known(task)

    def _take(self) -> tuple[_Task, bool] | None:
        """The best task not held back (waiting while only held-back tasks are left); None once shut down."""
        with self._cond:
            while True:
                if not self._waiting:
                    return None  # cancelled by ``shutdown``
                ready = [t for t in self._waiting if not self._held(t)]
                if ready:
                    task = min(ready)
                    self._waiting.remove(task)
                    probing = task.probe is not None and not self._probing and not self._known(task)
                    self._probing = self._probing or probing
                    return task, probing
                self._cond.wait()

    def _run_best(self) -> None:
        taken = self._take()
        if taken is None:
            return
        task, probing = taken
        try:
            if task.future.set_running_or_notify_cancel():
                try:
                    task.future.set_result(task.fn(*task.args))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                    task.future.set_exception(exc)
        finally:
            if probing:
                with self._cond:
                    self._probing = False
                    self._cond.notify_all()
