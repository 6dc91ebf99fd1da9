"""A hostile user against the served baseline intervals: edited (and resealed) records,
degenerate price series, the longest horizon, odd CSV paths and a read-only home."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import (
    REPO,
    TINY_CONFIG,
    cli,
    current_bundle,
    make_prices,
    read_only,
    reseal,
    strict_json,
    trained_entry,
)

from rnnforecast.errors import DataError
from rnnforecast.risk import interval_choice
from rnnforecast.storage.artifacts import sha256_file

RECURSIVE_GARCH = ["--set", "data.strategy=recursive", "--set", "calibration.intervals=garch_t"]


@pytest.fixture(scope="module")
def garch_served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with 600 random-walk bars as ticker G and a tiny recursive network whose
    bundle serves a GARCH(1,1)-t's intervals (pinned)."""
    folder = tmp_path_factory.mktemp("hostile")
    home, config = folder / "home", folder / "tiny.toml"
    make_prices(600, seed=3).to_csv(folder / "g.csv")
    config.write_text(TINY_CONFIG)
    assert cli("fetch", "G", "--csv", str(folder / "g.csv"), home=home).exit_code == 0
    trained = cli("train", "G", "--config", str(config), *RECURSIVE_GARCH, "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    assert trained_entry(trained.stdout)["interval_method"] == "garch_t"
    return home


def test_longest_horizon_of_a_served_garch_widens(garch_served: Path) -> None:
    result = cli("predict", "G", "--horizon", "260", "--json", home=garch_served)
    assert result.exit_code == 0, result.stderr
    out = strict_json(result.stdout)
    assert out["interval_method"] == "garch_t"
    days = out["forecasts"]
    assert len(days) == 260
    for day in days:
        assert all(math.isfinite(day[k]) for k in ("low", "close", "high"))
        assert day["low"] < day["close"] < day["high"]
    widths = [day["high"] - day["low"] for day in days]
    assert all(b > a for a, b in itertools.pairwise(widths))


def edit_intervals(home: Path, **changes: Any) -> Path:
    """Change top-level keys (``params_KEY`` for a parameter) of the current bundle's
    intervals.json and reseal the bundle, as a deliberate editor would; returns the file."""
    bundle = current_bundle(home, "G")
    path = bundle / interval_choice.INTERVALS_FILE
    raw = json.loads(path.read_text())
    for key, value in changes.items():
        if key.startswith("params_"):
            raw["params"][key.removeprefix("params_")] = value
        else:
            raw[key] = value
    path.write_text(json.dumps(raw))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][interval_choice.INTERVALS_FILE] = sha256_file(path)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    reseal(bundle / "manifest.json")
    return path


