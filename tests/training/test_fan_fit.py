"""Fitting the network's price fan across tickers: a tiny global fit on simulated GARCH
tickers of different volatility covers held-out outcomes sensibly, and no bar at or after a
ticker's ``through`` row reaches the fit."""

from __future__ import annotations

import numpy as np
import pytest
from fan_bars import garch_bars

from rnnforecast.errors import DataError
from rnnforecast.forecast.fan_network import FanNetwork
from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.risk.fans.interface import interval_levels, realised_targets
from rnnforecast.training.fan_fit import fit_fan_network, ticker_windows

RECIPE = FanRecipe(lookback=30, units=8, dense_units=8, epochs=3)
ROWS, THROUGH = 600, 450


def tickers() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A calm ticker near 100 and a wild one near 20."""
    return {"CALM": garch_bars(ROWS, seed=1, daily_vol=0.01), "WILD": garch_bars(ROWS, 2, 0.03, 20)}


def absurd_after(bars: np.ndarray, first: int) -> np.ndarray:
    """``bars`` with every row from ``first`` on absurd (prices times a thousand, no volume)."""
    out = bars.copy()
    out[first:, :4] *= 1000.0
    out[first:, 1] *= 3.0
    out[first:, 4] = 0.0
    return out


@pytest.fixture(scope="module")
def fitted() -> FanNetwork:
    series = tickers()
    return fit_fan_network(series, dict.fromkeys(series, THROUGH), RECIPE, seed=11)


@pytest.mark.slow
def test_a_tiny_global_fan_covers_held_out_outcomes_sensibly(fitted: FanNetwork) -> None:
    low, high = interval_levels(0.8)
    origins = np.arange(THROUGH + 1, ROWS - 22 + 1)
    inside = []
    for bars, dates in tickers().values():
        fan = fitted.fan(bars, dates, origins, 22)
        outcome = realised_targets(bars, origins, 22)
        inside.append((outcome >= fan[..., low]) & (outcome <= fan[..., high]))
        assert np.all(np.diff(fan, axis=-1) > 0)
    coverage = float(np.mean(inside))
    assert 0.5 <= coverage <= 0.98, coverage


@pytest.mark.slow
def test_no_row_at_or_after_through_reaches_the_fit(fitted: FanNetwork) -> None:
    series = {
        name: (absurd_after(bars, THROUGH), dates) for name, (bars, dates) in tickers().items()
    }
    again = fit_fan_network(series, dict.fromkeys(series, THROUGH), RECIPE, seed=11)
    assert sorted(again.weights) == sorted(fitted.weights)
    for name, value in fitted.weights.items():
        np.testing.assert_array_equal(again.weights[name], value, err_msg=name)
    assert again.scaler == fitted.scaler


def test_the_windows_read_the_row_before_through_and_none_after() -> None:
    bars, dates = tickers()["CALM"]
    base = ticker_windows(bars, dates, THROUGH, RECIPE)
    same = ticker_windows(absurd_after(bars, THROUGH), dates, THROUGH, RECIPE)
    moved = ticker_windows(absurd_after(bars, THROUGH - 1), dates, THROUGH, RECIPE)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(same, name), getattr(base, name))
    assert not np.array_equal(moved.y_val, base.y_val)  # the last target row is through - 1
    assert (
        base.y_val.shape[1] == 22 and len(base.x_train) + len(base.x_val) + 21 == THROUGH - 30 - 22
    )


def test_fit_refuses_what_it_cannot_fit() -> None:
    series = tickers()
    with pytest.raises(DataError):
        fit_fan_network({}, {}, RECIPE, seed=1)
    with pytest.raises(DataError):
        fit_fan_network(series, {"CALM": THROUGH}, RECIPE, seed=1)
    with pytest.raises(DataError):
        fit_fan_network(series, dict.fromkeys(series, 60), RECIPE, seed=1)
