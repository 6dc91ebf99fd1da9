"""Forecast metrics: pure functions on numpy arrays of prices (same shape, same units).

``mape`` is in percent; every other error is in price units. Directional accuracy compares
the sign of the predicted move from ``last`` with the sign of the real move.
"""

from __future__ import annotations

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
