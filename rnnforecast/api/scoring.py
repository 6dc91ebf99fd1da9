"""The Python API's scores and forecasts: evaluate, backtest, replay, predict, and the
test-period Figure."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from rnnforecast.api.stored import PathLike, home_folder
from rnnforecast.data.frames import as_day
from rnnforecast.jobs import evaluation, prediction
from rnnforecast.results import Backtest, Evaluation, GroupEvaluation
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.replay import Replay


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

    result = modelling.evaluate(home_folder(home), ticker, run)
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
    result = _own_evaluation(home_folder(home), ticker, run, folds=folds)
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

    result = prediction.predict(home_folder(home), ticker, run, horizon)
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

    return replay_ticker(home_folder(home), ticker, every=every, start=as_day(start))


def plot_test_period(
    ticker: str, run: str | None = None, *, home: PathLike | None = None
) -> Figure:
    """The picture ``evaluate --plot`` saves, as a matplotlib Figure: actual vs forecast vs
    naive over the test period, and the loss curves. The process's matplotlib backend is
    left alone; save it with ``figure.savefig("file.png")`` or let a notebook show it.
    Raises ModelError, DataError, OwnModelOnly (a UsageError: a group, or a ticker a global
    model serves; :func:`evaluate` scores it)."""
    where = home_folder(home)
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
