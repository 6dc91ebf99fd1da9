"""The fan network's inputs, targets and output transform, numpy only.

Inputs are **scale-free**: a row's features (:func:`row_features`) are returns, ranges and
variances divided by a trailing volatility of the same ticker, so that neither a price level
nor a volatility level identifies the ticker and one network serves tickers of any price and
volatility. Targets (:func:`standardised_targets`) are the cumulative log returns divided by
the trailing volatility at the origin times ``sqrt(h)``: the network learns standardised
quantiles, which :meth:`rnnforecast.forecast.fan_network.FanNetwork.fan` multiplies back.

Conventions (the fan contract, :mod:`rnnforecast.risk.fans.interface`): ``ohlcv`` ``(n, 5)``
open, high, low, close, volume, oldest first; an origin ``o`` forecasts from rows ``< o``: its
window is rows ``o - lookback .. o - 1`` and its targets ``ln(close[o - 1 + h] / close[o - 1])``.

The non-crossing transform (:func:`ascending_quantiles`) is implemented twice, identically:
here in numpy and in :mod:`rnnforecast.nn.fan_training` in ``keras.ops`` (the loss's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.bar_variance import checked_ohlcv, range_variance

FEATURE_NAMES: tuple[str, ...] = (
    "return",
    "range",
    "gap",
    "volume_change",
    "variance_5",
    "variance_22",
    "weekday_sin",
    "weekday_cos",
)
"""The columns of :func:`row_features`, in order."""
N_FEATURES = len(FEATURE_NAMES)

SCALE_SESSIONS = 22
"""Sessions of the trailing realised volatility that scales returns and targets."""
SHORT_SESSIONS = 5
LONG_SESSIONS = 250
"""Sessions of the long trailing variance that the 22-session one is compared with."""
VOLUME_CLIP = 5.0
FEATURE_CLIP = 10.0
"""Bound on a volatility-scaled return, range or gap (a crash day stays finite and bounded)."""
MIN_GAP = 1e-4
"""Least distance between neighbouring quantiles after :func:`ascending_quantiles`, in
standardised units, so that they are strictly ascending even in float32."""


def trailing_mean(values: np.ndarray, sessions: int) -> np.ndarray:
    """``(n,)``: the mean of ``values`` ``(n,)`` over rows ``t - sessions + 1 .. t`` (fewer at
    the start: the mean of rows ``0 .. t``). Row ``t`` reads rows ``<= t`` only."""
    total = np.cumsum(np.asarray(values, dtype=np.float64))
    out = total / np.arange(1, len(total) + 1)
    if len(total) > sessions:
        out[sessions:] = (total[sessions:] - total[:-sessions]) / sessions
    return out


def trailing_scale(ohlcv: np.ndarray) -> np.ndarray:
    """``(n,)`` the trailing realised volatility at each row, in log-return units: the square
    root of the mean range variance (Garman-Klass plus gap,
    :func:`rnnforecast.forecast.bar_variance.range_variance`) over the last
    :data:`SCALE_SESSIONS` rows up to and including the row. Raises DataError for bad bars."""
    scale: np.ndarray = np.sqrt(trailing_mean(range_variance(ohlcv), SCALE_SESSIONS))
    return scale


def weekday(dates: np.ndarray) -> np.ndarray:
    """``(n,)`` int: Monday 0 .. Sunday 6 of ``dates`` (anything datetime64 casts to days)."""
    days = np.asarray(dates).astype("datetime64[D]").astype(np.int64)
    out: np.ndarray = (days + 3) % 7  # 1970-01-01 was a Thursday
    return out


def row_features(ohlcv: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """``(n, N_FEATURES)`` float64 features of each row ``t`` from rows ``<= t`` only.

    With ``s_t`` = :func:`trailing_scale`: ``ln(close_t / close_{t-1}) / s_t``,
    ``ln(high_t / low_t) / s_t`` (high and low widened to cover open and close),
    ``ln(open_t / close_{t-1}) / s_t`` (these three clipped to +-:data:`FEATURE_CLIP`),
    ``ln((v_t + 1) / (v_{t-1} + 1))`` clipped to +-5, half the log ratio of the 5- to the
    22-session mean range variance, half the log ratio of the 22- to the 250-session one, and
    the weekday as a sine and cosine of period 5. Row 0 has no previous row: its return, gap
    and volume change are 0.

    Raises DataError unless ``ohlcv`` is ``(n, 5)`` with finite positive prices and ``dates``
    ``(n,)``.
    """
    bars = checked_ohlcv(ohlcv)
    dates = np.asarray(dates)
    if dates.shape != (len(bars),):
        raise DataError(f"expected {len(bars)} dates, got shape {dates.shape}")
    open_, high, low, close, volume = bars.T
    variance = range_variance(bars)
    v5 = trailing_mean(variance, SHORT_SESSIONS)
    v22 = trailing_mean(variance, SCALE_SESSIONS)
    v250 = trailing_mean(variance, LONG_SESSIONS)
    scale = np.sqrt(v22)
    previous_close = np.concatenate([close[:1], close[:-1]])
    logged_volume = np.log1p(np.maximum(volume, 0.0))
    volume_change = np.diff(logged_volume, prepend=logged_volume[:1])
    angle = 2 * math.pi * weekday(dates) / 5.0
    columns = [
        np.log(close / previous_close) / scale,
        np.log(np.maximum.reduce([high, open_, close]) / np.minimum.reduce([low, open_, close]))
        / scale,
        np.log(open_ / previous_close) / scale,
        np.clip(volume_change, -VOLUME_CLIP, VOLUME_CLIP),
        0.5 * np.log(v5 / v22),
        0.5 * np.log(v22 / v250),
        np.sin(angle),
        np.cos(angle),
    ]
    features = np.stack(columns, axis=1)
    features[:, :3] = np.clip(features[:, :3], -FEATURE_CLIP, FEATURE_CLIP)
    return features


def first_origin(lookback: int) -> int:
    """The first origin row a window of ``lookback`` rows fits (row 0, without a previous
    row, is never read)."""
    return lookback + 1


def origin_windows(features: np.ndarray, origins: np.ndarray, lookback: int) -> np.ndarray:
    """``(m, lookback, f)`` windows of ``features`` ``(n, f)``: for origin ``o``, rows
    ``o - lookback .. o - 1``. Raises DataError for an origin outside
    ``[first_origin(lookback), n]``."""
    o = np.asarray(origins, dtype=np.int64)
    low, n = first_origin(lookback), len(features)
    if o.ndim != 1 or (o.size and (o.min() < low or o.max() > n)):
        raise DataError(f"origins must be rows in [{low}, {n}] for a lookback of {lookback}")
    rows = o[:, None] - lookback + np.arange(lookback)[None, :]
    out: np.ndarray = np.asarray(features)[rows]
    return out


def horizon_spread(
    ohlcv: np.ndarray, origins: np.ndarray, horizons: int, persistence: float = 1.0
) -> np.ndarray:
    """``(m, horizons)``: the volatility of the cumulative return ``h = 1 .. horizons``
    sessions after each origin ``o`` that the targets are divided by, from rows ``< o``.
    With ``S`` = :func:`trailing_scale` and ``L`` the root mean range variance over the last
    :data:`LONG_SESSIONS` rows, both at row ``o - 1``: ``sqrt(sum_{k <= h} L^2 + (S^2 - L^2)
    persistence^k)``, a variance that returns to its long mean at the rate ``persistence``
    per session as a GARCH's does; ``persistence = 1``: ``S sqrt(h)`` exactly."""
    o = np.asarray(origins, dtype=np.int64)
    steps = np.arange(1, horizons + 1)
    short = trailing_scale(ohlcv)[o - 1]
    if persistence == 1.0:
        out: np.ndarray = short[:, None] * np.sqrt(steps)[None, :]
        return out
    long = trailing_mean(range_variance(ohlcv), LONG_SESSIONS)[o - 1]
    decay = np.cumsum(persistence**steps)  # sum of persistence^k, k = 1 .. h
    total = long[:, None] * steps[None, :] + (short**2 - long)[:, None] * decay[None, :]
    spread: np.ndarray = np.sqrt(np.maximum(total, 1e-12))
    return spread


