"""Many tickers: `rnnforecast train T1..T8` with 1 worker and with 2 workers.

Eight synthetic tickers (random walks of 2,148 daily rows, like the sample) are trained
with the default recipe for a fixed number of epochs (early stopping off, so both runs do
the same work), once with --workers 1 and once with --workers 2, alternating, as fresh
processes. Prints wall seconds, the speed-up, and checks that both runs produced the same
models (identical test scores per ticker).

    python benchmarks/bench_workers.py [--tickers 8] [--epochs 10] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COMMAND = [sys.executable, "-m", "rnnforecast"]


def prices(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0004, 0.018, n)))
    open_ = close * np.exp(rng.normal(0, 0.006, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.012, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.012, n))
    volume = rng.integers(1_000_000, 9_000_000, n).astype(float)
    index = pd.bdate_range("2005-01-03", periods=n, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


def stock(home: Path, folder: Path, tickers: list[str]) -> None:
    for i, ticker in enumerate(tickers):
        csv = folder / f"{ticker}.csv"
        prices(2148, seed=100 + i).to_csv(csv)
        subprocess.run(
            [*COMMAND, "--home", str(home), "fetch", ticker, "--csv", str(csv)],
            check=True,
            capture_output=True,
        )


def train(home: Path, tickers: list[str], workers: int, epochs: int) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            *COMMAND,
            "--home",
            str(home),
            "train",
            *tickers,
            "--workers",
            str(workers),
            "--epochs",
            str(epochs),
            "--set",
            "train.patience=0",
            "--json",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    out = json.loads(done.stdout)
    scores = {t["ticker"]: (t["model"], t["uncalibrated"]) for t in out["tickers"]}
    return seconds, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    tickers = [f"SYN{i}" for i in range(args.tickers)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        homes = {1: folder / "one", 2: folder / "two"}
        for home in homes.values():
            stock(home, folder, tickers)
        times: dict[int, list[float]] = {1: [], 2: []}
        scores: dict[int, dict] = {}
        for _ in range(args.repeat):
            for workers in (1, 2):
                seconds, scores[workers] = train(homes[workers], tickers, workers, args.epochs)
                times[workers].append(seconds)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"{args.tickers} tickers x {args.epochs} epochs, default recipe, {os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'wall s':>9} {'s/ticker':>9} {'speed-up':>9}")
    print(f"{1:>8} {one:>9.1f} {one / args.tickers:>9.2f} {1.0:>9.2f}")
    print(f"{2:>8} {two:>9.1f} {two / args.tickers:>9.2f} {one / two:>9.2f}")
    same = scores[1] == scores[2]
    print(f"identical models (test scores of every ticker): {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
