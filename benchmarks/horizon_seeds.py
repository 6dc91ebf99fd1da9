"""Issue 20's network table over seeds: several runs of ``bench_horizons.py --network`` (one
seed each) read back and put side by side.

Per series and horizon (1, 5, 22 sessions): the network's fan alone over the best single
classical fan in hindsight (80% interval score), as the mean over the runs with its lowest
and highest; and the served fan's ratio and 80% coverage likewise. Pooled: the geometric
mean of each ratio per run (its persistence and seed), over the tuned series (where a
setting is chosen) and over the others (where it is reported).

    for s in 42 7 2026; do python benchmarks/bench_horizons.py --every 42 --network --seed $s; done
    python benchmarks/horizon_seeds.py benchmarks/results/horizons-A.json horizons-B.json ...
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bench_risk import TUNED

HORIZONS = ("1", "5", "22")


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """The runs' JSON documents, each checked to have the network competing."""
    runs = []
    for path in paths:
        run = json.loads(path.read_text())
        if not run["args"].get("network"):
            raise SystemExit(f"{path}: not a --network run")
        runs.append(run)
    return runs


def spread(values: list[float]) -> str:
    """``mean (low-high)`` to three decimals."""
    return f"{sum(values) / len(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def geomean(values: list[float]) -> float:
    """The geometric mean (NaN of nothing: a run without networks)."""
    if not values:
        return math.nan
    return math.exp(sum(math.log(v) for v in values) / len(values))


def pooled_cover(rows: list[dict[str, Any]]) -> float:
    """The served fan's 80% coverage over every origin of ``rows`` (series)."""
    origins = sum(r["n"] for r in rows)
    return sum(r["coverage_80"] * r["n"] for r in rows) / origins if origins else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench_horizons JSON files")
    args = parser.parse_args()
    runs = load(args.results)
    seeds = [run["args"]["seed"] for run in runs]
    kinds = {"per ticker" if run["args"].get("per_ticker") else "global" for run in runs}
    print(f"seeds {seeds}; networks: {', '.join(sorted(kinds))}")
    for h in HORIZONS:
        print(f"\nh = {h}: series, network alone / best classical, served / best, served cover")
        names = sorted(runs[0]["table"][h]["series"])
        for name in names:
            rows = [run["table"][h]["series"][name] for run in runs]
            net = [r["network_ratio"] for r in rows if r["network_ratio"] is not None]
            print(
                f"  {name:<10} {spread(net) if net else '-':>22} "
                f"{spread([r['ratio'] for r in rows]):>22} "
                f"{spread([r['coverage_80'] for r in rows]):>22}"
            )
        for run, seed in zip(runs, seeds, strict=True):
            table = run["table"][h]["series"]
            for side in ("tuned", "untuned"):
                rows = [table[n] for n in names if (n in TUNED) == (side == "tuned")]
                nets = [r["network_ratio"] for r in rows if r["network_ratio"] is not None]
                print(
                    f"  {run['args'].get('persistence', 1.0)} seed {seed}: {side} geomean "
                    f"network {geomean(nets):.3f} over {len(nets)}, "
                    f"served {geomean([r['ratio'] for r in rows]):.3f}, pooled cover "
                    f"{pooled_cover(rows):.3f}"
                )


if __name__ == "__main__":
    main()
