"""Store: importing daily bars from CSV files into a fresh SQLite store, through the library.

Writes one CSV per ticker first (not timed): 10 years of weekday bars (2,520 rows) of a
synthetic random walk with valid OHLCV (High >= Open, Close >= Low > 0, integer volume),
for 100 tickers. Then, ticker by ticker, times:

    pandas.read_csv(path)                         the baseline: a bare, typed parse
    pandas.read_csv(path, dtype=str, ...)         the parse call sources.read_csv makes
    sources.validate_bars(frame)                  validation alone, on the parsed frame
    sources.read_csv(path)                        parse, dates, numbers and validation
    ingest.fetch(Home(tmp), [ticker], CsvSource(path)) the import: the above + lock + SQLite

then fetches every ticker again (nothing new to add: the write finds every date stored and
compares the stored rows with the file's), and reads each ticker back with
``Store.read`` (what train, evaluate and predict do first). Prints seconds per ticker
(median, 90th percentile), the total, the ratio of the medians to the bare
``pandas.read_csv``, and how the import splits into parsing, conversion, validation and
SQLite. The store lives in a temporary folder (see the line printed first).

    python benchmarks/bench_store.py                       # 100 tickers x 2,520 rows
    python benchmarks/bench_store.py --tickers 20 --rows 5000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast.data import sources
from rnnforecast.jobs import ingest
from rnnforecast.storage.home import Home


def write_prices(path: Path, rows: int, rng: np.random.Generator) -> None:
    """A random walk of ``rows`` weekday bars from 2014-01-01, as a Yahoo-style CSV."""
    dates = pd.bdate_range("2014-01-01", periods=rows)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, rows)))
    open_ = np.concatenate([[50.0], close[:-1]]) * np.exp(rng.normal(0.0, 0.005, rows))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.01, rows)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.01, rows)).clip(max=0.5))
    volume = rng.integers(100_000, 10_000_000, rows)
    frame = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume},
        index=pd.Index(dates, name="Date"),
    )
    frame.to_csv(path, float_format="%.6f")


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", type=int, default=100, help="tickers (default 100)")
    parser.add_argument(
        "--rows", type=int, default=2520, help="weekday bars per ticker (default 2,520)"
    )
    args = parser.parse_args()
    if args.tickers < 1 or args.rows < 3:
        parser.error("need at least 1 ticker and 3 rows")

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        root = Path(tmp)
        home = Home(root / "home")
        rng = np.random.default_rng(0)
        tickers = [f"T{i:03d}" for i in range(args.tickers)]
        paths = {}
        for ticker in tickers:
            paths[ticker] = root / f"{ticker}.csv"
            write_prices(paths[ticker], args.rows, rng)
        print(
            f"{args.tickers} tickers x {args.rows:,} rows "
            f"({paths[tickers[0]].stat().st_size / 1e3:.0f} kB per CSV); store in {root}"
        )

        times: dict[str, list[float]] = defaultdict(list)
        for ticker in tickers:
            path = paths[ticker]
            times["bare"].append(timed(pd.read_csv, path)[0])
            times["parse"].append(timed(pd.read_csv, path, dtype=str, skipinitialspace=True)[0])
            seconds, bars = timed(sources.read_csv, path)
            times["source"].append(seconds)
            times["validate"].append(timed(sources.validate_bars, bars.frame, str(path))[0])
            seconds, results = timed(ingest.fetch, home, [ticker], sources.CsvSource(path))
            times["fetch"].append(seconds)
            assert results[0].added == args.rows, results
        for ticker in tickers:
            seconds, results = timed(ingest.fetch, home, [ticker], sources.CsvSource(paths[ticker]))
            times["refetch"].append(seconds)
            assert results[0].added == 0 and results[0].changed == 0, results
        for ticker in tickers:
            seconds, frame = timed(home.store.read, ticker)
            times["read"].append(seconds)
            assert len(frame) == args.rows
        database = sum(p.stat().st_size for p in root.joinpath("home").glob("store.sqlite*"))

    med = {key: statistics.median(values) for key, values in times.items()}
    base = med["bare"]
    rows = [
        ("bare", "pandas.read_csv(path)  (baseline)"),
        ("parse", "pandas.read_csv(path, dtype=str, ...)"),
        ("validate", "sources.validate_bars(frame)"),
        ("source", "sources.read_csv(path)"),
        ("fetch", "ingest.fetch(..., CsvSource(path)), first"),
        ("refetch", "ingest.fetch(..., CsvSource(path)), again"),
        ("read", "Store.read(ticker)"),
    ]
    print(
        f"\nseconds per ticker over {args.tickers} tickers (median, 90th percentile), "
        "total over all of them, and the median as a multiple of the bare read_csv"
    )
    header = f"{'step':<40} {'median s':>9} {'p90 s':>9} {'total s':>9} {'vs read_csv':>12}"
    print(header)
    print("-" * len(header))
    for key, label in rows:
        values = times[key]
        print(
            f"{label:<40} {med[key]:>9.4f} {np.percentile(values, 90):>9.4f} "
            f"{sum(values):>9.2f} {med[key] / base:>11.1f}x"
        )

    fetch = med["fetch"]
    split = [
        ("parsing (pandas.read_csv, dtype=str)", med["parse"]),
        ("dates, numbers (sources.read_csv rest)", med["source"] - med["parse"] - med["validate"]),
        ("validation (validate_bars)", med["validate"]),
        ("lock + SQLite write (fetch - read_csv)", fetch - med["source"]),
    ]
    print(f"\nwhere the first import of one ticker goes (median {fetch:.4f} s; from the medians)")
    for label, value in split:
        print(f"  {label:<40} {value:>9.4f} s {value / fetch:>7.1%}")
    first, last = times["fetch"][:10], times["fetch"][-10:]
    print(
        f"first import, median of the first 10 tickers {statistics.median(first):.4f} s, "
        f"of the last 10 {statistics.median(last):.4f} s (a fuller store); "
        f"store {database / 1e6:.1f} MB for {args.tickers * args.rows:,} rows"
    )


if __name__ == "__main__":
    main()
