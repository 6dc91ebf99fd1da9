"""The distribution head's 80% intervals and variances next to the point head and classical
volatility models, on real daily prices.

For each series and seed, trains a distribution-head network through rnnforecast's own
fitting (scalers on training windows, conformal calibration on validation windows) and
scores its next-day intervals on the held-out test windows, in log-return units:

- coverage of the 80% intervals and the Winkler interval score (lower is better), relative
  to the point head's conformal intervals and to the classical baselines
  (:func:`rnnforecast.risk.baselines.forecast_baselines`: GARCH(1,1)-t, GJR-t, EWMA, 50-day SD,
  250-day empirical quantiles, HAR; parameters fitted on the rows before the test period);
- QLIKE of the network's variance (its scale squared, before calibration) relative to
  GARCH-t and HAR, with the squared return as the proxy (floored at 1e-8) and with the
  range-based proxy (Garman-Klass plus the squared overnight gap).

The point head's intervals are computed without a network: on every real series the shrink
gate keeps factor 0 (the naive forecast), so its intervals are the naive close times
exp(+-q * sd), sd the standard deviation of the last 50 daily log returns and q the
split-conformal quantile of |r| / sd on the same validation windows.

Settings were chosen on simulated GARCH(1,1)-t prices (tests/nn/test_head.py: tanh cells,
patience) and on each series' validation period (--validation: the last 20% of the rows
before the test period), never on a test period; they are configs/distribution.toml,
overridable with --set.

    python benchmarks/price_files.py            # writes the real price files (once)
    python benchmarks/bench_head.py             # GOOG + every file price_files.py wrote
    python benchmarks/bench_head.py --tickers GOOG --seeds 1 --set train.epochs=3
    python benchmarks/bench_head.py --validation --set data.window=50   # choosing settings

Writes every figure to benchmarks/results/head-{test,validation}-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.config import Config, DataConfig, apply_overrides, load_config
from rnnforecast.data import sources
from rnnforecast.forecast.calibration import distribution, fit_calibration
from rnnforecast.forecast.windows import Split, build_dataset
from rnnforecast.metrics import probabilistic
from rnnforecast.risk import baselines
from rnnforecast.training import fitting

RESULTS = Path(__file__).parent / "results"
PRICES = RESULTS / "prices"
LEVEL = 0.8
POINT_WINDOW = 50  # the point head's volatility window (the default data.window)
RECIPE = Path(__file__).parent.parent / "configs" / "distribution.toml"


def series() -> dict[str, Any]:
    """GOOG (bundled) and every price file present, as canonical frames."""
    frames = {"GOOG": sources.load_sample().frame}
    for path in sorted(PRICES.glob("*.csv")):
        frames[path.stem] = sources.read_csv(path).frame
    return frames


def point_intervals(
    ohlcv: np.ndarray, val_rows: np.ndarray, test_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The point head's 80% bounds (log-return units) for the test rows, calibrated on the
    validation rows: naive centre, 50-day SD times the conformal quantile."""
    data = DataConfig(features=("close",), window=POINT_WINDOW)
    lookback = data.lookback
    closes = ohlcv[:, 3]

    def windows(rows: np.ndarray) -> np.ndarray:
        return np.stack([ohlcv[t - lookback : t] for t in rows])

    val_base = windows(val_rows)
    calibration = fit_calibration(
        val_base[:, -1, 3, None],
        closes[val_rows, None],
        val_base,
        POINT_WINDOW,
        LEVEL,
        shrink=False,
    )
    test_base = windows(test_rows)
    closes_window = test_base[:, -POINT_WINDOW:, 3]
    sd = np.std(np.diff(np.log(closes_window), axis=1), axis=1)
    half = calibration.halfwidth[0] * np.where(sd > 0, sd, 1e-6)
    return -half, half, calibration.halfwidth[0]


