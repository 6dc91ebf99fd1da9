"""Fitting and assessing one split: train the recipe's network (checking its numpy forward
pass against Keras), calibrate it, refit it on every window, score a test period next to the
naive and drift forecasts, and the walk-forward backtest.

TensorFlow is imported only inside the functions that train (``rnnforecast.nn.keras_network``,
``rnnforecast.nn.keras_training``). Never prints or exits.
"""

from __future__ import annotations

import dataclasses
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
    adaptive_factors,
    distribution,
    fit_calibration,
    forecast,
    one_step_scores,
    raw_forecast,
)
from rnnforecast.forecast.windows import (
    Dataset,
    Scalers,
    Split,
    build_dataset,
    check_batches,
    encode_inputs,
    fit_scalers,
    scale_targets,
)
from rnnforecast.metrics import accuracy
from rnnforecast.metrics.report import Report, report

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.training.warm import WarmStart

NUMPY_TOLERANCE = 1e-5
"""Largest difference of scaled outputs allowed between the numpy and Keras forward passes."""


def _period(dates: np.ndarray) -> dict[str, Any]:
    """First and last date (YYYY-MM-DD) and count of a datetime64 array."""
    days = pd.DatetimeIndex(dates)
    return {"start": str(days[0].date()), "end": str(days[-1].date()), "n": len(days)}


@dataclass
class _Fitted:
    """A network fitted on one split, with everything needed to forecast and save it."""

    net: Any  # keras.Model
    network: Network
    scalers: Scalers
    calibration: Calibration
    history: Any  # keras_training.FitHistory
    dataset: Dataset
    numpy_check: dict[str, Any]
    test_x: np.ndarray  # the test windows, encoded: (m, window, f) float32
    test_keras: np.ndarray  # Keras' scaled outputs on them, (m, outputs) float32
    weights: dict[str, np.ndarray]  # the network's weights for the numpy forward pass

    @classmethod
    def of(
        cls, trained: _Trained, scalers: Scalers, calibration: Calibration, dataset: Dataset
    ) -> _Fitted:
        """A trained network with the scalers, calibration and windows it was fitted with."""
        return cls(
            trained.net,
            trained.network,
            scalers,
            calibration,
            trained.history,
            dataset,
            trained.numpy_check,
            trained.check_x,
            trained.check_keras,
            trained.weights,
        )


@dataclass
class _Trained:
    """A trained network with its numpy forward pass, checked against Keras."""

    net: Any  # keras.Model
    network: Network
    history: Any  # keras_training.FitHistory
    numpy_check: dict[str, Any]
    check_x: np.ndarray  # windows the check ran on, encoded: (m, window, f) float32
    check_keras: np.ndarray  # Keras' scaled outputs on them, (m, outputs) float32
    weights: dict[str, np.ndarray]


def _train_network(
    config: Config,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    check_x: np.ndarray,
    progress: Progress | None,
    initial: dict[str, np.ndarray] | None = None,
) -> _Trained:
    """Build and train the recipe's network (no validation: no early stopping), starting
    from ``initial`` weights when given (a warm start), then check the numpy forward pass
    against Keras on ``check_x``. Raises ModelError if ``initial`` does not fit."""
    from rnnforecast.nn import keras_network, keras_training

    keras_training.seed_everything(config.train.seed)
    # The distribution head starts at the unconditional distribution of its targets.
    moments = (float(np.mean(y_train)), float(np.std(y_train)))
    net = keras_network.build_model(
        config, n_features=len(config.data.features), target_moments=moments
    )
    if initial is not None:
        keras_training.set_weights(net, initial)
    history = keras_training.fit(net, x_train, y_train, x_val, y_val, config.train, progress)

    # Forecasts use the numpy forward pass, as a saved bundle will: same numbers, and no
    # graph retracing for every new batch shape. Keras serves only if numpy disagrees.
    from rnnforecast.nn.numpy_network import NumpyNetwork, export_weights

    weights = export_weights(net)
    numpy_network = NumpyNetwork(weights, config)
    check_keras = np.asarray(keras_network.predict(net, check_x))
    check = _numpy_check(check_keras, numpy_network.predict(check_x))
    if check["passed"]:
        network = numpy_network.predict
    else:  # pragma: no cover - only if the numpy pass ever disagrees with Keras

        def network(x: np.ndarray) -> np.ndarray:
            return np.asarray(keras_network.predict(net, x))

    return _Trained(net, network, history, check, check_x, check_keras, weights)


