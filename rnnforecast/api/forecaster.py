"""The functions of :mod:`rnnforecast.api` bound to one home folder: :class:`Forecaster`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from rnnforecast.api.models import list_models, promote, run_nightly, train
from rnnforecast.api.scoring import backtest, evaluate, plot_test_period, predict, replay
from rnnforecast.api.stored import PathLike, bars, fetch, forget, home_folder, list_tickers
from rnnforecast.config import Config
from rnnforecast.results import Backtest, Evaluation, GroupEvaluation
from rnnforecast.storage import locks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rnnforecast.jobs.manage import Forgotten, Promotion
    from rnnforecast.jobs.nightly import NightlyResult
    from rnnforecast.jobs.replay import Replay
    from rnnforecast.training.global_model import GlobalTrainResult
    from rnnforecast.training.per_ticker import TrainResult


class Forecaster:
    """The functions of :mod:`rnnforecast.api` bound to one home folder (None:
    :func:`~rnnforecast.api.default_home`).

    >>> fc = Forecaster(home="~/rnnforecast-play")        # doctest: +SKIP
    >>> fc.fetch(sample=True); fc.train("GOOG")            # doctest: +SKIP
    """

    def __init__(self, home: PathLike | None = None) -> None:
        self.home = home_folder(home).root

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
        """:func:`~rnnforecast.api.train` in this home: ``group``, ``overrides``, ``refit``,
        ``workers``, ``executor``, ``address``, ``lock_timeout`` as there."""
        trained: TrainResult | GlobalTrainResult | list[TrainResult] = train(
            tickers, config, home=self.home, **options
        )
        return trained

    def run_nightly(
        self,
        config: PathLike,
        *,
        workers: int = 1,
        executor: str = "local",
        address: str | None = None,
        lock_timeout: float = locks.DEFAULT_TIMEOUT,
    ) -> list[NightlyResult]:
        """:func:`~rnnforecast.api.run_nightly` (the nightly job of the run config
        ``config``) in this home."""
        return run_nightly(
            config,
            workers=workers,
            executor=executor,
            address=address,
            home=self.home,
            lock_timeout=lock_timeout,
        )

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
