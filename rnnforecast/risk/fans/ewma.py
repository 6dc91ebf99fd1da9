"""The classical "sqrt(h)" fan: RiskMetrics EWMA variance times h, Gaussian quantiles."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from rnnforecast.risk.baselines.ewma import EWMA_LAMBDA
from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    checked_ohlcv,
    log_returns,
    trailing,
)
from rnnforecast.risk.fans.common import check_fit, checked_origins, fit_rows
from rnnforecast.risk.fans.interface import FAN_LEVELS, FanFit

EWMA_SERVE_ROWS = 250
"""Rows before an origin the filter runs over (249 returns): the seed's weight is
0.94^249, about 2e-7."""


class EwmaFan:
    """``ewma``: ``s = lam s + (1 - lam) r^2`` (lam 0.94, RiskMetrics 1996) run over the 249
    returns before the origin from ``seed_variance``; the h-session variance is ``h s`` and the
    quantiles Gaussian, ``sqrt(h s) Phi^-1(level)``. Params: lambda, seed_variance; no
    tables."""

    name = "ewma"
    min_rows = 21  # 20 returns for the seed, as the one-day baseline
    serve_rows = EWMA_SERVE_ROWS

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        """The seed is the zero-mean sample variance mean(r^2) of the returns of rows
        ``[0, through)``, as the one-day baseline seeds it. Raises DataError if ``through`` <
        :attr:`min_rows` or past the rows."""
        fit_rows(self.name, ohlcv, through, horizons, self.min_rows)
        returns = log_returns(checked_ohlcv(ohlcv)[:through])
        seed = max(float(np.mean(returns**2)), VARIANCE_FLOOR)
        return FanFit(self.name, horizons, {"lambda": EWMA_LAMBDA, "seed_variance": seed})

    def check(self, fit: FanFit) -> None:
        """Raise ValueError unless lambda is in (0, 1) and seed_variance positive."""
        check_fit(self.name, fit, ("lambda", "seed_variance"), {})
        if not (0 < fit.params["lambda"] < 1 and fit.params["seed_variance"] > 0):
            raise ValueError(f"ewma params out of range: {fit.params}")

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        """``(m, horizons, len(FAN_LEVELS))``. Origin ``o`` filters the returns of rows
        ``[o - serve_rows + 1, o)`` (those of the bars ``[o - serve_rows, o)``; every bar
        before ``o`` when there are fewer, as predict reads them). Raises ValueError for
        origins outside ``[min_rows, n]`` or horizons past the fit's."""
        bars = checked_ohlcv(ohlcv)
        o = checked_origins(self.name, origins, bars.shape[0], self.min_rows, fit, horizons)
        returns = log_returns(bars)
        full = o >= self.serve_rows
        variance = np.empty(len(o))
        if full.any():
            variance[full] = ewma_variance(returns, o[full], self.serve_rows - 1, fit.params)
        for i in np.flatnonzero(~full):
            variance[i] = ewma_variance(returns, o[i : i + 1], int(o[i]) - 1, fit.params)[0]
        h = np.arange(1, horizons + 1, dtype=np.float64)
        z = np.array([NormalDist().inv_cdf(level) for level in FAN_LEVELS])
        fan: np.ndarray = np.sqrt(variance[:, None, None] * h[None, :, None]) * z
        return fan


def ewma_variance(
    returns: np.ndarray, origins: np.ndarray, width: int, params: dict[str, float]
) -> np.ndarray:
    """``(m,)`` EWMA variances of the return of each origin row, from the ``width`` returns
    before it (``returns[j]`` is row ``j + 1``'s): ``lam^width seed + (1 - lam) sum_j
    lam^(width - 1 - j) r_j^2``, the recursion written as one weighted sum. Floored at
    VARIANCE_FLOOR."""
    lam, seed = params["lambda"], params["seed_variance"]
    weights = (1 - lam) * lam ** np.arange(width - 1, -1, -1, dtype=np.float64)
    windows = trailing(returns**2, width)[origins - 1 - width]  # rows o - width .. o - 1
    variance: np.ndarray = np.maximum(lam**width * seed + windows @ weights, VARIANCE_FLOOR)
    return variance
