"""Scoring next to the naive forecast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnforecast.evaluation import Scores, score

LAST = np.array([10.0, 10.0, 12.0, 11.0])
ACTUAL = np.array([[10.5], [12.0], [11.0], [13.0]])


def test_naive_predictions_have_mase_one() -> None:
    result = score(ACTUAL, LAST[:, None], LAST)
    assert result.model["mase"] == 1.0
    assert result.beats_naive is False
    for key in ("rmse", "mae", "mape"):
        assert result.model[key] == result.naive[key]


def test_perfect_predictions() -> None:
    result = score(ACTUAL, ACTUAL.copy(), LAST)
    assert result.model["mase"] == 0.0
    assert result.model["rmse"] == result.model["mae"] == result.model["mape"] == 0.0
    assert result.beats_naive is True
    assert result.model["directional_accuracy"] == 1.0
    assert result.naive["mae"] > 0


def test_scores_by_hand() -> None:
    predicted = np.array([[11.0], [11.0], [11.0], [15.0]])
    result = score(ACTUAL, predicted, LAST)
    assert result.n == 4
    # model errors 0.5, 1, 0, 2; naive errors 0.5, 2, 1, 2
    assert result.model["mae"] == pytest.approx(3.5 / 4)
    assert result.naive["mae"] == pytest.approx(5.5 / 4)
    assert result.model["mase"] == pytest.approx(3.5 / 5.5)
    assert result.model["rmse"] == pytest.approx(np.sqrt((0.25 + 1 + 0 + 4) / 4))
    assert result.naive["rmse"] == pytest.approx(np.sqrt((0.25 + 4 + 1 + 4) / 4))
    assert result.naive["mape"] == pytest.approx((0.5 / 10.5 + 2 / 12 + 1 / 11 + 2 / 13) / 4 * 100)
    # moves from LAST: predicted +, +, -, +; actual +, +, -, +
    assert result.model["directional_accuracy"] == 1.0
    assert result.beats_naive is True
    assert set(result.naive) == {"rmse", "mae", "mape"}


def test_multi_step_horizon_uses_each_rows_last_close() -> None:
    last = np.array([10.0, 20.0, 30.0])
    actual = np.array([[11.0, 12.0], [19.0, 18.0], [31.0, 29.0]])
    naive = score(actual, np.repeat(last[:, None], 2, axis=1), last)
    assert naive.model["mase"] == 1.0
    assert naive.naive["mae"] == pytest.approx((1 + 2 + 1 + 2 + 1 + 1) / 6)
    # predicting the right direction from each row's own last close
    predicted = last[:, None] + np.array([[0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    assert score(actual, predicted, last).model["directional_accuracy"] == 1.0


def test_worse_than_naive() -> None:
    result = score(ACTUAL, ACTUAL + 5.0, LAST)
    assert result.model["mase"] > 1.0
    assert result.beats_naive is False


def test_to_dict_is_json_ready() -> None:
    result = score(ACTUAL, ACTUAL + 0.1, LAST)
    raw = json.loads(json.dumps(result.to_dict()))
    assert raw["beats_naive"] is True
    assert set(raw["model"]) == {"rmse", "mae", "mape", "mase", "directional_accuracy"}
    assert raw["model"]["mase"] == pytest.approx(result.model["mase"])
    assert isinstance(result, Scores)


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        score(ACTUAL, ACTUAL[:3], LAST)
