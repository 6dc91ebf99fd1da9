"""Advisory file locks, so that overlapping runs (two cron jobs, a person and a cron job)
never write the same ticker's rows or models at once.

A lock is ``fcntl.flock`` on a file under ``HOME/locks/``: the kernel releases it when the
holder exits, even by ``kill -9``, so a crash never leaves a stale lock behind. A second
process waits up to ``timeout`` seconds, then gives up with :class:`LockError` (exit 6).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rnnforecast.errors import LockError

DEFAULT_TIMEOUT = 60.0
_POLL_SECONDS = 0.1

# Indirection so that tests can fake the clock.
_monotonic: Callable[[], float] = time.monotonic


@contextmanager
def hold(folder: Path, name: str, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    """Hold the lock ``folder/name.lock`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: try once) for another holder to finish. The file
    records the holder's pid for people looking at it; the lock is the flock, not the file.
    Raises LockError naming the lock and its holder when the wait runs out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = _monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _monotonic() >= deadline:
                    holder = _holder(path)
                    raise LockError(
                        f"{name} is locked by another rnnforecast process{holder} "
                        f"(waited {timeout:g} s; lock file {path})"
                    ) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
