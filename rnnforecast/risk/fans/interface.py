"""What a price fan is: quantiles of the cumulative log return 1 to 22 sessions ahead.

A *fan* at an origin row ``o`` of bars ``ohlcv`` ``(n, 5)`` (oldest first) is made from the
rows before ``o`` only (the last known close is ``close[o - 1]``). For each horizon
``h = 1 .. H`` it gives quantiles of ``ln(close[o - 1 + h] / close[o - 1])`` at
:data:`FAN_LEVELS`, ascending along the last axis, in log-return units. Prices follow by
``close[o - 1] * exp(q)``. predict asks for the origin ``o = n`` (the session after the last
stored bar).

A :class:`FanMethod` is one classical way of drawing a fan (a simulated GARCH, a log-HAR, EWMA
times sqrt(h), the empirical h-day returns). ``fit`` may import heavy libraries (arch); ``fan``
is numpy only and deterministic (simulations use fixed seeds), because predict rebuilds the
served fan from a saved :class:`FanFit`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# The fan's shape is set under forecast/, where the network's fan (rnnforecast.forecast.fan_network)
# is drawn too: MAX_HORIZON = 22 (the longest horizon, about a month of sessions) and FAN_LEVELS,
# the nine quantile levels every fan gives (0.025 .. 0.975: the 95% interval needs both ends).
from rnnforecast.forecast.fan_recipe import FAN_LEVELS as FAN_LEVELS
from rnnforecast.forecast.fan_recipe import MAX_HORIZON as MAX_HORIZON

SHOWN_LEVELS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
"""The levels predict shows (keys "0.05" .. "0.95" of its JSON)."""

REPORT_HORIZONS: tuple[int, ...] = (1, 5, 22)
"""The horizons evaluate and the replay report."""


def level_index(level: float) -> int:
    """Position of ``level`` in :data:`FAN_LEVELS`. Raises ValueError if it is not there."""
    for i, value in enumerate(FAN_LEVELS):
        if math.isclose(value, level):
            return i
    raise ValueError(f"{level} is not a fan level; the fan has {list(FAN_LEVELS)}")


def interval_levels(level: float) -> tuple[int, int]:
    """Positions in :data:`FAN_LEVELS` of the central interval at ``level`` (0.8: 0.1 and
    0.9). Raises ValueError for a level the fan does not hold."""
    return level_index((1 - level) / 2), level_index((1 + level) / 2)


def served_levels(level: float) -> tuple[int, int]:
    """:func:`interval_levels` of ``level``, or of 80% when the fan holds no interval at
    ``level`` (a recipe's own level, 0.7 say): the interval predict serves as low/high."""
    try:
        return interval_levels(level)
    except ValueError:
        return interval_levels(0.8)


@dataclass(frozen=True)
class FanFit:
    """One method's fitted fan: what predict needs to rebuild it from the last bars.

    ``params``: named floats (variances in log-return units squared); ``tables``: named
    float arrays saved as nested lists (a log-HAR's coefficients per horizon, standardized
    quantiles per horizon...), shapes fixed by the method; ``horizons``: the longest horizon
    fitted; ``fitted_through``: the date of the last bar fitted on (None until the caller
    sets it).
    """

    method: str
    horizons: int
    params: dict[str, float] = field(default_factory=dict)
    tables: dict[str, np.ndarray] = field(default_factory=dict)
    fitted_through: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "horizons": self.horizons,
            "params": dict(self.params),
            "tables": {k: np.asarray(v).tolist() for k, v in self.tables.items()},
            "fitted_through": self.fitted_through,
        }

    @classmethod
    def from_json(cls, raw: Any) -> FanFit:
        """Check the shape of a saved fit (the method checks its own values:
        :meth:`FanMethod.check`). Raises ValueError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("a fan fit must be an object")
        method, horizons = raw.get("method"), raw.get("horizons")
        if not isinstance(method, str):
            raise ValueError("a fan fit needs a method name")
        if not isinstance(horizons, int) or not 1 <= horizons <= MAX_HORIZON:
            raise ValueError(f"horizons must be an integer in [1, {MAX_HORIZON}]")
        params_raw, tables_raw = raw.get("params", {}), raw.get("tables", {})
        if not isinstance(params_raw, dict) or not isinstance(tables_raw, dict):
            raise ValueError("params and tables must be objects")
        params = {str(k): finite(v, f"params.{k}") for k, v in params_raw.items()}
        tables = {}
        for key, value in tables_raw.items():
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"tables.{key} is not an array of numbers") from None
            if not np.all(np.isfinite(array)):
                raise ValueError(f"tables.{key} holds a value that is not finite")
            tables[str(key)] = array
        through = raw.get("fitted_through")
        if through is not None and not isinstance(through, str):
            raise ValueError("fitted_through must be a date or null")
        return cls(method, horizons, params, tables, through)


def finite(value: Any, name: str) -> float:
    """``value`` as a finite float. Raises ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class FanMethod(Protocol):
    """One classical fan, as the registry (:mod:`rnnforecast.risk.fans.registry`) holds it.

    Units: log returns. ``ohlcv``: ``(n, 5)`` float64 bars oldest first (open, high, low,
    close, volume), checked (finite positive prices).
    """

    @property
    def name(self) -> str:
        """The name reports, records and predict's ``interval_method`` use."""

    @property
    def min_rows(self) -> int:
        """Rows a fit needs before its ``through`` row for :data:`MAX_HORIZON`."""

    @property
    def serve_rows(self) -> int:
        """Rows before an origin that :meth:`fan` reads (predict reads this many bars)."""

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        """Fit on rows ``[0, through)`` of ``ohlcv`` for horizons ``1 .. horizons``. May
        import heavy libraries. Raises DataError if ``through`` < :attr:`min_rows`."""

    def check(self, fit: FanFit) -> None:
        """Raise ValueError unless ``fit`` holds this method's params and tables, in the
        ranges and shapes :meth:`fan` needs."""

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        """Quantiles ``(len(origins), horizons, len(FAN_LEVELS))`` of
        ``ln(close[o - 1 + h] / close[o - 1])`` for each origin row ``o`` of ``origins``
        ``(m,)`` (each in ``[min_rows, n]``, ``n`` allowed: the day after the last row; with
        fewer than ``serve_rows`` rows before an origin, every row before it), from
        rows ``< o`` only, ascending along the last axis. ``horizons <= fit.horizons``. Numpy
        only, deterministic."""


