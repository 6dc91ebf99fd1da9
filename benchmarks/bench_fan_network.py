"""Issue 20's training-cost target: one global fan network over every series against one
fan network per series, trained side by side on the same bars with the same recipe.

Each series is cut at 80% of its rows (the bars a train would fit the network on); the
global network pools the windows of all of them (rnnforecast.training.fan_fit), each
per-series network sees its own. Reported: the wall time of the global fit, the sum of the
per-series fits and their ratio (the target: at most 1.0); early stopping decides each fit's
epochs. Every fit runs in this one process after TensorFlow is
loaded once, so the ratio compares training, not start-up.

    python benchmarks/price_files.py            # once: the price files
    nice -n 5 python benchmarks/bench_fan_network.py
    python benchmarks/bench_fan_network.py --tickers GOOG,MSFT,IBM   # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time

from bench_risk import frames

from rnnforecast.forecast.fan_recipe import FanRecipe
from rnnforecast.forecast.windows import base_matrix
from rnnforecast.training.fan_fit import fit_fan_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", help="comma-separated subset (default: every series)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    all_frames = frames()
    names = args.tickers.split(",") if args.tickers else sorted(all_frames)
    series, through = {}, {}
    for name in names:
        frame = all_frames[name]
        series[name] = (base_matrix(frame), frame.index.to_numpy().astype("datetime64[D]"))
        through[name] = int(len(frame) * 0.8)
    recipe = FanRecipe()
    fit_fan_network({names[0]: series[names[0]]}, {names[0]: through[names[0]]}, recipe, 0)
    singles = {}
    for name in names:
        began = time.perf_counter()
        fit_fan_network({name: series[name]}, {name: through[name]}, recipe, args.seed)
        singles[name] = time.perf_counter() - began
        print(f"{name}: {singles[name]:.1f} s alone", file=sys.stderr)
    began = time.perf_counter()
    fit_fan_network(series, through, recipe, args.seed)
    pooled = time.perf_counter() - began
    total = sum(singles.values())
    print(f"{'fit':<28} {'seconds':>8}")
    for name, seconds in singles.items():
        print(f"{name + ' alone':<28} {seconds:8.1f}")
    print(f"{'sum of the ' + str(len(names)) + ' alone':<28} {total:8.1f}")
    print(f"{'one global over all':<28} {pooled:8.1f}")
    print(f"global / sum: {pooled / total:.3f} (target: at most 1.0)")


if __name__ == "__main__":
    main()
