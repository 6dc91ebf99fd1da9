"""The served fan's choice per block of horizons (rnnforecast/risk/fans/choice.py) and the
per-horizon scores (scores.py, report.py), recomputed by hand on fans whose quality is known:
a fan with the right spread must be chosen over one too narrow or too wide, the network only
when it wins significantly, and every score must equal its formula."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from rnnforecast.errors import DataError, ModelError
from rnnforecast.risk.fans import choice, report, scores
from rnnforecast.risk.fans.choice import NETWORK, FanRecord
from rnnforecast.risk.fans.interface import FAN_LEVELS, FanFit, realised_targets

H = 22
Z = np.array([stats.norm.ppf(q) for q in FAN_LEVELS])


def _random_walk(n: int, sd: float = 0.01, seed: int = 0) -> np.ndarray:
    """(n, 5) bars of a Gaussian random walk of daily log-return sd ``sd``."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, sd, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high, low = np.maximum(open_, close) * 1.002, np.minimum(open_, close) * 0.998
    return np.column_stack([open_, high, low, close, np.full(n, 1e6)])


def _gaussian_fan(m: int, sd: float) -> np.ndarray:
    """(m, H, L) fans of a zero-mean random walk with daily sd ``sd``."""
    h = np.sqrt(np.arange(1, H + 1))
    return np.broadcast_to(sd * h[None, :, None] * Z[None, None, :], (m, H, len(Z))).copy()


def test_interval_losses_and_scores_equal_their_formulas() -> None:
    rng = np.random.default_rng(1)
    m = 400
    q = _gaussian_fan(m, 0.01)[:, 4]
    actual = rng.normal(0, 0.01 * math.sqrt(5), m)
    close = rng.uniform(50, 150, m)
    proxy = rng.uniform(1e-4, 9e-4, m)
    got = scores.horizon_scores(q, actual, close, proxy, 5)
    y = close * np.exp(actual)
    lo, hi = close * np.exp(q[:, 2]), close * np.exp(q[:, 6])
    winkler = (hi - lo) + 10 * np.maximum(lo - y, 0) + 10 * np.maximum(y - hi, 0)
    assert got["interval_score_80"] == pytest.approx(winkler.mean(), rel=1e-12)
    lo95, hi95 = close * np.exp(q[:, 0]), close * np.exp(q[:, 8])
    w95 = (hi95 - lo95) + 40 * np.maximum(lo95 - y, 0) + 40 * np.maximum(y - hi95, 0)
    assert got["interval_score_95"] == pytest.approx(w95.mean(), rel=1e-12)
    miss = (y < lo) | (y > hi)
    assert got["coverage_80"] == pytest.approx(1 - miss.mean())
    # Kupiec on every 5th origin only (the overlapping 5-day windows are dependent)
    spaced = miss[::5]
    n, x = len(spaced), int(spaced.sum())
    lr = -2 * (stats.binom.logpmf(x, n, 0.2) - stats.binom.logpmf(x, n, x / n))
    assert got["kupiec_p"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-9)
    assert got["tested_n"] == n and got["n"] == m
    prices = close[:, None] * np.exp(q)
    tau = np.array(FAN_LEVELS)
    d = y[:, None] - prices
    pin = np.maximum(tau * d, (tau - 1) * d)
    assert got["pinball"] == pytest.approx(pin.mean(), rel=1e-12)
    crps = 2 * np.sum((pin[:, 1:] + pin[:, :-1]) / 2 * np.diff(tau), axis=1)
    assert got["crps"] == pytest.approx(crps.mean(), rel=1e-12)
    variance = ((q[:, 5] - q[:, 3]) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))) ** 2
    assert variance == pytest.approx(np.full(m, 5e-4), rel=1e-9)
    ratio = proxy / variance
    assert got["qlike"] == pytest.approx(np.mean(ratio - np.log(ratio) - 1), rel=1e-12)


def test_the_choice_serves_the_calibrated_fan_in_every_block() -> None:
    bars = _random_walk(900, 0.01, seed=2)
    origins = np.arange(400, 900)
    actual = realised_targets(bars, origins, H)
    fans = {
        "right": _gaussian_fan(500, 0.01),
        "narrow": _gaussian_fan(500, 0.005),
        "wide": _gaussian_fan(500, 0.02),
    }
    methods, evidence = choice.choose(fans, actual, bars[origins - 1, 3], 0.05, H)
    assert methods == ("right",) * H
    assert set(evidence) == {"1-1", "2-5", "6-10", "11-22"}
    assert all(e["incumbent"] == "right" and e["dm"] is None for e in evidence.values())
    # a network fan equal to the best classical one is not served: no significant win
    fans[NETWORK] = _gaussian_fan(500, 0.0101)
    methods, evidence = choice.choose(fans, actual, bars[origins - 1, 3], 0.05, H)
    assert NETWORK not in methods
    # one that knows the future (a narrow fan around the realised return) is served
    oracle = np.nan_to_num(actual)[:, :, None] + _gaussian_fan(500, 0.001)
    fans[NETWORK] = oracle
    methods, evidence = choice.choose(fans, actual, bars[origins - 1, 3], 0.05, H)
    assert methods == (NETWORK,) * H
    assert evidence["11-22"]["dm"]["p_value"] < 0.05
    assert evidence["11-22"]["dm"]["lag"] >= 21  # at least h - 1 lags


