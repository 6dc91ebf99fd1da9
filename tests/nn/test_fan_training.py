"""The fan network's Keras side: the non-crossing transform equals the numpy one, the pinball
loss by hand, and a tiny trained network served in numpy (equal to Keras, saved and read back
exactly)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from fan_bars import garch_bars

from rnnforecast.errors import ModelError
from rnnforecast.forecast import fan_features
from rnnforecast.forecast.fan_features import FeatureScaler, standardised_targets
from rnnforecast.forecast.fan_network import FanNetwork
from rnnforecast.forecast.fan_recipe import FAN_LEVELS, FanRecipe
from rnnforecast.nn.fan_forward import fan_forward, load_fan_network
from rnnforecast.nn.fan_training import (
    FanTraining,
    ascending_quantiles,
    pinball_loss,
    train_fan_model,
)

Q = len(FAN_LEVELS)
RECIPE = FanRecipe(lookback=20, horizons=5, units=6, dense_units=6, epochs=2, cell="lstm")


def test_the_transform_is_the_same_in_numpy_and_keras() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 3, (50, 7 * Q)).astype("float32")
    in_keras = keras.ops.convert_to_numpy(ascending_quantiles(raw, Q))
    in_numpy = fan_features.ascending_quantiles(raw, Q)
    np.testing.assert_allclose(in_keras, in_numpy, atol=1e-5, rtol=0)
    assert np.all(np.diff(in_keras, axis=-1) > 0)


def test_pinball_loss_by_hand() -> None:
    rng = np.random.default_rng(2)
    raw = rng.normal(0, 1, (8, 3 * Q)).astype("float32")
    y = rng.standard_t(4, (8, 3)).astype("float32")
    q = fan_features.ascending_quantiles(raw, Q)
    tau = np.array(FAN_LEVELS)
    u = y[:, :, None] - q
    expected = np.where(u >= 0, tau * u, (tau - 1) * u).mean(axis=(1, 2))
    got = keras.ops.convert_to_numpy(pinball_loss()(y, raw))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.fixture(scope="module")
def trained() -> tuple[FanTraining, FeatureScaler, np.ndarray, np.ndarray]:
    """A tiny LSTM fan network trained for two epochs on one simulated ticker, its scaler,
    and the bars and dates it came from."""
    bars, dates = garch_bars(300, seed=3)
    features = fan_features.row_features(bars, dates)
    origins = np.arange(fan_features.first_origin(RECIPE.lookback), 300 - RECIPE.horizons + 1)
    x = fan_features.origin_windows(features, origins, RECIPE.lookback)
    spread = fan_features.horizon_spread(bars, origins, RECIPE.horizons)
    y = standardised_targets(bars, spread, origins, RECIPE.horizons)
    scaler = FeatureScaler.fit(x[:200].reshape(-1, x.shape[-1]))
    inputs = scaler.transform(x)
    training = train_fan_model(inputs[:200], y[:200], inputs[200:], y[200:], RECIPE, seed=5)
    return training, scaler, bars, dates


@pytest.mark.slow
def test_the_numpy_fan_is_the_keras_network_after_the_transform(trained: tuple) -> None:
    training, scaler, bars, dates = trained
    net = FanNetwork(fan_forward(training.weights, RECIPE), training.weights, RECIPE, scaler)
    origins = np.arange(100, 301, 7)
    fan = net.fan(bars, dates, origins, RECIPE.horizons)
    windows = fan_features.origin_windows(
        fan_features.row_features(bars, dates), origins, RECIPE.lookback
    )
    raw = training.model.predict(scaler.transform(windows), verbose=0)
    z = keras.ops.convert_to_numpy(ascending_quantiles(raw, Q))
    scale = fan_features.trailing_scale(bars)[origins - 1]
    spread = scale[:, None] * np.sqrt(np.arange(1, RECIPE.horizons + 1))
    # standardised units (the network's), where 1e-5 is a meaningful bound
    np.testing.assert_allclose(fan / spread[:, :, None], z, atol=1e-5, rtol=0)
    assert np.all(np.diff(fan, axis=-1) > 0)


@pytest.mark.slow
def test_files_give_back_the_same_fans(trained: tuple) -> None:
    training, scaler, bars, dates = trained
    net = FanNetwork(fan_forward(training.weights, RECIPE), training.weights, RECIPE, scaler)
    files = net.to_files()
    assert sorted(files) == ["fan_network.json", "fan_weights.npz"]
    again = load_fan_network(files)
    origins = np.arange(50, 301)
    np.testing.assert_array_equal(
        again.fan(bars, dates, origins, 5), net.fan(bars, dates, origins, 5)
    )
    assert again.recipe == RECIPE and again.scaler == scaler
    assert again.to_files() == files
    wrong = dict(training.weights)
    wrong.pop("forecast/bias")
    with pytest.raises(ModelError):
        fan_forward(wrong, RECIPE)
