"""Adaptive widths on top of a served baseline's intervals: numpy only, cheap enough for predict.

A served baseline (:mod:`rnnforecast.risk.interval_choice`) is fitted once; its widths come from
its own
distribution. When the bundle's :class:`~rnnforecast.risk.interval_choice.IntervalRecord` carries an
adaptive scheme (``record.adaptive``), predict rescales them by the scheme of
:mod:`rnnforecast.forecast.conformal` run on the baseline's own standardised residuals:

- the score of a past day ``t`` is ``|log(close_t / close_{t-1})| / sd_t``: the absolute log
  error of the naive centre (the previous close) over the baseline's one-step standard
  deviation for day ``t``, computed from the bars before ``t`` exactly as predict would have;
- the width factor is the scheme's conformal quantile of those scores over the baseline's own
  standardized one-step quantile (``(z_high - z_low) / 2``), and multiplies the log half-widths
  of every step of the served interval.

The scores always use the naive centre, also when a bundle's shrink factor moves the served
centre off the previous close: the baseline models close-to-close returns around zero, and a
shrunk network move is a small fraction of a day's spread (docs/reports/served-intervals.md).
emp250 has no standard deviation: its scale is the half-width of its one-step quantiles and
its standardized quantile is 1 (the same ratio).
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast.forecast import conformal as adaptive
from rnnforecast.risk import interval_choice
from rnnforecast.risk.baselines import (
    EMP_WINDOW,
    HAR_LAGS,
    HIST_WINDOW,
    VARIANCE_FLOOR,
    garch_path,
    range_variance,
)
from rnnforecast.risk.interval_choice import IntervalRecord

FACTOR_RANGE = (0.1, 10.0)
"""Bounds of the width factor. The factors measured on 13 real series were 0.63-1.65
(benchmarks/bench_served_adaptive.py); a baseline whose widths are off by more than 10x has
absurd parameters (an omega of 1e300) and is not rescued: its own bounds then fail predict's
finiteness check, as they do without the scheme."""


def _need(method: str) -> int:
    """Returns before a day that the method needs to forecast it (as cumulative_quantiles)."""
    return {"hist50": HIST_WINDOW, "emp250": EMP_WINDOW, "har": HAR_LAGS[-1] + 1}.get(method, 2)


def rows_needed(record: IntervalRecord | None) -> int:
    """Bars predict reads for ``record``: :data:`~rnnforecast.risk.interval_choice.SERVE_ROWS`, or
    more
    when the scheme's ``history`` scored days and the method's own window do not fit in them
    (emp250: 350 + 250 returns). 0 for no record or the network's."""
    if record is None or not record.serves_baseline:
        return 0
    if record.adaptive is None:
        return interval_choice.SERVE_ROWS
    return max(interval_choice.SERVE_ROWS, record.adaptive.history + _need(record.method) + 1)


def _trailing(returns: np.ndarray, width: int) -> np.ndarray:
    """``(T + 1 - width, width)``: row ``k`` holds the returns before day ``k + width``."""
    return np.lib.stride_tricks.sliding_window_view(returns, width)


