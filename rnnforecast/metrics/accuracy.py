"""Forecast metrics: pure functions on numpy arrays of prices (same shape, same units).

``mape`` is in percent; every other error is in price units; ``rel_mae`` and ``mase`` are
ratios. Directional accuracy compares the sign of the predicted move from ``last`` with the
sign of the real move.
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


def scaled(x: np.ndarray) -> tuple[np.ndarray, float]:
    """``(x / unit, unit)`` with ``unit`` the power of two just above the largest finite
    magnitude in ``x`` (1.0 if there is none). Dividing by a power of two is exact, so a
    statistic computed on the scaled values and scaled back is the same to the bit, but
    squares and products of prices as large as 1e300 no longer overflow."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.abs(x[np.isfinite(x)])
    top = float(finite.max()) if finite.size else 0.0
    unit = math.ldexp(1.0, math.frexp(top)[1]) if top > 0 else 1.0
    return x / unit, unit


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error, in price units."""
    a, p = _pair(actual, predicted)
    errors, unit = scaled(a - p)
    return float(np.sqrt(np.mean(errors**2))) * unit


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error, in price units."""
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, in percent (prices are positive, so it is defined)."""
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs((a - p) / a)) * 100.0)


def rel_mae(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> float:
    """MAE of ``predicted`` over MAE of ``naive`` on the same points (< 1: beats naive).

    Called ``mase`` in manifests written before true MASE was added. Returns ``inf`` if the
    naive forecast is perfect and the model is not, ``1.0`` if both are.
    """
    model_error, naive_error = mae(actual, predicted), mae(actual, naive)
    if naive_error == 0:
        return 1.0 if model_error == 0 else float("inf")
    return model_error / naive_error


def naive_scale(closes: np.ndarray) -> float:
    """In-sample one-step naive MAE of a series ``(n,)``: ``mean(|y[t] - y[t-1]|)``, the
    denominator of MASE (Hyndman and Koehler 2006). Raises ValueError for fewer than 2."""
    y = np.asarray(closes, dtype=np.float64)
    if y.ndim != 1 or len(y) < 2:
        raise ValueError("the in-sample series needs at least 2 values")
    return float(np.mean(np.abs(np.diff(y))))


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float | None:
    """Mean absolute scaled error (Hyndman and Koehler 2006): MAE of ``predicted`` over
    ``scale``, the in-sample one-step naive MAE of the training series
    (:func:`naive_scale`), in price units. None when ``scale`` is not positive."""
    if not scale > 0:
        return None
    return mae(actual, predicted) / scale


def _moves(
    actual: np.ndarray, predicted: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    a, p = _pair(actual, predicted)
    base = np.asarray(last, dtype=np.float64)
    if base.ndim == 1 and a.ndim == 2:
        base = base[:, None]  # one last close per row, for every step of the row
    base = np.broadcast_to(base, a.shape)
    return np.sign(a - base), np.sign(p - base)


def directional_accuracy(
    actual: np.ndarray, predicted: np.ndarray, last: np.ndarray
) -> float | None:
    """Share of points where ``predicted - last`` has the sign of ``actual - last``, over
    the points where the forecast moves (``predicted != last``): a forecast of no move
    calls no direction, so it is left out (see :func:`no_move_count`). None when no
    forecast moves."""
    real, forecast = _moves(actual, predicted, last)
    moving = forecast != 0
    if not moving.any():
        return None
    return float(np.mean(real[moving] == forecast[moving]))


def no_move_count(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> int:
    """How many forecasts equal the last close (no move): left out of directional accuracy."""
    _, forecast = _moves(actual, predicted, last)
    return int(np.sum(forecast == 0))


ALTERNATIVES = ("two-sided", "less", "greater")
KERNELS = ("bartlett", "acf")


def hac_lag(n: int, horizon: int = 1) -> int:
    """Newey-West lags for a Diebold-Mariano test of ``n`` loss differentials of
    ``horizon``-step forecasts: ``max(horizon - 1, floor(4 (n / 100) ^ (2 / 9)))``.

    ``horizon - 1`` is the least an optimal ``h``-step forecast's errors need (they are
    MA(h - 1)); the second term is Newey and West's (1994) deterministic bandwidth rule for
    the Bartlett kernel (also statsmodels' default), which grows with ``n`` so that the
    serial correlation of one-step differentials that are not MA(0) (daily interval scores
    follow volatility, so their differentials are autocorrelated) is taken in. It
    depends on ``n`` only, not on the data, so the test's size does not depend on a
    bandwidth chosen after seeing the differentials: 3 lags for n = 28 to 99, 4 for 100 to
    272, 5 for 273 to 620. Raises ValueError if ``n`` or ``horizon`` is below 1.
    """
    if n < 1 or horizon < 1:
        raise ValueError(f"n and horizon must be at least 1, got n={n}, horizon={horizon}")
    bandwidth: float = 4.0 * (n / 100.0) ** (2.0 / 9.0)
    return max(horizon - 1, math.floor(bandwidth))


def diebold_mariano(
    loss: np.ndarray,
    baseline_loss: np.ndarray,
    horizon: int = 1,
    alternative: str = "two-sided",
    kernel: str = "bartlett",
    lag: int | None = None,
) -> tuple[float | None, float | None]:
    """Diebold-Mariano test with the Harvey-Leybourne-Newbold correction, as R's
    ``forecast::dm.test(e1, e2, alternative, h, power, varestimator)``.

    ``loss`` and ``baseline_loss`` ``(n,)``: per-day losses of two forecasts of the same
    days (e.g. absolute errors, which is ``power = 1`` in R). The long-run variance of the
    loss differential ``d = loss - baseline_loss`` is ``g0 + 2 sum_j w_j g_j`` over its
    autocovariances ``g_j`` (divided by ``n``), ``j = 1..L``:

    - ``kernel="bartlett"`` (the default, Newey-West): ``w_j = 1 - j / (L + 1)``, ``L = lag``
      or, if None, :func:`hac_lag` ``(n, horizon)``. Never negative. With ``lag = horizon -
      1`` it is R's ``varestimator = "bartlett"`` (R's weights ``1 - j / h``).
    - ``kernel="acf"``: R's default, ``w_j = 1`` for ``j = 1..horizon - 1`` (``lag`` must be
      None); if that estimate is not positive with ``horizon > 1``, the test falls back to
      ``horizon = 1`` as R does.

    The statistic ``mean(d) / sqrt(var / n)`` is multiplied by ``sqrt((n + 1 - 2h + h(h - 1)
    / n) / n)`` and compared with Student's t with ``n - 1`` degrees of freedom.
    ``alternative``: ``"less"`` (the first forecast's loss is smaller), ``"greater"`` or
    ``"two-sided"``.

    Returns ``(statistic, p_value)``, or ``(None, None)`` when there are fewer than 3 days
    or the loss differential does not vary (e.g. identical forecasts). Raises ValueError
    for an unknown ``alternative`` or ``kernel``, a negative ``lag`` (or one with ``acf``),
    or losses of different shapes.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}")
    if lag is not None and (lag < 0 or kernel == "acf"):
        raise ValueError(f"lag must be None or at least 0 with the bartlett kernel, got {lag}")
    a = np.asarray(loss, dtype=np.float64).ravel()
    b = np.asarray(baseline_loss, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: loss {a.shape}, baseline {b.shape}")
    d = scaled(a - b)[0]  # the statistic does not depend on the unit of the losses
    n = len(d)
    if n < 3:
        return None, None
    if kernel == "acf":
        lags = horizon - 1
        weights = np.ones(lags)
    else:
        lags = hac_lag(n, horizon) if lag is None else lag
        weights = 1.0 - np.arange(1, lags + 1) / (lags + 1.0)
    centred = d - d.mean()
    autocovariance = [float(np.dot(centred, centred)) / n]
    for j in range(1, min(lags + 1, n)):
        autocovariance.append(float(np.dot(centred[j:], centred[:-j])) / n)
    tail = float(np.dot(weights[: len(autocovariance) - 1], autocovariance[1:]))
    variance = (autocovariance[0] + 2 * tail) / n
    if variance <= 0 and kernel == "acf" and horizon > 1 and autocovariance[0] > 0:
        return diebold_mariano(a, b, 1, alternative, "acf")
    if variance <= 0:
        return None, None
    h = horizon
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = float(d.mean() / math.sqrt(variance)) * correction
    # scipy is slow to import: only when a test is computed (never by predict)
    from scipy.stats import t as student

    if alternative == "less":
        p_value = float(student.cdf(statistic, n - 1))
    elif alternative == "greater":
        p_value = float(student.sf(statistic, n - 1))
    else:
        p_value = float(2 * student.sf(abs(statistic), n - 1))
    return statistic, p_value
