"""Warm start for the nightly job: where a challenger's training starts from.

With ``run.warm_start`` the challenger is the current model fine-tuned on the new bars, not
a network trained from scratch, when the two share a recipe. Both fits start from the
current bundle's: the scored fit from its scored weights and scalers, the refit from its
served weights and scalers. The scalers are kept, not refitted: they were fitted on
windows that are all still in the challenger's training (the scored fit's training
windows only grow as bars are added; the refit has no held-out windows), so there is no
leakage, and a kept scaler means the starting weights see inputs on the scale they were
trained on. A few epochs follow (:func:`warm_epochs`).

This module reads bundles only (numpy, no TensorFlow); the weights are set on a Keras
network by :func:`rnnforecast.nn.keras_training.set_weights`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.config import Config
from rnnforecast.errors import ModelError
from rnnforecast.forecast.windows import Scalers
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.training.fitting import Start

WARM_FRACTION = 0.2
"""Fine-tune epochs as a share of the recipe's best epoch when trained from scratch."""


@dataclass(frozen=True)
class WarmStart:
    """Where a warm-started challenger starts: the current run's two fits, each a
    :class:`rnnforecast.training.fitting.Start` with the epoch budget ``epochs``.
    ``scratch_best_epoch`` is the best epoch of the last fit from scratch in the chain of
    warm starts that led here (fine-tuned fits' own best epochs are small and would shrink
    the budget night after night)."""

    from_run: str
    scored: Start
    served: Start
    epochs: int
    scratch_best_epoch: int

    def record(self) -> dict[str, Any]:
        """The manifest's ``warm_start`` entry."""
        return {
            "from_run": self.from_run,
            "epochs": self.epochs,
            "scratch_best_epoch": self.scratch_best_epoch,
        }


def warm_epochs(scratch_best_epoch: int, max_epochs: int) -> int:
    """Fine-tune epochs: ``WARM_FRACTION`` of the recipe's best epoch from scratch, rounded
    up, at least 1 and at most the recipe's ``train.epochs``."""
    return max(1, min(max_epochs, math.ceil(WARM_FRACTION * scratch_best_epoch)))


def _weights(path: Any, config: Config) -> dict[str, np.ndarray]:
    """The weights in ``path``, checked to fit ``config``'s network (names, shapes, finite
    values). Raises ModelError."""
    from rnnforecast.nn.numpy_network import NumpyNetwork, load_weights

    weights = load_weights(path)
    weights.pop(loading.INPUT_SHAPE_KEY, None)
    NumpyNetwork(weights, config)
    return weights


def plan(
    home: Home, symbol: str, run_id: str | None, config: Config, epochs: int | None = None
) -> tuple[WarmStart | None, str]:
    """The warm start from run ``run_id`` of ``symbol`` for a challenger of ``config``, or
    None with the reason why it trains from scratch: no current model, a changed recipe,
    or a bundle whose weights or scalers cannot be read. Never raises for a bad bundle.
    ``epochs``: fine-tune epochs (0: the current weights unchanged, recalibrated only);
    default :func:`warm_epochs`."""
    if run_id is None:
        return None, "no current model"
    try:
        loaded = loading.load(home, symbol, run_id)
    except ModelError as exc:
        return None, f"current model {run_id} cannot be loaded ({exc})"
    if loaded.config != config:
        return None, f"changed recipe (current model {run_id})"
    bundle = loaded.bundle
    manifest = bundle.manifest
    try:
        if bundle.weights_path is None:
            raise ModelError(f"{bundle.path}: no numpy weights")
        served = (_weights(bundle.weights_path, config), bundle.scalers)
        record = manifest.scored
        if record.weights is None:  # the bundle serves its scored fit
            scored = served
        else:
            scored = (
                _weights(bundle.path / record.weights, config),
                Scalers.from_dict(record.scalers),
            )
        previous = manifest.warm_start
        if isinstance(previous, dict):  # this module's own record (WarmStart.record)
            best = int(previous["scratch_best_epoch"])
        elif manifest.best_epoch is None:
            raise ValueError("its manifest records no best epoch")
        else:
            best = manifest.best_epoch
    except (ModelError, KeyError, TypeError, ValueError) as exc:
        return None, f"current model {run_id} cannot be warm-started from ({exc})"
    if epochs is None:
        epochs = warm_epochs(best, config.train.epochs)
    return (
        WarmStart(run_id, Start(*scored, epochs), Start(*served, epochs), epochs, best),
        f"from run {run_id}",
    )
