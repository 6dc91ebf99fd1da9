"""RiskMetrics EWMA: an exponentially weighted mean of squared returns, Gaussian quantiles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    BaselineForecast,
    gaussian,
    log_returns,
    scaled_by_z,
)

EWMA_LAMBDA = 0.94  # RiskMetrics (1996) for daily data


class Ewma:
    """RiskMetrics (``ewma``): s_t = lam s_{t-1} + (1 - lam) r_{t-1}^2, run over the whole
    history from a seed fitted on the rows before the test span."""

    name = "ewma"
    min_returns = 20
    params: tuple[str, ...] = ("lambda", "seed_variance")
    uses_z = True
    serve_returns = 2

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """The seed s_1 (the variance of row 1's return) is the zero-mean sample variance,
        mean(r^2), of the returns before first_test: zero mean because every baseline is
        centred on zero. Gaussian quantiles."""
        returns = log_returns(ohlcv)
        seed = float(np.mean(returns[: first_test - 1] ** 2))
        lam = EWMA_LAMBDA
        # s[j] forecasts returns[j] (row j + 1); the loop is over at most a few thousand days.
        s = np.empty(returns.size + 1)
        s[0] = seed
        for j in range(returns.size):
            s[j + 1] = lam * s[j] + (1 - lam) * returns[j] ** 2
        variance = np.maximum(s[first_test - 1 : -1], VARIANCE_FLOOR)
        params = {"lambda": lam, "seed_variance": seed}
        quantiles = gaussian(variance, levels)
        return BaselineForecast(self.name, variance, quantiles, levels, params, "gaussian")

    def check_params(self, params: Mapping[str, float]) -> None:
        """lambda in (0, 1), a positive seed variance."""
        if not (0 < params["lambda"] < 1 and params["seed_variance"] > 0):
            raise ValueError(f"ewma params out of range: {dict(params)}")

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """The filter run from the seed over the rows' returns; h times that one-step
        variance (floored), times ``z``."""
        lam, s = params["lambda"], params["seed_variance"]
        for value in log_returns(rows).tolist():
            s = lam * s + (1 - lam) * value * value
        h = np.arange(1, steps + 1, dtype=np.float64)
        return scaled_by_z(h * max(s, VARIANCE_FLOOR), z)

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """The filter's standard deviation before every return and after the last."""
        returns = log_returns(rows)
        lam, variance = params["lambda"], np.empty(returns.size + 1)
        variance[0] = params["seed_variance"]
        for j, value in enumerate(returns.tolist(), start=1):
            variance[j] = lam * variance[j - 1] + (1 - lam) * value * value
        scales: np.ndarray = np.sqrt(np.maximum(variance, VARIANCE_FLOOR))
        return scales
