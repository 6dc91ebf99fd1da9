"""Every p-value evaluate reports, recomputed: Kupiec, Christoffersen and conditional coverage
from the misses a test rebuilds (likelihoods written out here, tails from scipy), the
Diebold-Mariano tests from the losses (Newey-West and Harvey-Leybourne-Newbold by hand,
Student's t from scipy), and series with a known answer (perfectly calibrated misses give a
Kupiec p of exactly 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rnnforecast.metrics import probabilistic
from rnnforecast.metrics.report import report
from rnnforecast.risk.assessment import DayForecasts, compare
from rnnforecast.risk.baselines.interface import BaselineForecast


def kupiec_reference(hits: np.ndarray, level: float) -> float:
    """2 (binomial log-likelihood at the observed rate - at 1 - level), chi-squared(1)."""
    n, x = hits.size, int(hits.sum())
    observed = stats.binom.logpmf(x, n, x / n)
    null = stats.binom.logpmf(x, n, 1 - level)
    return float(stats.chi2.sf(max(2 * (observed - null), 0.0), 1))


def markov_lr(hits: np.ndarray) -> float:
    """Christoffersen's independence ratio from the transition counts, by hand."""
    pairs = list(zip(hits[:-1].tolist(), hits[1:].tolist(), strict=True))
    n = {(i, j): pairs.count((i, j)) for i in (False, True) for j in (False, True)}

    def ll(count_stay: int, count_move: int, prob_move: float) -> float:
        out = 0.0
        if count_stay:
            out += count_stay * math.log(1 - prob_move)
        if count_move:
            out += count_move * math.log(prob_move)
        return out

    n00, n01, n10, n11 = n[False, False], n[False, True], n[True, False], n[True, True]
    pi = (n01 + n11) / len(pairs)
    null = ll(n00 + n10, n01 + n11, pi)
    markov = ll(n00, n01, n01 / (n00 + n01)) + ll(n10, n11, n11 / (n10 + n11))
    return max(2 * (markov - null), 0.0)


def christoffersen_reference(hits: np.ndarray) -> float:
    return float(stats.chi2.sf(markov_lr(hits), 1))


def conditional_reference(hits: np.ndarray, level: float) -> float:
    unconditional = stats.chi2.isf(kupiec_reference(hits, level), 1)
    if kupiec_reference(hits, level) == 1.0:
        unconditional = 0.0
    return float(stats.chi2.sf(unconditional + markov_lr(hits), 2))


