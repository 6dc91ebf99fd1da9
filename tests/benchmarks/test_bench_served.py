"""benchmarks/bench_served.py --compare pools two recipes' walks as docs/reports/served-intervals.md
says: on the days both scored only, coverage over those days, log scores summed over them.
Hand-made walks, figures worked out by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import REPO

# benchmarks/ is not a package: import the script by its folder
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_served


def _run(method: str, dates: list[str], inside: list[bool], scores: list[float]) -> dict:
    per_day = {"date": dates, "inside": inside, "interval_score_80_log": scores}
    return {"interval_method": method, "served_walk": {"per_day": per_day}}


def test_compare_pools_on_common_days(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = tmp_path / "base.json"
    other = tmp_path / "other.json"
    base.write_text(
        json.dumps(
            {
                "config": "default.toml",
                # day 1 is scored by the base only: left out
                "A": _run("gjr_t", ["d1", "d2", "d3", "d4"], [True] * 4, [9.0, 2.0, 2.0, 4.0]),
                "B": _run("ewma", ["d2", "d3"], [True, False], [1.0, 3.0]),
            }
        )
    )
    other.write_text(
        json.dumps(
            {
                "A@42": _run(
                    "adaptive_conformal", ["d2", "d3", "d4"], [True, False, True], [1.0, 2.0, 3.0]
                ),
                "B@42": _run("ewma", ["d2", "d3"], [True, False], [1.0, 3.0]),
            }
        )
    )
    bench_served.compare(base, [other], untuned={"B"})
    lines = capsys.readouterr().out.splitlines()
    a = next(line for line in lines if line.startswith("A@42"))
    # A: 3 common days, coverage 2/3 against 3/3, scores 6 / 8; DM by hand: d = (-1, 0, -1),
    # centred (-1/3, 2/3, -1/3): g0 = 2/9, g1 = -4/27; Newey-West's one lag at n = 3 (weight
    # 1/2): long-run variance 2/27, statistic -(2/3) / sqrt(2/81) * sqrt(2/3) = -2 sqrt(3)
    # (HLN factor sqrt(2/3)), Student t with 2 df: p = (1 - 2 sqrt(3) / sqrt(14)) / 2 = 0.037
    assert a.split()[-5:] == ["3", "0.667", "1.000", "0.7500", "0.037"]
    pool_all = next(line for line in lines if line.startswith("pool all"))
    # all: 5 days, coverage 3/5 against 4/5, scores (6 + 4) / (8 + 4)
    assert pool_all.split()[2:6] == ["5", "0.600", "0.800", "0.8333"]
    pool_untuned = next(line for line in lines if line.startswith("pool untuned"))
    # B alone: identical walks, so no DM test
    assert pool_untuned.split() == ["pool", "untuned", "2", "0.500", "0.500", "1.0000", "-"]
