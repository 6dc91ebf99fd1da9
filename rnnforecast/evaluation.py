"""Scoring forecasts next to the naive forecast (tomorrow's close = today's close).

No TensorFlow here: anything that maps windows to prices can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnforecast import metrics


@dataclass(frozen=True)
class Scores:
    """Model and naive metrics on the same points, in price units (mape in percent).

    ``mase`` is the model's MAE over the naive forecast's MAE; ``beats_naive`` is
    ``mase < 1``.
    """

    n: int
    model: dict[str, float]
    naive: dict[str, float]

    @property
    def beats_naive(self) -> bool:
        return self.model["mase"] < 1.0

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "naive": self.naive, "beats_naive": self.beats_naive}


def score(actual: np.ndarray, predicted: np.ndarray, last_close: np.ndarray) -> Scores:
    """Score price forecasts ``(m, horizon)`` against ``actual`` ``(m, horizon)``.

    ``last_close`` ``(m,)`` is the last known close before each forecast: the naive forecast
    for every step, and the base of the predicted and actual moves.
    """
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    naive = np.broadcast_to(np.asarray(last_close, dtype=np.float64)[:, None], actual.shape)
    model = {
        "rmse": metrics.rmse(actual, predicted),
        "mae": metrics.mae(actual, predicted),
        "mape": metrics.mape(actual, predicted),
        "mase": metrics.mase(actual, predicted, naive),
        "directional_accuracy": metrics.directional_accuracy(actual, predicted, naive),
    }
    baseline = {
        "rmse": metrics.rmse(actual, naive),
        "mae": metrics.mae(actual, naive),
        "mape": metrics.mape(actual, naive),
    }
    return Scores(len(actual), model, baseline)
