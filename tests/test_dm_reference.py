"""The Diebold-Mariano test against R's ``forecast::dm.test`` on the same errors.

tests/fixtures/r_dm_test.json holds 100 pairs of forecast errors and what R printed for them
(the recipe that made them is in its ``about``): one-step tests with squared and absolute
losses, the one-sided alternatives, and ``h = 3``, whose long-run variance takes two
autocovariance lags: a lag above zero, checked against R, not against our own formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnforecast.metrics.accuracy import diebold_mariano

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "r_dm_test.json").read_text())
ALTERNATIVE = {"two.sided": "two-sided", "less": "less", "greater": "greater"}


@pytest.mark.parametrize(
    "case", REFERENCE["dm_test"], ids=lambda c: f"{c['alternative']}-h{c['h']}-power{c['power']}"
)
def test_diebold_mariano_equals_r_forecast_dm_test(case: dict) -> None:
    e1, e2 = np.array(REFERENCE["e1"]), np.array(REFERENCE["e2"])
    power = case["power"]
    statistic, p_value = diebold_mariano(
        np.abs(e1) ** power, np.abs(e2) ** power, case["h"], ALTERNATIVE[case["alternative"]]
    )
    if "statistic" in case:
        assert statistic == pytest.approx(case["statistic"], rel=1e-10)
    assert p_value == pytest.approx(case["p_value"], rel=1e-8)


def test_the_reference_uses_lags_above_zero() -> None:
    """h = 3 moves the statistic away from the one-step value: the lags are in use."""
    e1, e2 = np.array(REFERENCE["e1"]) ** 2, np.array(REFERENCE["e2"]) ** 2
    one_step, _ = diebold_mariano(e1, e2, 1)
    three_step, _ = diebold_mariano(e1, e2, 3)
    assert one_step is not None and three_step is not None
    assert abs(three_step - one_step) > 0.2
