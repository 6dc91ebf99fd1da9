"""The edges of rnnforecast.risk.baselines that a mutation run (mutmut, docs/tests.md) found
untested: each method's parameter checks at their bounds, the GJR filter and its backcast,
the GARCH fit's sample and its fallback, HAR's regression rows and iteration, the first day a
trailing window has a scale, and the input checks. Expected values are recomputed here in
plain Python (or by arch itself for the fit)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from rnnforecast.errors import DataError, UsageError
from rnnforecast.risk.baselines import REGISTRY, forecast_baselines, lookup
from rnnforecast.risk.baselines.garch import SLACK, garch_path
from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    checked_levels,
    checked_ohlcv,
    log_returns,
    range_variance,
)


def bars(n: int, seed: int = 0) -> np.ndarray:
    """``n`` daily bars of a random walk with a spread (open off the previous close)."""
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return np.column_stack([open_, high, low, close, np.full(n, 1e6)])


# --- parameter checks ----------------------------------------------------------------------

GARCH = {"omega": 1e-6, "alpha": 0.05, "beta": 0.9, "nu": 6.0}
GJR = {"omega": 1e-6, "alpha": 0.05, "gamma": 0.0, "beta": 0.9, "nu": 6.0}


@pytest.mark.parametrize(
    ("method", "changes", "ok"),
    [
        ("ewma", {"lambda": 0.94, "seed_variance": 1e-4}, True),
        ("ewma", {"lambda": 0.0, "seed_variance": 1e-4}, False),
        ("ewma", {"lambda": 1.0, "seed_variance": 1e-4}, False),
        ("ewma", {"lambda": 1.5, "seed_variance": 1e-4}, False),
        ("ewma", {"lambda": 0.94, "seed_variance": 0.0}, False),
        ("garch_t", {}, True),
        ("garch_t", {"omega": 0.0}, False),
        ("garch_t", {"omega": -1e-6}, False),
        ("garch_t", {"alpha": 0.0, "beta": 0.0}, True),
        ("garch_t", {"alpha": -0.01}, False),
        ("garch_t", {"beta": -0.01}, False),
        ("garch_t", {"nu": 2.0}, False),
        ("garch_t", {"nu": 2.5}, True),
        ("garch_t", {"alpha": 0.0, "beta": 1.0}, True),  # persistence 1
        ("garch_t", {"alpha": 0.0, "beta": 1 + SLACK}, True),  # at the slack exactly
        ("garch_t", {"alpha": 0.1, "beta": 0.95}, False),  # persistence 1.05
        ("gjr_t", {"gamma": 0.12}, False),  # 0.05 + 0.06 + 0.9
        ("gjr_t", {"gamma": 0.08}, True),  # 0.05 + 0.04 + 0.9
        ("gjr_t", {"alpha": 0.0, "gamma": -SLACK}, True),  # alpha + gamma at the slack
        ("gjr_t", {"alpha": 0.1, "gamma": -0.2, "beta": 0.5}, False),  # alpha + gamma < 0
    ],
)
def test_parameter_checks_at_their_bounds(method: str, changes: dict[str, float], ok: bool) -> None:
    base = {"ewma": {}, "garch_t": GARCH, "gjr_t": GJR}[method]
    params = {**base, **changes}
    if ok:
        REGISTRY[method].check_params(params)
    else:
        message = rf"^{method} params (out of range|are not stationary): \{{"
        with pytest.raises(ValueError, match=message):
            REGISTRY[method].check_params(params)


@pytest.mark.parametrize(("method", "width"), [("hist50", 50), ("emp250", 250)])
def test_a_trailing_window_of_another_width_is_refused_by_name(method: str, width: int) -> None:
    REGISTRY[method].check_params({"window": float(width)})
    with pytest.raises(ValueError, match=rf"^{method} window must be {width}, got 49.0$"):
        REGISTRY[method].check_params({"window": 49.0})


# --- the GJR filter ----------------------------------------------------------------------


def test_garch_path_is_the_gjr_recursion_from_archs_backcast_by_hand() -> None:
    rng = np.random.default_rng(4)
    returns = [float(x) for x in rng.normal(0, 0.01, 100)]
    returns[40] = 0.0  # no asymmetric term on a zero return
    omega, alpha, gamma, beta = 2e-6, 0.04, 0.1, 0.88
    weights = [0.94**j for j in range(75)]  # the first 75 squared returns
    backcast = sum(w * r * r for w, r in zip(weights, returns, strict=False)) / sum(weights)
    expected = [omega + (alpha + gamma / 2 + beta) * backcast]
    for r in returns:
        expected.append(omega + (alpha + gamma * (r < 0)) * r * r + beta * expected[-1])
    for _ in range(3):  # numpy may hand garch_path this freed NaN block for its output
        freed = np.full(101, np.nan)
        del freed
        got = garch_path(np.array(returns), omega, alpha, gamma, beta)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def _fit_by_arch(ohlcv: np.ndarray, first_test: int) -> np.ndarray:
    from arch import arch_model

    model = arch_model(log_returns(ohlcv) * 100, mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    return np.asarray(model.fit(disp="off", last_obs=first_test - 1).params)


def test_garch_is_fitted_on_the_returns_before_the_test_span_and_filters_on() -> None:
    ohlcv, first_test = bars(320, seed=2), 250
    got = REGISTRY["garch_t"].forecast(ohlcv, first_test, (0.1, 0.9))
    omega, alpha, beta, nu = _fit_by_arch(ohlcv, first_test)
    assert got.params["omega"] == pytest.approx(omega / 1e4, rel=1e-9)
    assert [got.params[k] for k in ("alpha", "beta", "nu")] == pytest.approx(
        [alpha, beta, nu], rel=1e-9
    )
    assert got.distribution == "student_t"
    path = garch_path(log_returns(ohlcv), omega / 1e4, alpha, 0.0, beta)
    np.testing.assert_allclose(
        got.variance, np.maximum(path[first_test - 1 : -1], 1e-12), rtol=1e-8
    )


@pytest.mark.parametrize("method", ["garch_t", "gjr_t"])
def test_a_failed_fit_falls_back_to_a_typical_garch_of_the_sample_variance(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arch.univariate.base import ARCHModel

    def fail(*args: object, **kwargs: object) -> None:
        raise ValueError("the optimiser failed")

    monkeypatch.setattr(ARCHModel, "fit", fail)
    ohlcv, first_test = bars(200, seed=3), 150
    got = REGISTRY[method].forecast(ohlcv, first_test, (0.1, 0.9))
    pct = [100 * r for r in log_returns(ohlcv)[: first_test - 1].tolist()]
    sample = sum(x * x for x in pct) / len(pct)
    expected = {"omega": sample * (1 - 0.95) / 1e4, "alpha": 0.05, "beta": 0.9, "nu": 8.0}
    if method == "gjr_t":
        expected["gamma"] = 0.0
    assert got.params == pytest.approx({**expected, "converged": 0.0}, rel=1e-12)
    path = garch_path(log_returns(ohlcv), expected["omega"], 0.05, 0.0, 0.9)
    np.testing.assert_allclose(got.variance, path[first_test - 1 : -1], rtol=1e-8)


# --- ewma ----------------------------------------------------------------------------------


def test_ewma_seed_and_one_step_scales_by_hand() -> None:
    ohlcv, first_test = bars(80, seed=5), 61
    returns = log_returns(ohlcv).tolist()
    got = REGISTRY["ewma"].forecast(ohlcv, first_test, (0.1, 0.9))
    seed = sum(r * r for r in returns[: first_test - 1]) / (first_test - 1)
    assert got.params["seed_variance"] == pytest.approx(seed, rel=1e-12)
    assert got.distribution == "gaussian"
    params = {"lambda": 0.9, "seed_variance": 4e-4}
    variance = [4e-4]
    for r in returns:
        variance.append(0.9 * variance[-1] + 0.1 * r * r)
    scales = REGISTRY["ewma"].one_step_scales(params, 0.8, ohlcv)
    np.testing.assert_allclose(scales, [math.sqrt(v) for v in variance], rtol=1e-12)


# --- HAR -----------------------------------------------------------------------------------


def test_har_regression_rows_by_hand() -> None:
    """Every row t from 23 (the 22-day mean needs 22 proxies after row 0) before the test
    span, regressed on the 1-, 5- and 22-day means of the proxy before it."""
    ohlcv, first_test = bars(160, seed=6), 120
    proxy = range_variance(ohlcv).tolist()
    design, target = [], []
    for t in range(23, first_test):
        design.append([1.0] + [statistics.fmean(proxy[t - lag : t]) for lag in (1, 5, 22)])
        target.append(proxy[t])
    coef = np.linalg.lstsq(np.array(design), np.array(target), rcond=None)[0]
    got = REGISTRY["har"].forecast(ohlcv, first_test, (0.1, 0.9))
    assert [got.params[k] for k in ("b0", "b1", "b5", "b22")] == pytest.approx(
        coef.tolist(), rel=1e-8
    )


HAR = {"b0": 2e-5, "b1": 0.3, "b5": 0.3, "b22": 0.3}


def har_by_hand(proxy: list[float], steps: int) -> list[float]:
    history, out = proxy[-22:], []
    for _ in range(steps):
        means = [statistics.fmean(history[-lag:]) for lag in (1, 5, 22)]
        value = HAR["b0"] + HAR["b1"] * means[0] + HAR["b5"] * means[1] + HAR["b22"] * means[2]
        out.append(max(value, VARIANCE_FLOOR))
        history.append(out[-1])
    return out


@pytest.mark.parametrize("rows", [23, 30, 60])
def test_har_iterates_from_the_last_22_proxies(rows: int) -> None:
    ohlcv = bars(rows, seed=7)
    z = (-1.3, 1.2)
    per_step = har_by_hand(range_variance(ohlcv).tolist(), 5)
    cumulative = np.cumsum(per_step)
    expected = np.sqrt(cumulative)[:, None] * np.array(z)[None, :]
    got = REGISTRY["har"].cumulative_quantiles(HAR, z, 0.8, ohlcv, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_har_has_a_scale_from_the_22nd_proxy() -> None:
    ohlcv = bars(22, seed=8)
    proxy = range_variance(ohlcv).tolist()
    scales = REGISTRY["har"].one_step_scales(HAR, 0.8, ohlcv)
    assert np.isnan(scales[:21]).all()
    assert scales[21] == pytest.approx(math.sqrt(har_by_hand(proxy, 1)[0]), rel=1e-12)


# --- trailing windows ----------------------------------------------------------------------


def test_hist50_and_emp250_have_a_scale_from_exactly_their_window() -> None:
    ohlcv = bars(251, seed=9)  # 250 returns
    returns = log_returns(ohlcv).tolist()
    hist = REGISTRY["hist50"].one_step_scales({"window": 50.0}, 0.8, ohlcv[:51])
    assert np.isnan(hist[:50]).all()
    assert hist[50] == pytest.approx(statistics.stdev(returns[:50]), rel=1e-12)
    emp = REGISTRY["emp250"].one_step_scales({"window": 250.0}, 0.8, ohlcv)
    assert np.isnan(emp[:250]).all()
    ordered = sorted(returns)

    def quantile(p: float) -> float:  # numpy's default: linear between order statistics
        k = p * 249
        low = math.floor(k)
        return ordered[low] + (k - low) * (ordered[min(low + 1, 249)] - ordered[low])

    assert emp[250] == pytest.approx((quantile(0.9) - quantile(0.1)) / 2, rel=1e-9)
    assert REGISTRY["hist50"].forecast(ohlcv, 100, (0.1, 0.9)).distribution == "gaussian"


# --- inputs --------------------------------------------------------------------------------


def test_levels_must_be_strictly_ascending_inside_0_1() -> None:
    assert checked_levels([0.1, 0.9]) == (0.1, 0.9)
    for bad in ([0.1, 1.0], [0.5, 1.5], [0.0, 0.5]):
        with pytest.raises(UsageError, match=r"^quantile levels must each be in \(0, 1\)"):
            checked_levels(bad)
    with pytest.raises(UsageError, match=r"^quantile levels must be strictly ascending"):
        checked_levels([0.5, 0.5])


def test_prices_must_be_positive_volume_may_be_zero() -> None:
    ohlcv = bars(5) * 0.01  # prices below 1 are fine
    ohlcv[:, 4] = 0.0
    np.testing.assert_array_equal(checked_ohlcv(ohlcv), ohlcv)
    ohlcv[2, 3] = 0.0
    message = "^prices must be finite and positive for the volatility baselines$"
    with pytest.raises(DataError, match=message):
        checked_ohlcv(ohlcv)


def test_a_first_test_row_of_1_is_in_range() -> None:
    assert forecast_baselines(bars(10), 1, (0.1, 0.9), names=[]) == {}
    with pytest.raises(DataError, match=r"^baseline ewma needs at least 21 rows"):
        forecast_baselines(bars(10), 1, (0.1, 0.9), names=["ewma"])
    with pytest.raises(DataError, match=r"^the first test row must be in \[1, 10\], got 0$"):
        forecast_baselines(bars(10), 0, (0.1, 0.9), names=[])


def test_unknown_baseline_lists_the_others() -> None:
    with pytest.raises(UsageError) as raised:
        lookup("garch")
    assert str(raised.value) == (
        "unknown baseline 'garch'; choose from garch_t, gjr_t, ewma, hist50, emp250, har"
    )
