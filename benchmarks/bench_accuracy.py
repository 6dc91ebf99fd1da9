"""Accuracy of recipes on real daily prices, next to the naive forecast.

For each price file and each variant, trains with several seeds through rnnforecast's own
pipeline and prints test rel_mae (model MAE / naive MAE; below 1 beats naive), directional
accuracy next to the share of up days (the "always up" baseline), the network's own scores
before calibration, and the interval coverage. The "recipe as written" variant fits its
scalers on the whole series (the leak in the original recipe), by swapping the scaler
fitting for one that sees every row.

    python benchmarks/bench_accuracy.py                      # the bundled GOOG sample
    python benchmarks/bench_accuracy.py --csv AAPL=path.csv  # other files (repeatable)
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

from rnnforecast import fitting, ingest, pipeline, sources
from rnnforecast.config import Config, apply_overrides
from rnnforecast.home import Home
from rnnforecast.windows import build_dataset, fit_scalers

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
    "default, recipe's batch 32 / lr 0.001": RECIPE_TRAIN,
}
SHORT = {
    "levels": "levels (leak-free)",
    "leaky": "recipe as written (leaky levels)",
    "returns": "log returns, global scaling",
    "window": "window-normalised returns",
    "default": "default config (calibrated)",
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
            result = pipeline.train(home, ticker, config, refit=False)
            seconds = time.perf_counter() - started
        finally:
            fitting.fit_scalers = fit_scalers
    rep = result.report
    return {
        "seed": seed,
        "rel_mae": rep.scores.model["rel_mae"],
        "directional_accuracy": rep.scores.model["directional_accuracy"],
        "raw_rel_mae": rep.raw["rel_mae"],
        "raw_directional_accuracy": rep.raw["directional_accuracy"],
        "up_share": rep.up_share,
        "coverage": rep.intervals["coverage"],
        "shrink": list(result.calibration["shrink"]),
        "epochs": result.history["epochs_run"],
        "seconds": round(seconds, 1),
        "test": result.test,
        "lagging": rep.lag["lagging"],
    }


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument("--variants", default="", help="comma-separated names or short names")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="on top of every variant"
    )
    args = parser.parse_args()

    files: list[tuple[str, Path | None]] = [(sources.SAMPLE_TICKER, None)]
    if args.csv:
        files = [(t.upper(), Path(p)) for t, p in (item.split("=", 1) for item in args.csv)]
    names = list(VARIANTS)
    if args.variants:
        names = [SHORT.get(v.strip(), v.strip()) for v in args.variants.split(",")]
    results = []
    header = (
        f"{'ticker':<6} {'variant':<36} {'rel_mae':>22} {'dir.acc':>7} {'raw rel':>9} "
        f"{'raw DA':>7} {'up days':>7} {'cover':>6} {'shrink':>6}"
    )
    print(header)
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
            means = {
                key: statistics.mean(r[key] for r in runs)
                for key in (
                    "directional_accuracy",
                    "raw_rel_mae",
                    "raw_directional_accuracy",
                    "up_share",
                    "coverage",
                )
            }
            shrink = statistics.mean(r["shrink"][0] for r in runs)
            print(
                f"{ticker:<6} {name:<36} {spread([r['rel_mae'] for r in runs]):>22} "
                f"{means['directional_accuracy']:>7.3f} {means['raw_rel_mae']:>9.3f} "
                f"{means['raw_directional_accuracy']:>7.3f} {means['up_share']:>7.3f} "
                f"{means['coverage']:>6.3f} {shrink:>6.2f}",
                flush=True,
            )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"accuracy-{stamp}.json").write_text(
        json.dumps({"argv": sys.argv[1:], "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
