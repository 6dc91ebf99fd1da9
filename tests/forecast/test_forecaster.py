"""From network outputs to calibrated price forecasts: decoding, the recursive strategy,
shrinkage toward the naive forecast, conformal intervals. No TensorFlow: the networks here
are plain numpy callables."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import canonical, random_walk, recipe

from rnnforecast.config import BASE_FEATURES, DERIVED_FEATURES, DataConfig
from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.calibration import (
    Calibration,
    Forecasts,
    Network,
    fit_calibration,
    raw_forecast,
    shrink_forecast,
    volatility,
)
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import (
    MinMaxScaler,
    Scalers,
    base_matrix,
    build_dataset,
    fit_scalers,
    latest_base,
)

DERIVED = DERIVED_FEATURES


def forecast(
    network: Network,
    base: np.ndarray,
    data: DataConfig,
    scalers: Scalers,
    cal: Calibration,
    steps: int,
) -> Forecasts:
    """Calibrated forecasts of ``network`` with ``scalers`` and ``cal``, as a FittedModel."""
    return FittedModel(network, scalers, cal, data).forecast(base, steps)


def scalers_for(data: DataConfig, target: MinMaxScaler) -> Scalers:
    """Feature scaler fitted on some real windows, the given target scaler."""
    ds = build_dataset(canonical(200), data)
    return Scalers(fit_scalers(ds, data).features, target)


class Constant:
    """A network that always answers ``value`` (scaled units) and counts its calls."""

    def __init__(self, value: float, outputs: int) -> None:
        self.value, self.outputs, self.inputs = value, outputs, []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(np.array(x))
        return np.full((len(x), self.outputs), self.value, dtype=np.float32)


# target scaler (-1, 1): scaled 0.5 is 0, scaled (r + 1) / 2 is r
SYMMETRIC = MinMaxScaler((-1.0,), (1.0,))


# --- raw_forecast: direct ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "normalise"), [("close", "global"), ("close", "window"), ("log_return", "global")]
)
def test_direct_constant_output_decodes_to_prices(target: str, normalise: str) -> None:
    data = recipe(window=10, horizon=3, target=target, normalise=normalise)
    ds = build_dataset(canonical(80), data)
    lo, hi = (50.0, 150.0) if (target, normalise) == ("close", "global") else (-0.2, 0.2)
    scalers = scalers_for(data, MinMaxScaler((lo,), (hi,)))
    network = Constant(0.25, data.outputs)
    raw = raw_forecast(network, ds.base, data, scalers, 3)
    assert raw.shape == (len(ds), 3)
    assert len(network.inputs) == 1  # one call for every window and step
    assert network.inputs[0].shape == (len(ds), 10, 5)
    assert network.inputs[0].dtype == np.float32
    value = lo + 0.25 * (hi - lo)
    if target == "log_return":
        expected = ds.last_close * math.exp(value)
    elif normalise == "window":
        expected = ds.base[:, -10, 3] * (1 + value)
    else:
        expected = np.full(len(ds), value)
    np.testing.assert_allclose(raw, np.repeat(expected[:, None], 3, axis=1), rtol=1e-12)
    # fewer steps: the first ones
    np.testing.assert_allclose(raw_forecast(network, ds.base, data, scalers, 2), raw[:, :2])


def test_direct_more_steps_than_horizon() -> None:
    data = recipe(window=10, horizon=3)
    ds = build_dataset(canonical(80), data)
    scalers = scalers_for(data, SYMMETRIC)
    with pytest.raises(ModelError, match="3 steps, not 4"):
        raw_forecast(Constant(0.5, 3), ds.base, data, scalers, 4)


def test_direct_passes_the_scaled_features() -> None:
    data = recipe(window=10, features=("close", "log_return"), target="log_return")
    ds = build_dataset(canonical(80), data)
    scalers = scalers_for(data, SYMMETRIC)
    network = Constant(0.5, 1)
    raw_forecast(network, ds.base, data, scalers, 1)
    np.testing.assert_allclose(
        network.inputs[0], scalers.features.transform(ds.features), rtol=1e-6, atol=1e-6
    )


# --- raw_forecast: recursive --------------------------------------------------------------


RECURSIVE = recipe(
    window=10,
    horizon=3,
    features=(*BASE_FEATURES, *DERIVED),
    target="log_return",
    strategy="recursive",
)


@pytest.mark.parametrize("steps", [1, 3, 7, 40])
def test_recursive_zero_return_is_flat(steps: int) -> None:
    ds = build_dataset(canonical(80), RECURSIVE)
    scalers = scalers_for(RECURSIVE, SYMMETRIC)
    network = Constant(0.5, 1)  # decodes to log return 0
    raw = raw_forecast(network, ds.base, RECURSIVE, scalers, steps)
    assert raw.shape == (len(ds), steps)
    assert len(network.inputs) == steps
    np.testing.assert_allclose(raw, np.repeat(ds.last_close[:, None], steps, axis=1), rtol=1e-12)


@pytest.mark.parametrize("steps", [1, 5, 12])
def test_recursive_constant_return_compounds(steps: int) -> None:
    r = 0.25  # (r + 1) / 2 = 0.625 is exact in float32
    ds = build_dataset(canonical(80), RECURSIVE)
    scalers = scalers_for(RECURSIVE, SYMMETRIC)
    raw = raw_forecast(Constant((r + 1) / 2, 1), ds.base, RECURSIVE, scalers, steps)
    k = np.arange(1, steps + 1)
    np.testing.assert_allclose(raw, ds.last_close[:, None] * np.exp(r * k)[None, :], rtol=1e-12)


def test_recursive_feeds_the_forecast_close_back() -> None:
    data = recipe(window=6, horizon=2, strategy="recursive")  # OHLCV, close target
    ds = build_dataset(canonical(60), data).select(slice(0, 4))
    scalers = Scalers(
        MinMaxScaler((0.0,) * 5, (1000.0,) * 4 + (1e7,)), MinMaxScaler((0.0,), (1000.0,))
    )
    outputs = iter([0.1, 0.12, 0.08, 0.2])  # closes 100, 120, 80, 200

    seen = []

    def network(x: np.ndarray) -> np.ndarray:
        seen.append(scalers.features.inverse(x))
        return np.full((len(x), 1), next(outputs), dtype=np.float32)

    raw = raw_forecast(network, ds.base, data, scalers, 4)
    expected = np.array([100.0, 120.0, 80.0, 200.0])
    np.testing.assert_allclose(raw, np.repeat(expected[None, :], 4, axis=0), rtol=1e-6)
    assert len(seen) == 4
    np.testing.assert_allclose(seen[0], ds.base, rtol=1e-6)  # first call: the real window
    last_volume = ds.base[:, -1, 4]
    for call in range(1, 4):
        # the window moved on by one row: the oldest row dropped ...
        np.testing.assert_allclose(seen[call][:, :-1], seen[call - 1][:, 1:], rtol=1e-6)
        # ... and the newest row is the forecast day: OHLC = forecast close, last volume
        newest = seen[call][:, -1]
        np.testing.assert_allclose(newest[:, :4], expected[call - 1], rtol=1e-6)
        np.testing.assert_allclose(newest[:, 4], last_volume, rtol=1e-6)


def test_recursive_derived_features_follow_the_forecast() -> None:
    """A 'momentum' network repeats the last input log return: the forecast must keep
    compounding the window's last real return, which only happens if each forecast close
    becomes the next input's log return."""
    data = recipe(
        window=5, horizon=1, features=("log_return",), target="log_return", strategy="recursive"
    )
    ds = build_dataset(canonical(60), data)
    same = MinMaxScaler((-0.1,), (0.1,))
    scalers = Scalers(same, same)

    def momentum(x: np.ndarray) -> np.ndarray:
        return x[:, -1, :1]

    raw = raw_forecast(momentum, ds.base, data, scalers, 6)
    close = ds.base[:, :, 3]
    last_return = np.log(close[:, -1] / close[:, -2])
    k = np.arange(1, 7)
    expected = ds.last_close[:, None] * np.exp(last_return[:, None] * k[None, :])
    np.testing.assert_allclose(raw, expected, rtol=1e-5)


