"""Short histories (issue 21): the default recipe trains from 2 years of bars (504 rows) on a
batch adapted to its parts, said in ``train --json``; under 239 rows it is refused with exit 3
and one line naming the rows needed (rnnforecast.training.batches)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_error, cli, make_prices

# The default recipe with its batch, window, features and split as they are; only what costs
# time is made small (one epoch, 4 units, the network's own intervals: no GARCH fits).
FAST = [
    "--set", "train.epochs=1",
    "--set", "model.units=4",
    "--set", "model.dense_units=4",
    "--set", "calibration.intervals=model",
]  # fmt: skip


def store(tmp_path: Path, rows: int) -> None:
    csv = tmp_path / "short.csv"
    make_prices(rows, seed=5).to_csv(csv)
    assert cli("fetch", "SHORT", "--csv", str(csv)).exit_code == 0


@pytest.mark.slow  # trains
def test_the_default_recipe_trains_from_504_rows(tmp_path: Path, home: Path) -> None:
    store(tmp_path, 504)
    result = cli("train", "SHORT", *FAST, "--json")
    assert result.exit_code == 0, result.stderr
    (trained,) = json.loads(result.stdout)["tickers"]
    # 454 windows: test 91, validation 37, training 326; 37 < 128, 64: batches of 32
    assert trained["batch_size"] == {
        "recipe": 128,
        "used": 32,
        "why": "the validation part holds 37 windows, fewer than train.batch_size = 128: "
        "the largest halving every part holds; train.learning_rate scaled alike, "
        "0.004 x 32/128 = 0.001",
    }
    manifest = json.loads((Path(trained["path"]) / "manifest.json").read_text())
    assert manifest["batch_size"] == trained["batch_size"]


def test_a_history_below_the_minimum_is_refused_naming_the_rows_needed(
    tmp_path: Path, home: Path
) -> None:
    store(tmp_path, 238)  # 188 windows: validation ceil(0.1 x 150) = 15 < 16
    line = assert_error(cli("train", "SHORT", *FAST), 3)
    assert line == (
        "error: the validation part holds 15 windows, fewer than the smallest batch, 16 "
        "(train.batch_size = 128, halved down to at most 16): store at least 239 rows "
        "(there are 238)"
    )
    assert not (home / "models").exists()


@pytest.mark.slow  # trains
def test_the_nightly_run_trains_a_short_history_and_says_its_batch(tmp_path: Path) -> None:
    make_prices(504, seed=5).to_csv(tmp_path / "short.csv")
    config = tmp_path / "nightly.toml"
    config.write_text(
        "[train]\nepochs = 1\n[model]\nunits = 4\ndense_units = 4\n"
        '[calibration]\nintervals = "model"\n'
        '[run]\ntickers = [{ ticker = "SHORT", source = "csv", path = "short.csv" }]\n'
    )
    result = cli("run", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert (
        "SHORT: batch 32, not train.batch_size = 128: the validation part holds 37 windows"
    ) in result.stderr
    (ticker,) = json.loads(cli("run", "--config", str(config), "--json").stdout)["tickers"]
    assert ticker["batch_size"]["used"] == 32
