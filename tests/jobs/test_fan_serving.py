"""The fan a bundle serves, through the CLI as a user runs it: predict up to 22 sessions
with quantiles recomputed from fan.json and the stored bars, its exports and its picture,
evaluate's per-horizon scores recomputed from fans fitted before the test period, and the
network fan read from as few bars as predict reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, assert_error, cli, heavy_imports, make_prices

from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.forecast.windows import base_matrix
from rnnforecast.risk.fans import choice, registry
from rnnforecast.risk.fans.interface import FAN_LEVELS, SHOWN_LEVELS
from rnnforecast.storage.home import Home
from rnnforecast.training.fan_fit import fit_fan_network

ROWS = 700
AUTO = TINY_CONFIG.replace('intervals = "model"', 'intervals = "auto"')


@pytest.fixture(scope="module")
def fanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home with one tiny model of ``ROWS`` bars that serves a fan (intervals "auto")."""
    folder = tmp_path_factory.mktemp("fan")
    home, csv, config = folder / "home", folder / "p.csv", folder / "auto.toml"
    make_prices(ROWS, seed=11).to_csv(csv)
    config.write_text(AUTO)
    assert cli("fetch", "FAN", "--csv", str(csv), home=home).exit_code == 0
    trained = cli("train", "FAN", "--config", str(config), "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    bundle = next((home / "models" / "FAN").glob("*/fan.json")).parent
    entry = json.loads(trained.stdout)["tickers"][0]
    # train says what predict serves: the fan's method per horizon, its first one at 1 session
    served = json.loads((bundle / "fan.json").read_text())["methods"]
    assert entry["fan_methods"] == served and entry["interval_method"] == served[0]
    return {"home": home, "folder": folder, "bundle": bundle}


def _bars(home: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = Home(home).store.read("FAN")
    return base_matrix(frame), frame.index.to_numpy().astype("datetime64[D]")


def test_predict_serves_the_fan_22_sessions_ahead(fanned: dict[str, Any]) -> None:
    result = cli("predict", "FAN", "--horizon", "22", "--json", home=fanned["home"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    record = choice.load(fanned["bundle"], registry.REGISTRY)
    assert record is not None
    ohlcv, _ = _bars(fanned["home"])
    expected = choice.served_fan(record, registry.REGISTRY, ohlcv, np.array([ROWS]), 22)[0]
    prices = ohlcv[-1, 3] * np.exp(expected)
    assert len(out["forecasts"]) == 22 and out["interval_method"] == record.methods[0]
    assert out["network_used"] == {"price": False, "intervals": False}
    for h, forecast in enumerate(out["forecasts"]):
        assert forecast["interval_method"] == record.methods[h]
        keys = [f"{q:g}" for q in SHOWN_LEVELS]
        assert (
            list(forecast["quantiles"])
            == keys
            == ["0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95"]
        )
        shown = [forecast["quantiles"][k] for k in keys]
        np.testing.assert_allclose(
            shown, prices[h, [FAN_LEVELS.index(q) for q in SHOWN_LEVELS]], rtol=1e-12
        )
        assert shown == sorted(shown)
        assert forecast["low"] == forecast["quantiles"]["0.1"]
        assert forecast["high"] == forecast["quantiles"]["0.9"]
    widths = [f["high"] / f["low"] for f in out["forecasts"]]
    assert widths[0] < widths[4] < widths[21]
    assert_error(
        cli("predict", "FAN", "--horizon", "23", home=fanned["home"]),
        2,
        "between 1 and 22",
    )


def test_predict_with_the_fan_stays_free_of_tensorflow_and_pandas(
    fanned: dict[str, Any],
) -> None:
    probe = heavy_imports("--home", str(fanned["home"]), "predict", "FAN", "--horizon", "22")
    assert probe["code"] == 0
    assert not {"tensorflow", "keras", "pandas", "arch", "scipy"} & set(probe["heavy"])


def test_predict_exports_the_quantiles_and_draws_the_fan(fanned: dict[str, Any]) -> None:
    csv, png = fanned["folder"] / "fan.csv", fanned["folder"] / "fan.png"
    result = cli(
        "predict", "FAN", "--horizon", "5", "-o", str(csv), "--plot", str(png), home=fanned["home"]
    )
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(csv)
    assert len(table) == 5
    assert {"interval_method", "q0.05", "q0.5", "q0.95"} <= set(table.columns)
    assert (table["q0.05"] < table["q0.5"]).all() and (table["q0.5"] < table["q0.95"]).all()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_error(
        cli("predict", "FAN", "--plot", str(fanned["folder"] / "fan.jpg"), home=fanned["home"]),
        2,
        "--plot",
        "PNG",
    )


def test_evaluate_scores_each_fan_fitted_before_the_test_period(fanned: dict[str, Any]) -> None:
    result = cli("evaluate", "FAN", "--json", home=fanned["home"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    horizons = out["risk"]["horizons"]
    assert set(horizons) == {"1", "5", "22"}
    ohlcv, _ = _bars(fanned["home"])
    frame = Home(fanned["home"]).store.read("FAN")
    first = int(frame.index.searchsorted(pd.Timestamp(out["test"]["start"])))
    last = int(frame.index.searchsorted(pd.Timestamp(out["test"]["end"]), side="right"))
    # ewma's 5-session fan, fitted on the bars before the test period, recomputed by hand
    ewma = registry.REGISTRY["ewma"]
    fit = ewma.fit(ohlcv, first, 22)
    origins = np.arange(first, last - 4)  # those whose fifth session is in the test period
    q = ewma.fan(fit, ohlcv, origins, 5)[:, 4]
    close = ohlcv[origins - 1, 3]
    low, high = close * np.exp(q[:, 2]), close * np.exp(q[:, 6])
    y = ohlcv[origins + 4, 3]
    score = (high - low) + 10 * np.maximum(low - y, 0) + 10 * np.maximum(y - high, 0)
    got = horizons["5"]["baselines"]["ewma"]
    assert got["n"] == len(origins)
    assert got["interval_score_80"] == pytest.approx(score.mean(), rel=1e-12)
    assert got["coverage_80"] == pytest.approx(np.mean((y >= low) & (y <= high)), rel=1e-12)
    assert horizons["5"]["served_choice"] == "made on these days"


def test_the_network_fan_from_the_bars_predict_reads_is_the_whole_historys() -> None:
    frame = make_prices(900, seed=12)
    frame.columns = [c.lower() for c in frame.columns]
    ohlcv = frame[["open", "high", "low", "close", "volume"]].to_numpy()
    dates = frame.index.to_numpy().astype("datetime64[D]")
    recipe = FanRecipe(lookback=20, horizons=22, units=4, dense_units=4, epochs=1)
    net = fit_fan_network({"X": (ohlcv, dates)}, {"X": 700}, recipe, 1)
    whole = net.fan(ohlcv, dates, np.array([900]), 22)
    k = net.exact_rows
    tail = net.fan(ohlcv[-k:], dates[-k:], np.array([k]), 22)
    np.testing.assert_allclose(tail, whole, rtol=1e-9, atol=1e-12)
    # one bar fewer is not enough: the answer moves
    short = net.fan(ohlcv[-k + 1 :], dates[-k + 1 :], np.array([k - 1]), 22)
    assert not np.allclose(short, whole, rtol=1e-9, atol=1e-12)
