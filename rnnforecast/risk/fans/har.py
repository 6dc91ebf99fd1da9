"""A log-HAR fan for the direct h-session variance (after Corsi 2009, in logs), with the
stock's own standardized h-session quantiles."""

from __future__ import annotations

import numpy as np

from rnnforecast.risk.baselines.har import HAR_LAGS
from rnnforecast.risk.baselines.interface import VARIANCE_FLOOR, checked_ohlcv, range_variance
from rnnforecast.risk.fans.common import check_fit, checked_origins, fit_rows
from rnnforecast.risk.fans.interface import FAN_LEVELS, FanFit, sorted_quantiles

HAR_SERVE_ROWS = HAR_LAGS[-1] + 1
"""Rows before an origin a fan reads: 22 proxies, the first of which needs the close before it
for its overnight gap."""


class LogHarFan:
    """``log_har``: for each h, OLS of ``log sum_{k < h} RV[t + k]`` (the variance proxies of
    the h sessions after origin ``t``) on a constant, ``log RV[t - 1]``, ``log mean RV[t-5..t-1]``
    and ``log mean RV[t-22..t-1]``, RV being the Garman-Klass + gap proxy
    (:func:`~rnnforecast.risk.baselines.interface.range_variance`). The h-session variance is
    ``exp(x b_h + s_h^2 / 2)`` (the log-normal mean), the quantiles that standard deviation times
    the empirical quantiles (numpy's linear interpolation) of the in-sample standardized
    h-session returns.

    tables: ``coef`` ``(H, 4)``, ``resid_var`` ``(H,)`` (``s_h^2``, residual sum of squares over
    rows - 4), ``z`` ``(H, len(FAN_LEVELS))`` ascending; no params."""

    name = "log_har"
    # 23 rows before the first regression origin, then 22 sessions after the last: 250 rows
    # leave 206 regression rows at h = 22.
    min_rows = 250
    serve_rows = HAR_SERVE_ROWS

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        """OLS on the origins ``t`` in ``[23, through - h]`` (row 0's proxy, which lacks the
        gap, is left out; every target row is ``< through``). Raises DataError if ``through`` <
        :attr:`min_rows` or past the rows."""
        fit_rows(self.name, ohlcv, through, horizons, self.min_rows)
        bars = checked_ohlcv(ohlcv)[:through]
        proxy, log_close = range_variance(bars), np.log(bars[:, 3])
        csum = np.concatenate([[0.0], np.cumsum(proxy)])
        coef = np.empty((horizons, 4))
        resid_var, z = np.empty(horizons), np.empty((horizons, len(FAN_LEVELS)))
        for h in range(1, horizons + 1):
            t = np.arange(HAR_SERVE_ROWS, through - h + 1)
            design = har_design(proxy, t)
            target = np.log(csum[t + h] - csum[t])
            coef[h - 1], *_ = np.linalg.lstsq(design, target, rcond=None)
            resid = target - design @ coef[h - 1]
            resid_var[h - 1] = float(resid @ resid) / (t.size - design.shape[1])
            variance = np.exp(design @ coef[h - 1] + resid_var[h - 1] / 2)
            moves = log_close[t - 1 + h] - log_close[t - 1]
            z[h - 1] = np.quantile(moves / np.sqrt(variance), FAN_LEVELS)
        tables = {"coef": coef, "resid_var": resid_var, "z": z}
        return FanFit(self.name, horizons, {}, tables)

    def check(self, fit: FanFit) -> None:
        """Raise ValueError unless ``coef`` is ``(H, 4)``, ``resid_var`` ``(H,)`` non-negative
        and ``z`` ``(H, len(FAN_LEVELS))`` ascending, all finite (``H`` = ``fit.horizons``)."""
        shapes = {"coef": (-1, 4), "resid_var": (-1,), "z": (-1, len(FAN_LEVELS))}
        check_fit(self.name, fit, (), shapes)
        if np.any(fit.tables["resid_var"] < 0):
            raise ValueError("log_har resid_var must be non-negative")
        if np.any(np.diff(fit.tables["z"], axis=1) < 0):
            raise ValueError("log_har z must ascend along each horizon")

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        """``(m, horizons, len(FAN_LEVELS))``: ``sqrt(exp(x b_h + s_h^2 / 2)) z_h`` with ``x``
        from the proxies of rows ``[o - 22, o)``. Raises ValueError for origins outside
        ``[serve_rows, n]`` or horizons past the fit's."""
        bars = checked_ohlcv(ohlcv)
        o = checked_origins(self.name, origins, bars.shape[0], self.serve_rows, fit, horizons)
        design = har_design(range_variance(bars), o)
        coef = np.asarray(fit.tables["coef"])[:horizons]
        resid_var = np.asarray(fit.tables["resid_var"])[:horizons]
        variance = np.maximum(np.exp(design @ coef.T + resid_var / 2), VARIANCE_FLOOR)
        z = np.asarray(fit.tables["z"])[:horizons]
        return sorted_quantiles(np.sqrt(variance)[:, :, None] * z[None, :, :])


def har_design(proxy: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """``(m, 4)``: a constant and the logs of the mean proxy over the 1, 5 and 22 rows before
    each origin of ``origins`` ``(m,)`` (each ``>= 22``) in ``proxy`` ``(n,)``."""
    csum = np.concatenate([[0.0], np.cumsum(proxy)])
    columns = [np.log((csum[origins] - csum[origins - lag]) / lag) for lag in HAR_LAGS]
    return np.column_stack([np.ones(origins.size), *columns])
