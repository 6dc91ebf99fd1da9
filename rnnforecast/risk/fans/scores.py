"""Scores of fans at one horizon, and the one-sided test that one fan beats another.

Every fan is scored on the same origins, in price units where a price is asked for: the fan
``q`` (log-return quantiles) becomes the prices ``last_close * exp(q)`` and the realised close
``last_close * exp(actual)``. At horizon ``h``:

- ``interval_score_80`` / ``interval_score_95``: the mean Winkler score of the central
  intervals (quantiles 0.1/0.9 and 0.025/0.975), price units;
- ``coverage_80``: the share of origins whose close falls inside the 80% interval; Kupiec's
  and Christoffersen's tests read the hits of every ``h``-th origin only (overlapping h-day
  windows make consecutive hits dependent by construction, which both tests would count as
  failures of calibration);
- ``pinball``: the mean pinball loss over the nine levels, price units;
- ``crps``: ``2 * integral of the pinball loss over the level``, the trapezoid rule over the
  nine levels (the tails beyond 0.025 and 0.975 left out: a slight underestimate, the same
  for every fan);
- ``qlike``: QLIKE of the fan's implied h-day variance, ``((q75 - q25) / 1.349)^2`` (exact
  for a Gaussian, a common yardstick for the others), against the h-day realised-variance
  proxy: the sum of the h daily range proxies.

numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk.assessment import finite_or_none
from rnnforecast.risk.fans.interface import FAN_LEVELS, interval_levels, level_index

IQR_TO_SD = 1.3489795003921634
"""The interquartile range of a standard normal."""

_LEVELS = np.asarray(FAN_LEVELS)
# trapezoid weights over the levels, for the CRPS
_WEIGHTS = np.diff(_LEVELS, prepend=_LEVELS[0]) / 2 + np.diff(_LEVELS, append=_LEVELS[-1]) / 2


def prices(quantiles: np.ndarray, last_close: np.ndarray) -> np.ndarray:
    """Price quantiles ``(m, L)`` from log-return quantiles ``(m, L)`` and closes ``(m,)``."""
    with np.errstate(over="ignore"):
        out: np.ndarray = np.asarray(last_close, dtype=np.float64)[:, None] * np.exp(quantiles)
    return out


def interval_losses(
    quantiles: np.ndarray, actual: np.ndarray, last_close: np.ndarray, level: float = 0.8
) -> np.ndarray:
    """Per-origin interval scores ``(m,)`` at ``level``, price units: ``quantiles`` ``(m, L)``
    log-return fan at one horizon, ``actual`` ``(m,)`` realised log returns, ``last_close``
    ``(m,)`` the closes the fans start from."""
    lo, hi = interval_levels(level)
    price = prices(quantiles, last_close)
    close = np.asarray(last_close, dtype=np.float64) * np.exp(actual)
    return probabilistic.interval_score(close, price[:, lo], price[:, hi], level)


def implied_variance(quantiles: np.ndarray) -> np.ndarray:
    """``(m,)`` h-day log-return variances implied by the fans' interquartile ranges."""
    iqr = quantiles[:, level_index(0.75)] - quantiles[:, level_index(0.25)]
    variance: np.ndarray = np.maximum(iqr / IQR_TO_SD, 1e-6) ** 2
    return variance


def horizon_scores(
    quantiles: np.ndarray,
    actual: np.ndarray,
    last_close: np.ndarray,
    proxy: np.ndarray,
    horizon: int,
) -> dict[str, Any]:
    """The scores (module docstring) of one fan at ``horizon``: ``quantiles`` ``(m, L)``
    log-return quantiles at :data:`FAN_LEVELS`, ``actual`` ``(m,)`` realised h-day log
    returns, ``last_close`` ``(m,)``, ``proxy`` ``(m,)`` h-day realised-variance proxies.
    Non-finite values become None; ``n`` counts the origins."""
    price = prices(quantiles, last_close)
    close = np.asarray(last_close, dtype=np.float64) * np.exp(actual)
    lo, hi = interval_levels(0.8)
    hits = probabilistic.outside(close, price[:, lo], price[:, hi])
    spaced = hits[::horizon]
    pinball = probabilistic.pinball_per_day(close, price, FAN_LEVELS)
    diff = close[:, None] - price
    per_level = np.maximum(_LEVELS * diff, (_LEVELS - 1.0) * diff)
    out: dict[str, Any] = {
        "interval_score_80": float(np.mean(interval_losses(quantiles, actual, last_close, 0.8))),
        "interval_score_95": float(np.mean(interval_losses(quantiles, actual, last_close, 0.95))),
        "coverage_80": 1.0 - float(np.mean(hits)),
        "kupiec_p": probabilistic.kupiec_p(spaced, 0.8),
        "christoffersen_cc_p": probabilistic.christoffersen_cc_p(spaced, 0.8),
        "pinball": float(np.mean(pinball)),
        "crps": float(np.mean(2.0 * per_level @ _WEIGHTS)),
        "qlike": probabilistic.qlike(implied_variance(quantiles), proxy),
    }
    cleaned = {k: finite_or_none(v) for k, v in out.items()}
    cleaned["n"] = len(actual)
    cleaned["tested_n"] = len(spaced)
    return cleaned


def dm_less(loss: np.ndarray, against: np.ndarray, horizon: int) -> dict[str, Any]:
    """One-sided Diebold-Mariano (HLN, Newey-West with at least ``horizon - 1`` lags) that
    ``loss`` ``(m,)`` is lower than ``against`` ``(m,)``: ``statistic``, ``p_value``,
    ``lag`` (None when the test cannot be run)."""
    statistic, p_value = accuracy.diebold_mariano(loss, against, horizon, alternative="less")
    lag = accuracy.hac_lag(len(loss), horizon) if p_value is not None else None
    return {
        "statistic": finite_or_none(statistic),
        "p_value": finite_or_none(p_value),
        "lag": lag,
        "horizon": horizon,
    }


def best(means: Mapping[str, float]) -> str | None:
    """The name with the lowest finite mean, None if none is finite."""
    finite = {k: v for k, v in means.items() if np.isfinite(v)}
    return min(finite, key=lambda k: finite[k], default=None)
