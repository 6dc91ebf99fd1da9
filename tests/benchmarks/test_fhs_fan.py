"""benchmarks/fhs_fan.py's filtered-historical-simulation fans: on a long GARCH-t series
their shocks are the model's standardized residuals (unit variance, the t's tails), so their
fan agrees with the t-simulated one; on skewed shocks the FHS fan is skewed where the t's
cannot be; and the fit's tables pass its own check."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "risk" / "fans"))
import fhs_fan
from test_garch_fans import PARAMS, simulate_bars

from rnnforecast.risk.fans.garch import GarchFan
from rnnforecast.risk.fans.interface import FAN_LEVELS

ROWS = 3000


@pytest.fixture(scope="module")
def bars() -> np.ndarray:
    return simulate_bars(PARAMS["garch_t"], ROWS, seed=8)


def test_fhs_agrees_with_the_t_simulation_on_garch_t_bars(bars: np.ndarray) -> None:
    fhs, t = fhs_fan.GarchFhsFan(), GarchFan()
    fit_fhs, fit_t = fhs.fit(bars, ROWS, 22), t.fit(bars, ROWS, 22)
    fhs.check(fit_fhs)
    z = fit_fhs.tables["z"]
    assert np.all(np.diff(z) >= 0) and abs(float(np.mean(z**2)) - 1.0) < 0.1
    origins = np.array([ROWS])
    a, b = fhs.fan(fit_fhs, bars, origins, 22), t.fan(fit_t, bars, origins, 22)
    for h in (0, 4, 21):
        # the 10% and 90% quantiles within 10%: the residuals are t draws, the tables differ
        # only by sampling
        for level in (0.1, 0.9):
            k = FAN_LEVELS.index(level)
            assert a[0, h, k] == pytest.approx(b[0, h, k], rel=0.1)


def test_fhs_keeps_a_skew_the_t_cannot(bars: np.ndarray) -> None:
    """Shocks with a long left tail: the FHS one-session fan's 2.5% quantile sits further
    from the median than its 97.5% quantile."""
    returns = np.diff(np.log(bars[:, 3]))
    skewed = np.where(returns < 0, 1.6 * returns, 0.6 * returns)
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(skewed)]))
    tilted = bars.copy()
    tilted[:, 3] = close
    tilted[:, 0] = np.concatenate([[100.0], close[:-1]])
    tilted[:, 1] = np.maximum(tilted[:, 0], close) * 1.001
    tilted[:, 2] = np.minimum(tilted[:, 0], close) * 0.999
    fan = fhs_fan.GarchFhsFan()
    q = fan.fan(fan.fit(tilted, ROWS, 5), tilted, np.array([ROWS]), 1)[0, 0]
    mid = FAN_LEVELS.index(0.5)
    assert q[mid] - q[0] > 1.5 * (q[-1] - q[mid])
    assert math.isfinite(float(q.sum()))
