"""Served baseline intervals, fixed vs adaptive widths, walked day by day. No network needed.

The served baselines do not depend on the network (with the default recipe the served centre is
the naive forecast, the previous close), so no model is trained. For each series: split like
train (chronological: the last 20% of windows are the test period, the last ``--val-fraction``
of the rest the validation period); fit each baseline on the rows before a period
(``interval_choice.fit_record``, as ``train --no-refit``); walk predict's numpy served bounds
over every day of the period, as of the bar before it (``interval_choice.bounds`` on the last
``adaptive_widths.rows_needed`` bars, with ``adaptive_widths.factor`` for adaptive widths); and
score the 80% interval: coverage and the mean log-price Winkler score (scale-free).

The method is the one train would serve, chosen here on the validation period: the baseline
with the lowest mean 80% interval score (price units, fixed widths). The recipe key
``calibration.adaptive_baseline`` is chosen on the VALIDATION periods of the five tuning series
(GOOG, MSFT, IBM, GSPC, IXIC); the test periods of every series are reported, the eight of
prices/more/ as the untuned pool.

    python benchmarks/price_files.py                 # the price files (seconds)
    python benchmarks/bench_served_adaptive.py --more
    python benchmarks/bench_served_adaptive.py --more --tickers NFLX,NVDA --pin NVDA=gjr_t
    python benchmarks/bench_served_adaptive.py --tickers GOOG,MSFT,IBM,GSPC,IXIC \
        --validation-only --scheme 250,0.002,250     # another scheme: window,gamma,warmup

Pooled figures sum the per-day log scores over series; the pooled one-sided DM-HLN p-value
(adaptive smaller) first adds the scores of the series scored on the same calendar day.
Writes every figure to benchmarks/results/served-adaptive-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.config import DataConfig
from rnnforecast.data import sources
from rnnforecast.errors import DataError
from rnnforecast.forecast.conformal import DEFAULT, Adaptive
from rnnforecast.forecast.windows import Split
from rnnforecast.metrics.accuracy import diebold_mariano
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.baselines import BASELINES, baselines_for

RESULTS = Path(__file__).parent / "results"
PRICE_FILES = RESULTS / "prices"  # written by benchmarks/price_files.py
MORE_FILES = PRICE_FILES / "more"
TUNED = ("GOOG", "MSFT", "IBM", "GSPC", "IXIC")
LEVEL = 0.8
BAND = (0.77, 0.83)


def winkler(low: float, high: float, actual: float) -> float:
    """The Winkler score of one 80% interval: its width plus 2 / (1 - 0.8) times the miss."""
    miss = max(low - actual, 0.0) + max(actual - high, 0.0)
    return float(high - low + miss / 0.1)


def walk(record: interval_choice.IntervalRecord, ohlcv: np.ndarray, days: range) -> dict[str, list]:
    """Serve day ``d`` of ``days`` from the bars before it, exactly as predict does for a
    naive centre; per day: inside, the price and log-price Winkler scores, the factor."""
    rows_needed = adaptive_widths.rows_needed(record)
    out: dict[str, list] = {"inside": [], "is80": [], "is80_log": [], "factor": []}
    for d in days:
        rows = ohlcv[max(0, d - rows_needed) : d]
        factor = adaptive_widths.factor(record, rows)
        centre = np.array([rows[-1, 3]])
        low, high = (float(v[0]) for v in interval_choice.bounds(record, rows, centre, factor))
        actual = float(ohlcv[d, 3])
        out["inside"].append(bool(low <= actual <= high))
        out["is80"].append(winkler(low, high, actual))
        out["is80_log"].append(winkler(np.log(low), np.log(high), np.log(actual)))
        out["factor"].append(factor)
    return out


def periods(n_rows: int, val_fraction: float) -> tuple[int, int]:
    """The first row of the validation and of the test period, as train splits the windows."""
    data = DataConfig(val_fraction=val_fraction)
    split = Split.plan(n_rows, data)
    return split.val.start + data.lookback, split.test.start + data.lookback


def choose(ohlcv: np.ndarray, dates: list[str], first_val: int, first_test: int) -> str:
    """The baseline with the lowest mean 80% interval score (fixed widths) on the validation
    period, fitted on the rows before it."""
    scores = {}
    for method in baselines_for(first_val):
        try:
            record = interval_choice.fit_record(
                method, ohlcv, first_val, LEVEL, dates[first_val - 1]
            )
        except DataError:
            continue
        scores[method] = float(np.mean(walk(record, ohlcv, range(first_val, first_test))["is80"]))
    return min(scores, key=scores.__getitem__)


def measure(
    path: Path, val_fraction: float, scheme: Adaptive, parts: tuple[str, ...], pin: str | None
) -> dict[str, Any]:
    frame = sources.read_csv(path).frame
    ohlcv = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    dates = frame.index.strftime("%Y-%m-%d").tolist()
    first_val, first_test = periods(len(ohlcv), val_fraction)
    method = pin or choose(ohlcv, dates, first_val, first_test)
    out: dict[str, Any] = {"method": method}
    for name, start, end in (
        ("validation", first_val, first_test),
        ("test", first_test, len(ohlcv)),
    ):
        if name not in parts:
            continue
        fixed = interval_choice.fit_record(method, ohlcv, start, LEVEL, dates[start - 1])
        adaptive = replace(fixed, adaptive=scheme)
        days = range(start, end)
        out[name] = {
            "start": dates[start],
            "end": dates[end - 1],
            "date": dates[start:end],
            "fixed": walk(fixed, ohlcv, days),
            "adaptive": walk(adaptive, ohlcv, days),
        }
    return out


def summary(part: dict[str, Any]) -> dict[str, Any]:
    """Coverage of each, the log score ratio adaptive / fixed, DM p (adaptive smaller)."""
    fixed, adaptive = part["fixed"], part["adaptive"]
    a, f = np.array(adaptive["is80_log"]), np.array(fixed["is80_log"])
    p = diebold_mariano(a, f, alternative="less")[1]
    return {
        "days": len(a),
        "coverage_fixed": float(np.mean(fixed["inside"])),
        "coverage_adaptive": float(np.mean(adaptive["inside"])),
        "ratio": float(a.sum() / f.sum()),
        "dm_p": p,
        "mean_factor": float(np.mean(adaptive["factor"])),
    }


def pooled(results: dict[str, Any], tickers: list[str], name: str) -> dict[str, Any]:
    """Pool ``tickers``' period ``name``: coverage over all series-days, the ratio of summed
    log scores, DM p on the per-calendar-day sums (correlated series are not independent)."""
    days: dict[str, list[float]] = {}
    inside = {"fixed": 0, "adaptive": 0}
    total = 0
    for ticker in tickers:
        part = results[ticker][name]
        for i, date in enumerate(part["date"]):
            row = days.setdefault(date, [0.0, 0.0])
            row[0] += part["adaptive"]["is80_log"][i]
            row[1] += part["fixed"]["is80_log"][i]
        for key in inside:
            inside[key] += int(np.sum(part[key]["inside"]))
        total += len(part["date"])
    a = np.array([v[0] for _, v in sorted(days.items())])
    f = np.array([v[1] for _, v in sorted(days.items())])
    return {
        "days": total,
        "coverage_fixed": inside["fixed"] / total,
        "coverage_adaptive": inside["adaptive"] / total,
        "ratio": float(a.sum() / f.sum()),
        "dm_p": diebold_mariano(a, f, alternative="less")[1],
    }


def show(label: str, s: dict[str, Any], method: str = "") -> None:
    def band(c: float) -> str:
        return " " if BAND[0] <= c <= BAND[1] else "*"

    p = "-" if s["dm_p"] is None else f"{s['dm_p']:.3f}"
    fixed, adaptive = s["coverage_fixed"], s["coverage_adaptive"]
    print(
        f"{label:22s} {method:8s} {s['days']:6d}  {fixed:.3f}{band(fixed)}"
        f"  {adaptive:.3f}{band(adaptive)}  {s['ratio']:.4f}  {p}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--more", action="store_true", help="also the files in prices/more/")
    parser.add_argument("--tickers", help="comma-separated: only these series")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="share of the training part, at its end, that is the validation period",
    )
    parser.add_argument(
        "--scheme",
        default=f"{DEFAULT.window},{DEFAULT.gamma},{DEFAULT.warmup}",
        help="the adaptive scheme: window,gamma,warmup (default: the network's)",
    )
    parser.add_argument(
        "--validation-only", action="store_true", help="walk the validation periods only"
    )
    parser.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="TICKER=METHOD",
        help="serve this baseline for the series instead of the validation choice",
    )
    args = parser.parse_args()
    pins = dict(item.upper().split("=") for item in args.pin)
    pins = {t: m.lower() for t, m in pins.items()}
    window, gamma, warmup = args.scheme.split(",")
    scheme = Adaptive.from_dict({"window": window, "gamma": gamma, "warmup": warmup})
    parts = ("validation",) if args.validation_only else ("validation", "test")
    paths = {"GOOG": sources.sample_path()}
    paths.update({p.stem.upper(): p for p in sorted(PRICE_FILES.glob("*.csv"))})
    untuned = [p.stem.upper() for p in sorted(MORE_FILES.glob("*.csv"))] if args.more else []
    paths.update({p.stem.upper(): p for p in sorted(MORE_FILES.glob("*.csv")) if args.more})
    if args.tickers:
        keep = {t.strip().upper() for t in args.tickers.split(",")}
        paths = {t: p for t, p in paths.items() if t in keep}
    header = "series / period         method     days  cov fixed  adaptive  ratio   DM p"
    results: dict[str, Any] = {}
    summaries: dict[str, Any] = {}
    print(header + "   (* outside 0.77-0.83; ratio: log IS80 adaptive / fixed)")
    for ticker, path in paths.items():
        pin = pins.get(ticker)
        results[ticker] = measure(path, args.val_fraction, scheme, parts, pin)
        summaries[ticker] = {n: summary(results[ticker][n]) for n in parts}
        for n in parts:
            show(f"{ticker} {n}", summaries[ticker][n], results[ticker]["method"])
    pools: dict[str, Any] = {}
    tuned = [t for t in TUNED if t in results]
    untuned = [t for t in untuned if t in results]
    for label, tickers, name in (
        ("tuned validation", tuned, "validation"),
        ("tuned test", tuned, "test"),
        ("untuned test", untuned, "test"),
        ("all test", list(results), "test"),
    ):
        if tickers and name in parts:
            pools[label] = pooled(results, tickers, name)
            show(f"pool {label}", pools[label])
    if "tuned validation" in pools:
        v = pools["tuned validation"]
        better = v["ratio"] < 1 and abs(v["coverage_adaptive"] - LEVEL) <= abs(
            v["coverage_fixed"] - LEVEL
        )
        print(f"default chosen on the tuned validation pool: adaptive_baseline = {better}".lower())
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"served-adaptive-{stamp}.json"
    payload = {"val_fraction": args.val_fraction, "adaptive": scheme.to_dict(), "pins": pins}
    payload.update(summaries=summaries, pools=pools, runs=results, baselines=list(BASELINES))
    target.write_text(json.dumps(payload, indent=1))
    print(f"written to {target}")


if __name__ == "__main__":
    main()
