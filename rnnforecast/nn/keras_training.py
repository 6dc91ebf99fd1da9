"""Fitting a network: seeded, early-stopped, silent unless a progress callback is given.
Imports TensorFlow; :mod:`rnnforecast.training.fitting` imports this module only inside the
functions
that train."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from rnnforecast.config import TrainConfig

Progress = Callable[[int, int, dict[str, float]], None]
"""Called after each epoch with (epoch number from 1, maximum epochs, {"loss", "val_loss"})."""


@dataclass(frozen=True)
class FitHistory:
    """What training did: per-epoch losses (scaled MSE), epochs run, the epoch kept."""

    loss: list[float]
    val_loss: list[float]
    epochs_run: int
    best_epoch: int
    stopped_early: bool
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "loss": self.loss,
            "val_loss": self.val_loss,
        }


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic kernels, so
    that the same seed on the same machine gives the same weights."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# keras ships no type information: to mypy its Callback is Any, which strict mode refuses
# to subclass.
class _ProgressCallback(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, progress: Progress, epochs: int) -> None:
        super().__init__()
        self._progress, self._epochs = progress, epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        self._progress(epoch + 1, self._epochs, {k: float(v) for k, v in logs.items()})


def _validation(x_val: np.ndarray, y_val: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """The validation windows as a batched tf.data Dataset: the same batches in the same
    order as numpy arrays would give (the same losses), but Keras builds its input pipeline
    once instead of again at every epoch's validation pass; with few windows per epoch that
    rebuild is a large share of the epoch (benchmarks/bench_train.py, ``valdata``)."""
    return tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(batch_size)


def fit(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    train: TrainConfig,
    progress: Progress | None = None,
) -> FitHistory:
    """Train with Adam/MSE, early stopping on validation loss, best weights restored.

    Shapes: ``x_*`` ``(m, window, f)`` float32, ``y_*`` ``(m, horizon)`` float32. Training
    windows are shuffled each epoch with the seeded generator. Keras prints nothing.
    Without validation windows (``x_val`` None: a refit on every window) there is no early
    stopping: ``train.epochs`` epochs run and the last weights are kept.
    """
    callbacks: list[keras.callbacks.Callback] = []
    if train.patience > 0 and x_val is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=train.patience, restore_best_weights=True
            )
        )
    if progress is not None:
        callbacks.append(_ProgressCallback(progress, train.epochs))
    started = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(
            None if x_val is None or y_val is None else _validation(x_val, y_val, train.batch_size)
        ),
        epochs=train.epochs,
        batch_size=train.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    loss = [float(v) for v in history.history.get("loss", [])]
    val_loss = [float(v) for v in history.history.get("val_loss", [])]
    best = int(np.argmin(val_loss)) + 1 if val_loss else len(loss)
    if train.patience == 0 or x_val is None:
        best = len(loss)  # no early stopping: the last weights are kept
    return FitHistory(loss, val_loss, len(loss), best, len(loss) < train.epochs, seconds)


def set_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Set a network built by :func:`rnnforecast.nn.keras_network.build_model` to ``weights``,
    named as
    :func:`rnnforecast.nn.numpy_network.export_weights` names them (``{cell}_{i}/kernel``,
    ``dense/bias``, ``forecast/kernel``...: the Keras layer names of build_model).

    Raises ModelError if a name is missing or unexpected or a shape differs; the network is
    then left partly set and should be dropped.
    """
    from rnnforecast.errors import ModelError

    variables: dict[str, keras.Variable] = {}
    for layer in model.layers:
        owner = getattr(layer, "cell", layer)  # recurrent layers keep weights on their cell
        for attribute in ("kernel", "recurrent_kernel", "bias"):
            variable = getattr(owner, attribute, None)
            if variable is not None:
                variables[f"{layer.name}/{attribute}"] = variable
    if set(variables) != set(weights):
        missing = sorted(set(variables) - set(weights))
        extra = sorted(set(weights) - set(variables))
        raise ModelError(f"weights do not fit the network (missing {missing}, unexpected {extra})")
    for name, variable in variables.items():
        value = np.asarray(weights[name], dtype=np.float32)
        if tuple(value.shape) != tuple(variable.shape):
            raise ModelError(
                f"weight {name} has shape {value.shape}, the network {tuple(variable.shape)}"
            )
        variable.assign(value)
