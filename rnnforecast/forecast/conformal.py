"""Rolling conformal intervals: the conformal quantile of a rolling window of recent errors,
nudged by an adaptive-conformal step (served as ``rolling_conformal``).

Pure numpy, cheap enough for predict. The inputs are *scores*: one per day, the absolute log
error of the one-step forecast divided by its window's volatility scale (the normalised
conformal score of :func:`rnnforecast.forecast.calibration.fit_calibration`), oldest first.

For the day after ``j`` scored days, the width is the conformal quantile at ``1 - alpha_j``
of the last ``window`` scores. ``alpha`` follows adaptive conformal inference (Gibbs and
Candes 2021): ``alpha_{t+1} = alpha_t + gamma * (alpha - miss_t)``, so the miss rate is
pulled toward ``alpha = 1 - level``: after misses the width grows, after a calm spell it
shrinks. The walk restarts at ``alpha`` ``warmup`` days before each forecast, so a forecast
depends only on the last ``window + warmup`` scores: predict reads a fixed number of bars,
and evaluate reproduces predict's width for every test day using only earlier days.

Why *rolling*, not *adaptive*: with the default step (0.002) and the restart, ``alpha`` stays
within about 0.18-0.22 around 0.2, two ranks of a 100-score window, so the width is in effect
a plain 100-day rolling conformal quantile; the long-run coverage guarantee of ACI (which
needs the walk to run without restarts) does not apply. Users see the name
``rolling_conformal`` (``NAME+rolling`` for a baseline so rescaled); bundles saved when it was
called ``adaptive_conformal`` load unchanged, since the name is derived from the record's
scheme, and :func:`rnnforecast.risk.interval_choice.current_name` maps a recorded old name.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Adaptive:
    """Parameters of the adaptive scheme: ``window`` scores per quantile (> 0), the step
    ``gamma`` in [0, 1) (0: a plain rolling recalibration), ``warmup`` days of the walk."""

    window: int
    gamma: float
    warmup: int

    @property
    def history(self) -> int:
        """Scored days a forecast needs before it: ``window + warmup``."""
        return self.window + self.warmup

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Adaptive:
        """Raises ValueError, TypeError or KeyError on a malformed record."""
        adaptive = cls(int(raw["window"]), float(raw["gamma"]), int(raw["warmup"]))  # type: ignore[call-overload, arg-type]
        if adaptive.window < 1 or adaptive.warmup < 0 or not 0 <= adaptive.gamma < 1:
            raise ValueError(f"adaptive parameters out of range: {raw}")
        return adaptive


DEFAULT = Adaptive(window=100, gamma=0.002, warmup=250)
"""The scheme every new bundle records: chosen on the validation days of five real series,
never their test days (benchmarks/bench_intervals.py, docs/risk.md)."""


def _quantile_index(alpha: np.ndarray, n: int) -> np.ndarray:
    """0-based index into ``n`` sorted scores of the split-conformal quantile at ``1 - alpha``:
    the ``ceil((n + 1) (1 - alpha))``-th smallest, clipped to [1, n]. When ``alpha`` drops to
    ``1 / (n + 1)`` or below, ACI's interval would be infinite; the largest score is used
    instead so that every width stays finite."""
    k = np.ceil((n + 1) * (1.0 - alpha) - 1e-9).astype(np.int64)
    return np.clip(k, 1, n) - 1


def widths(scores: np.ndarray, level: float, params: Adaptive) -> np.ndarray:
    """Adaptive widths ``(T + 1,)`` in score units for days ``0..T`` of ``T`` scores ``(T,)``:
    entry ``j`` uses only ``scores[:j]`` (entry ``T`` is the day after the last score). Days
    with fewer than ``params.history`` scores before them get NaN (the caller keeps its
    fixed width there). Raises ValueError if ``level`` is not in (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    s = np.asarray(scores, dtype=np.float64)
    t, n, warm = len(s), params.window, params.warmup
    out = np.full(t + 1, np.nan)
    first = params.history
    if t < first:
        return out
    # Row r holds scores[r : r + n] sorted: the calibration set of day r + n.
    ordered = np.sort(np.lib.stride_tricks.sliding_window_view(s, n), axis=1)
    days = np.arange(first, t + 1)
    target = 1.0 - level
    alpha = np.full(len(days), target)
    for step in range(warm):  # every forecast day's walk advances one day at a time
        day = days - warm + step
        width = ordered[day - n, _quantile_index(alpha, n)]
        alpha = alpha + params.gamma * (target - (s[day] > width))
    out[first:] = ordered[days - n, _quantile_index(alpha, n)]
    return out


def factors(scores: np.ndarray, level: float, params: Adaptive | None, fixed: float) -> np.ndarray:
    """Multipliers ``(T + 1,)`` of the fixed one-step width ``fixed`` for days ``0..T`` (see
    :func:`widths`): 1 where the scheme is off or has too little history."""
    out = np.ones(len(scores) + 1)
    if params is None or not fixed > 0 or not math.isfinite(fixed):
        return out
    adaptive = widths(scores, level, params)
    known = ~np.isnan(adaptive)
    out[known] = adaptive[known] / fixed
    return out
