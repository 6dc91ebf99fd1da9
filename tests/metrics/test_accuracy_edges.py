"""The edges of rnnforecast.metrics.accuracy that a mutation run (mutmut, docs/tests.md) found
untested: the unit ``scaled`` divides by, the shortest series ``naive_scale``, ``hac_lag`` and
the Diebold-Mariano test are defined on, a lag longer than the series, the default lag of an
h-step test, the acf kernel's fall-back at a variance of exactly zero, 0/1 losses given as
booleans, and the error messages. Every expected value is recomputed here by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student

from rnnforecast.metrics import accuracy


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([3.0, -5.0, np.inf], 8.0),  # the power of two just above the largest magnitude
        ([4.0, 1.0], 8.0),  # strictly above: 4 itself is not the unit
        ([0.3, np.nan], 0.5),  # below 1 too
        ([0.0, -0.0], 1.0),  # nothing above zero
        ([np.nan, -np.inf], 1.0),  # nothing finite
    ],
)
def test_scaled_divides_by_the_power_of_two_above_the_largest_finite_magnitude(
    values: list[float], unit: float
) -> None:
    x = np.array(values)
    got, got_unit = accuracy.scaled(x)
    assert got_unit == unit
    np.testing.assert_array_equal(got, x / unit)


def test_naive_scale_of_two_values_and_its_refusal() -> None:
    assert accuracy.naive_scale(np.array([1.0, 3.5])) == 2.5
    for bad in (np.array([1.0]), np.ones((2, 2))):
        with pytest.raises(ValueError, match=r"^the in-sample series needs at least 2 values$"):
            accuracy.naive_scale(bad)


def test_hac_lag_of_one_day_and_its_refusals() -> None:
    assert accuracy.hac_lag(1) == math.floor(4 * 0.01 ** (2 / 9)) == 1
    for n, horizon in ((0, 1), (1, 0), (0, 0)):
        with pytest.raises(ValueError, match=rf"^n and horizon must be at least 1, got n={n}"):
            accuracy.hac_lag(n, horizon)


def dm_by_hand(
    d: list[float], horizon: int, weights: list[float], alternative: str = "two-sided"
) -> tuple[float, float]:
    """Diebold-Mariano with the HLN correction written out: autocovariances of ``d`` divided
    by n, the long-run variance ``g0 + 2 sum_j weights[j - 1] g_j`` over the lags ``j < n``."""
    n = len(d)
    mean = sum(d) / n
    c = [x - mean for x in d]
    g = [sum(c[t] * c[t - j] for t in range(j, n)) / n for j in range(n)]
    variance = (g[0] + 2 * sum(w * g[j] for j, w in enumerate(weights, start=1) if j < n)) / n
    h = horizon
    statistic = mean / math.sqrt(variance) * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    if alternative == "less":
        return statistic, float(student.cdf(statistic, n - 1))
    return statistic, float(2 * student.sf(abs(statistic), n - 1))


def test_three_days_are_enough_for_the_test() -> None:
    d = [1.0, 2.0, 4.5]
    lags = accuracy.hac_lag(3)  # floor(4 * 0.03 ** (2 / 9)) = 1
    assert lags == 1
    got = accuracy.diebold_mariano(np.array(d), np.zeros(3))
    assert got == pytest.approx(dm_by_hand(d, 1, [1 - 1 / 2]), rel=1e-12)
    assert accuracy.diebold_mariano(np.array(d[:2]), np.zeros(2)) == (None, None)


def test_a_lag_longer_than_the_series_uses_every_autocovariance() -> None:
    d = [1.0, -2.0, 4.0, 0.5]
    weights = [1 - j / 7 for j in range(1, 7)]  # lag 6, only j = 1..3 exist
    got = accuracy.diebold_mariano(np.array(d), np.zeros(4), lag=6)
    assert got == pytest.approx(dm_by_hand(d, 1, weights), rel=1e-12)


def test_the_default_lag_of_an_h_step_test_is_at_least_h_minus_1() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, 30)
    assert accuracy.hac_lag(30, 10) == 9  # the bandwidth rule alone gives 3
    got = accuracy.diebold_mariano(d, np.zeros(30), horizon=10)
    assert got == pytest.approx(accuracy.diebold_mariano(d, np.zeros(30), horizon=10, lag=9))
    weights = [1 - j / 10 for j in range(1, 10)]
    assert got == pytest.approx(dm_by_hand(list(d), 10, weights), rel=1e-10)


def test_acf_falls_back_to_one_step_when_the_variance_is_exactly_zero() -> None:
    """Centred, d is (-3, 3, 0, 0): g0 = 18/4 and g1 = -9/4, so the 2-step acf variance
    g0 + 2 g1 is exactly 0; as R's dm.test the test falls back to horizon 1."""
    d = [-2.0, 4.0, 1.0, 1.0]
    got = accuracy.diebold_mariano(np.array(d), np.zeros(4), horizon=2, kernel="acf")
    assert got[0] is not None
    assert got == pytest.approx(dm_by_hand(d, 1, []), rel=1e-12)


def test_boolean_losses_are_zero_one_losses() -> None:
    hits = np.array([True, False, True, True, False, True, True, True])
    other = np.array([False, False, True, False, False, False, True, False])
    got = accuracy.diebold_mariano(hits, other, alternative="less")
    floats = accuracy.diebold_mariano(hits.astype(float), other.astype(float), alternative="less")
    assert got == floats
    d = [float(x) - float(y) for x, y in zip(hits, other, strict=True)]
    lags = accuracy.hac_lag(8)  # floor(4 * 0.08 ** (2 / 9)) = 2
    assert lags == 2
    weights = [1 - j / 3 for j in range(1, 3)]
    assert got == pytest.approx(dm_by_hand(d, 1, weights, "less"), rel=1e-12)


def test_unknown_alternative_and_kernel_messages() -> None:
    ones = np.ones(5)
    with pytest.raises(ValueError) as alternative:
        accuracy.diebold_mariano(ones, ones, alternative="two")
    assert str(alternative.value) == "alternative must be one of two-sided, less, greater"
    with pytest.raises(ValueError) as kernel:
        accuracy.diebold_mariano(ones, ones, kernel="qs")
    assert str(kernel.value) == "kernel must be one of bartlett, acf"


def test_directions_of_a_multi_step_forecast_from_one_last_close_per_row() -> None:
    """Rows of 2 steps from 3 origins (not square, so a close per column would not fit)."""
    last = np.array([10.0, 20.0, 30.0])
    actual = np.array([[11.0, 9.0], [21.0, 22.0], [29.0, 31.0]])
    predicted = np.array([[12.0, 12.0], [19.0, 20.0], [28.0, 28.0]])
    # moves from each row's own close: (+,+) (-,none) (-,-) against (+,-) (+,+) (-,+)
    hits, moving = [True, False, False, True, False], 5
    assert accuracy.directional_accuracy(actual, predicted, last) == sum(hits) / moving
    assert accuracy.no_move_count(actual, predicted, last) == 1


def test_no_values_to_score() -> None:
    with pytest.raises(ValueError, match=r"^no values to score$"):
        accuracy.mae(np.zeros(0), np.zeros(0))
