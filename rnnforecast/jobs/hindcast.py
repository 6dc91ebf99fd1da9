"""Hindcasts: what a bundle would have served for past days, built as ``predict`` builds it.

For each past day, the one-day point forecast and interval ``predict`` would have printed on
the evening before it, from the bars up to that evening only: the network's calibrated point
(its adaptive conformal widths, if it has them, from the one-step scores of earlier days);
and, when the bundle serves a baseline's intervals (:mod:`rnnforecast.risk.interval_choice`),
that baseline's bounds around the point from the last bars predict reads
(:func:`rnnforecast.risk.interval_choice.bounds`, widths rescaled by
:func:`rnnforecast.risk.adaptive_widths.factor` when the record adapts). The nightly job's
promotion scores both models on these (:mod:`rnnforecast.jobs.promotion`).

A bundle with a fan (:mod:`rnnforecast.risk.fans`) serves its one-session interval around
the last close, as predict does.

Out of sample by construction: a baseline record fitted on a bar of the days hindcast (a
refit bundle fits its baseline on every bar) is refitted, by the same method and level, on
the bars before the first of them, so that no day is scored by parameters that saw it.
Never prints or exits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rnnforecast.errors import DataError
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import base_matrix, build_dataset
from rnnforecast.metrics.probabilistic import interval_score, outside
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.fans import choice, registry
from rnnforecast.risk.fans.choice import FanRecord
from rnnforecast.risk.fans.interface import served_levels
from rnnforecast.storage.loading import Loaded


@dataclass(frozen=True)
class Hindcast:
    """One-day forecasts served for past days, oldest first, all ``(n,)``: ``dates``
    (datetime64, the day forecast), ``actual`` close, served ``point``, ``low`` and ``high``
    (price units) at interval ``level``; ``method``: who made the interval (the served
    method's name, as ``predict`` reports it)."""

    dates: np.ndarray
    actual: np.ndarray
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float
    method: str

    def __len__(self) -> int:
        return len(self.dates)

    def interval_scores(self) -> np.ndarray:
        """Winkler interval score per day ``(n,)`` at ``level``, price units (lower is better)."""
        return interval_score(self.actual, self.low, self.high, self.level)

    def abs_errors(self) -> np.ndarray:
        """Absolute error of the served point per day ``(n,)``, price units."""
        return np.asarray(np.abs(self.actual - self.point), dtype=np.float64)

    def covered(self) -> np.ndarray:
        """Per day ``(n,)`` bool: the close fell inside the served interval."""
        return ~outside(self.actual, self.low, self.high)


def served_days(
    loaded: Loaded,
    model: FittedModel,
    frame: pd.DataFrame,
    start: str,
    end: str,
    after: str | None = None,
    member: str | None = None,
) -> Hindcast:
    """The hindcast of the bundle ``loaded`` (its network run as ``model``: the served fit,
    or the scored fit for out-of-sample points) for the
    days in [``start``, ``end``] after ``after`` (ISO dates; None: no lower cut) of the bars
    ``frame`` (a global model's ``member``, whose own intervals record is used); possibly no
    day. Raises DataError (too few bars for a baseline), ModelError (an unreadable
    intervals record, or bounds that are not finite)."""
    data = loaded.config.data
    dataset = build_dataset(frame, data)
    first_target = pd.DatetimeIndex(dataset.target_dates[:, 0])
    mask = (first_target >= pd.Timestamp(start)) & (first_target <= pd.Timestamp(end))
    if after is not None:
        mask &= first_target > pd.Timestamp(after)
    index = np.flatnonzero(np.asarray(mask))
    part = dataset.select(index)
    served = interval_choice.load(loaded.bundle.path, member)
    fan = choice.load(loaded.bundle.path, registry.REGISTRY, member)
    baseline = (served is not None and served.serves_baseline) or fan is not None
    calibration = model.calibration
    method = interval_choice.served_name(served, calibration) if fan is None else fan.methods[0]
    level = served.level if served is not None else calibration.level
    if not len(index):
        empty = np.zeros(0)
        return Hindcast(part.target_dates[:, 0], empty, empty, empty, empty, level, method)
    # a served baseline needs no network factor (predict skips it too)
    # each day's factor from the one-step scores of the days before it only, as predict has
    factors = 1.0 if baseline else model.width_factors(dataset)[index]
    result = model.forecast(part.base, 1, factors)
    point, low, high = result.point[:, 0], result.low[:, 0], result.high[:, 0]
    if fan is not None:
        ohlcv = base_matrix(frame)
        first_row = int(index[0]) + data.lookback
        first_day = str(frame.index[first_row].date())
        network = served_network(loaded, fan, frame, first_day)
        origins = index + data.lookback
        low, high = fan_bounds(fan, ohlcv, origins, level, (first_row, first_day), network)
    elif baseline and served is not None:
        ohlcv = base_matrix(frame)
        # rows [0, first_row) are the bars up to the evening before the first day hindcast
        first_row = int(index[0]) + data.lookback
        record = out_of_sample(served, ohlcv, first_row, str(frame.index[first_row - 1].date()))
        low, high = baseline_bounds(record, ohlcv, index + data.lookback, point, data.lookback)
    return Hindcast(part.target_dates[:, 0], part.actual[:, 0], point, low, high, level, method)


def served_network(
    loaded: Loaded, fan: FanRecord, frame: pd.DataFrame, first_day: str
) -> choice.NetworkFan | None:
    """The bundle's fan network bound to the bars ``frame`` where ``fan`` serves it one
    session ahead (None elsewhere). It is never refitted, so it must have learnt from bars
    before ``first_day`` (ISO) only. Raises ModelError (missing or unreadable network
    files), DataError (it read a bar on or after ``first_day``)."""
    if fan.methods[0] != choice.NETWORK:
        return None
    from rnnforecast.nn.fan_forward import read_fan_network

    network = read_fan_network(loaded.bundle.path)
    seen = max(network.trained_on.values(), default=None)
    if seen is not None and seen >= first_day:
        raise DataError(f"the fan network read bars up to {seen}: no hindcast from {first_day}")
    dates = frame.index.to_numpy().astype("datetime64[D]")
    return network.bound(base_matrix(frame), dates)


def fan_bounds(
    fan: FanRecord,
    ohlcv: np.ndarray,
    origins: np.ndarray,
    level: float,
    first: tuple[int, str],
    network: choice.NetworkFan | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``(k,)`` of the served ``fan``'s one-session interval at ``level`` (80%
    when the fan holds no interval at ``level``, as predict serves it) for the days at rows
    ``origins`` ``(k,)`` of ``ohlcv`` ``(n, 5)``, from the bars before each. A method fitted
    on the first day hindcast or later (``first``: its row and ISO date) is refitted on the
    rows before it, so that no day is scored by parameters that saw it; ``network``: the fan
    network where the fan serves it (:func:`served_network`). Raises DataError (too few
    bars), ModelError (a fan that is not finite, a network served but not given)."""
    methods = registry.REGISTRY
    fits = {
        name: fit
        if fit.fitted_through is not None and fit.fitted_through < first[1]
        else methods[name].fit(ohlcv, first[0], fit.horizons)
        for name, fit in fan.fits.items()
    }
    record = replace(fan, methods=fan.methods[:1], fits=fits)
    quantiles = choice.served_fan(record, methods, ohlcv, origins, 1, network)[:, 0]
    lo, hi = served_levels(level)
    prices = ohlcv[origins - 1, 3][:, None] * np.exp(quantiles[:, [lo, hi]])
    return prices[:, 0], prices[:, 1]


def out_of_sample(
    record: interval_choice.IntervalRecord, ohlcv: np.ndarray, rows: int, last_day: str
) -> interval_choice.IntervalRecord:
    """``record``, or when it was fitted on a bar after ``last_day`` (the ISO date of row
    ``rows - 1`` of ``ohlcv`` ``(n, 5)``), the same method refitted at the same level on rows
    ``[0, rows)``, with the record's adaptive scheme and choice. Raises DataError if those
    rows are too few for the method."""
    if record.fitted_through is not None and record.fitted_through <= last_day:
        return record
    fitted = interval_choice.fit_record(
        record.method, ohlcv, rows, record.level, last_day, record.choice
    )
    return replace(fitted, adaptive=record.adaptive)


def baseline_bounds(
    record: interval_choice.IntervalRecord,
    ohlcv: np.ndarray,
    ends: np.ndarray,
    point: np.ndarray,
    lookback: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``(k,)`` of the baseline ``record`` around the served ``point``
    ``(k,)`` for the days after rows ``ends - 1`` of ``ohlcv`` ``(n, 5)``: each from the last
    bars predict reads (``max(lookback, rows_needed)``) up to that row, as ``predict`` does.
    Raises DataError (too few bars), ModelError (bounds not finite)."""
    read = max(lookback, adaptive_widths.rows_needed(record))
    low, high = np.empty(len(ends)), np.empty(len(ends))
    for k, stop in enumerate(np.asarray(ends, dtype=np.int64)):
        rows = ohlcv[max(0, int(stop) - read) : int(stop)]
        factor = adaptive_widths.factor(record, rows)  # 1.0 for fixed widths
        day_low, day_high = interval_choice.bounds(record, rows, point[k : k + 1], factor)
        low[k], high[k] = day_low[0], day_high[0]
    return low, high
