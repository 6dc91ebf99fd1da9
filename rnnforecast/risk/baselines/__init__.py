"""Classical volatility baselines for the next day's close-to-close log return: one class per
baseline (:class:`Baseline`), found by name in :data:`REGISTRY`.

Modules: ``interface`` (the interface and shared numpy pieces), ``garch`` (GARCH-t, GJR-t; the
only ``arch`` importer, inside the fit), ``ewma``, ``trailing`` (hist50, emp250), ``har``, and
``registry`` (the names and :func:`forecast_baselines`). Importing the package imports numpy only.
"""

from rnnforecast.risk.baselines.ewma import EWMA_LAMBDA
from rnnforecast.risk.baselines.garch import garch_path, garch_variances
from rnnforecast.risk.baselines.har import HAR_LAGS
from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    Baseline,
    BaselineForecast,
    range_variance,
)
from rnnforecast.risk.baselines.registry import (
    BASELINES,
    MIN_RETURNS,
    REGISTRY,
    baselines_for,
    forecast_baselines,
    lookup,
)
from rnnforecast.risk.baselines.trailing import EMP_WINDOW, HIST_WINDOW

__all__ = [
    "BASELINES",
    "EMP_WINDOW",
    "EWMA_LAMBDA",
    "HAR_LAGS",
    "HIST_WINDOW",
    "MIN_RETURNS",
    "REGISTRY",
    "VARIANCE_FLOOR",
    "Baseline",
    "BaselineForecast",
    "baselines_for",
    "forecast_baselines",
    "garch_path",
    "garch_variances",
    "lookup",
    "range_variance",
]
