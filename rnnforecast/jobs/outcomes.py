"""One ticker's outcome in a job over several tickers (``fetch``, ``train T1 T2`` in this
process or in workers, ``run``): what the job made of it, or the failure that stopped it
while the others went on. One type, one failure record, one JSON shape per job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from rnnforecast.errors import PartialFailure, RnnForecastError


class Record(Protocol):
    """What a job returns for one ticker: a record with its JSON document."""

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Failure:
    """Why one ticker failed: the exit code its error carries (see :mod:`rnnforecast.errors`),
    the error's one-line message (in the core's words), and the error itself, whose facts
    (the ticker of :class:`~rnnforecast.errors.NoStoredData`, say) let the CLI add the
    command that cures it."""

    code: int
    message: str
    cause: RnnForecastError | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, exc: Exception) -> Failure:
        """The failure of our errors and of outside faults (OSError, sqlite3, MemoryError:
        :func:`rnnforecast.faults.translate`); anything else is a bug and is raised again."""
        from rnnforecast.faults import translate

        known = translate(exc)
        if known is None:
            raise exc
        # Kept for its type and facts, not its frames (a job over many tickers keeps every
        # failure until the end).
        return cls(known.exit_code, str(known), known.with_traceback(None))

    def exception(self) -> RnnForecastError:
        """The error to raise for this failure: the one the job raised (with its facts),
        or, when it did not travel, one with the same message and exit code."""
        if self.cause is not None:
            return self.cause
        error = RnnForecastError(self.message)
        error.exit_code = self.code
        return error

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class TickerTurn:
    """A job over tickers starts work on one, or (``done``) has finished with it, whatever
    its outcome: what it does (``step``), the ticker's number (``index``, from 1) among the
    ``total`` the step goes through, and the ticker. Turns begin in order; fetch, and
    train or run, say when each is done too, in the order the tickers finish (several may
    be in hand at once: fetch's threads, training in workers)."""

    step: Literal["fetch", "train"]
    index: int
    total: int
    ticker: str
    done: bool = False


OnTicker = Callable[[TickerTurn], None]
"""Called as each ticker's turn begins (and ends, see :class:`TickerTurn`), in the process
doing the work, one call at a time, from the thread that called the job (a callback does
not travel to worker processes)."""


@dataclass(frozen=True)
class TickerOutcome(Generic[R]):
    """One ticker of a job: its ``result``, or the ``error`` that stopped it. A job that
    fails midway may keep what it did before the failure in ``result`` (``run`` keeps the
    rows it fetched before training failed)."""

    ticker: str
    result: R | None = None
    error: Failure | None = None

    def __post_init__(self) -> None:
        if self.result is None and self.error is None:
            raise ValueError(f"an outcome of {self.ticker} needs a result or an error")

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict[str, Any]:
        """The result's JSON document, its ``error`` key set to ``{"code", "message"}`` if
        the ticker failed; ``{"ticker", "error"}`` for a ticker that failed with no result."""
        body: dict[str, Any] = (
            {"ticker": self.ticker} if self.result is None else self.result.to_dict()
        )
        if self.error is not None:
            body["error"] = self.error.to_dict()
        return body


def failed_tickers(outcomes: list[TickerOutcome[Any]]) -> list[str]:
    """The tickers that failed, in order."""
    return [o.ticker for o in outcomes if o.failed]


def failure_code(outcomes: list[TickerOutcome[Any]]) -> int | None:
    """The exit code of a job over several tickers: None when none failed, the code every
    failure shares (5 source, 6 lock: worth retrying; 3 data, ...), or 7 (partial) when the
    failures differ, so that a retryable night is not hidden behind 7."""
    codes = {o.error.code for o in outcomes if o.error is not None}
    if not codes:
        return None
    return codes.pop() if len(codes) == 1 else 7


def results_of(outcomes: list[TickerOutcome[R]]) -> list[R]:
    """Each ticker's result, in order, when none failed. A sole ticker's failure is raised
    as its own error; with several, PartialFailure naming the failed tickers and why (the
    others' work is kept), its exit code the one the failures share, or 7 when they differ,
    and its ``outcomes`` these."""
    if len(outcomes) == 1 and outcomes[0].error is not None:
        raise outcomes[0].error.exception()
    reasons = [f"{o.ticker} ({o.error.message})" for o in outcomes if o.error]
    code = failure_code(outcomes)
    if reasons and code is not None:
        raise PartialFailure(
            f"{len(reasons)} of {len(outcomes)} tickers failed: {', '.join(reasons)}",
            code,
            outcomes,
        )
    return [o.result for o in outcomes if o.result is not None]