def test_a_block_with_too_few_realised_origins_keeps_the_choice_before_it() -> None:
    bars = _random_walk(420, 0.01, seed=3)
    origins = np.arange(410, 420)  # 10 origins: none realised 11 or more sessions ahead
    actual = realised_targets(bars, origins, H)
    fans = {"right": _gaussian_fan(10, 0.01), "narrow": _gaussian_fan(10, 0.002)}
    methods, evidence = choice.choose(fans, actual, bars[origins - 1, 3], 0.05, H)
    assert evidence["11-22"]["reason"] == "too few origins"
    assert methods[10:] == (methods[9],) * 12
    with pytest.raises(DataError):
        choice.choose({NETWORK: fans["right"]}, actual, bars[origins - 1, 3], 0.05, H)


class _Scaled:
    """A fake fan method: a Gaussian random-walk fan whose daily sd is the sample sd of the
    fitting returns times ``factor``."""

    def __init__(self, name: str, factor: float) -> None:
        self.name, self.factor = name, factor
        self.min_rows, self.serve_rows = 50, 1

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        if through < self.min_rows:
            raise DataError("too few rows")
        sd = float(np.std(np.diff(np.log(ohlcv[:through, 3]))))
        return FanFit(self.name, horizons, {"sd": sd * self.factor})

    def check(self, fit: FanFit) -> None:
        if not fit.params.get("sd", 0) > 0:
            raise ValueError("sd must be positive")

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        return _gaussian_fan(len(origins), fit.params["sd"])[:, :horizons]


METHODS = {"good": _Scaled("good", 1.0), "bad": _Scaled("bad", 0.4)}


def test_fit_fan_chooses_on_the_test_period_and_refits_on_every_bar(tmp_path: Path) -> None:
    bars = _random_walk(600, 0.012, seed=4)
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 600)
    record = choice.fit_fan(METHODS, bars, dates, 450, 600, 0.05, how=("best", True))
    assert record.methods == ("good",) * H
    # the default rule: the best up to 5 sessions, the blend from 6 on unless it is beaten
    default = choice.fit_fan(METHODS, bars, dates, 450, 600, 0.05)
    assert default.methods[:5] == ("good",) * 5
    assert set(default.methods[5:]) <= {"good", choice.BLEND}
    assert set(record.fits) == {"good"}
    fit = record.fits["good"]
    assert fit.fitted_through == str(dates[599])
    assert fit.params["sd"] == pytest.approx(np.std(np.diff(np.log(bars[:, 3]))))
    chosen_on = {"start": str(dates[450]), "end": str(dates[599]), "n": 150}
    assert record.choice["chosen_on"] == chosen_on
    # without a refit the served parameters are those fitted before the test period
    kept = choice.fit_fan(METHODS, bars, dates, 450, 450, 0.05, how=("best", True))
    assert kept.fits["good"].fitted_through == str(dates[449])
    assert kept.fits["good"].params["sd"] == pytest.approx(np.std(np.diff(np.log(bars[:450, 3]))))
    # saved and loaded, the record serves the same fan
    choice.save(tmp_path, record)
    loaded = choice.load(tmp_path, METHODS)
    assert loaded == record
    got = choice.served_fan(loaded, METHODS, bars, np.array([600]), H)
    # the right spread needs little scaling; the served fan is the fitted one scaled so
    assert len(record.scales) == H and all(0.8 < k < 1.25 for k in record.scales)
    expected = choice.scaled(_gaussian_fan(1, fit.params["sd"]), record.scales)
    assert got[0] == pytest.approx(expected[0])


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(schema=9),
        lambda r: r.update(methods=["good"] * 23),
        lambda r: r["fits"]["good"]["params"].update(sd=-1.0),
        lambda r: r.update(methods=["bad"] * 22),
        lambda r: r["fits"].update(nope=r["fits"]["good"]),
        lambda r: r.update(levels=[0.1, 0.9]),
    ],
)
def test_a_corrupt_fan_record_is_refused_with_its_path(tmp_path: Path, edit: object) -> None:
    bars = _random_walk(600, 0.012, seed=4)
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 600)
    raw = choice.fit_fan(METHODS, bars, dates, 450, 600, 0.05, how=("best", True)).to_json()
    edit(raw)  # type: ignore[operator]
    (tmp_path / choice.FAN_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelError, match=r"fan\.json: not a valid fan record"):
        choice.load(tmp_path, METHODS)


