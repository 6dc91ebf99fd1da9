"""Multi-step served intervals recomputed: for every baseline predict can serve, the quantiles of
the cumulative log return 1, 5 and 10 days ahead equal a by-hand recursion of the documented
formula (plain Python loops over the bars, nothing shared with the code under test), and the
served GARCH range is measured against arch's own simulation."""

from __future__ import annotations

import math
import statistics
from statistics import NormalDist

import numpy as np
import pytest

from rnnforecast.risk import interval_choice
from rnnforecast.risk.interval_choice import IntervalRecord

LEVEL = 0.8
STEPS = 10
HORIZONS = (1, 5, 10)  # the rows checked: step h is row h - 1
Z = (NormalDist().inv_cdf(0.1), NormalDist().inv_cdf(0.9))


def bars(n: int = 320, seed: int = 7) -> list[tuple[float, float, float, float, float]]:
    """OHLCV rows with an overnight gap and a real range, so the range proxy has both parts;
    the last day is a down day (GJR's asymmetric term is on)."""
    rng = np.random.default_rng(seed)
    out, close = [], 100.0
    for t in range(n):
        gap, move = rng.normal(0, 0.004), rng.standard_t(5) * 0.01
        if t == n - 1:
            move = -abs(move) - 0.01
        open_ = close * math.exp(gap)
        new_close = open_ * math.exp(move)
        high = max(open_, new_close) * (1 + abs(rng.normal(0, 0.006)))
        low = min(open_, new_close) * (1 - abs(rng.normal(0, 0.006)))
        out.append((open_, high, low, new_close, 1e6))
        close = new_close
    return out


ROWS = bars()
ARRAY = np.array(ROWS, dtype=np.float64)
RETURNS = [math.log(ROWS[i][3] / ROWS[i - 1][3]) for i in range(1, len(ROWS))]


def served(method: str, params: dict[str, float], z: tuple[float, float] | None) -> np.ndarray:
    record = IntervalRecord(method, LEVEL, params, z)
    return interval_choice.cumulative_quantiles(record, ARRAY, STEPS)


def check(got: np.ndarray, expected: dict[int, tuple[float, float]]) -> None:
    assert got.shape == (STEPS, 2)
    for h, (low, high) in expected.items():
        assert got[h - 1, 0] == pytest.approx(low, rel=1e-9), h
        assert got[h - 1, 1] == pytest.approx(high, rel=1e-9), h


def garch_by_hand(omega: float, alpha: float, gamma: float, beta: float) -> dict[int, float]:
    """Sum of the 1..h-step variances: sigma2 filtered from arch's backcast (weights 0.94^i
    over the first 75 squared returns), then E[s_{T+k}] = omega + (alpha + gamma/2 + beta)
    E[s_{T+k-1}]."""
    weights = [0.94**i for i in range(75)]
    backcast = sum(w * r * r for w, r in zip(weights, RETURNS[:75], strict=True)) / sum(weights)
    sigma2 = omega + (alpha + gamma / 2 + beta) * backcast
    for r in RETURNS:
        sigma2 = omega + (alpha + (gamma if r < 0 else 0.0)) * r * r + beta * sigma2
    total, step, sums = 0.0, sigma2, {}
    for h in range(1, STEPS + 1):
        total += step
        sums[h] = total
        step = omega + (alpha + gamma / 2 + beta) * step
    return sums


@pytest.mark.parametrize(
    "params",
    [
        {"omega": 3e-6, "alpha": 0.06, "beta": 0.9, "nu": 7.0},
        {"omega": 3e-6, "alpha": 0.03, "gamma": 0.08, "beta": 0.89, "nu": 7.0},
    ],
    ids=["garch_t", "gjr_t"],
)
def test_garch_h_step_quantiles_are_z_times_root_of_summed_variances(
    params: dict[str, float],
) -> None:
    method = "gjr_t" if "gamma" in params else "garch_t"
    z = (-1.21, 1.19)  # any standardized pair: the served range is z * sqrt(sum)
    sums = garch_by_hand(params["omega"], params["alpha"], params.get("gamma", 0.0), params["beta"])
    expected = {h: (z[0] * math.sqrt(sums[h]), z[1] * math.sqrt(sums[h])) for h in HORIZONS}
    check(served(method, params, z), expected)


def test_ewma_h_step_quantiles_are_root_h_times_the_filtered_sd() -> None:
    lam, seed = 0.94, 1.7e-4
    s = seed
    for r in RETURNS:
        s = lam * s + (1 - lam) * r * r
    expected = {h: (Z[0] * math.sqrt(h * s), Z[1] * math.sqrt(h * s)) for h in HORIZONS}
    check(served("ewma", {"lambda": lam, "seed_variance": seed}, Z), expected)


