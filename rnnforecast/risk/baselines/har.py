"""HAR-RV (Corsi 2009) on the range-based daily variance proxy, with filtered historical
simulation quantiles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    BaselineForecast,
    log_returns,
    range_variance,
    scaled_by_z,
    trailing,
)

HAR_LAGS = (1, 5, 22)  # daily, weekly and monthly averages of the variance proxy (Corsi 2009)


class Har:
    """``har``: RV_t = b0 + b1 RV_{t-1} + b5 mean(RV_{t-5..t-1}) + b22 mean(RV_{t-22..t-1}) on
    :func:`~rnnforecast.risk.baselines.interface.range_variance`, fitted by OLS."""

    name = "har"
    min_returns = 52  # 22 lags for the monthly term, then at least 30 regression rows
    params: tuple[str, ...] = ("b0", "b1", "b5", "b22")
    uses_z = True
    serve_returns = HAR_LAGS[-1] + 1

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """Fitted by OLS on rows < first_test; row 0 is left out because its proxy lacks the
        overnight gap. Forecasts h_t are floored at VARIANCE_FLOOR (OLS can go negative after a
        calm spell). Quantiles are filtered historical simulation: sqrt(h_t) times the empirical
        quantiles of the in-sample standardized returns r_t / sqrt(h_t), which corrects both the
        proxy's level and the Gaussian's thin tails; saved as ``z@level`` next to the
        coefficients."""
        proxy, returns = range_variance(ohlcv), log_returns(ohlcv)
        n = proxy.size
        longest = HAR_LAGS[-1]
        # Regressors for every row t in [1 + longest, n): means of the proxy over the lags
        # before t.
        csum = np.concatenate([[0.0], np.cumsum(proxy)])
        rows = np.arange(1 + longest, n)
        design = np.column_stack(
            [np.ones(rows.size)] + [(csum[rows] - csum[rows - lag]) / lag for lag in HAR_LAGS]
        )
        fit = rows < first_test
        coef, *_ = np.linalg.lstsq(design[fit], proxy[rows[fit]], rcond=None)
        fitted = np.maximum(design @ coef, VARIANCE_FLOOR)
        standardized = returns[rows[fit] - 1] / np.sqrt(fitted[fit])  # returns[t - 1]: row t's
        z = np.quantile(standardized, levels)
        variance = fitted[~fit]
        quantiles = np.sqrt(variance)[:, None] * z[None, :]
        params = {"b0": float(coef[0]), "b1": float(coef[1]), "b5": float(coef[2])}
        params["b22"] = float(coef[3])
        params.update({f"z@{level:g}": float(v) for level, v in zip(levels, z, strict=True)})
        return BaselineForecast(self.name, variance, quantiles, levels, params)

    def check_params(self, params: Mapping[str, float]) -> None:
        """Any finite coefficients: the forecasts are floored, and an explosive iteration is
        caught by predict's finiteness check."""

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """The recursion iterated (each forecast fed back as the next day's proxy), the
        variances summed, times ``z``."""
        return scaled_by_z(np.cumsum(_iterated(range_variance(rows), params, steps)), z)

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """The square root of each day's one-step forecast from the proxies before it."""
        scales: np.ndarray = np.sqrt(_one_step(range_variance(rows), params))
        return scales


def _iterated(proxy: np.ndarray, p: Mapping[str, float], steps: int) -> np.ndarray:
    """HAR forecasts ``(steps,)`` after the proxy ``(T,)``, each fed back as the next day's."""
    history = list(np.asarray(proxy, dtype=np.float64)[-HAR_LAGS[-1] :])
    out = np.empty(steps)
    coef = [p["b1"], p["b5"], p["b22"]]
    for h in range(steps):
        means = [float(np.mean(history[-lag:])) for lag in HAR_LAGS]
        value = max(p["b0"] + float(np.dot(coef, means)), VARIANCE_FLOOR)
        out[h] = value
        history.append(value)
    return out


def _one_step(proxy: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """HAR one-step variances ``(n,)`` from the proxy ``(n,)``: entry ``j`` forecasts the day
    after row ``j`` from ``proxy[: j + 1]`` (NaN before 22 proxies), floored."""
    out = np.full(proxy.size, np.nan)
    long = HAR_LAGS[-1]
    if proxy.size < long:
        return out
    means = [trailing(proxy, lag).mean(axis=1)[long - lag :] for lag in HAR_LAGS]
    value = p["b0"] + p["b1"] * means[0] + p["b5"] * means[1] + p["b22"] * means[2]
    out[long - 1 :] = np.maximum(value, VARIANCE_FLOOR)
    return out
