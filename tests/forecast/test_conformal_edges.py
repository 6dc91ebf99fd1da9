"""The edges of rnnforecast.forecast.conformal that a mutation run (mutmut, docs/tests.md)
found untested: the quantile index once alpha reaches 1, a fixed width of 0 or infinity, the
level and parameter bounds, and scores that tie with the width (a tie is not a miss),
against a walk written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnforecast.forecast.conformal import Adaptive, _quantile_index, factors, widths


def test_alpha_of_1_or_more_takes_the_smallest_score() -> None:
    """ceil((n + 1)(1 - alpha)) is 0 or less there: clipped to the first order statistic."""
    np.testing.assert_array_equal(_quantile_index(np.array([1.0, 1.5, 0.5]), 10), [0, 0, 5])


@pytest.mark.parametrize("fixed", [0.0, math.inf, -1.0, math.nan])
def test_a_fixed_width_that_is_not_positive_and_finite_leaves_factors_at_1(fixed: float) -> None:
    scores = np.arange(1.0, 9.0)
    got = factors(scores, 0.8, Adaptive(window=3, gamma=0.1, warmup=2), fixed)
    np.testing.assert_array_equal(got, np.ones(9))


def test_a_level_of_0_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^level must be in \(0, 1\), got 0.0$"):
        widths(np.ones(5), 0.0, Adaptive(2, 0.0, 0))


def walk_by_hand(scores: list[float], level: float, scheme: Adaptive) -> list[float]:
    """Each day from ``history`` on: alpha starts at 1 - level ``warmup`` days back and moves
    by ``gamma (1 - level - miss)``, a miss being a score strictly above the day's width; the
    width is the ``ceil((n + 1)(1 - alpha))``-th smallest (clipped to [1, n]) of the ``n``
    scores before the day."""
    n, out = scheme.window, []

    def quantile(day: int, alpha: float) -> float:
        k = min(max(math.ceil((n + 1) * (1 - alpha) - 1e-9), 1), n)
        return sorted(scores[day - n : day])[k - 1]

    for day in range(scheme.history, len(scores) + 1):
        alpha = 1 - level
        for walked in range(day - scheme.warmup, day):
            miss = scores[walked] > quantile(walked, alpha)
            alpha += scheme.gamma * (1 - level - miss)
        out.append(quantile(day, alpha))
    return out


def test_a_score_equal_to_the_width_is_not_a_miss() -> None:
    scores = [float(x) for x in np.random.default_rng(2).integers(1, 4, 60)]  # many ties
    scheme = Adaptive(window=10, gamma=0.3, warmup=8)
    got = widths(np.array(scores), 0.8, scheme)
    assert np.isnan(got[: scheme.history]).all()
    np.testing.assert_array_equal(got[scheme.history :], walk_by_hand(scores, 0.8, scheme))


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ({"window": 1, "gamma": 0.0, "warmup": 0}, True),
        ({"window": 0, "gamma": 0.0, "warmup": 0}, False),
        ({"window": 5, "gamma": 0.0, "warmup": -1}, False),
        ({"window": 5, "gamma": 0.99, "warmup": 3}, True),
        ({"window": 5, "gamma": 1.0, "warmup": 3}, False),
        ({"window": 5, "gamma": 1.5, "warmup": 3}, False),
        ({"window": 5, "gamma": -0.1, "warmup": 3}, False),
    ],
)
def test_scheme_bounds(raw: dict[str, float], ok: bool) -> None:
    if ok:
        assert Adaptive.from_dict(raw) == Adaptive(int(raw["window"]), raw["gamma"], raw["warmup"])
    else:
        with pytest.raises(ValueError, match=r"^adaptive parameters out of range: \{'window'"):
            Adaptive.from_dict(raw)
