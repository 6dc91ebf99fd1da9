"""The faster ways the fans are drawn give numpy's numbers bit for bit: the quantiles of
sorted rows against ``np.quantile``, the GARCH filter run for many origins at once against
:func:`garch_path` per origin, the simulation against its first writing (``np.cumsum`` and
``np.quantile`` per lattice node) and the empirical fan's quantiles against ``np.quantile``."""

from __future__ import annotations

import numpy as np
import pytest

from rnnforecast.risk.baselines.garch import garch_path
from rnnforecast.risk.baselines.interface import VARIANCE_FLOOR
from rnnforecast.risk.fans.empirical import window_quantiles
from rnnforecast.risk.fans.garch import last_variances, simulated_at, standardized_t
from rnnforecast.risk.fans.interface import FAN_LEVELS, quantiles_of_sorted


@pytest.mark.parametrize("n", [1, 2, 3, 8, 101, 1000, 20_000])
@pytest.mark.parametrize("levels", [FAN_LEVELS, (0.0, 0.5, 1.0), (0.1, 0.9), (0.3333,)])
def test_quantiles_of_sorted_rows_are_numpys(n: int, levels: tuple[float, ...]) -> None:
    rng = np.random.default_rng(n)
    rows = rng.standard_t(3, size=(6, n))
    rows[1, 0] = np.nan  # a row with NaN: NaN, as numpy gives
    rows[2] = 1.0  # ties
    rows[3, : n // 2] = rows[3, 0]
    rows[4, -1] = np.inf
    with np.errstate(invalid="ignore"):  # inf - inf, in numpy's arithmetic and in ours
        want = np.quantile(rows, levels, axis=1).T
        got = quantiles_of_sorted(np.sort(rows, axis=1), levels)
    assert got.shape == (6, len(levels))
    assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("gjr", [(2e-6, 0.08, 0.0, 0.9), (3e-6, 0.02, 0.1, 0.88)])
def test_last_variances_are_garch_path_per_origin(gjr: tuple[float, ...]) -> None:
    returns = np.random.default_rng(4).standard_t(4, size=1600) * 0.015
    serve = 1000
    origins = np.array([2, 3, 76, 500, 999, 1000, 1001, 1200, 1601, 1601, 1300])
    got = last_variances(returns, origins, serve, *gjr)
    want = [garch_path(returns[max(0, t - serve) : t - 1], *gjr)[-1] for t in origins.tolist()]
    assert np.array_equal(got, np.array(want))


def simulated_as_first_written(
    first: np.ndarray, omega: float, alpha: float, gamma: float, beta: float, shocks: np.ndarray
) -> np.ndarray:
    """simulated_at before it summed and took quantiles itself: np.cumsum, np.quantile."""
    steps = shocks.shape[1]
    z = np.ascontiguousarray(shocks.T)
    growth = beta + (alpha + gamma * (z < 0)) * z**2
    slope, intercept = np.ones_like(z), np.zeros_like(z)
    for k in range(1, steps):
        slope[k] = slope[k - 1] * growth[k - 1]
        intercept[k] = intercept[k - 1] * growth[k - 1] + 1.0
    out = np.empty((first.size, steps, len(FAN_LEVELS)))
    for i, s1 in enumerate(first.tolist()):
        variance = np.maximum(s1 * slope + omega * intercept, VARIANCE_FLOOR)
        cumulative = np.cumsum(np.sqrt(variance) * z, axis=0)
        out[i] = np.quantile(cumulative, FAN_LEVELS, axis=1).T
    return out


@pytest.mark.parametrize("gjr", [(2e-6, 0.08, 0.0, 0.9), (3e-6, 0.02, 0.1, 0.88)])
def test_simulation_is_the_first_writings_bit_for_bit(gjr: tuple[float, ...]) -> None:
    shocks = standardized_t(4.5, 5000, 22)
    first = np.array([1e-5, 2.3e-4, 4e-4, 1e-3])
    got = simulated_at(first, *gjr, shocks)
    assert np.array_equal(got, simulated_as_first_written(first, *gjr, shocks))


def test_empirical_quantiles_are_numpys() -> None:
    log_close = np.cumsum(np.random.default_rng(9).standard_normal((7, 400)) * 0.01, axis=1)
    got = window_quantiles(log_close, 22)
    for h in (1, 5, 22):
        moves = log_close[:, h:] - log_close[:, :-h]
        assert np.array_equal(got[:, h - 1], np.quantile(moves, FAN_LEVELS, axis=1).T)
