"""What does predict serve, and how good is it? The served intervals walked over the test period.

For each series: fetch it into a fresh home, train the recipe with ``--no-refit`` (so the served
baseline, like the network, is fitted on the rows before the test period only), read which
method the bundle serves (``train --json``'s ``interval_method``) and evaluate's ``risk``
object. Then walk ``predict`` over every day of the test period, as of the bar before it (the
store read through a seam that hides later bars), and score what it served: the coverage of the
80% interval for the next close and its mean Winkler interval score (price units), next to
``risk.model`` (the network's intervals on the same days) and the served baseline's own score in
``risk.baselines`` (arch's filter over the whole history instead of predict's last 500 bars).

    python benchmarks/bench_served.py                       # GOOG sample, plus any price files
    python benchmarks/price_files.py                        # first, for MSFT, IBM, GSPC, IXIC
    python benchmarks/bench_served.py --only-sample --set train.epochs=10

Writes every figure to benchmarks/results/served-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast import serving, sources
from rnnforecast.home import Home
from rnnforecast.store import Store

RESULTS = Path(__file__).parent / "results"
PRICE_FILES = RESULTS / "prices"  # written by benchmarks/price_files.py
DEFAULT_CONFIG = Path(__file__).parent.parent / "configs" / "default.toml"


@dataclass(frozen=True)
class _StoreAsOf:
    """The store as it stood after row ``last``: read_last hides the later bars."""

    store: Store
    last: int

    def read_last(self, ticker: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
        dates, values = self.store.read_last(ticker, 10**9)
        keep = slice(max(self.last + 1 - rows, 0), self.last + 1)
        return dates[keep], values[keep]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@dataclass(frozen=True)
class _HomeAsOf(Home):
    last: int = 0

    @property
    def store(self) -> Any:
        return _StoreAsOf(Store(self.root / "store.sqlite"), self.last)


def cli(home: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "rnnforecast", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"rnnforecast {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout) if "--json" in args else {}


def walk(home: Path, ticker: str, closes: np.ndarray, first: int) -> dict[str, float]:
    """Predict after each row ``first - 1 .. n - 2`` and score the served 80% interval."""
    inside, scores, widths = [], [], []
    for last in range(first - 1, len(closes) - 1):
        day = serving.predict(_HomeAsOf(home, last), ticker, horizon=1).forecasts[0]
        actual, low, high = closes[last + 1], day["low"], day["high"]
        miss = max(low - actual, 0.0) + max(actual - high, 0.0)
        inside.append(low <= actual <= high)
        scores.append(high - low + miss / 0.1)  # Winkler at 80%: 2 / (1 - 0.8)
        widths.append(high - low)
    return {
        "days": len(inside),
        "coverage_80": float(np.mean(inside)),
        "interval_score_80": float(np.mean(scores)),
        "mean_width": float(np.mean(widths)),
    }


def measure(ticker: str, path: Path, config: Path, overrides: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        home = Path(folder) / "home"
        cli(home, "fetch", ticker, "--csv", str(path))
        sets = [arg for item in overrides for arg in ("--set", item)]
        trained = cli(home, "train", ticker, "--config", str(config), *sets, "--no-refit", "--json")
        risk = cli(home, "evaluate", ticker, "--json")["risk"]
        frame = sources.read_csv(path).frame
        dates = frame.index.strftime("%Y-%m-%d").tolist()
        first = dates.index(trained["test"]["start"])
        served = walk(home, ticker, frame["close"].to_numpy(dtype=np.float64), first)
    method = trained["interval_method"]
    model_is = risk["model"]["interval_score_80"]
    baseline = risk["baselines"].get(method) or {}
    return {
        "interval_method": method,
        "best_baseline": risk["best_baseline"],
        "dm_p_value": risk["dm"]["p_value"],
        "served_walk": served,
        "served_is80_over_model": served["interval_score_80"] / model_is,
        "model": {k: risk["model"][k] for k in ("interval_score_80", "coverage_80")},
        "served_in_risk": {k: baseline.get(k) for k in ("interval_score_80", "coverage_80")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument("--only-sample", action="store_true", help="GOOG only")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    paths = {"GOOG": sources.sample_path()}
    if not args.only_sample:
        paths.update({p.stem.upper(): p for p in sorted(PRICE_FILES.glob("*.csv"))})
    for item in args.csv:
        ticker, _, file = item.partition("=")
        paths[ticker.upper()] = Path(file)
    results = {}
    print("series  served    best      DM p    walk cov80  walk IS80/model  risk IS80 (served)")
    for ticker, path in paths.items():
        out = measure(ticker, path, args.config, args.set)
        results[ticker] = out
        walk_ = out["served_walk"]
        p = out["dm_p_value"]
        print(
            f"{ticker:7s} {out['interval_method']:9s} {out['best_baseline']!s:9s} "
            f"{'-' if p is None else f'{p:.3f}':7s} {walk_['coverage_80']:.3f}       "
            f"{out['served_is80_over_model']:.3f}            "
            f"{walk_['interval_score_80']:.4f} ({out['served_in_risk']['interval_score_80']})"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"served-{stamp}.json"
    target.write_text(
        json.dumps({"config": str(args.config), "set": args.set, **results}, indent=2)
    )
    print(f"written to {target}")


if __name__ == "__main__":
    main()
