"""The Keras network, built from config. Importing this module imports TensorFlow (slow):
only the functions that train or load a model import it, inside themselves."""

from __future__ import annotations

import math
import os
from typing import Any

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature hints) is not for our users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from rnnforecast.config import Config
from rnnforecast.forecast.calibration import SCALE_FLOOR

# Keras' own warnings (retracing notices and the like) are not for our users either.
tf.get_logger().setLevel("ERROR")

_CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}


def gaussian_nll(y_true: Any, y_pred: Any) -> Any:
    """Gaussian negative log-likelihood (without its constant) per window, for the
    distribution head: ``y_true`` ``(m, H)`` scaled targets, ``y_pred`` ``(m, 2H)`` the
    locations then the raw scales, ``sigma = softplus(raw) + SCALE_FLOOR``.

    A plain function of the two tensors, so a saved model reloads (``compile=False``)
    without it. Minimising it fits ``sigma^2`` to the conditional mean squared error (the
    Gaussian quasi-likelihood, consistent for the variance whatever the true tails), the
    same loss QLIKE scores.
    """
    mu, raw = keras.ops.split(y_pred, 2, axis=-1)
    sigma = keras.ops.softplus(raw) + SCALE_FLOOR
    z = (keras.ops.cast(y_true, y_pred.dtype) - mu) / sigma
    return keras.ops.mean(keras.ops.log(sigma) + 0.5 * keras.ops.square(z), axis=-1)


# Registered by a call rather than as a decorator: keras is untyped, and its decorator would
# leave the function untyped to mypy. It returns the function itself, registered under
# "rnnforecast>gaussian_nll", the name saved models refer to.
keras.saving.register_keras_serializable(package="rnnforecast")(gaussian_nll)


def build_model(
    config: Config, n_features: int, target_moments: tuple[float, float] | None = None
) -> keras.Model:
    """``Input((window, n_features)) -> cell x layers -> [Dropout] -> [Dense] -> Dense(outputs)``.

    Stacked recurrent layers return sequences to the next one; the last returns its final
    state. Compiled with Adam at ``train.learning_rate`` on mean squared error, or for the
    distribution head (``config.network_outputs`` = twice the steps) on
    :func:`gaussian_nll`; ``target_moments`` (mean, standard deviation of the scaled
    training targets) then start its output bias at that unconditional distribution.
    """
    m, d = config.model, config.data
    cell = _CELLS[m.cell]
    inputs = keras.Input((d.window, n_features), name="window")
    x = inputs
    for i in range(m.layers):
        x = cell(
            m.units,
            activation=m.activation,
            return_sequences=i < m.layers - 1,
            name=f"{m.cell}_{i + 1}",
        )(x)
    if m.dropout > 0:
        x = keras.layers.Dropout(m.dropout, name="dropout")(x)
    if m.dense_units > 0:
        x = keras.layers.Dense(m.dense_units, activation=m.activation, name="dense")(x)
    outputs = keras.layers.Dense(config.network_outputs, name="forecast")(x)
    model = keras.Model(inputs, outputs, name=f"rnnforecast_{m.cell}")
    if m.head == "distribution" and target_moments is not None:
        # Starting from softplus(0) = 0.69 (several times the targets' spread in scaled
        # units) costs many epochs of shrinking the scale before any clustering is learnt.
        centre, spread = target_moments
        raw_scale = math.log(math.expm1(max(spread - SCALE_FLOOR, 1e-4)))
        forecast = model.get_layer("forecast")
        steps = config.data.outputs
        forecast.bias.assign(np.array([centre] * steps + [raw_scale] * steps, dtype="float32"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.train.learning_rate),
        loss=gaussian_nll if m.head == "distribution" else "mse",
    )
    return model


def load_model(path: os.PathLike[str] | str) -> keras.Model:
    """Load a saved ``model.keras`` for inference (not compiled). Raises whatever Keras raises."""
    return keras.models.load_model(path, compile=False)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Scaled outputs ``(m, horizon)`` float32 for inputs ``(m, window, f)``."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def versions() -> dict[str, str]:
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}
