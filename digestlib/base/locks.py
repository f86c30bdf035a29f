"""The output folder's locks: one run (``digest run`` / ``publish`` / ``review`` regeneration) at a time,
and one ``digest daily`` at a time, each a file lock under the folder.

Owns: taking and releasing those locks, and the errors a second comer gets. Must not: know what is
done under a lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from .errors import DailyBusyError, DigestError, RunLockedError

RUN_LOCK_NAME = ".digest.lock"
DAILY_LOCK_NAME = ".daily.lock"


@contextmanager
def _folder_lock(out_dir: Path, name: str, wait_seconds: float,
                 refused: Callable[[], DigestError]) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / name))
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise refused() from None
    try:
        yield
    finally:
        lock.release()


def run_lock(out_dir: Path, wait_seconds: float) -> Iterator[None]:
    """One run per output folder at a time: the second waits up to ``wait_seconds`` or refuses."""
    return _folder_lock(out_dir, RUN_LOCK_NAME, wait_seconds, lambda: RunLockedError(
        f"another digest run is using {out_dir}; try again when it has finished", path=str(out_dir)))


def daily_lock(out_dir: Path) -> Iterator[None]:
    """One ``digest daily`` per output folder: a second one refuses at once (exit 75), never waits."""
    return _folder_lock(out_dir, DAILY_LOCK_NAME, 0, lambda: DailyBusyError(
        f"another `digest daily` is working on {out_dir}; this one did nothing (a scheduler retries later)",
        path=str(out_dir)))
