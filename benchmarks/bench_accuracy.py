"""Accuracy of recipes on real daily prices, next to the naive forecast.

For each price file and each variant, trains with several seeds through rnnforecast's own
pipeline and prints, on the test period of the scored fit (the fit that ``train`` scores and
``evaluate`` reports: trained on the first windows, calibrated on validation; the refit on
all bars that ``predict`` serves has no held-out days and is skipped): rel_mae (model MAE /
naive MAE on the same days; below 1 beats naive), MASE (Hyndman-Koehler: MAE over the
in-sample one-step naive MAE of the training part) of the model and of the naive forecast,
directional accuracy (zero-move forecasts left out; "-" when every forecast is "no move")
next to the share of up days (the "always up" baseline), the network's own rel_mae and
MASE before calibration, the 80% interval coverage (walked forward day by day, as
``evaluate`` scores it) and the shrink factor. The "recipe as written" variant fits its
scalers on the whole series (the leak in the original recipe), by swapping the scaler
fitting for one that sees every row. At the end, per variant: the interval coverage of
every test day of every series and seed pooled.

    python benchmarks/bench_accuracy.py                      # the bundled GOOG sample
    python benchmarks/bench_accuracy.py --csv AAPL=path.csv  # other files (repeatable)
    python benchmarks/bench_accuracy.py --with-sample --variants default,network \\
        $(python benchmarks/price_files.py | sed 's/^/--csv /')  # GOOG and the four files
    python benchmarks/bench_accuracy.py --variants levels,returns --seeds 1 --epochs 5
    python benchmarks/bench_accuracy.py --variants window --set train.learning_rate=0.002

Writes every figure to benchmarks/results/accuracy-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rnnforecast.config import Config, apply_overrides
from rnnforecast.data import sources
from rnnforecast.forecast.windows import build_dataset, fit_scalers
from rnnforecast.jobs import ingest
from rnnforecast.storage.home import Home
from rnnforecast.training import fitting, per_ticker

RAW = ["calibration.shrink=false"]
# The recipe as first written trains with Keras's defaults: batch 32, Adam at 0.001.
RECIPE_TRAIN = ["train.batch_size=32", "train.learning_rate=0.001"]
WINDOW_RETURNS = ["data.target=log_return", "data.normalise=window"]
DERIVED = [
    'data.features=["open","high","low","close","volume","log_return","range","volume_change"]'
]
VARIANTS: dict[str, list[str]] = {
    "recipe as written (leaky levels)": [
        "data.target=close",
        "data.normalise=global",
        *RAW,
        *RECIPE_TRAIN,
    ],
    "levels (leak-free)": ["data.target=close", "data.normalise=global", *RAW],
    "log returns, global scaling": ["data.target=log_return", "data.normalise=global", *RAW],
    "window-normalised levels": ["data.target=close", "data.normalise=window", *RAW],
    "window-normalised returns": [*WINDOW_RETURNS, *RAW],
    "window returns + derived features": [*WINDOW_RETURNS, *DERIVED, *RAW],
    "window returns, GRU": [*WINDOW_RETURNS, "model.cell=gru", *RAW],
    "window returns, SimpleRNN": [*WINDOW_RETURNS, "model.cell=simple_rnn", *RAW],
    "levels + calibration": ["data.target=close", "data.normalise=global"],
    "window returns + calibration": [*WINDOW_RETURNS],
    "window returns + derived + calibration": [*WINDOW_RETURNS, *DERIVED],
    "default config (calibrated)": [],
    "default, calibration off (network alone)": RAW,
    "default, recipe's batch 32 / lr 0.001": RECIPE_TRAIN,
}
SHORT = {
    "levels": "levels (leak-free)",
    "leaky": "recipe as written (leaky levels)",
    "returns": "log returns, global scaling",
    "window": "window-normalised returns",
    "default": "default config (calibrated)",
    "network": "default, calibration off (network alone)",
    "default32": "default, recipe's batch 32 / lr 0.001",
    "window+cal": "window returns + calibration",
    "derived+cal": "window returns + derived + calibration",
}


def leaky_scalers(frame):
    """fit_scalers that looks at every window: the original recipe's leak."""
    original = fit_scalers

    def fit(train, data):
        return original(build_dataset(frame, data), data)

    return fit


