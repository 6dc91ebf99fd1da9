"""The classical volatility baselines: reference fits, hand computations, no look-ahead."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from rnnforecast.errors import DataError, UsageError
from rnnforecast.risk.baselines import (
    BASELINES,
    VARIANCE_FLOOR,
    BaselineForecast,
    baselines_for,
    forecast_baselines,
    range_variance,
)
from tests.conftest import make_prices

LEVELS = (0.1, 0.5, 0.9)


def bars_from_returns(returns: np.ndarray) -> np.ndarray:
    """(len(returns) + 1, 5) bars whose closes have exactly these log returns; open = previous
    close, high/low 1% around the close."""
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    return np.column_stack([open_, high, low, close, np.full(close.size, 1e6)])


def sample_bars(n: int = 400, seed: int = 0) -> np.ndarray:
    frame = make_prices(n=n, seed=seed)
    return frame[["Open", "High", "Low", "Close", "Volume"]].to_numpy(np.float64)


def clustered_bars(n: int = 400) -> np.ndarray:
    """Bars with volatility clustering (a simulated GJR-GARCH), so GARCH fits a real alpha."""
    return bars_from_returns(
        simulated_returns([0.05, 0.05, 0.1, 0.85, 6.0], gjr=True, seed=2)[: n - 1]
    )


def simulated_returns(params: list[float], gjr: bool, seed: int) -> np.ndarray:
    """Log returns (not percent) simulated by arch's own GARCH/GJR-GARCH Student-t simulator,
    whose parameters are in percent units."""
    from arch.univariate import GARCH, StudentsT, ZeroMean

    model = ZeroMean(
        volatility=GARCH(p=1, o=int(gjr), q=1),
        distribution=StudentsT(seed=np.random.default_rng(seed)),
    )
    return model.simulate(params, nobs=3000, burn=500)["data"].to_numpy() / 100.0


def standardized_t(levels: tuple[float, ...], nu: float) -> np.ndarray:
    """Quantiles of a Student t with nu degrees of freedom scaled to unit variance."""
    return stats.t.ppf(levels, nu) * math.sqrt((nu - 2) / nu)


@pytest.mark.parametrize(
    ("name", "true"),
    [
        ("garch_t", {"omega": 0.05e-4, "alpha": 0.10, "beta": 0.85, "nu": 6.0}),
        ("gjr_t", {"omega": 0.05e-4, "alpha": 0.03, "gamma": 0.12, "beta": 0.85, "nu": 6.0}),
    ],
)
def test_arch_baselines_recover_simulated_params_and_filter_by_the_recursion(
    name: str, true: dict[str, float]
) -> None:
    gjr = name == "gjr_t"
    pct = [true["omega"] * 1e4, true["alpha"], *([true["gamma"]] if gjr else []), true["beta"]]
    returns = simulated_returns([*pct, true["nu"]], gjr=gjr, seed=11)
    bars = bars_from_returns(returns)
    first_test = 2500

    forecast = forecast_baselines(bars, first_test, LEVELS, names=[name])[name]

    p = forecast.params
    assert p["converged"] == 1.0
    assert p["omega"] == pytest.approx(true["omega"], rel=0.5)
    assert p["alpha"] == pytest.approx(true["alpha"], abs=0.04)
    assert p["beta"] == pytest.approx(true["beta"], abs=0.05)
    assert p["nu"] == pytest.approx(true["nu"], abs=2.0)
    if gjr:
        assert p["gamma"] == pytest.approx(true["gamma"], abs=0.06)

    # An independent recursion with the fitted parameters, seeded far back with the sample
    # variance: after 2500 days the seed's weight (beta^2500) is nil.
    gamma = p.get("gamma", 0.0)
    s2 = float(np.mean(returns**2))
    expected = []
    for t in range(1, len(bars)):  # s2 on entry is the variance forecast for row t
        if t >= first_test:
            expected.append(s2)
        r = returns[t - 1]  # row t's return
        s2 = p["omega"] + (p["alpha"] + gamma * (r < 0)) * r**2 + p["beta"] * s2
    np.testing.assert_allclose(forecast.variance, expected, rtol=1e-6)
    z = standardized_t(LEVELS, p["nu"])
    np.testing.assert_allclose(forecast.quantiles, np.sqrt(expected)[:, None] * z, rtol=1e-6)


def shock_bars(a: float, b: float, first_test: int, n: int) -> tuple[np.ndarray, list[float]]:
    """Returns +a, -a, +a, ... except row first_test's return, which is b."""
    returns = [a * (-1) ** j for j in range(n - 1)]
    returns[first_test - 1] = b  # returns[j] is row j + 1's return
    return bars_from_returns(np.array(returns)), returns


