"""Issue 10's item-5 table: the networks' next-day distributions against the classical
volatility baselines on every real daily series at hand, per-ticker and global, 3 seeds.

Four forecasters, all scored on the same test days as the baselines:

- (a) ``adaptive``: a per-ticker distribution-head network (configs/distribution.toml) with
  the adaptive interval widths it serves by default (docs/risk.md);
- (b) ``fixed``: the same networks, with the fixed validation widths (adaptive scheme off);
- (c) ``global``: one distribution-head network over all the series of a calendar group
  (docs/global.md), with adaptive widths; a group of one series has none;
- (d) ``point``: the default point head's adaptive conformal intervals. On every real
  series measured so far its shrink gate kept 0 (the naive forecast), so no network is
  trained: naive centre, 50-day SD of the log returns times the conformal factor of the
  validation windows, adapted by the same scheme (seed-independent).

Series come in calendar groups, each clipped to the span all its members cover and cut by
one date split (rnnforecast.training.group_members.DateSplit: last 20% of days for test, the last
10%
of
the rest for validation), so the per-ticker networks, the global one, the point head and
the baselines (rnnforecast.risk.baselines, fitted on the rows before the test period) see the
same training, validation and test days. Networks are trained and calibrated through the
same code as benchmarks/bench_global.py; intervals and quantiles are built as ``evaluate``
builds them (rnnforecast.risk.assessment: 10/90% from the 80% interval, 5/95% from the 90%
one, 50% the centre; variance = (80% log half-width / 1.2816)^2).

Scores per series, in log-return units (so series at different price levels pool fairly):
80% coverage (each seed), Winkler interval score of the 80% interval relative to the best
baseline's, pinball loss (mean over 5/10/50/90/95%) relative to the baseline with the
lowest pinball, QLIKE relative to GARCH(1,1)-t and to HAR with two proxies (the squared
return floored at 1e-8, and the range variance: Garman-Klass plus the squared overnight
gap). Seeds are averaged before the ratios. Pooled as docs/reports/distribution.md pools: interval
score and pinball summed over all test days of the series pooled, against the baseline
with the lowest pooled sum; QLIKE ratios as geometric means over the series. Pooled over
the series *not* used for tuning (TUNED below: the recipe and the adaptive scheme were
chosen on their validation periods) and over all.

    python benchmarks/price_files.py                        # once: the price files
    nice -n 5 python benchmarks/bench_risk.py               # every series, 3 seeds
    python benchmarks/bench_risk.py --tickers GOOG,AAPL --seeds 1   # a quick look

Writes every figure to benchmarks/results/risk-<timestamp>.json as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_global import fit
from bench_head import PRICES, RECIPE
from bench_head import series as first_series

from rnnforecast.config import Config, DataConfig, apply_overrides, load_config
from rnnforecast.data import sources
from rnnforecast.forecast import conformal as adaptive
from rnnforecast.forecast.calibration import distribution, fit_calibration, volatility
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import base_matrix, build_dataset
from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk import assessment, baselines
from rnnforecast.training import group_members

RESULTS = Path(__file__).parent / "results"
MORE = PRICES / "more"  # the series benchmarks/price_files.py added for this benchmark
GROUPS = {
    "2004-2013": ("GOOG", "MSFT", "IBM", "GSPC", "IXIC", "AAPL"),
    "2013-2023": ("AMZN", "META", "NFLX", "NVDA", "AAPL-2013", "GOOG-2013"),
    "2010-2018": ("JFC",),
    "2004-2015 A-shares": ("002032-SZ", "987654"),
    "2014-2020 every day": ("BTC-USD",),
}
TUNED = ("GOOG", "MSFT", "IBM", "GSPC", "IXIC")
METHODS = ("adaptive", "fixed", "global", "point")
LEVEL = 0.8
POINT_DATA = DataConfig(features=("close",), window=50)  # the default recipe's 50-day window
PROXIES = ("r2", "range")
REFERENCES = ("garch_t", "har")
# QLIKE of the variance read off the served 80% interval (as evaluate reports it), and of
# the network's own sigma^2 before calibration (distribution heads only)
VARIANCES = ("qlike", "qlike_sigma2")


@dataclasses.dataclass(frozen=True)
class Series:
    """One series of a group, windowed under the group's date split."""

    ticker: str
    member: group_members.GroupMember  # the windows and the train/validation/test masks
    ohlcv: np.ndarray  # (n, 5) the clipped bars
    first_test: int  # row of the first test target