def sorted_quantiles(quantiles: np.ndarray) -> np.ndarray:
    """``quantiles`` sorted along the last axis: Monte Carlo or regression quantiles can
    cross by rounding, and a fan must not."""
    out: np.ndarray = np.sort(np.asarray(quantiles, dtype=np.float64), axis=-1)
    return out


def quantiles_of_sorted(rows: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """``(m, len(levels))``: the quantiles at ``levels`` (each in [0, 1]) of each row of
    ``rows`` ``(m, n)``, ``n >= 1``, sorted ascending along the rows, by numpy's default
    ("linear": Hyndman and Fan's type 7) rule in numpy's own arithmetic: virtual index
    ``(n - 1) q``, the values at its floor and the next index (the last value past the end),
    ``a + (b - a) g`` below ``g = 0.5`` and ``b - (b - a) (1 - g)`` from it; a row holding
    NaN (sorted last) gives NaN. The numbers of ``np.quantile(rows, levels, axis=1).T``,
    without its copy and partition of every row (a few ms per 20,000-path simulation, against
    a few µs here)."""
    n = rows.shape[1]
    virtual = (n - 1) * np.asarray(levels, dtype=np.float64)
    below = np.floor(virtual)
    last = virtual >= n - 1
    lo = np.where(last, n - 1, below).astype(np.intp)
    hi = np.where(last, n - 1, below + 1).astype(np.intp)
    gamma = virtual - np.where(last, -1.0, below)  # numpy's, with its -1 index past the end
    a, b = rows[:, lo], rows[:, hi]
    diff = b - a
    out: np.ndarray = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=np.broadcast_to(gamma >= 0.5, out.shape))
    out[np.isnan(rows[:, -1])] = np.nan
    return out


def check_ascending(levels: tuple[float, ...]) -> None:
    """Raise ValueError unless ``levels`` are strictly ascending inside (0, 1)."""
    if not all(0 < v < 1 for v in levels) or any(b <= a for a, b in itertools.pairwise(levels)):
        raise ValueError(f"levels must be strictly ascending inside (0, 1), got {list(levels)}")


def realised_targets(ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
    """``(m, horizons)``: ``ln(close[o - 1 + h] / close[o - 1])``, NaN where ``o - 1 + h``
    is past the last row. ``origins`` ``(m,)`` rows in ``[1, n]``."""
    close = np.asarray(ohlcv, dtype=np.float64)[:, 3]
    log_close = np.log(close)
    o = np.asarray(origins, dtype=np.int64)
    rows = o[:, None] - 1 + np.arange(1, horizons + 1)[None, :]
    out = np.full(rows.shape, np.nan)
    inside = rows < len(close)
    out[inside] = log_close[rows[inside]] - log_close[(o[:, None] - 1 + 0 * rows)[inside]]
    return out


Fits = Mapping[str, FanFit]
"""Fitted fans by method name."""
