"""The fans of a replay: what predict would have served 1 to 22 sessions ahead from each
replayed day, next to every classical fan alone, all refitted on each refit date's bars.

Each refit date's served fan (:class:`rnnforecast.risk.fans.choice.FanRecord`, chosen on the
scored fit's test period, which lies before the date) serves the origins up to the next refit
date; every classical fan is fitted on the same bars. Origin ``o``'s fans use the bars before
``o`` only, and are scored on the sessions ``o .. o + h - 1`` once they are realised, so an
origin near the end of the data is scored at the short horizons only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.risk.fans import choice, registry, report
from rnnforecast.risk.fans.choice import FanRecord, NetworkFan
from rnnforecast.risk.fans.interface import MAX_HORIZON, FanMethod


@dataclass(frozen=True)
class FanSpan:
    """One refit date's origins ``(m,)``, each classical fan ``(m, H, L)`` by name, the
    served fan ``(m, H, L)`` and the method served at each origin and horizon ``(m, H)``."""

    origins: np.ndarray
    fans: dict[str, np.ndarray]
    served: np.ndarray
    methods: np.ndarray


def fan_span(
    record: FanRecord | None,
    ohlcv: np.ndarray,
    span: tuple[int, int],
    network: NetworkFan | None = None,
    methods: Mapping[str, FanMethod] = registry.REGISTRY,
) -> FanSpan | None:
    """The fans of the origins ``span[0] .. span[1] - 1`` of ``ohlcv`` ``(n, 5)`` by the
    refit fitted on the rows before ``span[0]`` (its served ``record``, None when it had too
    few bars for a fan; ``network``: the network's fan of that refit, if it has one), and by
    each of ``methods`` alone, fitted on those rows too."""
    if record is None:
        return None
    first, end = span
    origins = np.arange(first, end)
    fits = choice.fit_all(methods, ohlcv, first, MAX_HORIZON)
    fans = choice.fan_of(fits, methods, ohlcv, origins, MAX_HORIZON, network)
    served = choice.served_fan(record, methods, ohlcv, origins, record.horizons, network)
    names = np.tile(np.asarray(record.methods), (len(origins), 1))
    return FanSpan(origins, fans, served, names)


def fan_horizons(spans: list[FanSpan | None], ohlcv: np.ndarray) -> dict[str, Any]:
    """The per-horizon report (:func:`rnnforecast.risk.fans.report.report`) of the replayed
    origins; empty if some refit date had no fan. A classical fan that could not be fitted at
    some refit date is left out."""
    if not spans or any(s is None for s in spans):
        return {}
    parts = [s for s in spans if s is not None]
    names = [k for k in parts[0].fans if all(k in p.fans for p in parts)]
    return report.report(
        ohlcv,
        np.concatenate([p.origins for p in parts]),
        {k: np.concatenate([p.fans[k] for p in parts]) for k in names},
        np.concatenate([p.served for p in parts]),
        np.concatenate([p.methods for p in parts]),
    )
