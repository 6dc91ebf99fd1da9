"""The fan network's numpy side: scale-free features without look-ahead, standardised targets
checked by hand, the non-crossing transform, the recipe, and a fan drawn from the rows before
its origin only. No TensorFlow here: the forward pass is a random linear map or the numpy one."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from fan_bars import garch_bars

from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.forecast.bar_variance import range_variance
from rnnforecast.forecast.fan_features import (
    MIN_GAP,
    N_FEATURES,
    FeatureScaler,
    ascending_quantiles,
    horizon_spread,
    normal_quantiles,
    raw_from_quantiles,
    row_features,
    standardised_targets,
    trailing_scale,
    weekday,
)
from rnnforecast.forecast.fan_network import FanNetwork
from rnnforecast.forecast.fan_recipe import FAN_LEVELS, FanRecipe
from rnnforecast.risk.fans.interface import realised_targets

Q = len(FAN_LEVELS)


def perturbed_after(bars: np.ndarray, first: int, seed: int = 9) -> np.ndarray:
    """``bars`` with every row from ``first`` on moved at random (prices stay valid)."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    out[first:, :4] *= np.exp(rng.normal(0, 0.2, (len(bars) - first, 1)))
    out[first:, 1] *= 1.05  # a wider high
    out[first:, 4] = rng.integers(0, 10**8, len(bars) - first)
    return out


def test_features_at_a_row_read_no_later_row() -> None:
    bars, dates = garch_bars(400, seed=1)
    t = 300
    before = row_features(bars, dates)
    after = row_features(perturbed_after(bars, t + 1), dates)
    np.testing.assert_array_equal(after[: t + 1], before[: t + 1])
    # and the check can see a change: moving row t itself moves row t's features
    moved = row_features(perturbed_after(bars, t), dates)
    assert not np.array_equal(moved[t], before[t])
    assert before.shape == (400, N_FEATURES) and np.all(np.isfinite(before))


def test_features_are_scale_free() -> None:
    bars, dates = garch_bars(300, seed=2)
    scaled = bars.copy()
    scaled[:, :4] *= 37.0
    np.testing.assert_allclose(row_features(scaled, dates), row_features(bars, dates), atol=1e-9)
    # a ticker three times as volatile gives features of the same spread
    calm = row_features(*garch_bars(3000, seed=3, daily_vol=0.01))[300:, 0]
    wild = row_features(*garch_bars(3000, seed=3, daily_vol=0.03))[300:, 0]
    assert abs(calm.std() / wild.std() - 1) < 0.1


def test_weekday_from_dates() -> None:
    days = np.array(["2024-01-01", "2024-01-05", "2024-01-07"], dtype="datetime64[D]")
    assert weekday(days).tolist() == [0, 4, 6]  # Monday, Friday, Sunday


def test_targets_and_scale_by_hand() -> None:
    rng = np.random.default_rng(4)
    n = 40
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    bars = np.column_stack([open_, high, low, close, np.full(n, 1e6)])
    scale = trailing_scale(bars)
    proxy = range_variance(bars)
    assert scale[29] == pytest.approx(math.sqrt(sum(proxy[8:30]) / 22), rel=1e-12)
    assert scale[5] == pytest.approx(math.sqrt(sum(proxy[:6]) / 6), rel=1e-12)
    spread = horizon_spread(bars, np.array([30, 35]), 3)
    targets = standardised_targets(bars, spread, np.array([30, 35]), 3)
    for row, o in enumerate((30, 35)):
        for h in (1, 2, 3):
            expected = math.log(close[o - 1 + h] / close[o - 1]) / (scale[o - 1] * math.sqrt(h))
            assert targets[row, h - 1] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(DataError):
        standardised_targets(bars, spread[:1], np.array([38]), 3)  # row 40 is past the last


