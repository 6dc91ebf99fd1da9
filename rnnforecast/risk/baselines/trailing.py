"""Baselines on a trailing window of returns: the 50-day historical volatility (Gaussian
quantiles) and the empirical quantiles of the last 250 returns."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    BaselineForecast,
    gaussian,
    log_returns,
    scaled_by_z,
    trailing,
    trailing_before,
)

HIST_WINDOW = 50
EMP_WINDOW = 250


def _check_window(name: str, params: Mapping[str, float], width: int) -> None:
    # a record's window is not a free parameter: serving reads exactly this many returns
    if params["window"] != width:
        raise ValueError(f"{name} window must be {width}, got {params['window']}")


class Hist50:
    """``hist50``: the sample variance (ddof 1, around the window's mean) of the 50 returns
    before each row, with Gaussian quantiles."""

    name = "hist50"
    min_returns = HIST_WINDOW
    params: tuple[str, ...] = ("window",)
    uses_z = True
    serve_returns = HIST_WINDOW

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """Nothing to fit: each row's variance is that of the 50 returns before it."""
        windows = trailing_before(log_returns(ohlcv), first_test, HIST_WINDOW)
        variance = np.maximum(np.var(windows, axis=1, ddof=1), VARIANCE_FLOOR)
        params = {"window": float(HIST_WINDOW)}
        quantiles = gaussian(variance, levels)
        return BaselineForecast(self.name, variance, quantiles, levels, params, "gaussian")

    def check_params(self, params: Mapping[str, float]) -> None:
        """The window is 50."""
        _check_window(self.name, params, HIST_WINDOW)

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """h times the last 50 returns' variance (floored), times ``z``."""
        h = np.arange(1, steps + 1, dtype=np.float64)
        window = log_returns(rows)[-HIST_WINDOW:]
        return scaled_by_z(h * max(float(np.var(window, ddof=1)), VARIANCE_FLOOR), z)

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """The standard deviation of the 50 returns before each day (NaN before 50)."""
        returns = log_returns(rows)
        path = np.full(returns.size + 1, np.nan)
        if returns.size >= HIST_WINDOW:
            var = np.var(trailing(returns, HIST_WINDOW), axis=1, ddof=1)
            path[HIST_WINDOW:] = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
        return path


class Emp250:
    """``emp250``: empirical quantiles (numpy's default linear interpolation) of the last 250
    returns, demeaned so the forecast is centred on zero like the others; variance = their
    sample variance (ddof 1). Its record holds no ``z``: predict reads the quantiles from the
    bars."""

    name = "emp250"
    min_returns = EMP_WINDOW
    params: tuple[str, ...] = ("window",)
    uses_z = False
    serve_returns = EMP_WINDOW

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """Nothing to fit: each row's quantiles are those of the 250 returns before it."""
        windows = trailing_before(log_returns(ohlcv), first_test, EMP_WINDOW)
        centred = windows - windows.mean(axis=1, keepdims=True)
        quantiles = np.ascontiguousarray(np.quantile(centred, levels, axis=1).T)
        variance = np.maximum(np.var(windows, axis=1, ddof=1), VARIANCE_FLOOR)
        params = {"window": float(EMP_WINDOW)}
        return BaselineForecast(self.name, variance, quantiles, levels, params)

    def check_params(self, params: Mapping[str, float]) -> None:
        """The window is 250."""
        _check_window(self.name, params, EMP_WINDOW)

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """The last 250 returns' demeaned quantiles at the interval's ends, times sqrt(h)."""
        h = np.arange(1, steps + 1, dtype=np.float64)
        window = log_returns(rows)[-EMP_WINDOW:]
        tails = ((1 - level) / 2, (1 + level) / 2)
        q = np.quantile(window - window.mean(), tails)
        scaled: np.ndarray = np.sqrt(h)[:, None] * q[None, :]
        return scaled

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """The half-width of the one-step quantiles at ``level`` of the 250 returns before each
        day (NaN before 250): emp250 has no standard deviation, and its standardized quantile
        is 1."""
        returns = log_returns(rows)
        path = np.full(returns.size + 1, np.nan)
        if returns.size >= EMP_WINDOW:
            windows = trailing(returns, EMP_WINDOW)
            tails = ((1 - level) / 2, (1 + level) / 2)
            q = np.quantile(windows - windows.mean(axis=1, keepdims=True), tails, axis=1)
            path[EMP_WINDOW:] = (q[1] - q[0]) / 2
        return path