def frames() -> dict[str, Any]:
    """GOOG (bundled), the price files of the earlier benchmarks and those in prices/more."""
    out = first_series()
    for path in sorted(MORE.glob("*.csv")):
        out[path.stem] = sources.read_csv(path).frame
    return out


def group_series(tickers: list[str], all_frames: dict[str, Any], data: DataConfig) -> list[Series]:
    """The group's series clipped to the span all of them cover, split on the same dates."""
    start = max(all_frames[t].index[0] for t in tickers)
    end = min(all_frames[t].index[-1] for t in tickers)
    clipped = {t: all_frames[t].loc[start:end] for t in tickers}
    datasets = {t: build_dataset(clipped[t], data) for t in tickers}
    days = np.concatenate([d.target_dates[:, 0] for d in datasets.values()])
    split = group_members.DateSplit.plan(days, data)
    out = []
    for t in tickers:
        first = datasets[t].target_dates[:, 0]
        masks = (*split.masks(first), *split.pieces(first))
        member = group_members.GroupMember(t, clipped[t], datasets[t], *masks)
        test = member.test
        first_test = int(np.argmax(test)) + data.lookback
        # The test windows are the last ones, so rows first_test.. are the test days.
        assert test[-1] and test.sum() == len(test) - np.argmax(test)
        out.append(Series(t, member, base_matrix(clipped[t]), first_test))
    print(f"{', '.join(tickers)}: {start.date()} to {end.date()}, {split}", file=sys.stderr)
    return out


def point_forecasts(s: Series) -> assessment.DayForecasts:
    """(d): the point head with its shrink factor 0, as evaluate builds its forecasts."""
    dates = s.member.dataset.target_dates[:, 0]
    ds = build_dataset(s.member.frame, POINT_DATA)
    first = ds.target_dates[:, 0]
    validation = (first >= dates[s.member.val][0]) & (first <= dates[s.member.val][-1])
    test = first >= dates[s.member.test][0]
    assert int(np.argmax(test)) + POINT_DATA.lookback == s.first_test
    scale = volatility(ds.base, POINT_DATA.window, 1)[:, 0]
    scores = np.abs(np.log(ds.actual[:, 0] / ds.last_close)) / scale
    val = ds.select(validation)
    calibration = fit_calibration(
        val.last_close[:, None],
        val.actual,
        val.base,
        POINT_DATA.window,
        LEVEL,
        shrink=False,
        adaptive=adaptive.DEFAULT,
    )
    factor = adaptive.factors(scores, LEVEL, adaptive.DEFAULT, calibration.halfwidth[0])[:-1]
    spread = calibration.halfwidth[0] * scale[test] * factor[test]
    last = ds.last_close[test]
    return assessment.model_forecasts(
        last, last, scale[test], (LEVEL, spread), scores, validation, test, adaptive.DEFAULT
    )


def day_scores(s: Series, day: assessment.DayForecasts, variance: np.ndarray | None = None) -> dict:
    """Means over the test days in log-return units; ``variance`` (m,) replaces the one of
    ``day`` for QLIKE (the network's own, uncalibrated sigma^2)."""
    close = s.ohlcv[:, 3]
    m = len(day.median)
    last = close[s.first_test - 1 : s.first_test - 1 + m]
    r = np.log(close[s.first_test : s.first_test + m] / last)
    low, high = (np.log(b / last) for b in day.bounds[LEVEL])
    quantiles = np.log(day.quantiles() / last[:, None])
    h = day.variance if variance is None else variance
    proxies = {
        "r2": np.maximum(r**2, baselines.VARIANCE_FLOOR),
        "range": baselines.range_variance(s.ohlcv)[s.first_test : s.first_test + m],
    }
    per_day = probabilistic.interval_score(r, low, high, LEVEL)
    return {
        "n": m,
        "coverage": 1.0 - float(np.mean(probabilistic.outside(r, low, high))),
        "interval_score": float(np.mean(per_day)),
        "interval_score_days": [float(f"{v:.9g}") for v in per_day],
        "pinball": float(
            np.mean(probabilistic.pinball_per_day(r, quantiles, probabilistic.QUANTILE_LEVELS))
        ),
        "qlike": {k: probabilistic.qlike(h, p) for k, p in proxies.items()},
    }