@pytest.mark.parametrize(
    "changes",
    [
        {"params_omega": 1e300},  # stationary, positive: passes the record's own checks
        {"z": [-1e308, 1e308]},
        {"method": "ewma", "params": {"lambda": 0.94, "seed_variance": 1e308}},
        {"method": "har", "params": {"b0": 0.0, "b1": 5.0, "b5": 5.0, "b22": 5.0}},
    ],
    ids=["omega-1e300", "z-1e308", "ewma-seed-1e308", "har-explosive"],
)
def test_record_whose_bounds_overflow_is_a_model_error(
    garch_served: Path, tmp_path: Path, changes: dict[str, Any]
) -> None:
    """Numbers the record's checks let through but whose bounds are not finite: exit 4, one
    line naming the file, never a served infinity (nor numpy's overflow warning)."""
    home = tmp_path / "home"
    shutil.copytree(garch_served, home)
    path = edit_intervals(home, **changes)
    for json_flag in ([], ["--json"]):
        result = cli("predict", "G", "--horizon", "260", *json_flag, home=home)
        assert result.exit_code == 4, (result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {path}: ")
        assert "not finite" in lines[0]
        if json_flag:
            assert strict_json(result.stdout)["error"]["code"] == 4
        else:
            assert result.stdout == ""


# --- constant prices: what train writes, predict must read ----------------------------------


def constant_bars(n: int = 300) -> np.ndarray:
    bars = np.full((n, 5), 50.0)
    bars[:, 4] = 1e6
    return bars


@pytest.mark.parametrize("method", ["garch_t", "gjr_t", "ewma", "har"])
def test_baseline_that_cannot_serve_constant_prices_is_a_data_error(method: str) -> None:
    """Closes that never move give these baselines no variance: the fitted record would fail
    predict's own check, so fitting it fails instead, naming the method."""
    with pytest.raises(DataError, match=f"{method} intervals cannot be served for these bars"):
        interval_choice.fit_record(method, constant_bars(), 300, 0.8, "2021-01-01")


@pytest.mark.parametrize("method", ["hist50", "emp250"])
def test_baselines_that_serve_constant_prices_still_do(method: str) -> None:
    record = interval_choice.fit_record(method, constant_bars(), 300, 0.8, "2021-01-01")
    assert interval_choice.IntervalRecord.from_json(record.to_json()) == record


def test_pinned_garch_on_constant_prices_fails_training_not_predict(
    tmp_path: Path, tiny_config: Path
) -> None:
    """Before: train exit 0, then every predict exit 4 (the record it wrote fails its own
    check). After: train says why, exit 3, and saves no bundle; auto serves the network's."""
    prices = make_prices(300, seed=5)
    prices[["Open", "High", "Low", "Close"]] = 50.0
    prices.to_csv(tmp_path / "flat.csv")
    assert cli("fetch", "F", "--csv", str(tmp_path / "flat.csv")).exit_code == 0
    result = cli("train", "F", "--config", str(tiny_config), *RECURSIVE_GARCH)
    assert result.exit_code == 3, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: garch_t intervals cannot be served")
    assert cli("models", "F", "--json").exit_code == 0
    assert strict_json(cli("models", "F", "--json").stdout)["runs"] == []


def gjr_record(alpha: float, gamma: float, beta: float) -> dict[str, Any]:
    return {
        "schema": 1,
        "method": "gjr_t",
        "level": 0.8,
        "params": {"omega": 1e-6, "alpha": alpha, "gamma": gamma, "beta": beta, "nu": 6.0},
        "z": [-1.2, 1.2],
    }


def test_gjr_fitted_on_its_constraint_is_served() -> None:
    """arch meets alpha + gamma >= 0 only to its tolerance: such a fit (seen on a 600-bar
    random walk, gamma = -alpha - 1.1e-12) used to be trained, then refused by every predict
    (exit 4). Persistence exactly 1 (IGARCH) is arch's boundary too."""
    edge = interval_choice.IntervalRecord.from_json(
        gjr_record(0.11145750637622051, -0.11145750637734905, 0.57)
    )
    assert edge.params["gamma"] == -0.11145750637734905
    interval_choice.IntervalRecord.from_json(gjr_record(0.05, 0.0, 0.95))
    with pytest.raises(ValueError, match="not stationary"):
        interval_choice.IntervalRecord.from_json(gjr_record(0.1, -0.2, 0.5))
    with pytest.raises(ValueError, match="not stationary"):
        interval_choice.IntervalRecord.from_json(gjr_record(0.05, 0.0, 0.96))


def test_recursive_forecast_of_prices_times_1e_minus_300(tmp_path: Path, tiny_config: Path) -> None:
    """Before: the forecast close was floored at 1e-9 in absolute terms, so the second
    recursive step saw a jump of 290 orders of magnitude: NaN closes written as null, with
    numpy's 'invalid value' warning on stderr. The floor is now relative to the last close."""
    prices = make_prices(400, seed=7)
    prices[["Open", "High", "Low", "Close"]] *= 1e-300
    prices.to_csv(tmp_path / "small.csv")
    assert cli("fetch", "S", "--csv", str(tmp_path / "small.csv")).exit_code == 0
    recursive = ["--set", "data.strategy=recursive"]
    trained = cli("train", "S", "--config", str(tiny_config), *recursive)
    assert trained.exit_code == 0, trained.stderr
    result = cli("predict", "S", "--horizon", "260", "--json")
    assert result.exit_code == 0, result.stderr
    assert all(line.startswith("warning: S: last bar") for line in result.stderr.splitlines())
    out = strict_json(result.stdout)
    assert out["warnings"] == [result.stderr.strip().removeprefix("warning: ")]
    for day in out["forecasts"]:
        assert 0 < day["low"] < day["close"] < day["high"] < 1e-290


# --- fetch from paths that are not CSV files -------------------------------------------------


def test_fetch_from_a_folder_a_fifo_or_a_device_says_what_it_is(tmp_path: Path) -> None:
    """Before: 'CSV file not found' for a folder that is there. A FIFO is never opened
    (it would block until a writer came)."""
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path, words in (
        (tmp_path, "is a folder, not a CSV file"),
        (fifo, "is not a regular file (a pipe or a device)"),
        (Path("/dev/null"), "is not a regular file (a pipe or a device)"),
        (tmp_path / "missing.csv", "CSV file not found"),
    ):
        result = cli("fetch", "X", "--csv", str(path))
        assert result.exit_code == 2, (path, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines == [f"error: {path} {words}"] or lines == [f"error: {words}: {path}"]


# --- a read-only home -------------------------------------------------------------------------


def test_evaluate_in_a_read_only_home_says_nothing_of_matplotlib(
    garch_served: Path, tmp_path: Path
) -> None:
    """evaluate imports arch, which imports matplotlib. Before: in a read-only home, two
    lines of matplotlib's warning about its cache folder on stderr (and a temporary folder
    left behind by each run). Now the folder is pointed inside the home only if writable."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    shutil.copytree(garch_served, home)
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "KERAS_HOME")}
    env["PYTHONPATH"] = str(REPO)
    with read_only(home, tmp_path) as target:
        for command in (["predict", "G"], ["evaluate", "G"], ["models", "G"]):
            done = subprocess.run(
                [sys.executable, "-m", "rnnforecast", "--home", str(target), *command, "--json"],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert done.returncode == 0, (command, done.stderr)
            strict_json(done.stdout)
            for line in done.stderr.splitlines():
                assert line.startswith("warning: G: last bar"), (command, line)
