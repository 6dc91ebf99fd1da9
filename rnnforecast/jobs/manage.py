"""Managing what the home folder holds: list the stored tickers, make another saved run a
ticker's current model (roll back or forward), forget a ticker's bars and models.

Changes hold the ticker's lock, as fetch and train do, so they never interleave with a job
writing the same ticker. Nothing here names a command-line option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnforecast.data.tickers import check_ticker
from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home


def tickers(home: Home) -> list[dict[str, Any]]:
    """Every stored ticker, sorted: ``ticker``, ``rows``, ``first`` and ``last`` date
    (YYYY-MM-DD), ``source`` (yahoo, csv, sample), ``auto_adjust`` (Yahoo only, else None),
    and the exchange ``calendar`` code."""
    return [
        {
            "ticker": info.ticker,
            "rows": info.rows,
            "first": info.first,
            "last": info.last,
            "source": info.source,
            "auto_adjust": info.auto_adjust,
            "calendar": info.calendar,
        }
        for info in home.store.tickers()
    ]


@dataclass(frozen=True)
class Promotion:
    """``run_id`` is now the current model of ``ticker``; ``previous`` was (None: none)."""

    ticker: str
    run_id: str
    previous: str | None

    @property
    def changed(self) -> bool:
        return self.run_id != self.previous

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "previous": self.previous,
            "changed": self.changed,
        }


def promote(home: Home, ticker: str, run_id: str) -> Promotion:
    """Make the saved run ``run_id`` the current model of ``ticker``, under its lock.

    The run must load and verify first (checksums, manifest, config, and the network
    itself), so ``current`` never points at a bundle that cannot forecast. Raises
    UsageError (bad ticker), ModelError (no such run, or it does not load), LockError.
    """
    with home.lock(ticker) as symbol:
        loaded = loading.load(home, symbol, run_id)
        if loaded.bundle.manifest.members is not None:  # its current pointer is the group's
            raise UsageError(
                f"run {loaded.bundle.run_id} is the global model "
                f"{loaded.bundle.manifest.ticker}: it is promoted for its whole group by "
                "training or running it"
            )
        loaded.fitted("served")  # raises ModelError if its network does not load
        previous = _current_or_none(home, symbol)
        home.models.set_current(symbol, loaded.bundle.run_id)
    return Promotion(symbol, loaded.bundle.run_id, previous)


def _current_or_none(home: Home, symbol: str) -> str | None:
    """The current run id; None also when the pointer is unreadable (it is being replaced)."""
    try:
        return home.models.current(symbol)
    except ModelError:
        return None


@dataclass(frozen=True)
class Forgotten:
    """What forgetting ``ticker`` deletes (or deleted): ``rows`` stored bars from ``first``
    to ``last`` (None without bars), the saved ``runs``, and ``leftovers`` of an earlier
    forget that was interrupted."""

    ticker: str
    rows: int
    first: str | None
    last: str | None
    runs: list[str]
    leftovers: bool

    def describe(self) -> str:
        """'1234 bars (2004-08-19 to 2013-03-27) and 2 saved runs of GOOG', for people."""
        parts = []
        if self.rows:
            parts.append(f"{self.rows} bars ({self.first} to {self.last})")
        parts.append(f"{len(self.runs)} saved run{'' if len(self.runs) == 1 else 's'}")
        return " and ".join(parts) + f" of {self.ticker}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "rows": self.rows,
            "first": self.first,
            "last": self.last,
            "runs": self.runs,
        }


def forget_plan(home: Home, ticker: str) -> Forgotten:
    """What :func:`forget` would delete, deleting nothing. Raises UsageError (bad ticker),
    DataError if nothing at all is stored for the ticker."""
    symbol = check_ticker(ticker)
    info = home.store.info(symbol)
    runs = home.models.runs(symbol)
    leftovers = home.models.forget_path(symbol).exists()
    folder = home.models.ticker_dir(symbol)
    if info is None and not runs and not leftovers and not folder.exists():
        raise DataError(f"nothing stored for {symbol}: no bars and no models")
    return Forgotten(
        symbol,
        info.rows if info else 0,
        info.first if info else None,
        info.last if info else None,
        runs,
        leftovers,
    )


def forget(home: Home, ticker: str) -> Forgotten:
    """Delete the ticker's models, then its bars, under its lock; return what was deleted.

    The models go first in one rename (readers see all runs or none) and the bars in one
    transaction, so an interruption leaves either everything, or the bars without models,
    or a hidden folder of models: each is what a second call finishes. Raises UsageError
    (bad ticker), DataError (nothing stored), LockError.
    """
    with home.lock(ticker) as symbol:
        plan = forget_plan(home, symbol)
        home.models.forget(symbol)
        home.store.delete(symbol)
    return plan
