"""Faults from outside the program, turned into the error hierarchy.

The CLI's edge calls :func:`translate` on any exception that is not one of ours, so that a
read-only home, a full disk, a corrupt database or a name too long ends with a documented
exit code and one line, and exit 1 ("a bug") is left for real bugs; the jobs over several
tickers (``fetch``, ``run``, ``train --workers``) call it too, so that such a fault fails its
ticker, not the batch. Running out of memory names the settings to lower. Nothing here
imports TensorFlow.
"""

from __future__ import annotations

import errno
import sqlite3

from rnnforecast.errors import (
    DataError,
    EnvironmentFault,
    ModelError,
    RnnForecastError,
    UsageError,
)

MEMORY_KEYS = ("model.units", "model.dense_units", "model.layers", "train.batch_size")
"""The settings that decide how much memory training needs."""

_MEMORY_ERRORS = ("ResourceExhaustedError", "OutOfMemoryError")
"""Class names TensorFlow (and XLA) use when an allocation fails; matched by name so that
this module does not import TensorFlow."""


def too_large() -> ModelError:
    return ModelError(f"model too large for memory: lower {', '.join(MEMORY_KEYS)}")


def is_memory_error(exc: BaseException) -> bool:
    """True for MemoryError and TensorFlow's allocation failures."""
    return isinstance(exc, MemoryError) or type(exc).__name__ in _MEMORY_ERRORS


def _where(exc: OSError, limit: int = 120) -> str:
    """`` PATH`` for the message, shortened in the middle past ``limit`` characters."""
    name = str(exc.filename) if exc.filename is not None else ""
    if len(name) > limit:
        name = name[: limit // 2 - 2] + "..." + name[-(limit // 2 - 1) :]
    return f" {name}" if name else ""


def translate(exc: BaseException) -> RnnForecastError | None:
    """The error an outside fault stands for, or None if ``exc`` looks like a bug.

    - MemoryError, TensorFlow's ResourceExhaustedError: ModelError (exit 4).
    - ENAMETOOLONG: UsageError (exit 2), a path part longer than the file system allows.
    - Any other OSError (EACCES, EROFS, ENOSPC, EIO, ...): EnvironmentFault (exit 8),
      with the path and the system's reason.
    - sqlite3.DatabaseError that the store did not catch itself: DataError (exit 3).
    """
    if isinstance(exc, RnnForecastError):
        return exc
    if is_memory_error(exc):
        return too_large()
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        if exc.errno == errno.ENAMETOOLONG:
            return UsageError(f"name too long{_where(exc)}: use shorter folder or file names")
        return EnvironmentFault(f"cannot read or write{_where(exc)}: {reason}")
    if isinstance(exc, sqlite3.DatabaseError):
        return DataError(f"the data store cannot be read ({exc})")
    return None
