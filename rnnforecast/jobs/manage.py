"""Managing what the home folder holds: list the stored tickers, make another saved run a
ticker's current model (roll back or forward), forget a ticker's bars and models.

Changes hold the ticker's lock, as fetch and train do, so they never interleave with a job
writing the same ticker. Nothing here names a command-line option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnforecast.data.tickers import GROUP_PREFIX, check_group, check_ticker
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
    """What forgetting ``ticker`` (or a global model's ``@GROUP``) deletes (or deleted):
    ``rows`` stored bars from ``first`` to ``last`` (None without bars; a group has none),
    the saved ``runs``, ``leftovers`` of an earlier forget that was interrupted, a group's
    ``members`` whose pointers to it go (None for a ticker), and ``warnings`` for people
    (a forgotten member of a global model: the group no longer serves it)."""

    ticker: str
    rows: int
    first: str | None
    last: str | None
    runs: list[str]
    leftovers: bool
    members: list[str] | None = None
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        """'1234 bars (2004-08-19 to 2013-03-27) and 2 saved runs of GOOG', for people."""
        parts = []
        if self.rows:
            parts.append(f"{self.rows} bars ({self.first} to {self.last})")
        parts.append(f"{len(self.runs)} saved run{'' if len(self.runs) == 1 else 's'}")
        text = " and ".join(parts) + f" of {self.ticker}"
        if self.members:
            text += f" (and the pointers of {', '.join(self.members)} to it; their bars stay)"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ticker": self.ticker,
            "rows": self.rows,
            "first": self.first,
            "last": self.last,
            "runs": self.runs,
        }
        if self.members is not None:
            out["members"] = self.members
        out["warnings"] = list(self.warnings)
        return out


def forget_plan(home: Home, ticker: str) -> Forgotten:
    """What :func:`forget` would delete, deleting nothing. Raises UsageError (bad ticker
    or group name), DataError if nothing at all is stored for it, ModelError for a group
    pointer that names no group."""
    if ticker.strip().startswith(GROUP_PREFIX):
        return _group_plan(home, check_group(ticker))
    symbol = check_ticker(ticker)
    info = home.store.info(symbol)
    runs = home.models.runs(symbol)
    leftovers = home.models.forget_path(symbol).exists()
    folder = home.models.ticker_dir(symbol)
    if info is None and not runs and not leftovers and not folder.exists():
        raise DataError(f"nothing stored for {symbol}: no bars and no models")
    group = home.models.group_of(symbol)
    warnings: tuple[str, ...] = ()
    if group is not None:
        warnings = (
            f"global model {group} no longer serves {symbol}: it still serves its other "
            f"members, but evaluating {group} needs {symbol}'s bars (fetch them again, or "
            f"train the group again without {symbol})",
        )
    return Forgotten(
        symbol,
        info.rows if info else 0,
        info.first if info else None,
        info.last if info else None,
        runs,
        leftovers,
        warnings=warnings,
    )


def _group_plan(home: Home, group: str) -> Forgotten:
    """What forgetting the global model ``group`` deletes: its runs and its members'
    pointers to it. Raises DataError if neither exists."""
    runs = home.models.runs(group)
    members = home.models.members(group)
    leftovers = home.models.forget_path(group).exists()
    if not runs and not members and not leftovers and not home.models.ticker_dir(group).exists():
        raise DataError(f"nothing stored for {group}: no global model of that name")
    return Forgotten(group, 0, None, None, runs, leftovers, members=members)


def forget(home: Home, ticker: str) -> Forgotten:
    """Delete the ticker's models, then its bars, under its lock; return what was deleted.

    The models go first in one rename (readers see all runs or none) and the bars in one
    transaction, so an interruption leaves either everything, or the bars without models,
    or a hidden folder of models: each is what a second call finishes. A member of a
    global model loses its pointer to the group with its folder (the result's
    ``warnings`` say so); the group's model still serves its other members.

    For a group (``@NAME``), under its lock and then its members' (the order training
    takes them in): its runs go, then each member's pointer to it; no bars are deleted,
    and a member with models of its own is served by them again.

    Raises UsageError (bad ticker or group name), DataError (nothing stored),
    ModelError (a group pointer that names no group), LockError.
    """
    if ticker.strip().startswith(GROUP_PREFIX):
        with home.lock(ticker) as group:
            plan = _group_plan(home, group)
            with home.lock_all(plan.members or []):
                home.models.forget(group)
                for member in plan.members or []:
                    home.models.clear_group(member)
        return plan
    with home.lock(ticker) as symbol:
        plan = forget_plan(home, symbol)
        home.models.forget(symbol)
        home.store.delete(symbol)
    return plan