def run_series(ticker: str, frame: Any, config: Config, seeds: list[int]) -> dict[str, Any]:
    data = config.data
    ohlcv = frame.loc[:, ["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    split = Split.plan(len(frame), data)
    lookback = data.lookback
    test_rows = np.arange(split.test.start, split.test.stop) + lookback
    val_rows = np.arange(split.val.start, split.val.stop) + lookback
    first_test = int(test_rows[0])
    returns = np.log(ohlcv[1:, 3] / ohlcv[:-1, 3])
    actual = returns[test_rows - 1]
    proxies = {
        "r2": np.maximum(actual**2, baselines.VARIANCE_FLOOR),
        "range": baselines.range_variance(ohlcv)[test_rows],
    }

    scores: dict[str, dict[str, Any]] = {}
    classical = baselines.forecast_baselines(ohlcv, first_test, (0.1, 0.9))
    for name, result in classical.items():
        low, high = result.quantiles[:, 0], result.quantiles[:, 1]
        scores[name] = {
            "coverage": probabilistic.coverage(actual, low, high),
            "interval_score": float(
                np.mean(probabilistic.interval_score(actual, low, high, LEVEL))
            ),
            "qlike": {k: probabilistic.qlike(result.variance, p) for k, p in proxies.items()},
        }
    low, high, q = point_intervals(ohlcv, val_rows, test_rows)
    scores["point_head"] = {
        "coverage": probabilistic.coverage(actual, low, high),
        "interval_score": float(np.mean(probabilistic.interval_score(actual, low, high, LEVEL))),
        "conformal_q": q,
    }

    runs = []
    for seed in seeds:
        seeded = apply_overrides(config, [f"train.seed={seed}"])
        started = time.perf_counter()
        dataset = build_dataset(frame, data)
        fitted = fitting.fit(seeded, fitting.Partition.of(dataset, split))
        model = fitted.model
        part = dataset.select(split.test)
        result = model.forecast(part.base, 1)
        last = part.last_close
        low = np.log(result.low[:, 0] / last)
        high = np.log(result.high[:, 0] / last)

        _, sigma = distribution(model.network, part.base, data, model.scalers)
        variance = np.maximum(sigma[:, 0] ** 2, baselines.VARIANCE_FLOOR)
        runs.append(
            {
                "seed": seed,
                "epochs_run": fitted.trained.history.epochs_run,
                "seconds": round(time.perf_counter() - started, 1),
                "shrink": model.calibration.shrink[0],
                "conformal_q": model.calibration.halfwidth[0],
                "coverage": probabilistic.coverage(actual, low, high),
                "interval_score": float(
                    np.mean(probabilistic.interval_score(actual, low, high, LEVEL))
                ),
                "qlike": {k: probabilistic.qlike(variance, p) for k, p in proxies.items()},
            }
        )
        print(f"  {ticker} seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
    return {
        "ticker": ticker,
        "rows": len(frame),
        "test": {"first_row": first_test, "n": len(test_rows)},
        "baselines": scores,
        "distribution": runs,
    }


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per series and pooled ratios (distribution head / reference; below 1 is better)."""
    names = [*baselines.BASELINES, "point_head"]
    table = []
    pooled_days = {name: 0.0 for name in names}
    pooled_model = 0.0
    for res in results:
        n = res["test"]["n"]
        runs = res["distribution"]
        model_is = mean([r["interval_score"] for r in runs])
        pooled_model += model_is * n
        for name in names:
            pooled_days[name] += res["baselines"][name]["interval_score"] * n
        best = min(baselines.BASELINES, key=lambda k: res["baselines"][k]["interval_score"])
        row = {
            "ticker": res["ticker"],
            "n_test": n,
            "coverage": [r["coverage"] for r in runs],
            "is_vs_point": model_is / res["baselines"]["point_head"]["interval_score"],
            "is_vs_garch_t": model_is / res["baselines"]["garch_t"]["interval_score"],
            "is_vs_best": model_is / res["baselines"][best]["interval_score"],
            "best_baseline": best,
            "coverage_garch_t": res["baselines"]["garch_t"]["coverage"],
            "coverage_point": res["baselines"]["point_head"]["coverage"],
        }
        for proxy in ("r2", "range"):
            model_q = mean([r["qlike"][proxy] for r in runs])
            for ref in ("garch_t", "har"):
                row[f"qlike_{proxy}_vs_{ref}"] = model_q / res["baselines"][ref]["qlike"][proxy]
        table.append(row)
    best_pooled = min(baselines.BASELINES, key=lambda k: pooled_days[k])
    pooled = {
        "is_vs_best": pooled_model / pooled_days[best_pooled],
        "best_baseline": best_pooled,
        "is_vs_point": pooled_model / pooled_days["point_head"],
        "is_vs_garch_t": pooled_model / pooled_days["garch_t"],
        "qlike_r2_vs_garch_t_geomean": math.exp(
            mean([math.log(r["qlike_r2_vs_garch_t"]) for r in table])
        ),
        "qlike_range_vs_garch_t_geomean": math.exp(
            mean([math.log(r["qlike_range_vs_garch_t"]) for r in table])
        ),
    }
    return {"series": table, "pooled": pooled}


def render(summary: dict[str, Any]) -> str:
    lines = [
        "| series | test days | coverage 80% (seeds) | GARCH-t cov | IS / point | IS / GARCH-t "
        "| IS / best (which) | QLIKE r2 / GARCH-t | QLIKE r2 / HAR | QLIKE range / GARCH-t |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["series"]:
        cov = ", ".join(f"{c:.3f}" for c in r["coverage"])
        lines.append(
            f"| {r['ticker']} | {r['n_test']} | {cov} | {r['coverage_garch_t']:.3f} "
            f"| {r['is_vs_point']:.3f} | {r['is_vs_garch_t']:.3f} "
            f"| {r['is_vs_best']:.3f} ({r['best_baseline']}) | {r['qlike_r2_vs_garch_t']:.3f} "
            f"| {r['qlike_r2_vs_har']:.3f} | {r['qlike_range_vs_garch_t']:.3f} |"
        )
    p = summary["pooled"]
    lines.append(
        f"| pooled | | | | {p['is_vs_point']:.3f} | {p['is_vs_garch_t']:.3f} "
        f"| {p['is_vs_best']:.3f} ({p['best_baseline']}) "
        f"| {p['qlike_r2_vs_garch_t_geomean']:.3f} (geo. mean) | "
        f"| {p['qlike_range_vs_garch_t_geomean']:.3f} (geo. mean) |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", help="comma-separated subset of the series")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on the last test_fraction of the rows before the test period instead "
        "(to choose settings without looking at the test period)",
    )
    args = parser.parse_args()
    config = apply_overrides(load_config(RECIPE), args.overrides)
    frames = series()
    if args.tickers:
        frames = {t: frames[t] for t in args.tickers.split(",")}
    if args.validation:
        for ticker, frame in frames.items():
            first_test = Split.plan(len(frame), config.data).test.start + config.data.lookback
            frames[ticker] = frame.iloc[:first_test]
    results = []
    for ticker, frame in frames.items():
        print(f"{ticker}: {len(frame)} rows", file=sys.stderr, flush=True)
        results.append(run_series(ticker, frame, config, list(range(1, args.seeds + 1))))
    summary = summarise(results)
    print(render(summary))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = "validation" if args.validation else "test"
    out = RESULTS / f"head-{kind}-{stamp}.json"
    document = {"period": kind, "config": config.to_dict(), "summary": summary, "results": results}
    out.write_text(json.dumps(document, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
