"""From a network to calibrated price forecasts with intervals. No TensorFlow here.

A *network* is any callable mapping scaled inputs ``(m, w, f)`` float32 to scaled outputs
``(m, data.outputs)``: the numpy forward pass of :mod:`rnnforecast.nn.numpy_network`, or a Keras
model's ``predict``. Everything else (features, scaling, decoding to prices, the recursive
strategy, shrinkage toward the naive forecast, conformal intervals) happens here and in
:class:`rnnforecast.forecast.fitted.FittedModel`, which holds a network with its scalers and
calibration.

A network with the distribution head (``model.head = "distribution"``) outputs
``(m, 2 * data.outputs)``: each step's location, then each step's raw scale; see
:func:`distribution`. Its intervals follow its own scale instead of the window's
volatility.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.config import DataConfig
from rnnforecast.data.bars import CLOSE, VOLUME
from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast import conformal
from rnnforecast.forecast.conformal import Adaptive
from rnnforecast.forecast.windows import (
    Scalers,
    decode_targets,
    encode_inputs,
    unscale_outputs,
    window_features,
)
from rnnforecast.metrics import accuracy

Network = Callable[[np.ndarray], np.ndarray]

_SHRINK_GRID = np.linspace(0.0, 1.0, 101)
_MIN_PRICE = 1e-9
"""The least forecast close, as a fraction of the window's last close (scale-free: an
absolute floor would lift prices of 1e-300 by 290 orders of magnitude)."""

SCALE_FLOOR = 1e-6
"""Added to the softplus of the distribution head's raw scale (scaled target units), so the
scale is never 0; the Keras loss uses the same constant."""


def distribution(
    network: Network, base: np.ndarray, data: DataConfig, scalers: Scalers
) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale ``(m, H)`` each of the next ``H`` log returns (log-return units)
    from a distribution-head network, for OHLCV windows ``(m, L, 5)``.

    The network gives ``(m, 2H)`` scaled outputs: locations ``mu_s``, then raw scales ``s``;
    ``sigma_s = softplus(s) + SCALE_FLOOR``. The target scaler is affine
    (``x_s = (x - min) / span``), so ``mu = min + span * mu_s`` and ``sigma = span * sigma_s``.
    Raises ModelError if the network's width is not ``2H``.
    """
    outputs = np.asarray(
        network(encode_inputs(window_features(base, data), scalers)), dtype=np.float64
    )
    if outputs.shape[1] != 2 * data.horizon:
        raise ModelError(
            f"a distribution head gives {2 * data.horizon} outputs, this network {outputs.shape[1]}"
        )
    mu = unscale_outputs(outputs[:, : data.horizon], scalers)
    span = float(scalers.target.data_max[0] - scalers.target.data_min[0]) or 1.0
    sigma = span * (np.logaddexp(0.0, outputs[:, data.horizon :]) + SCALE_FLOOR)
    return mu, sigma


def raw_forecast(
    network: Network, base: np.ndarray, data: DataConfig, scalers: Scalers, steps: int
) -> np.ndarray:
    """Uncalibrated close forecasts ``(m, steps)`` for OHLCV windows ``(m, L, 5)``.

    ``direct``: one network call, ``steps <= data.horizon``. ``recursive``: the one-step
    network is fed its own forecast ``steps`` times; the unknown open, high and low of a
    forecast day are set to its forecast close and its volume to the last known volume.
    """
    if data.strategy == "direct":
        if steps > data.horizon:
            raise ModelError(f"this model forecasts {data.horizon} steps, not {steps}")
        outputs = network(encode_inputs(window_features(base, data), scalers))
        return floor_prices(decode_targets(unscale_outputs(outputs, scalers), base, data), base)[
            :, :steps
        ]
    closes = []
    for _ in range(steps):
        outputs = network(encode_inputs(window_features(base, data), scalers))
        close = floor_prices(decode_targets(unscale_outputs(outputs, scalers), base, data), base)[
            :, 0
        ]
        closes.append(close)
        row = np.stack([close, close, close, close, base[:, -1, VOLUME]], axis=-1)
        base = np.concatenate([base[:, 1:], row[:, None, :]], axis=1)
    return np.stack(closes, axis=1)


