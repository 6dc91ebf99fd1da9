"""The one fit path of a ticker and of a group: fit the recipe's network (checking its numpy
forward pass against Keras) and its calibration on a partition of windows, refit it up to the
last bar where the network shapes what is served, and the walk-forward backtest.

Every calibration (shrink factor, conformal widths) is fitted on the forecasts of the network
it is served with, on windows that network neither trained nor early-stopped on: the scored
fit's on the newest validation windows (the earlier ones early-stop it), the refit's on the
newest windows of all, held out of its training.

A ticker's windows (:mod:`rnnforecast.training.per_ticker`) and a group's pooled windows
(:mod:`rnnforecast.training.global_model`) both go through :func:`fit` then :func:`refit`;
a warm start (:mod:`rnnforecast.training.warm`) is their ``start`` parameter. The result is a
:class:`Fit`: a :class:`rnnforecast.forecast.fitted.FittedModel` and what only training
knows (history, Keras network, numpy check).

TensorFlow is imported only inside :func:`train_network` (``rnnforecast.nn.keras_network``,
``rnnforecast.nn.keras_training``). Never prints or exits.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config
from rnnforecast.exports import DailyForecasts
from rnnforecast.forecast import conformal
from rnnforecast.forecast.calibration import (
    Calibration,
    Network,
    distribution,
    fit_calibration,
    raw_forecast,
)
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import (
    Dataset,
    Scalers,
    Split,
    build_dataset,
    encode_inputs,
    fit_scalers,
    scale_targets,
)
from rnnforecast.metrics import accuracy
from rnnforecast.risk.network_use import network_use
from rnnforecast.training import batches

if TYPE_CHECKING:  # training imports TensorFlow: only its types are needed here
    from rnnforecast.nn.keras_training import FitHistory, Progress
    from rnnforecast.risk.interval_choice import IntervalRecord

NUMPY_TOLERANCE = 1e-5
"""Largest difference of scaled outputs allowed between the numpy and Keras forward passes."""


def summarise_period(dates: np.ndarray) -> dict[str, Any]:
    """``{"start", "end", "n"}``: first and last date (YYYY-MM-DD) and count of a sorted
    datetime64 array ``(n,)``."""
    days = pd.DatetimeIndex(dates)
    return {"start": str(days[0].date()), "end": str(days[-1].date()), "n": len(days)}


def format_day(value: np.datetime64) -> str:
    """YYYY-MM-DD of a datetime64."""
    return str(value.astype("datetime64[D]"))


def in_sample_naive_scale(frame: pd.DataFrame, rows: int) -> float | None:
    """In-sample one-step naive MAE (price units) of the closes of the first ``rows`` rows
    of ``frame`` (the training part): the denominator of MASE. None for fewer than 2 rows."""
    closes = frame["close"].to_numpy(dtype=np.float64)[:rows]
    return accuracy.naive_scale(closes) if len(closes) >= 2 else None


@dataclass(frozen=True)
class Partition:
    """The windows a fit sees (a ticker's split, or a group's pooled parts): ``every``
    window, the training, validation and test windows of the scored fit, the validation
    part's two pieces (``stop``: early stopping, ``calibration``: the newest validation
    windows), and the refit's training windows (``refit_train``) and calibration tail
    (``refit_calibration``: the newest windows, as many as ``calibration``)."""

    every: Dataset
    train: Dataset
    val: Dataset
    test: Dataset
    stop: Dataset
    calibration: Dataset
    refit_train: Dataset
    refit_calibration: Dataset

    @classmethod
    def of(cls, dataset: Dataset, split: Split) -> Partition:
        """One ticker's windows cut by ``split``."""
        parts = (split.train, split.val, split.test, split.stop, split.calibration)
        refit = (split.refit_train, split.refit_calibration)
        return cls(dataset, *(dataset.select(p) for p in (*parts, *refit)))


@dataclass(frozen=True)
class Start:
    """Where a fit starts instead of from scratch (a warm start): ``weights`` (numpy names,
    as in :mod:`rnnforecast.nn.numpy_network`), the ``scalers`` its inputs and targets are
    encoded with (kept, not refitted), and the ``epochs`` it trains for."""

    weights: dict[str, np.ndarray]
    scalers: Scalers
    epochs: int