def run_variant(
    frame_csv: Path | None,
    ticker: str,
    overrides: list[str],
    seed: int,
    epochs: int | None,
    leaky: bool,
) -> dict:
    items = [*overrides, f"train.seed={seed}"] + ([f"train.epochs={epochs}"] if epochs else [])
    config = apply_overrides(Config(), items)
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder))
        if frame_csv is None:
            ingest.fetch(home, [], sources.SampleSource())
        else:
            ingest.fetch(home, [ticker], sources.CsvSource(frame_csv))
        if leaky:
            fitting.fit_scalers = leaky_scalers(home.store.read(ticker))
        try:
            started = time.perf_counter()
            # the scores are the scored fit's either way: the refit would only add time
            result = per_ticker.train(home, ticker, config, refit=False)
            seconds = time.perf_counter() - started
        finally:
            fitting.fit_scalers = fit_scalers
    rep = result.report
    model, naive = rep.scores.model, rep.scores.naive
    # MASE's denominator (the training part's in-sample naive MAE) recovered from naive's
    # own MAE and MASE, to put the network's uncalibrated MAE on the same scale.
    scale = naive["mae"] / naive["mase"] if naive["mase"] else None
    return {
        "seed": seed,
        "fit": "scored",
        "rel_mae": model["rel_mae"],
        "mase": model["mase"],
        "naive_mase": naive["mase"],
        "directional_accuracy": model["directional_accuracy"],
        "n_no_move": model["n_no_move"],
        "raw_rel_mae": rep.raw["rel_mae"],
        "raw_mase": None if scale is None else rep.raw["mae"] / scale,
        "raw_directional_accuracy": rep.raw["directional_accuracy"],
        "up_share": rep.up_share,
        "coverage": rep.intervals["coverage"],
        "inside": round(rep.intervals["coverage"] * rep.n * rep.horizon),
        "kupiec_p": rep.intervals["kupiec_p"],
        "christoffersen_p": rep.intervals["christoffersen_p"],
        "dm_p": rep.significance["p_value"],
        "n": rep.n,
        "points": rep.n * rep.horizon,
        "shrink": list(result.calibration["shrink"]),
        # the shrink gate: validation rel_mae of the network alone, and the one-sided DM-HLN
        # p-value of the best factor's edge over naive (None: no edge to test)
        "raw_val_rel_mae": list(result.calibration["raw_val_rel_mae"]),
        "shrink_p_value": list(result.calibration["shrink_p_value"]),
        "epochs": result.history["epochs_run"],
        "seconds": round(seconds, 1),
        "test": result.test,
        "lagging": rep.lag["lagging"],
    }


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def mean_of(runs: list[dict], key: str) -> str:
    """Mean over seeds, or "-" when any seed has no value (e.g. no directional accuracy
    when every forecast is "no move")."""
    values = [r[key] for r in runs]
    if any(v is None for v in values):
        return "-"
    return f"{statistics.mean(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument(
        "--with-sample", action="store_true", help="the bundled GOOG sample as well as --csv"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument("--variants", default="", help="comma-separated names or short names")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="on top of every variant"
    )
    args = parser.parse_args()

    files: list[tuple[str, Path | None]] = [(sources.SAMPLE_TICKER, None)]
    if args.csv:
        csvs = [(t.upper(), Path(p)) for t, p in (item.split("=", 1) for item in args.csv)]
        files = [*files, *csvs] if args.with_sample else csvs
    names = list(VARIANTS)
    if args.variants:
        names = [SHORT.get(v.strip(), v.strip()) for v in args.variants.split(",")]
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results: list[dict] = []
    print(
        "scored fit (trained on the first windows, calibrated on validation), test period; "
        f"seeds 1-{args.seeds}: mean (min-max) or mean"
    )
    print(
        f"{'ticker':<6} {'variant':<40} {'rel_mae':>21} {'MASE':>21} {'naive':>6} "
        f"{'dir.acc':>7} {'raw rel':>7} {'raw MASE':>8} {'raw DA':>6} {'up':>5} "
        f"{'cover':>5} {'shrink':>6} {'test':>23}"
    )
    for ticker, path in files:
        for name in names:
            runs = [
                run_variant(
                    path,
                    ticker,
                    [*VARIANTS[name], *args.set],
                    seed,
                    args.epochs,
                    leaky=name.startswith("recipe as written"),
                )
                for seed in range(1, args.seeds + 1)
            ]
            results.append({"ticker": ticker, "variant": name, "runs": runs})
            mase = [r["mase"] for r in runs]
            test = runs[0]["test"]
            print(
                f"{ticker:<6} {name:<40} {spread([r['rel_mae'] for r in runs]):>21} "
                f"{spread(mase) if None not in mase else '-':>21} "
                f"{mean_of(runs, 'naive_mase'):>6} {mean_of(runs, 'directional_accuracy'):>7} "
                f"{mean_of(runs, 'raw_rel_mae'):>7} {mean_of(runs, 'raw_mase'):>8} "
                f"{mean_of(runs, 'raw_directional_accuracy'):>6} {mean_of(runs, 'up_share'):>5} "
                f"{mean_of(runs, 'coverage'):>5} "
                f"{statistics.mean(r['shrink'][0] for r in runs):>6.2f} "
                f"{test['start']} to {test['end']} ({test['n']})",
                flush=True,
            )
            # written after every variant, so that an interrupted run keeps what it measured
            (out / f"accuracy-{stamp}.json").write_text(
                json.dumps({"argv": sys.argv[1:], "fit": "scored", "results": results}, indent=2)
            )
    print("\npooled over every series and seed (test days x steps):")
    for name in names:
        rows = [r for entry in results if entry["variant"] == name for r in entry["runs"]]
        inside = sum(r["inside"] for r in rows)
        days = sum(r["points"] for r in rows)
        print(f"  {name:<40} coverage {inside / days:.4f} ({inside} of {days})")


if __name__ == "__main__":
    main()
