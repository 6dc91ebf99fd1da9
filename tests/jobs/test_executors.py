"""Many tickers at once: worker processes and Ray give the same models as one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, cli, make_prices, trained_entry

from rnnforecast.jobs.executors import threads_per_worker

TICKERS = ["AAA", "BBB"]


def stocked_home(folder: Path) -> Path:
    home = folder / "home"
    for i, ticker in enumerate(TICKERS):
        csv = folder / f"{ticker}.csv"
        make_prices(160, seed=10 + i).to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv), home=home).exit_code == 0
    return home


def scores(out: dict) -> dict:
    """What must not depend on how the tickers were trained: losses and test scores."""
    return {
        t["ticker"]: (t["model"], t["naive"], t["epochs_run"], t["calibration"])
        for t in out["tickers"]
    }


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("sequential")
    (folder / "tiny.toml").write_text(TINY_CONFIG)
    home = stocked_home(folder)
    out = {"tickers": []}
    for ticker in TICKERS:
        result = cli("train", ticker, "--config", str(folder / "tiny.toml"), "--json", home=home)
        assert result.exit_code == 0, result.stderr
        out["tickers"].append(trained_entry(result.stdout))
    return {"config": folder / "tiny.toml", "scores": scores(out)}


def test_threads_per_worker() -> None:
    assert threads_per_worker(1, cores=2) == 2
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(8, cores=2) == 1
    assert threads_per_worker(2, cores=16) == 8


def test_two_workers_give_the_same_models_and_a_failing_ticker_stops_no_other(
    one_by_one: dict, tmp_path: Path
) -> None:
    """One pool for both checks: starting worker processes (each imports TensorFlow) is most
    of this test's time."""
    home = stocked_home(tmp_path)
    result = cli(
        "train",
        "AAA",
        "NODATA",
        "BBB",
        "--config",
        str(one_by_one["config"]),
        "--workers",
        "2",
        "--json",
        home=home,
    )
    assert result.exit_code == 3  # NODATA's code: the only failure
    aaa, nodata, bbb = json.loads(result.stdout)["tickers"]
    assert aaa["ticker"] == "AAA" and aaa["run_id"]
    assert nodata == {
        "ticker": "NODATA",
        "error": {
            "code": 3,
            "message": "no data stored for NODATA: run `rnnforecast fetch NODATA` first",
        },
    }
    assert result.stderr.strip().splitlines()[-1] == "error: 1 of 3 tickers failed: NODATA"
    assert scores({"tickers": [aaa, bbb]}) == one_by_one["scores"]
    for ticker in TICKERS:
        assert (home / "models" / ticker / "current").exists()


@pytest.mark.timeout(240)  # one Ray start and two tiny fits take about a minute
def test_ray_on_a_local_instance_gives_the_same_models(
    one_by_one: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --address the command starts its own Ray instance: a stray RAY_ADDRESS (or
    another job's cluster on the machine) is neither joined nor waited for."""
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # nothing listens there
    home = stocked_home(tmp_path)
    result = cli(
        "train",
        *TICKERS,
        "--config",
        str(one_by_one["config"]),
        "--executor",
        "ray",
        "--json",
        home=home,
    )
    assert result.exit_code == 0, result.stderr
    assert scores(json.loads(result.stdout)) == one_by_one["scores"]


def test_one_ticker_in_a_worker_gives_the_same_document_and_exit_codes(
    one_by_one: dict, tmp_path: Path
) -> None:
    """`train T --workers 2` prints what `train T` prints ({"tickers": [entry]}, the same
    model); one ticker named that fails ends the command with its own code and line."""
    home = stocked_home(tmp_path)
    config = str(one_by_one["config"])
    result = cli("train", "AAA", "--config", config, "--workers", "2", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    entry = trained_entry(result.stdout)
    assert scores({"tickers": [entry]}) == {"AAA": one_by_one["scores"]["AAA"]}
    assert result.stderr == ""
    result = cli("train", "NODATA", "--config", config, "--workers", "2", "--json", home=home)
    assert result.exit_code == 3
    message = "no data stored for NODATA: run `rnnforecast fetch NODATA` first"
    assert json.loads(result.stdout) == {"error": {"code": 3, "kind": "data", "message": message}}
    assert result.stderr == f"error: {message}\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--executor", "spark"], ["--executor", "spark"]),
        (["--address", "10.0.0.1:6379"], ["--address is for --executor ray"]),
    ],
)
def test_bad_executor_options_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    result = cli("train", "AAA", "BBB", *args, home=tmp_path / "home")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert all(w in line for w in words)
