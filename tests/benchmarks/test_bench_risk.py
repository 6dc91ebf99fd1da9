"""benchmarks/bench_risk.py pools the series as docs/reports/risk-benchmark.md says: interval score
and pinball summed over days against the one baseline with the lowest sum, QLIKE ratios as
geometric means, coverage over days. Hand-made scores, figures worked out by hand."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

# benchmarks/ is not a package: import the script by its folder
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_risk


def _scores(interval: float, pinball: float, coverage: float, r2: float) -> dict:
    return {
        "interval_score": interval,
        "pinball": pinball,
        "coverage": coverage,
        "qlike": {"r2": r2, "range": 1.0},
    }


RESULTS = {
    # per series the best interval score is HAR's on A, GARCH-t's on B; summed over days
    # GARCH-t's is lower (100 * 0.05 + 300 * 0.02 = 11 < 100 * 0.04 + 300 * 0.03 = 13)
    "A": {
        "test": {"n": 100},
        "baselines": {
            "garch_t": _scores(0.05, 0.003, 0.8, 2.0),
            "har": _scores(0.04, 0.004, 0.8, 1.0),
        },
        "point": _scores(0.06, 0.005, 0.9, 4.0),
        "seeds": [
            {"adaptive": _scores(0.044, 0.003, 0.7, 1.0), "global": _scores(0.05, 0.003, 0.8, 2.0)},
            {"adaptive": _scores(0.046, 0.003, 0.8, 1.0), "global": _scores(0.05, 0.003, 0.8, 2.0)},
        ],
    },
    "B": {
        "test": {"n": 300},
        "baselines": {
            "garch_t": _scores(0.02, 0.002, 0.8, 1.0),
            "har": _scores(0.03, 0.001, 0.8, 1.0),
        },
        "point": _scores(0.02, 0.001, 0.8, 1.0),
        "seeds": [{"adaptive": _scores(0.021, 0.001, 0.8, 2.0)}] * 2,
    },
}


def test_pooled_figures() -> None:
    pool = bench_risk.pooled(RESULTS, ["A", "B"])
    assert pool["best"] == {"interval_score": "garch_t", "pinball": "har"}
    adaptive = pool["adaptive"]
    assert adaptive["interval_score"] == pytest.approx((100 * 0.045 + 300 * 0.021) / 11)
    assert adaptive["pinball"] == pytest.approx((100 * 0.003 + 300 * 0.001) / 0.7)
    assert adaptive["coverage"] == pytest.approx((100 * 0.75 + 300 * 0.8) / 400)
    assert adaptive["interval_score_per_seed"] == pytest.approx(
        [(100 * 0.044 + 300 * 0.021) / 11, (100 * 0.046 + 300 * 0.021) / 11]
    )
    # 1.0 / 2.0 on A and 2.0 / 1.0 on B: geometric mean 1
    assert adaptive["qlike_r2_vs_garch_t"] == pytest.approx(1.0)
    assert adaptive["qlike_r2_vs_har"] == pytest.approx(2.0**0.5)
    # the global model exists for A only, so only A's days are pooled
    assert pool["global"]["series"] == ["A"]
    assert pool["global"]["interval_score"] == pytest.approx(1.0)
    assert "fixed" not in pool


def test_per_series_ratios_against_each_series_best() -> None:
    summary = bench_risk.summarise(RESULTS, ["A", "B"])
    a, b = summary["series"]["A"], summary["series"]["B"]
    assert (a["best_interval_score"], b["best_interval_score"]) == ("har", "garch_t")
    assert a["adaptive"]["interval_score"] == pytest.approx(0.045 / 0.04)
    assert b["adaptive"]["interval_score"] == pytest.approx(0.021 / 0.02)
    assert a["adaptive"]["coverage"] == [0.7, 0.8]
    assert b["point"]["pinball"] == pytest.approx(1.0)
    table = bench_risk.render(summary, {"all (2)": summary["pooled"]})
    assert "| B | 300 | 0.800, 0.800 | – | – | 0.800 | 0.800 |" in table
