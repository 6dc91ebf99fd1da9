"""The one error hierarchy of rnnforecast.

Every failure the core can foresee is raised as a subclass of :class:`RnnForecastError`;
each subclass carries the process exit code the CLI turns it into. The CLI is the only
place that catches these and prints them (one line on stderr). Messages are in the core's
words and name no command or flag; the errors a user cures with a command
(:class:`NoStoredData`, :class:`NoModel`, :class:`HorizonOutOfRange`) carry the facts the
CLI needs to add that hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
    """A job over several tickers finished, but at least one ticker failed.

    ``exit_code`` is 7 when the failures differ, or the code they all share (5 for a source,
    6 for a lock: the ones worth retrying), so that a cron job sees why; see
    :func:`rnnforecast.jobs.outcomes.failure_code`. ``outcomes``: every ticker's outcome
    (:class:`~rnnforecast.jobs.outcomes.TickerOutcome`, in order) when the job handed them
    over, so that a caller still sees what went through (not pickled: empty on the far side).
    """

    exit_code = 7

    def __init__(self, message: str, code: int = 7, outcomes: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.exit_code = code
        self.outcomes = list(outcomes)

    def __reduce__(self) -> tuple[type[PartialFailure], tuple[str, int]]:
        return (type(self), (str(self), self.exit_code))


class EnvironmentFault(RnnForecastError):
    """The world outside the program failed: a file or folder cannot be read or written
    (permission denied, read-only file system, disk full, input/output error), or a Ray
    node does not run this rnnforecast."""

    exit_code = 8


class NoStoredData(DataError):
    """No bars are stored for ``ticker`` (the store is empty or lacks the ticker)."""

    def __init__(self, ticker: str) -> None:
        super().__init__(f"no data stored for {ticker}")
        self.ticker = ticker

    def __reduce__(self) -> tuple[type[NoStoredData], tuple[str]]:
        # Rebuilt from its facts, not its message, when it crosses a process (workers, Ray).
        return type(self), (self.ticker,)


class NoModel(ModelError):
    """No model is current for ``ticker``: none was trained (or all were forgotten)."""

    def __init__(self, ticker: str) -> None:
        super().__init__(f"no model for {ticker}")
        self.ticker = ticker

    def __reduce__(self) -> tuple[type[NoModel], tuple[str]]:
        return type(self), (self.ticker,)


class HorizonOutOfRange(UsageError):
    """A forecast of more steps than the model serves: at most ``limit`` steps for a
    ``strategy`` ("direct" or "recursive") model trained for ``trained`` steps."""

    def __init__(self, limit: int, strategy: str, trained: int) -> None:
        super().__init__(
            f"horizon must be between 1 and {limit} for this {strategy} model "
            f"(trained for {trained} steps)"
        )
        self.limit = limit
        self.strategy = strategy
        self.trained = trained

    def __reduce__(self) -> tuple[type[HorizonOutOfRange], tuple[int, str, int]]:
        return type(self), (self.limit, self.strategy, self.trained)


class OwnModelOnly(UsageError):
    """What was asked of ``target`` (walk-forward folds, a plot, daily forecasts) needs a
    ticker's own model, and a global model serves it (``target`` is a group or a member)."""

    def __init__(self, target: str) -> None:
        super().__init__(
            f"{target} is scored with a global model: walk-forward folds, plots and daily "
            "forecasts are of a ticker's own model"
        )
        self.target = target

    def __reduce__(self) -> tuple[type[OwnModelOnly], tuple[str]]:
        return type(self), (self.target,)


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
    7: "partial failure: every ticker was tried, but one or more failed, not all for one reason",
    8: "a file or folder cannot be read or written (permissions, read-only or full disk)",
    INTERRUPTED: "interrupted (Ctrl-C)",
    OUTPUT_LOST: "standard output closed or full, or its reader went away (broken pipe)",
}
