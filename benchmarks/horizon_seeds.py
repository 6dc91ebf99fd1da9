"""Issue 20's network table over seeds: several runs of ``bench_horizons.py --network`` (one
seed each) read back and put side by side.

Per series and horizon (1, 5, 22 sessions): the network's fan alone over the best single
classical fan in hindsight (80% interval score), as the mean over the seeds with its lowest
and highest; and the served fan's ratio and 80% coverage likewise. Pooled: the geometric
mean of each ratio over the series not used for tuning, per seed.

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
    return math.exp(sum(math.log(v) for v in values) / len(values))


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
        fresh = [n for n in names if n not in TUNED]
        for run, seed in zip(runs, seeds, strict=True):
            rows = [run["table"][h]["series"][n] for n in fresh]
            nets = [r["network_ratio"] for r in rows if r["network_ratio"] is not None]
            print(
                f"  seed {seed}: untuned geomean network {geomean(nets):.3f} over {len(nets)}, "
                f"served {geomean([r['ratio'] for r in rows]):.3f}, "
                f"pooled cover {run['table'][h]['untuned']['coverage_80']:.3f}"
            )


if __name__ == "__main__":
    main()
