"""Warm start of the nightly job: the current model fine-tuned on the new bars when the recipe
is the same. Through the CLI (and the library's run for the epoch seam), tiny networks."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CONFIG, cli, make_prices

from rnnforecast.config import config_from_dict
from rnnforecast.errors import UsageError
from rnnforecast.jobs import nightly as nightly_job
from rnnforecast.jobs.runconfig import load_run_config
from rnnforecast.storage.home import Home

TABLE = textwrap.dedent(
    """
    [run]
    warm_start = true
    tickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]
    """
)


SERIES_ROWS = 400  # more than any night reads
# The network's whole move is kept (shrink off), so it shapes what is served and both fits,
# the scored one and the refit, are trained every night (and fine-tuned with warm_start).
RECIPE = TINY_CONFIG.replace('intervals = "model"', 'intervals = "model"\nshrink = false')


def nightly(folder: Path, home: Path, rows: int, recipe: str = RECIPE) -> dict:
    """Write the first ``rows`` bars of one price series and run the nightly job on them.
    The series is cut from one longer draw: ``make_prices(n)``'s opens, highs and lows
    depend on ``n``, and a stored bar that changes is a re-adjusted history (a new basis)."""
    make_prices(SERIES_ROWS, seed=5).iloc[:rows].to_csv(folder / "aaa.csv")
    (folder / "nightly.toml").write_text(recipe + TABLE)
    result = cli("run", "--config", str(folder / "nightly.toml"), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["tickers"][0]


def manifest_of(home: Path, run_id: str) -> dict:
    return json.loads((home / "models" / "AAA" / run_id / "manifest.json").read_text())


@pytest.fixture(scope="module")
def first_night(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One night with warm_start on over 215 bars (no current model yet: from scratch),
    trained once per module; a test runs its next nights on a copy from :func:`after_first`.
    Keys: home, first (the night's outcome)."""
    folder = tmp_path_factory.mktemp("first-night")
    home = folder / "home"
    return {"home": home, "first": nightly(folder, home, 215)}


def after_first(first_night: dict, folder: Path) -> Path:
    """A copy of the first night's home at ``folder / "home"``, ready for the next night."""
    home = folder / "home"
    shutil.copytree(first_night["home"], home)
    return home