def test_hist50_h_step_quantiles_are_root_h_times_the_last_50_returns_sd() -> None:
    variance = statistics.variance(RETURNS[-50:])  # ddof 1
    expected = {
        h: (Z[0] * math.sqrt(h * variance), Z[1] * math.sqrt(h * variance)) for h in HORIZONS
    }
    check(served("hist50", {"window": 50.0}, Z), expected)


def linear_quantile(values: list[float], p: float) -> float:
    """numpy's default (type 7): interpolate between order statistics at p (n - 1)."""
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def test_emp250_h_step_quantiles_are_root_h_times_the_demeaned_empirical_ones() -> None:
    window = RETURNS[-250:]
    mean = sum(window) / 250
    centred = [r - mean for r in window]
    low, high = linear_quantile(centred, 0.1), linear_quantile(centred, 0.9)
    expected = {h: (math.sqrt(h) * low, math.sqrt(h) * high) for h in HORIZONS}
    check(served("emp250", {"window": 250.0}, None), expected)


def garman_klass_with_gap(i: int) -> float:
    """Row i's variance proxy: 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2 + ln(O_i / C_{i-1})^2,
    with high and low widened to cover open and close, floored at 1e-8."""
    open_, high, low, close, _ = ROWS[i]
    high, low = max(high, open_, close), min(low, open_, close)
    value = 0.5 * math.log(high / low) ** 2 - (2 * math.log(2) - 1) * math.log(close / open_) ** 2
    if i > 0:
        value += math.log(open_ / ROWS[i - 1][3]) ** 2
    return max(value, 1e-8)


def test_har_h_step_quantiles_iterate_the_recursion_on_its_own_forecasts() -> None:
    b0, b1, b5, b22 = 2e-6, 0.35, 0.3, 0.25
    history = [garman_klass_with_gap(i) for i in range(len(ROWS))]
    total, sums = 0.0, {}
    for h in range(1, STEPS + 1):
        means = [sum(history[-lag:]) / lag for lag in (1, 5, 22)]
        value = max(b0 + b1 * means[0] + b5 * means[1] + b22 * means[2], 1e-8)
        history.append(value)
        total += value
        sums[h] = total
    z = (-1.3, 1.25)
    expected = {h: (z[0] * math.sqrt(sums[h]), z[1] * math.sqrt(sums[h])) for h in HORIZONS}
    check(served("har", {"b0": b0, "b1": b1, "b5": b5, "b22": b22}, z), expected)


# --- how far the served GARCH range is from the distribution it stands for -----------------------

# Allowed gap between the served 80% upper quantile and arch's simulated one, relative.
BAND = 0.03


def simulated_upper(params: dict[str, float], horizon: int) -> tuple[float, float]:
    """(served, simulated) 90% quantile of the h-day cumulative log return under GARCH-t with
    ``params``: arch's own simulation (20 000 paths, fixed seed) versus the served range."""
    from arch import arch_model
    from arch.univariate import StudentsT

    scale = 100.0
    model = arch_model(np.array(RETURNS) * scale, mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    # the shocks come from the distribution's own generator: without a seed it is numpy's
    # global one, whose state depends on the tests that ran before (a flaky figure)
    model.distribution = StudentsT(seed=np.random.RandomState(2024))
    fixed = [params["omega"] * scale**2, params["alpha"], params["beta"], params["nu"]]
    result = model.fix(fixed)
    forecast = result.forecast(
        horizon=horizon,
        method="simulation",
        simulations=20000,
        reindex=False,
        random_state=np.random.RandomState(2024),
    )
    paths = np.asarray(forecast.simulations.values)[-1] / scale  # (simulations, horizon)
    simulated = float(np.quantile(paths.sum(axis=1), 0.9))
    z = model.distribution.ppf([0.1, 0.9], [params["nu"]])
    got = served("garch_t", params, (float(z[0]), float(z[1])))
    return float(got[horizon - 1, 1]), simulated


GARCH_PARAMS = {"omega": 3e-6, "alpha": 0.06, "beta": 0.9, "nu": 5.0}


def test_served_one_step_garch_quantile_matches_the_simulation() -> None:
    """At one step the served quantile is exact: the simulation agrees within its own noise."""
    got, simulated = simulated_upper(GARCH_PARAMS, 1)
    assert got == pytest.approx(simulated, rel=BAND)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the one-day record's h-step GARCH-t range (served only by bundles without a fan) is "
        "the one-step t quantile times sqrt(sum of variances); at h = 10 (nu 5, persistence "
        "0.96) its 90% quantile is 7.5% below arch's simulated one (0.04906 against 0.05305; "
        "6.4% at h = 5, 1.8% at h = 1): the sum of t shocks is closer to Gaussian and the "
        "variance path is random; the fan simulates (tests/risk/fans/test_garch_fans.py)"
    ),
)
def test_served_ten_step_garch_quantile_matches_the_simulation() -> None:
    got, simulated = simulated_upper(GARCH_PARAMS, 10)
    assert got == pytest.approx(simulated, rel=BAND)
