"""End-to-end tests that see the network: a tiny model trained on a series it can learn (an
AR(1) in daily log returns), so that the shrink gate keeps a factor above 0 and the scores,
forecasts, scalers and weights of the saved bundle all matter to what the CLI prints.

Every expected value here is derived independently of rnnforecast's code path: windows,
split, scalers and the LSTM forward pass are recomputed from the CSV, the documented rules
(module docstring of rnnforecast.forecast.windows, DataConfig) and the arrays in weights.npz.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import cli, current_bundle, expected_scalers, reseal, trained_entry, window_rows

pytestmark = pytest.mark.slow

WINDOW = 10
LOOKBACK = WINDOW + 1  # the log_return feature reads the row before each input row


# --- an independent reading of the recipe --------------------------------------------------


def split_sizes(
    n_rows: int, test_fraction: float = 0.2, val_fraction: float = 0.2, calibration: float = 0.7
) -> dict:
    """Windows and their parts for ``n_rows`` rows, window 10, horizon 1 (no purge gap): the
    last ``test_fraction`` of windows (rounded up) are the test period, the last
    ``val_fraction`` of the rest (rounded up) validation, the rest training; the last
    ``calibration`` of the validation windows (rounded up) calibrate, the others (``stop``)
    early-stop."""
    m = n_rows - LOOKBACK
    n_test = math.ceil(m * test_fraction)
    usable = m - n_test
    n_val = math.ceil(usable * val_fraction)
    n_cal = math.ceil(n_val * calibration)
    return {
        "m": m,
        "test": n_test,
        "val": n_val,
        "train": usable - n_val,
        "stop": n_val - n_cal,
        "cal": n_cal,
    }


def scaled_targets(bundle: Path, close: np.ndarray, windows: range) -> np.ndarray:
    """The network targets of ``windows`` (log returns min-max scaled by scalers.json)."""
    scalers = json.loads((bundle / "scalers.json").read_text())
    t_lo, t_hi = scalers["target"]["data_min"][0], scalers["target"]["data_max"][0]
    return (np.array([window_rows(close, i)[1] for i in windows]) - t_lo) / (t_hi - t_lo)


def scaled_outputs(bundle: Path, close: np.ndarray, windows: range) -> np.ndarray:
    """The network's scaled outputs ``(len(windows),)`` from scalers.json and weights.npz."""
    scalers = json.loads((bundle / "scalers.json").read_text())
    lo, hi = (np.array(scalers["features"][k]) for k in ("data_min", "data_max"))
    x = np.stack([window_rows(close, i)[0] for i in windows])
    x = ((x - lo) / (hi - lo)).astype(np.float32).astype(np.float64)
    with np.load(bundle / "weights.npz") as npz:
        weights = {k: npz[k].astype(np.float64) for k in npz.files}
    out: np.ndarray = lstm_network(weights, x)[:, 0]
    return out


