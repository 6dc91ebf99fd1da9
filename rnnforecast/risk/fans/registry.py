"""The registry of classical fans (fitting and drawing several: rnnforecast.risk.fans.choice).

Simulated GARCH(1,1)-t and GJR-GARCH(1,1)-t (:mod:`~rnnforecast.risk.fans.garch`), the direct
log-HAR (:mod:`~rnnforecast.risk.fans.har`), EWMA times sqrt(h)
(:mod:`~rnnforecast.risk.fans.ewma`) and the empirical h-session returns
(:mod:`~rnnforecast.risk.fans.empirical`). Importing this module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rnnforecast.errors import UsageError
from rnnforecast.risk.fans.empirical import EmpiricalFan
from rnnforecast.risk.fans.ewma import EwmaFan
from rnnforecast.risk.fans.garch import GarchFan, GjrFan
from rnnforecast.risk.fans.har import LogHarFan
from rnnforecast.risk.fans.interface import FanMethod

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
