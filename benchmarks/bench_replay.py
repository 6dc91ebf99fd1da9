"""The replay (``evaluate TICKER --replay``) timed cold and warm, with its scores.

For one series (the bundled GOOG sample, or a CSV file), in a fresh home: fetch, ``train``
with the recipe (default ``configs/default.toml``), then the replay of what would have been
served from the first day of that model's test period, refitted every ``--every`` sessions:
once with every refit from scratch (``cold``), once warm-started from the previous refit
date's weights and scalers (``warm``, what ``evaluate --replay`` does). Both are scored on
the same days, so the table says whether the warm start holds the scores.

Time, per refit date, summed over the dates (and over the dates after the first, the only
ones a warm replay starts warm): ``keras_fit`` (Keras ``model.fit`` alone, every network
trained that date), ``network`` (each network built, fitted, checked against numpy and
calibrated), ``intervals`` (the served intervals' contest with every baseline fitted),
``fan`` (the fan's choice), ``refit`` (the whole of ``train``'s choice at that date:
:func:`rnnforecast.training.per_ticker.fit_and_choose`, what a nightly ``run`` pays before
saving) and ``replay`` (the whole date with the replay's own scoring of every baseline).
The first four are timed by wrapping the functions that do them, in this process only.

Scores, warm against cold on the same days: one-sided Diebold-Mariano (HLN, Newey-West,
:func:`rnnforecast.metrics.accuracy.diebold_mariano`) that warm's served 80% interval score
and served absolute error are larger (``greater``: a small p says warm is worse), and the
same for the network alone: its 80% interval score, its calibrated point's absolute error
and its raw point's (before the shrinkage: what its weights forecast); None when
the two losses are equal every day (within a relative 1e-9: nothing to test). ``--pool``
with one file prints that series' tests.

    python benchmarks/bench_replay.py                                  # GOOG, every 21, both
    python benchmarks/bench_replay.py --csv benchmarks/results/prices/more/NVDA.csv \\
        --ticker NVDA --every 63 --modes warm
    python benchmarks/bench_replay.py --pool benchmarks/results/replay-*.json

Prints the figures side by side with their ratios (cold / warm for time) and writes one JSON
document (with the per-day losses, for ``--pool``) to
benchmarks/results/replay-TICKER-<timestamp>.json. ``--pool`` reads such documents (each
with both modes) and tests warm against cold on the per-day losses of every series pooled,
each divided by its series' naive MAE over the replayed days so that no price level
dominates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.config import load_config
from rnnforecast.data.sources import CsvSource, SampleSource
from rnnforecast.jobs import ingest, replay
from rnnforecast.jsonsafe import finite
from rnnforecast.metrics import accuracy
from rnnforecast.risk import interval_choice
from rnnforecast.storage.home import Home
from rnnforecast.training import fitting, per_ticker

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("keras_fit", "network", "intervals", "fan", "refit", "replay")
LOSSES = ("interval_score_80", "abs_error")
NETWORK = ("network_interval_score_80", "network_abs_error", "network_raw_abs_error")


class Clock:
    """Seconds spent in wrapped functions since the last :meth:`take`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, key: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            out = original(*args, **kwargs)
            self.seconds[key] += time.perf_counter() - began
            if key == "network":  # a fitting.Fit: its Keras fit's own seconds
                self.seconds["keras_fit"] += out.trained.history.seconds
            return out

        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        out = dict(self.seconds)
        self.seconds.clear()
        return out


RAW: list[np.ndarray] = []
"""The served network's raw (uncalibrated, unshrunk) point of each replayed day, in order:
what its weights would serve if the shrink gate let them."""


def keep_raw(original: Callable[..., Any]) -> Callable[..., Any]:
    """``replay.network_track`` that also keeps the raw point of its days in :data:`RAW`."""

    def wrapped(choice: Any, config: Any, ohlcv: np.ndarray, targets: np.ndarray) -> Any:
        lookback = config.data.lookback
        base = np.stack([ohlcv[t - lookback : t] for t in targets])
        RAW.append(choice.served.model.forecast_scale(base, 1)[0][:, 0])
        return original(choice, config, ohlcv, targets)

    return wrapped


def run_mode(home: Home, ticker: str, every: int, warm: bool, clock: Clock) -> dict[str, Any]:
    """One replay, with the seconds of each part per refit date and the per-day losses."""
    dates: list[dict[str, Any]] = []
    clock.take()
    last = [time.perf_counter()]

    def on_refit(refit: replay.Refit) -> None:
        now = time.perf_counter()
        parts = clock.take()
        # on_refit is called after the date's refit and its scoring: it closes the date
        dates.append({**parts, "refit": refit.seconds, "replay": now - last[0], "warm": refit.warm})
        last[0] = now

    RAW.clear()
    result = replay.replay(home, ticker, every=every, warm=warm, on_refit=on_refit)
    doc = result.to_dict()["replay"]
    d = result.days
    return {
        "seconds": result.seconds,
        "refits": len(result.refits),
        "dates": dates,
        "methods": [r["interval_method"] for r in doc["refits"]],
        "shrink": [r["shrink"] for r in doc["refits"]],
        "one_day": doc["one_day"],
        "losses": {
            "interval_score_80": d.served.interval_scores(d.actual, 0.8).tolist(),
            "abs_error": np.abs(d.actual - d.served.point).tolist(),
            "network_interval_score_80": d.network.interval_scores(d.actual, 0.8).tolist(),
            "network_abs_error": np.abs(d.actual - d.network.point).tolist(),
            "network_raw_abs_error": np.abs(d.actual - np.concatenate(RAW)).tolist(),
        },
        "naive_mae": float(np.mean(np.abs(d.actual - d.naive))),
    }


