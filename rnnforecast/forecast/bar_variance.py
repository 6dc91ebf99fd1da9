"""The bars' own variance: the check every bar-reading numpy function makes, and the
Garman-Klass plus overnight-gap variance proxy the volatility baselines
(:mod:`rnnforecast.risk.baselines`) and the network's fan features
(:mod:`rnnforecast.forecast.fan_features`) share. numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast.errors import DataError

# The least variance any forecast or proxy may take (a daily volatility of 0.01%): a zero or
# negative variance would make interval widths degenerate and QLIKE infinite.
VARIANCE_FLOOR = 1e-8


def range_variance(ohlcv: np.ndarray) -> np.ndarray:
    """A daily close-to-close variance proxy from the bars: (n,) in log-return units squared.

    Garman-Klass (1980) on the day's open/high/low/close, 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2,
    plus the squared overnight gap ln(O_t / C_{t-1})^2, so it targets the close-to-close return
    that the forecasts are for (a pure range estimator ignores the night). Row 0 has no previous
    close and gets the intraday part only. High and low are widened to cover open and close
    (data vendors sometimes disagree by a cent), and the result is floored at VARIANCE_FLOOR.
    Raises DataError if ``ohlcv`` is not (n, 5) with finite positive prices.
    """
    ohlcv = checked_ohlcv(ohlcv)
    open_, high, low, close = (ohlcv[:, i] for i in range(4))
    high = np.maximum.reduce([high, open_, close])
    low = np.minimum.reduce([low, open_, close])
    hl = np.log(high / low)
    co = np.log(close / open_)
    intraday = 0.5 * hl**2 - (2 * math.log(2) - 1) * co**2
    gap = np.zeros_like(close)
    gap[1:] = np.log(open_[1:] / close[:-1]) ** 2
    variance: np.ndarray = np.maximum(intraday + gap, VARIANCE_FLOOR)
    return variance


def checked_ohlcv(ohlcv: np.ndarray) -> np.ndarray:
    """``ohlcv`` as float64. Raises DataError unless ``(n, 5)`` with finite positive prices."""
    array = np.asarray(ohlcv, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 5:
        raise DataError(
            f"expected bars of shape (n, 5): open, high, low, close, volume; got {array.shape}"
        )
    prices = array[:, :4]
    if not np.all(np.isfinite(prices)) or not np.all(prices > 0):
        raise DataError("prices must be finite and positive for the volatility baselines")
    return array
