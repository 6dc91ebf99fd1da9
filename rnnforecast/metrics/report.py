"""Scoring forecasts next to the naive forecast (tomorrow's close = today's close).

No TensorFlow here: anything that maps windows to prices can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.metrics import accuracy, probabilistic


@dataclass(frozen=True)
class Scores:
    """Model and naive metrics on the same points, in price units (mape in percent).

    ``rel_mae`` is the model's MAE over the naive forecast's MAE on the same points
    (``mase`` in manifests written before true MASE); ``mase`` is the MAE over the
    in-sample one-step naive MAE of the training series (None when that is not known);
    ``beats_naive`` is ``rel_mae < 1``. ``directional_accuracy`` leaves out the
    ``n_no_move`` forecasts that equal the last close (None when all do).
    """

    n: int
    model: dict[str, Any]
    naive: dict[str, Any]

    @property
    def beats_naive(self) -> bool:
        return bool(self.model["rel_mae"] < 1.0)

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "naive": self.naive, "beats_naive": self.beats_naive}


def score(
    actual: np.ndarray,
    predicted: np.ndarray,
    last_close: np.ndarray,
    scale: float | None = None,
) -> Scores:
    """Score price forecasts ``(m, horizon)`` against ``actual`` ``(m, horizon)``.

    ``last_close`` ``(m,)`` is the last known close before each forecast: the naive forecast
    for every step, and the base of the predicted and actual moves. ``scale``: the
    in-sample one-step naive MAE of the training closes (:func:`accuracy.naive_scale`), the
    denominator of ``mase``; None gives ``mase`` None.
    """
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    naive = np.broadcast_to(np.asarray(last_close, dtype=np.float64)[:, None], actual.shape)
    model = {
        "rmse": accuracy.rmse(actual, predicted),
        "mae": accuracy.mae(actual, predicted),
        "mape": accuracy.mape(actual, predicted),
        "rel_mae": accuracy.rel_mae(actual, predicted, naive),
        "mase": None if scale is None else accuracy.mase(actual, predicted, scale),
        "directional_accuracy": accuracy.directional_accuracy(actual, predicted, naive),
        "n_no_move": accuracy.no_move_count(actual, predicted, naive),
    }
    baseline = {
        "rmse": accuracy.rmse(actual, naive),
        "mae": accuracy.mae(actual, naive),
        "mape": accuracy.mape(actual, naive),
        "mase": None if scale is None else accuracy.mase(actual, naive, scale),
    }
    return Scores(len(actual), model, baseline)


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation, or None when either side does not vary (e.g. naive forecasts)."""
    a, b = accuracy.scaled(a)[0], accuracy.scaled(b)[0]  # no overflow for huge prices
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def lag_check(predicted: np.ndarray, actual: np.ndarray) -> dict[str, object]:
    """Is the forecast mostly yesterday's close shifted by a day?

    On consecutive one-step forecasts ``(m,)`` and actual closes ``(m,)``: the correlation
    of the forecast's day-to-day changes with the actual changes of the same day, and with
    the actual changes of the day before. A forecast that trails the price has changes
    that follow the previous day's change (``lagging``: the second exceeds the first).
    """
    forecast_change = np.diff(predicted)[1:]
    actual_change = np.diff(actual)
    same_day = _correlation(forecast_change, actual_change[1:])
    previous_day = _correlation(forecast_change, actual_change[:-1])
    lagging = None
    if same_day is not None and previous_day is not None:
        lagging = previous_day > same_day
    return {
        "corr_with_actual_change": same_day,
        "corr_with_previous_change": previous_day,
        "lagging": lagging,
    }


@dataclass(frozen=True)
class Report:
    """A full assessment of forecasts on held-out windows: see :func:`report`."""

    n: int
    horizon: int
    scores: Scores
    drift: dict[str, Any]
    up_share: float
    lag: dict[str, object]
    raw: dict[str, Any]
    intervals: dict[str, float | None]
    steps: list[dict[str, Any]]
    significance: dict[str, Any]

    @property
    def beats_naive(self) -> bool:
        return self.scores.beats_naive

    def to_dict(self) -> dict[str, object]:
        return {
            "horizon": self.horizon,
            **self.scores.to_dict(),
            "drift": self.drift,
            "up_share": self.up_share,
            "lag_check": self.lag,
            "uncalibrated": self.raw,
            "intervals": self.intervals,
            "steps": self.steps,
            "significance": self.significance,
        }


