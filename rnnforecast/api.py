"""The Python API, for notebooks and scripts: the same core the command line calls.

Every function takes the home folder as ``home=`` (None: :func:`default_home`, the CLI's
default) and returns DataFrames or dataclasses. Nothing here prints, exits or switches
matplotlib's backend: a failure is a :class:`~rnnforecast.errors.RnnForecastError` (its
``exit_code`` the CLI's). :class:`Forecaster` binds a home folder once, for methods.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from rnnforecast.config import Config, config_from_dict, load_config
from rnnforecast.data.frames import as_day, choose_source
from rnnforecast.errors import RnnForecastError
from rnnforecast.jobs import evaluation, listing, manage, prediction
from rnnforecast.results import Backtest, Evaluation, GroupEvaluation, runs_frame
from rnnforecast.storage import loading, locks
from rnnforecast.storage.home import Home, default_root

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.manage import Forgotten, Promotion
    from rnnforecast.jobs.replay import Replay
    from rnnforecast.training.global_model import GlobalTrainResult
    from rnnforecast.training.per_ticker import TrainResult

PathLike = str | os.PathLike[str]

__all__ = [
    "Backtest",
    "Evaluation",
    "Forecaster",
    "GroupEvaluation",
    "RnnForecastError",
    "backtest",
    "bars",
    "default_home",
    "evaluate",
    "fetch",
    "forget",
    "list_models",
    "list_tickers",
    "make_config",
    "plot_test_period",
    "predict",
    "promote",
    "replay",
    "train",
]


def default_home() -> Path:
    """The platform's user data folder, e.g. ``~/.local/share/rnnforecast`` on Linux."""
    return default_root()


def _home(home: PathLike | None, wait: float = locks.DEFAULT_TIMEOUT) -> Home:
    return Home(Path(home).expanduser() if home is not None else default_root(), wait)


# --- data ----------------------------------------------------------------------------------


