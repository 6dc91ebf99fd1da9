"""Interval and distribution scores against hand-computed and textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnforecast.metrics import probabilistic


def _hits(n: int, x: int) -> np.ndarray:
    return np.arange(n) < x


def test_interval_score_by_hand() -> None:
    # level 0.8: alpha 0.2, penalty 2 / alpha = 10 per unit of miss.
    scores = probabilistic.interval_score(
        np.array([100.0, 105.0, 90.0]),
        np.array([95.0, 95.0, 95.0]),
        np.array([104.0, 104.0, 104.0]),
        0.8,
    )
    assert scores.tolist() == pytest.approx([9.0, 19.0, 59.0])


def test_interval_score_rejects_a_level_outside_0_1() -> None:
    with pytest.raises(ValueError, match="level must be in"):
        probabilistic.interval_score(np.ones(1), np.ones(1), np.ones(1), 1.0)


def test_coverage_counts_the_bounds_as_inside() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    assert probabilistic.coverage(actual, np.full(4, 2.0), np.full(4, 3.0)) == 0.5
    assert probabilistic.outside(actual, np.full(4, 2.0), np.full(4, 3.0)).tolist() == [
        True,
        False,
        False,
        True,
    ]


# Jorion, Value at Risk (3rd ed.), table 6-2: Kupiec's non-rejection regions for the number
# of exceptions N at a 5% test size: p = 0.05, T = 255: 6 < N < 21; T = 510: 16 < N < 36;
# T = 1000: 37 < N < 65; p = 0.01, T = 510: 1 < N < 11; T = 1000: 4 < N < 17; T = 255: N < 7.
@pytest.mark.parametrize(
    ("days", "level", "first", "last"),
    [
        (255, 0.95, 7, 20),
        (510, 0.95, 17, 35),
        (1000, 0.95, 38, 64),
        (510, 0.99, 2, 10),
        (1000, 0.99, 5, 16),
    ],
)
def test_kupiec_matches_the_textbook_regions(
    days: int, level: float, first: int, last: int
) -> None:
    assert probabilistic.kupiec_p(_hits(days, first - 1), level) < 0.05  # type: ignore[operator]
    assert probabilistic.kupiec_p(_hits(days, first), level) > 0.05  # type: ignore[operator]
    assert probabilistic.kupiec_p(_hits(days, last), level) > 0.05  # type: ignore[operator]
    assert probabilistic.kupiec_p(_hits(days, last + 1), level) < 0.05  # type: ignore[operator]


def test_kupiec_250_days_at_99_percent() -> None:
    # Basel's backtest: 250 days at 99%, 2.5 exceptions expected; 7 rejects, 6 does not.
    assert probabilistic.kupiec_p(_hits(250, 6), 0.99) > 0.05  # type: ignore[operator]
    assert probabilistic.kupiec_p(_hits(250, 7), 0.99) < 0.05  # type: ignore[operator]
    # x = 3: LR = -2 [247 ln 0.99 + 3 ln 0.01] + 2 [247 ln(247/250) + 3 ln(3/250)] = 0.0949
    lr = -2 * (247 * math.log(0.99) + 3 * math.log(0.01)) + 2 * (
        247 * math.log(247 / 250) + 3 * math.log(3 / 250)
    )
    assert lr == pytest.approx(0.0949, abs=1e-4)
    assert probabilistic.kupiec_p(_hits(250, 3), 0.99) == pytest.approx(0.7580, abs=1e-4)


def test_kupiec_degenerate_sequences_are_defined() -> None:
    # No exception in 250 days at 99%: LR = -500 ln 0.99 = 5.025, p = 0.0250.
    assert probabilistic.kupiec_p(_hits(250, 0), 0.99) == pytest.approx(0.0250, abs=1e-4)
    # Every day an exception: LR = -2 * 10 * ln 0.2 = 32.2, p far below 0.001.
    assert probabilistic.kupiec_p(_hits(10, 10), 0.8) < 1e-6  # type: ignore[operator]
    # Exactly the expected rate: LR = 0, p = 1.
    assert probabilistic.kupiec_p(_hits(10, 2), 0.8) == pytest.approx(1.0)
    assert probabilistic.kupiec_p(np.array([], dtype=bool), 0.8) is None


def test_christoffersen_independent_hits_give_p_1() -> None:
    # Transitions: n00 4, n01 2, n10 2, n11 1: pi01 = pi11 = pi = 1/3, so LR = 0.
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    assert probabilistic.christoffersen_p(hits) == pytest.approx(1.0)


def test_christoffersen_clustered_hits_by_hand() -> None:
    # Transitions: n00 5, n01 1, n10 1, n11 2; pi = 1/3, pi01 = 1/6, pi11 = 2/3.
    hits = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    null = 6 * math.log(2 / 3) + 3 * math.log(1 / 3)
    markov = 5 * math.log(5 / 6) + math.log(1 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    lr = -2 * (null - markov)
    assert lr == pytest.approx(2.2314, abs=1e-4)
    # chi-squared(1) upper tail at 2.2314 (scipy.stats.chi2.sf): 0.1352.
    assert probabilistic.christoffersen_p(hits) == pytest.approx(0.1352, abs=1e-4)


def test_conditional_coverage_adds_the_two_ratios_by_hand() -> None:
    """The clustered sequence above at level 0.8: 3 hits in 10 days, expected rate 0.2."""
    hits = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    uc = -2 * (7 * math.log(0.8) + 3 * math.log(0.2) - 7 * math.log(0.7) - 3 * math.log(0.3))
    null = 6 * math.log(2 / 3) + 3 * math.log(1 / 3)
    markov = 5 * math.log(5 / 6) + math.log(1 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    lr_cc = uc - 2 * (null - markov)
    assert lr_cc == pytest.approx(0.5634 + 2.2314, abs=1e-4)
    # chi-squared(2) upper tail (scipy.stats.chi2.sf(2.7948, 2) = 0.2472)
    from scipy.stats import chi2

    expected = float(chi2.sf(lr_cc, 2))
    assert expected == pytest.approx(0.2472, abs=1e-4)
    assert probabilistic.christoffersen_cc_p(hits, 0.8) == pytest.approx(expected, rel=1e-12)


def test_conditional_coverage_without_transitions_is_kupiec_on_two_degrees() -> None:
    from scipy.stats import chi2

    no_hits = np.zeros(250, dtype=bool)
    lr_uc = -2 * 250 * math.log(0.99)  # 5.025: no exception in 250 days at 99%
    assert probabilistic.christoffersen_cc_p(no_hits, 0.99) == pytest.approx(
        float(chi2.sf(lr_uc, 2)), rel=1e-12
    )
    assert probabilistic.christoffersen_cc_p(np.array([True]), 0.8) is None
    assert probabilistic.christoffersen_cc_p(np.array([], dtype=bool), 0.8) is None
    with pytest.raises(ValueError, match="level must be in"):
        probabilistic.christoffersen_cc_p(no_hits, 1.0)


def test_christoffersen_without_transitions_is_none() -> None:
    assert probabilistic.christoffersen_p(np.zeros(50, dtype=bool)) is None
    assert probabilistic.christoffersen_p(np.ones(50, dtype=bool)) is None
    assert probabilistic.christoffersen_p(np.array([False])) is None
    # The only hit is the last day: no day after a hit to learn from.
    assert probabilistic.christoffersen_p(np.arange(10) == 9) is None


def test_pinball_by_hand() -> None:
    # y = 10, quantiles 8..12 at 5/10/50/90/95%: losses 0.1, 0.1, 0, 0.1, 0.1.
    loss = probabilistic.pinball(
        np.array([10.0]), np.array([[8.0, 9.0, 10.0, 11.0, 12.0]]), probabilistic.QUANTILE_LEVELS
    )
    assert loss == pytest.approx(0.08)


def test_pinball_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        probabilistic.pinball(np.ones(2), np.ones((2, 3)), probabilistic.QUANTILE_LEVELS)


def test_crps_gaussian_known_values() -> None:
    # At the mean: sd * (2 phi(0) - 1/sqrt(pi)) = sd * 0.233695 (Gneiting & Raftery 2007).
    at_mean = probabilistic.crps_gaussian(
        np.array([0.0, 5.0]), np.array([0.0, 5.0]), np.array([1.0, 2.0])
    )
    assert at_mean.tolist() == pytest.approx([0.233695, 0.467390], abs=1e-6)
    # Far in the tail CRPS tends to |y - mean| - sd / sqrt(pi).
    far = probabilistic.crps_gaussian(np.array([10.0]), np.array([0.0]), np.array([1.0]))
    assert far[0] == pytest.approx(10 - 1 / math.sqrt(math.pi), abs=1e-9)


def test_crps_gaussian_equals_the_integral_of_its_definition() -> None:
    # CRPS = integral of (F(x) - 1{x >= y})^2 dx: F^2 below y, (1 - F)^2 above, each by
    # the trapezoid rule on a fine grid that ends at y (the step there is not smooth).
    from scipy.stats import norm

    def trapezoid(values: np.ndarray, x: np.ndarray) -> float:
        return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(x)))

    below, above = np.linspace(-12, 1.1, 100_001), np.linspace(1.1, 12, 100_001)
    numeric = trapezoid(norm.cdf(below, 0.3, 1.5) ** 2, below) + trapezoid(
        (1 - norm.cdf(above, 0.3, 1.5)) ** 2, above
    )
    closed = probabilistic.crps_gaussian(np.array([1.1]), np.array([0.3]), np.array([1.5]))[0]
    assert closed == pytest.approx(numeric, abs=1e-6)


def test_qlike_by_hand() -> None:
    # proxy 2, forecast 1: 2 - ln 2 - 1 = 0.306853; perfect forecast: 0.
    assert probabilistic.qlike(np.array([1.0, 3.0]), np.array([2.0, 3.0])) == pytest.approx(
        (0.306853 + 0.0) / 2, abs=1e-6
    )


def test_qlike_rejects_non_positive_values() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        probabilistic.qlike(np.array([0.0]), np.array([1.0]))


def _crps_by_quad(cdf, y: float) -> float:
    """CRPS = int (F(x) - 1{x >= y})^2 dx, numerically (scipy.integrate.quad)."""
    from scipy import integrate

    below = integrate.quad(lambda x: cdf(x) ** 2, -np.inf, y, limit=200)[0]
    above = integrate.quad(lambda x: (cdf(x) - 1.0) ** 2, y, np.inf, limit=200)[0]
    return below + above


@pytest.mark.parametrize(
    ("y", "loc", "scale", "df"),
    [(0.3, 0.0, 1.0, 5.0), (-2.5, 0.1, 0.02, 3.0), (4.0, -1.0, 2.0, 30.0)],
)
def test_crps_student_t_equals_the_integral(y: float, loc: float, scale: float, df: float) -> None:
    from scipy.stats import t as student

    expected = _crps_by_quad(lambda x: student.cdf(x, df, loc, scale), y)
    got = probabilistic.crps_student_t(np.array([y]), np.array([loc]), np.array([scale]), df)
    assert got[0] == pytest.approx(expected, rel=1e-7)


def test_crps_student_t_tends_to_the_gaussian() -> None:
    y = np.array([-1.0, 0.2, 2.0])
    t_crps = probabilistic.crps_student_t(y, np.zeros(3), np.ones(3), 1e6)
    assert t_crps == pytest.approx(
        probabilistic.crps_gaussian(y, np.zeros(3), np.ones(3)), rel=1e-5
    )
    with pytest.raises(ValueError, match="degrees of freedom"):
        probabilistic.crps_student_t(y, np.zeros(3), np.ones(3), 1.0)


def test_crps_of_two_quantiles_by_hand() -> None:
    # k = 2: levels 0.25 and 0.75, quantiles -1 and 1, y = 2:
    # 2 / 2 * (0.25 * 3 + 0.75 * 1) = 1.5
    assert probabilistic.crps_levels(2) == (0.25, 0.75)
    got = probabilistic.crps_quantiles(np.array([2.0]), np.array([[-1.0, 1.0]]))
    assert got[0] == pytest.approx(1.5)


@pytest.mark.parametrize("df", [5.0, None])
def test_crps_of_100_quantiles_is_within_0_05_percent(df: float | None) -> None:
    from scipy import stats

    dist = stats.norm() if df is None else stats.t(df)
    q = dist.ppf(np.array(probabilistic.crps_levels()))
    for y in (0.3, -2.5):
        got = probabilistic.crps_quantiles(np.array([y]), q[None, :])[0]
        assert got == pytest.approx(_crps_by_quad(dist.cdf, y), rel=5e-4)
