"""Coverage of the 80% intervals on real daily prices: fixed validation widths vs adaptive.

For each series, trains the default recipe once through rnnforecast's own pipeline (kept in
a home folder under benchmarks/results/, so a second run only scores), then:

1. chooses the adaptive scheme's window N and step gamma on the *validation* days of every
   series (pooled), never on the test periods: the candidate whose worst series' validation
   coverage is nearest 0.80, ties broken by the mean validation interval score;
2. reports, on each test period, the coverage with the fixed validation width and with the
   chosen adaptive scheme, the Kupiec and Christoffersen p-values of the adaptive misses, and
   the adaptive 80% interval score over the best baseline's (when rnnforecast.risk.baselines is
   there).

    python benchmarks/price_files.py                    # once: writes the four price files
    python benchmarks/bench_intervals.py                # GOOG + the four files, if written
    python benchmarks/bench_intervals.py --csv X=path.csv --set train.epochs=5

Writes every figure to benchmarks/results/intervals-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnforecast.config import Config, apply_overrides
from rnnforecast.data import sources
from rnnforecast.forecast import conformal
from rnnforecast.forecast.conformal import Adaptive, factors
from rnnforecast.forecast.windows import base_matrix, build_dataset
from rnnforecast.jobs import ingest
from rnnforecast.metrics import probabilistic
from rnnforecast.risk import assessment
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.storage.manifest import Period
from rnnforecast.training import per_ticker

RESULTS = Path(__file__).parent / "results"
PRICES = RESULTS / "prices"
LEVEL = 0.8
WINDOWS = (100, 250, 500)
GAMMAS = (0.0, 0.002, 0.005, 0.01, 0.02)
WARMUP = 250


@dataclass
class Series:
    """One trained series: the one-step scores of every window, and what prices need."""

    name: str
    scores: np.ndarray  # (m,) normalised one-step errors, every window
    halfwidth: float  # the fixed (validation) one-step width, score units
    val: np.ndarray  # (m,) bool: validation windows
    test: np.ndarray  # (m,) bool: test windows
    actual: np.ndarray  # (m,) next close
    last: np.ndarray  # (m,) last close of each window
    point: np.ndarray  # (m,) one-step point forecast
    spread: np.ndarray  # (m,) log half-width of the fixed interval
    ohlcv: np.ndarray  # (n, 5) the bars
    first_row: int  # row of the first window's target


def prepare(home: Home, name: str, csv: Path | None, config: Config, retrain: bool) -> Series:
    if retrain or home.models.current(name) is None:
        if csv is None:
            ingest.fetch(home, [name], sources.SampleSource())
        else:
            ingest.fetch(home, [name], sources.CsvSource(csv), replace=True)
        started = time.perf_counter()
        per_ticker.train(home, name, config)
        print(f"{name}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    loaded = loading.load(home, name, None)
    model = loaded.fitted()
    data, cal = loaded.config.data, model.calibration
    frame = home.store.read(name)
    dataset = build_dataset(frame, data)
    dates = dataset.target_dates[:, 0]
    manifest = loaded.bundle.manifest

    def between(period: Period) -> np.ndarray:
        return (dates >= np.datetime64(period.start)) & (dates <= np.datetime64(period.end))

    scores = model.one_step_scores(dataset.base, dataset.actual[:, 0])
    fixed = model.forecast(dataset.base, 1)
    point = fixed.point[:, 0]
    return Series(
        name,
        scores,
        cal.halfwidth[0],
        between(manifest.period("validation")),
        between(manifest.period("test")),
        dataset.actual[:, 0],
        dataset.last_close,
        point,
        np.log(fixed.high[:, 0] / point),
        base_matrix(frame),
        data.lookback,
    )


def scheme_factors(series: Series, params: Adaptive | None) -> np.ndarray:
    return factors(series.scores, LEVEL, params, series.halfwidth)[:-1]


def interval_scores(series: Series, factor: np.ndarray, mask: np.ndarray) -> np.ndarray:
    spread = series.spread[mask] * factor[mask]
    point = series.point[mask]
    return probabilistic.interval_score(
        series.actual[mask], point * np.exp(-spread), point * np.exp(spread), LEVEL
    )


def choose(all_series: list[Series]) -> tuple[Adaptive, list[dict]]:
    """The candidate whose worst validation coverage is nearest the level (then lowest mean
    validation interval score relative to the fixed width's): validation days only."""
    table = []
    for window, gamma in itertools.product(WINDOWS, GAMMAS):
        params = Adaptive(window, gamma, WARMUP)
        covers, ratios = [], []
        for s in all_series:
            f = scheme_factors(s, params)
            covers.append(float(np.mean(s.scores[s.val] <= s.halfwidth * f[s.val])))
            ones = np.ones_like(f)
            ratios.append(
                float(np.mean(interval_scores(s, f, s.val)))
                / float(np.mean(interval_scores(s, ones, s.val)))
            )
        table.append(
            {
                "window": window,
                "gamma": gamma,
                "val_coverage": covers,
                "worst_gap": max(abs(c - LEVEL) for c in covers),
                "val_is_ratio": float(np.mean(ratios)),
            }
        )
    best = min(table, key=lambda r: (round(r["worst_gap"], 3), r["val_is_ratio"]))
    return Adaptive(best["window"], best["gamma"], WARMUP), table


def against_baselines(series: Series, params: Adaptive) -> assessment.RiskReport:
    """The model's test-day scores with the chosen scheme next to the baselines'."""
    factor = scheme_factors(series, params)
    scale = series.spread / series.halfwidth
    model = assessment.model_forecasts(
        series.point[series.test],
        series.last[series.test],
        scale[series.test],
        (LEVEL, series.spread[series.test] * factor[series.test]),
        series.scores,
        series.val,
        series.test,
        params,
    )
    first_test = series.first_row + int(np.argmax(series.test))
    return assessment.compare(series.ohlcv, first_test, model, "rolling_conformal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", action="append", default=[], metavar="TICKER=FILE")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--home", type=Path, default=RESULTS / "intervals-home")
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    files = [(sources.SAMPLE_TICKER, None)]
    pairs = args.csv or [
        f"{p.stem}={p}"
        for p in sorted(PRICES.glob("*.csv"))
        if p.stem in {"MSFT", "IBM", "GSPC", "IXIC"}
    ]
    files += [(pair.split("=", 1)[0], Path(pair.split("=", 1)[1])) for pair in pairs]
    config = apply_overrides(Config(), args.set)
    home = Home(args.home)
    all_series = [prepare(home, name, csv, config, args.retrain) for name, csv in files]

    params, table = choose(all_series)
    if params != conformal.DEFAULT:
        print(f"note: the bundles' scheme is {conformal.DEFAULT}", file=sys.stderr)
    print(
        f"chosen on validation days: window {params.window}, gamma {params.gamma}, "
        f"warmup {params.warmup}"
    )
    rows, hits_static, hits_adaptive = [], [], []
    for s in all_series:
        static = np.ones(len(s.scores))
        adaptive = scheme_factors(s, params)
        miss_static = s.scores[s.test] > s.halfwidth
        miss = s.scores[s.test] > s.halfwidth * adaptive[s.test]
        hits_static.append(miss_static)
        hits_adaptive.append(miss)
        model_is = float(np.mean(interval_scores(s, adaptive, s.test)))
        static_is = float(np.mean(interval_scores(s, static, s.test)))
        scored = against_baselines(s, params)
        best = scored.best_baseline
        baseline = None
        if best is not None and scored.baselines[best] is not None:
            baseline = (best, scored.baselines[best]["interval_score_80"])
        rows.append(
            {
                "series": s.name,
                "test_days": int(np.sum(s.test)),
                "coverage_static": 1 - float(np.mean(miss_static)),
                "coverage_adaptive": 1 - float(np.mean(miss)),
                "kupiec_p": probabilistic.kupiec_p(miss, LEVEL),
                "christoffersen_p": probabilistic.christoffersen_p(miss),
                "kupiec_p_static": probabilistic.kupiec_p(miss_static, LEVEL),
                "christoffersen_p_static": probabilistic.christoffersen_p(miss_static),
                "is80_adaptive": model_is,
                "is80_static": static_is,
                "best_baseline": None if baseline is None else baseline[0],
                "is80_vs_best_baseline": None if baseline is None else model_is / baseline[1],
                "dm_p_value": scored.dm["p_value"],
                "risk": scored.to_dict(),
            }
        )
    pooled_static = np.concatenate(hits_static)
    pooled = np.concatenate(hits_adaptive)
    rows.append(
        {
            "series": "pooled",
            "test_days": len(pooled),
            "coverage_static": 1 - float(np.mean(pooled_static)),
            "coverage_adaptive": 1 - float(np.mean(pooled)),
            "kupiec_p": probabilistic.kupiec_p(pooled, LEVEL),
            "christoffersen_p": None,
            "kupiec_p_static": probabilistic.kupiec_p(pooled_static, LEVEL),
            "christoffersen_p_static": None,
            "is80_adaptive": None,
            "is80_static": None,
            "best_baseline": None,
            "is80_vs_best_baseline": None,
            "dm_p_value": None,
        }
    )

    def fmt(value: object, digits: int = 3) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    header = ["series", "days", "cov static", "cov adaptive", "Kupiec p", "Chr. p", "IS80/best bl"]
    print(" | ".join(header))
    for r in rows:
        print(
            " | ".join(
                [
                    r["series"],
                    str(r["test_days"]),
                    fmt(r["coverage_static"]),
                    fmt(r["coverage_adaptive"]),
                    fmt(r["kupiec_p"]),
                    fmt(r["christoffersen_p"]),
                    fmt(r["is80_vs_best_baseline"])
                    + ("" if r["best_baseline"] is None else f" ({r['best_baseline']})"),
                ]
            )
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"intervals-{stamp}.json"
    out.write_text(
        json.dumps(
            {"chosen": params.to_dict(), "selection": table, "rows": rows, "set": args.set},
            indent=2,
        )
    )
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
