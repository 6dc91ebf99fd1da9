"""Advisory file locks, so that overlapping runs (two cron jobs, a person and a cron job)
never write the same ticker's rows or models at once.

A lock is a :mod:`filelock` lock on ``HOME/locks/NAME.lock`` (``flock`` on Unix, a locked
byte range on Windows): the operating system releases it when the holder exits, even by
``kill -9``, so a crash never leaves a stale lock behind. A second process waits up to
``timeout`` seconds, then gives up with :class:`LockError` (exit 6). The holder's pid is
noted in ``NAME.pid`` beside it, for the message and for people looking.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from rnnforecast.errors import LockError

DEFAULT_WAIT = 60.0
"""Seconds a job waits for another process's lock on a ticker before it gives up."""
DEFAULT_TIMEOUT = DEFAULT_WAIT
_POLL_SECONDS = 0.1

# Indirection so that tests can fake the clock.
_monotonic: Callable[[], float] = time.monotonic


@contextmanager
def hold(folder: Path, name: str, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    """Hold the lock ``folder/name.lock`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: try once) for another holder to finish. The holder
    notes its pid in ``folder/name.pid`` for people looking at it; the lock is the file
    lock, not the note. Raises LockError naming the lock and its holder when the wait runs
    out; OSError if the folder cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.lock"
    note = folder / f"{name}.pid"
    lock = FileLock(str(path), mode=0o644)
    deadline = _monotonic() + timeout
    while True:
        try:
            lock.acquire(blocking=False)
            break
        except Timeout:
            if _monotonic() >= deadline:
                raise LockError(
                    f"{name} is locked by another rnnforecast process{_holder(note)} "
                    f"(waited {timeout:g} s; lock file {path})"
                ) from None
            time.sleep(_POLL_SECONDS)
    try:
        with suppress(OSError):  # the note is for people; the lock works without it
            note.write_text(f"{os.getpid()}\n", encoding="ascii")
        yield path
    finally:
        lock.release()


def _holder(note: Path) -> str:
    try:
        pid = note.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