def test_recursive_window_normalised_close_target() -> None:
    """Under window normalisation the target is relative to the first input close, which
    moves as the recursion rolls the window: 'same as the last close' must stay flat."""
    data = recipe(window=5, horizon=1, normalise="window", strategy="recursive")
    ds = build_dataset(canonical(60), data)
    scalers = scalers_for(data, MinMaxScaler((-1.0,), (1.0,)))

    def same_as_last(x: np.ndarray) -> np.ndarray:
        # inputs are scaled closes / c0 - 1; undo the scaling and answer last / c0 - 1
        unscaled = scalers.features.inverse(x)
        return scalers.target.transform(unscaled[:, -1, 3:4]).astype(np.float32)

    raw = raw_forecast(same_as_last, ds.base, data, scalers, 8)
    np.testing.assert_allclose(raw, np.repeat(ds.last_close[:, None], 8, axis=1), rtol=1e-6)


# --- shrink_forecast ------------------------------------------------------------------------


def test_shrink_forecast() -> None:
    last = np.array([100.0, 50.0])
    raw = np.array([[110.0, 121.0], [40.0, 60.0]])
    np.testing.assert_allclose(shrink_forecast(raw, last, np.zeros(2)), [[100, 100], [50, 50]])
    np.testing.assert_allclose(shrink_forecast(raw, last, np.ones(2)), raw, rtol=1e-12)
    np.testing.assert_allclose(
        shrink_forecast(raw, last, np.full(2, 0.5)), np.sqrt(raw * last[:, None]), rtol=1e-12
    )
    # per step
    np.testing.assert_allclose(
        shrink_forecast(raw, last, np.array([0.0, 1.0])), [[100, 121], [50, 60]], rtol=1e-12
    )


