"""Issue 20's table: the served fan 1, 5 and 22 sessions ahead against every classical fan
alone, replayed out of sample on every real daily series at hand, every choice made on the
past.

For each series the last ``--replay`` share of its bars is replayed: every ``--every``
sessions (a refit date ``r``) the served fan is chosen and fitted exactly as ``train`` does
(:func:`rnnforecast.risk.fans.choice.fit_fan`: every classical fan fitted on the bars before
the last 20% of the windows before ``r``, scored on those last 20%, the best per block of
horizons chosen, the chosen ones fitted again on every bar before ``r``), and every classical
fan alone is fitted on the bars before ``r``; both serve the origins up to the next refit
date. Each origin's fan uses the bars before it only, and is scored once its sessions are
realised (:mod:`rnnforecast.risk.fans.report`). This is the replay of ``evaluate --replay``
without the point network, which shapes no number of the classical fans.

Per series and horizon: the served fan's 80% coverage, and its 80% interval score over the
best single classical fan's (the one with the lowest mean on the same origins, picked in
hindsight: a hard opponent), with the one-sided DM-HAC p-value (Newey-West, at least h - 1
lags). Pooled: the coverage over all origins, and the geometric mean of the ratios, over the
series not used for tuning (TUNED, the five series the earlier reports tuned on: the choice
rule was picked on them by benchmarks/tune_fan_rule.py) and over all.

    python benchmarks/price_files.py                       # once: the price files
    nice -n 5 python benchmarks/bench_horizons.py          # every series
    python benchmarks/bench_horizons.py --tickers GOOG --every 63   # a quick look

Writes every figure to benchmarks/results/horizons-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_risk import GROUPS, TUNED, frames
from fhs_fan import FHS

from rnnforecast.forecast.windows import base_matrix
from rnnforecast.jobs import fan_replay
from rnnforecast.risk.fans import choice, registry

RESULTS = Path(__file__).parent / "results"
HORIZONS = ("1", "5", "22")
LOOKBACK = 50
TEST_FRACTION = 0.2
SIGNIFICANCE = 0.05


Networks = list[tuple[np.datetime64, Any]]
"""Fan networks of a calendar group by the date of the last bar they were trained on."""


def first_replayed(n: int, share: float) -> int:
    """The first replayed row of a series of ``n`` bars."""
    return max(int(n * (1 - share)), 600)


def network_at(networks: Networks, day: np.datetime64) -> Any:
    """The newest network trained on bars up to ``day`` at the latest (None if none)."""
    fitted = [net for through, net in networks if through <= day]
    return fitted[-1] if fitted else None


def group_networks(
    group: dict[str, Any], share: float, seed: int, persistence: float = 1.0
) -> Networks:
    """One global fan network over the series of ``group`` (name: frame) every 252 sessions,
    from two years before the first replayed day of the longest series; each trained on
    every series' bars before its date (rnnforecast.training.fan_fit.fit_fan_network)."""
    from rnnforecast.forecast.fan_recipe import FanRecipe
    from rnnforecast.training.fan_fit import fit_fan_network

    longest = max(group.values(), key=len)
    days = longest.index.to_numpy().astype("datetime64[D]")
    start = max(first_replayed(len(days), share) - 2 * 252, 700)
    out: Networks = []
    for row in range(start, len(days), 252):
        cut = days[row]
        series, through = {}, {}
        for name, frame in group.items():
            d = frame.index.to_numpy().astype("datetime64[D]")
            k = int(np.searchsorted(d, cut))
            if k > 400:
                series[name], through[name] = (base_matrix(frame), d), k
        began = time.perf_counter()
        net = fit_fan_network(series, through, FanRecipe(persistence=persistence), seed)
        seconds = time.perf_counter() - began
        print(
            f"  network through {days[row - 1]}: {len(series)} series, {seconds:.0f} s",
            file=sys.stderr,
        )
        out.append((days[row - 1], net))
    return out


def replay_series(
    frame: Any,
    share: float,
    every: int,
    networks: Networks | None = None,
    rule: str = "best",
    methods: Any = registry.REGISTRY,
) -> dict[str, Any]:
    """The per-horizon report of one series' replay (module docstring); with ``networks``
    the network's fan competes: the newest one trained before each choice period;
    ``methods``: the classical fans (the served registry, or more with ``--fhs``)."""
    ohlcv = base_matrix(frame)
    dates = frame.index.to_numpy().astype("datetime64[D]")
    n = len(ohlcv)
    first = first_replayed(n, share)
    spans = []
    for r in range(first, n, every):
        test = int(TEST_FRACTION * (r - LOOKBACK))
        net = network_at(networks or [], dates[r - test - 1])
        fan = None
        if net is not None and net.serve_rows <= r - test:

            def fan(origins: np.ndarray, net: Any = net) -> np.ndarray:
                return np.asarray(net.fan(ohlcv, dates, origins, 22))

        how = (rule, choice.CALIBRATE)
        record = choice.fit_fan(
            methods, ohlcv[:r], dates[:r], r - test, r, SIGNIFICANCE, fan, how=how
        )
        spans.append(fan_replay.fan_span(record, ohlcv, (r, min(r + every, n)), fan, methods))
    out = fan_replay.fan_horizons(spans, ohlcv)
    out["replayed"] = {"start": str(dates[first]), "end": str(dates[-1]), "n": n - first}
    return out


