"""Forecast metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from rnnforecast.metrics import directional_accuracy, mae, mape, mase, rmse

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


def test_mase_by_hand() -> None:
    assert mase(ACTUAL, PREDICTED, LAST) == pytest.approx(1.0 / 1.25, rel=1e-15)
    assert mase(ACTUAL, LAST, LAST) == 1.0
    assert mase(ACTUAL, ACTUAL, LAST) == 0.0


def test_mase_when_naive_is_perfect() -> None:
    assert mase(ACTUAL, ACTUAL, ACTUAL) == 1.0  # both perfect
    assert mase(ACTUAL, PREDICTED, ACTUAL) == math.inf  # only the naive forecast is


def test_directional_accuracy_by_hand() -> None:
    # predicted moves +, +, -, +; actual moves 0, +, -, +
    assert directional_accuracy(ACTUAL, PREDICTED, LAST) == pytest.approx(0.75)


def test_directional_accuracy_edges() -> None:
    actual = np.array([11.0, 9.0, 10.0])
    assert directional_accuracy(actual, actual, np.full(3, 10.0)) == 1.0
    assert directional_accuracy(actual, 20.0 - actual, np.full(3, 10.0)) == pytest.approx(1 / 3)
    # a scalar base is broadcast
    assert directional_accuracy(actual, np.array([12.0, 8.0, 11.0]), 10.0) == pytest.approx(2 / 3)


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


def test_mase_and_directional_shape_errors() -> None:
    with pytest.raises(ValueError):
        mase(ACTUAL, PREDICTED, LAST[:3])
    with pytest.raises(ValueError):
        mase(np.array([]), np.array([]), np.array([]))
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
