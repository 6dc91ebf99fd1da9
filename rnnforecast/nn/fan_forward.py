"""The fan network's numpy forward pass: :class:`rnnforecast.nn.numpy_network.NumpyNetwork` on
the fan recipe's shape. Imports neither TensorFlow nor pandas (predict loads it)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnforecast.forecast.fan_features import N_FEATURES
from rnnforecast.forecast.fan_network import FanNetwork, Network
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