@dataclass(frozen=True)
class TrainedNetwork:
    """What only training knows of a fitted network: the Keras network (saved as
    ``model.keras``), its history, its weights for the numpy forward pass, and the check of
    that pass against Keras on ``check_x`` ``(m, window, f)`` float32 windows, whose Keras
    outputs are ``check_keras`` ``(m, outputs)`` (scaled units)."""

    net: Any  # keras.Model: Keras is imported only while training
    forward: Network
    history: FitHistory
    numpy_check: dict[str, Any]
    check_x: np.ndarray
    check_keras: np.ndarray
    weights: dict[str, np.ndarray]
    windows: int  # how many windows it was trained on: what a bundle records of the fit


@dataclass(frozen=True)
class Fit:
    """A fit of the recipe: the model it forecasts with and what its training left."""

    model: FittedModel
    trained: TrainedNetwork


def train_network(
    recipe: Config,
    scalers: Scalers,
    train: Dataset,
    val: Dataset | None,
    check: Dataset,
    progress: Progress | None,
    initial: dict[str, np.ndarray] | None = None,
) -> TrainedNetwork:
    """Build and train the recipe's network on the ``train`` windows encoded by ``scalers``,
    early-stopped on ``val`` (None: no early stopping), starting from ``initial`` weights
    when given (a warm start), then check the numpy forward pass against Keras on the
    ``check`` windows. Raises ModelError if ``initial`` does not fit."""
    from rnnforecast.nn import keras_network, keras_training

    data = recipe.data
    y_train = scale_targets(train.targets, scalers, data)
    keras_training.seed_everything(recipe.train.seed)
    # The distribution head starts at the unconditional distribution of its targets.
    moments = (float(np.mean(y_train)), float(np.std(y_train)))
    net = keras_network.build_model(recipe, n_features=len(data.features), target_moments=moments)
    if initial is not None:
        keras_training.set_weights(net, initial)
    history = keras_training.fit(
        net,
        encode_inputs(train.features, scalers),
        y_train,
        None if val is None else encode_inputs(val.features, scalers),
        None if val is None else scale_targets(val.targets, scalers, data),
        recipe.train,
        progress,
    )

    # Forecasts use the numpy forward pass, as a saved bundle will: same numbers, and no
    # graph retracing for every new batch shape. Keras serves only if numpy disagrees.
    from rnnforecast.nn.numpy_network import NumpyNetwork, export_weights

    weights = export_weights(net)
    numpy_network = NumpyNetwork(weights, recipe)
    check_x = encode_inputs(check.features, scalers)
    check_keras = np.asarray(keras_network.predict(net, check_x))
    network: Network = RememberedForward(numpy_network.predict)
    numpy_check = _numpy_check(check_keras, network(check_x))
    if not numpy_check["passed"]:  # pragma: no cover - only if the numpy pass ever disagrees

        def keras_forward(x: np.ndarray) -> np.ndarray:
            return np.asarray(keras_network.predict(net, x))

        network = keras_forward
    trained = (net, network, history, numpy_check, check_x, check_keras, weights)
    return TrainedNetwork(*trained, len(train))


class RememberedForward:
    """A forward pass that gives back its outputs for an input it computed lately instead of
    running the network again: training forecasts the same windows several times (the
    numpy check and the test period's forecasts, the adaptive widths and the risk report's
    scores of every window), and the numpy LSTM over every window costs about half a
    second. An input is known by its shape, dtype and a 128-bit BLAKE2 digest of its bytes;
    the outputs are the pass's own, bit for bit. The last :attr:`SIZE` are kept."""

    SIZE = 4

    def __init__(self, forward: Network) -> None:
        self._forward = forward
        self._seen: dict[tuple[Any, ...], np.ndarray] = {}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x)
        key = (x.shape, x.dtype.str, hashlib.blake2b(x.data, digest_size=16).digest())
        out = self._seen.pop(key, None)
        if out is None:
            out = np.asarray(self._forward(x))
        self._seen[key] = out  # the newest last
        while len(self._seen) > self.SIZE:
            del self._seen[next(iter(self._seen))]
        return out.copy()  # callers may write into what they are handed


