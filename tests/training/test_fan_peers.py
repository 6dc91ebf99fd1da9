"""The fan network learns from more than its own ticker: the stored tickers of its calendar
(its peers) and a global model's members, every one cut before the test period, and the
bundle says whose bars it read, through what day. A one-session hindcast serves the network
where the fan does, and never from a day the network read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_CONFIG, canonical, cli, make_prices
from fan_bars import garch_bars

from rnnforecast.config import CalibrationConfig, Config, apply_overrides
from rnnforecast.data.sources import Bars
from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.jobs import hindcast
from rnnforecast.nn.fan_forward import read_fan_network
from rnnforecast.risk.fans import choice, registry
from rnnforecast.risk.fans.interface import FAN_LEVELS, served_levels
from rnnforecast.storage.home import Home
from rnnforecast.training import fan_peers
from rnnforecast.training.fan_fit import cutoffs, training_origins
from rnnforecast.training.per_ticker import FanPool, bars_of, fan_network_for

NETWORK = TINY_CONFIG.replace('intervals = "model"', 'intervals = "auto"') + "fan_network = true\n"
ROWS = 700


def _store(home: Home, ticker: str, rows: int, seed: int, calendar: str = "XNYS") -> None:
    bars = Bars(canonical(make_prices(n=rows, seed=seed)), source="csv")
    home.store.write(ticker, bars, calendar=calendar)


def _config(**calibration: Any) -> Config:
    return Config(calibration=CalibrationConfig(fan_network=True, **calibration))


def test_peers_are_the_longest_histories_of_the_same_calendar(home: Path) -> None:
    stored = Home(home)
    for ticker, rows, calendar in [
        ("OWN", 300, "XNYS"),
        ("LONG", 400, "XNYS"),
        ("TIE2", 350, "XNYS"),
        ("TIE1", 350, "XNYS"),
        ("SHORT", 100, "XNYS"),
        ("LONDON", 900, "XLON"),
    ]:
        _store(stored, ticker, rows, seed=len(ticker), calendar=calendar)
    assert fan_peers.peer_symbols(stored, "OWN", _config()) == ["LONG", "TIE1", "TIE2", "SHORT"]
    assert fan_peers.peer_symbols(stored, "OWN", _config(fan_peers=2)) == ["LONG", "TIE1"]
    assert fan_peers.peer_symbols(stored, "OWN", _config(fan_peers=0)) == []
    assert fan_peers.peer_symbols(stored, "LONDON", _config()) == []
    assert fan_peers.peer_symbols(stored, "OWN", Config()) == []  # no fan network: no peers
    assert fan_peers.peer_symbols(stored, "NOTSTORED", _config()) == []
    read = fan_peers.read_peers(stored, "OWN", _config(fan_peers=1))
    assert list(read) == ["LONG"] and len(read["LONG"]) == 400


def test_a_peer_deleted_after_it_was_listed_is_left_out(home: Path) -> None:
    stored = Home(home)
    _store(stored, "OWN", 300, 1)
    _store(stored, "GONE", 300, 2)

    class Vanishing:
        """The store as a peer is deleted between listing and reading it."""

        def __init__(self) -> None:
            self.tickers = stored.store.tickers
            self.read = self._read

        def _read(self, ticker: str) -> Any:
            stored.store.delete(ticker)
            return stored.store.read(ticker)

    class VanishingHome:
        store = Vanishing()

    assert fan_peers.read_peers(VanishingHome(), "OWN", _config()) == {}  # type: ignore[arg-type]


def test_fan_peers_is_checked_as_every_key_is() -> None:
    assert apply_overrides(Config(), ["calibration.fan_peers=0"]).calibration.fan_peers == 0
    for bad in ("-1", "1001"):
        with pytest.raises(UsageError, match=r"calibration\.fan_peers must be between 0 and 1000"):
            apply_overrides(Config(), [f"calibration.fan_peers={bad}"])


def test_cutoffs_keep_the_rows_dated_before_the_day_and_drop_short_peers() -> None:
    recipe = FanRecipe(lookback=30, units=8, dense_units=8, epochs=2)
    long_bars = garch_bars(600, seed=1, daily_vol=0.01)
    short_bars = garch_bars(600, seed=2, daily_vol=0.02)
    short_bars = (short_bars[0][-150:], short_bars[1][-150:])  # starts 450 sessions later
    day = long_bars[1][500]
    cut = cutoffs({"LONG": long_bars, "SHORT": short_bars}, day, recipe)
    assert cut == {"LONG": 500}
    assert long_bars[1][cut["LONG"] - 1] < day <= long_bars[1][cut["LONG"]]
    assert training_origins(500, recipe) >= 1 > training_origins(50, recipe)


@pytest.fixture(scope="module")
def pooled() -> dict[str, Any]:
    """A fan network trained for OWN (test period from row 450) with two peers."""
    config = apply_overrides(
        Config(),
        [
            "calibration.fan_network=true",
            "model.units=8",
            "model.dense_units=8",
            "train.epochs=2",
            "data.window=30",
        ],
    )
    own, near, far = (garch_bars(600, s, v) for s, v in ((1, 0.01), (2, 0.02), (3, 0.015)))
    frames = {name: _frame(bars) for name, bars in (("OWN", own), ("NEAR", near), ("FAR", far))}
    pool = FanPool("OWN", frames["OWN"], {"NEAR": frames["NEAR"], "FAR": frames["FAR"]})
    network = fan_network_for(config, pool, 450)
    assert network is not None
    return {"config": config, "frames": frames, "network": network, "day": own[1][450]}


def _frame(bars: tuple[np.ndarray, np.ndarray]) -> Any:
    import pandas as pd

    ohlcv, dates = bars
    columns = ["open", "high", "low", "close", "volume"]
    return pd.DataFrame(
        ohlcv, index=pd.DatetimeIndex(dates.astype("datetime64[ns]")), columns=columns
    )


def test_the_pooled_network_reads_every_peer_up_to_the_test_period_only(
    pooled: dict[str, Any],
) -> None:
    network, day = pooled["network"], pooled["day"]
    assert set(network.trained_on) == {"OWN", "NEAR", "FAR"}
    for ticker, last in network.trained_on.items():
        dates = bars_of(pooled["frames"][ticker])[1]
        assert np.datetime64(last) == dates[dates < day][-1]
    # the peers' bars from the test period on are absurd: the same weights come out
    frames = dict(pooled["frames"])
    for peer in ("NEAR", "FAR"):
        wild = frames[peer].copy()
        wild.loc[wild.index >= day] *= 1000.0
        frames[peer] = wild
    pool = FanPool("OWN", frames["OWN"], {p: frames[p] for p in ("NEAR", "FAR")})
    again = fan_network_for(pooled["config"], pool, 450)
    assert again is not None
    for name, weights in network.weights.items():
        np.testing.assert_array_equal(again.weights[name], weights)


def test_the_network_records_what_it_read_and_reloads_it(
    pooled: dict[str, Any], tmp_path: Path
) -> None:
    network = pooled["network"]
    for name, data in network.to_files().items():
        (tmp_path / name).write_bytes(data)
    described = json.loads((tmp_path / "fan_network.json").read_text())
    assert described["trained_on"] == dict(sorted(network.trained_on.items()))
    assert read_fan_network(tmp_path).trained_on == network.trained_on
    for bad in ({"OWN": 3}, {"OWN": "zzz"}, {"OWN": "2021-02-30"}, {"OWN": "2021-2-3"}, []):
        described["trained_on"] = bad
        (tmp_path / "fan_network.json").write_text(json.dumps(described))
        with pytest.raises(ModelError, match="trained_on must map tickers to dates"):
            read_fan_network(tmp_path)


def _train_log(home: Path, ticker: str) -> str:
    bundle = next((home / "models" / ticker).glob("*/train.log"))
    return bundle.read_text()


def _fetched(
    folder: Path, tickers: tuple[str, ...], seed: int, gap: slice | None = None
) -> tuple[Path, Path]:
    """A home in ``folder`` with ``tickers`` fetched from CSV files of ``ROWS`` bars each
    (the first ticker without the rows ``gap``), and the recipe with the fan network on."""
    home, config = folder / "home", folder / "net.toml"
    config.write_text(NETWORK)
    for i, ticker in enumerate(tickers):
        csv = folder / f"{ticker}.csv"
        prices = make_prices(ROWS, seed=seed + i)
        if i == 0 and gap is not None:
            prices = prices.drop(prices.index[gap])
        prices.to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv), home=home).exit_code == 0
    return home, config


def _test_start_row() -> int:
    """The row of :func:`make_prices`' ``ROWS`` weekdays where a global model of two such
    tickers under :data:`NETWORK` starts its test period."""
    import tomllib

    from rnnforecast.config import config_from_dict
    from rnnforecast.training.group_members import window_members

    config = config_from_dict(tomllib.loads(NETWORK))
    frames = {t: canonical(make_prices(ROWS, seed=1)) for t in ("AAA", "BBB")}
    _, split = window_members(frames, config.data)
    return int(frames["AAA"].index.searchsorted(split.test_start))


def test_train_pools_the_stored_peers_of_the_calendar_and_says_so(tmp_path: Path) -> None:
    home, config = _fetched(tmp_path, ("OWN", "PEER"), seed=31)
    stored = Home(home)
    _store(stored, "LONDON", ROWS, 5, calendar="XLON")
    trained = cli("train", "OWN", "--config", str(config), "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    line = re.search(r"fan network trained on (.*)", _train_log(home, "OWN"))
    assert line is not None
    read = dict(part.split(" through ") for part in line.group(1).split(", "))
    assert set(read) == {"OWN", "PEER"}  # not LONDON: another calendar
    test_start = json.loads(trained.stdout)["tickers"][0]["test"]["start"]
    assert all(day < test_start for day in read.values())


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A global model of AAA and BBB, AAA without bars on the first 10 sessions of the
    shared test period (a halt): its own first test day comes 10 sessions later."""
    start = _test_start_row()
    folder = tmp_path_factory.mktemp("group-fan-network")
    home, config = _fetched(folder, ("AAA", "BBB"), 41, slice(start, start + 10))
    trained = cli("train", "AAA", "BBB", "--global", "--config", str(config), "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    out = json.loads(trained.stdout)
    return {"home": home, "out": out, "bundle": Path(out["path"])}


def test_a_global_model_trains_one_fan_network_over_its_members(grouped: dict[str, Any]) -> None:
    bundle, out = grouped["bundle"], grouped["out"]
    line = re.search(r"fan network trained on (.*)", (bundle / "train.log").read_text())
    assert line is not None
    read = dict(part.split(" through ") for part in line.group(1).split(", "))
    assert set(read) == {"AAA", "BBB"}
    # every member cut before the shared test period, BBB too although AAA's own test
    # windows start 10 sessions later
    assert all(day < out["split"]["test_start"] for day in read.values())
    bbb = Home(grouped["home"]).store.read("BBB").index
    assert read["BBB"] == str(bbb[bbb < out["split"]["test_start"]][-1].date())
    serving = {
        m: choice.load(bundle, registry.REGISTRY, m).uses_network  # type: ignore[union-attr]
        for m in ("AAA", "BBB")
    }
    # saved once for the group, and only where some member's fan serves it
    assert (bundle / "fan_network.json").exists() == any(serving.values())
    for member, uses in serving.items():
        assert out["network_used"][member]["intervals"] == (
            out["fan_methods"][member][0] == choice.NETWORK
        )
        result = cli("predict", member, "--horizon", "22", "--json", home=grouped["home"])
        assert result.exit_code == 0, result.stderr
        methods = [f["interval_method"] for f in json.loads(result.stdout)["forecasts"]]
        assert (choice.NETWORK in methods) == uses


def test_a_hindcast_serves_the_network_one_session_ahead_never_from_a_day_it_read(
    pooled: dict[str, Any], tmp_path: Path
) -> None:
    network = pooled["network"]
    frame = pooled["frames"]["OWN"]
    ohlcv, dates = bars_of(frame)
    record = choice.FanRecord((choice.NETWORK,) * 22, {})
    origins = np.arange(460, 470)
    low, high = hindcast.fan_bounds(
        record, ohlcv, origins, 0.8, (460, str(dates[460])), network.bound(ohlcv, dates)
    )
    q = network.fan(ohlcv, dates, origins, 1)[:, 0]
    lo, hi = served_levels(0.8)
    np.testing.assert_allclose(low, ohlcv[origins - 1, 3] * np.exp(q[:, lo]))
    np.testing.assert_allclose(high, ohlcv[origins - 1, 3] * np.exp(q[:, hi]))
    assert len(FAN_LEVELS) == q.shape[1]

    class Bundle:
        path = tmp_path

    class Loaded:
        bundle = Bundle()

    for name, data in network.to_files().items():
        (tmp_path / name).write_bytes(data)
    loaded: Any = Loaded()
    assert hindcast.served_network(loaded, record, frame, str(dates[460])) is not None
    seen = max(network.trained_on.values())
    with pytest.raises(DataError, match=f"read bars up to {seen}"):
        hindcast.served_network(loaded, record, frame, seen)
    classical = choice.FanRecord(("blend",) * 22, {})
    assert hindcast.served_network(loaded, classical, frame, seen) is None


def test_predict_serves_a_members_fan_from_the_groups_network(
    grouped: dict[str, Any], tmp_path: Path
) -> None:
    """A bundle whose AAA fan serves the group's network for 5 sessions (edited in, as a
    network that won would have been saved): predict's quantiles are recomputed from the
    network and the member's stored bars."""
    import shutil

    from conftest import reseal

    from rnnforecast.storage.artifacts import sha256_file
    from rnnforecast.training.fan_fit import fit_fan_network

    home = tmp_path / "home"
    shutil.copytree(grouped["home"], home)
    bundle = home / "models" / grouped["bundle"].parent.name / grouped["bundle"].name
    frames = {m: Home(home).store.read(m) for m in ("AAA", "BBB")}
    series = {m: bars_of(f) for m, f in frames.items()}
    test_start = np.datetime64(grouped["out"]["split"]["test_start"])
    recipe = FanRecipe(lookback=20, units=4, dense_units=4, epochs=1)
    network = fit_fan_network(series, cutoffs(series, test_start, recipe), recipe, 3)
    record_file = bundle / "fan.AAA.json"
    record = json.loads(record_file.read_text())
    record["methods"][:5] = [choice.NETWORK] * 5
    record_file.write_text(json.dumps(record))
    manifest_file = bundle / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    for name, data in network.to_files().items():
        (bundle / name).write_bytes(data)
        manifest["files"][name] = sha256_file(bundle / name)
    manifest["files"]["fan.AAA.json"] = sha256_file(record_file)
    manifest_file.write_text(json.dumps(manifest))
    reseal(manifest_file)

    result = cli("predict", "AAA", "--horizon", "22", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [f["interval_method"] for f in out["forecasts"][:6]] == [choice.NETWORK] * 5 + [
        record["methods"][5]
    ]
    assert out["network_used"]["intervals"] is True
    saved = choice.load(bundle, registry.REGISTRY, "AAA")
    assert saved is not None
    ohlcv, dates = series["AAA"]
    expected = choice.served_fan(
        saved, registry.REGISTRY, ohlcv, np.array([len(ohlcv)]), 22, network.bound(ohlcv, dates)
    )[0]
    prices = ohlcv[-1, 3] * np.exp(expected)
    for h, forecast in enumerate(out["forecasts"]):
        np.testing.assert_allclose(
            forecast["quantiles"]["0.1"], prices[h, FAN_LEVELS.index(0.1)], rtol=1e-9
        )
    # BBB's fan serves no network: the same bundle predicts it as before
    assert cli("predict", "BBB", "--horizon", "22", home=home).exit_code == 0
