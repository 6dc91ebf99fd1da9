"""The one error hierarchy of rnnforecast.

Every failure the core can foresee is raised as a subclass of :class:`RnnForecastError`;
each subclass carries the process exit code the CLI turns it into. The CLI is the only
place that catches these and prints them (one line on stderr).
"""

from __future__ import annotations


class RnnForecastError(Exception):
    """Base class; never raised directly. ``exit_code`` 1 means an internal error."""

    exit_code = 1


class UsageError(RnnForecastError):
    """Bad usage or configuration: unknown option, bad value, missing file, bad ticker."""

    exit_code = 2


class DataError(RnnForecastError):
    """Bad or insufficient data: no rows, missing columns, non-numeric values, too few rows."""

    exit_code = 3


class ModelError(RnnForecastError):
    """A model bundle is missing, corrupt, or incompatible with the data."""

    exit_code = 4


class SourceError(RnnForecastError):
    """The data source is unavailable (network down, rate limited): worth retrying later."""

    exit_code = 5


class LockError(RnnForecastError):
    """Another rnnforecast process holds the lock for too long."""

    exit_code = 6


class PartialFailure(RnnForecastError):
    """A job over several tickers finished, but at least one ticker failed."""

    exit_code = 7


class EnvironmentFault(RnnForecastError):
    """The world outside the program failed: a file or folder cannot be read or written
    (permission denied, read-only file system, disk full, input/output error)."""

    exit_code = 8


INTERRUPTED = 130
"""Exit code after Ctrl-C (SIGINT), as shells report a process killed by it."""
OUTPUT_LOST = 141
"""Exit code when standard output is closed, full, or its reader went away (EPIPE), as
shells report a process killed by SIGPIPE."""

EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error (a bug: please report it, with RNNFORECAST_DEBUG=1 output)",
    2: "bad usage or configuration (unknown option, bad value, missing file, invalid ticker)",
    3: "bad or insufficient data (no rows, missing columns, non-numeric values, too few rows)",
    4: "model missing, corrupt, or incompatible with the data",
    5: "data source unavailable (network down, rate limited): worth retrying later",
    6: "another rnnforecast process holds the lock; try again later",
    7: "partial failure: every ticker was tried, but one or more failed",
    8: "a file or folder cannot be read or written (permissions, read-only or full disk)",
    INTERRUPTED: "interrupted (Ctrl-C)",
    OUTPUT_LOST: "standard output closed or full, or its reader went away (broken pipe)",
}
