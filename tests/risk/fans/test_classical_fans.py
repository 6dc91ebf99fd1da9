"""log-HAR, EWMA and empirical fans recomputed by hand; every method's fan blind to the rows at
and after its origin; fits that survive a JSON round trip and corrupted fits refused; the
registry."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest

from rnnforecast.errors import UsageError
from rnnforecast.risk.baselines.interface import range_variance
from rnnforecast.risk.fans.choice import fan_of, fit_all
from rnnforecast.risk.fans.empirical import EMP_ROWS, EmpiricalFan
from rnnforecast.risk.fans.ewma import EwmaFan
from rnnforecast.risk.fans.har import LogHarFan
from rnnforecast.risk.fans.interface import FAN_LEVELS, FanFit
from rnnforecast.risk.fans.registry import FAN_METHODS, REGISTRY, lookup

N = 1300
THROUGH = 1100


def make_bars(n: int = N, seed: int = 7) -> np.ndarray:
    """Bars with an overnight gap, a real range and fat-tailed moves whose scale drifts."""
    rng = np.random.default_rng(seed)
    out, close = [], 100.0
    for t in range(n):
        scale = 0.01 * (1 + 0.5 * math.sin(t / 90))
        gap, move = rng.normal(0, 0.3 * scale), rng.standard_t(5) * scale
        open_ = close * math.exp(gap)
        new_close = open_ * math.exp(move)
        high = max(open_, new_close) * (1 + abs(rng.normal(0, 0.5 * scale)))
        low = min(open_, new_close) * (1 - abs(rng.normal(0, 0.5 * scale)))
        out.append((open_, high, low, new_close, 1e6))
        close = new_close
    return np.array(out)


BARS = make_bars()


@pytest.fixture(scope="module")
def fitted() -> dict[str, FanFit]:
    return fit_all(REGISTRY, BARS, THROUGH, 22)


def test_log_har_coefficients_are_ols_on_the_documented_design(fitted: dict[str, FanFit]) -> None:
    fit = fitted["log_har"]
    rv = range_variance(BARS[:THROUGH])
    close = BARS[:THROUGH, 3]
    for h in (1, 5, 22):
        rows, targets, moves = [], [], []
        for t in range(23, THROUGH - h + 1):
            rows.append(
                [
                    1.0,
                    math.log(rv[t - 1]),
                    math.log(rv[t - 5 : t].mean()),
                    math.log(rv[t - 22 : t].mean()),
                ]
            )
            targets.append(math.log(rv[t : t + h].sum()))
            moves.append(math.log(close[t - 1 + h] / close[t - 1]))
        x, y = np.array(rows), np.array(targets)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ coef
        s2 = resid @ resid / (len(y) - 4)
        z = np.quantile(np.array(moves) / np.sqrt(np.exp(x @ coef + s2 / 2)), FAN_LEVELS)
        np.testing.assert_allclose(fit.tables["coef"][h - 1], coef, rtol=1e-9, atol=1e-12)
        assert fit.tables["resid_var"][h - 1] == pytest.approx(s2, rel=1e-9)
        np.testing.assert_allclose(fit.tables["z"][h - 1], z, rtol=1e-9)
    assert fit.tables["coef"].shape == (22, 4) and fit.tables["z"].shape == (22, len(FAN_LEVELS))
    assert fit.fitted_through is None


def test_log_har_fan_by_hand(fitted: dict[str, FanFit]) -> None:
    fit, origin = fitted["log_har"], 1200
    rv = range_variance(BARS)
    x = np.array(
        [
            1.0,
            math.log(rv[origin - 1]),
            math.log(rv[origin - 5 : origin].mean()),
            math.log(rv[origin - 22 : origin].mean()),
        ]
    )
    got = LogHarFan().fan(fit, BARS, np.array([origin]), 22)[0]
    for h in (1, 5, 22):
        var = math.exp(x @ fit.tables["coef"][h - 1] + fit.tables["resid_var"][h - 1] / 2)
        np.testing.assert_allclose(got[h - 1], math.sqrt(var) * fit.tables["z"][h - 1], rtol=1e-12)


def test_ewma_is_h_times_the_filtered_variance_with_gaussian_quantiles(
    fitted: dict[str, FanFit],
) -> None:
    fit = fitted["ewma"]
    returns = np.diff(np.log(BARS[:, 3]))
    assert fit.params["seed_variance"] == pytest.approx(
        np.mean(returns[: THROUGH - 1] ** 2), rel=1e-12
    )
    assert fit.params["lambda"] == 0.94
    origin = 1234
    s = fit.params["seed_variance"]
    for t in range(origin - 249, origin):  # rows o - 249 .. o - 1
        s = 0.94 * s + 0.06 * math.log(BARS[t, 3] / BARS[t - 1, 3]) ** 2
    got = EwmaFan().fan(fit, BARS, np.array([origin]), 22)[0]
    for h in (1, 5, 22):
        expected = [math.sqrt(h * s) * NormalDist().inv_cdf(p) for p in FAN_LEVELS]
        np.testing.assert_allclose(got[h - 1], expected, rtol=1e-10)


@pytest.mark.parametrize("origin", [400, EMP_ROWS, 1250, N])
def test_emp_hday_is_numpy_linear_quantile_of_overlapping_returns(
    fitted: dict[str, FanFit], origin: int
) -> None:
    got = EmpiricalFan().fan(fitted["emp_hday"], BARS, np.array([origin]), 22)[0]
    log_close = np.log(BARS[max(0, origin - EMP_ROWS) : origin, 3])
    for h in (1, 5, 22):
        moves = log_close[h:] - log_close[:-h]  # not demeaned
        expected = np.quantile(moves, FAN_LEVELS, method="linear")
        np.testing.assert_allclose(got[h - 1], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", FAN_METHODS)
def test_fan_uses_no_row_at_or_after_its_origin(fitted: dict[str, FanFit], name: str) -> None:
    method, fit = REGISTRY[name], fitted[name]
    origins = [1000, 1150, 1299]
    rng = np.random.default_rng(1)
    for origin in origins:
        before = method.fan(fit, BARS, np.array(origins), 22)
        changed = BARS.copy()
        changed[origin:, :4] *= np.exp(rng.normal(0, 0.05, size=(N - origin, 1)))
        changed[origin:, 1] *= 1.02  # a wider range too (the proxy reads high and low)
        after = method.fan(fit, changed, np.array(origins), 22)
        k = origins.index(origin)
        assert np.array_equal(before[: k + 1], after[: k + 1]), (name, origin)
        # the test can fail: the row just before the origin does move the fan
        moved = BARS.copy()
        moved[origin - 1, 1:4] *= np.array([1.03, 0.97, 0.97])
        assert not np.array_equal(before[k], method.fan(fit, moved, np.array(origins), 22)[k])


@pytest.mark.parametrize("name", FAN_METHODS)
def test_json_round_trip_gives_the_same_fan(fitted: dict[str, FanFit], name: str) -> None:
    method, fit = REGISTRY[name], fitted[name]
    back = FanFit.from_json(json.loads(json.dumps(fit.to_json())))
    method.check(back)
    origins = np.array([1000, 1200, N])
    assert np.array_equal(method.fan(fit, BARS, origins, 22), method.fan(back, BARS, origins, 22))
    fan = method.fan(back, BARS, origins, 22)
    assert fan.shape == (3, 22, len(FAN_LEVELS))
    assert np.all(np.diff(fan, axis=-1) >= 0)


CORRUPTIONS = [
    ("garch_t", "params", "omega", -1e-6),
    ("garch_t", "params", "nu", 2.0),
    ("garch_t", "params", "beta", 0.99),  # alpha + beta > 1
    ("gjr_t", "params", "gamma", None),
    ("ewma", "params", "seed_variance", -1e-4),
    ("ewma", "params", "lambda", 1.0),
    ("emp_hday", "params", "window", 500.0),
    ("log_har", "tables", "resid_var", -np.ones(22)),
    ("log_har", "tables", "coef", np.zeros((22, 3))),
    ("log_har", "tables", "z", np.zeros((21, len(FAN_LEVELS)))),
    ("log_har", "tables", "z", np.tile(np.array(FAN_LEVELS)[::-1], (22, 1))),
]


@pytest.mark.parametrize(("name", "part", "key", "value"), CORRUPTIONS)
def test_check_refuses_a_corrupted_fit(
    fitted: dict[str, FanFit], name: str, part: str, key: str, value: object
) -> None:
    fit = fitted[name]
    REGISTRY[name].check(fit)
    raw = fit.to_json()
    if value is None:
        del raw[part][key]
    else:
        raw[part][key] = np.asarray(value).tolist()
    with pytest.raises(ValueError):
        REGISTRY[name].check(FanFit.from_json(raw))


def test_check_refuses_another_methods_fit(fitted: dict[str, FanFit]) -> None:
    with pytest.raises(ValueError, match="not a 'ewma' fit"):
        REGISTRY["ewma"].check(fitted["garch_t"])


def test_registry_fits_what_it_can_and_draws_every_fit(fitted: dict[str, FanFit]) -> None:
    assert FAN_METHODS == ("garch_t", "gjr_t", "log_har", "ewma", "emp_hday")
    assert tuple(fitted) == FAN_METHODS
    short = fit_all(REGISTRY, BARS, 150, 5)
    assert tuple(short) == ("garch_t", "gjr_t", "ewma")  # log_har and emp_hday need 250 rows
    drawn = fan_of(fitted, REGISTRY, BARS, np.array([1100, N]), 5)
    assert set(drawn) == set(FAN_METHODS)
    assert all(f.shape == (2, 5, len(FAN_LEVELS)) for f in drawn.values())
    with pytest.raises(UsageError, match="unknown fan"):
        lookup("garch")


def test_fan_refuses_origins_and_horizons_it_cannot_serve(fitted: dict[str, FanFit]) -> None:
    with pytest.raises(ValueError, match="origins"):
        REGISTRY["garch_t"].fan(fitted["garch_t"], BARS, np.array([100]), 5)
    with pytest.raises(ValueError, match="origins"):
        REGISTRY["ewma"].fan(fitted["ewma"], BARS, np.array([N + 1]), 5)
    short = REGISTRY["log_har"].fit(BARS, THROUGH, 5)
    with pytest.raises(ValueError, match=r"fitted for 1\.\.5"):
        REGISTRY["log_har"].fan(short, BARS, np.array([1200]), 6)