# --- fit_calibration ------------------------------------------------------------------------


def test_calibration_of_an_oracle() -> None:
    data = recipe(window=10, horizon=3)
    ds = build_dataset(canonical(300), data)
    cal = fit_calibration(ds.actual.copy(), ds.actual, ds.base, data.window, 0.8)
    assert cal.shrink == (1.0, 1.0, 1.0)
    assert max(cal.halfwidth) < 1e-9
    assert cal.level == 0.8
    assert cal.raw_val_rel_mae == (0.0, 0.0, 0.0)


def test_calibration_of_noise_falls_back_to_naive() -> None:
    data = recipe(window=10, horizon=2)
    ds = build_dataset(canonical(3000, seed=1), data)
    rng = np.random.default_rng(5)
    raw = ds.last_close[:, None] * np.exp(rng.normal(0, 0.02, ds.actual.shape))
    cal = fit_calibration(raw, ds.actual, ds.base, data.window, 0.8)
    assert all(s <= 0.1 for s in cal.shrink), cal.shrink
    assert all(m > 1 for m in cal.raw_val_rel_mae)  # the noise is worse than naive
    # without shrinkage the factor stays 1 and the intervals are wider
    plain = fit_calibration(raw, ds.actual, ds.base, data.window, 0.8, shrink=False)
    assert plain.shrink == (1.0, 1.0)
    assert all(p > c for p, c in zip(plain.halfwidth, cal.halfwidth, strict=True))
    assert plain.raw_val_rel_mae == cal.raw_val_rel_mae