def assert_scalers(bundle: Path, expected: dict[str, Any]) -> None:
    saved = json.loads((bundle / "scalers.json").read_text())
    for part in ("features", "target"):
        for key in ("data_min", "data_max"):
            assert saved[part][key] == pytest.approx(expected[part][key], rel=1e-12), (part, key)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm_network(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """LSTM(relu; gates i, f, c, o) -> Dense(relu) -> Dense: ``(m, w, f)`` -> ``(m, 1)``,
    written from the Keras LSTM equations, not from rnnforecast.nn.numpy_network."""
    kernel, recurrent, bias = (
        weights[f"lstm_1/{k}"] for k in ("kernel", "recurrent_kernel", "bias")
    )
    units = recurrent.shape[0]
    h = np.zeros((len(x), units))
    c = np.zeros((len(x), units))
    for t in range(x.shape[1]):
        z = x[:, t, :] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * relu(g)
        h = sigmoid(o) * relu(c)
    hidden = relu(h @ weights["dense/kernel"] + weights["dense/bias"])
    return hidden @ weights["forecast/kernel"] + weights["forecast/bias"]


def raw_forecasts(bundle: Path, close: np.ndarray, windows: range) -> np.ndarray:
    """The bundle's uncalibrated next-day closes for ``windows``, recomputed from the closes,
    scalers.json and weights.npz."""
    scalers = json.loads((bundle / "scalers.json").read_text())
    t_lo, t_hi = scalers["target"]["data_min"][0], scalers["target"]["data_max"][0]
    log_move = scaled_outputs(bundle, close, windows) * (t_hi - t_lo) + t_lo
    last = np.array([close[i + LOOKBACK - 1] for i in windows])
    return last * np.exp(log_move)


# --- training sees the network ---------------------------------------------------------------


def test_the_network_learns_the_signal_and_the_gate_keeps_it(learned: dict) -> None:
    """On an AR(1) of returns the network beats naive clearly, before and after calibration:
    the shrink factor is above 0, and the test scores are those of the network's own
    forecasts recomputed from the bundle's files."""
    out, close = learned["train"], learned["prices"]["Close"].to_numpy()
    shrink = out["calibration"]["shrink"][0]
    assert 0.3 < shrink < 1.0  # learnt, and shrunk: point and raw forecasts differ
    assert out["uncalibrated"]["rel_mae"] < 0.9
    assert out["model"]["rel_mae"] < 0.9 and out["beats_naive"] is True
    # Recompute the test period's scores from the CSV and the bundle's arrays.
    sizes = split_sizes(len(close))
    test = range(sizes["m"] - sizes["test"], sizes["m"])
    assert out["test"]["n"] == sizes["test"]
    assert out["test"]["start"] == str(learned["prices"].index[test[0] + LOOKBACK].date())
    raw = raw_forecasts(current_bundle(learned["home"], "LRN"), close, test)
    actual = close[[i + LOOKBACK for i in test]]
    last = close[[i + LOOKBACK - 1 for i in test]]
    naive_mae = np.mean(np.abs(actual - last))
    assert out["uncalibrated"]["rel_mae"] == pytest.approx(
        np.mean(np.abs(actual - raw)) / naive_mae, rel=1e-5
    )
    point = last * np.exp(shrink * np.log(raw / last))
    assert out["model"]["mae"] == pytest.approx(np.mean(np.abs(actual - point)), rel=1e-5)
    assert out["model"]["rel_mae"] == pytest.approx(
        np.mean(np.abs(actual - point)) / naive_mae, rel=1e-5
    )
    assert out["naive"]["mae"] == pytest.approx(naive_mae, rel=1e-9)
    # A model this much better than naive is better by the Diebold-Mariano test too.
    assert out["significance"]["dm_statistic"] < 0


def assert_calibrated_on(
    bundle: Path, close: np.ndarray, windows: range, calibration: dict
) -> None:
    """The raw MAE relative to naive and the shrink factor (the factor on the 0.01 grid with
    the lowest MAE) of ``calibration`` are those of the bundle's network on ``windows``."""
    raw = raw_forecasts(bundle, close, windows)
    actual = close[[i + LOOKBACK for i in windows]]
    last = close[[i + LOOKBACK - 1 for i in windows]]
    naive_mae = np.mean(np.abs(actual - last))
    assert calibration["raw_val_rel_mae"][0] == pytest.approx(
        np.mean(np.abs(actual - raw)) / naive_mae, rel=1e-6
    )
    if calibration["shrink_p_value"][0] >= 0.05:  # the gate refused the best factor
        assert calibration["shrink"] == [0.0]
        return
    grid = np.round(np.arange(101) * 0.01, 2)
    maes = [np.mean(np.abs(actual - last * np.exp(f * np.log(raw / last)))) for f in grid]
    assert calibration["shrink"][0] == pytest.approx(grid[int(np.argmin(maes))], abs=1e-9)


def test_calibration_is_fitted_on_the_newest_validation_windows(learned: dict) -> None:
    """Recomputed on the last 56 of the 79 validation windows (which follow the training
    windows directly, horizon 1: no purge gap), the ones early stopping did not use."""
    close = learned["prices"]["Close"].to_numpy()
    sizes = split_sizes(len(close))
    first = sizes["train"] + sizes["stop"]
    calibration = range(first, sizes["train"] + sizes["val"])
    assert len(calibration) == sizes["cal"] == 56
    bundle = current_bundle(learned["home"], "LRN")
    assert_calibrated_on(bundle, close, calibration, learned["train"]["calibration"])


def test_early_stopping_is_on_the_earlier_validation_windows(learned: dict) -> None:
    """Keras restores the weights of the epoch with the lowest validation loss: the kept
    network's mean squared error (scaled units) on the 23 early-stopping windows is that
    lowest loss, and its error over all 79 validation windows is not."""
    close = learned["prices"]["Close"].to_numpy()
    sizes = split_sizes(len(close))
    bundle = current_bundle(learned["home"], "LRN")
    manifest = json.loads((bundle / "manifest.json").read_text())
    lowest = min(manifest["training"]["val_loss"])

    def mse(windows: range) -> float:
        errors = scaled_outputs(bundle, close, windows) - scaled_targets(bundle, close, windows)
        return float(np.mean(errors**2))

    stop = range(sizes["train"], sizes["train"] + sizes["stop"])
    assert mse(stop) == pytest.approx(lowest, rel=1e-4)
    every = range(sizes["train"], sizes["train"] + sizes["val"])
    assert mse(every) != pytest.approx(lowest, rel=1e-2)
    assert manifest["data"]["early_stopping"]["n"] == len(stop) == 23


def test_scalers_are_fitted_on_the_training_rows_only(learned: dict) -> None:
    close = learned["prices"]["Close"].to_numpy()
    bundle = current_bundle(learned["home"], "LRN")
    assert_scalers(bundle, expected_scalers(close, split_sizes(len(close))["train"]))


def test_another_test_fraction_fits_the_scalers_on_its_own_training_rows(
    learned: dict, tmp_path: Path, home: Path
) -> None:
    assert cli("fetch", "LRN", "--csv", str(learned["csv"]), home=home).exit_code == 0
    result = cli(
        "train",
        "LRN",
        "--config",
        str(learned["config"]),
        "--set",
        "data.test_fraction=0.4",
        "--epochs",
        "1",
        "--no-refit",
        "--json",
        home=home,
    )
    assert result.exit_code == 0, result.stderr
    close = learned["prices"]["Close"].to_numpy()
    sizes = split_sizes(len(close), test_fraction=0.4)
    assert trained_entry(result.stdout)["test"]["n"] == sizes["test"]
    assert_scalers(current_bundle(home, "LRN"), expected_scalers(close, sizes["train"]))


def test_test_rows_change_nothing_that_was_fitted(
    learned: dict, tmp_path: Path, home: Path
) -> None:
    """Wild closes in the last test days (past every validation target): the scalers, the
    network's weights and the calibration are those of the fit on the original rows, bit for
    bit (same seed, same training and validation rows); only the test scores move. Trained
    here without shrinkage: the calibrated forecast is then the raw one."""
    prices = learned["prices"].copy()
    prices.iloc[-5:, :4] *= 3.0
    csv = tmp_path / "spiked.csv"
    prices.to_csv(csv)
    assert cli("fetch", "LRN", "--csv", str(csv), home=home).exit_code == 0
    result = cli(
        "train",
        "LRN",
        "--config",
        str(learned["config"]),
        "--set",
        "calibration.shrink=false",
        "--no-refit",
        "--json",
        home=home,
    )
    assert result.exit_code == 0, result.stderr
    out = trained_entry(result.stdout)
    spiked, original = current_bundle(home, "LRN"), current_bundle(learned["home"], "LRN")
    assert (spiked / "scalers.json").read_bytes() == (original / "scalers.json").read_bytes()
    with np.load(spiked / "weights.npz") as a, np.load(original / "weights.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            assert np.array_equal(a[name], b[name]), name
    assert out["calibration"]["shrink"] == [1.0]
    assert (
        out["calibration"]["raw_val_rel_mae"] == learned["train"]["calibration"]["raw_val_rel_mae"]
    )
    assert out["model"]["rel_mae"] == pytest.approx(out["uncalibrated"]["rel_mae"], rel=1e-12)
    assert out["naive"]["mae"] > 2 * learned["train"]["naive"]["mae"]  # the spike is scored


# --- serving -----------------------------------------------------------------------------------


def test_the_refit_is_calibrated_on_its_own_last_windows(learned: dict, learned_home: Path) -> None:
    """Trained again with the refit (the network's own intervals are served, so it shapes
    what is served): it trains on every window but the last 56 (its scalers: the min and max
    of windows 0 .. 432), and its calibration is fitted on its own forecasts of those 56,
    recomputed from the served weights.npz; calibrated through the last bar."""
    result = cli("train", "LRN", "--config", str(learned["config"]), "--json", home=learned_home)
    assert result.exit_code == 0, result.stderr
    out = trained_entry(result.stdout)
    prices = learned["prices"]
    close = prices["Close"].to_numpy()
    sizes = split_sizes(len(close))
    tail = range(sizes["m"] - sizes["cal"], sizes["m"])
    assert out["serving"]["refit"] is True
    assert out["serving"]["calibrated_through"] == str(prices.index[-1].date())
    assert out["serving"]["trained_through"] == str(prices.index[tail[0] - 1 + LOOKBACK].date())
    bundle = current_bundle(learned_home, "LRN")
    assert_scalers(bundle, expected_scalers(close, tail[0]))
    assert_calibrated_on(bundle, close, tail, out["calibration"])
    # the windows the refit's network was trained on, as counted while it trained
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["fits"]["served"]["windows"] == tail[0]


def test_predict_is_the_network_output_for_the_last_window(learned: dict) -> None:
    result = cli("predict", "LRN", "--json", home=learned["home"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    close = learned["prices"]["Close"].to_numpy()
    last_window = len(close) - LOOKBACK
    # raw_forecasts reads one row past the window for the target: pad with a dummy close.
    padded = np.append(close, close[-1])
    raw = raw_forecasts(
        current_bundle(learned["home"], "LRN"), padded, range(last_window, last_window + 1)
    )
    shrink = learned["train"]["calibration"]["shrink"][0]
    expected = close[-1] * np.exp(shrink * np.log(raw[0] / close[-1]))
    assert out["last_close"] == pytest.approx(close[-1], rel=1e-12)
    assert out["as_of"] == str(learned["prices"].index[-1].date())
    (day,) = out["forecasts"]
    assert day["close"] == pytest.approx(expected, rel=1e-6)
    assert day["close"] != pytest.approx(close[-1], rel=1e-6)  # the network moved it
    assert day["low"] < day["close"] < day["high"]


def test_keras_fallback_predicts_what_the_numpy_weights_predict(
    learned: dict, learned_home: Path
) -> None:
    """A bundle without weights.npz (as if the numpy check had failed) is served by Keras
    from model.keras: the same forecast within float32 rounding."""
    numpy_out = json.loads(cli("predict", "LRN", "--json", home=learned_home).stdout)
    bundle = current_bundle(learned_home, "LRN")
    (bundle / "weights.npz").unlink()
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["files"]["weights.npz"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    reseal(bundle / "manifest.json")
    result = cli("predict", "LRN", "--json", home=learned_home)
    assert result.exit_code == 0, result.stderr
    keras_out = json.loads(result.stdout)
    assert keras_out["run_id"] == numpy_out["run_id"]
    for a, b in zip(keras_out["forecasts"], numpy_out["forecasts"], strict=True):
        assert a["close"] == pytest.approx(b["close"], rel=1e-6)
        assert a["low"] == pytest.approx(b["low"], rel=1e-6)
    assert keras_out["forecasts"][0]["close"] != pytest.approx(numpy_out["last_close"], rel=1e-6)