def dm_reference(loss: np.ndarray, other: np.ndarray, alternative: str) -> float:
    """One-step DM-HLN with Bartlett weights over floor(4 (n / 100)^(2/9)) lags."""
    d = np.asarray(loss, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    n = d.size
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    statistic = d.mean() / math.sqrt(long_run / n) * math.sqrt((n - 1) / n)
    if alternative == "less":
        return float(stats.t.cdf(statistic, n - 1))
    return float(2 * stats.t.sf(abs(statistic), n - 1))


# --- known answers --------------------------------------------------------------------------


def test_perfectly_calibrated_misses_have_a_kupiec_p_of_one() -> None:
    """8 misses in 40 days at 80% is exactly the promised rate: nothing to reject."""
    hits = np.zeros(40, dtype=bool)
    hits[::5] = True
    assert probabilistic.kupiec_p(hits, 0.8) == 1.0
    # ...and evenly spaced, a miss never follows a miss: the Markov fit differs
    assert probabilistic.christoffersen_p(hits) == pytest.approx(christoffersen_reference(hits))


def test_no_miss_in_250_days_at_99_percent() -> None:
    """The documented example: LR 5.03, p 0.025."""
    p = probabilistic.kupiec_p(np.zeros(250, dtype=bool), 0.99)
    assert p == pytest.approx(stats.chi2.sf(-2 * 250 * math.log(0.99), 1), rel=1e-12)
    assert p == pytest.approx(0.02498, abs=1e-5)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", [0.8, 0.95])
def test_coverage_tests_equal_scipy_on_random_misses(seed: int, level: float) -> None:
    rng = np.random.default_rng(seed)
    hits = rng.random(120) < (1 - level) * (0.5 + seed / 4)  # calibrated to badly missed
    hits[:2] = [True, False]  # both states have a successor
    assert probabilistic.kupiec_p(hits, level) == pytest.approx(kupiec_reference(hits, level))
    assert probabilistic.christoffersen_p(hits) == pytest.approx(christoffersen_reference(hits))
    assert probabilistic.christoffersen_cc_p(hits, level) == pytest.approx(
        conditional_reference(hits, level)
    )


# --- the p-values in evaluate's report ----------------------------------------------------------

M = 60


def moves(seed: int) -> np.ndarray:
    """Daily log moves of three sizes: 0.004 (inside every interval below), 0.015 (outside
    the 80% ones, inside the 95% ones), 0.03 (outside both), random signs."""
    rng = np.random.default_rng(seed)
    size = rng.choice([0.004, 0.015, 0.03], size=M, p=[0.75, 0.18, 0.07])
    return size * rng.choice([-1.0, 1.0], size=M)


def test_evaluate_report_p_values_are_recomputed_from_its_misses_and_errors() -> None:
    """metrics.report: the interval tests of the one-step misses at the bundle's level and
    the two-sided DM test of the one-step absolute errors against the naive forecast."""
    rng = np.random.default_rng(3)
    last = 100 * np.exp(np.cumsum(moves(1)))
    actual = np.column_stack([last * np.exp(moves(2)), last * np.exp(moves(4))])
    point = actual + rng.normal(0, 0.8, actual.shape)
    low, high = point * 0.99, point * 1.01
    out = report(actual, point, point, low, high, last, np.zeros(M), 0.8)
    misses = (actual[:, 0] < low[:, 0]) | (actual[:, 0] > high[:, 0])
    assert 0 < misses.sum() < M
    intervals = out.intervals
    assert intervals["kupiec_p"] == pytest.approx(kupiec_reference(misses, 0.8))
    assert intervals["christoffersen_p"] == pytest.approx(christoffersen_reference(misses))
    assert intervals["christoffersen_cc_p"] == pytest.approx(conditional_reference(misses, 0.8))
    errors, naive = np.abs(actual[:, 0] - point[:, 0]), np.abs(actual[:, 0] - last)
    expected = dm_reference(errors, naive, "two-sided")
    assert out.significance["p_value"] == pytest.approx(expected, rel=1e-9)


def fixed_width(half: float) -> object:
    """A fake forecast_baselines: every baseline's log-return quantiles are a Gaussian's with
    a constant standard deviation ``half`` / 1.2816 (so its 80% interval is +-``half``)."""

    def forecast(
        ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...], names: tuple[str, ...]
    ) -> dict[str, BaselineForecast]:
        m = len(ohlcv) - first_test
        sd = half / stats.norm.ppf(0.9)
        row = sd * stats.norm.ppf(np.asarray(levels))
        quantiles = np.tile(row, (m, 1))
        variance = np.full(m, sd * sd)
        return {
            name: BaselineForecast(name, variance, quantiles, levels, {}, "gaussian")
            for name in names
        }

    return forecast