def test_ewma_follows_riskmetrics_by_hand() -> None:
    a, b, first_test = 0.01, 0.05, 60
    bars, _ = shock_bars(a, b, first_test, n=64)

    forecast = forecast_baselines(bars, first_test, LEVELS, names=["ewma"])["ewma"]

    # The seed is mean(r^2) = a^2 and every pre-test return has r^2 = a^2: a steady state.
    day1 = 0.94 * a**2 + 0.06 * b**2
    day2 = 0.94 * day1 + 0.06 * a**2
    day3 = 0.94 * day2 + 0.06 * a**2
    np.testing.assert_allclose(forecast.variance, [a**2, day1, day2, day3], rtol=1e-12)
    z = stats.norm.ppf(LEVELS)
    np.testing.assert_allclose(forecast.quantiles, np.sqrt(forecast.variance)[:, None] * z)
    assert forecast.params == {"lambda": 0.94, "seed_variance": pytest.approx(a**2)}


def test_hist50_is_the_sample_variance_of_the_50_returns_before_each_row() -> None:
    a, b, first_test = 0.01, 0.05, 60
    bars, returns = shock_bars(a, b, first_test, n=63)

    forecast = forecast_baselines(bars, first_test, LEVELS, names=["hist50"])["hist50"]

    # Row t's window is rows t-50 .. t-1, i.e. returns[t-51 : t-1].
    expected = [statistics.variance(returns[t - 51 : t - 1]) for t in (60, 61, 62)]
    assert expected[0] == pytest.approx(50 * a**2 / 49)  # 25 of +a, 25 of -a
    np.testing.assert_allclose(forecast.variance, expected, rtol=1e-12)
    np.testing.assert_allclose(
        forecast.quantiles, np.sqrt(expected)[:, None] * stats.norm.ppf(LEVELS)
    )


def test_emp250_takes_the_empirical_quantiles_of_the_last_250_returns() -> None:
    d = 1e-4
    pretest = (np.arange(250) - 124.5) * d  # mean zero, evenly spaced
    pretest = np.random.default_rng(0).permutation(pretest)
    bars = bars_from_returns(np.concatenate([pretest, [0.3, 0.0]]))

    forecast = forecast_baselines(bars, 251, LEVELS, names=["emp250"])["emp250"]

    # numpy's linear quantile at p sits at position p * 249 of the sorted values.
    np.testing.assert_allclose(forecast.quantiles[0], [-99.6 * d, 0.0, 99.6 * d], atol=1e-15)
    assert forecast.variance[0] == pytest.approx(d**2 * 250 * 251 / 12, rel=1e-12)
    # The next row's window drops the first return and takes in the 0.3 jump; its quantiles are
    # those of the window less its mean (0.3 / 250 higher than before).
    window = np.concatenate([pretest[1:], [0.3]])
    assert forecast.quantiles[1, 1] == pytest.approx(np.median(window) - window.mean())


