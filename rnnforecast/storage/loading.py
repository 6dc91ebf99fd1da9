"""Reading a saved bundle back: its config and calibration checked against its manifest, and
either of its fits (:mod:`rnnforecast.storage.fit_records`) as a
:class:`rnnforecast.forecast.fitted.FittedModel`. numpy only, unless the bundle has no numpy
weights (then Keras, and TensorFlow's start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rnnforecast.config import Config, config_from_dict
from rnnforecast.data.tickers import GROUP_PREFIX, check_group, check_ticker
from rnnforecast.errors import ModelError, UsageError
from rnnforecast.forecast.calibration import Calibration, Network
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import Scalers
from rnnforecast.storage.artifacts import Bundle
from rnnforecast.storage.home import Home

INPUT_SHAPE_KEY = "input_shape"
"""Extra array in weights.npz: the (window, features) the network was trained on."""

Which = Literal["served", "scored"]
"""A bundle's fit: the one ``predict`` serves, or the one its test scores are of."""


@dataclass(frozen=True)
class Loaded:
    """A bundle with its config and (served) calibration, checked against each other."""

    bundle: Bundle
    config: Config
    calibration: Calibration

    def calibration_of(self, fit: Which) -> Calibration:
        """The calibration of the bundle's ``fit`` (the served one's when it serves the
        scored fit: no refit, or a bundle saved before refit existed)."""
        record = self.bundle.manifest.scored
        if fit == "served" or record.weights is None:
            return self.calibration
        return Calibration.from_dict(record.calibration)

    def fitted(self, fit: Which = "served") -> FittedModel:
        """The bundle's ``fit`` as a model: the network ``predict`` serves with the bundle's
        scalers and calibration, or the scored fit: the same when the bundle serves it,
        else ``scored_weights.npz`` with the scalers and calibration the manifest records
        for it. Raises ModelError if the network cannot be loaded or its shapes do not fit
        the manifest."""
        record, data = self.bundle.manifest.scored, self.config.data
        if fit == "served" or record.weights is None:
            return FittedModel(_served_network(self), self.bundle.scalers, self.calibration, data)
        scalers, calibration = Scalers.from_dict(record.scalers), self.calibration_of(fit)
        return FittedModel(_scored_network(self, record.weights), scalers, calibration, data)


def load(home: Home, ticker: str, run_id: str | None) -> Loaded:
    """The bundle of ``run_id`` (default: current) for ``ticker``, checked: the ticker's own,
    or the global model serving it; ``ticker`` may also name a group (``@NAME``).

    Raises UsageError (bad ticker), ModelError if the bundle is missing, corrupt, or its
    manifest disagrees with its config.
    """
    grouped = ticker.strip().startswith(GROUP_PREFIX)  # a global model, by its group name
    symbol = check_group(ticker) if grouped else check_ticker(ticker)
    bundle = home.models.load(symbol, run_id)
    try:
        config = config_from_dict(bundle.manifest.config)
    except UsageError as exc:
        raise ModelError(f"{bundle.path}: manifest config is not readable here: {exc}") from None
    manifest = bundle.manifest
    if (
        tuple(config.data.features) != manifest.features
        or config.data.window != manifest.window
        or config.data.horizon != manifest.horizon
    ):
        raise ModelError(f"{bundle.path}: manifest features/window disagree with its config")
    calibration = Calibration.from_dict(manifest.calibration or {})
    return Loaded(bundle, config, calibration)


def _scored_network(loaded: Loaded, weights_file: str) -> Network:
    """The numpy forward pass of the scored fit's ``weights_file`` in the bundle's folder.
    Raises ModelError if the weights are unreadable or do not fit the recipe."""
    from rnnforecast.nn.numpy_network import NumpyNetwork, load_weights

    path = loaded.bundle.path / weights_file
    try:
        weights = load_weights(path)
        weights.pop(INPUT_SHAPE_KEY, None)
        return NumpyNetwork(weights, loaded.config).predict
    except ModelError as exc:
        message = str(exc)
        raise ModelError(message if str(path) in message else f"{path}: {message}") from None


def _served_network(loaded: Loaded) -> Network:
    """The bundle's forward pass: numpy when the bundle has weights.npz, else Keras.

    Raises ModelError if the network cannot be loaded or its shapes do not fit the manifest.
    """
    data = loaded.config.data
    if loaded.bundle.weights_path is not None:
        from rnnforecast.nn.numpy_network import NumpyNetwork, load_weights

        path = loaded.bundle.weights_path
        try:
            weights = load_weights(path)
            # An RNN runs on sequences of any length: the trained window is recorded so that
            # a manifest claiming another window is caught, as Keras' input shape would be.
            trained = tuple(int(v) for v in weights.pop(INPUT_SHAPE_KEY, np.array([])))
            claimed = (data.window, len(data.features))
            if trained != claimed:
                raise ModelError(
                    f"{path}: network takes (m, {', '.join(map(str, trained))}), but the "
                    f"manifest says (m, {claimed[0]}, {claimed[1]})"
                )
            net = NumpyNetwork(weights, loaded.config)
        except ModelError as exc:
            message = str(exc)
            raise ModelError(message if str(path) in message else f"{path}: {message}") from None
        return net.predict

    from rnnforecast.nn import keras_network

    path = loaded.bundle.model_path
    try:
        keras_net = keras_network.load_model(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__})") from None
    expected_in = (None, data.window, len(data.features))
    shapes = (tuple(keras_net.input_shape), tuple(keras_net.output_shape))
    if shapes != (expected_in, (None, loaded.config.network_outputs)):
        raise ModelError(
            f"{path}: network takes {shapes[0]} -> {shapes[1]}, but the manifest says "
            f"{expected_in} -> {(None, loaded.config.network_outputs)}"
        )

    def keras_forward(x: np.ndarray) -> np.ndarray:
        return np.asarray(keras_network.predict(keras_net, x))

    return keras_forward
