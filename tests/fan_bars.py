"""Simulated bars for the fan network's tests: GARCH(1,1) close-to-close returns with t
innovations, split into an overnight gap and an intraday move, with a high and low around them
and business-day dates."""

from __future__ import annotations

import numpy as np


def garch_bars(
    n: int, seed: int, daily_vol: float = 0.015, price: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(ohlcv (n, 5), dates (n,) datetime64[D])`` of a GARCH(1,1) (persistence 0.95) whose
    unconditional daily volatility is ``daily_vol``, starting near ``price``."""
    rng = np.random.default_rng(seed)
    alpha, beta = 0.08, 0.9
    omega = daily_vol**2 * (1 - alpha - beta)
    variance, returns = daily_vol**2, np.empty(n)
    z = rng.standard_t(6, n) / np.sqrt(1.5)
    for t in range(n):
        returns[t] = np.sqrt(variance) * z[t]
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    close = price * np.exp(np.cumsum(returns))
    previous = np.concatenate([[price], close[:-1]])
    open_ = previous * np.exp(0.3 * returns)
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    wiggle = np.abs(rng.normal(0, daily_vol * 0.5, (2, n)))
    high, low = top * np.exp(wiggle[0]), bottom * np.exp(-wiggle[1])
    volume = np.round(rng.lognormal(13, 0.4, n))
    dates = np.busday_offset(np.datetime64("2015-01-05"), np.arange(n), roll="forward")
    return np.column_stack([open_, high, low, close, volume]), dates.astype("datetime64[D]")