def test_transform_ascends_strictly_and_inverts() -> None:
    rng = np.random.default_rng(5)
    raw = rng.normal(0, 30, (64, 4 * Q))
    q = ascending_quantiles(raw, Q)
    assert q.shape == (64, 4, Q)
    assert np.all(np.diff(q, axis=-1) >= MIN_GAP * 0.999)
    np.testing.assert_array_equal(q[..., Q // 2], raw.reshape(64, 4, Q)[..., Q // 2])
    start = normal_quantiles(FAN_LEVELS)
    back = ascending_quantiles(raw_from_quantiles(start)[None, :], Q)[0, 0]
    np.testing.assert_allclose(back, start, atol=1e-12)
    with pytest.raises(ValueError):
        raw_from_quantiles(np.array([0.0, 0.0, 1.0]))


def test_recipe_round_trips_and_refuses_bad_settings() -> None:
    recipe = FanRecipe(units=8, cell="lstm", learning_rate=0.01)
    assert FanRecipe.from_dict(recipe.to_dict()) == recipe
    assert FanRecipe.from_dict({}) == FanRecipe()
    # a network saved before the persistence was a setting divided by S sqrt(h): it still does
    assert FanRecipe.from_dict({"units": 8}).persistence == 1.0
    bads = ({"horizons": 23}, {"cell": "rnn"}, {"colour": 1}, {"units": "8"})
    for bad in (*bads, {"persistence": 0.0}, {"persistence": 1.01}, {"persistence": "nan"}):
        with pytest.raises(UsageError):
            FanRecipe.from_dict(bad)
    config = recipe.network_config(N_FEATURES)
    assert (config.data.window, config.data.horizon, config.model.units) == (50, 22 * Q, 8)


def test_horizon_spread_returns_to_the_long_volatility_at_its_persistence() -> None:
    bars, _ = garch_bars(600, seed=4, daily_vol=0.02)
    bars[400:, :4] *= np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.03, 200)))[:, None]
    origins = np.array([300, 450, 600])
    short = trailing_scale(bars)[origins - 1]
    long = np.array([np.mean(range_variance(bars)[o - 250 : o]) for o in origins])
    h = np.arange(1, 23)
    np.testing.assert_array_equal(
        horizon_spread(bars, origins, 22), short[:, None] * np.sqrt(h)[None, :]
    )
    for rate in (0.98, 0.5):
        spread = horizon_spread(bars, origins, 22, rate)
        decay = np.array([sum(rate**k for k in range(1, j + 1)) for j in h])
        expected = np.sqrt(long[:, None] * h + (short**2 - long)[:, None] * decay)
        np.testing.assert_allclose(spread, expected, rtol=1e-12)
    # a month ahead the spread per session lies between the short and the long volatility,
    # nearer the long one the faster it returns
    month = horizon_spread(bars, origins, 22, 0.5)[:, -1] / math.sqrt(22)
    low, high = np.minimum(short, np.sqrt(long)), np.maximum(short, np.sqrt(long))
    assert np.all((low <= month) & (month <= high))
    assert np.all(np.abs(month - np.sqrt(long)) < np.abs(short - np.sqrt(long)))


def linear_network(recipe: FanRecipe, seed: int = 0) -> FanNetwork:
    """A fan network whose forward pass is a random linear map of the whole window."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 0.05, (recipe.lookback * N_FEATURES, recipe.outputs))

    def network(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = x.reshape(len(x), -1).astype(np.float64) @ weight
        return out

    scaler = FeatureScaler((0.0,) * N_FEATURES, (1.0,) * N_FEATURES)
    return FanNetwork(network, {}, recipe, scaler)


def test_fan_reads_only_rows_before_its_origin() -> None:
    bars, dates = garch_bars(300, seed=6)
    net = linear_network(FanRecipe(lookback=30))
    o = 200
    fan = net.fan(bars, dates, np.array([o]), 22)
    np.testing.assert_array_equal(net.fan(perturbed_after(bars, o), dates, np.array([o]), 22), fan)
    assert not np.array_equal(net.fan(perturbed_after(bars, o - 1), dates, np.array([o]), 22), fan)
    assert fan.shape == (1, 22, Q) and np.all(np.diff(fan, axis=-1) > 0)


def test_fan_is_in_log_return_units_of_the_origin() -> None:
    bars, dates = garch_bars(300, seed=7)
    recipe = FanRecipe(lookback=30, horizons=5)
    net = linear_network(recipe)
    origins = np.array([100, 250, 300])  # 300: the session after the last bar
    fan = net.fan(bars, dates, origins, 3)
    z = net.standardised(row_features(bars, dates), origins)[:, :3]
    spread = trailing_scale(bars)[origins - 1][:, None] * np.sqrt([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fan, z * spread[:, :, None], rtol=1e-12)
    assert np.isnan(realised_targets(bars, origins, 3)[2]).all()
    with pytest.raises(UsageError):
        net.fan(bars, dates, origins, 6)
    with pytest.raises(DataError):
        net.fan(bars, dates, np.array([30]), 3)  # the window would read row 0


def test_files_refuse_what_is_not_a_fan_network() -> None:
    with pytest.raises(ModelError):
        FanNetwork.from_files({"fan_network.json": b"{}"}, lambda w, r: lambda x: x)
    net = linear_network(FanRecipe(lookback=30))
    files = dict(net.to_files())
    files["fan_weights.npz"] = b"not a zip"
    with pytest.raises(ModelError):
        FanNetwork.from_files(files, lambda w, r: lambda x: x)


def test_serving_a_fan_imports_neither_tensorflow_nor_pandas() -> None:
    probe = (
        "import sys, rnnforecast.forecast.fan_network, rnnforecast.nn.fan_forward\n"
        "print([m for m in ('tensorflow', 'keras', 'pandas', 'scipy') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
