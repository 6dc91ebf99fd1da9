"""Scores of a replay: each forecaster's per-day forecasts of the replayed days, and the
scores of :mod:`rnnforecast.jobs.replay` computed from them alone.

Every forecaster is scored on the same days: the interval scores at 80% and 95% (price
units), the 80% coverage with Kupiec's test and Christoffersen's conditional-coverage test,
the point's MAE over the naive forecast's, and ``n``. The served forecast is tested against
the best single baseline by a one-sided Diebold-Mariano test of the per-day 80% interval
scores. numpy only.
"""

from __future__ import annotations

import math
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


def _xlogy(x: float, y: float) -> float:
    """``x * ln(y)`` with ``0 * ln(0) = 0``."""
    return 0.0 if x == 0 else x * math.log(y)


def conditional_coverage_p(hits: np.ndarray, level: float) -> float | None:
    """Christoffersen (1998) conditional-coverage test: p-value of ``LR_cc = LR_uc + LR_ind``
    against chi-squared(2), whose survival function is ``exp(-LR / 2)``.

    ``hits`` ``(n,)`` bool: the close fell outside the ``level`` interval. ``LR_uc`` is
    Kupiec's likelihood ratio of the hit rate against ``1 - level``, on the ``n - 1`` days
    that have a predecessor (Christoffersen's convention, so both ratios use the same
    transitions); ``LR_ind`` is the first-order Markov ratio of
    :func:`rnnforecast.metrics.probabilistic.christoffersen_p`. None where that test is None
    (fewer than two days, or no transition out of one state).

    Stand-in for ``metrics.probabilistic.christoffersen_cc_p``, which is being added to the
    metrics package: the replay switches to it when it lands.
    """
    h = np.asarray(hits, dtype=bool)
    if h.size < 2:
        return None
    prev, nxt = h[:-1], h[1:]
    n00, n01 = int(np.sum(~prev & ~nxt)), int(np.sum(~prev & nxt))
    n10, n11 = int(np.sum(prev & ~nxt)), int(np.sum(prev & nxt))
    if n00 + n01 == 0 or n10 + n11 == 0:
        return None
    n, x = n00 + n01 + n10 + n11, n01 + n11
    p = 1.0 - level
    unconditional = _xlogy(n - x, 1.0 - p) + _xlogy(x, p)
    pi01, pi11 = n01 / (n00 + n01), n11 / (n10 + n11)
    markov = (
        _xlogy(n00, 1.0 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1.0 - pi11) + _xlogy(n11, pi11)
    )
    # LR_uc + LR_ind = -2 ln L(p) + 2 ln L(rate) - 2 ln L(rate) + 2 ln L(markov)
    statistic = -2.0 * (unconditional - markov)
    return math.exp(-max(statistic, 0.0) / 2.0)


def scores(actual: np.ndarray, naive: np.ndarray, track: Track) -> dict[str, Any]:
    """The score object of one forecaster on ``m`` days: ``interval_score_80`` and
    ``interval_score_95`` (mean, price units), ``coverage_80``, ``kupiec_p`` (of the 80%
    hits), ``christoffersen_cc_p`` (:func:`conditional_coverage_p` of the 80% hits),
    ``rel_mae`` (MAE of ``track.point`` over the naive forecast's; ``actual`` and ``naive``
    ``(m,)`` closes), ``n``. Non-finite values are None."""
    hits = probabilistic.outside(actual, track.low[0.8], track.high[0.8])
    out: dict[str, Any] = {
        "interval_score_80": float(np.mean(track.interval_scores(actual, 0.8))),
        "interval_score_95": float(np.mean(track.interval_scores(actual, 0.95))),
        "coverage_80": 1.0 - float(np.mean(hits)),
        "kupiec_p": probabilistic.kupiec_p(hits, 0.8),
        "christoffersen_cc_p": conditional_coverage_p(hits, 0.8),
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
    with ``horizon``) that the served forecast's per-day 80% interval scores are lower than
    those of the best single baseline (``against``: the lowest mean 80% interval score over
    the same days; None without baselines). A small ``p_value``: the served forecast is
    better."""
    means = {k: float(np.mean(t.interval_scores(actual, 0.8))) for k, t in baselines.items()}
    best = min(means, key=lambda k: means[k], default=None)
    out: dict[str, Any] = {"against": best, "alternative": "less", "horizon": horizon}
    out.update(statistic=None, p_value=None)
    if best is None:
        return out
    statistic, p_value = accuracy.diebold_mariano(
        served.interval_scores(actual, 0.8),
        baselines[best].interval_scores(actual, 0.8),
        horizon,
        alternative="less",
    )
    out.update(statistic=finite_or_none(statistic), p_value=finite_or_none(p_value))
    return out


def shares(methods: np.ndarray) -> dict[str, float]:
    """Share of days ``(m,)`` each served method was served on, by name."""
    names, counts = np.unique(np.asarray(methods, dtype=str), return_counts=True)
    total = max(int(counts.sum()), 1)
    return {str(k): int(c) / total for k, c in zip(names, counts, strict=True)}