@pytest.fixture(scope="module")
def nights(first_night: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two nights with warm_start on: 215 bars (no current model), then 220 bars."""
    folder = tmp_path_factory.mktemp("warm")
    home = after_first(first_night, folder)
    second = nightly(folder, home, 220)
    return {"folder": folder, "home": home, "first": first_night["first"], "second": second}


def test_warm_start_is_read_from_the_run_table(tmp_path: Path) -> None:
    path = tmp_path / "nightly.toml"
    table = '[run]\ntickers = ["AAA"]\n'
    path.write_text(table)
    assert load_run_config(path)[1].warm_start is False
    path.write_text(table + "warm_start = true\n")
    assert load_run_config(path)[1].warm_start is True
    path.write_text(table + "warm_start = 1\n")
    with pytest.raises(UsageError, match=r"run\.warm_start must be true or false"):
        load_run_config(path)


def test_first_night_trains_from_scratch_for_want_of_a_current_model(nights: dict) -> None:
    first = nights["first"]
    assert first["warm_start"] is None
    assert first["from_scratch"] == "no current model"
    assert manifest_of(nights["home"], first["run_id"])["warm_start"] is None


def test_second_night_fine_tunes_the_current_model(nights: dict) -> None:
    first, second = nights["first"], nights["second"]
    assert second["from_scratch"] is None
    # RECIPE runs 2 epochs: the best is 1 or 2, and a fifth of it rounds up to 1
    best = manifest_of(nights["home"], first["run_id"])["training"]["best_epoch"]
    assert second["warm_start"] == {"from_run": first["run_id"], "epochs": 1,
                                    "scratch_best_epoch": best}  # fmt: skip
    manifest = manifest_of(nights["home"], second["run_id"])
    assert manifest["warm_start"] == second["warm_start"]
    assert manifest["fits"]["served"]["epochs"] == 1
    assert manifest["fits"]["scored"]["training"]["epochs_run"] == 1
    # the current model's scalers are kept, not refitted on the longer history
    assert (
        manifest["fits"]["scored"]["scalers"]
        == (manifest_of(nights["home"], first["run_id"])["fits"]["scored"]["scalers"])
    )
    listed = json.loads(cli("models", "AAA", "--json", home=nights["home"]).stdout)
    by_id = {entry["run_id"]: entry for entry in listed["runs"]}
    assert by_id[first["run_id"]]["warm_start"] is None
    assert by_id[second["run_id"]]["warm_start"] == second["warm_start"]


def test_warm_start_off_trains_from_scratch(first_night: dict, tmp_path: Path) -> None:
    home = after_first(first_night, tmp_path)
    make_prices(SERIES_ROWS, seed=5).iloc[:215].to_csv(tmp_path / "aaa.csv")
    (tmp_path / "nightly.toml").write_text(RECIPE + TABLE.replace("true", "false"))
    result = cli("run", "--config", str(tmp_path / "nightly.toml"), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)["tickers"][0]
    assert outcome["warm_start"] is None
    assert outcome["from_scratch"] == "warm start is off"


def test_a_changed_recipe_trains_from_scratch(first_night: dict, tmp_path: Path) -> None:
    home, first = after_first(first_night, tmp_path), first_night["first"]
    outcome = nightly(tmp_path, home, 220, RECIPE.replace("seed = 7", "seed = 8"))
    assert outcome["warm_start"] is None
    assert outcome["from_scratch"] == f"changed recipe (current model {first['run_id']})"
    assert manifest_of(home, outcome["run_id"])["warm_start"] is None


@pytest.mark.parametrize("broken", ["weights.npz", "scored_weights.npz"])
def test_a_corrupt_current_model_falls_back_to_scratch(
    first_night: dict, tmp_path: Path, broken: str
) -> None:
    home, first = after_first(first_night, tmp_path), first_night["first"]
    path = home / "models" / "AAA" / first["run_id"] / broken
    path.write_bytes(b"not a zip archive")
    outcome = nightly(tmp_path, home, 220)
    assert outcome["warm_start"] is None
    # the bundle's checksums catch either file
    assert outcome["from_scratch"] == (
        f"current model {first['run_id']} cannot be loaded "
        f"({path}: corrupt (checksum does not match the manifest))"
    )
    assert outcome["promoted"] is True  # the current model cannot be scored either


def test_zero_fine_tune_epochs_start_from_the_current_weights(
    first_night: dict, tmp_path: Path
) -> None:
    """With no fine-tuning the challenger's networks are the current model's: its Keras
    model.keras (saved by Keras) and the challenger's numpy weights give the same outputs."""
    import keras

    from rnnforecast.nn.numpy_network import NumpyNetwork, load_weights

    home = Home(after_first(first_night, tmp_path))
    first = first_night["first"]
    make_prices(SERIES_ROWS, seed=5).iloc[:220].to_csv(tmp_path / "aaa.csv")
    (tmp_path / "nightly.toml").write_text(RECIPE + TABLE)
    config, plan = load_run_config(tmp_path / "nightly.toml")
    (done,) = nightly_job.run(home, config, plan, warm_epochs=0)
    outcome = done.result
    assert done.error is None and outcome is not None
    assert outcome.warm_start is not None and outcome.warm_start["epochs"] == 0
    current = tmp_path / "home" / "models" / "AAA" / first["run_id"]
    challenger = tmp_path / "home" / "models" / "AAA" / str(outcome.run_id)
    recipe = config_from_dict(json.loads((challenger / "manifest.json").read_text())["config"])
    x = np.random.default_rng(0).uniform(0, 1, (7, 10, len(recipe.data.features)))
    x = x.astype(np.float32)
    served = keras.models.load_model(current / "model.keras", compile=False)
    weights = load_weights(challenger / "weights.npz")
    weights.pop("input_shape")
    np.testing.assert_allclose(
        NumpyNetwork(weights, recipe).predict(x), served.predict(x, verbose=0), atol=1e-5
    )
    # the scored fit starts from the current scored fit: same weights, byte for byte
    before = load_weights(current / "scored_weights.npz")
    after = load_weights(challenger / "scored_weights.npz")
    assert sorted(before) == sorted(after)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