def test_calibration_keeps_no_move_that_validation_cannot_tell_from_luck() -> None:
    """Pure noise often lowers the validation MAE a little for some factor above 0 (half of
    the draws here); the one-sided Diebold-Mariano test at 5% sends such factors back to 0
    except about once in twenty, and each decision follows the recorded p-value. With
    ``significance=1`` the lucky factor stays."""
    data = recipe(window=10, horizon=1)
    ds = build_dataset(canonical(400, seed=3), data)
    naive = fit_calibration(ds.last_close[:, None], ds.actual, ds.base, data.window, 0.8)
    lucky = kept = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        raw = ds.last_close[:, None] * np.exp(rng.normal(0, 0.01, ds.actual.shape))
        ungated = fit_calibration(raw, ds.actual, ds.base, data.window, 0.8, significance=1.0)
        gated = fit_calibration(raw, ds.actual, ds.base, data.window, 0.8, significance=0.05)
        assert ungated.shrink_p_value == gated.shrink_p_value
        if ungated.shrink[0] == 0:
            assert gated.shrink == (0.0,)
            continue
        lucky += 1
        p_value = gated.shrink_p_value[0]
        assert p_value is not None
        if p_value < 0.05:
            kept += 1
            assert gated.shrink == ungated.shrink
        else:
            assert gated.shrink == (0.0,)
            # the intervals are those of the forecast actually served: naive
            assert gated.halfwidth == naive.halfwidth
    assert lucky >= 10 and kept <= 2, (lucky, kept)


def test_calibration_of_a_useful_but_overconfident_forecast() -> None:
    """Half the real move is known: shrinkage keeps it (a factor well above 0)."""
    data = recipe(window=10, horizon=1)
    ds = build_dataset(canonical(2000, seed=2), data)
    move = np.log(ds.actual[:, 0] / ds.last_close)
    rng = np.random.default_rng(9)
    raw = ds.last_close * np.exp(move + rng.normal(0, 0.5 * move.std(), len(move)))
    cal = fit_calibration(raw[:, None], ds.actual, ds.base, data.window, 0.8)
    assert 0.5 < cal.shrink[0] <= 1.0
    assert cal.raw_val_rel_mae[0] < 1
    assert cal.shrink_p_value[0] < 1e-6  # far beyond luck: kept at the default significance


def naive_network(data: DataConfig) -> Constant:
    """Decodes to log return 0 at every step under the SYMMETRIC target scaler."""
    return Constant(0.5, data.outputs)


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_intervals_cover_the_level_on_unseen_windows(strategy: str) -> None:
    data = recipe(window=20, horizon=1, features=("close",), target="log_return", strategy=strategy)
    ds = build_dataset(random_walk(4000, 0.01, seed=11), data)
    scalers = Scalers(MinMaxScaler((50.0,), (200.0,)), SYMMETRIC)
    network = naive_network(data)
    half = len(ds) // 2
    fit, held = ds.select(slice(0, half)), ds.select(slice(half, None))
    raw = raw_forecast(network, fit.base, data, scalers, 1)
    np.testing.assert_allclose(raw[:, 0], fit.last_close, rtol=1e-12)
    cal = fit_calibration(raw, fit.actual, fit.base, data.window, 0.8)
    result = forecast(network, held.base, data, scalers, cal, 1)
    inside = (held.actual >= result.low) & (held.actual <= result.high)
    assert inside.mean() == pytest.approx(0.8, abs=0.05)
    # on the fitting half conformal coverage is at least the level
    mine = forecast(network, fit.base, data, scalers, cal, 1)
    assert ((fit.actual >= mine.low) & (fit.actual <= mine.high)).mean() >= 0.8


def test_intervals_widen_with_the_step_for_a_random_walk() -> None:
    data = recipe(window=20, horizon=5, features=("close",), target="log_return")
    ds = build_dataset(random_walk(4000, 0.01, seed=12), data)
    scalers = Scalers(MinMaxScaler((50.0,), (200.0,)), SYMMETRIC)
    network = naive_network(data)
    half = len(ds) // 2
    fit, held = ds.select(slice(0, half)), ds.select(slice(half, None))
    cal = fit_calibration(
        raw_forecast(network, fit.base, data, scalers, 5), fit.actual, fit.base, data.window, 0.8
    )
    # normalised by sqrt(step) the widths are about equal (a random walk) ...
    assert max(cal.halfwidth) / min(cal.halfwidth) < 1.25
    result = forecast(network, held.base, data, scalers, cal, 5)
    width = np.log(result.high / result.low).mean(axis=0)
    # ... so the intervals themselves grow with the step, like sqrt(step)
    assert np.all(np.diff(width) > 0)
    assert width[4] / width[0] == pytest.approx(math.sqrt(5), rel=0.25)
    coverage = ((held.actual >= result.low) & (held.actual <= result.high)).mean(axis=0)
    np.testing.assert_allclose(coverage, 0.8, atol=0.05)