def test_risk_report_p_values_are_recomputed_from_the_rebuilt_misses() -> None:
    """risk.assessment.compare: kupiec_p_*, christoffersen_p_*, christoffersen_cc_p_* of the
    model and of each baseline at 80% and 95%, and the one-sided DM p-value of the model's
    80% interval scores against the best baseline's."""
    first = 5
    closes = 100 * np.exp(np.cumsum(np.concatenate([np.zeros(first), moves(7)])))
    ohlcv = np.column_stack(
        [closes, closes * 1.01, closes * 0.99, closes, np.full(closes.size, 1e6)]
    )
    last, actual = closes[first - 1 : -1], closes[first:]
    # the model: +-1% at 80%, +-2% at 95% around the last close
    bounds = {
        0.8: (last * 0.99, last * 1.01),
        0.9: (last * 0.985, last * 1.015),
        0.95: (last * 0.98, last * 1.02),
    }
    model = DayForecasts(bounds, last.copy(), np.zeros(M), np.full(M, 1e-4))
    got = compare(ohlcv, first, model, "model", fixed_width(0.012), ["ewma", "hist50"])

    assert got.model is not None
    for level, tag, (low, high) in ((0.8, "80", bounds[0.8]), (0.95, "95", bounds[0.95])):
        misses = (actual < low) | (actual > high)
        assert 0 < misses.sum() < M
        assert got.model[f"kupiec_p_{tag}"] == pytest.approx(kupiec_reference(misses, level))
        assert got.model[f"christoffersen_p_{tag}"] == pytest.approx(
            christoffersen_reference(misses)
        )
        assert got.model[f"christoffersen_cc_p_{tag}"] == pytest.approx(
            conditional_reference(misses, level)
        )
    sd = 0.012 / stats.norm.ppf(0.9)
    for level, tag in ((0.8, "80"), (0.95, "95")):
        z = stats.norm.ppf((1 + level) / 2) * sd
        misses = (actual < last * np.exp(-z)) | (actual > last * np.exp(z))
        for name in ("ewma", "hist50"):
            row = got.baselines[name]
            assert row is not None
            assert row[f"kupiec_p_{tag}"] == pytest.approx(kupiec_reference(misses, level))
            assert row[f"christoffersen_cc_p_{tag}"] == pytest.approx(
                conditional_reference(misses, level)
            )

    def interval_score(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        below, above = np.maximum(low - actual, 0), np.maximum(actual - high, 0)
        return (high - low) + (2 / 0.2) * (below + above)

    z80 = stats.norm.ppf(0.9) * sd
    model_is = interval_score(*bounds[0.8])
    best_is = interval_score(last * np.exp(-z80), last * np.exp(z80))
    assert got.best_baseline == "ewma"  # equal scores: the first in order
    assert got.dm["p_value"] == pytest.approx(dm_reference(model_is, best_is, "less"), rel=1e-9)


def test_pooled_dm_p_value_is_recomputed_from_per_day_means_over_the_members() -> None:
    """jobs.pool_risk.pool: the one-sided DM test of the model's log interval scores against
    the best baseline's, each first averaged over the members trading that calendar day (BBB
    starts 10 days later, so the first 10 days have one member, the rest two)."""
    from rnnforecast.jobs.pool_risk import MemberDays, pool
    from rnnforecast.risk.assessment import DayLosses

    rng = np.random.default_rng(11)
    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))
    spans = {"AAA": dates, "BBB": dates[10:]}
    days, scores = {}, {}
    for ticker, span in spans.items():
        model = rng.gamma(2.0, 0.01, span.size)
        ewma = model * rng.uniform(0.9, 1.3, span.size)
        scores[ticker] = (span, model, ewma)
        misses = rng.random(span.size) < 0.2
        losses = {
            name: DayLosses(values * 100, misses, misses & (values > 0.03), values)
            for name, values in (("model", model), ("ewma", ewma))
        }
        days[ticker] = MemberDays(span, losses)
    pooled = pool(days)
    assert pooled is not None and pooled.best_baseline == "ewma"

    def per_day(which: int) -> np.ndarray:
        out = []
        for day in dates:
            values = [s[which][s[0] == day] for s in scores.values()]
            out.append(float(np.mean(np.concatenate(values))))
        return np.array(out)

    expected = dm_reference(per_day(1), per_day(2), "less")
    assert pooled.dm["p_value"] == pytest.approx(expected, rel=1e-9)
    assert pooled.days == dates.size and pooled.n == dates.size + dates.size - 10
