"""A fitted model: a network's forward pass with the scalers, calibration and data recipe its
forecasts need, travelling together as one object (as a statsforecast model does once fit).

Training makes one (:func:`rnnforecast.training.fitting.fit`), a saved bundle gives its
served or scored one back (:meth:`rnnforecast.storage.loading.Loaded.fitted`), and every
forecast, score and report of the package goes through its methods. numpy only: ``predict``
loads this module, so neither TensorFlow nor pandas may be imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnforecast.config import DataConfig
from rnnforecast.data.bars import CLOSE
from rnnforecast.errors import ModelError
from rnnforecast.exports import DailyForecasts
from rnnforecast.forecast.calibration import (
    Calibration,
    Forecasts,
    Network,
    adaptive_factors,
    distribution,
    floor_prices,
    raw_forecast,
    shrink_forecast,
    volatility,
)
from rnnforecast.forecast.windows import Dataset, Scalers, decode_targets
from rnnforecast.metrics.report import Report, report


@dataclass(frozen=True)
class FittedModel:
    """A network fitted on one split, ready to forecast.

    ``network`` maps scaled inputs ``(m, window, features)`` float32 to scaled outputs
    ``(m, outputs)``; ``scalers`` encode its inputs and decode its outputs; ``calibration``
    shrinks its forecasts toward the naive one and gives interval widths; ``data`` is the
    recipe's data section (features, window, horizon, strategy). Prices are in the units of
    the bars (closes), log returns unitless.
    """

    network: Network
    scalers: Scalers
    calibration: Calibration
    data: DataConfig

    def forecast_scale(self, base: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated close forecasts ``(m, steps)`` for OHLCV windows ``base``
        ``(m, L, 5)``, and the scale ``(m, steps)`` their interval widths multiply: the
        window's volatility, or for a distribution head (``calibration.head``) the network's
        own scale of each step's log return. Raises ModelError for more steps than a direct
        or distribution model forecasts."""
        data = self.data
        if self.calibration.head != "distribution":
            raw = raw_forecast(self.network, base, data, self.scalers, steps)
            return raw, volatility(base, data.window, steps)
        if steps > data.horizon:
            raise ModelError(f"this model forecasts {data.horizon} steps, not {steps}")
        mu, sigma = distribution(self.network, base, data, self.scalers)
        return floor_prices(decode_targets(mu, base, data), base)[:, :steps], sigma[:, :steps]

    def forecast(
        self, base: np.ndarray, steps: int, width_factor: np.ndarray | float = 1.0
    ) -> Forecasts:
        """Calibrated forecasts ``(m, steps)`` with intervals for OHLCV windows ``base``
        ``(m, L, 5)``; each window's interval widths are multiplied by ``width_factor``
        (scalar or ``(m,)``: the adaptive factor of :meth:`width_factors`, 1 for the fixed
        validation widths)."""
        shrink, width = self.calibration.step_values(steps)
        raw, scale = self.forecast_scale(base, steps)
        point = shrink_forecast(raw, base[:, -1, CLOSE], shrink)
        factor = np.broadcast_to(np.asarray(width_factor, dtype=np.float64), (len(base),))
        spread = width[None, :] * scale * factor[:, None]
        return Forecasts(raw, point, point * np.exp(-spread), point * np.exp(spread))

    def one_step_scores(self, base: np.ndarray, next_close: np.ndarray) -> np.ndarray:
        """Normalised one-step conformal scores ``(m,)`` of consecutive windows ``base``
        ``(m, L, 5)`` whose next closes are ``next_close`` ``(m,)``: ``|log(close /
        forecast)|`` over the window's volatility scale (the network's own scale for a
        distribution head), the score the validation widths were fitted on."""
        raw, scale = self.forecast_scale(base, 1)
        shrink, _ = self.calibration.step_values(1)
        point = shrink_forecast(raw, base[:, -1, CLOSE], shrink)[:, 0]
        scores: np.ndarray = np.abs(np.log(next_close / point)) / scale[:, 0]
        return scores

    def width_factors(self, dataset: Dataset) -> np.ndarray:
        """Adaptive width factors ``(m,)`` for every window of ``dataset`` (consecutive
        windows of one ticker's bars): window ``j``'s factor uses the one-step errors of
        the windows before it only, as predict would have on its last day; all 1 without an
        adaptive scheme."""
        cal = self.calibration
        if cal.adaptive is None:
            return np.ones(len(dataset))
        scores = self.one_step_scores(dataset.base, dataset.actual[:, 0])
        return adaptive_factors(scores, cal)[:-1]

    def assess(
        self, part: Dataset, scale: float | None = None, width_factor: np.ndarray | float = 1.0
    ) -> Report:
        """Calibrated forecasts of the windows of ``part`` over the recipe's horizon, scored
        next to the naive and drift forecasts; ``scale``: the in-sample naive MAE (price
        units) that MASE divides by; interval widths times ``width_factor`` (scalar or
        ``(m,)``)."""
        result = self.forecast(part.base, self.data.horizon, width_factor)
        return report(
            part.actual,
            result.point,
            result.raw,
            result.low,
            result.high,
            part.last_close,
            part.drift,
            self.calibration.level,
            scale,
        )

    def daily(self, part: Dataset, width_factor: np.ndarray | float = 1.0) -> DailyForecasts:
        """One-day-ahead forecasts of the windows of ``part`` ``(m,)`` each, with the actual
        and naive closes; interval widths times ``width_factor`` (the adaptive factors, as
        scored)."""
        result = self.forecast(part.base, 1, width_factor)
        return DailyForecasts(
            dates=part.target_dates[:, 0].astype("datetime64[D]"),
            actual=part.actual[:, 0],
            naive=part.last_close,
            point=result.point[:, 0],
            low=result.low[:, 0],
            high=result.high[:, 0],
            raw=result.raw[:, 0],
        )