def test_conformal_quantile_is_at_least_the_level() -> None:
    """A perfect volatility scale: the widths are quantiles of the plain |residual|."""
    data = recipe(window=5, horizon=1)
    ds = build_dataset(canonical(500), data)
    cal = fit_calibration(ds.last_close[:, None], ds.actual, ds.base, data.window, 0.9)
    scale = volatility(ds.base, data.window, 1)[:, 0]
    scores = np.abs(np.log(ds.actual[:, 0] / ds.last_close)) / scale
    assert np.mean(scores <= cal.halfwidth[0]) >= 0.9
    assert cal.halfwidth[0] in scores  # an observed score, not an interpolation


@pytest.mark.parametrize(("n", "level"), [(9, 0.8), (4, 0.5), (50, 0.8)])
def test_conformal_width_is_the_kth_smallest_score(n: int, level: float) -> None:
    data = recipe(window=5, horizon=1)
    ds = build_dataset(canonical(200), data).select(slice(0, n))
    cal = fit_calibration(ds.last_close[:, None], ds.actual, ds.base, data.window, level)
    scale = volatility(ds.base, data.window, 1)[:, 0]
    scores = np.sort(np.abs(np.log(ds.actual[:, 0] / ds.last_close)) / scale)
    k = math.ceil((n + 1) * level)
    assert cal.halfwidth[0] == pytest.approx(scores[k - 1], rel=1e-12)


@pytest.mark.parametrize(("n", "level", "most"), [(9, 0.95, "0.9000"), (3, 0.8, "0.7500")])
def test_conformal_rank_beyond_the_windows_is_an_error(n: int, level: float, most: str) -> None:
    """ceil((n + 1) * level) > n: no observed score bounds a new one at that level; the
    error names the highest level n windows support, n / (n + 1), instead of capping."""
    data = recipe(window=5, horizon=1)
    ds = build_dataset(canonical(200), data).select(slice(0, n))
    with pytest.raises(DataError, match=f"{n} calibration windows .* at most {most} "):
        fit_calibration(ds.last_close[:, None], ds.actual, ds.base, data.window, level)
    # at exactly n / (n + 1) the rank is n: the largest score
    cal = fit_calibration(ds.last_close[:, None], ds.actual, ds.base, data.window, n / (n + 1))
    scale = volatility(ds.base, data.window, 1)[:, 0]
    assert cal.halfwidth[0] == pytest.approx(
        np.max(np.abs(np.log(ds.actual[:, 0] / ds.last_close)) / scale), rel=1e-12
    )


# --- Calibration ----------------------------------------------------------------------------


def test_calibration_round_trip() -> None:
    cal = Calibration((0.5, 0.25), (1.5, 2.0), 0.8, (0.97, 1.02), (0.001, None))
    raw = json.loads(json.dumps(cal.to_dict()))
    assert raw == {
        "shrink": [0.5, 0.25],
        "halfwidth": [1.5, 2.0],
        "level": 0.8,
        "raw_val_rel_mae": [0.97, 1.02],
        "shrink_p_value": [0.001, None],
        "adaptive": None,
    }
    assert Calibration.from_dict(raw) == cal
    # raw_val_rel_mae, shrink_p_value and adaptive are optional (bundles saved before they
    # existed): such a bundle keeps its fixed validation widths
    del raw["raw_val_rel_mae"], raw["shrink_p_value"], raw["adaptive"]
    assert Calibration.from_dict(raw) == Calibration((0.5, 0.25), (1.5, 2.0), 0.8)
    # manifests written before the rename call the ratio raw_val_mase
    raw["raw_val_mase"] = [0.97, 1.02]
    assert Calibration.from_dict(raw).raw_val_rel_mae == (0.97, 1.02)


