"""Global models (train --global): one tiny network over three synthetic tickers, run
through the CLI as a user would. CCC starts 40 days later than the others."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices, trained_entry

WINDOW = 10  # TINY_CONFIG's window; the default features need no extra row
GROUP = "@AAA+BBB+CCC"


def _prices() -> dict[str, pd.DataFrame]:
    late = make_prices(300, seed=1).index[40]
    return {
        "AAA": make_prices(300, seed=1),
        "BBB": make_prices(300, seed=2) * 5.0,  # another price level
        "CCC": make_prices(260, seed=3, start=str(late.date())),
    }


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home with AAA, BBB, CCC stored and one global model trained over them. The recipe
    keeps the network's whole move (``calibration.shrink = false``): the network shapes
    what is served, so the group is refitted up to the last bar."""
    folder = tmp_path_factory.mktemp("global")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(
        TINY_CONFIG.replace('intervals = "model"', 'intervals = "model"\nshrink = false')
    )
    prices = _prices()
    for ticker, frame in prices.items():
        csv = folder / f"{ticker}.csv"
        frame.to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv), home=home).exit_code == 0
    result = cli(
        "train", "ccc", "AAA", "BBB", "--global", "--config", str(config), "--json", home=home
    )
    assert result.exit_code == 0, result.stderr
    trained = json.loads(result.stdout)
    bundle = Path(trained["path"])
    return {
        "home": home,
        "config": config,
        "prices": prices,
        "train": trained,
        "bundle": bundle,
        "manifest": json.loads((bundle / "manifest.json").read_text()),
    }


def _first_target_days(prices: dict[str, pd.DataFrame]) -> np.ndarray:
    """Sorted union of every window's first target day: row WINDOW on, per ticker."""
    return np.unique(np.concatenate([f.index[WINDOW:].to_numpy() for f in prices.values()]))


def _train_end(prices: dict[str, pd.DataFrame]) -> pd.Timestamp:
    days = _first_target_days(prices)
    n_test = math.ceil(len(days) * 0.2)
    usable = len(days) - n_test
    n_train = usable - math.ceil(usable * 0.2)
    return pd.Timestamp(days[n_train - 1])


def test_layout_and_manifest(group: dict) -> None:
    trained, home, manifest = group["train"], group["home"], group["manifest"]
    assert trained["group"] == GROUP
    # the header it shares with a ticker's manifest, in the order bundles were saved in
    assert list(manifest)[:12] == [
        "schema_version",
        "run_id",
        "ticker",
        "members",
        "created_at",
        "config",
        "features",
        "target",
        "window",
        "horizon",
        "seed",
        "data",
    ]
    assert group["bundle"].parent == home / "models" / GROUP
    assert (home / "models" / GROUP / "current").read_text().strip() == trained["run_id"]
    for ticker in ("AAA", "BBB", "CCC"):
        assert (home / "models" / ticker / "group").read_text() == GROUP + "\n"
    members = manifest["members"]
    assert sorted(members) == ["AAA", "BBB", "CCC"]
    ccc = group["prices"]["CCC"]
    assert members["CCC"]["first"] == str(ccc.index[0].date())
    assert members["CCC"]["rows"] == 260
    assert all(m["fingerprint"].startswith("sha256:") for m in members.values())
    assert manifest["serving"]["refit"] is True
    listing = json.loads(cli("models", "BBB", "--json", home=home).stdout)
    assert listing["runs"] == []
    assert listing["served_by"] == {"group": GROUP, "run_id": trained["run_id"]}


def test_every_member_is_tested_on_the_same_dates(group: dict) -> None:
    days = _first_target_days(group["prices"])
    n_test = math.ceil(len(days) * 0.2)
    expected = {
        "start": str(pd.Timestamp(days[-n_test]).date()),
        "end": str(pd.Timestamp(days[-1]).date()),
        "n": n_test,
    }
    members = group["train"]["members"]
    assert {t: m["test"] for t, m in members.items()} == {t: expected for t in members}
    assert group["train"]["pool"]["test"] == {**expected, "n": 3 * n_test}
    assert group["train"]["split"]["train_end"] == str(_train_end(group["prices"]).date())


def test_validation_days_are_cut_in_two_and_the_refit_keeps_a_calibration_tail(
    group: dict,
) -> None:
    """The shared validation days: the earlier ones early-stop the network, the newest
    ceil(0.5 x n) calibrate it; the refit trains up to the last days, as many as calibrate,
    and is calibrated on its own forecasts of them (horizon 1: no purge gap)."""
    days = _first_target_days(group["prices"])
    m = len(days)
    usable = m - math.ceil(m * 0.2)
    n_val = math.ceil(usable * 0.2)
    n_train, n_cal = usable - n_val, math.ceil(n_val * 0.5)

    def day(i: int) -> str:
        return str(pd.Timestamp(days[i]).date())

    split = group["train"]["split"]
    assert (split["val_start"], split["stop_end"]) == (day(n_train), day(usable - n_cal - 1))
    assert (split["calibration_start"], split["val_end"]) == (day(usable - n_cal), day(usable - 1))
    assert split["refit_train_end"] == day(m - n_cal - 1)
    assert split["refit_calibration_start"] == day(m - n_cal)
    data = group["manifest"]["data"]
    assert data["early_stopping"]["end"] < data["calibration"]["start"]
    assert data["calibration"]["end"] == day(usable - 1)
    last_bar = max(str(f.index[-1].date()) for f in group["prices"].values())
    assert group["train"]["serving"] == {
        "trained_through": day(m - n_cal - 1),
        "calibrated_through": last_bar,
        "refit": True,
        "reason": "the network shapes what is served: refit up to the last bar",
    }


