"""Nightly cost: a challenger trained from scratch vs the current model warm-started.

For each of N synthetic tickers (GARCH(1,1) log returns with a small drift, a different
seed each, ``--rows`` daily bars), ``run`` first establishes the current model on all but
the last ``--new`` bars; the home folder is then copied and the nightly ``run`` with the
new bars is made twice, once from scratch and once with ``run.warm_start``. Both
challengers are scored on the same test period (their scored fits, out of sample there).

Reported: training time (the manifest's ``timings``: ``fit`` = Keras fitting of the scored
fit and the refit, ``total`` = the whole of training and saving the bundle), summed over
tickers and as a per-ticker median; test rel_mae and interval coverage; a one-sided
Diebold-Mariano test (HLN) that warm-started one-day absolute errors are larger, on the
daily losses of every ticker pooled (each ticker's errors divided by its naive MAE so that
no price level dominates), and a sign test over tickers on rel_mae.

    python benchmarks/bench_warm.py                       # 20 tickers, the small config
    python benchmarks/bench_warm.py --tickers 4 --default # the default recipe, a subset
    python benchmarks/bench_warm.py --set train.learning_rate=0.002

Writes every figure to benchmarks/results/warm-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config, RunConfig, TickerJob, apply_overrides
from rnnforecast.data.sources import CsvSource
from rnnforecast.jobs import evaluation
from rnnforecast.jobs import nightly as nightly_job
from rnnforecast.metrics import accuracy
from rnnforecast.storage.home import Home

# Small enough for a shared 2-core machine: 20 tickers x 3 trainings in minutes.
SMALL = ["model.units=16", "model.dense_units=16", "data.window=20"]


def garch_prices(n: int, seed: int) -> pd.DataFrame:
    """``n`` weekday bars whose close follows AR(1)-GARCH(1,1) log returns (phi 0.15, so
    that a network has something to learn; omega 2e-6, alpha 0.08, beta 0.9, drift 3e-4),
    with open/high/low/volume around it."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta, phi = 2e-6, 0.08, 0.9, 0.15
    var = omega / (1 - alpha - beta)
    returns = np.empty(n)
    previous = 0.0
    for t in range(n):
        shock = math.sqrt(var) * rng.standard_normal()
        returns[t] = 3e-4 + phi * previous + shock
        previous = returns[t] - 3e-4
        var = omega + alpha * shock**2 + beta * var
    close = 50 * (1 + seed % 7) * np.exp(np.cumsum(returns))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000_000, 5_000_000, n).astype(float)
    index = pd.bdate_range("2015-01-01", periods=n, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


def nightly(home: Home, config: Config, csv: Path, ticker: str, warm: bool) -> dict[str, Any]:
    plan = RunConfig((TickerJob(ticker, CsvSource(csv)),), keep=5, warm_start=warm)
    (done,) = nightly_job.run(home, config, plan)
    if done.error is not None or done.result is None:
        raise SystemExit(f"{ticker}: {done.error}")
    outcome = done.result
    manifest = json.loads(
        (home.root / "models" / ticker / str(outcome.run_id) / "manifest.json").read_text()
    )
    days = evaluation.evaluate(home, ticker, outcome.run_id).days
    assert days is not None
    test = manifest["metrics"]["test"]
    return {
        "run_id": outcome.run_id,
        "warm_start": outcome.warm_start,
        "from_scratch": outcome.from_scratch,
        "fit_seconds": manifest["timings"]["fit_seconds"] + manifest["timings"]["refit_seconds"],
        "total_seconds": manifest["timings"]["total_seconds"],
        "epochs": [
            manifest["fits"]["scored"]["training"]["epochs_run"],
            manifest["fits"]["served"].get("epochs"),
        ],
        "rel_mae": test["model"]["rel_mae"],
        "raw_rel_mae": test["uncalibrated"]["rel_mae"],
        "coverage": test["intervals"]["coverage"],
        "abs_errors": np.abs(days.actual - days.point).tolist(),
        "raw_abs_errors": np.abs(days.actual - days.raw).tolist(),
        "naive_mae": float(np.mean(np.abs(days.actual - days.naive))),
    }


def sign_test(worse: int, n: int) -> float:
    """One-sided p-value of ``worse`` or more of ``n`` under a fair coin."""
    return sum(math.comb(n, k) for k in range(worse, n + 1)) / 2**n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickers", type=int, default=20)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--new", type=int, default=5, help="bars added before the nightly run")
    parser.add_argument("--default", action="store_true", help="the default recipe, not SMALL")
    parser.add_argument("--set", action="append", default=[], help="config override")
    parser.add_argument("--partial", type=Path, help="append each ticker's figures here")
    parser.add_argument("--report", type=Path, help="only report a --partial file's figures")
    args = parser.parse_args()
    overrides = ([] if args.default else SMALL) + args.set
    if args.report:
        report([json.loads(line) for line in args.report.read_text().splitlines()], overrides, args)
        return
    config = apply_overrides(Config(), overrides)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.tickers):
            ticker = f"SYN{i:02d}"
            folder = Path(tmp) / ticker
            folder.mkdir()
            prices = garch_prices(args.rows, seed=1000 + i)
            csv = folder / "prices.csv"
            prices.iloc[: -args.new].to_csv(csv)
            base = Home(folder / "base")
            nightly(base, config, csv, ticker, warm=False)
            prices.to_csv(csv)
            results = {}
            for name, warm in (("scratch", False), ("warm", True)):
                shutil.copytree(folder / "base", folder / name)
                results[name] = nightly(Home(folder / name), config, csv, ticker, warm)
            assert results["warm"]["warm_start"] is not None, results["warm"]["from_scratch"]
            rows.append({"ticker": ticker, **results})
            if args.partial:  # one JSON line per ticker, so a long run can be resumed or read
                with open(args.partial, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(rows[-1]) + "\n")
            s, w = results["scratch"], results["warm"]
            print(
                f"{ticker}: total {s['total_seconds']:.1f}s vs {w['total_seconds']:.1f}s, "
                f"epochs {s['epochs']} vs {w['epochs']}, rel_mae {s['rel_mae']:.4f} vs "
                f"{w['rel_mae']:.4f}",
                flush=True,
            )
    report(rows, overrides, args)