def _calibration_forecasts(
    network: Network, part: Dataset, config: Config, scalers: Scalers
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw close forecasts ``(m, H)`` of ``part``'s windows to calibrate on, and for the
    distribution head the network's scale ``(m, H)`` of each step's log return (None for
    the point head: its widths follow the window's volatility)."""
    data = config.data
    if config.model.head == "distribution":
        mu, scale = distribution(network, part.base, data, scalers)
        return part.last_close[:, None] * np.exp(mu), scale
    return raw_forecast(network, part.base, data, scalers, data.horizon), None


def _fit(
    frame: pd.DataFrame,
    config: Config,
    split: Split,
    progress: Progress | None,
    warm_start: WarmStart | None = None,
) -> _Fitted:
    """Fit scalers on the split's training windows, train, then calibrate on validation.
    With ``warm_start``: its scored fit's scalers and weights, ``warm_start.epochs`` epochs
    (still early-stopped on validation)."""
    data = config.data
    dataset = build_dataset(frame, data)
    train_part, val_part = dataset.select(split.train), dataset.select(split.val)
    scalers = fit_scalers(train_part, data) if warm_start is None else warm_start.scored.scalers
    if warm_start is not None:
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, epochs=warm_start.epochs)
        )
    trained = _train_network(
        config,
        encode_inputs(train_part.features, scalers),
        scale_targets(train_part.targets, scalers, data),
        encode_inputs(val_part.features, scalers),
        scale_targets(val_part.targets, scalers, data),
        encode_inputs(dataset.select(split.test).features, scalers),
        progress,
        None if warm_start is None else warm_start.scored.weights,
    )
    val_raw, val_scale = _calibration_forecasts(trained.network, val_part, config, scalers)
    calibration = fit_calibration(
        val_raw,
        val_part.actual,
        val_part.base,
        data.window,
        config.calibration.interval_level,
        config.calibration.shrink,
        config.calibration.significance,
        conformal.DEFAULT,
        scale=val_scale,
    )
    return _Fitted.of(trained, scalers, calibration, dataset)


def refit_epochs(best_epoch: int) -> int:
    """Epochs of the refit on every window: the scored fit's best epoch, unchanged.

    An epoch over all windows already makes proportionally more updates than one over the
    training windows (same batch size), so the same number of passes over the data gives
    the larger data set proportionally more steps; scaling the epochs up as well would
    compound the two. No early stopping: no window is left to stop on.
    """
    return max(int(best_epoch), 1)


def _refit(
    config: Config,
    scored: _Fitted,
    split: Split,
    progress: Progress | None,
    warm_start: WarmStart | None = None,
) -> _Fitted:
    """The recipe fitted again on every window up to the last bar: scalers on all windows,
    ``refit_epochs`` epochs without early stopping, the same seed. Its calibration is
    fitted on the scored fit's forecasts of the test period: the newest windows, out of
    sample for that network (early stopping and the first calibration used validation).
    With ``warm_start``: from its served fit's weights and scalers, ``warm_start.epochs``
    epochs. Raises DataError if the test period has too few windows for the interval level."""
    data = config.data
    dataset = scored.dataset
    test_part = dataset.select(split.test)
    test_raw, test_scale = _calibration_forecasts(scored.network, test_part, config, scored.scalers)
    calibration = fit_calibration(
        test_raw,
        test_part.actual,
        test_part.base,
        data.window,
        config.calibration.interval_level,
        config.calibration.shrink,
        config.calibration.significance,
        conformal.DEFAULT,
        scale=test_scale,
    )
    scalers = fit_scalers(dataset, data) if warm_start is None else warm_start.served.scalers
    epochs = refit_epochs(scored.history.best_epoch) if warm_start is None else warm_start.epochs
    recipe = dataclasses.replace(
        config, train=dataclasses.replace(config.train, epochs=epochs, patience=0)
    )
    trained = _train_network(
        recipe,
        encode_inputs(dataset.features, scalers),
        scale_targets(dataset.targets, scalers, data),
        None,
        None,
        encode_inputs(test_part.features, scalers),
        progress,
        None if warm_start is None else warm_start.served.weights,
    )
    return _Fitted.of(trained, scalers, calibration, dataset)