def standardised_targets(
    ohlcv: np.ndarray, spread: np.ndarray, origins: np.ndarray, horizons: int
) -> np.ndarray:
    """``(m, horizons)``: ``ln(close[o - 1 + h] / close[o - 1]) / spread[i, h - 1]`` for
    each origin ``o = origins[i]`` and ``h = 1 .. horizons`` (``spread`` ``(m, horizons)``
    from :func:`horizon_spread`). Raises DataError if a target row ``o - 1 + h`` is past the
    last row or an origin is below 1."""
    log_close = np.log(np.asarray(ohlcv, dtype=np.float64)[:, 3])
    o = np.asarray(origins, dtype=np.int64)
    if o.size and (o.min() < 1 or o.max() - 1 + horizons >= len(log_close)):
        raise DataError(f"targets {horizons} rows ahead of these origins pass the last row")
    rows = o[:, None] - 1 + np.arange(1, horizons + 1)[None, :]
    moves = log_close[rows] - log_close[o - 1][:, None]
    out: np.ndarray = moves / spread
    return out


# --- the non-crossing transform ----------------------------------------------------------------


def softplus(x: np.ndarray) -> np.ndarray:
    """``ln(1 + e^x)`` without overflow."""
    out: np.ndarray = np.logaddexp(0.0, x)
    return out


