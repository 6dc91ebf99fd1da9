"""How good are the classical volatility baselines' 80% intervals on real daily prices?

For each series the last 20% of rows are the test span; every baseline in rnnforecast.risk.baselines
is fitted on the rows before it and filtered forward without refit. Per series and baseline,
prints the coverage of the 80% interval for the next close (target 0.80), the mean Winkler
interval score of that interval in price units (width plus 2/0.2 times any miss; lower is
better), the mean interval width, and QLIKE of the variance forecast against the Garman-Klass +
overnight-gap range variance (proxy/h - ln(proxy/h) - 1; lower is better, 0 is perfect).

The intervals are for the close: [C_{t-1} exp(q10), C_{t-1} exp(q90)] from the log-return
quantiles. Scores are written inline here; the library's scoring lives elsewhere.

    python benchmarks/bench_baselines.py                      # GOOG, plus any price files below
    python benchmarks/price_files.py                          # first, for MSFT, IBM, GSPC, IXIC
    python benchmarks/bench_baselines.py --csv AAPL=path.csv  # other files (repeatable)
    python benchmarks/bench_baselines.py --only-sample        # the bundled GOOG sample only

Writes every figure to benchmarks/results/baselines-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

from rnnforecast.data import sources
from rnnforecast.risk.baselines import BASELINES, forecast_baselines, range_variance

RESULTS = Path(__file__).parent / "results"
PRICE_FILES = RESULTS / "prices"  # written by benchmarks/price_files.py
TEST_FRACTION = 0.2
LEVELS = (0.1, 0.9)
ALPHA = 0.2  # 1 - the interval's nominal coverage


def scores(ohlcv: np.ndarray) -> dict[str, dict[str, float]]:
    """Per baseline: coverage, mean Winkler score and width (price units), mean QLIKE."""
    n = ohlcv.shape[0]
    first_test = n - round(n * TEST_FRACTION)
    started = time.perf_counter()
    forecasts = forecast_baselines(ohlcv, first_test, LEVELS)
    seconds = time.perf_counter() - started
    close = ohlcv[:, 3]
    previous, actual = close[first_test - 1 : -1], close[first_test:]
    proxy = range_variance(ohlcv)[first_test:]
    table = {}
    for name, forecast in forecasts.items():
        lower = previous * np.exp(forecast.quantiles[:, 0])
        upper = previous * np.exp(forecast.quantiles[:, 1])
        width = upper - lower
        miss = np.maximum(lower - actual, 0) + np.maximum(actual - upper, 0)
        ratio = proxy / forecast.variance
        table[name] = {
            "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
            "winkler": float(np.mean(width + 2 / ALPHA * miss)),
            "width": float(np.mean(width)),
            "qlike": float(np.mean(ratio - np.log(ratio) - 1)),
            "test_rows": float(n - first_test),
            **{f"param_{k}": v for k, v in forecast.params.items()},
        }
    table["_"] = {"seconds_all_baselines": seconds}
    return table


def series(args: argparse.Namespace) -> dict[str, Path]:
    paths = {"GOOG": sources.sample_path()}
    if not args.only_sample:
        paths.update({p.stem: p for p in sorted(PRICE_FILES.glob("*.csv"))})
    for item in args.csv:
        ticker, _, path = item.partition("=")
        paths[ticker] = Path(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument("--only-sample", action="store_true", help="GOOG only")
    args = parser.parse_args()
    results = {}
    header = f"{'series':<7}{'baseline':<9}{'rows':>6}{'cover80':>9}{'winkler':>10}"
    header += f"{'width':>9}{'qlike':>8}"
    print(header)
    for ticker, path in series(args).items():
        frame = sources.read_csv(path).frame
        ohlcv = frame[list(sources.COLUMNS)].to_numpy(np.float64)
        table = scores(ohlcv)
        results[ticker] = {"file": path.name, "rows": len(frame), "baselines": table}
        for name in BASELINES:
            row = table[name]
            print(
                f"{ticker:<7}{name:<9}{int(row['test_rows']):>6}{row['coverage']:>9.3f}"
                f"{row['winkler']:>10.3f}{row['width']:>9.3f}{row['qlike']:>8.3f}"
            )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"baselines-{stamp}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
