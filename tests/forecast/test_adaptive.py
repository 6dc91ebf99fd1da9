"""Adaptive interval widths: hand-computed walks, and predict and evaluate agreeing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CONFIG, cli, make_prices

from rnnforecast.forecast.calibration import Calibration
from rnnforecast.forecast.conformal import DEFAULT, Adaptive, factors, widths

NAN = float("nan")


def test_rolling_quantile_without_steps() -> None:
    # window 4, gamma 0, level 0.8: the ceil(5 * 0.8) = 4th smallest, the largest of four.
    scores = np.array([1.0, 5.0, 2.0, 3.0, 4.0, 0.5])
    out = widths(scores, 0.8, Adaptive(window=4, gamma=0.0, warmup=0))
    np.testing.assert_array_equal(out, [NAN, NAN, NAN, NAN, 5.0, 5.0, 4.0])
    # level 0.6: the ceil(5 * 0.6) = 3rd smallest of the last four: of {1, 5, 2, 3},
    # {5, 2, 3, 4}, {2, 3, 4, 0.5}.
    out = widths(scores, 0.6, Adaptive(window=4, gamma=0.0, warmup=0))
    np.testing.assert_array_equal(out, [NAN, NAN, NAN, NAN, 3.0, 4.0, 3.0])


def test_one_step_of_adaptive_conformal_inference_by_hand() -> None:
    # window 3, warmup 1, gamma 0.2, level 0.5 (alpha 0.5): k = ceil(4 (1 - alpha)).
    # Day 4: the walk starts on day 3 at alpha 0.5: set {1, 4, 2} -> k 2 -> width 2; score 3
    #   misses, alpha = 0.5 + 0.2 (0.5 - 1) = 0.4 -> k = ceil(2.4) = 3 of {4, 2, 3} -> 4.
    # Day 5: day 4 at alpha 0.5: set {4, 2, 3} -> 3; score 9 misses -> alpha 0.4 -> k 3 of
    #   {2, 3, 9} -> 9. (The fixed alpha would give 3 and 3.)
    scores = np.array([1.0, 4.0, 2.0, 3.0, 9.0])
    out = widths(scores, 0.5, Adaptive(window=3, gamma=0.2, warmup=1))
    np.testing.assert_array_equal(out, [NAN, NAN, NAN, NAN, 4.0, 9.0])
    # A hit instead: score 1 on day 3 is inside width 2, alpha = 0.5 + 0.5 * 0.5 = 0.75 ->
    # k = ceil(4 * 0.25) = 1: the smallest of {4, 2, 1}.
    calm = widths(np.array([1.0, 4.0, 2.0, 1.0]), 0.5, Adaptive(window=3, gamma=0.5, warmup=1))
    np.testing.assert_array_equal(calm, [NAN, NAN, NAN, NAN, 1.0])


def test_widths_stay_finite_when_alpha_falls_below_zero() -> None:
    # Every day misses: alpha falls to 0.2 - 10 * 0.15 * 0.8 < 0; the largest score is used.
    scores = np.arange(1.0, 30.0)
    out = widths(scores, 0.8, Adaptive(window=5, gamma=0.15, warmup=10))
    assert np.all(np.isfinite(out[15:]))
    np.testing.assert_array_equal(out[15:], scores[14:])


def test_widths_reject_a_bad_level() -> None:
    with pytest.raises(ValueError, match="level"):
        widths(np.ones(5), 1.0, Adaptive(2, 0.0, 0))


def test_factors_are_one_without_a_scheme_or_history() -> None:
    scores = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(factors(scores, 0.8, None, 2.0), [1, 1, 1, 1])
    # window 2, level 0.5: ceil(3 * 0.5) = 2nd smallest of the last two, over the fixed 2.0.
    out = factors(scores, 0.5, Adaptive(2, 0.0, 0), 2.0)
    np.testing.assert_array_equal(out, [1.0, 1.0, 1.0, 1.5])


def test_calibration_round_trip_with_adaptive() -> None:
    cal = Calibration((0.0,), (1.2,), 0.8, adaptive=Adaptive(250, 0.005, 250))
    raw = json.loads(json.dumps(cal.to_dict()))
    assert raw["adaptive"] == {"window": 250, "gamma": 0.005, "warmup": 250}
    assert Calibration.from_dict(raw) == cal


# --- predict and evaluate use the same widths -------------------------------------------------


@pytest.fixture(scope="module")
def adaptive_model(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """700 synthetic rows of TEST and a tiny model: its test windows have the 100 + 250
    scored days before them that the default scheme needs (conftest's trained home has 300
    rows, too few)."""

    folder = tmp_path_factory.mktemp("adaptive")
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    prices = make_prices(700, seed=5)
    prices.to_csv(csv)
    config.write_text(TINY_CONFIG)
    assert cli("fetch", "TEST", "--csv", str(csv), home=home).exit_code == 0
    result = cli("train", "TEST", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return {"home": home, "prices": prices, "folder": folder}


@pytest.fixture
def adaptive_home(adaptive_model: dict, home: Path) -> dict:
    """This test's own copy of ``adaptive_model``'s home (at the usual ``home`` path)."""
    shutil.copytree(adaptive_model["home"], home)
    return {**adaptive_model, "home": home}


def test_evaluate_reports_the_coverage_tests(adaptive_home: dict) -> None:
    result = cli("evaluate", "TEST", "--json", home=adaptive_home["home"])
    assert result.exit_code == 0, result.stderr
    intervals = json.loads(result.stdout)["intervals"]
    assert set(intervals) == {
        "level",
        "coverage",
        "mean_width",
        "kupiec_p",
        "christoffersen_p",
        "christoffersen_cc_p",
    }
    assert 0 <= intervals["kupiec_p"] <= 1
    if intervals["christoffersen_p"] is not None:
        from scipy.stats import chi2

        lr = chi2.isf(intervals["kupiec_p"], 1) + chi2.isf(intervals["christoffersen_p"], 1)
        assert intervals["christoffersen_cc_p"] == pytest.approx(chi2.sf(lr, 2), abs=1e-9)


def test_predict_gives_the_interval_evaluate_scores(adaptive_home: dict) -> None:
    """Predict on a store cut after day e gives, for day e + 1, the interval that evaluate's
    walk gives the window ending on day e: same factor from the same earlier days."""
    from rnnforecast.forecast.windows import build_dataset
    from rnnforecast.storage import loading
    from rnnforecast.storage.home import Home

    home, prices = adaptive_home["home"], adaptive_home["prices"]
    loaded = loading.load(Home(home), "TEST", None)
    model = loaded.fitted("served")
    config, cal = loaded.config, model.calibration
    frame = Home(home).store.read("TEST")
    dataset = build_dataset(frame, config.data)
    factors = model.width_factors(dataset)
    assert cal.adaptive == DEFAULT
    history = config.data.lookback + DEFAULT.history
    assert np.all(factors[: DEFAULT.history] == 1.0)  # too little history: the fixed width
    # after it, widths follow recent errors (exactly 1 only where the width is the very
    # validation score the fixed width was)
    assert np.mean(factors[DEFAULT.history :] != 1.0) > 0.8
    for j in (len(dataset) - 1, len(dataset) - 40):
        end = j + config.data.lookback  # rows up to and including the window's last day
        cut = adaptive_home["folder"] / f"cut{j}.csv"
        prices.iloc[:end].to_csv(cut)
        assert cli("fetch", "TEST", "--csv", str(cut), "--replace", home=home).exit_code == 0
        result = cli("predict", "TEST", "--json", home=home)
        assert result.exit_code == 0, result.stderr
        served = json.loads(result.stdout)["forecasts"][0]
        scored = model.forecast(dataset.base[j : j + 1], 1, factors[j])
        assert served["low"] == pytest.approx(float(scored.low[0, 0]), rel=1e-12)
        assert served["high"] == pytest.approx(float(scored.high[0, 0]), rel=1e-12)
        assert end > history
