"""Scoring next to the naive forecast."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import random_walk

from rnnforecast.metrics.report import Report, Scores, lag_check, report, score

LAST = np.array([10.0, 10.0, 12.0, 11.0])
ACTUAL = np.array([[10.5], [12.0], [11.0], [13.0]])


def test_naive_predictions_have_rel_mae_one() -> None:
    result = score(ACTUAL, LAST[:, None], LAST)
    assert result.model["rel_mae"] == 1.0
    # the naive forecast calls no direction: all four are left out
    assert result.model["directional_accuracy"] is None
    assert result.model["n_no_move"] == 4
    assert result.beats_naive is False
    for key in ("rmse", "mae", "mape"):
        assert result.model[key] == result.naive[key]


def test_perfect_predictions() -> None:
    result = score(ACTUAL, ACTUAL.copy(), LAST)
    assert result.model["rel_mae"] == 0.0
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
    assert result.model["rel_mae"] == pytest.approx(3.5 / 5.5)
    assert result.model["mase"] is None  # no in-sample scale given
    # true MASE: in-sample one-step naive MAE 0.5 -> MAE 0.875 / 0.5; naive's 1.375 / 0.5
    scaled = score(ACTUAL, predicted, LAST, scale=0.5)
    assert scaled.model["mase"] == pytest.approx(3.5 / 4 / 0.5)
    assert scaled.naive["mase"] == pytest.approx(5.5 / 4 / 0.5)
    assert result.model["rmse"] == pytest.approx(np.sqrt((0.25 + 1 + 0 + 4) / 4))
    assert result.naive["rmse"] == pytest.approx(np.sqrt((0.25 + 4 + 1 + 4) / 4))
    assert result.naive["mape"] == pytest.approx((0.5 / 10.5 + 2 / 12 + 1 / 11 + 2 / 13) / 4 * 100)
    # moves from LAST: predicted +, +, -, +; actual +, +, -, +
    assert result.model["directional_accuracy"] == 1.0
    assert result.beats_naive is True
    assert set(result.naive) == {"rmse", "mae", "mape", "mase"}


def test_multi_step_horizon_uses_each_rows_last_close() -> None:
    last = np.array([10.0, 20.0, 30.0])
    actual = np.array([[11.0, 12.0], [19.0, 18.0], [31.0, 29.0]])
    naive = score(actual, np.repeat(last[:, None], 2, axis=1), last)
    assert naive.model["rel_mae"] == 1.0
    assert naive.naive["mae"] == pytest.approx((1 + 2 + 1 + 2 + 1 + 1) / 6)
    # predicting the right direction from each row's own last close
    predicted = last[:, None] + np.array([[0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    assert score(actual, predicted, last).model["directional_accuracy"] == 1.0


def test_worse_than_naive() -> None:
    result = score(ACTUAL, ACTUAL + 5.0, LAST)
    assert result.model["rel_mae"] > 1.0
    assert result.beats_naive is False


def test_to_dict_is_json_ready() -> None:
    result = score(ACTUAL, ACTUAL + 0.1, LAST)
    raw = json.loads(json.dumps(result.to_dict()))
    assert raw["beats_naive"] is True
    assert set(raw["model"]) == {
        "rmse",
        "mae",
        "mape",
        "rel_mae",
        "mase",
        "directional_accuracy",
        "n_no_move",
    }
    assert raw["model"]["rel_mae"] == pytest.approx(result.model["rel_mae"])
    assert isinstance(result, Scores)


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        score(ACTUAL, ACTUAL[:3], LAST)


# --- report ---------------------------------------------------------------------------------

# three windows, two steps, small enough to check by hand
R_LAST = np.array([10.0, 20.0, 30.0])
R_DRIFT = np.array([1.0, -1.0, 0.5])  # drift forecasts: 11, 12 / 19, 18 / 30.5, 31
R_ACTUAL = np.array([[11.0, 13.0], [19.0, 17.0], [31.0, 29.0]])
R_POINT = np.array([[11.0, 12.0], [19.0, 18.0], [31.0, 31.0]])
R_RAW = np.repeat(R_LAST[:, None], 2, axis=1)  # the network said "no change"


def tiny_report(level: float = 0.8) -> Report:
    return report(R_ACTUAL, R_POINT, R_RAW, R_POINT - 1.0, R_POINT + 1.0, R_LAST, R_DRIFT, level)


def test_report_keys_are_json_ready() -> None:
    rep = tiny_report()
    raw = json.loads(json.dumps(rep.to_dict()))
    assert set(raw) == {
        "horizon",
        "model",
        "naive",
        "beats_naive",
        "drift",
        "up_share",
        "lag_check",
        "uncalibrated",
        "intervals",
        "steps",
        "significance",
    }
    assert set(raw["significance"]) == {
        "test",
        "loss",
        "alternative",
        "n",
        "dm_statistic",
        "p_value",
        "dm_lag",
    }
    assert raw["horizon"] == rep.horizon == 2
    assert rep.n == 3
    assert set(raw["drift"]) == {"rmse", "mae", "mape", "rel_mae", "mase"}
    assert set(raw["uncalibrated"]) == {"mae", "rel_mae", "directional_accuracy", "n_no_move"}
    assert set(raw["intervals"]) == {
        "level",
        "coverage",
        "mean_width",
        "kupiec_p",
        "christoffersen_p",
        "christoffersen_cc_p",
    }
    assert set(raw["lag_check"]) == {
        "corr_with_actual_change",
        "corr_with_previous_change",
        "lagging",
    }
    assert raw["beats_naive"] is rep.beats_naive is True


def test_report_overall_scores_are_score() -> None:
    rep = tiny_report()
    expected = score(R_ACTUAL, R_POINT, R_LAST)
    assert rep.scores == expected
    # model errors 0, 1 / 0, 1 / 0, 2; naive errors 1, 3 / 1, 3 / 1, 1
    assert rep.scores.model["mae"] == pytest.approx(4 / 6)
    assert rep.scores.naive["mae"] == pytest.approx(10 / 6)
    assert rep.scores.model["rel_mae"] == pytest.approx(0.4)


def test_report_per_step() -> None:
    rep = tiny_report()
    assert [s["step"] for s in rep.steps] == [1, 2]
    for k, step in enumerate(rep.steps):
        expected = score(R_ACTUAL[:, k : k + 1], R_POINT[:, k : k + 1], R_LAST)
        assert step["model"] == expected.model
        assert step["naive"] == expected.naive
    assert rep.steps[0]["model"]["mae"] == 0.0
    assert rep.steps[1]["model"]["mae"] == pytest.approx(4 / 3)
    assert rep.steps[1]["naive"]["mae"] == pytest.approx(7 / 3)
    # intervals are point +- 1: step 1 always inside, step 2 misses 29 (interval 30..32)
    assert rep.steps[0]["interval_coverage"] == 1.0
    assert rep.steps[1]["interval_coverage"] == pytest.approx(2 / 3)


def test_report_drift_by_hand() -> None:
    rep = tiny_report()
    # drift errors: 0, 1 / 0, 1 / 0.5, 2; naive errors 1, 3 / 1, 3 / 1, 1
    assert rep.drift["mae"] == pytest.approx(4.5 / 6)
    assert rep.drift["rmse"] == pytest.approx(math.sqrt((1 + 1 + 0.25 + 4) / 6))
    assert rep.drift["mape"] == pytest.approx((1 / 13 + 1 / 17 + 0.5 / 31 + 2 / 29) / 6 * 100)
    assert rep.drift["rel_mae"] == pytest.approx(4.5 / 10)


def test_report_drift_zero_is_naive() -> None:
    rep = report(R_ACTUAL, R_POINT, R_RAW, R_POINT, R_POINT, R_LAST, np.zeros(3), 0.8)
    assert rep.drift["rel_mae"] == 1.0
    assert rep.drift["mae"] == rep.scores.naive["mae"]


def test_report_up_share() -> None:
    # actual above the last close: up, up / down, down / up, down
    assert tiny_report().up_share == pytest.approx(0.5)
    flat = np.repeat(R_LAST[:, None], 2, axis=1)  # no move is not "up"
    rep = report(flat, flat, flat, flat, flat, R_LAST, R_DRIFT, 0.8)
    assert rep.up_share == 0.0


def test_report_intervals() -> None:
    rep = tiny_report(level=0.9)
    assert rep.intervals["level"] == 0.9
    assert rep.intervals["coverage"] == pytest.approx(5 / 6)
    assert rep.intervals["mean_width"] == pytest.approx(2.0)
    # the bounds themselves count as inside
    exact = report(R_ACTUAL, R_POINT, R_RAW, R_ACTUAL, R_ACTUAL, R_LAST, R_DRIFT, 0.5)
    assert exact.intervals["coverage"] == 1.0
    assert exact.intervals["mean_width"] == 0.0


def test_report_uncalibrated_scores() -> None:
    rep = tiny_report()
    # the raw forecast is the naive one: rel_mae 1, and it calls no direction (6 no-moves)
    assert rep.raw["mae"] == pytest.approx(10 / 6)
    assert rep.raw["rel_mae"] == 1.0
    assert rep.raw["directional_accuracy"] is None
    assert rep.raw["n_no_move"] == 6
    better = report(R_ACTUAL, R_POINT, R_POINT, R_POINT, R_POINT, R_LAST, R_DRIFT, 0.8)
    assert better.raw["mae"] == better.scores.model["mae"]
    assert better.raw["rel_mae"] == pytest.approx(0.4)
    assert better.raw["directional_accuracy"] == better.scores.model["directional_accuracy"]


def test_report_lag_check_uses_step_one() -> None:
    rng = np.random.default_rng(0)
    closes = 100 + np.cumsum(rng.normal(0, 1, 60))
    actual = np.stack([closes[1:-1], closes[2:]], axis=1)  # window i: closes i+1, i+2
    last = closes[:-2]
    naive = np.repeat(last[:, None], 2, axis=1)
    rep = report(actual, naive, naive, naive, naive, last, np.zeros(len(last)), 0.8)
    assert rep.lag == lag_check(naive[:, 0], actual[:, 0])
    assert rep.lag["lagging"] is True


# --- lag_check ------------------------------------------------------------------------------


def test_lag_check_flags_yesterdays_close() -> None:
    closes = random_walk()["close"].to_numpy()
    actual = closes[1:]  # the close of each forecast day
    predicted = closes[:-1]  # ... forecast as the close of the day before
    result = lag_check(predicted, actual)
    assert result["corr_with_previous_change"] == pytest.approx(1.0)
    assert abs(result["corr_with_actual_change"]) < 0.3
    assert result["lagging"] is True


def test_lag_check_perfect_forecast() -> None:
    actual = random_walk()["close"].to_numpy()[1:]
    result = lag_check(actual.copy(), actual)
    assert result["corr_with_actual_change"] == pytest.approx(1.0)
    assert abs(result["corr_with_previous_change"]) < 0.3
    assert result["lagging"] is False


def test_lag_check_constant_forecast() -> None:
    actual = random_walk()["close"].to_numpy()[1:]
    result = lag_check(np.full(len(actual), 100.0), actual)
    assert result == {
        "corr_with_actual_change": None,
        "corr_with_previous_change": None,
        "lagging": None,
    }


def test_lag_check_too_few_points() -> None:
    result = lag_check(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0]))
    assert result["lagging"] is None
    assert result["corr_with_actual_change"] is None


def test_diebold_mariano_on_simulated_errors() -> None:
    from rnnforecast.metrics.accuracy import diebold_mariano

    rng = np.random.default_rng(0)
    noise = rng.normal(size=2000)
    # Much smaller errors: strongly significant, negative statistic.
    statistic, p_value = diebold_mariano(np.abs(noise * 0.5), np.abs(noise), horizon=1)
    assert statistic < -10 and p_value < 1e-6
    # Two forecasts of equal quality: no evidence either way.
    a, b = np.abs(rng.normal(size=2000)), np.abs(rng.normal(size=2000))
    statistic, p_value = diebold_mariano(a, b)
    assert abs(statistic) < 3 and p_value > 0.003
    # Identical errors: the test is undefined.
    assert diebold_mariano(noise, noise) == (None, None)


def test_report_significance_is_dm_hln_on_step_one_absolute_errors() -> None:
    """Six windows whose step-1 absolute errors are E1 and naive's are E2 of the first six
    values of test_metrics' R series. Reference: R 4.2.2, forecast 8.20,
    dm.test(c(0.5, -1.2, 0.3, 2.1, -0.7, 0.9), c(1.0, -1.5, 0.9, 2.4, -1.1, 0.2),
    alternative = "two.sided", h = 1, power = 1)
    -> DM = -1.21122494536047, p = 0.27992760501895536."""
    e1 = np.array([0.5, -1.2, 0.3, 2.1, -0.7, 0.9])
    e2 = np.array([1.0, -1.5, 0.9, 2.4, -1.1, 0.2])
    last = np.full(6, 100.0)
    actual = (last + e2)[:, None]  # naive error = actual - last = e2
    point = actual - e1[:, None]  # model error = actual - point = e1
    rep = report(actual, point, point, point, point, last, np.zeros(6), 0.8)
    assert rep.significance["alternative"] == "two-sided"
    assert rep.significance["n"] == 6
    # The report weighs floor(4 (6/100)^(2/9)) = 2 Newey-West lags; without them (lag 0)
    # the same test is R's value above.
    from scipy.stats import t as student

    from rnnforecast.metrics.accuracy import diebold_mariano

    assert diebold_mariano(np.abs(e1), np.abs(e2), lag=0)[1] == pytest.approx(
        0.27992760501895536, rel=1e-9
    )
    d = np.abs(e1) - np.abs(e2)
    c, n = d - d.mean(), 6
    gamma = [float(np.dot(c[j:], c[: n - j])) / n for j in range(3)]
    long_run = gamma[0] + 2 * (2 / 3 * gamma[1] + 1 / 3 * gamma[2])
    statistic = d.mean() / np.sqrt(long_run / n) * np.sqrt((n - 1) / n)
    assert rep.significance["dm_lag"] == 2
    assert rep.significance["dm_statistic"] == pytest.approx(statistic, rel=1e-12)
    p_value = 2 * student.sf(abs(statistic), n - 1)
    assert rep.significance["p_value"] == pytest.approx(p_value, rel=1e-9)