def floor_prices(prices: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Forecast closes ``(m, k)`` clamped to a tiny positive fraction of each window's last
    close (``base`` ``(m, L, 5)``): a level model can output a price at or below zero, and
    the floor keeps moves finite (shrinkage then rightly falls back to naive)."""
    positive: np.ndarray = np.maximum(prices, base[:, -1, CLOSE][:, None] * _MIN_PRICE)
    return positive


@dataclass(frozen=True)
class Calibration:
    """Fitted on validation windows. Per step ``k`` (``len == horizon``):

    ``shrink[k]`` in [0, 1] scales the predicted log move from the last close (0 = naive);
    ``halfwidth[k]`` is the conformal quantile at ``level`` of ``|log(actual / forecast)|``
    divided by the window's volatility scale (:func:`volatility`, which grows with
    ``sqrt(step)``), so ``forecast * exp(±halfwidth[k] * scale)`` is the interval: wider in
    turbulent windows and for later steps. With ``head = "distribution"`` the scale is the
    network's own forecast scale of each step's log return (:func:`distribution`) instead.

    ``adaptive`` (None in manifests saved before it existed: fixed widths): at forecast time
    the one-step width follows the recent normalised errors (:mod:`rnnforecast.forecast.conformal`)
    and every step's width is scaled by the same factor.
    """

    shrink: tuple[float, ...]
    halfwidth: tuple[float, ...]
    level: float
    # Validation MAE of the uncalibrated forecast over naive's, per step (``raw_val_mase``
    # in manifests written before true MASE was added).
    raw_val_rel_mae: tuple[float, ...] = ()
    # One-sided Diebold-Mariano p-value of the best factor's validation edge over naive
    # (None when there is none to test: the best factor is 0 or the errors are identical).
    shrink_p_value: tuple[float | None, ...] = ()
    adaptive: Adaptive | None = None
    # "point": intervals scale with the window's volatility; "distribution": with the
    # network's forecast scale.
    head: str = "point"

    def step_values(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``shrink`` and ``halfwidth`` for ``steps`` steps; beyond the fitted horizon (the
        recursive strategy) the last step's values are kept (the width still grows with
        ``sqrt(step)`` through the volatility scale)."""
        h = len(self.shrink)
        shrink = np.array([self.shrink[min(k, h - 1)] for k in range(steps)])
        width = np.array([self.halfwidth[min(k, h - 1)] for k in range(steps)])
        return shrink, width

    def to_dict(self) -> dict[str, object]:
        # "head" only when it is not the default, so point bundles' manifests are unchanged.
        head = {} if self.head == "point" else {"head": self.head}
        return {
            "shrink": list(self.shrink),
            "halfwidth": list(self.halfwidth),
            "level": self.level,
            "raw_val_rel_mae": list(self.raw_val_rel_mae),
            "shrink_p_value": list(self.shrink_p_value),
            "adaptive": None if self.adaptive is None else self.adaptive.to_dict(),
            **head,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Calibration:
        """The calibration of a manifest (its JSON values, hence Any: each is converted and
        checked here). Raises ModelError if it is malformed."""
        try:
            calibration = cls(
                tuple(float(v) for v in raw["shrink"]),
                tuple(float(v) for v in raw["halfwidth"]),
                float(raw["level"]),
                tuple(float(v) for v in raw.get("raw_val_rel_mae", raw.get("raw_val_mase", ()))),
                tuple(None if v is None else float(v) for v in raw.get("shrink_p_value", ())),
                _adaptive_from(raw.get("adaptive")),
                str(raw.get("head", "point")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"calibration in the manifest is malformed: {exc}") from None
        if not calibration.shrink or len(calibration.shrink) != len(calibration.halfwidth):
            raise ModelError("calibration in the manifest is malformed: lengths differ")
        if not 0 < calibration.level < 1 or not all(0 <= f <= 1 for f in calibration.shrink):
            raise ModelError("calibration in the manifest is malformed: values out of range")
        if calibration.head not in ("point", "distribution"):
            raise ModelError(f"calibration in the manifest is malformed: head {calibration.head!r}")
        return calibration


def _adaptive_from(raw: object) -> Adaptive | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError("adaptive is not a table")
    return Adaptive.from_dict(raw)


def volatility(base: np.ndarray, window: int, steps: int) -> np.ndarray:
    """Scale of each window's forecast error ``(m, steps)``: the standard deviation of the
    daily log returns of its last ``window`` closes, times ``sqrt(step)``."""
    closes = base[:, -window:, CLOSE]
    sigma = np.std(np.diff(np.log(closes), axis=1), axis=1)
    sigma = np.where(sigma > 0, sigma, 1e-6)
    return sigma[:, None] * np.sqrt(np.arange(1, steps + 1))[None, :]


def shrink_forecast(raw: np.ndarray, last_close: np.ndarray, shrink: np.ndarray) -> np.ndarray:
    """Scale each step's log move from ``last_close`` ``(m,)`` by ``shrink`` ``(k,)``."""
    last = np.asarray(last_close, dtype=np.float64)[:, None]
    shrunk: np.ndarray = last * np.exp(np.log(raw / last) * shrink[None, :])
    return shrunk


def conformal_rank(n: int, level: float) -> int:
    """Split conformal: the rank ``ceil((n + 1) * level)`` of the score that bounds a new
    one with probability ``level``, given ``n`` calibration scores.

    Raises DataError when that rank exceeds ``n``: the interval would need a score beyond
    the largest seen, and capping it would silently give a lower coverage than promised.
    """
    rank = math.ceil((n + 1) * level - 1e-9)  # the tolerance keeps 0.8 * 10 from being 8.0000001
    if rank > n:
        raise DataError(
            f"{n} calibration windows support an interval level of at most {n / (n + 1):.4f} "
            f"(n / (n + 1)), not {level}: lower calibration.interval_level or use more data"
        )
    return rank


def fit_calibration(
    raw: np.ndarray,
    actual: np.ndarray,
    base: np.ndarray,
    window: int,
    level: float,
    shrink: bool = True,
    significance: float = 0.05,
    adaptive: Adaptive | None = None,
    scale: np.ndarray | None = None,
) -> Calibration:
    """Fit shrinkage and interval widths on validation forecasts ``raw`` ``(m, H)`` of the
    windows ``base`` ``(m, L, 5)`` with target closes ``actual`` ``(m, H)``.

    Shrinkage per step: the factor on a grid of 0, 0.01, ..., 1 with the lowest validation
    MAE in price units (the smallest on ties, i.e. the naive forecast when the network adds
    nothing), kept only if its edge over naive passes a one-sided Diebold-Mariano test at
    ``significance`` (absolute errors, ``step - 1`` autocovariance lags); otherwise 0. The
    lowest MAE over 101 factors on a few hundred windows is often luck, and a factor chosen
    by luck costs accuracy on the test period. Intervals: split conformal, the
    ``ceil((n + 1) * level) / n`` quantile of the absolute log residuals of the shrunk
    forecasts, each divided by its window's volatility scale (normalised conformal scores,
    so widths follow volatility), or by ``scale`` ``(m, H)`` when given: the distribution
    head's forecast scale of each step's log return (the calibration then records
    ``head = "distribution"``). ``adaptive`` is recorded for forecast time. Raises
    DataError if there are too few windows for ``level`` (:func:`conformal_rank`).
    """
    last = base[:, -1, CLOSE, None]
    head = "point" if scale is None else "distribution"
    if scale is None:
        scale = volatility(base, window, raw.shape[1])
    moves = np.log(raw / last)
    steps = raw.shape[1]
    factors, widths, raw_rel_mae, p_values = [], [], [], []
    for k in range(steps):
        naive_errors = actual[:, k] - last[:, 0]
        naive_mae = float(np.mean(np.abs(naive_errors)))
        raw_mae = float(np.mean(np.abs(actual[:, k] - raw[:, k])))
        raw_rel_mae.append(raw_mae / naive_mae if naive_mae > 0 else 1.0)
        if shrink:
            candidates = last * np.exp(moves[:, k, None] * _SHRINK_GRID[None, :])
            errors = np.mean(np.abs(candidates - actual[:, k, None]), axis=0)
            best = int(np.argmin(errors))
            p_value = _edge_p_value(actual[:, k] - candidates[:, best], naive_errors, k + 1)
            p_values.append(p_value)
            edge = significance >= 1 or (p_value is not None and p_value < significance)
            keep = best > 0 and edge
            factors.append(float(_SHRINK_GRID[best]) if keep else 0.0)
        else:
            factors.append(1.0)
        point = last[:, 0] * np.exp(moves[:, k] * factors[-1])
        residuals = np.abs(np.log(actual[:, k] / point)) / scale[:, k]
        k_th = conformal_rank(len(residuals), level)
        widths.append(float(np.sort(residuals)[k_th - 1]))
    return Calibration(
        tuple(factors), tuple(widths), level, tuple(raw_rel_mae), tuple(p_values), adaptive, head
    )


def _edge_p_value(errors: np.ndarray, naive_errors: np.ndarray, horizon: int) -> float | None:
    """One-sided Diebold-Mariano-HLN p-value that the absolute ``errors`` are smaller than
    the absolute ``naive_errors`` (price units) of ``horizon``-step forecasts, Newey-West
    weights over ``hac_lag(n, horizon)`` lags (at least ``horizon - 1``: overlapping
    ``horizon``-step errors are serially correlated); None when the two do not differ."""
    _, p_value = accuracy.diebold_mariano(
        np.abs(errors), np.abs(naive_errors), horizon, alternative="less"
    )
    return p_value


@dataclass(frozen=True)
class Forecasts:
    """Price forecasts ``(m, k)``: calibrated ``point`` with ``low``/``high`` interval
    bounds, and the network's uncalibrated ``raw`` forecast."""

    raw: np.ndarray
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray


def adaptive_factors(scores: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Width multipliers ``(m + 1,)`` for the days after ``0..m`` of ``m`` consecutive
    one-step ``scores``: entry ``j`` uses only ``scores[:j]``; 1 without an adaptive scheme
    or with too little history (see :func:`rnnforecast.forecast.conformal.factors`)."""
    return conformal.factors(
        scores, calibration.level, calibration.adaptive, calibration.halfwidth[0]
    )