def sums(dates: list[dict[str, Any]], skip_first: bool) -> dict[str, float]:
    chosen = dates[1:] if skip_first else dates
    return {part: sum(float(d.get(part, 0.0)) for d in chosen) for part in PARTS}


def dm(warm: list[float], cold: list[float]) -> dict[str, Any]:
    """Warm worse than cold? One-sided DM (HLN) on per-day losses of the same days. Losses
    within a relative 1e-9 of each other are equal (rounding: a weight-free width computed
    along another path); if every day's are, there is nothing to test (None)."""
    w, c = np.asarray(warm), np.asarray(cold)
    differ = ~np.isclose(w, c, rtol=1e-9, atol=0.0)
    statistic, p_value = None, None
    if differ.any():
        statistic, p_value = accuracy.diebold_mariano(w, c, 1, alternative="greater")
    return {
        "n": len(w),
        "warm_mean": float(np.mean(w)),
        "cold_mean": float(np.mean(c)),
        "days_differ": int(np.sum(differ)),
        "statistic": statistic,
        "p_value": p_value,
    }


def compare(out: dict[str, Any]) -> None:
    """Side by side: seconds cold, warm, cold / warm; then warm against cold's scores."""
    cold, warm = out["cold"], out["warm"]
    out["time"], out["dm"] = {}, {}
    print(f"\n{out['ticker']}, every {out['every']}: {cold['refits']} refit dates")
    print(f"{'seconds (sum over dates)':44s} {'cold':>9s} {'warm':>9s} {'cold/warm':>10s}")
    for skip, label in ((False, "all dates"), (True, "dates after the first")):
        c, w = sums(cold["dates"], skip), sums(warm["dates"], skip)
        out["time"][label] = {p: {"cold": c[p], "warm": w[p]} for p in PARTS}
        for part in PARTS:
            ratio = c[part] / w[part] if w[part] > 0 else float("nan")
            print(f"{part + ', ' + label:44s} {c[part]:9.1f} {w[part]:9.1f} {ratio:10.2f}")
    for key in (*LOSSES, *NETWORK):
        t = out["dm"][key] = dm(warm["losses"][key], cold["losses"][key])
        print(
            f"warm worse than cold, {key}: means {t['warm_mean']:.4f} vs {t['cold_mean']:.4f}, "
            f"{t['days_differ']} of {t['n']} days differ, DM {t['statistic']}, p {t['p_value']}"
        )


def pool(paths: list[Path]) -> None:
    """Warm against cold on every series' per-day losses, each over its naive MAE."""
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    print(f"pooled: {', '.join(d['ticker'] for d in docs)}")
    for key in (*LOSSES, *NETWORK):
        if not all(key in d["cold"]["losses"] for d in docs):
            continue  # a document written before the key was
        pooled = {
            mode: np.concatenate(
                [np.asarray(d[mode]["losses"][key]) / d[mode]["naive_mae"] for d in docs]
            )
            for mode in ("cold", "warm")
        }
        t = dm(pooled["warm"].tolist(), pooled["cold"].tolist())
        print(
            f"warm worse than cold, {key} / naive MAE: means {t['warm_mean']:.4f} vs "
            f"{t['cold_mean']:.4f}, {t['days_differ']} of {t['n']} days differ, "
            f"DM {t['statistic']}, p {t['p_value']}"
        )
    for label in ("all dates", "dates after the first"):
        for part in ("keras_fit", "network", "refit", "replay"):
            c = sum(d["time"][label][part]["cold"] for d in docs)
            w = sum(d["time"][label][part]["warm"] for d in docs)
            print(f"{part + ', ' + label + ', sum':50s} {c:9.1f} {w:9.1f} {c / w:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticker", default="GOOG")
    parser.add_argument("--csv", type=Path, default=None, help="default: the bundled sample")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.toml")
    parser.add_argument("--every", type=int, default=replay.DEFAULT_EVERY)
    parser.add_argument("--modes", default="cold,warm")
    parser.add_argument("--pool", type=Path, nargs="+", help="only pool these results' losses")
    args = parser.parse_args()
    if args.pool:
        pool(args.pool)
        return
    config = load_config(args.config)
    out: dict[str, Any] = {"ticker": args.ticker, "every": args.every, "config": str(args.config)}
    clock = Clock()
    clock.wrap(fitting, "_fit_recipe", "network")
    clock.wrap(interval_choice, "record_for_training", "intervals")
    clock.wrap(per_ticker, "fan_for_training", "fan")
    replay.network_track = keep_raw(replay.network_track)
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder) / "home")
        source = SampleSource() if args.csv is None else CsvSource(args.csv)
        ingest.fetch_each(home, [args.ticker], source)
        began = time.perf_counter()
        trained = per_ticker.train(home, args.ticker, config)
        out["train_seconds"] = time.perf_counter() - began
        out["train_interval_method"] = trained.interval_method
        for mode in args.modes.split(","):
            out[mode] = run_mode(home, args.ticker, args.every, mode == "warm", clock)
            print(f"{mode}: {out[mode]['seconds']:.0f} s, {out[mode]['refits']} refits", flush=True)
    if "cold" in out and "warm" in out:
        compare(out)
    text = json.dumps(finite(out)[0], indent=1, allow_nan=False)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = ROOT / "benchmarks" / "results" / f"replay-{args.ticker}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