def report(rows: list[dict[str, Any]], overrides: list[str], args: argparse.Namespace) -> None:
    def column(name: str, key: str) -> list[float]:
        return [float(r[name][key]) for r in rows]

    table = []
    for key, label in (
        ("total_seconds", "training time, total (s)"),
        ("fit_seconds", "Keras fitting only (s)"),
    ):
        s, w = column("scratch", key), column("warm", key)
        table.append((f"{label}, sum", sum(s), sum(w), sum(s) / sum(w)))
        ms, mw = statistics.median(s), statistics.median(w)
        table.append((f"{label}, median per ticker", ms, mw, ms / mw))
    for key in ("rel_mae", "raw_rel_mae", "coverage"):
        s, w = column("scratch", key), column("warm", key)
        ms, mw = statistics.mean(s), statistics.mean(w)
        table.append((f"test {key}, mean over tickers", ms, mw, mw / ms))
    tests = {}
    for key in ("abs_errors", "raw_abs_errors"):
        pooled = {
            name: np.concatenate([np.array(r[name][key]) / r[name]["naive_mae"] for r in rows])
            for name in ("scratch", "warm")
        }
        # None, None: identical losses (both shrunk to naive everywhere), nothing to test
        stat, p_dm = accuracy.diebold_mariano(pooled["warm"], pooled["scratch"], 1, "greater")
        tests[key] = {"n": len(pooled["warm"]), "statistic": stat, "p_value": p_dm}
    signs = {}
    for key in ("rel_mae", "raw_rel_mae"):
        worse = sum(r["warm"][key] > r["scratch"][key] for r in rows)
        better = sum(r["warm"][key] < r["scratch"][key] for r in rows)
        # ties dropped, as the sign test does
        signs[key] = {"worse": worse, "better": better, "p_value": sign_test(worse, worse + better)}
    print()
    print(f"{len(rows)} tickers x {args.rows} rows, {args.new} new bars; overrides {overrides}")
    print(f"{'':44s} {'scratch':>10s} {'warm':>10s} {'ratio':>8s}")
    for label, s_value, w_value, ratio in table:
        print(f"{label:44s} {s_value:10.4f} {w_value:10.4f} {ratio:8.2f}")
    for key, t in tests.items():
        print(
            f"DM (HLN), warm worse than scratch, pooled {key} / naive MAE (n={t['n']}): "
            f"stat {t['statistic']}, one-sided p {t['p_value']}"
        )
    for key, t in signs.items():
        print(
            f"sign test on {key}: warm worse on {t['worse']}, better on {t['better']} of "
            f"{len(rows)} tickers, one-sided p {t['p_value']:.3f}"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for r in rows:
        for name in ("scratch", "warm"):
            r[name].pop("abs_errors")
            r[name].pop("raw_abs_errors")
    (out / f"warm-{stamp}.json").write_text(
        json.dumps(
            {
                "overrides": overrides,
                "rows": args.rows,
                "new": args.new,
                "table": table,
                "dm": tests,
                "sign": signs,
                "tickers": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