def test_fitted_calibration_round_trip() -> None:
    data = recipe(window=10, horizon=2)
    ds = build_dataset(canonical(300), data)
    cal = fit_calibration(ds.actual * 1.01, ds.actual, ds.base, data.window, 0.7)
    assert Calibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"shrink": [1.0], "halfwidth": [1.0]},
        {"shrink": [1.0], "level": 0.8},
        {"halfwidth": [1.0], "level": 0.8},
        {"shrink": None, "halfwidth": [1.0], "level": 0.8},
        {"shrink": 1.0, "halfwidth": [1.0], "level": 0.8},
        {"shrink": ["x"], "halfwidth": [1.0], "level": 0.8},
        {"shrink": [1.0], "halfwidth": [1.0], "level": "high"},
        {"shrink": [1.0], "halfwidth": [1.0], "level": None},
        {"shrink": [1.0], "halfwidth": [1.0], "level": 0.8, "raw_val_rel_mae": 3},
        {"shrink": [1.0], "halfwidth": [1.0], "level": 0.8, "adaptive": 250},
        {"shrink": [1.0], "halfwidth": [1.0], "level": 0.8, "adaptive": {"window": 250}},
        {
            "shrink": [1.0],
            "halfwidth": [1.0],
            "level": 0.8,
            "adaptive": {"window": 0, "gamma": 0.01, "warmup": 10},
        },
        None,
        [],
        "shrink",
    ],
)
def test_calibration_malformed(raw) -> None:
    with pytest.raises(ModelError, match="malformed"):
        Calibration.from_dict(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {"shrink": [], "halfwidth": [], "level": 0.8},
        {"shrink": [1.0], "halfwidth": [], "level": 0.8},
        {"shrink": [], "halfwidth": [1.0], "level": 0.8},
    ],
    ids=["empty", "no-widths", "no-shrink"],
)
def test_calibration_lengths_must_match(raw) -> None:
    # today it loads, and the first forecast dies in step_values with an IndexError
    with pytest.raises(ModelError, match="malformed"):
        Calibration.from_dict(raw)


def test_step_values_beyond_the_horizon_repeat_the_last() -> None:
    cal = Calibration((0.5, 0.7), (1.0, 2.0), 0.8)
    shrink, width = cal.step_values(4)
    np.testing.assert_array_equal(shrink, [0.5, 0.7, 0.7, 0.7])
    np.testing.assert_array_equal(width, [1.0, 2.0, 2.0, 2.0])
    shrink, width = cal.step_values(1)
    np.testing.assert_array_equal(shrink, [0.5])
    np.testing.assert_array_equal(width, [1.0])


# --- volatility -----------------------------------------------------------------------------


def test_volatility_shape_and_sqrt_growth() -> None:
    a = 0.02
    returns = np.tile([a, -a], 10)  # std of the returns is exactly a
    closes = 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))  # 21 closes
    base = np.zeros((2, 21, 5))
    base[0, :, 3] = closes
    base[1, :, 3] = 50.0  # constant: no volatility at all
    v = volatility(base, 21, 4)
    assert v.shape == (2, 4)
    np.testing.assert_allclose(v[0], a * np.sqrt([1, 2, 3, 4]), rtol=1e-9)
    assert np.all(v[1] > 0)  # never zero: widths are divided by it
    np.testing.assert_allclose(v[1] / v[1, 0], np.sqrt([1, 2, 3, 4]))


def test_volatility_reads_only_the_last_window_closes() -> None:
    rng = np.random.default_rng(0)
    base = np.zeros((3, 12, 5))
    base[:, :, 3] = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (3, 12)), axis=1))
    before = volatility(base, 10, 2)
    base[:, :2, 3] *= 3.0  # outside the last 10 closes
    np.testing.assert_array_equal(volatility(base, 10, 2), before)
    expected = np.std(np.diff(np.log(base[:, -10:, 3]), axis=1), axis=1)
    np.testing.assert_allclose(before[:, 0], expected, rtol=1e-12)


