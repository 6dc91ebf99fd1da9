"""The baseline registry: every name a recipe may pin is one registered class, and each class's
fitted parameters survive the saved intervals record; importing it stays numpy-only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import make_prices

from rnnforecast.config import INTERVAL_METHODS
from rnnforecast.errors import UsageError
from rnnforecast.risk import interval_choice
from rnnforecast.risk.baselines import BASELINES, MIN_RETURNS, REGISTRY, lookup


def bars(n: int = 400, seed: int = 3) -> np.ndarray:
    frame = make_prices(n=n, seed=seed)
    return frame[["Open", "High", "Low", "Close", "Volume"]].to_numpy(np.float64)


def test_registry_names_are_the_recipe_baselines() -> None:
    assert tuple(REGISTRY) == BASELINES
    assert set(BASELINES) == set(INTERVAL_METHODS) - {"auto", "model"}
    assert interval_choice.METHODS == (*interval_choice.OWN, *BASELINES)
    assert interval_choice.OWN == ("model", "naive_conformal")  # the bundle's own, two names
    assert all(REGISTRY[name].name == name for name in BASELINES)
    assert MIN_RETURNS == {name: REGISTRY[name].min_returns for name in BASELINES}


def test_lookup_of_an_unknown_name_is_a_usage_error() -> None:
    assert lookup("ewma") is REGISTRY["ewma"]
    with pytest.raises(UsageError, match="unknown baseline 'model'"):
        lookup("model")


@pytest.mark.parametrize("name", BASELINES)
def test_each_baseline_round_trips_its_params_through_the_saved_record(name: str) -> None:
    baseline = REGISTRY[name]
    record = interval_choice.fit_record(name, bars(), 380, 0.8, "2021-06-01")
    assert set(baseline.params) <= set(record.params)
    assert (record.z is not None) == baseline.uses_z
    loaded = interval_choice.IntervalRecord.from_json(record.to_json())
    assert loaded == record
    baseline.check_params(loaded.params)
    # what predict rebuilds from the loaded record is what the fitted one gives
    rows = bars()[-interval_choice.SERVE_ROWS :]
    np.testing.assert_array_equal(
        interval_choice.cumulative_quantiles(loaded, rows, 3),
        interval_choice.cumulative_quantiles(record, rows, 3),
    )
    # a record missing one of the baseline's parameters is refused
    raw = record.to_json()
    del raw["params"][baseline.params[0]]
    with pytest.raises(ValueError, match=f"{name} needs params {baseline.params[0]}"):
        interval_choice.IntervalRecord.from_json(raw)


@pytest.mark.parametrize("name", BASELINES)
def test_each_baseline_gives_one_step_scales_for_every_row(name: str) -> None:
    baseline, rows = REGISTRY[name], bars()
    record = interval_choice.fit_record(name, rows, 380, 0.8, "2021-06-01")
    scales = baseline.one_step_scales(record.params, 0.8, rows)
    assert scales.shape == (len(rows),)
    assert np.all(np.isfinite(scales[baseline.serve_returns :]))
    assert np.all(scales[baseline.serve_returns :] > 0)


def test_importing_the_registry_and_serving_imports_nothing_heavy() -> None:
    probe = (
        "import sys, rnnforecast.risk.baselines.registry, rnnforecast.risk.interval_choice, "
        "rnnforecast.risk.adaptive_widths; "
        "print([m for m in ('arch', 'scipy', 'pandas', 'tensorflow') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
