"""Serving a refit up to the last bar, calibrated on its own newest windows; no refit where
the network shapes nothing served; the scored fit early-stopped and calibrated on two
disjoint pieces of validation; evaluate keeps scoring the scored fit; old manifests still
read. Through the CLI, with tiny networks.

Counts for 300 rows of TINY_CONFIG (window 10, horizon 1: window i reads rows i .. i+9 and
its target is row i+10): 290 windows; test 58 (232 ..); validation ceil(0.2 x 232) = 47
(185 .. 231): early stopping 23 (185 .. 207), calibration ceil(0.5 x 47) = 24 (208 .. 231);
the refit trains on windows 0 .. 265 and is calibrated on the last 24 (266 .. 289)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, cli, current_bundle, make_prices, reseal, trained_entry

from rnnforecast.errors import UsageError
from rnnforecast.jobs.runconfig import load_run_config


def manifest_of(home: Path, run_id: str) -> dict:
    return json.loads((home / "models" / "TEST" / run_id / "manifest.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """300 rows of TEST, trained twice with the same seed: with refit and with --no-refit.
    The recipe keeps the network's whole move (``calibration.shrink = false``), so the
    network shapes the served price and its own interval, and a refit is asked for."""
    folder = tmp_path_factory.mktemp("refit")
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    prices = make_prices(300, seed=3)
    prices.to_csv(csv)
    config.write_text(
        TINY_CONFIG.replace('intervals = "model"', 'intervals = "model"\nshrink = false')
    )
    assert cli("fetch", "TEST", "--csv", str(csv), home=home).exit_code == 0
    out = {"home": home, "prices": prices, "config": config}
    for name, extra in (("plain", ["--no-refit"]), ("refit", [])):
        result = cli("train", "TEST", "--config", str(config), "--json", *extra, home=home)
        assert result.exit_code == 0, result.stderr
        out[name] = trained_entry(result.stdout)
    return out


def day_of_row(prices: pd.DataFrame, row: int) -> str:
    return str(prices.index[row].date())


def test_train_serves_a_refit_calibrated_on_its_own_last_windows(runs: dict) -> None:
    """The recipe serves the network's whole move and its own intervals, so the network
    shapes what is served:
    refitted on windows 0 .. 265 (last target row 275), calibrated on 266 .. 289 (target
    rows 276 .. 299, the last bar)."""
    prices, refit = runs["prices"], runs["refit"]
    assert refit["serving"] == {
        "trained_through": day_of_row(prices, 275),
        "calibrated_through": day_of_row(prices, 299),
        "refit": True,
        "reason": "the network shapes what is served: refit up to the last bar",
    }
    manifest = manifest_of(runs["home"], refit["run_id"])
    assert manifest["serving"] == refit["serving"]
    assert "scored_weights.npz" in manifest["files"]
    scored, served = manifest["fits"]["scored"], manifest["fits"]["served"]
    # the scored fit never saw the test period; the refit ran its best epoch, unstopped
    assert scored["calibrated_through"] < manifest["data"]["test"]["start"]
    assert scored["trained_through"] < scored["calibrated_through"]
    assert served["epochs"] == manifest["training"]["best_epoch"]
    assert served["training"]["val_loss"] == [] and not served["training"]["stopped_early"]
    assert served["windows"] == 266  # 290 windows but the calibration tail of 24
    assert served["calibration_windows"] == {
        "start": day_of_row(prices, 276),
        "end": day_of_row(prices, 299),
        "n": 24,
    }
    # two different networks are saved
    folder = runs["home"] / "models" / "TEST" / refit["run_id"]
    with np.load(folder / "weights.npz") as a, np.load(folder / "scored_weights.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        assert any(not np.array_equal(a[k], b[k]) for k in a.files if k != "input_shape")


def test_no_refit_serves_the_scored_fit(runs: dict) -> None:
    plain = runs["plain"]
    manifest = manifest_of(runs["home"], plain["run_id"])
    scored = manifest["fits"]["scored"]
    assert plain["serving"] == {
        "trained_through": scored["trained_through"],
        "calibrated_through": scored["calibrated_through"],
        "refit": False,
        "reason": "refit off: the scored fit is served",
    }
    assert plain["serving"]["calibrated_through"] < manifest["data"]["test"]["start"]
    assert "scored_weights.npz" not in manifest["files"]
    assert manifest["calibration"] == scored["calibration"]


def test_evaluate_scores_the_scored_fit_of_either_bundle(runs: dict) -> None:
    """Same data and seed: both bundles hold the same scored fit, so evaluate gives the same
    scores for both, the ones train reported, and says which fit they are of."""
    home, prices = runs["home"], runs["prices"]
    outs = []
    for name in ("plain", "refit"):
        result = cli("evaluate", "TEST", "--run", runs[name]["run_id"], "--json", home=home)
        assert result.exit_code == 0, result.stderr
        out = json.loads(result.stdout)
        scored = manifest_of(home, runs[name]["run_id"])["fits"]["scored"]
        assert out["fit"] == "scored"
        assert out["trained_through"] == scored["trained_through"]
        assert out["calibrated_through"] == scored["calibrated_through"]
        assert out["model"]["rel_mae"] == pytest.approx(runs[name]["model"]["rel_mae"], rel=1e-9)
        outs.append(out)
    assert outs[0]["model"] == outs[1]["model"]
    assert outs[0]["intervals"] == outs[1]["intervals"]
    # true MASE, by hand: MAE over the mean absolute daily change of the training closes
    manifest = manifest_of(home, runs["refit"]["run_id"])
    close = prices["Close"]
    training = close.loc[: manifest["data"]["scaler_rows"]["end"]].to_numpy()
    scale = np.mean(np.abs(np.diff(training)))
    assert outs[1]["model"]["mase"] == pytest.approx(outs[1]["model"]["mae"] / scale, rel=1e-9)
    assert outs[1]["naive"]["mase"] == pytest.approx(outs[1]["naive"]["mae"] / scale, rel=1e-9)


def test_early_stopping_and_calibration_windows_are_disjoint(runs: dict) -> None:
    """The scored fit's validation windows 185 .. 231 (first target rows 195 .. 241):
    23 early-stop it (rows 195 .. 217), the newest 24 calibrate it (rows 218 .. 241)."""
    prices = runs["prices"]
    for name in ("plain", "refit"):
        manifest = manifest_of(runs["home"], runs[name]["run_id"])
        data = manifest["data"]
        assert data["validation"] == {
            "start": day_of_row(prices, 195),
            "end": day_of_row(prices, 241),
            "n": 47,
        }
        assert data["early_stopping"] == {
            "start": day_of_row(prices, 195),
            "end": day_of_row(prices, 217),
            "n": 23,
        }
        assert data["calibration"] == {
            "start": day_of_row(prices, 218),
            "end": day_of_row(prices, 241),
            "n": 24,
        }
        assert manifest["fits"]["scored"]["calibrated_through"] == day_of_row(prices, 241)


def test_predict_serves_the_refit_calibration(runs: dict) -> None:
    """The forecast's interval is the served calibration's: for the refit bundle, fitted on
    the refit's own forecasts of its last windows, not the scored fit's validation ones."""
    home, prices = runs["home"], runs["prices"]
    result = cli("predict", "TEST", "--run", runs["refit"]["run_id"], "--json", home=home)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    manifest = manifest_of(home, runs["refit"]["run_id"])
    served, scored = manifest["calibration"], manifest["fits"]["scored"]["calibration"]
    assert served != scored
    assert out["as_of"] == str(prices.index[-1].date())
    forecast = out["forecasts"][0]
    # interval = close * exp(+-halfwidth * sigma), sigma: std of the last 10 log returns
    sigma = np.std(np.diff(np.log(prices["Close"].to_numpy()[-10:])))
    assert forecast["high"] / forecast["close"] == pytest.approx(
        np.exp(served["halfwidth"][0] * sigma), rel=1e-9
    )


def make_old_format(home: Path, run_id: str, old_id: str) -> dict:
    """A copy of a --no-refit bundle with the manifest as written before refit, rel_mae and
    true MASE existed."""
    folder = home / "models" / "TEST"
    shutil.copytree(folder / run_id, folder / old_id)
    manifest = json.loads((folder / old_id / "manifest.json").read_text())
    manifest["run_id"] = old_id
    for key in ("serving", "fits"):
        del manifest[key]
    del manifest["timings"]["refit_seconds"]
    calibration = manifest["calibration"]
    calibration["raw_val_mase"] = calibration.pop("raw_val_rel_mae")
    test = manifest["metrics"]["test"]
    for side in ("model", "naive", "drift"):
        test[side].pop("mase", None)
        test[side].pop("n_no_move", None)
    test["model"]["mase"] = test["model"].pop("rel_mae")
    test["drift"]["mase"] = test["drift"].pop("rel_mae")
    (folder / old_id / "manifest.json").write_text(json.dumps(manifest, indent=2))
    # an old manifest, sealed as every bundle must be (a missing checksum is refused)
    reseal(folder / old_id / "manifest.json")
    return manifest


def test_models_evaluate_and_predict_read_an_old_format_bundle(runs: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    old_id = "20250101T000000Z-0a0b0c"
    old = make_old_format(home, runs["plain"]["run_id"], old_id)
    listing = cli("models", "TEST", "--json", home=home)
    assert listing.exit_code == 0, listing.stderr
    entry = next(r for r in json.loads(listing.stdout)["runs"] if r["run_id"] == old_id)
    assert "error" not in entry
    assert entry["serving"] == {
        "trained_through": old["data"]["train"]["end"],
        "calibrated_through": old["data"]["validation"]["end"],
        "refit": False,
    }
    assert entry["model"]["rel_mae"] == old["metrics"]["test"]["model"]["mase"]
    assert entry["model"]["mase"] is None  # not known for a bundle saved before it existed
    table = cli("models", "TEST", home=home)
    assert table.exit_code == 0 and old_id in table.stdout
    evaluated = cli("evaluate", "TEST", "--run", old_id, "--json", home=home)
    assert evaluated.exit_code == 0, evaluated.stderr
    out = json.loads(evaluated.stdout)
    assert out["fit"] == "scored" and out["trained_through"] == old["data"]["train"]["end"]
    assert out["model"]["rel_mae"] == pytest.approx(old["metrics"]["test"]["model"]["mase"])
    assert cli("predict", "TEST", "--run", old_id, "--json", home=home).exit_code == 0


def test_interval_level_beyond_the_calibration_windows_is_a_data_error(
    runs: dict, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    result = cli(
        "train",
        "TEST",
        "--config",
        str(runs["config"]),
        "--set",
        "calibration.interval_level=0.99",
        home=home,
    )
    assert result.exit_code == 3
    assert result.stdout == ""
    # 290 windows: 58 test, 47 validation (ceil(232 * 0.2)), the last 24 of them calibrating
    # (ceil(47 * 0.5)); 24 / 25 = 0.96
    assert result.stderr.strip() == (
        "error: 24 calibration windows support an interval level of at most 0.9600 "
        "(n / (n + 1)), not 0.99: lower calibration.interval_level or use more data"
    )


def test_run_refit_is_read_from_the_run_table(tmp_path: Path) -> None:
    path = tmp_path / "nightly.toml"
    table = '[run]\ntickers = ["AAA"]\n'
    path.write_text(table)
    assert load_run_config(path)[1].refit is True
    path.write_text(table + "refit = false\n")
    assert load_run_config(path)[1].refit is False
    path.write_text(table + 'refit = "no"\n')
    with pytest.raises(UsageError, match=r"run\.refit must be true or false"):
        load_run_config(path)


@pytest.mark.slow  # trains
def test_run_with_refit_off_serves_the_scored_fit(tmp_path: Path) -> None:
    make_prices(220, seed=1).to_csv(tmp_path / "aaa.csv")
    config = tmp_path / "nightly.toml"
    config.write_text(
        TINY_CONFIG
        + textwrap.dedent(
            """
            [run]
            refit = false
            tickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]
            """
        )
    )
    home = tmp_path / "home"
    result = cli("run", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)["tickers"][0]
    assert outcome["serving"]["refit"] is False
    manifest = json.loads(
        (home / "models" / "AAA" / outcome["run_id"] / "manifest.json").read_text()
    )
    assert outcome["serving"]["trained_through"] == manifest["fits"]["scored"]["trained_through"]


@pytest.mark.slow  # trains
def test_run_keeps_the_current_model_against_a_changed_recipe_with_nothing_to_win_on(
    tmp_path: Path,
) -> None:
    """A new seed is a new recipe. The network shapes nothing served (shrink 0, the
    network-free naive_conformal interval), so neither bundle refits and the test period is
    unseen by both; served, the two are the same naive close and widths: the challenger
    does not significantly beat the current model, which stays."""
    make_prices(220, seed=1).to_csv(tmp_path / "aaa.csv")
    table = textwrap.dedent(
        """
        [run]
        tickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]
        """
    )
    config = tmp_path / "nightly.toml"
    config.write_text(TINY_CONFIG + table)
    home = tmp_path / "home"
    first = json.loads(cli("run", "--config", str(config), "--json", home=home).stdout)
    champion = first["tickers"][0]["run_id"]
    config.write_text(TINY_CONFIG.replace("seed = 7", "seed = 8") + table)
    result = cli("run", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)["tickers"][0]
    assert outcome["promoted"] is False
    promotion = outcome["promotion"]
    assert promotion["decision"] == "kept" and promotion["rule"] == "changed recipe"
    assert promotion["champion"] == promotion["challenger"]  # the same served forecasts
    assert promotion["days"] > 0 and promotion["p_value"] is None  # identical: not tested
    assert outcome["reason"].endswith(
        f"; {champion}; not tested on {promotion['days']} unseen days), one-day MAE "
        f"{promotion['challenger']['mae']:.4f} vs {promotion['champion']['mae']:.4f} not "
        "significantly worse (not tested): current model kept"
    )
    assert (home / "models" / "AAA" / "current").read_text().strip() == champion


@pytest.mark.slow  # trains
def test_no_refit_where_the_network_shapes_nothing_served(runs: dict, tmp_path: Path) -> None:
    """Intervals pinned to a baseline (ewma) and a shrink factor of 0 (the tiny network has
    no skill on a random walk): no number predict prints depends on the network, so no refit
    is trained. The bundle serves the scored fit (its own calibration, on validation windows
    185 .. 231) with ewma fitted on every bar, and train says why in words."""
    home, prices = tmp_path / "home", runs["prices"]
    shutil.copytree(runs["home"], home)
    pin = ["--set", "calibration.intervals=ewma", "--set", "calibration.shrink=true"]
    result = cli("train", "TEST", "--config", str(runs["config"]), *pin, home=home)
    assert result.exit_code == 0, result.stderr
    reason = (
        "the network shapes nothing served (shrink 0 at every step, intervals the network's "
        "weights do not shape): the naive close and intervals fitted on every bar are served, "
        "with no refit"
    )
    assert f"why: {reason}\n" in result.stderr
    bundle = current_bundle(home, "TEST")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["calibration"]["shrink"] == [0.0]
    assert manifest["serving"] == {
        "trained_through": day_of_row(prices, 194),  # the last training window's target
        "calibrated_through": day_of_row(prices, 241),
        "refit": False,
        "reason": reason,
    }
    # one network trained: no refit history, no second set of weights, no refit log lines
    assert "training" not in manifest["fits"]["served"]
    assert manifest["timings"]["refit_seconds"] == 0.0
    assert "scored_weights.npz" not in manifest["files"]
    log = (bundle / "train.log").read_text()
    assert "refit epoch" not in log and f"serving: {reason}\n" in log
    record = json.loads((bundle / "intervals.json").read_text())
    assert record["method"] == "ewma"
    assert record["fitted_through"] == day_of_row(prices, 299)  # every bar
    predicted = cli("predict", "TEST", "--json", home=home)
    assert predicted.exit_code == 0, predicted.stderr
    out = json.loads(predicted.stdout)
    assert out["interval_method"] == "ewma"
    (day,) = out["forecasts"]
    assert day["close"] == pytest.approx(prices["Close"].iloc[-1], rel=1e-12)  # the naive one
    assert day["low"] < day["close"] < day["high"]