def test_scalers_are_the_pooled_training_windows_min_max(group: dict) -> None:
    end = _train_end(group["prices"])
    features, targets = [], []
    for frame in group["prices"].values():
        values = frame[["Open", "High", "Low", "Close", "Volume"]].to_numpy(dtype=np.float64)
        close = values[:, 3]
        for i in range(len(frame) - WINDOW):
            if frame.index[i + WINDOW] > end:
                break
            rows = values[i : i + WINDOW]
            prices = rows[:, :4] / close[i] - 1.0
            volume = rows[:, 4:] / rows[:, 4].mean() - 1.0
            features.append(np.hstack([prices, volume]))
            targets.append(np.log(close[i + WINDOW] / close[i + WINDOW - 1]))
    stacked = np.concatenate(features)
    scored = group["manifest"]["fits"]["scored"]["scalers"]
    np.testing.assert_allclose(scored["features"]["data_min"], stacked.min(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scored["features"]["data_max"], stacked.max(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scored["target"]["data_min"], [min(targets)], rtol=1e-12)
    np.testing.assert_allclose(scored["target"]["data_max"], [max(targets)], rtol=1e-12)


def test_predict_each_member_numpy_and_keras_agree(group: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(group["home"], home)
    numpy_answers = {}
    for ticker in ("AAA", "BBB", "CCC"):
        result = cli("predict", ticker, "--json", home=home)
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["ticker"] == ticker
        assert answer["run_id"] == group["train"]["run_id"]
        assert answer["last_close"] == pytest.approx(group["prices"][ticker]["Close"].iloc[-1])
        numpy_answers[ticker] = answer
    # Without weights.npz the bundle serves through Keras.
    bundle = home / "models" / GROUP / group["train"]["run_id"]
    (bundle / "weights.npz").unlink()
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"].pop("weights.npz")
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    from rnnforecast.storage.artifacts import MANIFEST_SUM_FILE, sha256_file

    (bundle / MANIFEST_SUM_FILE).write_text(sha256_file(bundle / "manifest.json") + "\n")
    for ticker, answer in numpy_answers.items():
        result = cli("predict", ticker, "--json", home=home)
        assert result.exit_code == 0, result.stderr
        keras = json.loads(result.stdout)
        for mine, theirs in zip(answer["forecasts"], keras["forecasts"], strict=True):
            assert mine["date"] == theirs["date"]
            for key in ("close", "low", "high"):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-5)


def test_evaluate_scores_members_and_pool(group: dict) -> None:
    for target in ("BBB", GROUP):
        result = cli("evaluate", target, "--json", home=group["home"])
        assert result.exit_code == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["group"] == GROUP and out["fit"] == "scored"
        members, pool = out["members"], out["pool"]
        assert sorted(members) == ["AAA", "BBB", "CCC"]
        assert pool["n"] == sum(m["n"] for m in members.values())
        # The pool's MAE is the window-weighted mean of the members'.
        weighted = sum(m["n"] * m["model"]["mae"] for m in members.values()) / pool["n"]
        assert pool["model"]["mae"] == pytest.approx(weighted, rel=1e-9)
        ratios = [m["model"]["rel_mae"] for m in members.values()]
        geo = float(np.exp(np.mean(np.log(ratios))))
        assert pool["members_rel_mae_geometric_mean"] == pytest.approx(geo, rel=1e-9)
    table = cli("evaluate", "AAA", home=group["home"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("ticker\t"))) + 1
    assert [line.split("\t")[0] for line in lines[first : first + 4]] == [
        "AAA",
        "BBB",
        "CCC",
        "pool",
    ]


def test_bad_combinations(group: dict) -> None:
    home, config = group["home"], str(group["config"])
    assert_error(cli("train", "AAA", "--global", "--config", config, home=home), 2, "two")
    assert_error(cli("train", "AAA", "aaa", "--global", "--config", config, home=home), 2, "two")
    assert_error(cli("train", "AAA", "ZZZ", "--global", "--config", config, home=home), 3, "ZZZ")
    assert_error(
        cli(
            "train",
            "AAA",
            "BBB",
            "--global",
            "--config",
            config,
            "--set",
            "data.normalise=global",
            home=home,
        ),
        2,
        "data.normalise",
    )
    assert_error(
        cli("train", "AAA", "BBB", "--global", "--name", "a/b", "--config", config, home=home),
        2,
        "group name",
    )
    assert_error(
        cli("train", "AAA", "BBB", "--global", "--workers", "2", "--config", config, home=home),
        2,
        "--workers",
    )
    # 13 symbols of 4 letters joined by "+" make 64 characters: the group needs a name
    many = [f"T{n:03d}" for n in range(13)]
    line = assert_error(cli("train", *many, "--global", "--config", config, home=home), 2)
    assert line == (
        "error: the 13 symbols joined make a group name of 64 characters, more than 60: "
        "give the group a name"
    )
    assert_error(cli("evaluate", "AAA", "--folds", "2", home=home), 2, "--folds")
    group_run = group["train"]["run_id"]
    assert_error(cli("models", "AAA", "--promote", group_run, home=home), 2, "global model")
    assert_error(cli("predict", GROUP, home=home), 2, "ticker")


def test_own_model_trained_later_serves_the_ticker(group: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(group["home"], home)
    own = cli("train", "AAA", "--config", str(group["config"]), "--json", home=home)
    assert own.exit_code == 0, own.stderr
    run_id = trained_entry(own.stdout)["run_id"]
    assert json.loads(cli("predict", "AAA", "--json", home=home).stdout)["run_id"] == run_id
    served = json.loads(cli("predict", "BBB", "--json", home=home).stdout)["run_id"]
    assert served == group["train"]["run_id"]
    # The global model still scores all its members.
    assert cli("evaluate", GROUP, "--json", home=home).exit_code == 0


def test_a_distribution_head_global_model_scales_by_its_own_sigma(
    group: dict, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(group["home"], home)
    result = cli(
        "train", "AAA", "BBB", "CCC", "--global", "--name", "dist", "--no-refit",
        "--config", str(group["config"]), "--set", "model.head=distribution", "--json",
        home=home,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((Path(json.loads(result.stdout)["path"]) / "manifest.json").read_text())
    # Widths calibrated on the network's scale, as for one ticker; a "point" calibration
    # would make evaluate and predict scale them by the 50-day SD instead.
    assert manifest["calibration"]["head"] == "distribution"
    assert manifest["fits"]["scored"]["calibration"]["head"] == "distribution"
    assert cli("evaluate", "@DIST", "--json", home=home).exit_code == 0


@pytest.mark.slow  # trains
def test_run_trains_and_promotes_a_global_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for ticker, frame in _prices().items():
        frame.to_csv(tmp_path / f"{ticker.lower()}.csv")
    config = tmp_path / "run.toml"
    config.write_text(
        TINY_CONFIG
        + '\n[run]\nglobal = true\ngroup = "trio"\ntickers = [\n'
        + "".join(
            f'  {{ ticker = "{t}", source = "csv", path = "{t.lower()}.csv" }},\n'
            for t in ("AAA", "BBB", "CCC")
        )
        + "]\n"
    )
    first = cli("run", "--config", str(config), "--json", home=home)
    assert first.exit_code == 0, first.stderr
    outcomes = json.loads(first.stdout)["tickers"]
    assert [o["ticker"] for o in outcomes] == ["AAA", "BBB", "CCC"]
    assert len({o["run_id"] for o in outcomes}) == 1
    assert all(o["promoted"] for o in outcomes)
    assert all(o["reason"].startswith("global model @TRIO: no current model") for o in outcomes)
    run_id = outcomes[0]["run_id"]
    assert (home / "models" / "@TRIO" / "current").read_text().strip() == run_id
    assert json.loads(cli("predict", "CCC", "--json", home=home).stdout)["run_id"] == run_id
    # The next night, the same recipe on the same bars: no unseen day for the current model.
    second = cli("run", "--config", str(config), "--json", home=home)
    assert second.exit_code == 0, second.stderr
    again = json.loads(second.stdout)["tickers"]
    assert all(o["rows_added"] == 0 for o in again)
    assert all("global model @TRIO" in o["reason"] for o in again)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('global = true\ntickers = ["AAA"]\n', ["run.global", "two"]),
        ('group = "X"\ntickers = ["AAA", "BBB"]\n', ["run.group", "run.global"]),
        ('global = "yes"\ntickers = ["AAA", "BBB"]\n', ["run.global"]),
    ],
)
def test_bad_global_run_config_exits_2(tmp_path: Path, table: str, words: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[run]\n" + table)
    assert_error(cli("run", "--config", str(path), home=tmp_path / "home"), 2, *words)


def test_each_member_naive_scale_is_from_its_training_closes_alone(group: dict) -> None:
    """MASE's denominator per member: the mean absolute one-day change of the member's
    closes up to the last training target (the same day for all three), recomputed here;
    over the whole series (test period included) it would differ."""
    end = _train_end(group["prices"])
    for ticker, frame in group["prices"].items():
        closes = frame["Close"].to_numpy(dtype=np.float64)
        training = frame.loc[:end, "Close"].to_numpy(dtype=np.float64)
        assert len(training) < len(closes)
        expected = float(np.mean(np.abs(np.diff(training))))
        got = group["manifest"]["members"][ticker]["naive_scale"]
        assert got == pytest.approx(expected, rel=1e-12), ticker
        assert got != pytest.approx(float(np.mean(np.abs(np.diff(closes)))), rel=1e-6), ticker
