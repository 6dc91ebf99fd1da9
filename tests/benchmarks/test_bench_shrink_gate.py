"""benchmarks/bench_shrink_gate.py simulates what it says: the knowable share of the return's
variance is the R^2 asked for, and the oracle's edge is found when it is large."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

# benchmarks/ is not a package: import the script by its folder
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_shrink_gate


@pytest.mark.parametrize("r2", [0.01, 0.05])
def test_the_oracle_knows_the_share_of_variance_asked_for(r2: float) -> None:
    raw, actual, base = bench_shrink_gate.simulate_part(200_000, r2, np.random.default_rng(1))
    last = base[:, -1, 3]
    move, outcome = np.log(raw[:, 0] / last), np.log(actual[:, 0] / last)
    assert np.var(move) / np.var(outcome) == pytest.approx(r2, rel=0.05)
    assert np.std(outcome) == pytest.approx(bench_shrink_gate.DAILY_SD, rel=0.02)


def test_a_no_skill_network_moves_without_knowing() -> None:
    raw, actual, base = bench_shrink_gate.simulate_part(100_000, 0.0, np.random.default_rng(2), 0.3)
    last = base[:, -1, 3]
    move, outcome = np.log(raw[:, 0] / last), np.log(actual[:, 0] / last)
    assert np.std(move) == pytest.approx(0.3 * bench_shrink_gate.DAILY_SD, rel=0.02)
    assert abs(np.corrcoef(move, outcome)[0, 1]) < 0.01


def test_the_gate_passes_a_large_edge_and_refuses_none() -> None:
    strong = bench_shrink_gate.pass_rate(1000, 0.2, 10, seed=3)
    none = bench_shrink_gate.pass_rate(170, 0.0, 10, seed=4, no_skill_move=0.3)
    assert strong["pass_rate"] == 1.0 and strong["mean_factor"] > 0.5
    assert none["pass_rate"] <= 0.2