def _drift_scores(
    actual: np.ndarray, forecast: np.ndarray, naive: np.ndarray, scale: float | None
) -> dict[str, Any]:
    """The drift forecast's errors ``forecast`` ``(m, H)``, in price units (mape in %)."""
    return {
        "rmse": accuracy.rmse(actual, forecast),
        "mae": accuracy.mae(actual, forecast),
        "mape": accuracy.mape(actual, forecast),
        "rel_mae": accuracy.rel_mae(actual, forecast, naive),
        "mase": None if scale is None else accuracy.mase(actual, forecast, scale),
    }


def report(
    actual: np.ndarray,
    point: np.ndarray,
    raw: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    last_close: np.ndarray,
    drift: np.ndarray,
    level: float,
    scale: float | None = None,
) -> Report:
    """Score calibrated forecasts ``point`` ``(m, H)`` next to the naive and drift forecasts.

    ``raw``: the network's uncalibrated forecasts; ``low``/``high``: interval bounds at
    ``level``; ``last_close`` ``(m,)``: the last known close (the naive forecast);
    ``drift`` ``(m,)``: the drift forecast's slope (price per day). Metrics over all steps,
    and per step in ``steps``. ``up_share`` is the share of rising actual moves: the
    directional accuracy of always saying "up". ``significance`` is the two-sided
    Diebold-Mariano test with the Harvey-Leybourne-Newbold correction
    (:func:`accuracy.diebold_mariano`) of the one-step absolute errors against the naive
    forecast's (None values when it cannot be computed). ``scale``: the denominator of
    ``mase`` (see :func:`score`). ``intervals`` has the Kupiec (coverage), Christoffersen
    (independence) and Christoffersen conditional-coverage (both at once) p-values of the
    one-step misses (None where the test is
    undefined: see :mod:`rnnforecast.metrics.probabilistic`).
    """
    m, horizon = actual.shape
    last = np.asarray(last_close, dtype=np.float64)
    naive = np.broadcast_to(last[:, None], actual.shape)
    drift_forecast = last[:, None] + np.asarray(drift)[:, None] * np.arange(1, horizon + 1)
    scores = score(actual, point, last, scale)
    inside = (actual >= low) & (actual <= high)
    statistic, p_value = accuracy.diebold_mariano(
        np.abs(actual[:, 0] - point[:, 0]), np.abs(actual[:, 0] - last), horizon=1
    )
    steps = []
    for k in range(horizon):
        step = score(actual[:, k : k + 1], point[:, k : k + 1], last, scale)
        steps.append(
            {
                "step": k + 1,
                "model": step.model,
                "naive": step.naive,
                "interval_coverage": float(np.mean(inside[:, k])),
            }
        )
    return Report(
        n=m,
        horizon=horizon,
        scores=scores,
        drift=_drift_scores(actual, drift_forecast, naive, scale),
        up_share=float(np.mean(actual > naive)),
        lag=lag_check(point[:, 0], actual[:, 0]),
        raw={
            "mae": accuracy.mae(actual, raw),
            "rel_mae": accuracy.rel_mae(actual, raw, naive),
            "directional_accuracy": accuracy.directional_accuracy(actual, raw, naive),
            "n_no_move": accuracy.no_move_count(actual, raw, naive),
        },
        intervals={
            "level": level,
            "coverage": float(np.mean(inside)),
            "mean_width": float(np.mean(high - low)),
            "kupiec_p": probabilistic.kupiec_p(~inside[:, 0], level),
            "christoffersen_p": probabilistic.christoffersen_p(~inside[:, 0]),
            "christoffersen_cc_p": probabilistic.christoffersen_cc_p(~inside[:, 0], level),
        },
        steps=steps,
        significance={
            "test": "diebold-mariano-hln",
            "loss": "absolute error, step 1",
            "alternative": "two-sided",
            "n": m,
            "dm_statistic": statistic,
            "p_value": p_value,
            "dm_lag": None if p_value is None else accuracy.hac_lag(m, 1),
        },
    )
