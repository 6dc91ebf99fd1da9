"""Adaptive widths on top of a served baseline's intervals: numpy only, cheap enough for predict.

A served baseline (:mod:`rnnforecast.risk.interval_choice`) is fitted once; its widths come
from its own distribution. When the bundle's
:class:`~rnnforecast.risk.interval_choice.IntervalRecord` carries an adaptive scheme
(``record.adaptive``), predict rescales them by the scheme of
:mod:`rnnforecast.forecast.conformal` run on the baseline's own standardised residuals (the
per-day scales are the baseline's own, found by name in
:data:`rnnforecast.risk.baselines.registry.REGISTRY`):

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
from dataclasses import replace

import numpy as np

from rnnforecast.forecast import conformal
from rnnforecast.risk import interval_choice
from rnnforecast.risk.baselines.registry import REGISTRY
from rnnforecast.risk.interval_choice import IntervalRecord

FACTOR_RANGE = (0.1, 10.0)
"""Bounds of the width factor. The factors measured on 13 real series were 0.63-1.65
(benchmarks/bench_served_adaptive.py); a baseline whose widths are off by more than 10x has
absurd parameters (an omega of 1e300) and is not rescued: its own bounds then fail predict's
finiteness check, as they do without the scheme."""


def rows_needed(record: IntervalRecord | None) -> int:
    """Bars predict reads for ``record``: :data:`~rnnforecast.risk.interval_choice.SERVE_ROWS`,
    or more when the scheme's ``history`` scored days and the method's own window do not fit
    in them (emp250: 350 + 250 returns). 0 for no record or the network's."""
    if record is None or not record.serves_baseline:
        return 0
    if record.adaptive is None:
        return interval_choice.SERVE_ROWS
    return max(interval_choice.SERVE_ROWS, record.adaptive.history + _need(record) + 1)


def applies(record: IntervalRecord | None, n_rows: int) -> bool:
    """Whether ``record``'s scheme rescales the widths predict serves from the last ``n_rows``
    bars: it has a scheme, serves a baseline, and the bars hold the scheme's ``history``
    scored days after the method's own window (fewer leave :func:`factor` at 1.0)."""
    if record is None or not record.serves_baseline or record.adaptive is None:
        return False
    return n_rows >= record.adaptive.history + _need(record) + 1


def as_served(record: IntervalRecord | None, n_rows: int) -> IntervalRecord | None:
    """``record`` as it serves from the last ``n_rows`` bars: without its scheme when the
    scheme cannot apply (:func:`applies`), so that its name
    (:func:`rnnforecast.risk.interval_choice.served_name`) does not claim rolling widths that
    were not served."""
    if record is None or record.adaptive is None or applies(record, n_rows):
        return record
    return replace(record, adaptive=None)


def _need(record: IntervalRecord) -> int:
    """Returns before a day that the served baseline needs to forecast it (as
    cumulative_quantiles). Raises KeyError for the network's record, which has no baseline."""
    return REGISTRY[record.method].serve_returns


def one_step_scales(record: IntervalRecord, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """The served baseline's one-step scale for every day of ``rows``, and its standardized
    one-step quantile.

    ``rows`` ``(n, 5)`` OHLCV, oldest first, with ``T = n - 1`` log returns between their
    closes. Returns ``scales`` ``(T + 1,)`` in log-return units: entry ``j`` is the standard
    deviation the baseline gives ``returns[j]`` from ``rows[: j + 1]`` only, as
    :func:`rnnforecast.risk.interval_choice.cumulative_quantiles` would (entry ``T``: the day
    after the last row; the baseline's
    :meth:`~rnnforecast.risk.baselines.interface.Baseline.one_step_scales`); NaN where the
    method has too few returns. ``fixed``: ``(z_high - z_low) / 2``, so ``fixed * scale`` is
    the half-width of the served one-step log interval. Raises ValueError for a record that
    serves the network's intervals.
    """
    baseline = REGISTRY.get(record.method)
    if baseline is None:
        raise ValueError("the network's intervals have no baseline scale")
    rows = np.asarray(rows, dtype=np.float64)
    fixed = 1.0 if record.z is None else (record.z[1] - record.z[0]) / 2
    path = baseline.one_step_scales(record.params, record.level, rows)
    path[: min(baseline.serve_returns, len(path))] = np.nan  # as cumulative_quantiles
    return path, fixed


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
    value = float(conformal.factors(history, record.level, record.adaptive, fixed)[-1])
    if not (math.isfinite(value) and value > 0):
        return 1.0
    return min(max(value, FACTOR_RANGE[0]), FACTOR_RANGE[1])