def calibrate(config: Config, network: Network, scalers: Scalers, part: Dataset) -> Calibration:
    """Shrinkage and interval widths fitted on ``network``'s raw forecasts of ``part``'s
    windows (decoded with ``scalers``): widths scale with the window's volatility, or for
    the distribution head with the network's own scale of each step's log return. Raises
    DataError if ``part`` has too few windows for the interval level."""
    data, cal = config.data, config.calibration
    scale = None
    if config.model.head == "distribution":
        mu, scale = distribution(network, part.base, data, scalers)
        raw = part.last_close[:, None] * np.exp(mu)
    else:
        raw = raw_forecast(network, part.base, data, scalers, data.horizon)
    return fit_calibration(
        raw,
        part.actual,
        part.base,
        data.window,
        cal.interval_level,
        cal.shrink,
        cal.significance,
        conformal.DEFAULT,
        scale=scale,
    )


def _fit_recipe(
    config: Config,
    epochs: int,
    patience: int,
    scalers: Scalers,
    windows: tuple[Dataset, Dataset | None, Dataset],
    progress: Progress | None,
    start: Start | None,
    calibrate_on: Dataset,
) -> Fit:
    """Train the recipe for ``epochs`` (``patience``: early stopping) on ``windows``
    (train, early stopping or None, check) encoded by ``scalers``, then calibrate that
    network on its own forecasts of the ``calibrate_on`` windows. The one place a network
    and a calibration are fitted."""
    recipe = dataclasses.replace(
        config, train=dataclasses.replace(config.train, epochs=epochs, patience=patience)
    )
    train, stop, check = windows
    trained = train_network(
        recipe, scalers, train, stop, check, progress, None if start is None else start.weights
    )
    calibration = calibrate(config, trained.forward, scalers, calibrate_on)
    return Fit(FittedModel(trained.forward, scalers, calibration, config.data), trained)


def fit(
    config: Config, parts: Partition, progress: Progress | None = None, start: Start | None = None
) -> Fit:
    """The scored fit: scalers fitted on the training windows, the network trained on them
    and early-stopped on the validation part's first piece (``parts.stop``), then calibrated
    on its forecasts of the second (``parts.calibration``, the newest validation windows):
    the widths come from windows early stopping never selected on. With ``start`` (a warm
    start): its weights and scalers, its epochs (still early-stopped). Raises DataError if
    the calibration windows are too few for the interval level, ModelError if ``start``'s
    weights do not fit the recipe."""
    train = config.train
    scalers = fit_scalers(parts.train, config.data) if start is None else start.scalers
    epochs = train.epochs if start is None else start.epochs
    windows = (parts.train, parts.stop, parts.test)
    cal = parts.calibration
    return _fit_recipe(config, epochs, train.patience, scalers, windows, progress, start, cal)


def refit_epochs(best_epoch: int) -> int:
    """Epochs of the refit on every window: the scored fit's best epoch, unchanged.

    An epoch over all windows already makes proportionally more updates than one over the
    training windows (same batch size), so the same number of passes over the data gives
    the larger data set proportionally more steps; scaling the epochs up as well would
    compound the two. No early stopping: no window is left to stop on.
    """
    return max(int(best_epoch), 1)


def refit(
    config: Config,
    scored: Fit,
    parts: Partition,
    progress: Progress | None = None,
    start: Start | None = None,
) -> Fit:
    """The recipe fitted again up to the last bar: trained on every window but a
    calibration tail of the newest ones (``parts.refit_train``; scalers fitted on them),
    ``refit_epochs`` epochs without early stopping, the same seed; then calibrated on its
    own forecasts of that tail (``parts.refit_calibration``, as many windows as calibrate
    the scored fit). The shrink factor and widths served are the served network's, fitted
    out of its sample. With ``start``: its weights, scalers and epochs. Raises DataError if
    the tail has too few windows for the interval level."""
    train = parts.refit_train
    scalers = fit_scalers(train, config.data) if start is None else start.scalers
    epochs = refit_epochs(scored.trained.history.best_epoch) if start is None else start.epochs
    tail = parts.refit_calibration
    windows = (train, None, tail)
    return _fit_recipe(config, epochs, 0, scalers, windows, progress, start, tail)


