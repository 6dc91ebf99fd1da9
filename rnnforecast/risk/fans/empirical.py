"""The empirical fan: quantiles of the stock's own overlapping h-session log returns."""

from __future__ import annotations

import numpy as np

from rnnforecast.risk.baselines.interface import checked_ohlcv
from rnnforecast.risk.fans.common import check_fit, checked_origins, fit_rows
from rnnforecast.risk.fans.interface import FAN_LEVELS, MAX_HORIZON, FanFit, quantiles_of_sorted

EMP_ROWS = 1000
"""Rows before an origin whose h-session returns make its fan (about four years)."""

EMP_MIN_ROWS = 250
"""The fewest rows a fan is drawn from: 228 overlapping 22-session returns."""


class EmpiricalFan:
    """``emp_hday``: at origin ``o``, the quantiles (numpy's default "linear" interpolation,
    Hyndman and Fan's type 7) of the overlapping h-session log returns
    ``ln(close[t + h] / close[t])`` with both rows among the last :data:`EMP_ROWS` rows before
    ``o`` (all rows before ``o`` if fewer, at least :data:`EMP_MIN_ROWS`). Not demeaned: the
    stock's own drift over the window stays in the fan. Params: window; no tables."""

    name = "emp_hday"
    min_rows = EMP_MIN_ROWS
    serve_rows = EMP_ROWS

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        """Nothing to estimate: the fit records the window. Raises DataError if ``through`` <
        :attr:`min_rows` or past the rows."""
        fit_rows(self.name, ohlcv, through, horizons, self.min_rows)
        return FanFit(self.name, horizons, {"window": float(EMP_ROWS)})

    def check(self, fit: FanFit) -> None:
        """Raise ValueError unless the window is :data:`EMP_ROWS` (serving reads that many)."""
        check_fit(self.name, fit, ("window",), {})
        if fit.params["window"] != EMP_ROWS:
            raise ValueError(f"emp_hday window must be {EMP_ROWS}, got {fit.params['window']}")

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        """``(m, horizons, len(FAN_LEVELS))``. Unlike the other fans, origins from
        :attr:`min_rows` (not :attr:`serve_rows`) are accepted: below ``EMP_ROWS`` the window is
        every row before the origin. Raises ValueError for origins outside ``[min_rows, n]`` or
        horizons past the fit's."""
        bars = checked_ohlcv(ohlcv)
        o = checked_origins(self.name, origins, bars.shape[0], self.min_rows, fit, horizons)
        log_close = np.log(bars[:, 3])
        out = np.empty((o.size, horizons, len(FAN_LEVELS)))
        full = o >= EMP_ROWS
        if np.any(full):
            view = np.lib.stride_tricks.sliding_window_view(log_close, EMP_ROWS)
            out[full] = window_quantiles(view[o[full] - EMP_ROWS], horizons)
        for i in np.flatnonzero(~full).tolist():
            out[i] = window_quantiles(log_close[None, : o[i]], horizons)[0]
        return out


def window_quantiles(log_close: np.ndarray, horizons: int) -> np.ndarray:
    """``(m, horizons, len(FAN_LEVELS))`` quantiles of the overlapping h-session differences
    along each row of ``log_close`` ``(m, w)`` (``w`` > ``horizons``)."""
    if horizons > MAX_HORIZON or log_close.shape[1] <= horizons:
        raise ValueError("a window must be longer than the horizons")
    out = np.empty((log_close.shape[0], horizons, len(FAN_LEVELS)))
    for h in range(1, horizons + 1):
        moves = log_close[:, h:] - log_close[:, :-h]
        moves.sort(axis=1)  # np.quantile's numbers, without its partition of every row
        out[:, h - 1, :] = quantiles_of_sorted(moves, FAN_LEVELS)
    return out
