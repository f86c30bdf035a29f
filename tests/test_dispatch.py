"""The LLM task dispatcher: priority order when a thread is free, one probing task alone, cancellation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest

from digestlib.day.dispatch import PriorityDispatcher

WAIT = 5.0


def _gate(dispatcher: PriorityDispatcher, workers: int) -> threading.Event:
    """Occupy every thread until the returned event is set, so that what follows queues up."""
    release, started = threading.Event(), threading.Barrier(workers + 1)

    def hold() -> None:
        started.wait(WAIT)
        release.wait(WAIT)

    for _ in range(workers):
        dispatcher.submit(-1, hold)
    started.wait(WAIT)
    return release


def test_a_free_thread_takes_the_highest_priority_then_the_oldest() -> None:
    dispatcher = PriorityDispatcher(1)
    order: list[str] = []
    release = _gate(dispatcher, 1)
    futures = [dispatcher.submit(1, order.append, "translate-1"), dispatcher.submit(1, order.append, "translate-2"),
               dispatcher.submit(0, order.append, "interpret-1"), dispatcher.submit(0, order.append, "interpret-2")]
    release.set()
    for future in futures:
        future.result(WAIT)
    dispatcher.shutdown()
    assert order == ["interpret-1", "interpret-2", "translate-1", "translate-2"]


def test_probing_tasks_go_one_at_a_time_until_the_probe_says_known_and_others_fill_the_threads() -> None:
    dispatcher = PriorityDispatcher(3)
    known = threading.Event()
    lock = threading.Lock()
    running: set[str] = set()
    seen_together: list[set[str]] = []
    first_probe_may_end = threading.Event()

    def task(name: str) -> str:
        with lock:
            running.add(name)
            seen_together.append(set(running))
        if name == "interpret-1":
            first_probe_may_end.wait(WAIT)
            known.set()  # the endpoint answered: the mode is known now
        else:
            time.sleep(0.05)
        with lock:
            running.discard(name)
        return name

    release = _gate(dispatcher, 3)
    interps = [dispatcher.submit(0, task, f"interpret-{i}", probe=known.is_set) for i in (1, 2, 3)]
    translations = [dispatcher.submit(1, task, f"translate-{i}") for i in (1, 2, 3, 4)]
    release.set()
    for future in translations:  # the translations finish while the first interpretation is still out
        assert future.result(WAIT).startswith("translate")
    assert not interps[1].done() and not interps[2].done()
    assert all(not ({"interpret-2", "interpret-3"} & together) for together in seen_together)
    first_probe_may_end.set()
    assert [f.result(WAIT) for f in interps] == ["interpret-1", "interpret-2", "interpret-3"]
    dispatcher.shutdown()


def test_a_probe_that_fails_hands_the_probe_to_the_next_task_and_its_error_to_its_future() -> None:
    dispatcher = PriorityDispatcher(2)
    calls: list[str] = []

    def refused(name: str) -> None:
        calls.append(name)
        raise RuntimeError(f"{name} refused")

    first = dispatcher.submit(0, refused, "interpret-1", probe=lambda: False)
    second = dispatcher.submit(0, refused, "interpret-2", probe=lambda: False)
    for future, name in ((first, "interpret-1"), (second, "interpret-2")):
        with pytest.raises(RuntimeError, match=f"{name} refused"):
            future.result(WAIT)
    dispatcher.shutdown()
    assert sorted(calls) == ["interpret-1", "interpret-2"]


def test_shutdown_with_cancel_cancels_what_has_not_started() -> None:
    dispatcher = PriorityDispatcher(1)
    release = _gate(dispatcher, 1)
    waiting = [dispatcher.submit(1, time.sleep, 0) for _ in range(3)]
    threading.Timer(0.2, release.set).start()
    dispatcher.shutdown(wait=True, cancel_futures=True)
    for future in waiting:
        assert future.cancelled()
        with pytest.raises(CancelledError):
            future.result(0)


def test_a_probe_that_raises_holds_nothing_back() -> None:
    """A probe that cannot answer (a store error) must not leave tasks waiting for ever."""
    dispatcher = PriorityDispatcher(2)

    def broken() -> bool:
        raise OSError("the store is gone")

    futures = [dispatcher.submit(0, abs, -n, probe=broken) for n in (1, 2, 3)]
    assert [f.result(WAIT) for f in futures] == [1, 2, 3]
    dispatcher.shutdown()