def _day(value: np.datetime64) -> str:
    """YYYY-MM-DD of a datetime64."""
    return str(value.astype("datetime64[D]"))


def _naive_scale(frame: pd.DataFrame, rows: int) -> float | None:
    """In-sample one-step naive MAE of the closes of the first ``rows`` rows (the training
    part): the denominator of MASE. None for fewer than 2 rows."""
    closes = frame["close"].to_numpy(dtype=np.float64)[:rows]
    return accuracy.naive_scale(closes) if len(closes) >= 2 else None


def _width_factors(
    network: Network, dataset: Dataset, config: Config, scalers: Scalers, cal: Calibration
) -> np.ndarray:
    """Adaptive width factors ``(m,)`` for every window of ``dataset`` (consecutive windows
    of one frame): window ``j``'s factor uses the one-step errors of windows before it only,
    as predict would have on its last day."""
    if cal.adaptive is None:
        return np.ones(len(dataset))
    scores = one_step_scores(network, dataset.base, dataset.actual[:, 0], config.data, scalers, cal)
    return adaptive_factors(scores, cal)[:-1]


def _assess(
    network: Network,
    part: Dataset,
    config: Config,
    scalers: Scalers,
    calibration: Calibration,
    scale: float | None = None,
    width_factor: np.ndarray | float = 1.0,
) -> Report:
    """Calibrated forecasts for the windows of ``part``, scored next to naive and drift;
    ``scale``: the in-sample naive MAE that MASE divides by; interval widths times
    ``width_factor`` (scalar or ``(m,)``)."""
    data = config.data
    result = forecast(network, part.base, data, scalers, calibration, data.horizon, width_factor)
    return report(
        part.actual,
        result.point,
        result.raw,
        result.low,
        result.high,
        part.last_close,
        part.drift,
        calibration.level,
        scale,
    )


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


def _daily(
    network: Network,
    part: Dataset,
    config: Config,
    scalers: Scalers,
    calibration: Calibration,
    width_factor: np.ndarray | float = 1.0,
) -> DailyForecasts:
    """One-day-ahead forecasts for the windows of ``part``, with actual and naive closes;
    interval widths times ``width_factor`` (the adaptive factors, as scored)."""
    result = forecast(network, part.base, config.data, scalers, calibration, 1, width_factor)
    return DailyForecasts(
        dates=part.target_dates[:, 0].astype("datetime64[D]"),
        actual=part.actual[:, 0],
        naive=part.last_close,
        point=result.point[:, 0],
        low=result.low[:, 0],
        high=result.high[:, 0],
        raw=result.raw[:, 0],
    )


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
    appended to ``days`` when given. Raises DataError if the frame is too short or a fold's
    part holds fewer windows than one batch.
    """
    splits = Split.folds(len(frame), config.data, folds)
    sizes = [split.sizes() for split in splits]
    fits_all = min(min(parts.values()) for parts in sizes)
    for number, parts in enumerate(sizes, start=1):  # every fold, before any training
        where = f"fold {number} of {folds}: "
        check_batches(parts, config.train.batch_size, where, fits_all)
    results = []
    for split in splits:
        fitted = _fit(frame, config, split, progress)
        part = fitted.dataset.select(split.test)
        scale = _naive_scale(frame, split.scaler_rows)
        factors = _width_factors(
            fitted.network, fitted.dataset, config, fitted.scalers, fitted.calibration
        )[split.test]
        rep = _assess(
            fitted.network, part, config, fitted.scalers, fitted.calibration, scale, factors
        )
        if days is not None:
            days.append(
                _daily(fitted.network, part, config, fitted.scalers, fitted.calibration, factors)
            )
        results.append(
            {
                "test": _period(part.target_dates[:, 0]),
                "train": _period(fitted.dataset.target_dates[split.train, 0]),
                "model": rep.scores.model,
                "naive": rep.scores.naive,
                "beats_naive": rep.beats_naive,
                "shrink": list(fitted.calibration.shrink),
                "interval_coverage": rep.intervals["coverage"],
                "scalers": fitted.scalers.to_dict(),  # fitted on this fold's training windows
            }
        )
    return results
