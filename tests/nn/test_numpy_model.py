"""The numpy forward pass against Keras itself, plus its weight files and its checks.

Keras (and so TensorFlow) is imported inside the tests, never at collection time, so that
running other test files does not pay for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO

from rnnforecast.config import ACTIVATIONS, CELLS, Config, config_from_dict
from rnnforecast.errors import ModelError
from rnnforecast.nn.numpy_network import (
    _ACTIVATIONS,
    NumpyNetwork,
    export_weights,
    load_weights,
    save_weights,
)

WINDOW = 12
N_FEATURES = 5  # the default data.features
BATCH = 16
TOLERANCE = 1e-5


def make_config(
    cell: str = "lstm",
    units: int = 6,
    layers: int = 1,
    activation: str = "tanh",
    dense_units: int = 0,
    dropout: float = 0.0,
    horizon: int = 1,
    features: list[str] | None = None,
    strategy: str = "direct",
    window: int = WINDOW,
) -> Config:
    data: dict[str, Any] = {"window": window, "horizon": horizon, "strategy": strategy}
    if features is not None:
        data["features"] = features
    return config_from_dict(
        {
            "data": data,
            "model": {
                "cell": cell,
                "units": units,
                "layers": layers,
                "activation": activation,
                "dense_units": dense_units,
                "dropout": dropout,
            },
        }
    )


def build_random_model(config: Config, seed: int) -> Any:
    """``build_model`` with every weight (biases included: Keras starts them at zero, which
    would leave the bias wiring untested) drawn from a seeded rng, scaled by 1/sqrt(fan-in)
    so that 12 steps of a linear SimpleRNN neither explode nor die out."""
    from rnnforecast.nn.keras_network import build_model

    model = build_model(config, N_FEATURES)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        new = []
        for variable in layer.weights:
            shape = tuple(variable.shape)
            if variable.name == "recurrent_kernel":
                scale = 1.2 / np.sqrt(shape[0])
            elif variable.name == "kernel":
                scale = 2.0 / np.sqrt(shape[0])
            else:
                scale = 0.5
            new.append(rng.uniform(-scale, scale, shape).astype(np.float32))
        layer.set_weights(new)
    return model


def random_inputs(seed: int, m: int = BATCH) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (m, WINDOW, N_FEATURES)).astype(np.float32)


def _cases() -> list[Any]:
    """Per cell, all 8 (layers, dense, horizon) combinations, each with a different one of
    the 8 activations (rotated across cells, so an activation meets each cell in another
    structure): 24 small models cover every cell x structure and cell x activation pair,
    plus one recursive-strategy model."""
    cases = []
    for ci, cell in enumerate(CELLS):
        for k in range(8):
            layers = 1 + (k & 1)
            dense_units = 5 if k & 2 else 0
            horizon = 3 if k & 4 else 1
            activation = ACTIVATIONS[(k + 5 * ci) % len(ACTIVATIONS)]
            kwargs = {
                "cell": cell,
                "units": 4 + (k + ci) % 5,
                "layers": layers,
                "activation": activation,
                "dense_units": dense_units,
                "dropout": 0.25 if k % 3 == 0 else 0.0,
                "horizon": horizon,
            }
            name = f"{cell}-L{layers}-D{dense_units}-H{horizon}-{activation}"
            cases.append(pytest.param(kwargs, 10 * ci + k, id=name))
    # The recursive strategy: one output whatever the horizon.
    recursive = {"cell": "lstm", "layers": 2, "activation": "gelu", "dense_units": 3}
    cases.append(
        pytest.param({**recursive, "horizon": 4, "strategy": "recursive"}, 99, id="recursive")
    )
    return cases


@pytest.mark.parametrize(("kwargs", "seed"), _cases())
def test_matches_keras(kwargs: dict[str, Any], seed: int) -> None:
    config = make_config(**kwargs)
    model = build_random_model(config, seed)
    x = random_inputs(seed + 1000)
    expected = model.predict(x, verbose=0)
    got = NumpyNetwork(export_weights(model), config).predict(x)
    assert got.shape == expected.shape == (BATCH, config.data.outputs)
    assert got.dtype == np.float32
    # Not degenerate: the forecasts differ between windows and are of ordinary size.
    assert expected.std(axis=0).min() > 1e-3
    assert np.abs(expected).max() < 100
    assert np.abs(got - expected).max() <= TOLERANCE


def test_activation_table_matches_config_and_keras() -> None:
    import keras

    assert set(_ACTIVATIONS) == set(ACTIVATIONS)
    x = np.concatenate([np.linspace(-30, 30, 2001), [-800.0, -1e-9, 0.0, 1e-9, 50.0]])
    for name in ACTIVATIONS:
        expected = keras.ops.convert_to_numpy(keras.activations.get(name)(x))
        # TensorFlow's float64 exact gelu multiplies by 1/sqrt(2) rounded to float32, which
        # costs it ~1e-6 relative accuracy; the numpy one is exact.
        rtol = 2e-6 if name == "gelu" else 1e-12
        np.testing.assert_allclose(_ACTIVATIONS[name](x), expected, rtol=rtol, atol=1e-14)


# --------------------------------------------------------------------------- files, checks


TRAINED = {"cell": "gru", "units": 5, "layers": 2, "activation": "elu", "dense_units": 4}


@pytest.fixture(scope="module")
def trained() -> tuple[Config, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """One two-layer GRU with a dense head: config, exported weights, inputs, Keras output."""
    config = make_config(**TRAINED)
    model = build_random_model(config, seed=99)
    x = random_inputs(7)
    return config, export_weights(model), x, model.predict(x, verbose=0)


def test_export_names_and_dtypes(trained: Any) -> None:
    _, weights, _, _ = trained
    assert {name: w.shape for name, w in weights.items()} == {
        "gru_1/kernel": (5, 15),
        "gru_1/recurrent_kernel": (5, 15),
        "gru_1/bias": (2, 15),
        "gru_2/kernel": (5, 15),
        "gru_2/recurrent_kernel": (5, 15),
        "gru_2/bias": (2, 15),
        "dense/kernel": (5, 4),
        "dense/bias": (4,),
        "forecast/kernel": (4, 1),
        "forecast/bias": (1,),
    }
    assert all(w.dtype == np.float32 for w in weights.values())


def test_save_load_round_trip(trained: Any, tmp_path: Path) -> None:
    config, weights, x, expected = trained
    path = tmp_path / "weights.npz"
    save_weights(path, weights)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.npz"]  # no temp file left
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert path.stat().st_mode == reference.stat().st_mode  # the umask's, not 0600
    loaded = load_weights(path)
    assert loaded.keys() == weights.keys()
    for name in weights:
        assert loaded[name].dtype == weights[name].dtype
        np.testing.assert_array_equal(loaded[name], weights[name])
    got = NumpyNetwork(loaded, config).predict(x)
    np.testing.assert_array_equal(got, NumpyNetwork(weights, config).predict(x))
    assert np.abs(got - expected).max() <= TOLERANCE


def test_save_writes_exactly_the_given_path(trained: Any, tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"  # np.savez would quietly append .npz to a str path
    save_weights(str(path), trained[1])
    assert path.is_file() and not (tmp_path / "weights.bin.npz").exists()


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1], ids=["empty", "10-bytes", "half", "last-byte"])
def test_truncated_file_raises_model_error(trained: Any, tmp_path: Path, keep: float) -> None:
    path = tmp_path / "weights.npz"
    save_weights(path, trained[1])
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:cut])
    with pytest.raises(ModelError, match=re.escape(str(path))):
        load_weights(path)


def test_corrupt_member_raises_model_error(trained: Any, tmp_path: Path) -> None:
    path = tmp_path / "weights.npz"
    save_weights(path, {"a": np.arange(1000, dtype=np.float32)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes: the zip CRC catches it
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=re.escape(str(path))):
        load_weights(path)


def test_other_bad_files_raise_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.npz"
    with pytest.raises(ModelError, match=r"not found.*nope\.npz"):
        load_weights(missing)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive at all\n" * 10)
    with pytest.raises(ModelError, match=re.escape(str(garbage))):
        load_weights(garbage)
    bare = tmp_path / "bare.npz"
    with bare.open("wb") as handle:
        np.save(handle, np.zeros(3))
    with pytest.raises(ModelError, match=r"bare\.npz is not an \.npz archive"):
        load_weights(bare)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelError, match=re.escape(str(pickled))):
        load_weights(pickled)
    with pytest.raises(ModelError, match=re.escape(str(tmp_path))):
        load_weights(tmp_path)  # a directory
    with pytest.raises(ValueError, match="not numeric"):
        save_weights(tmp_path / "w.npz", {"a": np.array([{"x": 1}], dtype=object)})


def _drop(weights: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    return {k: v for k, v in weights.items() if k != name}


def _with(weights: dict[str, np.ndarray], name: str, value: Any) -> dict[str, np.ndarray]:
    return {**weights, name: value}


@pytest.mark.parametrize(
    ("change", "mutate", "message"),
    [
        ({"units": 6}, None, "'gru_1/kernel' has shape"),
        ({"layers": 1}, None, "unexpected.*gru_2"),
        ({"layers": 3}, None, "missing.*gru_3"),
        ({"cell": "lstm"}, None, "missing.*lstm_1"),
        ({"dense_units": 0}, None, "unexpected.*dense/"),
        ({"dense_units": 3}, None, "'dense/kernel' has shape"),
        ({"horizon": 3}, None, "'forecast/kernel' has shape"),
        ({"features": ["open", "close"]}, None, "'gru_1/kernel' has shape"),
        ({}, lambda w: _drop(w, "gru_2/bias"), "missing.*gru_2/bias"),
        ({}, lambda w: _with(w, "extra", np.zeros(2, np.float32)), "unexpected.*extra"),
        ({}, lambda w: _with(w, "gru_1/bias", np.zeros(30, np.float32)), "gru_1/bias"),
        ({}, lambda w: _with(w, "dense/bias", np.zeros(4, np.int64)), "not a float"),
        ({}, lambda w: _with(w, "dense/bias", np.full(4, np.nan)), "NaN"),
    ],
)
def test_weights_not_matching_config_raise(trained: Any, change, mutate, message) -> None:
    _, weights, _, _ = trained
    other = make_config(**{**TRAINED, **change})
    with pytest.raises(ModelError, match=message):
        NumpyNetwork(mutate(weights) if mutate else weights, other)


@pytest.mark.parametrize(
    "change",
    [
        {"horizon": 3, "strategy": "recursive"},  # still one output
        {"features": ["high", "close", "log_return", "range", "volume_change"]},  # still 5
        {"activation": "tanh", "dropout": 0.5, "window": 30},  # not in the weights' shapes
    ],
)
def test_weights_fit_configs_of_the_same_shape(trained: Any, change: dict[str, Any]) -> None:
    _, weights, _, _ = trained
    other = make_config(**{**TRAINED, **change})
    x = np.random.default_rng(0).uniform(0, 1, (2, other.data.window, N_FEATURES))
    assert NumpyNetwork(weights, other).predict(x).shape == (2, 1)


def test_predict_checks_input_shape(trained: Any) -> None:
    config, weights, x, _ = trained
    network = NumpyNetwork(weights, config)
    for bad in (x[0], x[:, :-1], x[:, :, :4]):
        with pytest.raises(ModelError, match="expects"):
            network.predict(bad)
    assert network.predict(x[:0]).shape == (0, 1)
    np.testing.assert_array_equal(network.predict(x.astype(np.float64)), network.predict(x))


def test_export_rejects_models_it_cannot_reproduce() -> None:
    import keras

    def model(*layers: Any) -> Any:
        inputs = keras.Input((WINDOW, N_FEATURES))
        x = inputs
        for layer in layers:
            x = layer(x)
        return keras.Model(inputs, x)

    cases = [
        (model(keras.layers.GRU(3, reset_after=False), keras.layers.Dense(1)), "reset_after"),
        (
            model(keras.layers.LSTM(3, recurrent_activation="hard_sigmoid"), keras.layers.Dense(1)),
            "recurrent_activation hard_sigmoid",
        ),
        (model(keras.layers.SimpleRNN(3, use_bias=False), keras.layers.Dense(1)), "use_bias"),
        (model(keras.layers.LSTM(3), keras.layers.Dense(1, activation="relu")), "activation"),
        (model(keras.layers.LSTM(3, activation="softplus"), keras.layers.Dense(1)), "softplus"),
        (model(keras.layers.LSTM(3), keras.layers.BatchNormalization()), "BatchNormalization"),
        (model(keras.layers.LSTM(3, go_backwards=True), keras.layers.Dense(1)), "go_backwards"),
    ]
    for keras_model, message in cases:
        with pytest.raises(ModelError, match=message):
            export_weights(keras_model)


def test_import_does_not_load_tensorflow_keras_or_pandas() -> None:
    code = (
        "import sys, rnnforecast.nn.numpy_network\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'tensorflow', 'keras', 'pandas', 'sklearn', 'scipy'})\n"
        "print(heavy)\n"
    )
    root = REPO
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