def test_spread_scales_make_the_choice_period_covered_at_80_percent() -> None:
    """A fan twice too narrow gets a factor of about 2 (one per block), and the scaled fan
    covers 80% of the returns it was scaled on, block by block."""
    bars = _random_walk(1400, 0.01, seed=6)
    origins = np.arange(400, 1400)
    actual = realised_targets(bars, origins, H)
    narrow = _gaussian_fan(1000, 0.005)
    methods = ("narrow",) * H
    factors = choice.spread_scales(narrow, actual, methods)
    for first, last in choice.BLOCKS:
        assert len(set(factors[first - 1 : last])) == 1
        assert factors[first - 1] == pytest.approx(2.0, rel=0.12)
    wide = choice.scaled(narrow, factors)
    lo, hi = wide[..., 2], wide[..., 6]
    for first, last in choice.BLOCKS:
        y = actual[:, first - 1 : last]
        ok = np.isfinite(y)
        inside = (y >= lo[:, first - 1 : last]) & (y <= hi[:, first - 1 : last])
        assert inside[ok].mean() == pytest.approx(0.8, abs=0.01)


def test_a_fan_serving_the_network_needs_it() -> None:
    record = FanRecord((NETWORK,) * 3, {})
    with pytest.raises(ModelError, match="network is missing"):
        choice.served_fan(record, METHODS, _random_walk(100), np.array([100]), 3)
    with pytest.raises(ModelError, match="reaches 3 sessions"):
        choice.served_fan(record, METHODS, _random_walk(100), np.array([100]), 5)


def test_the_report_scores_only_realised_origins_and_tests_against_the_best() -> None:
    bars = _random_walk(700, 0.01, seed=5)
    origins = np.arange(500, 700)
    fans = {"right": _gaussian_fan(200, 0.01), "narrow": _gaussian_fan(200, 0.004)}
    served = fans["right"]
    names = np.full((200, H), "right")
    out = report.report(bars, origins, fans, served, names)
    assert set(out) == {"1", "5", "22"}
    assert out["22"]["served"]["n"] == 200 - 21 and out["1"]["served"]["n"] == 200
    assert out["5"]["dm"]["against"] == "right" and out["5"]["dm"]["p_value"] is None
    assert out["5"]["share"] == {"right": 1.0}
    # the h-day proxy is the sum of the daily ones
    proxy = report.variance_proxy(bars, np.array([500]), 5)
    from rnnforecast.risk.baselines.interface import range_variance

    assert proxy[0] == pytest.approx(range_variance(bars)[500:505].sum())
    assert out["22"]["served"] == out["22"]["baselines"]["right"]


def test_the_blend_is_the_mean_of_the_classical_fans_and_the_default_rule_keeps_it() -> None:
    bars = _random_walk(900, 0.01, seed=7)
    origins = np.arange(400, 900)
    actual = realised_targets(bars, origins, H)
    fans = {"a": _gaussian_fan(500, 0.008), "b": _gaussian_fan(500, 0.012)}
    fans[NETWORK] = _gaussian_fan(500, 0.03)  # the network's fan is never in the blend
    blended = choice.with_blend(fans)
    assert blended[choice.BLEND] == pytest.approx((fans["a"] + fans["b"]) / 2)
    methods, evidence = choice.choose(blended, actual, bars[origins - 1, 3], 0.05, H, "default")
    assert set(methods) == {choice.BLEND}
    assert all(e["incumbent"] == choice.BLEND for e in evidence.values())
    # a challenger that knows the future displaces the blend
    blended["oracle"] = np.nan_to_num(actual)[:, :, None] + _gaussian_fan(500, 0.001)
    methods, _ = choice.choose(blended, actual, bars[origins - 1, 3], 0.05, H, "default")
    assert methods == ("oracle",) * H


def test_the_served_fans_dm_test_is_hln_with_newey_west_over_at_least_h_minus_1_lags() -> None:
    """The report's one-sided DM-HAC of the served fan against the best classical one,
    recomputed from the per-origin Winkler scores written out by hand."""
    bars = _random_walk(700, 0.01, seed=8)
    origins = np.arange(500, 700)
    fans = {"right": _gaussian_fan(200, 0.01), "wide": _gaussian_fan(200, 0.02)}
    served = _gaussian_fan(200, 0.007)  # served a too narrow fan: worse than "right"
    h = 5
    got = report.report(bars, origins, fans, served, None)[str(h)]["dm"]
    close = bars[origins - 1, 3]
    ok = origins + h - 1 < len(bars)
    y = bars[origins[ok] + h - 1, 3]

    def winkler(fan: np.ndarray) -> np.ndarray:
        low = close[ok] * np.exp(fan[ok, h - 1, 2])
        high = close[ok] * np.exp(fan[ok, h - 1, 6])
        return (high - low) + 10 * np.maximum(low - y, 0) + 10 * np.maximum(y - high, 0)

    d = winkler(served) - winkler(fans["right"])
    n = len(d)
    lags = max(h - 1, math.floor(4 * (n / 100) ** (2 / 9)))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = d.mean() / math.sqrt(long_run / n) * hln
    assert got["against"] == "right" and got["lag"] == lags
    assert got["statistic"] == pytest.approx(statistic, rel=1e-9)
    assert got["p_value"] == pytest.approx(stats.t.cdf(statistic, n - 1), rel=1e-9)
