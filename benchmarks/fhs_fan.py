"""Filtered historical simulation (FHS) GARCH fans, measured beside the served ones
(``python benchmarks/bench_horizons.py --fhs``) before any is served.

The GARCH(1,1) or GJR-GARCH(1,1) is fitted by arch exactly as ``garch_t`` / ``gjr_t`` are
(the t likelihood gives the variance recursion); the shocks of the simulation are then not t
draws but the model's own standardized residuals ``r_t / sqrt(s_t)`` over the fitting rows
(Barone-Adesi, Giannopoulos & Vosper 1999): their skew and tails, not the t's. The fit keeps
:data:`TABLE` evenly spaced quantiles of the residuals (the saved fit stays small); the
simulation draws from them with replacement from a fixed seed, and one session ahead the
fan is the residuals' own quantiles times the first volatility.
"""

from __future__ import annotations

import numpy as np

from rnnforecast.risk.baselines.garch import garch_path
from rnnforecast.risk.baselines.interface import VARIANCE_FLOOR, checked_ohlcv, log_returns
from rnnforecast.risk.fans.common import check_fit
from rnnforecast.risk.fans.garch import SIM_PATHS, SIM_SEED, GarchFan, GjrFan
from rnnforecast.risk.fans.interface import FAN_LEVELS, FanFit, FanMethod

TABLE = 1000
"""Quantiles of the standardized residuals a fit keeps (levels (k + 0.5) / TABLE)."""


class GarchFhsFan(GarchFan):
    """``garch_fhs``: GARCH(1,1) variances, shocks resampled from its standardized residuals."""

    name = "garch_fhs"

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        fitted = super().fit(ohlcv, through, horizons)
        p = fitted.params
        returns = log_returns(checked_ohlcv(ohlcv)[:through])
        gamma = p.get("gamma", 0.0) if self.asymmetric else 0.0
        variances = garch_path(returns, p["omega"], p["alpha"], gamma, p["beta"])[:-1]
        z = returns / np.sqrt(np.maximum(variances, VARIANCE_FLOOR))
        levels = (np.arange(TABLE) + 0.5) / TABLE
        tables = {"z1": np.quantile(z, list(FAN_LEVELS)), "z": np.quantile(z, levels)}
        return FanFit(self.name, horizons, p, tables)

    def check(self, fit: FanFit) -> None:
        check_fit(
            self.name,
            fit,
            (*self.param_names, "converged"),
            {"z1": (len(FAN_LEVELS),), "z": (TABLE,)},
        )

    def shocks(self, fit: FanFit, horizons: int) -> np.ndarray:
        rng = np.random.default_rng(SIM_SEED)
        draws: np.ndarray = fit.tables["z"][rng.integers(0, TABLE, (SIM_PATHS, horizons))]
        return draws


class GjrFhsFan(GarchFhsFan):
    """``gjr_fhs``: the same with GJR-GARCH(1,1) variances."""

    name = "gjr_fhs"
    asymmetric = True
    param_names = GjrFan.param_names


FHS: dict[str, FanMethod] = {m.name: m for m in (GarchFhsFan(), GjrFhsFan())}
"""The two FHS fans by name."""
