"""How train picks the served fan, tuned on the TUNED series only: four rules side by side on
the replay of benchmarks/bench_horizons.py (every refit date's choice made on the past).

Rules (rnnforecast.risk.fans.choice.choose and spread_scales):

- ``best``: per block of horizons the classical fan (or their blend) with the lowest 80%
  interval score on the choice period;
- ``default``: the blend of the classical fans, unless the best other fan beats it there with
  a one-sided DM-HAC p below 0.05;
- ``hybrid``: ``best`` up to 5 sessions, ``default`` from 6 on;
- each with or without ``+scale``: the served fan's spread around its median scaled per block
  so that its 80% interval would have covered 80% of the choice period.

Every fan of a refit date is drawn once; the rules only differ in what they pick from them,
so the comparison is paired. Per rule and horizon: the served fan's 80% coverage and its
interval score over the best single classical fan's (picked in hindsight on the replayed
origins), geometric mean over the series.

    nice -n 5 python benchmarks/tune_fan_rule.py                 # GOOG, MSFT, IBM, GSPC, IXIC
    python benchmarks/tune_fan_rule.py --tickers GOOG --every 63   # a quick look
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import numpy as np
from bench_horizons import HORIZONS, LOOKBACK, SIGNIFICANCE, TEST_FRACTION, first_replayed
from bench_risk import TUNED, frames

from rnnforecast.forecast.windows import base_matrix
from rnnforecast.risk.fans import choice, registry, report
from rnnforecast.risk.fans.interface import MAX_HORIZON, realised_targets

RULES = (
    ("best", False),
    ("best", True),
    ("default", False),
    ("default", True),
    ("hybrid", True),
)


def variants(frame: Any, share: float, every: int) -> dict[str, dict[str, Any]]:
    """The per-horizon report of each rule of :data:`RULES` on one series' replay."""
    ohlcv = base_matrix(frame)
    n = len(ohlcv)
    methods = registry.REGISTRY
    served: dict[str, list[np.ndarray]] = {f"{r}{'+scale' if c else ''}": [] for r, c in RULES}
    names: dict[str, list[np.ndarray]] = {k: [] for k in served}
    alone: list[dict[str, np.ndarray]] = []
    origins_all = []
    for r in range(first_replayed(n, share), n, every):
        first_test = r - int(TEST_FRACTION * (r - LOOKBACK))
        past = choice.fit_all(methods, ohlcv[:r], first_test, MAX_HORIZON)
        cut = ohlcv[:r]
        test_origins = np.arange(first_test, r)
        fans = choice.with_blend(choice.fan_of(past, methods, cut, test_origins, MAX_HORIZON))
        actual = realised_targets(cut, test_origins, MAX_HORIZON)
        last_close = cut[test_origins - 1, 3]
        now = choice.fit_all(methods, ohlcv[:r], r, MAX_HORIZON)
        origins = np.arange(r, min(r + every, n))
        span = choice.with_blend(choice.fan_of(now, methods, ohlcv, origins, MAX_HORIZON))
        for rule, calibrate in RULES:
            key = f"{rule}{'+scale' if calibrate else ''}"
            picked, _ = choice.choose(fans, actual, last_close, SIGNIFICANCE, MAX_HORIZON, rule)
            factors: tuple[float, ...] = ()
            if calibrate:
                past_fan = np.stack([fans[m][:, h] for h, m in enumerate(picked)], axis=1)
                factors = choice.spread_scales(past_fan, actual, picked)
            fan = np.stack([span[m][:, h] for h, m in enumerate(picked)], axis=1)
            served[key].append(choice.scaled(fan, factors))
            names[key].append(np.tile(np.asarray(picked), (len(origins), 1)))
        alone.append({k: v for k, v in span.items() if k != choice.BLEND})
        origins_all.append(origins)
    origins = np.concatenate(origins_all)
    baselines = {k: np.concatenate([a[k] for a in alone]) for k in alone[0]}
    return {
        key: report.report(
            ohlcv, origins, baselines, np.concatenate(served[key]), np.concatenate(names[key])
        )
        for key in served
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", help="comma-separated subset (default: TUNED)")
    parser.add_argument("--every", type=int, default=21)
    parser.add_argument("--replay", type=float, default=0.3)
    args = parser.parse_args()
    series = frames()
    names = args.tickers.split(",") if args.tickers else list(TUNED)
    results = {}
    for name in names:
        began = time.perf_counter()
        results[name] = variants(series[name], args.replay, args.every)
        print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    print(f"{'rule':<14} {'h':>3} {'cover80':>8} {'IS ratio gm':>12}  per series")
    for key in results[names[0]]:
        for h in HORIZONS:
            cover, ratios = [], []
            for name in names:
                block = results[name][key][h]
                best = block["dm"]["against"]
                ratio = (
                    block["served"]["interval_score_80"]
                    / (block["baselines"][best]["interval_score_80"])
                )
                cover.append(block["served"]["coverage_80"])
                ratios.append(ratio)
            gm = math.exp(np.mean(np.log(ratios)))
            each = " ".join(f"{c:.3f}/{r:.3f}" for c, r in zip(cover, ratios, strict=True))
            print(f"{key:<14} {h:>3} {np.mean(cover):8.3f} {gm:12.4f}  {each}")


if __name__ == "__main__":
    main()
