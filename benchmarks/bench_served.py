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
    nice -n 5 python benchmarks/bench_served.py --more --config configs/distribution.toml

``--more`` adds the series benchmarks/price_files.py writes to prices/more/; ``--tickers``
keeps the named ones; ``--seeds 42,1,2`` trains once per seed. Each walk also scores the
80% interval on log prices (``interval_score_80_log``, a scale-free Winkler score), so that
series at different price levels can be pooled by summing over their days. ``--compare
BASE.json OTHER.json...`` reads written results and prints, per series and pooled (all,
and the untuned series of prices/more/), coverage and the log score ratio on common days.

Writes every figure to benchmarks/results/served-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.data import sources
from rnnforecast.data.store import Store
from rnnforecast.jobs import prediction
from rnnforecast.metrics.accuracy import diebold_mariano
from rnnforecast.storage.home import Home

RESULTS = Path(__file__).parent / "results"
PRICE_FILES = RESULTS / "prices"  # written by benchmarks/price_files.py
MORE_FILES = PRICE_FILES / "more"
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


def walk(home: Path, ticker: str, frame: Any, first: int) -> dict[str, Any]:
    """Predict after each row ``first - 1 .. n - 2`` and score the served 80% interval.

    ``per_day`` keeps each scored day's date, whether the close fell inside and the log-price
    Winkler score, so that two recipes can be compared on the days both scored."""
    closes = frame["close"].to_numpy(dtype=np.float64)
    dates = frame.index.strftime("%Y-%m-%d").tolist()
    inside, scores, log_scores, widths = [], [], [], []
    for last in range(first - 1, len(closes) - 1):
        day = prediction.predict(_HomeAsOf(home, last=last), ticker, horizon=1).forecasts[0]
        actual, low, high = closes[last + 1], day["low"], day["high"]
        inside.append(bool(low <= actual <= high))
        scores.append(winkler(low, high, actual))
        log_scores.append(winkler(np.log(low), np.log(high), np.log(actual)))
        widths.append(high - low)
    return {
        "days": len(inside),
        "coverage_80": float(np.mean(inside)),
        "interval_score_80": float(np.mean(scores)),
        "interval_score_80_log": float(np.mean(log_scores)),
        "mean_width": float(np.mean(widths)),
        "per_day": {
            "date": dates[first : len(closes)],
            "inside": inside,
            "interval_score_80_log": log_scores,
        },
    }


def winkler(low: float, high: float, actual: float) -> float:
    """The Winkler score of one 80% interval: its width plus 2 / (1 - 0.8) times the miss."""
    miss = max(low - actual, 0.0) + max(actual - high, 0.0)
    return float(high - low + miss / 0.1)


def train_no_refit(
    home: Path, ticker: str, path: Path, config: Path, overrides: Sequence[str]
) -> dict[str, Any]:
    """Fetch ``path`` as ``ticker`` into ``home`` and train ``config`` (with ``--set``
    ``overrides``) with ``--no-refit``, so that the network and the served baseline are fitted
    on the rows before the test period only; the ticker's entry of ``train --json``."""
    cli(home, "fetch", ticker, "--csv", str(path))
    sets = [arg for item in overrides for arg in ("--set", item)]
    document = cli(home, "train", ticker, "--config", str(config), *sets, "--no-refit", "--json")
    [trained] = document["tickers"]  # one ticker: one entry
    return trained


