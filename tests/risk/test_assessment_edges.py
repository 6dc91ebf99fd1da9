"""The edges of rnnforecast.risk.assessment that a mutation run (mutmut, docs/tests.md) found
untested, with baselines handed in by a fake ``forecast_baselines``: the rows the baselines
and the scores read when the bars go on past the test period, the best baseline by interval
score (not by name), a tie with it, the DM result and its lag, the model's conformal bounds
with an adaptive scheme, each score and per-day figure, and which CRPS a family takes.
Expected values are recomputed here from the definitions."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from scipy.stats import t as student

from rnnforecast.forecast.conformal import Adaptive
from rnnforecast.forecast.conformal import factors as conformal_factors
from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk import assessment
from rnnforecast.risk.assessment import DayForecasts
from rnnforecast.risk.baselines import range_variance
from rnnforecast.risk.baselines.interface import BaselineForecast


def bars(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return np.column_stack([close, close * 1.01, close * 0.99, close, np.full(n, 1e6)])


def fake(widths: dict[str, float], seen: list[Any]) -> Any:
    """A forecast_baselines whose baseline NAME forecasts a zero-mean Gaussian of standard
    deviation ``widths[NAME]`` for every test row; ``seen`` records (rows, first_test, names)."""

    def forecast(rows: np.ndarray, first_test: int, levels: Any, names: Any) -> Any:
        seen.append((rows.shape[0], first_test, tuple(names)))
        m = rows.shape[0] - first_test
        out = {}
        for name in names:
            sd = widths[name]
            z = np.array([NormalDist().inv_cdf(level) for level in levels])
            quantiles = np.tile(sd * z, (m, 1))
            out[name] = BaselineForecast(
                name, np.full(m, sd * sd), quantiles, tuple(levels), {}, "gaussian"
            )
        return out

    return forecast


def model_days(point: np.ndarray, last: np.ndarray, half: float) -> DayForecasts:
    bounds = {
        level: (point * math.exp(-half * k), point * math.exp(half * k))
        for level, k in ((0.8, 1.0), (0.9, 1.3), (0.95, 1.6))
    }
    return DayForecasts(bounds, point, np.log(point / last), np.full(len(point), half**2))


def by_hand_is(actual: np.ndarray, low: np.ndarray, high: np.ndarray, level: float) -> np.ndarray:
    alpha = 1 - level
    out = []
    for y, lo, hi in zip(actual.tolist(), low.tolist(), high.tolist(), strict=True):
        out.append((hi - lo) + 2 / alpha * max(lo - y, 0.0) + 2 / alpha * max(y - hi, 0.0))
    return np.array(out)


def test_compare_reads_the_test_rows_only_and_picks_the_best_by_score() -> None:
    """Bars go on 20 rows past the test period; 'zz' (last by name) is the best baseline."""
    ohlcv, first, m = bars(140), 60, 60
    last_test = first + m - 1
    actual, last = ohlcv[first : last_test + 1, 3], ohlcv[first - 1 : last_test, 3]
    model = model_days(last * 1.0005, last, 0.02)
    seen: list[Any] = []
    report, days = assessment.compare_days(
        ohlcv, first, model, "x", fake({"aa": 0.05, "zz": 0.012}, seen), ["aa", "zz"]
    )
    assert seen == [(last_test + 1, first, ("aa", "zz"))]
    assert set(days) == {"model", "aa", "zz"}
    assert report.best_baseline == "zz"
    model_is = by_hand_is(actual, *model.bounds[0.8], 0.8)
    z = NormalDist().inv_cdf(0.9)
    best_is = by_hand_is(actual, last * math.exp(-0.012 * z), last * math.exp(0.012 * z), 0.8)
    np.testing.assert_allclose(days["model"].interval_score_80, model_is, rtol=1e-9)
    np.testing.assert_allclose(days["zz"].interval_score_80, best_is, rtol=1e-9)
    assert report.beats_best_baseline == bool(model_is.mean() < best_is.mean())
    statistic, p = accuracy.diebold_mariano(model_is, best_is, alternative="less")
    assert report.dm == pytest.approx(
        {"statistic": statistic, "p_value": p, "lag": accuracy.hac_lag(m)}
    )
    proxy = range_variance(ohlcv[: last_test + 1])[first:]
    variance = model.variance
    qlike = float(np.mean(proxy / variance - np.log(proxy / variance) - 1))
    assert report.model["qlike"] == pytest.approx(qlike, rel=1e-9)


def test_a_model_that_ties_the_best_does_not_beat_it_and_one_below_does() -> None:
    ohlcv, first, m = bars(120), 60, 60
    last = ohlcv[first - 1 : first + m - 1, 3]
    z = -NormalDist().inv_cdf(0.1)  # as the fake computes the low end
    tie = model_days(last, last, 0.012 * z)  # the same 80% bounds as the baseline's
    report = assessment.compare(ohlcv, first, tie, "x", fake({"g": 0.012}, []), ["g"])
    assert report.beats_best_baseline is False
    narrower = model_days(last, last, 0.011 * z)
    report = assessment.compare(ohlcv, first, narrower, "x", fake({"g": 0.2}, []), ["g"])
    assert report.beats_best_baseline is True


def test_without_baselines_there_is_no_test() -> None:
    ohlcv, first = bars(80), 60
    last = ohlcv[first - 1 : 79, 3]
    report = assessment.compare(ohlcv, first, model_days(last, last, 0.02), "x", fake({}, []), [])
    assert (report.best_baseline, report.beats_best_baseline) == (None, None)
    assert report.dm == {"statistic": None, "p_value": None, "lag": None}


def test_the_default_baselines_are_those_with_enough_rows() -> None:
    ohlcv, first = bars(60), 30  # 29 returns: ewma only
    last = ohlcv[first - 1 : 59, 3]
    seen: list[Any] = []
    assessment.compare(ohlcv, first, model_days(last, last, 0.02), "x", fake({"ewma": 0.01}, seen))
    assert seen == [(60, 30, ("ewma",))]


def test_dm_less_by_hand() -> None:
    rng = np.random.default_rng(1)
    loss, base = rng.gamma(2.0, 1.0, 40), rng.gamma(2.2, 1.0, 40)
    d = loss - base
    n, lags = 40, accuracy.hac_lag(40)
    assert lags == 3
    c = d - d.mean()
    g = [float(np.dot(c[j:], c[: n - j])) / n for j in range(lags + 1)]
    variance = (g[0] + 2 * sum((1 - j / (lags + 1)) * g[j] for j in range(1, lags + 1))) / n
    statistic = d.mean() / math.sqrt(variance) * math.sqrt((n - 1) / n)
    got = assessment.dm_less(loss, base)
    assert got == pytest.approx(
        {"statistic": statistic, "p_value": student.cdf(statistic, n - 1), "lag": 3}, rel=1e-9
    )
    assert assessment.dm_less(loss, loss) == {"statistic": None, "p_value": None, "lag": None}


def test_model_forecasts_by_hand_with_an_adaptive_scheme() -> None:
    rng = np.random.default_rng(2)
    all_scores = rng.gamma(2.0, 0.5, 200)
    validation = np.zeros(200, bool)
    validation[:120] = True
    test = ~validation
    point, last = np.full(80, 51.0), np.full(80, 50.0)
    scale = rng.uniform(0.5, 2.0, 80)
    served = (0.8, np.full(80, 0.03))
    scheme = Adaptive(window=20, gamma=0.05, warmup=10)
    got = assessment.model_forecasts(
        point, last, scale, served, all_scores, validation, test, scheme
    )
    ordered = sorted(all_scores[validation].tolist())
    assert set(got.bounds) == {0.8, 0.9, 0.95}
    np.testing.assert_allclose(got.bounds[0.8][1], point * np.exp(0.03), rtol=1e-12)
    for level in (0.9, 0.95):
        width = ordered[min(math.ceil(121 * level), 120) - 1]
        factor = conformal_factors(all_scores, level, scheme, width)[:-1][test]
        assert not np.allclose(factor, 1.0)
        spread = width * scale * factor
        np.testing.assert_allclose(got.bounds[level][0], point * np.exp(-spread), rtol=1e-12)
        np.testing.assert_allclose(got.bounds[level][1], point * np.exp(spread), rtol=1e-12)
    np.testing.assert_array_equal(got.median, point)
    np.testing.assert_allclose(got.log_mean, np.log(point / last), rtol=1e-12)
    assert (got.distribution, got.df) == ("quantiles", None)
    with pytest.raises(ValueError, match=r"^no validation windows to calibrate the intervals on$"):
        assessment.model_forecasts(
            point, last, scale, served, all_scores, np.zeros(200, bool), test, None
        )


def test_scores_per_day_by_hand() -> None:
    actual = np.array([50.0, 52.0, 47.0, 50.5])
    last = np.array([50.2, 50.0, 50.0, 50.0])
    low, high = actual * 0 + 49.0, actual * 0 + 51.0
    bounds = {0.8: (low, high), 0.9: (low - 1, high + 1), 0.95: (low - 2, high + 2)}
    day = DayForecasts(bounds, last, np.zeros(4), np.full(4, 4e-4))
    proxy = np.array([1e-4, 4e-4, 9e-4, 2e-4])
    out, days = assessment.scores(actual, last, day, proxy)
    np.testing.assert_array_equal(days.outside_80, [False, True, True, False])
    np.testing.assert_array_equal(days.outside_95, [False, False, False, False])
    log_is = by_hand_is(np.log(actual), np.log(low), np.log(high), 0.8)
    np.testing.assert_allclose(days.log_interval_score_80, log_is, rtol=1e-12)
    ratio = proxy / 4e-4
    assert out["qlike"] == pytest.approx(float(np.mean(ratio - np.log(ratio) - 1)), rel=1e-12)


def test_the_crps_a_family_takes() -> None:
    grid = np.tile(np.linspace(-0.05, 0.05, 100), (2, 1))
    x = np.array([0.01, -0.02])
    both = DayForecasts({}, x, np.zeros(2), np.full(2, 1e-4), "quantiles", 5.0, grid)
    np.testing.assert_array_equal(both.crps(x), probabilistic.crps_quantiles(x, grid))
    no_df = DayForecasts({}, x, np.zeros(2), np.full(2, 1e-4), "student_t", None, grid)
    with pytest.raises(ValueError, match=r"^no CRPS for a 'student_t' forecast without its"):
        no_df.crps(x)
