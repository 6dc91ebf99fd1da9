"""A global model serves each member its own price fan, chosen on that member's bars:
train says which, predict serves it 22 sessions ahead from the member's stored bars, and
the nightly promotion scores the fan's one-session interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices

from rnnforecast.forecast.windows import base_matrix
from rnnforecast.risk.fans import choice, registry
from rnnforecast.risk.fans.interface import FAN_LEVELS, SHOWN_LEVELS
from rnnforecast.storage.home import Home

ROWS = 700
AUTO = TINY_CONFIG.replace('intervals = "model"', 'intervals = "auto"')
MEMBERS = ("AAA", "BBB")


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("global-fans")
    home, config = folder / "home", folder / "auto.toml"
    config.write_text(AUTO)
    for i, ticker in enumerate(MEMBERS):
        csv = folder / f"{ticker}.csv"
        # BBB three times as volatile: its own fan must be wider than AAA's
        prices = make_prices(ROWS, seed=21 + i)
        if ticker == "BBB":
            returns = np.diff(np.log(prices["Close"].to_numpy()))
            scale = np.exp(np.concatenate([[0.0], np.cumsum(2 * returns)]))
            prices = prices.mul(scale, axis=0)
        prices.to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv), home=home).exit_code == 0
    trained = cli("train", *MEMBERS, "--global", "--config", str(config), "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    out = json.loads(trained.stdout)
    return {"home": home, "out": out, "bundle": Path(out["path"])}


def test_each_member_has_its_own_fan_and_train_says_which(grouped: dict[str, Any]) -> None:
    out, bundle = grouped["out"], grouped["bundle"]
    assert not (bundle / "fan.json").exists()
    records = {}
    for member in MEMBERS:
        record = choice.load(bundle, registry.REGISTRY, member)
        assert record is not None
        records[member] = record
        assert out["fan_methods"][member] == list(record.methods)
        assert out["interval_method"][member] == record.methods[0]
        assert out["network_used"][member]["intervals"] is False
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {f"fan.{m}.json" for m in MEMBERS} <= set(manifest["files"])


def test_predict_serves_a_members_fan_from_its_own_bars(grouped: dict[str, Any]) -> None:
    home, bundle = grouped["home"], grouped["bundle"]
    widths = {}
    for member in MEMBERS:
        result = cli("predict", member, "--horizon", "22", "--json", home=home)
        assert result.exit_code == 0, result.stderr
        out = json.loads(result.stdout)
        record = choice.load(bundle, registry.REGISTRY, member)
        assert record is not None
        ohlcv = base_matrix(Home(home).store.read(member))
        expected = choice.served_fan(record, registry.REGISTRY, ohlcv, np.array([ROWS]), 22)[0]
        prices = ohlcv[-1, 3] * np.exp(expected)
        assert len(out["forecasts"]) == 22
        for h, forecast in enumerate(out["forecasts"]):
            assert forecast["interval_method"] == record.methods[h]
            shown = [forecast["quantiles"][f"{q:g}"] for q in SHOWN_LEVELS]
            np.testing.assert_allclose(
                shown, prices[h, [FAN_LEVELS.index(q) for q in SHOWN_LEVELS]], rtol=1e-12
            )
        last = out["forecasts"][21]
        widths[member] = np.log(last["quantiles"]["0.9"] / last["quantiles"]["0.1"])
    # each member's spread is its own: BBB's returns are three times AAA's (one fan served
    # to both would give a ratio near 1)
    assert widths["BBB"] / widths["AAA"] > 2.0
    assert_error(cli("predict", "AAA", "--horizon", "23", home=home), 2, "between 1 and 22")


def test_the_promotion_hindcast_serves_the_members_fan(grouped: dict[str, Any]) -> None:
    """What the nightly promotion scores for a member: the fan's one-session interval."""
    from rnnforecast.jobs import hindcast
    from rnnforecast.storage import loading

    home, out = Home(grouped["home"]), grouped["out"]
    loaded = loading.load(home, out["group"], out["run_id"])
    for member in MEMBERS:
        frame = home.store.read(member)
        test = out["members"][member]["test"]
        days = hindcast.served_days(
            loaded, loaded.fitted("scored"), frame, test["start"], test["end"], None, member
        )
        record = choice.load(grouped["bundle"], registry.REGISTRY, member)
        assert record is not None and days.method == record.methods[0]
        ohlcv = base_matrix(frame)
        rows = np.flatnonzero(frame.index.isin(days.dates))
        low, high = hindcast.fan_bounds(
            record, ohlcv, rows, days.level, (int(rows[0]), str(frame.index[rows[0]].date()))
        )
        np.testing.assert_array_equal(days.low, low)
        np.testing.assert_array_equal(days.high, high)


def test_evaluate_names_what_predict_serves_each_member(grouped: dict[str, Any]) -> None:
    """evaluate's served_intervals and network_used for a member are predict's at one
    session: the member's fan, which no weights shape."""
    result = cli("evaluate", "@AAA+BBB", "--json", home=grouped["home"])
    assert result.exit_code == 0, result.stderr
    members = json.loads(result.stdout)["members"]
    for member in MEMBERS:
        record = choice.load(grouped["bundle"], registry.REGISTRY, member)
        assert record is not None
        predicted = cli("predict", member, "--json", home=grouped["home"])
        served = json.loads(predicted.stdout)
        assert members[member]["risk"]["served_intervals"] == record.methods[0]
        assert served["interval_method"] == record.methods[0]
        assert members[member]["network_used"]["intervals"] is False
        assert served["network_used"]["intervals"] is False
