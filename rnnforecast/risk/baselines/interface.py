"""What every classical volatility baseline is: the :class:`Baseline` interface, the forecast it
returns, and the numpy pieces the families share (log returns, trailing windows, the range-based
variance proxy, Gaussian quantiles, the checks on bars and levels).

Every baseline forecasts the next day's close-to-close log return r_t = ln(close[t] /
close[t-1]) centred on a zero mean (the naive point forecast: tomorrow's close = today's close).
Two paths use it:

- assessment and train (:meth:`Baseline.forecast`): parameters fitted once on the rows before a
  test span, then the model filtered forward day by day over it with those parameters (no
  refit); GARCH's fit is the one place ``arch`` is imported, inside the call;
- predict (:meth:`Baseline.cumulative_quantiles`, :meth:`Baseline.one_step_scales`): the saved
  parameters rebuilt on the last stored bars by a numpy recursion, nothing heavy imported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Protocol

import numpy as np

from rnnforecast.data.bars import CLOSE
from rnnforecast.errors import UsageError

# The bar checks and the range variance live under forecast/ (the network's fan features
# need them too); named here again, explicitly, for the baselines.
from rnnforecast.forecast.bar_variance import VARIANCE_FLOOR as VARIANCE_FLOOR
from rnnforecast.forecast.bar_variance import checked_ohlcv as checked_ohlcv
from rnnforecast.forecast.bar_variance import range_variance as range_variance


@dataclass(frozen=True)
class BaselineForecast:
    """One baseline's forecasts for the m test rows.

    ``variance`` (m,) is the forecast variance of the next day's close-to-close log return
    (log-return units squared, not percent); ``quantiles`` (m, len(levels)) are forecast quantiles
    of that log return, ascending along each row, at ``levels`` (ascending, each in (0, 1));
    ``params`` holds the fitted parameters as finite floats (variances in log-return units).
    ``distribution`` names the forecast's family, which the CRPS is computed from:
    ``"gaussian"`` (zero mean, ``variance``), ``"student_t"`` (zero mean, ``variance``, degrees
    of freedom ``params["nu"]``) or ``"empirical"`` (only its quantiles describe it).
    """

    name: str
    variance: np.ndarray
    quantiles: np.ndarray
    levels: tuple[float, ...]
    params: dict[str, float]
    distribution: str = "empirical"


class Baseline(Protocol):
    """One classical volatility baseline, as the registry
    (:data:`rnnforecast.risk.baselines.registry.REGISTRY`) holds it.

    Units throughout: log returns and their variances (log-return units squared). ``ohlcv`` /
    ``rows``: ``(n, 5)`` float64 bars oldest first (open, high, low, close, volume), already
    checked (finite positive prices).
    """

    @property
    def name(self) -> str:
        """The name a recipe and a saved record use (``calibration.intervals``)."""

    @property
    def min_returns(self) -> int:
        """Returns (not rows) needed before the first test row to fit the parameters."""

    @property
    def params(self) -> tuple[str, ...]:
        """The parameter names a saved intervals record must hold for this baseline."""

    @property
    def uses_z(self) -> bool:
        """Whether a saved record holds standardized one-step quantiles ``z`` (False for a
        baseline whose quantiles are read from the bars at predict time)."""

    @property
    def serve_returns(self) -> int:
        """Returns before a day that predict needs to forecast that day."""

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """Fit on rows ``< first_test`` of ``ohlcv`` ``(n, 5)`` and forecast each row ``t`` in
        ``[first_test, n)`` from rows ``< t``: ``m = n - first_test`` rows at ``levels``
        (ascending, in (0, 1)). The caller has checked that ``first_test`` leaves at least
        :attr:`min_returns` returns."""

    def check_params(self, params: Mapping[str, float]) -> None:
        """Raise ValueError unless ``params`` (holding every name of :attr:`params`, finite)
        are in the ranges the serving recursions need."""

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """Quantiles ``(steps, 2)`` of the cumulative log return from the last of ``rows``
        ``(k, 5)`` to each of the next ``steps`` days at ``(1 - level) / 2`` and
        ``(1 + level) / 2``, from saved ``params`` and standardized one-step quantiles ``z``
        (None if not :attr:`uses_z`). ``rows`` hold more than :attr:`serve_returns` returns
        (checked by the caller). Numpy only."""

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """``(T + 1,)`` one-step scales along ``rows`` ``(T + 1, 5)``: entry ``j`` is the
        standard deviation (for a baseline without ``z``: the half-width of the one-step
        interval at ``level``) given to ``returns[j]`` from ``rows[: j + 1]`` only, entry ``T``
        the day after the last row; NaN where a window does not fit yet. Numpy only."""


def log_returns(ohlcv: np.ndarray) -> np.ndarray:
    """``(n - 1,)`` close-to-close log returns of ``ohlcv`` ``(n, 5)``: entry ``j`` is row
    ``j + 1``'s."""
    returns: np.ndarray = np.diff(np.log(np.asarray(ohlcv, dtype=np.float64)[:, CLOSE]))
    return returns


def checked_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """``levels`` as floats. Raises UsageError unless strictly ascending inside (0, 1)."""
    values = tuple(float(level) for level in levels)
    if not values or not all(0.0 < v < 1.0 for v in values):
        raise UsageError(f"quantile levels must each be in (0, 1), got {list(values)}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise UsageError(f"quantile levels must be strictly ascending, got {list(values)}")
    return values


def gaussian(variance: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """``(m, len(levels))`` quantiles of zero-mean Gaussians with ``variance`` ``(m,)``."""
    z = np.array([NormalDist().inv_cdf(level) for level in levels])
    quantiles: np.ndarray = np.sqrt(variance)[:, None] * z[None, :]
    return quantiles


def trailing(returns: np.ndarray, width: int) -> np.ndarray:
    """``(T + 1 - width, width)`` of ``returns`` ``(T,)``: row ``k`` holds the ``width``
    returns before ``returns[k + width]`` (a view, no copy)."""
    view: np.ndarray = np.lib.stride_tricks.sliding_window_view(returns, width)
    return view


def trailing_before(returns: np.ndarray, first_test: int, width: int) -> np.ndarray:
    """(m, width): for each row t >= first_test, the returns of rows t - width .. t - 1."""
    view = trailing(returns, width)
    # view[k] holds returns[k : k + width], i.e. rows k + 1 .. k + width;
    # row t needs k = t - 1 - width.
    n_rows = returns.size + 1
    return view[first_test - 1 - width : n_rows - 1 - width]


def scaled_by_z(variance: np.ndarray, z: tuple[float, float] | None) -> np.ndarray:
    """``(steps, 2)``: ``sqrt(variance)`` ``(steps,)`` times the standardized quantiles ``z``.
    Raises ValueError if ``z`` is None (a record that should hold it was checked on load)."""
    if z is None:
        raise ValueError("this baseline's record needs standardized quantiles z")
    quantiles: np.ndarray = np.sqrt(variance)[:, None] * np.asarray(z)[None, :]
    return quantiles
