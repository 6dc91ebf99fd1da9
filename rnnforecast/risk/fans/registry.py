"""The registry of classical fans, and the calls that fit and draw several of them.

Simulated GARCH(1,1)-t and GJR-GARCH(1,1)-t (:mod:`~rnnforecast.risk.fans.garch`), the direct
log-HAR (:mod:`~rnnforecast.risk.fans.har`), EWMA times sqrt(h)
(:mod:`~rnnforecast.risk.fans.ewma`) and the empirical h-session returns
(:mod:`~rnnforecast.risk.fans.empirical`). Importing this module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from rnnforecast.errors import DataError, UsageError
from rnnforecast.risk.baselines.interface import checked_ohlcv
from rnnforecast.risk.fans.empirical import EmpiricalFan
from rnnforecast.risk.fans.ewma import EwmaFan
from rnnforecast.risk.fans.garch import GarchFan, GjrFan
from rnnforecast.risk.fans.har import LogHarFan
from rnnforecast.risk.fans.interface import FanFit, FanMethod, Fits

_ALL: tuple[FanMethod, ...] = (GarchFan(), GjrFan(), LogHarFan(), EwmaFan(), EmpiricalFan())

REGISTRY: Mapping[str, FanMethod] = MappingProxyType({m.name: m for m in _ALL})
"""Every fan method by name, in the order reports list them."""

FAN_METHODS: tuple[str, ...] = tuple(REGISTRY)
"""garch_t, gjr_t, log_har, ewma, emp_hday."""


def lookup(name: str) -> FanMethod:
    """The fan method called ``name``. Raises UsageError for an unknown name."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown fan {name!r}; choose from {', '.join(FAN_METHODS)}") from None


def fit_all(
    ohlcv: np.ndarray, through: int, horizons: int, names: Sequence[str] = FAN_METHODS
) -> dict[str, FanFit]:
    """Fit each method of ``names`` on rows ``[0, through)`` of ``ohlcv`` ``(n, 5)`` for
    horizons ``1 .. horizons``; a method with too few rows (DataError from its fit) is left
    out. Raises UsageError for an unknown name (before fitting any), DataError for bars that
    are not ``(n, 5)`` finite positive prices, ValueError for horizons outside ``[1, 22]``."""
    chosen = [lookup(name) for name in names]
    bars = checked_ohlcv(ohlcv)
    fits = {}
    for method in chosen:
        try:
            fits[method.name] = method.fit(bars, through, horizons)
        except DataError:
            continue
    return fits


def fans(
    fits: Fits, ohlcv: np.ndarray, origins: np.ndarray, horizons: int
) -> dict[str, np.ndarray]:
    """``{name: (m, horizons, len(FAN_LEVELS))}`` for each fit of ``fits`` (by method name),
    each checked first. Raises UsageError for an unknown method, ValueError for a fit its
    method refuses or origins/horizons it cannot serve."""
    out = {}
    for name, fit in fits.items():
        method = lookup(name)
        method.check(fit)
        out[name] = method.fan(fit, ohlcv, origins, horizons)
    return out
