"""The replay (``evaluate TICKER --replay``) timed cold and warm, with its scores.

For one series (the bundled GOOG sample, or a CSV file), in a fresh home: fetch, ``train``
with the recipe (default ``configs/default.toml``), then the replay of what would have been
served from the first day of that model's test period, refitted every ``--every`` sessions:
once with every refit from scratch (``cold``), once warm-started from the previous refit
date's weights and scalers (``warm``, what ``evaluate --replay`` does). Both are scored on
the same days, so the table says whether the warm start holds the scores.

    python benchmarks/bench_replay.py                                  # GOOG, every 21, both
    python benchmarks/bench_replay.py --csv benchmarks/results/prices/more/NVDA.csv \\
        --ticker NVDA --every 63 --modes warm

Prints one JSON document (seconds and horizon-1 scores per mode) and writes it to
benchmarks/results/replay-TICKER-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rnnforecast.config import load_config
from rnnforecast.data.sources import CsvSource, SampleSource
from rnnforecast.jobs import ingest, replay
from rnnforecast.jsonsafe import finite
from rnnforecast.storage.home import Home
from rnnforecast.training import per_ticker

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticker", default="GOOG")
    parser.add_argument("--csv", type=Path, default=None, help="default: the bundled sample")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.toml")
    parser.add_argument("--every", type=int, default=replay.DEFAULT_EVERY)
    parser.add_argument("--modes", default="cold,warm")
    args = parser.parse_args()
    config = load_config(args.config)
    out: dict[str, Any] = {"ticker": args.ticker, "every": args.every, "config": str(args.config)}
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder) / "home")
        source = SampleSource() if args.csv is None else CsvSource(args.csv)
        ingest.fetch_each(home, [args.ticker], source)
        began = time.perf_counter()
        trained = per_ticker.train(home, args.ticker, config)
        out["train_seconds"] = time.perf_counter() - began
        out["train_interval_method"] = trained.interval_method
        for mode in args.modes.split(","):
            result = replay.replay(home, args.ticker, every=args.every, warm=mode == "warm")
            doc = result.to_dict()["replay"]
            out[mode] = {
                "seconds": result.seconds,
                "refits": len(result.refits),
                "fit_seconds": [round(r.seconds, 1) for r in result.refits],
                "methods": [r["interval_method"] for r in doc["refits"]],
                "horizon_1": doc["horizons"]["1"],
            }
            print(f"{mode}: {result.seconds:.0f} s, {len(result.refits)} refits", flush=True)
    text = json.dumps(finite(out)[0], indent=2, allow_nan=False)
    print(text)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = ROOT / "benchmarks" / "results" / f"replay-{args.ticker}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
