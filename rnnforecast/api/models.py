"""The Python API's models: make a recipe, train, run the nightly job, list the saved runs
and promote one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from rnnforecast.api.stored import PathLike, home_folder
from rnnforecast.config import Config, config_from_dict, load_config
from rnnforecast.jobs import listing, manage
from rnnforecast.results import runs_frame
from rnnforecast.storage import locks

if TYPE_CHECKING:
    from rnnforecast.jobs.manage import Promotion
    from rnnforecast.jobs.nightly import NightlyResult
    from rnnforecast.training.global_model import GlobalTrainResult
    from rnnforecast.training.per_ticker import TrainResult


def make_config(
    config: Config | PathLike | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """A validated config: ``config`` (a Config, a TOML file, or None for the default) with
    ``overrides`` such as ``{"model.units": 8, "train.epochs": 5}`` applied.
    Raises UsageError for a missing file, an unknown key or a bad value."""
    base = config if isinstance(config, Config) else load_config(_path(config))
    if not overrides:
        return base
    nested: dict[str, dict[str, Any]] = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        nested.setdefault(section, {})[key] = value
    return config_from_dict(nested, base=base)


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None else None


@overload
def train(
    tickers: str,
    config: Config | PathLike | None = None,
    *,
    group: Literal[False] = False,
    overrides: Mapping[str, Any] | None = None,
    refit: bool = True,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> TrainResult: ...


@overload
def train(
    tickers: str | Sequence[str],
    config: Config | PathLike | None = None,
    *,
    group: str | Literal[True],
    overrides: Mapping[str, Any] | None = None,
    refit: bool = True,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> GlobalTrainResult: ...


@overload
def train(
    tickers: list[str] | tuple[str, ...],
    config: Config | PathLike | None = None,
    *,
    group: Literal[False] = False,
    overrides: Mapping[str, Any] | None = None,
    refit: bool = True,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> list[TrainResult]: ...


def train(
    tickers: str | Sequence[str],
    config: Config | PathLike | None = None,
    *,
    group: str | bool = False,
    overrides: Mapping[str, Any] | None = None,
    refit: bool = True,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> TrainResult | GlobalTrainResult | list[TrainResult]:
    """Train a network on the stored bars and save it as the current model.

    ``tickers``: one ticker (returns its TrainResult: ``run_id``, ``path``, test
    ``report``, ``to_dict()``) or several. Several without ``group``: one model each,
    returned as a list of TrainResult in the order named; a ticker that fails does not stop
    the others, and PartialFailure (exit code 7) naming the failed ones is raised at the
    end (the others are saved). ``group``: a name (``"G"`` or ``"@G"``), or True for the
    sorted symbols joined by "+": ONE global model of two or more tickers, saved under
    ``@G`` and served for each member; returns the GlobalTrainResult (``group``,
    ``run_id``, ``members`` and ``pool`` scores, ``to_dict()`` as ``train --global --json``).
    ``refit`` (default True) fits the recipe again on every bar after scoring.
    Where the fits run, as ``train --workers N --executor ray --address A``: ``workers``
    processes of this machine (1: this process), or ``executor="ray"`` on the Ray cluster
    at ``address`` (None: a Ray instance of its own); a group trains one network (no
    ``workers``). ``lock_timeout``: seconds to wait for another process's lock on a ticker
    or group. Raises UsageError (also: an unknown executor, ``workers`` below 1, an
    ``address`` without Ray, Ray not installed), DataError, LockError, SourceError (a Ray
    cluster that cannot be reached), PartialFailure.
    """
    from rnnforecast.jobs import modelling

    cfg = make_config(config, overrides)
    names = [tickers] if isinstance(tickers, str) else list(tickers)
    done = modelling.train(
        home_folder(home, lock_timeout),
        names,
        cfg,
        group=group,
        refit=refit,
        workers=workers,
        executor=executor,
        address=address,
    )
    if done.group is not None:
        return done.group
    results = done.results()
    return results[0] if isinstance(tickers, str) else results


def run_nightly(
    config: PathLike,
    *,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> list[NightlyResult]:
    """The nightly job, as ``rnnforecast run --config FILE``: for each ticker of the run
    config ``config`` (a TOML file: a recipe plus a ``[run]`` table naming the tickers and
    their sources, see docs/commands.md, ``run``), fetch new bars, train a challenger, make it
    current only if it beats the current model on the newest held-out period, and delete
    runs beyond ``keep``.

    Returns one NightlyResult per ticker, in the config's order: ``ticker``,
    ``rows_added``, ``run_id``, ``metrics``, ``beats_naive``, ``promoted``, ``reason``,
    ``deleted``, ...; ``to_dict()`` is the ticker's entry in ``run --json``, and
    ``pandas.DataFrame([r.to_dict() for r in results])`` a table of them. A ticker that
    fails does not stop the others: PartialFailure naming the failed ones is raised at the
    end (its ``exit_code`` the one they share, or 7; its ``outcomes`` every ticker's
    TickerOutcome, the failed ones' ``error`` included); a config of one ticker raises that
    ticker's own error. ``workers``, ``executor``, ``address``: where the fits run, as for
    :func:`train`. ``lock_timeout``: seconds to wait for another process's lock on a
    ticker. Raises UsageError (the config: missing, not TOML, no ``[run]`` table, a bad
    value or calendar; the executor, workers or address), SourceError (a Ray cluster that
    cannot be reached), LockError, DataError, PartialFailure.
    """
    from rnnforecast.jobs import nightly
    from rnnforecast.jobs.outcomes import results_of
    from rnnforecast.jobs.runconfig import load_run_config

    recipe, plan = load_run_config(Path(config))
    outcomes = nightly.run(
        home_folder(home, lock_timeout),
        recipe,
        plan,
        workers=workers,
        executor=executor,
        address=address,
    )
    return results_of(outcomes)


def list_models(ticker: str, *, home: PathLike | None = None) -> pd.DataFrame:
    """The ticker's saved runs, oldest first, one row each: ``run_id``, ``current``,
    ``created_at``, ``test_start``, ``test_end``, ``mase``, ``beats_naive``, ``error``
    (a run whose bundle does not load)."""
    return runs_frame(listing.list_runs(home_folder(home), ticker))


def promote(
    ticker: str,
    run_id: str,
    *,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> Promotion:
    """Make the saved run ``run_id`` the ticker's current model (it must load and verify).
    Raises ModelError, LockError."""
    return manage.promote(home_folder(home, lock_timeout), ticker, run_id)