def network_scores(s: Series, model: FittedModel) -> dict:
    """The served forecasts of a distribution-head network; with adaptive widths, and
    (``fixed``) with the validation widths."""
    m, cal = s.member, model.calibration
    sigma = distribution(model.network, m.part("test").base, model.data, model.scalers)[1][:, 0]
    out = {}
    for name, calibration in (
        ("adaptive", cal),
        ("fixed", dataclasses.replace(cal, adaptive=None)),
    ):
        served = dataclasses.replace(model, calibration=calibration)
        day = assessment.served_forecasts(served, m.dataset, m.val, m.test)
        out[name] = day_scores(s, day)
        out[name]["qlike_sigma2"] = day_scores(s, day, sigma**2)["qlike"]
        out[name]["conformal_q"] = cal.halfwidth[0]
    return out


def run_group(group: list[Series], config: Config, seeds: list[int]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for s in group:
        classical = assessment.baseline_forecasts(
            s.ohlcv,
            s.first_test,
            len(s.ohlcv) - 1,
            baselines.baselines_for(s.first_test),
            baselines.forecast_baselines,
        )
        results[s.ticker] = {
            "rows": len(s.ohlcv),
            "test": {
                "first": str(s.member.frame.index[s.first_test].date()),
                "last": str(s.member.frame.index[-1].date()),
                "n": len(s.ohlcv) - s.first_test,
                "dates": [str(d.date()) for d in s.member.frame.index[s.first_test :]],
            },
            "baselines": {name: day_scores(s, day) for name, day in classical.items()},
            "point": day_scores(s, point_forecasts(s)),
            "seeds": [],
        }
    for seed in seeds:
        cfg = apply_overrides(config, [f"train.seed={seed}"])
        rows: dict[str, dict] = {s.ticker: {"seed": seed} for s in group}
        for s in group:
            started = time.perf_counter()
            m = s.member
            model = fit(cfg, m.part("train"), m.part("val"), m.part("test"))
            rows[s.ticker].update(network_scores(s, model))
            rows[s.ticker]["seconds"] = round(time.perf_counter() - started, 1)
            print(f"  {s.ticker} seed {seed}: {rows[s.ticker]}", file=sys.stderr, flush=True)
        if len(group) > 1:
            started = time.perf_counter()
            parts = [
                group_members.pool([s.member.part(p) for s in group])
                for p in ("train", "val", "test")
            ]
            model = fit(cfg, *parts)
            for s in group:
                rows[s.ticker]["global"] = network_scores(s, model)["adaptive"]
            seconds = round(time.perf_counter() - started, 1)
            print(f"  global seed {seed}: {seconds} s", file=sys.stderr, flush=True)
        for s in group:
            results[s.ticker]["seeds"].append(rows[s.ticker])
    return results


def method_runs(res: dict, method: str) -> list[dict]:
    """The score dicts of one method: one per seed ((d) is the same for every seed)."""
    if method == "point":
        return [res["point"]]
    return [run[method] for run in res["seeds"] if method in run]


def mean_of(runs: list[dict], key: str, proxy: str | None = None) -> float:
    values = [r[key] if proxy is None else r[key][proxy] for r in runs]
    return float(np.mean(values))


def geomean(values: list[float]) -> float:
    return math.exp(float(np.mean(np.log(values)))) if values else float("nan")


def summarise(results: dict[str, dict], tickers: list[str]) -> dict[str, Any]:
    """Per series ratios (method / reference: below 1, the method is better) and the pool
    of ``tickers``."""
    rows = {}
    for t in tickers:
        res = results[t]
        base = res["baselines"]
        best_is = min(base, key=lambda k: base[k]["interval_score"])
        best_pin = min(base, key=lambda k: base[k]["pinball"])
        row: dict[str, Any] = {
            "n_test": res["test"]["n"],
            "best_interval_score": best_is,
            "best_pinball": best_pin,
            "coverage_garch_t": base["garch_t"]["coverage"],
        }
        for method in METHODS:
            runs = method_runs(res, method)
            if not runs:
                continue
            row[method] = {
                "coverage": [r["coverage"] for r in runs],
                "interval_score": mean_of(runs, "interval_score") / base[best_is]["interval_score"],
                "pinball": mean_of(runs, "pinball") / base[best_pin]["pinball"],
                "dm_p": dm_p(results, [t], method, {t: best_is}),
                **{
                    f"{kind}_{p}_vs_{ref}": mean_of(runs, kind, p) / base[ref]["qlike"][p]
                    for kind in VARIANCES
                    if kind in runs[0]
                    for p in PROXIES
                    for ref in REFERENCES
                },
            }
        rows[t] = row
    return {"series": rows, "pooled": pooled(results, tickers)}


def dm_p(
    results: dict[str, dict], tickers: list[str], method: str, reference: dict[str, str]
) -> float | None:
    """One-sided Diebold-Mariano (HLN) p-value that the method's 80% interval scores are
    smaller than those of each series' ``reference`` baseline: the per-day scores (mean over
    seeds) summed over the series on each calendar day, so that series tested on the same
    days count as one day's loss, not as independent days. None without per-day scores."""
    model: dict[str, float] = {}
    base: dict[str, float] = {}
    for t in tickers:
        runs = method_runs(results[t], method)
        if "interval_score_days" not in runs[0]:
            return None
        days = np.mean([r["interval_score_days"] for r in runs], axis=0)
        ref = results[t]["baselines"][reference[t]]["interval_score_days"]
        for day, a, b in zip(results[t]["test"]["dates"], days, ref, strict=True):
            model[day] = model.get(day, 0.0) + float(a)
            base[day] = base.get(day, 0.0) + float(b)
    dates = sorted(model)
    _, p = accuracy.diebold_mariano(
        np.array([model[d] for d in dates]), np.array([base[d] for d in dates]), 1, "less"
    )
    return p


def pooled(results: dict[str, dict], tickers: list[str]) -> dict[str, Any]:
    """Interval score and pinball summed over the days of ``tickers``, against the baseline
    with the lowest sum; QLIKE ratios as geometric means over the series; coverage over
    all days (mean over seeds)."""
    names = [n for n in baselines.BASELINES if all(n in results[t]["baselines"] for t in tickers)]
    out: dict[str, Any] = {"series": list(tickers)}
    totals = {
        key: {
            n: sum(results[t]["baselines"][n][key] * results[t]["test"]["n"] for t in tickers)
            for n in names
        }
        for key in ("interval_score", "pinball")
    }
    best = {key: min(totals[key], key=totals[key].get) for key in totals}
    out["best"] = best
    for method in METHODS:
        members = [t for t in tickers if method_runs(results[t], method)]
        if not members:
            continue
        entry: dict[str, Any] = {"series": members}
        for key in ("interval_score", "pinball"):
            model = sum(
                mean_of(method_runs(results[t], method), key) * results[t]["test"]["n"]
                for t in members
            )
            reference = sum(
                results[t]["baselines"][best[key]][key] * results[t]["test"]["n"] for t in members
            )
            entry[key] = model / reference
        entry["dm_p"] = dm_p(
            results, members, method, dict.fromkeys(members, best["interval_score"])
        )
        days = sum(results[t]["test"]["n"] for t in members)
        entry["coverage"] = (
            sum(
                mean_of(method_runs(results[t], method), "coverage") * results[t]["test"]["n"]
                for t in members
            )
            / days
        )
        for kind in VARIANCES:
            if kind not in method_runs(results[members[0]], method)[0]:
                continue
            for p in PROXIES:
                for ref in REFERENCES:
                    entry[f"{kind}_{p}_vs_{ref}"] = geomean(
                        [
                            mean_of(method_runs(results[t], method), kind, p)
                            / results[t]["baselines"][ref]["qlike"][p]
                            for t in members
                        ]
                    )
        if method != "point":  # the pooled interval score of each seed's networks
            reference = sum(
                results[t]["baselines"][best["interval_score"]]["interval_score"]
                * results[t]["test"]["n"]
                for t in members
            )
            entry["interval_score_per_seed"] = [
                sum(
                    method_runs(results[t], method)[i]["interval_score"] * results[t]["test"]["n"]
                    for t in members
                )
                / reference
                for i in range(len(method_runs(results[members[0]], method)))
            ]
        out[method] = entry
    return out


def _cell(row: dict, key: str) -> str:
    return " / ".join(f"{row[m][key]:.3f}" if m in row else "–" for m in METHODS)


def _p_cell(row: dict) -> str:
    def one(m: str) -> str:
        p = row[m].get("dm_p") if m in row else None
        return "–" if p is None else f"{p:.3g}"

    return " / ".join(one(m) for m in METHODS)


def render(summary: dict[str, Any], pools: dict[str, dict]) -> str:
    """Markdown tables: coverage; interval score and pinball; QLIKE. Cells with four
    figures are (a) adaptive / (b) fixed / (c) global / (d) point."""
    series = summary["series"]
    lines = [
        "| series | days | (a) adaptive | (b) fixed | (c) global | (d) point | GARCH-t |",
        "|---|---|---|---|---|---|---|",
    ]
    for t, row in series.items():
        covs = [
            ", ".join(f"{c:.3f}" for c in row[m]["coverage"]) if m in row else "–" for m in METHODS
        ]
        lines.append(
            f"| {t} | {row['n_test']} | " + " | ".join(covs) + f" | {row['coverage_garch_t']:.3f} |"
        )
    for name, pool in pools.items():
        covs = [f"{pool[m]['coverage']:.3f}" if m in pool else "–" for m in METHODS]
        lines.append(f"| pooled, {name} | | " + " | ".join(covs) + " | |")
    lines += [
        "",
        "| series | IS80 / best (a / b / c / d) | best | DM p (a / b / c / d) "
        "| pinball / best (a / b / c / d) | best |",
        "|---|---|---|---|---|---|",
    ]
    for t, row in series.items():
        lines.append(
            f"| {t} | {_cell(row, 'interval_score')} | {row['best_interval_score']} "
            f"| {_p_cell(row)} | {_cell(row, 'pinball')} | {row['best_pinball']} |"
        )
    for name, pool in pools.items():
        best = pool["best"]
        lines.append(
            f"| pooled, {name} | {_cell(pool, 'interval_score')} | {best['interval_score']} "
            f"| {_p_cell(pool)} | {_cell(pool, 'pinball')} | {best['pinball']} |"
        )
    keys = [f"qlike_{p}_vs_{ref}" for p in PROXIES for ref in REFERENCES]
    lines += [
        "",
        "| series | QLIKE r2 / GARCH-t | QLIKE r2 / HAR | QLIKE range / GARCH-t "
        "| QLIKE range / HAR |",
        "|---|---|---|---|---|",
    ]
    for t, row in series.items():
        lines.append(f"| {t} | " + " | ".join(_cell(row, k) for k in keys) + " |")
    for name, pool in pools.items():
        lines.append(f"| pooled, {name} | " + " | ".join(_cell(pool, k) for k in keys) + " |")
    nets = ("adaptive", "global")
    lines += [
        "",
        "| series | network sigma^2: QLIKE r2 / GARCH-t (a / c) | QLIKE r2 / HAR "
        "| QLIKE range / GARCH-t | QLIKE range / HAR |",
        "|---|---|---|---|---|",
    ]
    sigma_keys = [f"qlike_sigma2_{p}_vs_{ref}" for p in PROXIES for ref in REFERENCES]
    for t, row in [*series.items(), *((f"pooled, {n}", p) for n, p in pools.items())]:
        cells = [
            " / ".join(f"{row[m][k]:.3f}" if k in row.get(m, {}) else "–" for m in nets)
            for k in sigma_keys
        ]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines += ["", "| pool | IS80 / best, per seed: (a) | (b) | (c) |", "|---|---|---|---|"]
    for name, pool in pools.items():
        cells = [
            ", ".join(f"{v:.3f}" for v in pool[m]["interval_score_per_seed"]) if m in pool else "–"
            for m in ("adaptive", "fixed", "global")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(results: dict[str, dict], tuned: list[str]) -> tuple[dict, dict[str, dict]]:
    """The summary of every series and the pools: the untuned series, and all."""
    tickers = list(results)
    untuned = [t for t in tickers if t not in tuned]
    summary = summarise(results, tickers)
    pools = {f"untuned ({len(untuned)})": pooled(results, untuned)} if untuned else {}
    pools[f"all ({len(tickers)})"] = summary["pooled"]
    return summary, pools


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", help="comma-separated subset of the series")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument(
        "--from", dest="saved", type=Path, help="render the tables of a saved risk-*.json again"
    )
    args = parser.parse_args(argv)
    if args.saved:
        saved = json.loads(args.saved.read_text())
        print(render(*tables(saved["results"], saved["tuned"])))
        return 0
    config = apply_overrides(load_config(RECIPE), args.overrides)
    chosen = args.tickers.split(",") if args.tickers else None
    all_frames = frames()
    seeds = list(range(1, args.seeds + 1))
    started = time.perf_counter()
    results: dict[str, dict] = {}
    for tickers in GROUPS.values():
        members = [t for t in tickers if t in all_frames and (chosen is None or t in chosen)]
        if not members:
            continue
        group = group_series(members, all_frames, config.data)
        results.update(run_group(group, config, seeds))
    summary, pools = tables(results, list(TUNED))
    print(render(summary, pools))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"risk-{stamp}.json"
    document = {
        "config": config.to_dict(),
        "groups": {k: list(v) for k, v in GROUPS.items()},
        "tuned": list(TUNED),
        "seeds": seeds,
        "seconds": round(time.perf_counter() - started, 1),
        "summary": summary,
        "pools": pools,
        "results": results,
    }
    out.write_text(json.dumps(document, indent=1))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
