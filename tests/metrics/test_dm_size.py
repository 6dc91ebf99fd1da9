"""The Diebold-Mariano test rejects equal accuracy about as often as its level says when the
two forecasts are in truth equally good: one-step errors, and overlapping multi-step errors
(the autocovariance lags keep it honest), and one-step losses that are serially correlated
as daily interval scores are (Newey-West's lags keep it honest). Monte Carlo properties, not
reference values."""

from __future__ import annotations

import numpy as np

from rnnforecast.metrics import accuracy

REPLICATIONS = 1000


def rejection_rate(horizon: int, n: int = 250, seed: int = 0) -> float:
    """Share of REPLICATIONS where equally good forecasts are told apart at the 5 % level.
    Errors over ``horizon`` steps overlap: each is a sum of ``horizon`` daily shocks, one
    new shock a day (an MA(horizon - 1), as the errors of h-step forecasts are)."""
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(REPLICATIONS):
        a, b = (
            np.convolve(rng.normal(size=n + horizon - 1), np.ones(horizon), "valid") for _ in "ab"
        )
        _, p_value = accuracy.diebold_mariano(a, b, horizon=horizon)
        rejected += p_value is not None and p_value < 0.05
    return rejected / REPLICATIONS


def test_one_step_test_has_its_nominal_size() -> None:
    # 4.1 % measured; a halved p-value would reject about twice as often.
    assert 0.02 <= rejection_rate(1) <= 0.07


def test_multi_step_test_accounts_for_overlapping_errors() -> None:
    # 10 % measured at horizon 5 with Newey-West's 4 lags (7 % with R's equal weights);
    # without the autocovariance lags it is about 28 %.
    assert rejection_rate(5) <= 0.12


def ar1_rejection_rate(kernel: str, phi: float = 0.3, n: int = 250, seed: int = 1) -> float:
    """Share of REPLICATIONS where one-step loss differentials with mean zero but AR(1)
    serial correlation ``phi`` (daily interval-score differentials reach 0.26) are called
    different at the 5 % level."""
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(REPLICATIONS):
        shocks = rng.normal(size=n + 50)
        d = np.zeros(n + 50)
        for t in range(1, n + 50):
            d[t] = phi * d[t - 1] + shocks[t]
        _, p_value = accuracy.diebold_mariano(d[50:], np.zeros(n), 1, kernel=kernel)
        rejected += p_value is not None and p_value < 0.05
    return rejected / REPLICATIONS


def test_newey_west_lags_keep_serially_correlated_one_step_losses_honest() -> None:
    # measured: 16.3 % without lags (R's acf at h = 1), 8.2 % with Newey-West's 4 lags
    assert ar1_rejection_rate("acf") >= 0.12
    assert ar1_rejection_rate("bartlett") <= 0.10
