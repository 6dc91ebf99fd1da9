"""The fan network's numpy forward pass: :class:`rnnforecast.nn.numpy_network.NumpyNetwork` on
the fan recipe's shape. Imports neither TensorFlow nor pandas (predict loads it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnnforecast.errors import ModelError
from rnnforecast.forecast.fan_features import N_FEATURES
from rnnforecast.forecast.fan_network import DESCRIPTION_FILE, WEIGHTS_FILE, FanNetwork, Network
from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.nn.numpy_network import NumpyNetwork


def fan_forward(weights: Mapping[str, np.ndarray], recipe: FanRecipe) -> Network:
    """The numpy forward pass of a fan network: scaled windows ``(m, lookback, N_FEATURES)``
    -> raw outputs ``(m, recipe.outputs)`` float32. Raises ModelError if the weights do not
    fit the recipe (a name missing, a shape off, a value not finite)."""
    return NumpyNetwork(weights, recipe.network_config(N_FEATURES)).predict


def load_fan_network(files: Mapping[str, bytes]) -> FanNetwork:
    """:meth:`FanNetwork.from_files` with the numpy forward pass. Raises ModelError for files
    that are not a fan network's."""
    return FanNetwork.from_files(files, fan_forward)


def read_fan_network(folder: Path) -> FanNetwork:
    """The fan network saved in the bundle ``folder`` (``fan_network.json`` and
    ``fan_weights.npz``, written by :meth:`FanNetwork.to_files`). Raises ModelError (with the
    folder) if a file is missing, unreadable or not a fan network's."""
    files = {}
    for name in (DESCRIPTION_FILE, WEIGHTS_FILE):
        try:
            files[name] = (Path(folder) / name).read_bytes()
        except OSError as exc:
            raise ModelError(f"{Path(folder) / name}: unreadable ({exc})") from None
    try:
        return load_fan_network(files)
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