def fetch(
    tickers: str | Sequence[str] = (),
    *,
    home: PathLike | None = None,
    csv: PathLike | None = None,
    data: pd.DataFrame | None = None,
    sample: bool = False,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    auto_adjust: bool = True,
    replace: bool = False,
    calendar: str | None = None,
    date_format: str | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> pd.DataFrame:
    """Store daily bars from Yahoo, a CSV file (``csv``), your DataFrame (``data``: a date
    index or Date column, OHLCV in any common spelling, :mod:`rnnforecast.data.frames`) or
    the GOOG sample (``sample=True``); dates as ``datetime.date`` or YYYY-MM-DD.
    ``calendar``: an exchange code (``XLON``; None: the stored one, else the source's, else
    XNYS); ``date_format``: strftime of a file's or frame's text dates (``%d/%m/%Y``).

    Returns one row per ticker: ``ticker``, ``rows`` stored, ``first``, ``last``,
    ``added``, ``source``, ``changed``. Raises UsageError, DataError, SourceError, LockError.
    """
    from rnnforecast.jobs import ingest

    names = [tickers] if isinstance(tickers, str) else list(tickers)
    results = ingest.fetch(
        _home(home, lock_timeout),
        names,
        choose_source(None if csv is None else Path(csv), data, sample, auto_adjust, date_format),
        start=as_day(start),
        end=as_day(end),
        replace=replace,
        calendar=calendar,
    )
    return pd.DataFrame([r.to_dict() for r in results])


def bars(ticker: str, *, home: PathLike | None = None) -> pd.DataFrame:
    """The stored daily bars of ``ticker``: a ``datetime64`` index named ``date`` (one row
    per session, ascending) and float64 columns open, high, low, close (the instrument's
    currency) and volume (shares). Raises UsageError (bad ticker), DataError (none
    stored)."""
    from rnnforecast.data.tickers import check_ticker

    return _home(home).store.read(check_ticker(ticker))


def list_tickers(*, home: PathLike | None = None) -> pd.DataFrame:
    """The stored tickers, one row each: ``ticker``, ``rows``, ``first``, ``last``,
    ``source``, ``auto_adjust`` (and ``calendar`` where the store records one)."""
    rows = manage.tickers(_home(home))
    if not rows:
        return pd.DataFrame(columns=["ticker", "rows", "first", "last", "source", "auto_adjust"])
    return pd.DataFrame(rows)


def forget(
    ticker: str, *, home: PathLike | None = None, lock_timeout: float = locks.DEFAULT_TIMEOUT
) -> Forgotten:
    """Delete the ticker's stored bars and saved models (``"@NAME"``: a global model's runs
    and its members' pointers, not their bars); returns what was deleted, with ``warnings``
    for a group member. Raises UsageError (bad name), DataError (nothing stored), LockError."""
    return manage.forget(_home(home, lock_timeout), ticker)


# --- models --------------------------------------------------------------------------------


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
    ``lock_timeout``: seconds to wait for another process's lock on a ticker or group.
    Raises UsageError, DataError, LockError, PartialFailure.
    """
    from rnnforecast.jobs import modelling

    cfg = make_config(config, overrides)
    names = [tickers] if isinstance(tickers, str) else list(tickers)
    done = modelling.train(_home(home, lock_timeout), names, cfg, group=group, refit=refit)
    if done.group is not None:
        return done.group
    results = done.results()
    return results[0] if isinstance(tickers, str) else results


def list_models(ticker: str, *, home: PathLike | None = None) -> pd.DataFrame:
    """The ticker's saved runs, oldest first, one row each: ``run_id``, ``current``,
    ``created_at``, ``test_start``, ``test_end``, ``mase``, ``beats_naive``, ``error``
    (a run whose bundle does not load)."""
    return runs_frame(listing.list_runs(_home(home), ticker))


def promote(
    ticker: str,
    run_id: str,
    *,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> Promotion:
    """Make the saved run ``run_id`` the ticker's current model (it must load and verify).
    Raises ModelError, LockError."""
    return manage.promote(_home(home, lock_timeout), ticker, run_id)


# --- evaluate, backtest, predict -----------------------------------------------------------


def evaluate(
    ticker: str, run: str | None = None, *, home: PathLike | None = None
) -> Evaluation | GroupEvaluation:
    """Score run ``run`` (default: the current model) on its held-out test period next to
    the naive and drift forecasts.

    ``ticker``: a ticker served by its own model (returns an Evaluation: scores and the
    day-by-day forecasts), or a group ``"@G"`` or a ticker a global model serves (returns
    a GroupEvaluation: every member and the pool; ``scores`` are the member's share).
    Raises UsageError (bad ticker or group), ModelError (no or bad model), DataError.
    """
    from rnnforecast.data.tickers import check_ticker
    from rnnforecast.jobs import modelling

    result = modelling.evaluate(_home(home), ticker, run)
    if isinstance(result, evaluation.EvaluationResult):
        assert result.days is not None
        return Evaluation(result, result.days.to_frame())
    member = None if ticker.strip().startswith("@") else check_ticker(ticker)
    return GroupEvaluation(result, member)


def backtest(
    ticker: str, folds: int = 3, run: str | None = None, *, home: PathLike | None = None
) -> Backtest:
    """Re-train the recipe of run ``run`` (default: current) on expanding windows and test
    on ``folds`` consecutive periods (one training per fold: slow). Raises ModelError,
    DataError (too few bars for that many folds), OwnModelOnly (a UsageError: a group, or
    a ticker a global model serves: walk-forward folds re-train one ticker's own recipe)."""
    from rnnforecast.errors import UsageError

    if not 1 <= folds <= 50:
        raise UsageError(f"folds must be between 1 and 50, not {folds}")
    result = _own_evaluation(_home(home), ticker, run, folds=folds)
    assert result.folds is not None and result.days is not None
    table = pd.json_normalize(result.folds, sep="_")
    return Backtest(table, result.days.to_frame(), result.to_dict()["aggregate"])


def predict(
    ticker: str,
    run: str | None = None,
    horizon: int | None = None,
    *,
    home: PathLike | None = None,
) -> pd.DataFrame:
    """Forecast the close of the next ``horizon`` trading days after the last stored bar.

    Returns a DataFrame indexed by ``date`` with ``close``, ``low``, ``high`` (and, served by a
    fan: ``interval_method``, ``q0.05`` .. ``q0.95``); ``attrs`` hold ticker, run_id, as_of...
    Raises UsageError (horizon), ModelError, DataError.
    """
    from rnnforecast.exports import forecast_columns

    result = prediction.predict(_home(home), ticker, run, horizon)
    columns = forecast_columns(result.forecasts)
    dates = pd.DatetimeIndex(pd.to_datetime(columns.pop("date")), name="date")
    frame = pd.DataFrame(columns, index=dates)
    info = result.to_dict()
    frame.attrs.update({k: v for k, v in info.items() if k != "forecasts"})
    return frame


def replay(
    ticker: str,
    *,
    every: int = 21,
    start: dt.date | str | None = None,
    home: PathLike | None = None,
) -> Replay:
    """``evaluate --replay``: what predict would have served from ``start`` (default: the
    current model's test period), refitted every ``every`` sessions on the bars known then.
    ``to_dict()`` is the JSON; ``frame()`` the days. Raises UsageError, ModelError, DataError."""
    from rnnforecast.jobs.replay import replay as replay_ticker

    return replay_ticker(_home(home), ticker, every=every, start=as_day(start))


def plot_test_period(
    ticker: str, run: str | None = None, *, home: PathLike | None = None
) -> Figure:
    """The picture ``evaluate --plot`` saves, as a matplotlib Figure: actual vs forecast vs
    naive over the test period, and the loss curves. The process's matplotlib backend is
    left alone; save it with ``figure.savefig("file.png")`` or let a notebook show it.
    Raises ModelError, DataError, OwnModelOnly (a UsageError: a group, or a ticker a global
    model serves; :func:`evaluate` scores it)."""
    where = _home(home)
    result = _own_evaluation(where, ticker, run)
    assert result.days is not None
    figure: Figure = evaluation.period_figure(
        loading.load(where, result.ticker, result.run_id), result.days
    )
    return figure


def _own_evaluation(home: Home, ticker: str, run: str | None, folds: int = 0) -> EvaluationResult:
    """The evaluation of the ticker's own model (with its daily forecasts); OwnModelOnly
    for a group or a member of one."""
    from rnnforecast.jobs import modelling

    result = modelling.evaluate(home, ticker, run, folds=folds, own_model=True)
    assert isinstance(result, evaluation.EvaluationResult)  # own_model refuses the others
    return result


# --- the same, bound to one home -----------------------------------------------------------


class Forecaster:
    """The functions of this module bound to one home folder (None: :func:`default_home`).

    >>> fc = Forecaster(home="~/rnnforecast-play")        # doctest: +SKIP
    >>> fc.fetch(sample=True); fc.train("GOOG")            # doctest: +SKIP
    """

    def __init__(self, home: PathLike | None = None) -> None:
        self.home = _home(home).root

    def __repr__(self) -> str:
        return f"Forecaster(home={str(self.home)!r})"

    def fetch(self, tickers: str | Sequence[str] = (), **options: Any) -> pd.DataFrame:
        return fetch(tickers, home=self.home, **options)

    def tickers(self) -> pd.DataFrame:
        return list_tickers(home=self.home)

    def bars(self, ticker: str) -> pd.DataFrame:
        return bars(ticker, home=self.home)

    @overload
    def train(
        self, tickers: str, config: Config | PathLike | None = None, **options: Any
    ) -> TrainResult: ...

    @overload
    def train(
        self,
        tickers: str | Sequence[str],
        config: Config | PathLike | None = None,
        *,
        group: str | Literal[True],
        **options: Any,
    ) -> GlobalTrainResult: ...

    @overload
    def train(
        self,
        tickers: list[str] | tuple[str, ...],
        config: Config | PathLike | None = None,
        **options: Any,
    ) -> list[TrainResult]: ...

    def train(
        self, tickers: str | Sequence[str], config: Config | PathLike | None = None, **options: Any
    ) -> TrainResult | GlobalTrainResult | list[TrainResult]:
        """:func:`train` in this home: ``group``, ``overrides``, ``refit``, ``lock_timeout``
        as there."""
        trained: TrainResult | GlobalTrainResult | list[TrainResult] = train(
            tickers, config, home=self.home, **options
        )
        return trained

    def models(self, ticker: str) -> pd.DataFrame:
        return list_models(ticker, home=self.home)

    def evaluate(self, ticker: str, run: str | None = None) -> Evaluation | GroupEvaluation:
        return evaluate(ticker, run, home=self.home)

    def backtest(self, ticker: str, folds: int = 3, run: str | None = None) -> Backtest:
        return backtest(ticker, folds, run, home=self.home)

    def predict(
        self, ticker: str, run: str | None = None, horizon: int | None = None
    ) -> pd.DataFrame:
        return predict(ticker, run, horizon, home=self.home)

    def replay(self, ticker: str, every: int = 21, start: dt.date | str | None = None) -> Replay:
        return replay(ticker, every=every, start=start, home=self.home)

    def plot(self, ticker: str, run: str | None = None) -> Figure:
        return plot_test_period(ticker, run, home=self.home)

    def promote(
        self, ticker: str, run_id: str, lock_timeout: float = locks.DEFAULT_TIMEOUT
    ) -> Promotion:
        return promote(ticker, run_id, home=self.home, lock_timeout=lock_timeout)

    def forget(self, ticker: str, lock_timeout: float = locks.DEFAULT_TIMEOUT) -> Forgotten:
        return forget(ticker, home=self.home, lock_timeout=lock_timeout)
