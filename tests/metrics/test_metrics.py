"""Forecast metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from rnnforecast.metrics.accuracy import (
    diebold_mariano,
    directional_accuracy,
    mae,
    mape,
    mase,
    naive_scale,
    no_move_count,
    rel_mae,
    rmse,
)

ACTUAL = np.array([10.0, 12.0, 11.0, 13.0])
PREDICTED = np.array([11.0, 11.0, 11.0, 15.0])  # errors -1, +1, 0, -2
LAST = np.array([10.0, 10.0, 12.0, 11.0])  # the naive forecast; naive errors 0, 2, 1, 2


def test_rmse_by_hand() -> None:
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt((1 + 1 + 0 + 4) / 4), rel=1e-15)


def test_mae_by_hand() -> None:
    assert mae(ACTUAL, PREDICTED) == pytest.approx(1.0, rel=1e-15)


def test_mape_by_hand_in_percent() -> None:
    expected = (1 / 10 + 1 / 12 + 0 / 11 + 2 / 13) / 4 * 100
    assert mape(ACTUAL, PREDICTED) == pytest.approx(expected, rel=1e-14)
    assert mape([100.0], [101.0]) == pytest.approx(1.0)  # 1 %, not 0.01


def test_rel_mae_by_hand() -> None:
    assert rel_mae(ACTUAL, PREDICTED, LAST) == pytest.approx(1.0 / 1.25, rel=1e-15)
    assert rel_mae(ACTUAL, LAST, LAST) == 1.0
    assert rel_mae(ACTUAL, ACTUAL, LAST) == 0.0


def test_rel_mae_when_naive_is_perfect() -> None:
    assert rel_mae(ACTUAL, ACTUAL, ACTUAL) == 1.0  # both perfect
    assert rel_mae(ACTUAL, PREDICTED, ACTUAL) == math.inf  # only the naive forecast is


def test_true_mase_is_scaled_by_the_in_sample_naive_mae() -> None:
    # Hyndman-Koehler: training series 10, 12, 11, 15 -> one-step changes 2, 1, 4 -> 7 / 3
    scale = naive_scale(np.array([10.0, 12.0, 11.0, 15.0]))
    assert scale == pytest.approx(7 / 3, rel=1e-15)
    # out-of-sample MAE 1.0 (errors 1, 1, 0, 2) over 7 / 3
    assert mase(ACTUAL, PREDICTED, scale) == pytest.approx(3 / 7, rel=1e-15)
    assert mase(ACTUAL, PREDICTED, 0.0) is None  # a flat training series scales nothing
    with pytest.raises(ValueError):
        naive_scale(np.array([1.0]))


def test_directional_accuracy_by_hand() -> None:
    # predicted moves +, +, -, +; actual moves 0, +, -, +
    assert directional_accuracy(ACTUAL, PREDICTED, LAST) == pytest.approx(0.75)
    assert no_move_count(ACTUAL, PREDICTED, LAST) == 0
    # a forecast of no move on the third day (12 = its last close) is left out: 2 of 3
    stays = np.array([11.0, 11.0, 12.0, 15.0])
    assert directional_accuracy(ACTUAL, stays, LAST) == pytest.approx(2 / 3)
    assert no_move_count(ACTUAL, stays, LAST) == 1


def test_directional_accuracy_edges() -> None:
    actual = np.array([11.0, 9.0, 10.0])
    # the third forecast equals the last close: 2 of 2 moving forecasts are right
    assert directional_accuracy(actual, actual, np.full(3, 10.0)) == 1.0
    assert no_move_count(actual, actual, np.full(3, 10.0)) == 1
    assert directional_accuracy(actual, 20.0 - actual, np.full(3, 10.0)) == 0.0
    # a scalar base is broadcast
    assert directional_accuracy(actual, np.array([12.0, 8.0, 11.0]), 10.0) == pytest.approx(2 / 3)
    # the naive forecast calls no direction at all
    assert directional_accuracy(actual, np.full(3, 10.0), 10.0) is None
    assert no_move_count(actual, np.full(3, 10.0), 10.0) == 3


def test_two_dimensional_inputs() -> None:
    actual = ACTUAL.reshape(2, 2)
    predicted = PREDICTED.reshape(2, 2)
    assert rmse(actual, predicted) == rmse(ACTUAL, PREDICTED)
    assert mae(actual, predicted) == mae(ACTUAL, PREDICTED)
    assert mape(actual, predicted) == mape(ACTUAL, PREDICTED)


def test_lists_are_accepted_and_floats_returned() -> None:
    value = rmse([1, 2, 3], [1, 2, 4])
    assert isinstance(value, float)
    assert value == pytest.approx(math.sqrt(1 / 3))


@pytest.mark.parametrize("metric", [rmse, mae, mape])
def test_shape_mismatch(metric) -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        metric(ACTUAL, PREDICTED[:3])
    with pytest.raises(ValueError, match="shapes differ"):
        metric(ACTUAL.reshape(2, 2), ACTUAL)


@pytest.mark.parametrize("metric", [rmse, mae, mape])
def test_empty(metric) -> None:
    with pytest.raises(ValueError, match="no values"):
        metric(np.array([]), np.array([]))


def test_rel_mae_and_directional_shape_errors() -> None:
    with pytest.raises(ValueError):
        rel_mae(ACTUAL, PREDICTED, LAST[:3])
    with pytest.raises(ValueError):
        rel_mae(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError):
        directional_accuracy(ACTUAL, PREDICTED[:3], LAST)
    with pytest.raises(ValueError):
        directional_accuracy(np.array([]), np.array([]), np.array([]))


def test_against_sklearn() -> None:
    rng = np.random.default_rng(11)
    actual = 100 + rng.normal(0, 5, 500)
    predicted = actual + rng.normal(0, 2, 500)
    assert rmse(actual, predicted) == pytest.approx(
        math.sqrt(mean_squared_error(actual, predicted)), rel=1e-12
    )
    assert mae(actual, predicted) == pytest.approx(
        mean_absolute_error(actual, predicted), rel=1e-12
    )
    # multi-output: sklearn averages per column, then over columns; equal for equal counts
    actual2, predicted2 = actual.reshape(100, 5), predicted.reshape(100, 5)
    assert rmse(actual2, predicted2) == pytest.approx(
        math.sqrt(mean_squared_error(actual2, predicted2)), rel=1e-12
    )
    assert mae(actual2, predicted2) == pytest.approx(
        mean_absolute_error(actual2, predicted2), rel=1e-12
    )


# --- Diebold-Mariano with the Harvey-Leybourne-Newbold correction ------------------------------
#
# Reference values from R 4.2.2, forecast 8.20:
#   dm.test(e1, e2, alternative = ALT, h = H, power = 1)   (varestimator = "acf", the default)
# Our function takes losses, so it is given abs(e1) and abs(e2) (power = 1).

E1 = [0.5, -1.2, 0.3, 2.1, -0.7, 0.9, -1.5, 0.4, 1.1, -0.2, 0.8, -0.6]
E2 = [1.0, -1.5, 0.9, 2.4, -1.1, 0.2, -2.0, 1.3, 1.6, -0.9, 0.5, -1.4]
# With h = 2 the variance estimate of F1 - F2 is negative: R warns and uses h = 1.
F1 = [0.2, 0.9, -1.4, 0.6, 1.8, -0.3, 0.7, -1.1]
F2 = [0.4, 0.5, -1.0, 1.5, 1.2, -0.8, 0.3, -0.9]
G1 = [1.1, 0.4, -0.3, 0.8, 1.6, -0.2, 0.9, 1.3, -0.5, 0.7]
G2 = [0.6, 0.5, -0.2, 0.3, 0.9, -0.4, 0.2, 1.0, -0.1, 0.6]

R_DM_TEST = [
    # (e1, e2, h, alternative, R statistic, R p-value)
    (E1, E2, 1, "two-sided", -2.8517591273601504, 0.01574709496958623),
    (E1, E2, 1, "less", -2.8517591273601504, 0.0078735474847931152),
    (E1, E2, 1, "greater", -2.8517591273601504, 0.99212645251520692),
    (E1, E2, 3, "two-sided", -3.9805866932570653, 0.0021566424886829499),
    (E1, E2, 3, "less", -3.9805866932570653, 0.0010783212443414749),
    (E1, E2, 3, "greater", -3.9805866932570653, 0.99892167875565852),
    (F1, F2, 1, "two-sided", 0.2672612419124244, 0.79697099274135208),
    (F1, F2, 2, "less", 0.2672612419124244, 0.6015145036293239),
    (F1, F2, 2, "greater", 0.2672612419124244, 0.39848549637067604),
    (G1, G2, 1, "two-sided", 3.0, 0.014956363910414203),
    (G1, G2, 1, "greater", 3.0, 0.0074781819552071013),
    (G1, G2, 2, "two-sided", 6.803360514166088, 7.8755256673885936e-05),
    (G1, G2, 2, "less", 6.803360514166088, 0.99996062237166305),
    (G1, G2, 2, "greater", 6.803360514166088, 3.9377628336942968e-05),
]


@pytest.mark.parametrize(("e1", "e2", "h", "alternative", "statistic", "p_value"), R_DM_TEST)
def test_diebold_mariano_matches_r_dm_test(e1, e2, h, alternative, statistic, p_value) -> None:
    got = diebold_mariano(np.abs(e1), np.abs(e2), horizon=h, alternative=alternative, kernel="acf")
    assert got[0] == pytest.approx(statistic, rel=1e-12)
    assert got[1] == pytest.approx(p_value, rel=1e-9)


def test_diebold_mariano_one_sided_direction() -> None:
    # E1's absolute errors are smaller: "less" is the alternative the data support
    _, less = diebold_mariano(np.abs(E1), np.abs(E2), alternative="less")
    _, greater = diebold_mariano(np.abs(E1), np.abs(E2), alternative="greater")
    assert less < 0.05 < greater
    assert less + greater == pytest.approx(1.0)


def test_diebold_mariano_undefined_cases() -> None:
    losses = np.abs(np.array(E1))
    assert diebold_mariano(losses, losses) == (None, None)  # identical forecasts
    assert diebold_mariano(losses[:2], losses[:2] + 0.1) == (None, None)  # 2 days
    with pytest.raises(ValueError, match="alternative"):
        diebold_mariano(losses, losses, alternative="two.sided")
    with pytest.raises(ValueError, match="shapes differ"):
        diebold_mariano(losses, losses[:3])