def ratio_row(h: dict[str, Any]) -> dict[str, Any]:
    """The served fan's coverage, its interval score over the best classical fan's, and
    the DM p-value, at one horizon."""
    best = h["dm"]["against"]
    served = h["served"]["interval_score_80"]
    return {
        "coverage_80": h["served"]["coverage_80"],
        "ratio": served / h["baselines"][best]["interval_score_80"],
        "against": best,
        "p_value": h["dm"]["p_value"],
        "n": h["served"]["n"],
        "share": h["share"],
        "coverage_best": h["baselines"][best]["coverage_80"],
        "network_ratio": None
        if h["network"] is None
        else h["network"]["interval_score_80"] / h["baselines"][best]["interval_score_80"],
        "methods": {
            name: {k: v[k] for k in ("interval_score_80", "coverage_80")}
            for name, v in h["baselines"].items()
            if v
        },
    }


def pooled(rows: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Coverage pooled over the origins, geometric mean of the ratios, and the range of the
    coverages, over ``names``."""
    if not names:
        return {}
    n = sum(rows[k]["n"] for k in names)
    return {
        "coverage_80": sum(rows[k]["coverage_80"] * rows[k]["n"] for k in names) / n,
        "ratio_geomean": math.exp(np.mean([math.log(rows[k]["ratio"]) for k in names])),
        "coverage_min": min(rows[k]["coverage_80"] for k in names),
        "coverage_max": max(rows[k]["coverage_80"] for k in names),
        "series": len(names),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", help="comma-separated subset (default: every series)")
    parser.add_argument("--every", type=int, default=21, help="sessions between refit dates")
    parser.add_argument("--replay", type=float, default=0.3, help="share of bars replayed")
    parser.add_argument(
        "--network", action="store_true", help="the global fan network competes (slow)"
    )
    parser.add_argument("--seed", type=int, default=42, help="the networks' seed")
    parser.add_argument(
        "--persistence",
        type=float,
        default=1.0,
        help="the networks' volatility persistence (rnnforecast.forecast.fan_recipe)",
    )
    parser.add_argument(
        "--rule", default=choice.RULE, help="the choice rule (rnnforecast.risk.fans.choice)"
    )
    parser.add_argument(
        "--per-ticker",
        action="store_true",
        help="with --network: one network per series instead of one per calendar group",
    )
    parser.add_argument(
        "--fhs",
        action="store_true",
        help="the filtered-historical-simulation GARCH fans compete too (benchmarks/fhs_fan.py)",
    )
    args = parser.parse_args()
    methods = {**registry.REGISTRY, **FHS} if args.fhs else registry.REGISTRY
    series = frames()
    names = args.tickers.split(",") if args.tickers else sorted(series)
    networks: dict[str, Networks] = {}
    if args.network:
        groups = {k: (k,) for k in names} if args.per_ticker else GROUPS
        for group, members in groups.items():
            chosen = {k: series[k] for k in members if k in names}
            if chosen:
                print(f"{group}: training the fan networks", file=sys.stderr)
                nets = group_networks(chosen, args.replay, args.seed, args.persistence)
                networks.update({k: nets for k in chosen})
    results: dict[str, Any] = {}
    for name in names:
        began = time.perf_counter()
        results[name] = replay_series(
            series[name], args.replay, args.every, networks.get(name), args.rule, methods
        )
        results[name]["seconds"] = time.perf_counter() - began
        print(f"{name}: {results[name]['seconds']:.0f} s", file=sys.stderr)
    table: dict[str, Any] = {}
    for h in HORIZONS:
        rows = {k: ratio_row(v[h]) for k, v in results.items() if h in v}
        fresh = [k for k in rows if k not in TUNED]
        table[h] = {"series": rows, "untuned": pooled(rows, fresh), "all": pooled(rows, list(rows))}
    print(f"{'h':>3} {'series':<10} {'cover80':>8} {'IS ratio':>9} {'p':>7}  against, served")
    for h, block in table.items():
        for k, row in block["series"].items():
            p = "-" if row["p_value"] is None else f"{row['p_value']:.3f}"
            shares = ", ".join(f"{m} {s:.0%}" for m, s in row["share"].items())
            print(
                f"{h:>3} {k:<10} {row['coverage_80']:8.3f} {row['ratio']:9.3f} {p:>7}  "
                f"{row['against']}; {shares}"
            )
        for side in ("untuned", "all"):
            pool = block[side]
            if pool:
                print(
                    f"{h:>3} {'pooled ' + side:<10} {pool['coverage_80']:8.3f} "
                    f"{pool['ratio_geomean']:9.3f}  coverage {pool['coverage_min']:.3f}-"
                    f"{pool['coverage_max']:.3f} over {pool['series']} series"
                )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"horizons-{stamp}.json"
    out.write_text(json.dumps({"args": vars(args), "table": table}, indent=1, default=str))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