def test_har_recovers_an_exact_har_process_and_scales_its_standardized_returns() -> None:
    # A variance path that follows the HAR recursion exactly (no noise) from a random start:
    # OLS must find the coefficients, and each forecast must equal the next value.
    true = (2e-5, 0.4, 0.3, 0.2)
    rng = np.random.default_rng(4)
    n, first_test = 150, 100
    rv = np.empty(n)
    rv[:23] = rng.uniform(1e-5, 4e-4, 23)
    for t in range(23, n):
        rv[t] = (
            true[0]
            + true[1] * rv[t - 1]
            + true[2] * rv[t - 5 : t].mean()
            + true[3] * rv[t - 22 : t].mean()
        )
    # Each return is sqrt(rv) times a known standardized value; the open is the previous close
    # (no gap), and high/low sit around the body so Garman-Klass equals rv exactly.
    z = np.resize([-1.5, -0.5, 0.5, 1.5, 1.0, -1.0, 0.0, 2.0, -2.5], n)
    r = np.sqrt(rv) * z
    r[0] = 0.0
    log_close = np.log(100.0) + np.cumsum(r)
    log_open = np.concatenate([[log_close[0]], log_close[:-1]])
    k = 2 * math.log(2) - 1
    half_range = np.sqrt(2 * (rv + k * r**2)) / 2
    mid = (log_open + log_close) / 2
    bars = np.exp(
        np.column_stack([log_open, mid + half_range, mid - half_range, log_close, np.zeros(n)])
    )
    np.testing.assert_allclose(range_variance(bars), rv, rtol=1e-9)

    forecast = forecast_baselines(bars, first_test, LEVELS, names=["har"])["har"]

    got = [forecast.params[key] for key in ("b0", "b1", "b5", "b22")]
    np.testing.assert_allclose(got, true, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(forecast.variance, rv[first_test:], rtol=1e-6)
    # The fit rows are 23 .. 99, whose returns standardize back to z exactly.
    z_levels = np.quantile(z[23:first_test], LEVELS)
    np.testing.assert_allclose(
        forecast.quantiles, np.sqrt(rv[first_test:])[:, None] * z_levels, rtol=1e-6
    )
    assert forecast.params["z@0.1"] == pytest.approx(z_levels[0])


def test_range_variance_is_garman_klass_plus_the_overnight_gap() -> None:
    bars = np.array(
        [
            [99.0, 99.5, 97.0, 98.0, 1.0],
            [100.0, 110.0, 95.0, 105.0, 1.0],
            [104.0, 103.0, 101.0, 104.0, 1.0],  # the high is below the open: widened to 104
        ]
    )
    k = 2 * math.log(2) - 1
    expected = [
        0.5 * math.log(99.5 / 97) ** 2 - k * math.log(98 / 99) ** 2,
        0.5 * math.log(110 / 95) ** 2 - k * math.log(105 / 100) ** 2 + math.log(100 / 98) ** 2,
        0.5 * math.log(104 / 101) ** 2 - 0.0 + math.log(104 / 105) ** 2,
    ]
    np.testing.assert_allclose(range_variance(bars), expected, rtol=1e-12)


@pytest.mark.parametrize("name", BASELINES)
def test_changing_a_close_leaves_the_forecasts_up_to_that_row_unchanged(name: str) -> None:
    bars = clustered_bars()
    first_test, changed = 300, 306
    moved = bars.copy()
    moved[changed, 3] *= 1.08  # a jump in row 306's close (and so in its high)
    moved[changed, 1] = max(moved[changed, 1], moved[changed, 3])
    moved[changed + 1, 0] = moved[changed, 3]  # opens where it closed

    before = forecast_baselines(bars, first_test, LEVELS, names=[name])[name]
    after = forecast_baselines(moved, first_test, LEVELS, names=[name])[name]

    upto = changed - first_test + 1  # rows first_test .. changed
    np.testing.assert_array_equal(after.variance[:upto], before.variance[:upto])
    np.testing.assert_array_equal(after.quantiles[:upto], before.quantiles[:upto])
    assert after.params == before.params
    # ... and the jump does reach the next day's forecast (else this test could not fail).
    assert after.variance[upto] != before.variance[upto]


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_gives_finite_ascending_quantiles_for_each_test_row(name: str) -> None:
    bars = sample_bars()

    result = forecast_baselines(bars, 300, (0.05, 0.1, 0.5, 0.9, 0.95), names=[name])

    assert list(result) == [name]
    forecast = result[name]
    assert isinstance(forecast, BaselineForecast)
    assert forecast.name == name
    assert forecast.levels == (0.05, 0.1, 0.5, 0.9, 0.95)
    assert forecast.variance.shape == (100,)
    assert forecast.quantiles.shape == (100, 5)
    assert np.all(np.isfinite(forecast.variance)) and np.all(forecast.variance >= VARIANCE_FLOOR)
    assert np.all(np.isfinite(forecast.quantiles))
    assert np.all(np.diff(forecast.quantiles, axis=1) > 0)
    assert forecast.params and all(
        type(v) is float and math.isfinite(v) for v in forecast.params.values()
    )


def test_all_baselines_at_once_and_an_empty_test_span() -> None:
    bars = sample_bars(n=300)

    everything = forecast_baselines(bars, 260, LEVELS)
    nothing = forecast_baselines(bars, 300, LEVELS)

    assert list(everything) == list(BASELINES)
    assert all(f.quantiles.shape == (40, 3) for f in everything.values())
    assert all(f.variance.shape == (0,) for f in nothing.values())
    assert all(f.quantiles.shape == (0, 3) for f in nothing.values())


@pytest.mark.parametrize("wiggle", [0.0, 1e-9])
def test_flat_prices_give_floored_finite_forecasts_and_a_recorded_fallback(wiggle: float) -> None:
    n = 400
    close = 100.0 * np.exp(wiggle * (-1.0) ** np.arange(n))
    bars = np.column_stack([close, close, close, close, np.ones(n)])

    result = forecast_baselines(bars, 300, LEVELS)

    for forecast in result.values():
        assert np.all(np.isfinite(forecast.variance)), forecast.name
        assert np.all(forecast.variance >= VARIANCE_FLOOR), forecast.name
        assert np.all(np.isfinite(forecast.quantiles)), forecast.name
        assert all(math.isfinite(v) for v in forecast.params.values()), forecast.name
    if wiggle == 0.0:
        # arch's optimiser cannot fit a series of zeros: the fixed fallback is used and said so.
        assert result["garch_t"].params["converged"] == 0.0
        assert result["gjr_t"].params["converged"] == 0.0
        np.testing.assert_array_equal(result["ewma"].variance, VARIANCE_FLOOR)


@pytest.mark.parametrize(
    ("name", "first_test", "message"),
    [
        ("emp250", 250, "baseline emp250 needs at least 251 rows before the test span "
         "(250 returns), got 250"),
        ("garch_t", 60, "baseline garch_t needs at least 101 rows before the test span "
         "(100 returns), got 60"),
        ("har", 52, "baseline har needs at least 53 rows before the test span "
         "(52 returns), got 52"),
    ],
)  # fmt: skip
def test_too_few_rows_before_the_test_span_is_a_data_error(
    name: str, first_test: int, message: str
) -> None:
    with pytest.raises(DataError) as caught:
        forecast_baselines(sample_bars(), first_test, LEVELS, names=[name])
    assert str(caught.value) == message
    assert caught.value.exit_code == 3


def test_baselines_for_a_short_series_leave_out_those_that_need_more_rows() -> None:
    assert baselines_for(250) == ("garch_t", "gjr_t", "ewma", "hist50", "har")
    assert baselines_for(251) == BASELINES
    assert baselines_for(53) == ("ewma", "hist50", "har")
    assert baselines_for(52) == ("ewma", "hist50")
    assert baselines_for(20) == ()
    forecast_baselines(sample_bars(), 250, LEVELS, names=baselines_for(250))  # does not raise


def test_bad_bars_are_data_errors_and_bad_requests_usage_errors() -> None:
    bars = sample_bars()
    negative = bars.copy()
    negative[10, 2] = -1.0
    with pytest.raises(DataError, match=r"expected bars of shape \(n, 5\)"):
        forecast_baselines(bars[:, :4], 300, LEVELS)
    with pytest.raises(DataError, match="prices must be finite and positive"):
        forecast_baselines(negative, 300, LEVELS)
    with pytest.raises(DataError, match=r"the first test row must be in \[1, 400\], got 401"):
        forecast_baselines(bars, 401, LEVELS)
    with pytest.raises(UsageError, match="unknown baseline 'garch'"):
        forecast_baselines(bars, 300, LEVELS, names=["garch"])
    with pytest.raises(UsageError, match="strictly ascending"):
        forecast_baselines(bars, 300, (0.9, 0.1))
    with pytest.raises(UsageError, match=r"each be in \(0, 1\)"):
        forecast_baselines(bars, 300, (0.0, 0.5))


def test_importing_the_module_leaves_arch_unimported() -> None:
    probe = "import sys, rnnforecast.risk.baselines; print('arch' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert completed.stdout.strip() == "False"
