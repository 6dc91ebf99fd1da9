"""The Python API, for notebooks and scripts: the same core the command line calls.

Every function takes the home folder as ``home=`` (None: :func:`default_home`, the CLI's
default) and returns DataFrames or dataclasses. Nothing here prints, exits or switches
matplotlib's backend: a failure is a :class:`~rnnforecast.errors.RnnForecastError` (its
``exit_code`` the CLI's). :class:`Forecaster` binds a home folder once, for methods.

The functions live in :mod:`~rnnforecast.api.stored` (bars), :mod:`~rnnforecast.api.models`
(training, the nightly job, saved runs) and :mod:`~rnnforecast.api.scoring` (scores and
forecasts); :class:`Forecaster` in :mod:`~rnnforecast.api.forecaster`. Import them from here.
"""

from __future__ import annotations

from rnnforecast.api.forecaster import Forecaster
from rnnforecast.api.models import list_models, make_config, promote, run_nightly, train
from rnnforecast.api.scoring import backtest, evaluate, plot_test_period, predict, replay
from rnnforecast.api.stored import bars, default_home, fetch, forget, list_tickers
from rnnforecast.errors import RnnForecastError
from rnnforecast.results import Backtest, Evaluation, GroupEvaluation

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
    "run_nightly",
    "train",
]
