"""Training the fan network: the Keras model, its non-crossing transform and pinball loss.
Imports TensorFlow; :mod:`rnnforecast.training.fan_fit` imports it only inside the fit.

The network is :func:`rnnforecast.nn.keras_network.build_model`'s on the fan recipe's shape
(:meth:`rnnforecast.forecast.fan_recipe.FanRecipe.network_config`): one recurrent layer, a
dense layer and ``horizons * len(FAN_LEVELS)`` raw outputs, which :func:`ascending_quantiles`
turns into ascending standardised quantiles, scored by :func:`pinball_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from rnnforecast.forecast.fan_features import (
    MIN_GAP,
    N_FEATURES,
    normal_quantiles,
    raw_from_quantiles,
)
from rnnforecast.forecast.fan_recipe import FAN_LEVELS, FanRecipe
from rnnforecast.nn.keras_network import build_model
from rnnforecast.nn.keras_training import FitHistory, Progress, fit, seed_everything
from rnnforecast.nn.numpy_network import export_weights

Loss = Callable[[Any, Any], Any]


def ascending_quantiles(raw: Any, n_levels: int) -> Any:
    """keras.ops twin of :func:`rnnforecast.forecast.fan_features.ascending_quantiles`: raw
    outputs ``(m, horizons * n_levels)`` -> ``(m, horizons, n_levels)`` strictly ascending
    (the middle value is the median; each level away from it adds ``softplus + MIN_GAP``)."""
    ops = keras.ops
    horizons = int(raw.shape[-1]) // n_levels
    q = ops.reshape(raw, (-1, horizons, n_levels))
    mid = n_levels // 2
    median = q[..., mid : mid + 1]
    steps = ops.softplus(q) + MIN_GAP
    above = median + ops.cumsum(steps[..., mid + 1 :], axis=-1)
    below = median - ops.flip(ops.cumsum(ops.flip(steps[..., :mid], axis=-1), axis=-1), axis=-1)
    return ops.concatenate([below, median, above], axis=-1)


def pinball_loss(levels: tuple[float, ...] = FAN_LEVELS) -> Loss:
    """The pinball (quantile) loss per window, averaged over horizons and ``levels``:
    ``y_true`` ``(m, H)`` standardised targets, ``y_pred`` ``(m, H * len(levels))`` raw
    outputs, scored after :func:`ascending_quantiles`."""
    tau = np.asarray(levels, dtype="float32")

    def loss(y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        q = ascending_quantiles(y_pred, len(levels))
        u = ops.expand_dims(ops.cast(y_true, q.dtype), -1) - q
        return ops.mean(ops.maximum(tau * u, (tau - 1.0) * u), axis=(-2, -1))

    return loss


def build_fan_model(recipe: FanRecipe) -> keras.Model:
    """``Input((lookback, N_FEATURES)) -> cell(units) -> Dense(dense_units) ->
    Dense(horizons * len(FAN_LEVELS))``, compiled with Adam at ``recipe.learning_rate`` on
    :func:`pinball_loss`; the output bias starts at standard normal quantiles for every
    horizon (the targets are standardised), so training starts from a sensible fan."""
    model = build_model(recipe.network_config(N_FEATURES), N_FEATURES)
    start = raw_from_quantiles(normal_quantiles(FAN_LEVELS))
    model.get_layer("forecast").bias.assign(np.tile(start, recipe.horizons).astype("float32"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=recipe.learning_rate), loss=pinball_loss()
    )
    return model


@dataclass(frozen=True)
class FanTraining:
    """A trained fan network: the Keras ``model``, its numpy ``weights``
    (:func:`rnnforecast.nn.numpy_network.export_weights`) and its ``history``."""

    model: keras.Model
    weights: dict[str, np.ndarray]
    history: FitHistory


def train_fan_model(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    recipe: FanRecipe,
    seed: int,
    progress: Progress | None = None,
) -> FanTraining:
    """Train a fan network, seeded (the same seed and data on one machine give the same
    weights), silent, early-stopped on the validation windows with the best weights kept.

    Shapes: ``x_*`` ``(m, lookback, N_FEATURES)`` scaled float32 inputs, ``y_*``
    ``(m, horizons)`` standardised targets. Raises ModelError if the weights cannot be
    exported.
    """
    seed_everything(seed)
    model = build_fan_model(recipe)
    history = fit(
        model,
        np.asarray(x_train, dtype=np.float32),
        np.asarray(y_train, dtype=np.float32),
        np.asarray(x_val, dtype=np.float32),
        np.asarray(y_val, dtype=np.float32),
        recipe.train_config(seed),
        progress,
    )
    return FanTraining(model, export_weights(model), history)
