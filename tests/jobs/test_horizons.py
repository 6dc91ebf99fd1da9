"""Horizons, walk-forward backtests and plots through the CLI (tiny networks)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CONFIG, cli, make_prices, trained_entry

import rnnforecast
from rnnforecast.errors import HorizonOutOfRange


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two homes over the same 260 rows: a direct 3-step model and a recursive one."""
    folder = tmp_path_factory.mktemp("horizons")
    csv, config = folder / "p.csv", folder / "tiny.toml"
    make_prices(260, seed=4).to_csv(csv)
    config.write_text(TINY_CONFIG)
    out = {"csv": csv, "config": config}
    for strategy in ("direct", "recursive"):
        home = folder / strategy
        assert cli("fetch", "H", "--csv", str(csv), home=home).exit_code == 0
        result = cli(
            "train",
            "H",
            "--config",
            str(config),
            "--set",
            "data.horizon=3",
            "--set",
            f"data.strategy={strategy}",
            "--set",
            "data.target=log_return",
            "--set",
            "data.normalise=window",
            "--json",
            home=home,
        )
        assert result.exit_code == 0, result.stderr
        out[strategy] = {"home": home, "train": trained_entry(result.stdout)}
    return out


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_evaluate_reports_every_step(homes: dict, strategy: str) -> None:
    out = json.loads(cli("evaluate", "H", "--json", home=homes[strategy]["home"]).stdout)
    assert out["horizon"] == 3
    assert [s["step"] for s in out["steps"]] == [1, 2, 3]
    for step in out["steps"]:
        assert set(step) == {"step", "model", "naive", "interval_coverage"}
    # The naive forecast gets worse with the step: prices wander further in 3 days than in 1.
    naive = [s["naive"]["mae"] for s in out["steps"]]
    assert naive[0] < naive[2]


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_predict_three_weekdays_with_widening_intervals(homes: dict, strategy: str) -> None:
    out = json.loads(cli("predict", "H", "--json", home=homes[strategy]["home"]).stdout)
    dates = [pd.Timestamp(f["date"]) for f in out["forecasts"]]
    assert len(dates) == 3
    assert all(d.weekday() < 5 for d in dates) and dates == sorted(dates)
    assert dates[0] > pd.Timestamp(out["as_of"])
    widths = [f["high"] / f["low"] for f in out["forecasts"]]
    assert widths[0] < widths[1] < widths[2]


def test_direct_model_refuses_a_longer_horizon(homes: dict) -> None:
    result = cli("predict", "H", "--horizon", "4", home=homes["direct"]["home"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --horizon must be between 1 and 3 for this direct model (trained for 3 steps)\n"
    )
    shorter = json.loads(
        cli("predict", "H", "--horizon", "2", "--json", home=homes["direct"]["home"]).stdout
    )
    assert len(shorter["forecasts"]) == 2


def test_python_callers_get_the_horizon_limit_in_the_cores_words(homes: dict) -> None:
    """No option name in the exception a Python caller sees: the CLI adds `--`."""
    with pytest.raises(HorizonOutOfRange) as info:
        rnnforecast.predict("H", horizon=4, home=homes["direct"]["home"])
    assert str(info.value) == (
        "horizon must be between 1 and 3 for this direct model (trained for 3 steps)"
    )
    assert (info.value.limit, info.value.strategy, info.value.trained) == (3, "direct", 3)


def test_recursive_model_forecasts_any_horizon(homes: dict) -> None:
    out = json.loads(
        cli("predict", "H", "--horizon", "12", "--json", home=homes["recursive"]["home"]).stdout
    )
    assert len(out["forecasts"]) == 12
    days = pd.DatetimeIndex([f["date"] for f in out["forecasts"]])
    assert (days.day_of_week < 5).all() and days.is_monotonic_increasing


def test_walk_forward_folds(homes: dict) -> None:
    home = homes["direct"]["home"]
    out = json.loads(cli("evaluate", "H", "--folds", "2", "--json", home=home).stdout)
    folds = out["folds"]
    assert len(folds) == 2
    # The folds cut the single split's test period into consecutive, disjoint periods.
    assert folds[0]["test"]["start"] == out["test"]["start"]
    assert folds[1]["test"]["end"] == out["test"]["end"]
    assert folds[0]["test"]["end"] < folds[1]["test"]["start"]
    assert folds[0]["test"]["n"] + folds[1]["test"]["n"] == out["test"]["n"]
    # Each fold trains only on what came before its test period (expanding windows).
    for fold in folds:
        assert fold["train"]["end"] < fold["test"]["start"]
        assert set(fold["model"]) == {
            "rmse",
            "mae",
            "mape",
            "rel_mae",
            "mase",
            "directional_accuracy",
            "n_no_move",
        }
    assert folds[0]["train"]["end"] < folds[1]["train"]["end"]
    aggregate = out["aggregate"]
    assert aggregate["folds"] == 2
    # ratios aggregate by geometric mean: 0.5 and 2 average to 1, not 1.25
    ratios = [f["model"]["rel_mae"] for f in folds]
    assert aggregate["model"]["rel_mae"]["geometric_mean"] == pytest.approx(
        math.sqrt(ratios[0] * ratios[1])
    )
    maes = [f["model"]["mae"] for f in folds]
    assert aggregate["model"]["mae"]["mean"] == pytest.approx(sum(maes) / 2)


def test_plot_writes_a_png(homes: dict, tmp_path: Path) -> None:
    path = tmp_path / "plots" / "h.png"
    result = cli("evaluate", "H", "--plot", str(path), home=homes["direct"]["home"])
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


def test_plot_needs_a_png_name(homes: dict, tmp_path: Path) -> None:
    result = cli("evaluate", "H", "--plot", str(tmp_path / "h.pdf"), home=homes["direct"]["home"])
    assert result.exit_code == 2
    assert "PNG" in result.stderr
