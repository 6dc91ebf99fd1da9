"""Fitting the network's price fan on one or several tickers (a global fan network).

Every ticker's origins whose targets all lie before its ``through`` row are pooled (one ticker:
a per-ticker network); each ticker's newest origins are its validation tail (early stopping),
the rest, less a gap of ``horizons - 1`` origins whose targets would reach into the tail, train.
The feature scaler is fitted on the training windows only. Bars at and after ``through`` are cut
off before anything is computed, so they cannot reach the fit.

TensorFlow is imported only inside :func:`fit_fan_network`. Never prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.fan_features import (
    FeatureScaler,
    first_origin,
    horizon_spread,
    origin_windows,
    row_features,
    standardised_targets,
)
from rnnforecast.forecast.fan_network import FanNetwork
from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.nn.fan_forward import fan_forward

NUMPY_TOLERANCE = 1e-4
"""Largest difference of raw outputs allowed between the numpy and Keras forward passes."""
MIN_VALIDATION = 5
"""Fewest validation origins a ticker gives (its tail)."""


@dataclass(frozen=True)
class FanWindows:
    """One ticker's windows, unscaled: ``x_train`` ``(a, lookback, N_FEATURES)``, ``y_train``
    ``(a, horizons)`` standardised targets, ``x_val`` and ``y_val`` likewise for its
    validation tail."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def ticker_windows(
    ohlcv: np.ndarray, dates: np.ndarray, through: int, recipe: FanRecipe, name: str = ""
) -> FanWindows:
    """The windows of one ticker's rows ``[0, through)`` (rows from ``through`` on are never
    read): origins ``first_origin(lookback) .. through - horizons``, so the last target row is
    ``through - 1``; the newest ``val_fraction`` (at least :data:`MIN_VALIDATION`) validate,
    the origins a gap of ``horizons - 1`` before them train. Raises DataError (naming
    ``name``) if ``through`` is past the bars or leaves no training origin."""
    if not 0 < through <= len(ohlcv) or len(dates) != len(ohlcv):
        raise DataError(f"{name}: through must be in [1, {len(ohlcv)}] with a date per bar")
    bars, days = np.asarray(ohlcv, dtype=np.float64)[:through], np.asarray(dates)[:through]
    h, lookback = recipe.horizons, recipe.lookback
    origins = np.arange(first_origin(lookback), through - h + 1)
    n_train = training_origins(through, recipe)
    if n_train < 1:
        need = first_origin(lookback) + 2 * h + MIN_VALIDATION - 1
        raise DataError(f"{name}: {through} rows are too few for a fan network (need {need})")
    features, rate = row_features(bars, days), recipe.persistence
    train, val = origins[:n_train], origins[n_train + h - 1 :]
    return FanWindows(
        origin_windows(features, train, lookback),
        standardised_targets(bars, horizon_spread(bars, train, h, rate), train, h),
        origin_windows(features, val, lookback),
        standardised_targets(bars, horizon_spread(bars, val, h, rate), val, h),
    )


def training_origins(through: int, recipe: FanRecipe) -> int:
    """How many origins of the rows ``[0, through)`` train (the newest ``val_fraction``, at
    least :data:`MIN_VALIDATION`, validate, and ``horizons - 1`` between them are the gap);
    below 1 when the rows are too few for a fan network."""
    h = recipe.horizons
    origins = max(0, through - h + 1 - first_origin(recipe.lookback))
    n_val = max(MIN_VALIDATION, math.ceil(origins * recipe.val_fraction))
    return origins - n_val - (h - 1)


def cutoffs(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]], day: np.datetime64, recipe: FanRecipe
) -> dict[str, int]:
    """For each ticker of ``series`` (bars and dates, as :func:`fit_fan_network` takes
    them), its first row dated on or after ``day``: the rows before it were all known before
    ``day``. Tickers whose rows before ``day`` are too few to train on are left out."""
    out = {}
    for name, (_, dates) in series.items():
        through = int(np.searchsorted(np.asarray(dates, dtype="datetime64[D]"), day))
        if training_origins(through, recipe) >= 1:
            out[name] = through
    return out


def fit_fan_network(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    through: Mapping[str, int],
    recipe: FanRecipe,
    seed: int,
) -> FanNetwork:
    """A fan network trained on the pooled windows of every ticker of ``series``.

    ``series`` maps a ticker to its bars ``(n, 5)`` (open, high, low, close, volume, oldest
    first) and dates ``(n,)`` datetime64[D]; ``through[ticker]`` is the first row not to use:
    no input or target row is ``>= through``. ``seed`` seeds the shuffling and the starting
    weights (same data and seed, same weights on one machine). Slow: trains a Keras network.
    The network records each ticker with the date of the last bar it read (``trained_on``).

    Raises DataError for no tickers, a ticker without ``through`` or too few rows, and
    ModelError if the numpy forward pass disagrees with Keras by more than
    :data:`NUMPY_TOLERANCE`.
    """
    if not series:
        raise DataError("a fan network needs at least one ticker")
    missing = sorted(set(series) - set(through))
    if missing:
        raise DataError(f"no through row for {missing}")
    recipe = recipe.validate()
    parts = [
        ticker_windows(ohlcv, dates, through[name], recipe, name)
        for name, (ohlcv, dates) in sorted(series.items())
    ]
    x_train = np.concatenate([p.x_train for p in parts])
    scaler = FeatureScaler.fit(x_train.reshape(-1, x_train.shape[-1]))
    x_val = scaler.transform(np.concatenate([p.x_val for p in parts]))
    y_train = np.concatenate([p.y_train for p in parts])
    y_val = np.concatenate([p.y_val for p in parts])

    from rnnforecast.nn.fan_training import train_fan_model

    trained = train_fan_model(scaler.transform(x_train), y_train, x_val, y_val, recipe, seed)
    read = {
        name: str(np.asarray(dates)[through[name] - 1])[:10] for name, (_, dates) in series.items()
    }
    network = FanNetwork(
        fan_forward(trained.weights, recipe), trained.weights, recipe, scaler, read
    )
    check = x_val[:256]
    keras_raw = np.asarray(trained.model.predict(check, verbose=0), dtype=np.float64)
    gap = float(np.max(np.abs(network.network(check) - keras_raw), initial=0.0))
    if gap > NUMPY_TOLERANCE:
        raise ModelError(f"the numpy fan network differs from Keras by {gap:.2e}")
    return network