# --- forecast -------------------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "steps"), [("direct", 3), ("recursive", 3), ("recursive", 8)])
def test_forecast_bounds_and_parts(strategy: str, steps: int) -> None:
    data = recipe(
        window=10,
        horizon=3,
        features=(*BASE_FEATURES, *DERIVED),
        target="log_return",
        strategy=strategy,
    )
    ds = build_dataset(canonical(200), data)
    scalers = scalers_for(data, MinMaxScaler((-0.05,), (0.05,)))
    rng = np.random.default_rng(1)

    def network(x: np.ndarray) -> np.ndarray:
        return rng.uniform(0, 1, (len(x), data.outputs)).astype(np.float32)

    cal = Calibration((0.5, 0.3, 0.0), (1.0, 1.5, 2.0), 0.8)
    result = forecast(network, ds.base, data, scalers, cal, steps)
    assert isinstance(result, Forecasts)
    for part in (result.raw, result.point, result.low, result.high):
        assert part.shape == (len(ds), steps)
        assert np.all(np.isfinite(part)) and np.all(part > 0)
    assert np.all(result.low <= result.point)
    assert np.all(result.point <= result.high)
    assert np.all(result.low < result.high)
    shrink, width = cal.step_values(steps)
    np.testing.assert_allclose(
        result.point, shrink_forecast(result.raw, ds.last_close, shrink), rtol=1e-12
    )
    # step 3 and later are shrunk all the way: the naive forecast
    naive = np.broadcast_to(ds.last_close[:, None], (len(ds), steps - 2))
    np.testing.assert_allclose(result.point[:, 2:], naive, rtol=1e-12)
    spread = width[None, :] * volatility(ds.base, data.window, steps)
    np.testing.assert_allclose(np.log(result.high / result.point), spread, rtol=1e-9)
    np.testing.assert_allclose(np.log(result.point / result.low), spread, rtol=1e-9)


def test_forecast_of_one_latest_window() -> None:
    data = recipe(window=10, horizon=2, target="log_return")
    frame = canonical(100)
    base = latest_base(base_matrix(frame), data)
    scalers = scalers_for(data, SYMMETRIC)
    cal = Calibration((1.0, 1.0), (1.0, 1.0), 0.8)
    result = forecast(Constant(0.5, 2), base, data, scalers, cal, 2)
    assert result.point.shape == (1, 2)
    np.testing.assert_allclose(result.point, frame["close"].iloc[-1], rtol=1e-12)


def test_shrink_gate_p_value_is_one_sided_dm_hln_with_step_lags() -> None:
    """The gate's p-value for step 3 on 12 days uses max(3 - 1, floor(4 (12/100)^(2/9))) = 2
    Newey-West lags (weights 2/3, 1/3: R's dm.test(e1, e2, "less", h = 3, power = 1,
    varestimator = "bartlett")), written out here; with R's default equal weights it would
    be 0.0010783212443414749 (R 4.2.2, forecast 8.20)."""
    from scipy.stats import t as student

    from rnnforecast.forecast.calibration import _edge_p_value
    from rnnforecast.metrics.accuracy import diebold_mariano

    e1 = np.array([0.5, -1.2, 0.3, 2.1, -0.7, 0.9, -1.5, 0.4, 1.1, -0.2, 0.8, -0.6])
    e2 = np.array([1.0, -1.5, 0.9, 2.4, -1.1, 0.2, -2.0, 1.3, 1.6, -0.9, 0.5, -1.4])
    d = np.abs(e1) - np.abs(e2)
    n, h, c = 12, 3, d - d.mean()
    gamma = [float(np.dot(c[j:], c[: n - j])) / n for j in range(3)]
    long_run = gamma[0] + 2 * (2 / 3 * gamma[1] + 1 / 3 * gamma[2])
    statistic = d.mean() / np.sqrt(long_run / n) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert _edge_p_value(e1, e2, 3) == pytest.approx(student.cdf(statistic, n - 1), rel=1e-9)
    acf = diebold_mariano(np.abs(e1), np.abs(e2), 3, "less", kernel="acf")[1]
    assert acf == pytest.approx(0.0010783212443414749, rel=1e-9)
    assert _edge_p_value(e1, e1, 3) is None
