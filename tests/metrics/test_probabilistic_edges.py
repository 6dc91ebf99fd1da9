"""The edges of rnnforecast.metrics.probabilistic that a mutation run (mutmut, docs/tests.md)
found untested: the level bounds, the shortest series each coverage test is defined on,
transition counts that are equal, hits given as 0/1 integers, and the refusals of
non-positive scales and variances, with their messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnforecast.metrics import probabilistic as pr


@pytest.mark.parametrize(
    "call",
    [
        lambda level: pr.interval_score(np.ones(2), np.zeros(2), np.full(2, 2.0), level),
        lambda level: pr.kupiec_p(np.array([True, False]), level),
    ],
    ids=["interval_score", "kupiec_p"],
)
@pytest.mark.parametrize("level", [0.0, 1.0])
def test_a_level_of_0_or_1_is_refused(call: object, level: float) -> None:
    with pytest.raises(ValueError, match=rf"^level must be in \(0, 1\), got {level}$"):
        call(level)  # type: ignore[operator]


def test_one_day_has_a_coverage() -> None:
    assert pr.coverage(np.array([1.0]), np.array([0.0]), np.array([2.0])) == 1.0
    assert pr.coverage(np.array([3.0]), np.array([0.0]), np.array([2.0])) == 0.0


def test_equal_transition_counts_are_a_markov_fit_like_any_other() -> None:
    """miss-free then miss, miss then miss, miss then none: n00 = n01 = n10 = n11 = 1, every
    transition probability 1/2, so the independence ratio is 0 and p is 1 (not undefined)."""
    hits = np.array([False, False, True, True, False])
    assert pr.christoffersen_lr(hits) == 0.0
    assert pr.christoffersen_p(hits) == 1.0


def test_two_days_have_a_conditional_coverage_p() -> None:
    """One transition: the independence test is undefined (ratio 0), so the conditional
    test is Kupiec's ratio on 2 degrees of freedom: 1 miss in 2 days at 50% fits exactly."""
    assert pr.christoffersen_p(np.array([True, False])) is None
    assert pr.christoffersen_cc_p(np.array([True, False]), 0.5) == 1.0
    one_of_two = pr.kupiec_lr(np.array([True, False]), 0.8)
    assert one_of_two is not None
    assert pr.christoffersen_cc_p(np.array([True, False]), 0.8) == pytest.approx(
        math.exp(-one_of_two / 2), rel=1e-15
    )


def test_hits_given_as_0_or_1_read_as_booleans() -> None:
    as_bool = np.array([False, True, True, False, False, True, False, False])
    as_int = as_bool.astype(int)
    assert pr.christoffersen_p(as_int) == pr.christoffersen_p(as_bool)
    assert pr.christoffersen_cc_p(as_int, 0.8) == pr.christoffersen_cc_p(as_bool, 0.8)
    assert pr.kupiec_p(as_int, 0.8) == pr.kupiec_p(as_bool, 0.8)


def test_a_zero_standard_deviation_or_scale_is_refused() -> None:
    one, zero = np.ones(1), np.zeros(1)
    with pytest.raises(ValueError, match=r"^standard deviations must be positive$"):
        pr.crps_gaussian(one, zero, zero)
    with pytest.raises(
        ValueError, match=r"^scales must be positive and the degrees of freedom above 1$"
    ):
        pr.crps_student_t(one, zero, zero, 5.0)
    with pytest.raises(ValueError, match=r"^scales must be positive"):
        pr.crps_student_t(one, zero, one, 1.0)


def test_a_t_with_1_5_degrees_of_freedom_has_a_crps() -> None:
    """df in (1, 2]: infinite variance, finite mean, so the CRPS is defined (df > 1)."""
    (value,) = pr.crps_student_t(np.zeros(1), np.zeros(1), np.ones(1), 1.5)
    assert math.isfinite(value) and value > 0


def test_a_zero_variance_or_proxy_is_refused() -> None:
    for variance, proxy in ((np.zeros(1), np.ones(1)), (np.ones(1), np.zeros(1))):
        with pytest.raises(ValueError, match=r"^variances and proxies must be positive$"):
            pr.qlike_per_day(variance, proxy)


def test_the_crps_grid_has_100_levels_by_default() -> None:
    levels = pr.crps_levels()
    assert len(levels) == 100
    assert (levels[0], levels[-1]) == (0.005, 0.995)
