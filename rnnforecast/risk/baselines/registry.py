"""The registry of classical volatility baselines, and the one call that forecasts a test span
with several of them.

What a risk analyst would put next to the network's 80% intervals: GARCH(1,1) and GJR-GARCH(1,1)
with Student-t errors (:mod:`~rnnforecast.risk.baselines.garch`, fitted in ``arch``), RiskMetrics
EWMA (:mod:`~rnnforecast.risk.baselines.ewma`), a 50-day historical volatility and the empirical
quantiles of the last 250 returns (:mod:`~rnnforecast.risk.baselines.trailing`), and HAR on a
range-based daily variance (:mod:`~rnnforecast.risk.baselines.har`). A name is looked up here;
no other module dispatches on baseline names. Importing this module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from rnnforecast.errors import DataError, UsageError
from rnnforecast.risk.baselines.ewma import Ewma
from rnnforecast.risk.baselines.garch import GarchT, GjrT
from rnnforecast.risk.baselines.har import Har
from rnnforecast.risk.baselines.interface import (
    Baseline,
    BaselineForecast,
    checked_levels,
    checked_ohlcv,
)
from rnnforecast.risk.baselines.trailing import Emp250, Hist50

_ALL: tuple[Baseline, ...] = (GarchT(), GjrT(), Ewma(), Hist50(), Emp250(), Har())

REGISTRY: Mapping[str, Baseline] = MappingProxyType({b.name: b for b in _ALL})
"""Every baseline by name, in the order reports list them."""

BASELINES: tuple[str, ...] = tuple(REGISTRY)
"""The names of :data:`REGISTRY`: garch_t, gjr_t, ewma, hist50, emp250, har."""

MIN_RETURNS: Mapping[str, int] = MappingProxyType({b.name: b.min_returns for b in _ALL})
"""Returns (not rows) each baseline needs before the first test row."""


def lookup(name: str) -> Baseline:
    """The registered baseline called ``name``. Raises UsageError for an unknown name."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}") from None


def forecast_baselines(
    ohlcv: np.ndarray,
    first_test: int,
    levels: Sequence[float],
    names: Sequence[str] = BASELINES,
) -> dict[str, BaselineForecast]:
    """Forecast every row t in [first_test, n) with each baseline in ``names``.

    ``ohlcv`` (n, 5) float64 rows in date order: open, high, low, close, volume (volume unused).
    The target is ln(close[t] / close[t-1]), forecast from rows < t only. Parameters are fitted
    once on rows < first_test, then each model is filtered forward day by day without refitting
    (:meth:`Baseline.forecast`). Returns {name: BaselineForecast} with m = n - first_test rows
    each, centred on a zero mean.

    Raises UsageError for an unknown name or levels not strictly ascending inside (0, 1);
    DataError if ``ohlcv`` is not (n, 5) with finite positive prices, if first_test is outside
    [1, n], or if a requested baseline has too few returns before first_test (the message says
    how many rows it needs; ``MIN_RETURNS`` + 1 rows).
    """
    chosen = [lookup(name) for name in names]
    levels_t = checked_levels(levels)
    ohlcv = checked_ohlcv(ohlcv)
    n = ohlcv.shape[0]
    if not 1 <= first_test <= n:
        raise DataError(f"the first test row must be in [1, {n}], got {first_test}")
    for each in chosen:
        need = each.min_returns + 1
        if first_test < need:
            raise DataError(
                f"baseline {each.name} needs at least {need} rows before the test span "
                f"({each.min_returns} returns), got {first_test}"
            )
    return {each.name: each.forecast(ohlcv, first_test, levels_t) for each in chosen}


def baselines_for(first_test: int) -> tuple[str, ...]:
    """The baselines (in BASELINES order) with enough rows before ``first_test`` to be fitted:
    a short series can still be scored against the others instead of raising DataError."""
    return tuple(name for name in BASELINES if first_test >= MIN_RETURNS[name] + 1)
