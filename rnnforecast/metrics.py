"""Forecast metrics: pure functions on numpy arrays of prices (same shape, same units).

``mape`` is in percent; every other error is in price units. Directional accuracy compares
the sign of the predicted move from ``last`` with the sign of the real move.
"""

from __future__ import annotations

import math

import numpy as np


def _pair(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if a.shape != p.shape:
        raise ValueError(f"shapes differ: actual {a.shape}, predicted {p.shape}")
    if a.size == 0:
        raise ValueError("no values to score")
    return a, p


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error, in price units."""
    a, p = _pair(actual, predicted)
    return float(np.sqrt(np.mean((a - p) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error, in price units."""
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, in percent (prices are positive, so it is defined)."""
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs((a - p) / a)) * 100.0)


def mase(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> float:
    """MAE of ``predicted`` over MAE of ``naive`` on the same points (< 1: beats naive).

    Returns ``inf`` if the naive forecast is perfect and the model is not, ``1.0`` if both are.
    """
    model_error, naive_error = mae(actual, predicted), mae(actual, naive)
    if naive_error == 0:
        return 1.0 if model_error == 0 else float("inf")
    return model_error / naive_error


def directional_accuracy(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> float:
    """Share of points where ``predicted - last`` has the sign of ``actual - last``."""
    a, p = _pair(actual, predicted)
    base = np.asarray(last, dtype=np.float64)
    if base.ndim == 1 and a.ndim == 2:
        base = base[:, None]  # one last close per row, for every step of the row
    base = np.broadcast_to(base, a.shape)
    return float(np.mean(np.sign(p - base) == np.sign(a - base)))


def diebold_mariano(
    model_errors: np.ndarray, baseline_errors: np.ndarray, horizon: int = 1
) -> tuple[float | None, float | None]:
    """Diebold-Mariano test of equal accuracy on absolute errors ``(m,)`` of two forecasts
    of the same points: ``(statistic, two-sided p-value)``, or ``(None, None)`` when the
    loss differences do not vary (e.g. identical forecasts).

    A negative statistic means the model's errors are smaller. The variance of the mean
    loss difference uses ``horizon - 1`` autocovariance lags (multi-step errors overlap).
    """
    d = np.abs(np.asarray(model_errors, dtype=np.float64)) - np.abs(
        np.asarray(baseline_errors, dtype=np.float64)
    )
    n = len(d)
    centred = d - d.mean()
    variance = float(np.dot(centred, centred)) / n
    for lag in range(1, min(horizon, n)):
        variance += 2 * float(np.dot(centred[lag:], centred[:-lag])) / n
    if n < 3 or variance <= 0:
        return None, None
    statistic = float(d.mean() / np.sqrt(variance / n))
    p_value = math.erfc(abs(statistic) / math.sqrt(2))
    return statistic, p_value
