"""One global network over several tickers against one network per ticker, same test dates.

Every series is clipped to the span all of them cover, then split once by calendar date
(rnnforecast.training.group_members.DateSplit), so the global network and each per-ticker network
are
trained on the same training days, early-stopped and calibrated on the same validation
days, and scored on the same test days. The recipe is fixed in advance (the defaults
with a smaller network, below); nothing is chosen on the test period.

For each seed and ticker: rel_mae (calibrated MAE / naive MAE), uncalibrated rel_mae,
interval coverage and the Winkler interval score (mean width plus 2/alpha times each miss,
alpha = 1 - level; price units, lower is better); then the ratios global / per-ticker, and
a pool row: the geometric mean over tickers of each ratio-type figure.

    python benchmarks/price_files.py                 # once: MSFT, IBM, GSPC, IXIC files
    python benchmarks/bench_global.py                # GOOG (bundled) + those files, 3 seeds
    python benchmarks/bench_global.py --seeds 1 --set train.epochs=5

Writes every figure to benchmarks/results/global-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.config import Config, apply_overrides
from rnnforecast.data import sources
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.jobs import ingest
from rnnforecast.storage.home import Home
from rnnforecast.training import fitting, group_members

PRICES = Path(__file__).parent / "results" / "prices"
RECIPE = [
    "data.window=20",
    "model.units=16",
    "model.dense_units=16",
    "train.epochs=15",
    "train.patience=3",
]


def winkler(actual: np.ndarray, low: np.ndarray, high: np.ndarray, level: float) -> float:
    """Mean Winkler interval score of ``(m,)`` bounds at ``level`` (price units)."""
    alpha = 1.0 - level
    below = np.maximum(low - actual, 0.0)
    above = np.maximum(actual - high, 0.0)
    return float(np.mean(high - low + 2.0 / alpha * (below + above)))


def scores(model: FittedModel, member: Any) -> dict:
    """One member's test-period figures, with its adaptive interval widths."""
    part = member.part("test")
    width = model.width_factors(member.dataset)[member.test]
    rep = model.assess(part, None, width)
    one = model.forecast(part.base, 1, width)
    level = model.calibration.level
    return {
        "rel_mae": rep.scores.model["rel_mae"],
        "uncalibrated_rel_mae": rep.raw["rel_mae"],
        "coverage": rep.intervals["coverage"],
        "winkler": winkler(part.actual[:, 0], one.low[:, 0], one.high[:, 0], level),
    }


def fit(config: Config, members: list[Any]) -> FittedModel:
    """The scored fit of ``config`` on the windows of ``members`` (pooled, or one's own)."""
    return fitting.fit(config, group_members.partition(members)).model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args(argv)
    config = apply_overrides(Config(), RECIPE + args.overrides)
    files = {p.stem: p for p in sorted(PRICES.glob("*.csv"))}
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder))
        bars = {"GOOG": sources.load_sample(), **{t: sources.read_csv(p) for t, p in files.items()}}
        start = max(b.frame.index[0] for b in bars.values()).date()
        end = min(b.frame.index[-1] for b in bars.values()).date()
        symbols = list(bars)
        # every series on the span all of them cover
        ingest.fetch(home, ["GOOG"], sources.SampleSource(), start=start, end=end)
        for ticker, path in files.items():
            ingest.fetch(home, [ticker], sources.CsvSource(path), start=start, end=end)
        frames = {s: home.store.read(s) for s in symbols}
        members, split = group_members.window_members(frames, config.data)
        print(f"{', '.join(symbols)}: {start} to {end}; split {split.to_dict()}", flush=True)
        runs = []
        for seed in range(1, args.seeds + 1):
            cfg = apply_overrides(config, [f"train.seed={seed}"])
            started = time.perf_counter()
            pooled_model = fit(cfg, members)
            row: dict[str, Any] = {"seed": seed, "global": {}, "single": {}}
            for m in members:
                row["global"][m.symbol] = scores(pooled_model, m)
            for m in members:
                own = fit(cfg, [m])
                row["single"][m.symbol] = scores(own, m)
            row["seconds"] = round(time.perf_counter() - started, 1)
            runs.append(row)
            print(json.dumps(row), flush=True)
    table = summarise(symbols, runs)
    for line in table:
        print(line)
    out = Path(__file__).parent / "results" / f"global-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"recipe": RECIPE + args.overrides, "split": split.to_dict(), "runs": runs}
    out.write_text(json.dumps({**payload, "table": table}, indent=1))
    print(f"written to {out}", file=sys.stderr)
    return 0


def summarise(symbols: list[str], runs: list[dict]) -> list[str]:
    """A markdown table: per ticker, mean over seeds of each figure, global and per-ticker,
    and the ratio of the means; the pool row is the geometric mean of the tickers' ratios."""
    names = ("rel_mae", "uncalibrated_rel_mae", "coverage", "winkler")
    head = "| ticker | " + " | ".join(f"{n} global / single (ratio)" for n in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 1)]
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for s in symbols:
        cells = []
        for n in names:
            g = float(np.mean([r["global"][s][n] for r in runs]))
            p = float(np.mean([r["single"][s][n] for r in runs]))
            ratios[n].append(g / p)
            cells.append(f"{g:.4g} / {p:.4g} ({g / p:.3f})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    pool = [f"({float(np.exp(np.mean(np.log(ratios[n])))):.3f})" for n in names]
    lines.append("| pool (geometric mean of ratios) | " + " | ".join(pool) + " |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
