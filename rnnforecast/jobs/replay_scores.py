"""Scores of a replay: each forecaster's per-day forecasts of the replayed days, and the
scores of :mod:`rnnforecast.jobs.replay` computed from them alone.

Every forecaster is scored on the same days: the interval scores at 80% and 95% (price
units), the 80% coverage with Kupiec's test and Christoffersen's conditional-coverage test,
the point's MAE over the naive forecast's, and ``n``. The served forecast is tested against
the best single baseline by a one-sided Diebold-Mariano test of the per-day 80% interval
scores. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk.assessment import finite_or_none

LEVELS = (0.8, 0.95)
"""The interval levels a replay scores (80% is the served level of the default recipe)."""


@dataclass(frozen=True)
class Track:
    """One forecaster's forecasts of ``m`` replayed days, price units: ``point`` ``(m,)``,
    and ``low``/``high`` ``(m,)`` per level of :data:`LEVELS` (keys 0.8 and 0.95)."""

    point: np.ndarray
    low: dict[float, np.ndarray]
    high: dict[float, np.ndarray]

    @classmethod
    def concat(cls, parts: list[Track]) -> Track:
        """The tracks of consecutive spans of days, joined in order."""
        return cls(
            np.concatenate([p.point for p in parts]),
            {q: np.concatenate([p.low[q] for p in parts]) for q in LEVELS},
            {q: np.concatenate([p.high[q] for p in parts]) for q in LEVELS},
        )

    def interval_scores(self, actual: np.ndarray, level: float) -> np.ndarray:
        """Per-day interval scores ``(m,)`` at ``level`` (Winkler), price units."""
        return probabilistic.interval_score(actual, self.low[level], self.high[level], level)


def scores(actual: np.ndarray, naive: np.ndarray, track: Track) -> dict[str, Any]:
    """The score object of one forecaster on ``m`` days: ``interval_score_80`` and
    ``interval_score_95`` (mean, price units), ``coverage_80``, ``kupiec_p`` (of the 80%
    hits), ``christoffersen_cc_p`` (of the 80% hits:
    :func:`rnnforecast.metrics.probabilistic.christoffersen_cc_p`),
    ``rel_mae`` (MAE of ``track.point`` over the naive forecast's; ``actual`` and ``naive``
    ``(m,)`` closes), ``n``. Non-finite values are None."""
    hits = probabilistic.outside(actual, track.low[0.8], track.high[0.8])
    out: dict[str, Any] = {
        "interval_score_80": float(np.mean(track.interval_scores(actual, 0.8))),
        "interval_score_95": float(np.mean(track.interval_scores(actual, 0.95))),
        "coverage_80": 1.0 - float(np.mean(hits)),
        "kupiec_p": probabilistic.kupiec_p(hits, 0.8),
        "christoffersen_cc_p": probabilistic.christoffersen_cc_p(hits, 0.8),
        "rel_mae": accuracy.rel_mae(actual, track.point, naive),
    }
    cleaned: dict[str, Any] = {k: finite_or_none(v) for k, v in out.items()}
    cleaned["n"] = len(actual)
    return cleaned


def dm_test(
    actual: np.ndarray,
    served: Track,
    baselines: dict[str, Track],
    horizon: int,
) -> dict[str, Any]:
    """One-sided Diebold-Mariano test (HLN, :func:`rnnforecast.metrics.accuracy.diebold_mariano`
    with ``horizon``: Newey-West weights over ``lag`` lags, at least ``horizon - 1``) that the
    served forecast's per-day 80% interval scores are lower than
    those of the best single baseline (``against``: the lowest mean 80% interval score over
    the same days; None without baselines). A small ``p_value``: the served forecast is
    better."""
    means = {k: float(np.mean(t.interval_scores(actual, 0.8))) for k, t in baselines.items()}
    best = min(means, key=lambda k: means[k], default=None)
    out: dict[str, Any] = {"against": best, "alternative": "less", "horizon": horizon}
    out.update(statistic=None, p_value=None, lag=None)
    if best is None:
        return out
    mine = served.interval_scores(actual, 0.8)
    statistic, p_value = accuracy.diebold_mariano(
        mine, baselines[best].interval_scores(actual, 0.8), horizon, alternative="less"
    )
    lag = accuracy.hac_lag(len(mine), horizon) if p_value is not None else None
    out.update(statistic=finite_or_none(statistic), p_value=finite_or_none(p_value), lag=lag)
    return out


def shares(methods: np.ndarray) -> dict[str, float]:
    """Share of days ``(m,)`` each served method was served on, by name."""
    names, counts = np.unique(np.asarray(methods, dtype=str), return_counts=True)
    total = max(int(counts.sum()), 1)
    return {str(k): int(c) / total for k, c in zip(names, counts, strict=True)}