def refit_plan(
    requested: bool, scored: Fit, intervals: Sequence[IntervalRecord | None]
) -> tuple[bool, str]:
    """Whether to refit the ``scored`` fit up to the last bar, and why (the manifest's
    ``serving.reason``): only if ``requested`` (``--no-refit``, ``run.refit``), its numpy
    forward pass agreed with Keras (its weights can be saved apart), and the network shapes
    what is served to some ticker (its price or its interval, as
    :func:`rnnforecast.risk.network_use.network_use` says with that ticker's ``intervals``:
    the naive close with a baseline's or the network-free naive_conformal interval needs no
    network refitted)."""
    if not requested:
        return False, "refit off: the scored fit is served"
    if not scored.trained.numpy_check["passed"]:
        return False, "the numpy forward pass disagreed with Keras: the scored fit is served"
    uses = [network_use(scored.model.calibration, record) for record in intervals]
    if not any(use.price or use.intervals for use in uses):
        return False, (
            "the network shapes nothing served (shrink 0 at every step, intervals the "
            "network's weights do not shape): the naive close and intervals fitted on every "
            "bar are served, with no refit"
        )
    return True, "the network shapes what is served: refit up to the last bar"


def _numpy_check(keras_out: np.ndarray, numpy_out: np.ndarray) -> dict[str, Any]:
    """Compare the numpy forward pass with Keras on the same held-out windows: both
    ``(m, outputs)`` in scaled units; the manifest records the result."""
    diff = float(np.max(np.abs(keras_out.astype(np.float64) - numpy_out)))
    return {
        "windows": len(keras_out),
        "max_abs_diff": diff,
        "tolerance": NUMPY_TOLERANCE,
        "passed": diff <= NUMPY_TOLERANCE,
    }


def walk_forward(
    frame: pd.DataFrame,
    config: Config,
    folds: int,
    progress: Progress | None = None,
    *,
    days: list[DailyForecasts] | None = None,
) -> list[dict[str, Any]]:
    """Re-train ``config`` on expanding windows and test on ``folds`` consecutive periods.

    Returns one dict per fold: ``test`` period, ``model`` and ``naive`` metrics,
    ``beats_naive``, the fold's ``shrink``; each fold's one-day-ahead forecasts are
    appended to ``days`` when given. Every fold trains with one batch (and learning rate):
    the rule's (:func:`rnnforecast.training.batches.choose`) for each part's fewest windows
    over the folds. Raises DataError if the frame is too short or a fold's part holds fewer windows
    than the smallest batch.
    """
    splits = Split.folds(len(frame), config.data, folds)
    sizes = [split.sizes() for split in splits]
    for number, parts in enumerate(sizes, start=1):  # every fold, before any training
        batches.choose(parts, config.train.batch_size, where=f"fold {number} of {folds}: ")
    least = batches.smallest_parts(sizes)
    config = batches.choose(least, config.train.batch_size).apply(config)
    results = []
    for split in splits:
        dataset = build_dataset(frame, config.data)
        model = fit(config, Partition.of(dataset, split), progress).model
        part = dataset.select(split.test)
        scale = in_sample_naive_scale(frame, split.scaler_rows)
        factors = model.width_factors(dataset)[split.test]
        rep = model.assess(part, scale, factors)
        if days is not None:
            days.append(model.daily(part, factors))
        results.append(
            {
                "test": summarise_period(part.target_dates[:, 0]),
                "train": summarise_period(dataset.target_dates[split.train, 0]),
                "model": rep.scores.model,
                "naive": rep.scores.naive,
                "beats_naive": rep.beats_naive,
                "shrink": list(model.calibration.shrink),
                "interval_coverage": rep.intervals["coverage"],
                "scalers": model.scalers.to_dict(),  # fitted on this fold's training windows
            }
        )
    return results
