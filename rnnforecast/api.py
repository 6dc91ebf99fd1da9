"""The Python API, for notebooks and scripts: the same core the command line calls.

Every function takes the home folder as ``home=`` (a path; None: :func:`default_home`,
the folder the CLI uses when neither ``--home`` nor ``RNNFORECAST_HOME`` is given) and
returns pandas DataFrames or dataclasses. Nothing here prints, exits the process or
switches matplotlib's backend: a failure is raised as a subclass of
:class:`~rnnforecast.errors.RnnForecastError` (its ``exit_code`` is the one the CLI would
use). :class:`Forecaster` binds a home folder once, for those who prefer methods.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rnnforecast.config import Config, config_from_dict, load_config
from rnnforecast.errors import RnnForecastError
from rnnforecast.jobs import evaluation, listing, manage, prediction
from rnnforecast.storage import loading, locks
from rnnforecast.storage.home import Home, default_root
from rnnforecast.training import per_ticker

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rnnforecast.data.sources import Source
    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.manage import Forgotten, Promotion
    from rnnforecast.training.per_ticker import TrainResult

PathLike = str | os.PathLike[str]

__all__ = [
    "Backtest",
    "Evaluation",
    "Forecaster",
    "RnnForecastError",
    "backtest",
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
    sample: bool = False,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    auto_adjust: bool = True,
    replace: bool = False,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> pd.DataFrame:
    """Store daily bars from Yahoo, a CSV file (``csv``, one ticker) or the bundled GOOG
    sample (``sample=True``); dates as ``datetime.date`` or YYYY-MM-DD.

    Returns one row per ticker: ``ticker``, ``rows`` stored, ``first``, ``last``,
    ``added``, ``source``, ``changed``. Raises UsageError, DataError, SourceError, LockError.
    """
    from rnnforecast.jobs import ingest

    names = [tickers] if isinstance(tickers, str) else list(tickers)
    results = ingest.fetch(
        _home(home, lock_timeout),
        names,
        _source(csv, sample, auto_adjust),
        start=_date(start),
        end=_date(end),
        replace=replace,
    )
    return pd.DataFrame([r.to_dict() for r in results])


def _source(csv: PathLike | None, sample: bool, auto_adjust: bool) -> Source:
    from rnnforecast.data.sources import CsvSource, SampleSource
    from rnnforecast.data.yahoo_source import YahooSource
    from rnnforecast.errors import UsageError

    if csv is not None and sample:
        raise UsageError("csv and sample are two sources: choose one")
    if csv is not None:
        return CsvSource(Path(csv))
    return SampleSource() if sample else YahooSource(auto_adjust=auto_adjust)


def _date(value: dt.date | str | None) -> dt.date | None:
    from rnnforecast.errors import UsageError

    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a YYYY-MM-DD date: {value!r}") from None


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
    """Delete the ticker's stored bars and saved models; returns what was deleted.
    Raises UsageError (bad ticker), DataError (nothing stored), LockError."""
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


def train(
    ticker: str,
    config: Config | PathLike | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    home: PathLike | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> TrainResult:
    """Train a network on the ticker's stored bars and save it as its current model.

    Returns the TrainResult (``run_id``, ``path``, test ``report``, ``to_dict()``).
    Raises UsageError, DataError, LockError.
    """
    cfg = make_config(config, overrides)
    return per_ticker.train(_home(home, lock_timeout), ticker, cfg)


def list_models(ticker: str, *, home: PathLike | None = None) -> pd.DataFrame:
    """The ticker's saved runs, oldest first, one row each: ``run_id``, ``current``,
    ``created_at``, ``test_start``, ``test_end``, ``mase``, ``beats_naive``, ``error``
    (a run whose bundle does not load)."""
    runs = listing.list_runs(_home(home), ticker)
    rows = [
        {
            "run_id": r["run_id"],
            "current": r["current"],
            "created_at": r.get("created_at"),
            "test_start": r["test"]["start"] if "test" in r else None,
            "test_end": r["test"]["end"] if "test" in r else None,
            "mase": r["model"]["mase"] if r.get("model") else None,
            "beats_naive": r.get("beats_naive"),
            "error": r.get("error"),
        }
        for r in runs["runs"]
    ]
    return pd.DataFrame(rows, columns=list(_MODEL_COLUMNS))


_MODEL_COLUMNS = (
    "run_id",
    "current",
    "created_at",
    "test_start",
    "test_end",
    "mase",
    "beats_naive",
    "error",
)


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


@dataclass(frozen=True)
class Evaluation:
    """A saved model scored on its test period: ``result`` (scores; ``to_dict()`` is the
    CLI's ``evaluate --json``) and ``forecasts``, one row per test day indexed by date:
    ``actual`` and ``naive`` (the previous) closes, calibrated ``point`` forecast with
    ``low``/``high`` interval, uncalibrated ``raw`` forecast (one day ahead, price units)."""

    result: EvaluationResult
    forecasts: pd.DataFrame

    @property
    def scores(self) -> dict[str, Any]:
        return self.result.to_dict()


def evaluate(ticker: str, run: str | None = None, *, home: PathLike | None = None) -> Evaluation:
    """Score run ``run`` (default: the current model) on its held-out test period next to
    the naive and drift forecasts. Raises ModelError (no or bad model), DataError."""
    result = evaluation.evaluate(_home(home), ticker, run)
    assert result.days is not None
    return Evaluation(result, result.days.to_frame())


@dataclass(frozen=True)
class Backtest:
    """A walk-forward backtest: ``folds`` one row per fold (test and train periods, model
    and naive metrics, ``beats_naive``), ``forecasts`` one row per test day with its
    ``fold`` (1-based), and ``aggregate`` (mean and std of each metric over folds)."""

    folds: pd.DataFrame
    forecasts: pd.DataFrame
    aggregate: dict[str, Any]


def backtest(
    ticker: str, folds: int = 3, run: str | None = None, *, home: PathLike | None = None
) -> Backtest:
    """Re-train the recipe of run ``run`` (default: current) on expanding windows and test
    on ``folds`` consecutive periods (one training per fold: slow). Raises ModelError,
    DataError (too few bars for that many folds)."""
    from rnnforecast.errors import UsageError

    if not 1 <= folds <= 50:
        raise UsageError(f"folds must be between 1 and 50, not {folds}")
    result = evaluation.evaluate(_home(home), ticker, run, folds=folds)
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

    Returns a DataFrame indexed by ``date`` with ``close``, ``low``, ``high``; its
    ``attrs`` hold ``ticker``, ``run_id``, ``as_of``, ``last_close``, ``interval_level``.
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


def plot_test_period(
    ticker: str, run: str | None = None, *, home: PathLike | None = None
) -> Figure:
    """The picture ``evaluate --plot`` saves, as a matplotlib Figure: actual vs forecast vs
    naive over the test period, and the loss curves. The process's matplotlib backend is
    left alone; save it with ``figure.savefig("file.png")`` or let a notebook show it.
    Raises ModelError, DataError."""
    where = _home(home)
    result = evaluation.evaluate(where, ticker, run)
    assert result.days is not None
    figure: Figure = evaluation.period_figure(
        loading.load(where, result.ticker, result.run_id), result.days
    )
    return figure


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

    def train(
        self,
        ticker: str,
        config: Config | PathLike | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
    ) -> TrainResult:
        return train(ticker, config, overrides=overrides, home=self.home)

    def models(self, ticker: str) -> pd.DataFrame:
        return list_models(ticker, home=self.home)

    def evaluate(self, ticker: str, run: str | None = None) -> Evaluation:
        return evaluate(ticker, run, home=self.home)

    def backtest(self, ticker: str, folds: int = 3, run: str | None = None) -> Backtest:
        return backtest(ticker, folds, run, home=self.home)

    def predict(
        self, ticker: str, run: str | None = None, horizon: int | None = None
    ) -> pd.DataFrame:
        return predict(ticker, run, horizon, home=self.home)

    def plot(self, ticker: str, run: str | None = None) -> Figure:
        return plot_test_period(ticker, run, home=self.home)

    def promote(self, ticker: str, run_id: str) -> Promotion:
        return promote(ticker, run_id, home=self.home)

    def forget(self, ticker: str) -> Forgotten:
        return forget(ticker, home=self.home)