def measure(ticker: str, path: Path, config: Path, overrides: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        home = Path(folder) / "home"
        trained = train_no_refit(home, ticker, path, config, overrides)
        risk = cli(home, "evaluate", ticker, "--json")["risk"]
        frame = sources.read_csv(path).frame
        first = frame.index.strftime("%Y-%m-%d").tolist().index(trained["test"]["start"])
        served = walk(home, ticker, frame, first)
    method = trained["interval_method"]
    # the fit's own interval: the network's row, or naive_conformal where no weight shapes it
    own = risk["model"] or risk["baselines"]["naive_conformal"]
    model_is = own["interval_score_80"]
    baseline = risk["baselines"].get(method) or {}
    best = risk["baselines"].get(risk["best_baseline"]) or {}
    best_is = best.get("interval_score_80")
    return {
        "interval_method": method,
        "best_baseline": risk["best_baseline"],
        "dm_p_value": risk["dm"]["p_value"],
        "test_start": trained["test"]["start"],
        "served_walk": served,
        "served_is80_over_model": served["interval_score_80"] / model_is,
        "served_is80_over_best": None if best_is is None else served["interval_score_80"] / best_is,
        "best_in_risk": {k: best.get(k) for k in ("interval_score_80", "coverage_80")},
        "model": {k: own[k] for k in ("interval_score_80", "coverage_80")},
        "served_in_risk": {k: baseline.get(k) for k in ("interval_score_80", "coverage_80")},
    }


def compare(base_file: Path, other_files: list[Path], untuned: set[str]) -> None:
    """Print, per series and pooled, what two recipes served on the days both scored
    (``other_files``: one or more runs of the second recipe, e.g. one per seed).

    Pooled: coverage over all those days, and the sum of the log-price Winkler scores of
    ``other`` over ``base``'s (so series at different price levels add up). DM p: one-sided
    DM-HLN that ``other``'s per-day log score is smaller; pooled, the scores of the series
    (and seeds) scored on the same calendar day are added first, so that correlated series
    do not count as independent days."""

    def runs(file: Path) -> dict[str, Any]:
        written = json.loads(file.read_text())
        return {k: v for k, v in written.items() if isinstance(v, dict) and "served_walk" in v}

    other = {k: v for file in other_files for k, v in runs(file).items()}
    # base: one run per series (its first seed); other: every seed, each pooled as it comes
    base: dict[str, Any] = {}
    for key, run in runs(base_file).items():
        base.setdefault(key.split("@")[0], run)
    print(
        "series       served (other / base)                  days  cov80 other  base"
        "   IS80 log other/base  DM p"
    )
    pools: dict[str, dict[str, list[float]]] = {"all": {}, "untuned": {}}
    for key, run in other.items():
        ticker = key.split("@")[0]
        if ticker not in base:
            continue
        a, b = run["served_walk"]["per_day"], base[ticker]["served_walk"]["per_day"]
        ia = {d: i for i, d in enumerate(a["date"])}
        ib = {d: i for i, d in enumerate(b["date"])}
        common = sorted(set(ia) & set(ib))
        rows = [
            (
                a["inside"][ia[d]],
                b["inside"][ib[d]],
                a["interval_score_80_log"][ia[d]],
                b["interval_score_80_log"][ib[d]],
            )
            for d in common
        ]
        for name in ("all", "untuned") if ticker in untuned else ("all",):
            for day, row in zip(common, rows, strict=True):
                total = pools[name].setdefault(day, [0.0, 0.0, 0.0, 0.0, 0.0])
                for i, v in enumerate((1, *row)):
                    total[i] += v
        print(line(key, f"{run['interval_method']} / {base[ticker]['interval_method']}", rows))
    for name, days in pools.items():
        if days:
            totals = [v[1:] for _, v in sorted(days.items())]
            n = int(sum(v[0] for v in days.values()))
            print(line(f"pool {name}", "", totals, n))


def line(name: str, methods: str, rows: list[Any], n: int | None = None) -> str:
    """One row of :func:`compare`: ``rows`` of (inside, inside, score, score) per day."""
    cov_a, cov_b, is_a, is_b = (np.sum([r[i] for r in rows]) for i in range(4))
    days = len(rows) if n is None else n
    p = diebold_mariano(
        np.array([r[2] for r in rows]), np.array([r[3] for r in rows]), alternative="less"
    )[1]
    return (
        f"{name:12s} {methods:38s} {days:5d}  {cov_a / days:.3f}        {cov_b / days:.3f}"
        f"  {is_a / is_b:.4f}               {'-' if p is None else f'{p:.3f}'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument("--only-sample", action="store_true", help="GOOG only")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--more", action="store_true", help="also the files in prices/more/")
    parser.add_argument("--tickers", help="comma-separated: only these series")
    parser.add_argument("--seeds", help="comma-separated train.seed values (default: the recipe's)")
    parser.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="BASE.json OTHER.json",
        help="no runs: compare written results (a base, then one or more) on common days",
    )
    args = parser.parse_args()
    if args.compare:
        untuned = {p.stem.upper() for p in MORE_FILES.glob("*.csv")}
        if len(args.compare) < 2:
            parser.error("--compare needs BASE.json and at least one OTHER.json")
        compare(args.compare[0], args.compare[1:], untuned=untuned)
        return
    paths = {"GOOG": sources.sample_path()}
    if not args.only_sample:
        paths.update({p.stem.upper(): p for p in sorted(PRICE_FILES.glob("*.csv"))})
        if args.more:
            paths.update({p.stem.upper(): p for p in sorted(MORE_FILES.glob("*.csv"))})
    for item in args.csv:
        ticker, _, file = item.partition("=")
        paths[ticker.upper()] = Path(file)
    if args.tickers:
        keep = {t.strip().upper() for t in args.tickers.split(",")}
        paths = {t: p for t, p in paths.items() if t in keep}
    seeds: list[int | None] = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
    results: dict[str, Any] = {}
    print(
        "series     seed served             best    DM p   walk cov80  IS80/model  IS80/best"
        "  IS80 log"
    )
    for ticker, path in paths.items():
        for seed in seeds:
            sets = args.set if seed is None else [*args.set, f"train.seed={seed}"]
            out = measure(ticker, path, args.config, sets)
            results[ticker if seed is None else f"{ticker}@{seed}"] = out
            walk_ = out["served_walk"]
            p, best = out["dm_p_value"], out["served_is80_over_best"]
            print(
                f"{ticker:10s} {'-' if seed is None else seed!s:4s} "
                f"{out['interval_method']:18s} {out['best_baseline']!s:7s} "
                f"{'-' if p is None else f'{p:.3f}':6s} {walk_['coverage_80']:.3f}       "
                f"{out['served_is80_over_model']:.3f}       "
                f"{'-' if best is None else f'{best:.3f}':9s}  "
                f"{walk_['interval_score_80_log']:.5f}",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"served-{stamp}.json"
    target.write_text(
        json.dumps(
            {"config": str(args.config), "set": args.set, "seeds": seeds, **results}, indent=2
        )
    )
    print(f"written to {target}")


if __name__ == "__main__":
    main()