def one_step_scales(record: IntervalRecord, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """The served baseline's one-step scale for every day of ``rows``, and its standardized
    one-step quantile.

    ``rows`` ``(n, 5)`` OHLCV, oldest first, with ``T = n - 1`` log returns between their
    closes. Returns ``scales`` ``(T + 1,)`` in log-return units: entry ``j`` is the standard
    deviation the baseline gives ``returns[j]`` from ``rows[: j + 1]`` only, as
    :func:`rnnforecast.risk.interval_choice.cumulative_quantiles` would (entry ``T``: the day after
    the
    last row); NaN where the method has too few returns. ``fixed``: ``(z_high - z_low) / 2``,
    so ``fixed * scale`` is the half-width of the served one-step log interval. Raises
    ValueError for a record that serves the network's intervals.
    """
    method, p = record.method, record.params
    returns = np.diff(np.log(np.asarray(rows, dtype=np.float64)[:, 3]))
    t = returns.size
    path = np.full(t + 1, np.nan)
    fixed = 1.0 if record.z is None else (record.z[1] - record.z[0]) / 2
    if method in ("garch_t", "gjr_t"):
        gjr = (p["omega"], p["alpha"], p.get("gamma", 0.0), p["beta"])
        path = np.sqrt(np.maximum(garch_path(returns, *gjr), VARIANCE_FLOOR))
    elif method == "ewma":
        lam, variance = p["lambda"], np.empty(t + 1)
        variance[0] = p["seed_variance"]
        for j, value in enumerate(returns.tolist(), start=1):
            variance[j] = lam * variance[j - 1] + (1 - lam) * value * value
        path = np.sqrt(np.maximum(variance, VARIANCE_FLOOR))
    elif method == "hist50" and t >= HIST_WINDOW:
        var = np.var(_trailing(returns, HIST_WINDOW), axis=1, ddof=1)
        path[HIST_WINDOW:] = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
    elif method == "emp250" and t >= EMP_WINDOW:
        windows = _trailing(returns, EMP_WINDOW)
        tails = ((1 - record.level) / 2, (1 + record.level) / 2)
        q = np.quantile(windows - windows.mean(axis=1, keepdims=True), tails, axis=1)
        path[EMP_WINDOW:] = (q[1] - q[0]) / 2
    elif method == "har":
        path = np.sqrt(_har_path(range_variance(rows), p))
    elif not record.serves_baseline:
        raise ValueError("the network's intervals have no baseline scale")
    path[: min(_need(method), t + 1)] = np.nan  # as cumulative_quantiles: too few returns
    return path, fixed


def _har_path(proxy: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """HAR one-step variances ``(n,)`` from the proxy ``(n,)``: entry ``j`` forecasts the day
    after row ``j`` from ``proxy[: j + 1]`` (NaN before 22 proxies), floored."""
    out = np.full(proxy.size, np.nan)
    long = HAR_LAGS[-1]
    if proxy.size < long:
        return out
    means = [_trailing(proxy, lag).mean(axis=1)[long - lag :] for lag in HAR_LAGS]
    value = p["b0"] + p["b1"] * means[0] + p["b5"] * means[1] + p["b22"] * means[2]
    out[long - 1 :] = np.maximum(value, VARIANCE_FLOOR)
    return out


def scores(record: IntervalRecord, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardised residuals ``(k,)`` of the naive centre, oldest first: ``|returns[j]| /
    scale[j]`` for every day ``j`` of ``rows`` ``(n, 5)`` whose scale is known (the first
    ``n - 1 - k`` are not), and the standardized quantile ``fixed`` (see
    :func:`one_step_scales`)."""
    path, fixed = one_step_scales(record, rows)
    returns = np.abs(np.diff(np.log(np.asarray(rows, dtype=np.float64)[:, 3])))
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero scale (constant closes)
        ratio = returns / path[:-1]
    return ratio[np.isfinite(ratio)], fixed


def factor(record: IntervalRecord, rows: np.ndarray) -> float:
    """The width factor for the day after ``rows`` ``(n, 5)``: 1.0 without a scheme, or with
    fewer scored days than it needs (``record.adaptive.history``), or no spread in them; else
    the scheme's adaptive quantile of :func:`scores` over the baseline's standardized quantile,
    clipped to :data:`FACTOR_RANGE`. Multiplies the log half-widths of every step
    (:func:`rnnforecast.risk.interval_choice.bounds`)."""
    if record.adaptive is None or not record.serves_baseline:
        return 1.0
    history, fixed = scores(record, np.asarray(rows, dtype=np.float64)[-rows_needed(record) :])
    value = float(adaptive.factors(history, record.level, record.adaptive, fixed)[-1])
    if not (math.isfinite(value) and value > 0):
        return 1.0
    return min(max(value, FACTOR_RANGE[0]), FACTOR_RANGE[1])
