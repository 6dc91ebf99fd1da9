"""The Diebold-Mariano test against R's ``forecast::dm.test`` on the same errors.

tests/fixtures/r_dm_test.json holds 100 pairs of forecast errors and what R printed for them
(the recipe that made them is in its ``about``): one-step tests with squared and absolute
losses, the one-sided alternatives, and ``h = 3``, whose long-run variance takes two
autocovariance lags: a lag above zero, checked against R, not against our own formula.
Those are R's default ``varestimator = "acf"`` (``kernel="acf"`` here). The default kernel is
Newey-West's Bartlett; with ``lag = h - 1`` it is R's ``varestimator = "bartlett"``, checked
here against R at ``h = 1`` (where every kernel agrees) and by hand at ``h = 3``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import FIXTURES
from scipy import stats

from rnnforecast.metrics.accuracy import diebold_mariano, hac_lag

REFERENCE = json.loads((FIXTURES / "r_dm_test.json").read_text())
ALTERNATIVE = {"two.sided": "two-sided", "less": "less", "greater": "greater"}


@pytest.mark.parametrize(
    "case", REFERENCE["dm_test"], ids=lambda c: f"{c['alternative']}-h{c['h']}-power{c['power']}"
)
def test_diebold_mariano_equals_r_forecast_dm_test(case: dict) -> None:
    e1, e2 = np.array(REFERENCE["e1"]), np.array(REFERENCE["e2"])
    power = case["power"]
    statistic, p_value = diebold_mariano(
        np.abs(e1) ** power,
        np.abs(e2) ** power,
        case["h"],
        ALTERNATIVE[case["alternative"]],
        kernel="acf",
    )
    if "statistic" in case:
        assert statistic == pytest.approx(case["statistic"], rel=1e-10)
    assert p_value == pytest.approx(case["p_value"], rel=1e-8)


def test_the_reference_uses_lags_above_zero() -> None:
    """h = 3 moves the statistic away from the one-step value: the lags are in use."""
    e1, e2 = np.array(REFERENCE["e1"]) ** 2, np.array(REFERENCE["e2"]) ** 2
    one_step, _ = diebold_mariano(e1, e2, 1, kernel="acf")
    three_step, _ = diebold_mariano(e1, e2, 3, kernel="acf")
    assert one_step is not None and three_step is not None
    assert abs(three_step - one_step) > 0.2


@pytest.mark.parametrize(
    "case", [c for c in REFERENCE["dm_test"] if c["h"] == 1], ids=lambda c: c["alternative"]
)
def test_bartlett_without_lags_is_r_at_one_step(case: dict) -> None:
    """At h = 1 R's bartlett and acf both use no lag: our Bartlett with lag 0 is R's value."""
    e1, e2 = np.abs(np.array(REFERENCE["e1"])), np.abs(np.array(REFERENCE["e2"]))
    loss, base = e1 ** case["power"], e2 ** case["power"]
    alternative = ALTERNATIVE[case["alternative"]]
    bartlett = diebold_mariano(loss, base, 1, alternative, kernel="bartlett", lag=0)
    acf = diebold_mariano(loss, base, 1, alternative, kernel="acf")
    assert bartlett == acf
    assert bartlett[1] == pytest.approx(case["p_value"], rel=1e-8)


def _by_hand_bartlett(d: list[float], h: int, lags: int) -> tuple[float, float]:
    """Newey-West DM-HLN written out with plain loops (no numpy): R's dm.test with
    varestimator = "bartlett" when lags = h - 1 (weights 1 - j / h)."""
    n = len(d)
    mean = sum(d) / n
    gamma = [
        sum((d[t] - mean) * (d[t - j] - mean) for t in range(j, n)) / n for j in range(lags + 1)
    ]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    statistic = mean / math.sqrt(long_run / n) * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return statistic, 2 * stats.t.sf(abs(statistic), n - 1)


def test_bartlett_with_h_minus_one_lags_is_r_bartlett_by_hand() -> None:
    e1, e2 = np.array(REFERENCE["e1"]) ** 2, np.array(REFERENCE["e2"]) ** 2
    statistic, p_value = diebold_mariano(e1, e2, 3, kernel="bartlett", lag=2)
    by_hand = _by_hand_bartlett(list(e1 - e2), 3, 2)
    assert statistic == pytest.approx(by_hand[0], rel=1e-12)
    assert p_value == pytest.approx(by_hand[1], rel=1e-10)
    # the weights (2/3, 1/3) differ from acf's (1, 1): a different statistic
    acf, _ = diebold_mariano(e1, e2, 3, kernel="acf")
    assert acf is not None and statistic is not None and abs(statistic - acf) > 1e-3


def test_the_default_lag_is_newey_west_and_at_least_h_minus_one() -> None:
    e1, e2 = np.array(REFERENCE["e1"]) ** 2, np.array(REFERENCE["e2"]) ** 2
    assert [hac_lag(n) for n in (27, 28, 99, 100, 272, 273, 620, 621)] == [2, 3, 3, 4, 4, 5, 5, 6]
    assert hac_lag(100, 10) == 9  # h - 1 when it is the larger
    default = diebold_mariano(e1, e2, 1)
    by_hand = _by_hand_bartlett(list(e1 - e2), 1, 4)  # n = 100: 4 lags
    assert default[0] == pytest.approx(by_hand[0], rel=1e-12)
    assert default[1] == pytest.approx(by_hand[1], rel=1e-10)


def test_bad_kernel_and_lag_are_refused() -> None:
    e = np.arange(10.0)
    with pytest.raises(ValueError, match="kernel"):
        diebold_mariano(e, e[::-1], kernel="parzen")
    with pytest.raises(ValueError, match="lag"):
        diebold_mariano(e, e[::-1], kernel="acf", lag=2)
    with pytest.raises(ValueError, match="lag"):
        diebold_mariano(e, e[::-1], lag=-1)