def ascending_quantiles(raw: np.ndarray, n_levels: int) -> np.ndarray:
    """Raw outputs ``(m, horizons * n_levels)`` -> quantiles ``(m, horizons, n_levels)``
    strictly ascending along the last axis (``n_levels`` odd).

    Per horizon, the middle raw value is the median; each level above it is the one below plus
    ``softplus(raw) + MIN_GAP``, each level below it the one above minus the same of its raw
    value. :func:`rnnforecast.nn.fan_training.ascending_quantiles` is the same in keras.ops.
    """
    raw = np.asarray(raw, dtype=np.float64)
    q = raw.reshape(raw.shape[0], raw.shape[1] // n_levels, n_levels)
    mid = n_levels // 2
    median = q[..., mid : mid + 1]
    steps = softplus(q) + MIN_GAP
    above = median + np.cumsum(steps[..., mid + 1 :], axis=-1)
    below = median - np.cumsum(steps[..., :mid][..., ::-1], axis=-1)[..., ::-1]
    out: np.ndarray = np.concatenate([below, median, above], axis=-1)
    return out


def raw_from_quantiles(quantiles: np.ndarray) -> np.ndarray:
    """The inverse of :func:`ascending_quantiles` for one horizon's strictly ascending
    quantiles ``(n_levels,)`` whose neighbours differ by more than ``MIN_GAP``: raw values
    ``(n_levels,)`` (the network's starting output bias). Raises ValueError otherwise."""
    q = np.asarray(quantiles, dtype=np.float64)
    mid = len(q) // 2
    steps = np.concatenate([q[1 : mid + 1] - q[:mid], q[mid + 1 :] - q[mid:-1]]) - MIN_GAP
    if np.any(steps <= 0):
        raise ValueError("quantiles must ascend by more than MIN_GAP")
    raw = np.log(np.expm1(steps))
    out: np.ndarray = np.concatenate([raw[:mid], q[mid : mid + 1], raw[mid:]])
    return out


def normal_quantiles(levels: tuple[float, ...]) -> np.ndarray:
    """``(len(levels),)`` standard normal quantiles: the standardised fan the network starts
    from."""
    return np.array([NormalDist().inv_cdf(level) for level in levels])


# --- the input scaler -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature standardisation ``(x - mean) / std``, fitted on training rows only (a
    constant column keeps std 1)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, rows: np.ndarray) -> FeatureScaler:
        """Fit on ``(k, f)`` feature rows. Raises DataError for no rows."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or len(rows) == 0:
            raise DataError("the feature scaler needs at least one row")
        std = rows.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(tuple(map(float, rows.mean(axis=0))), tuple(map(float, std)))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(..., f)`` features -> float32 network inputs."""
        out = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.std)
        scaled: np.ndarray = out.astype(np.float32)
        return scaled

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, raw: Any) -> FeatureScaler:
        """Raises ModelError unless ``raw`` is :meth:`to_dict`'s form with finite values,
        positive stds and :data:`N_FEATURES` of each."""
        try:
            mean = tuple(float(v) for v in raw["mean"])
            std = tuple(float(v) for v in raw["std"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"fan feature scaler is malformed: {exc}") from None
        values = np.array([*mean, *std])
        if len(mean) != N_FEATURES or len(std) != N_FEATURES or not np.all(np.isfinite(values)):
            raise ModelError(f"fan feature scaler needs {N_FEATURES} finite means and stds")
        if min(std) <= 0:
            raise ModelError("fan feature scaler stds must be positive")
        return cls(mean, std)
