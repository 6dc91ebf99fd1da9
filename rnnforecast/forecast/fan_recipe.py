"""The fan's shape (horizons, quantile levels) and the recipe of the network that draws it.

:data:`MAX_HORIZON` and :data:`FAN_LEVELS` are what every fan is (the fan contract,
:mod:`rnnforecast.risk.fans.interface`, names them again); :class:`FanRecipe` holds the settings
of the direct multi-horizon quantile network (:mod:`rnnforecast.forecast.fan_network`). The
recipe lives here rather than in :mod:`rnnforecast.config`: it travels with the fitted fan
network (``fan_network.json``), not with a run's TOML. numpy free, no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from rnnforecast.config import (
    ACTIVATIONS,
    CELLS,
    FEATURES,
    MAX_UNITS,
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    choice,
    coerce,
)
from rnnforecast.errors import UsageError

MAX_HORIZON = 22
"""The longest horizon a fan reaches: about a month of sessions."""

FAN_LEVELS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
"""The quantile levels every fan gives (the 95% interval needs 0.025 and 0.975)."""


@dataclass(frozen=True)
class FanRecipe:
    """The fan network's settings.

    ``lookback``: rows of features per window (the rows before an origin); ``horizons``: the
    horizons ``1 .. horizons`` it is trained for (at most :data:`MAX_HORIZON`); ``cell``,
    ``units``, ``dense_units``, ``activation``: one recurrent layer of ``units`` then
    ``Dense(dense_units, activation)`` (0: none) then ``Dense(horizons * len(FAN_LEVELS))``;
    ``epochs``, ``batch_size``, ``learning_rate``, ``patience``: Adam on the pinball loss,
    early-stopped (best weights kept) on the newest ``val_fraction`` of each ticker's
    origins; ``persistence``: the daily rate at which the volatility the targets are
    divided by returns to its long mean (:func:`rnnforecast.forecast.fan_features.
    horizon_spread`; 1: it never does, the trailing volatility times ``sqrt(h)``).
    """

    lookback: int = 50
    horizons: int = MAX_HORIZON
    cell: str = "gru"
    units: int = 32
    dense_units: int = 32
    activation: str = "tanh"
    epochs: int = 50
    batch_size: int = 128
    learning_rate: float = 0.002
    patience: int = 5
    val_fraction: float = 0.15
    persistence: float = 1.0

    def validate(self) -> FanRecipe:
        """Return self. Raises UsageError naming the setting out of range."""
        choice("fan.cell", self.cell, CELLS)
        choice("fan.activation", self.activation, ACTIVATIONS)
        bounds = {
            "lookback": (2, 1000),
            "horizons": (1, MAX_HORIZON),
            "units": (1, MAX_UNITS),
            "dense_units": (0, MAX_UNITS),
            "epochs": (1, 100_000),
            "batch_size": (1, 65_536),
            "patience": (0, 100_000),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise UsageError(f"fan.{name} must be between {low} and {high}, got {value}")
        if not 0 < self.learning_rate < float("inf"):
            raise UsageError(f"fan.learning_rate must be positive, got {self.learning_rate}")
        if not 0 < self.persistence <= 1:
            raise UsageError(f"fan.persistence must be in (0, 1], got {self.persistence}")
        if not 0 < self.val_fraction <= 0.5:
            raise UsageError(f"fan.val_fraction must be in (0, 0.5], got {self.val_fraction}")
        return self

    @property
    def outputs(self) -> int:
        """Width of the network's last layer: ``horizons * len(FAN_LEVELS)``."""
        return self.horizons * len(FAN_LEVELS)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every setting."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> FanRecipe:
        """A validated recipe from :meth:`to_dict`'s form; missing keys keep their defaults.
        Raises UsageError for a non-dict, an unknown key, a wrong type or a bad value."""
        if not isinstance(raw, dict):
            raise UsageError("a fan recipe must be an object")
        types = {f.name: str(f.type) for f in fields(cls)}
        unknown = sorted(set(raw) - set(types))
        if unknown:
            raise UsageError(f"unknown fan recipe key {unknown[0]!r} (known: {sorted(types)})")
        values = {key: coerce(f"fan.{key}", value, types[key]) for key, value in raw.items()}
        return cls(**values).validate()

    def network_config(self, n_features: int) -> Config:
        """The point network's :class:`~rnnforecast.config.Config` of the same shape, so that
        :func:`rnnforecast.nn.keras_network.build_model` builds this network and
        :class:`rnnforecast.nn.numpy_network.NumpyNetwork` runs it: ``data.window`` =
        ``lookback``, ``data.horizon`` = :attr:`outputs` (direct strategy, point head: one
        output each), ``data.features`` only counts the ``n_features`` inputs (their names are
        placeholders: the fan's features are :mod:`rnnforecast.forecast.fan_features`'s).
        Raises ValueError for more inputs than the point network has feature names."""
        if not 1 <= n_features <= len(FEATURES):
            raise ValueError(f"the fan network takes 1 to {len(FEATURES)} inputs, not {n_features}")
        return Config(
            data=DataConfig(
                features=FEATURES[:n_features], window=self.lookback, horizon=self.outputs
            ),
            model=ModelConfig(
                cell=self.cell,
                units=self.units,
                layers=1,
                activation=self.activation,
                dense_units=self.dense_units,
            ),
            train=self.train_config(0),
        )

    def train_config(self, seed: int) -> TrainConfig:
        """The :class:`~rnnforecast.config.TrainConfig` that
        :func:`rnnforecast.nn.keras_training.fit` reads (epochs, batch, rate, patience)."""
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            patience=self.patience,
            seed=seed,
        )
