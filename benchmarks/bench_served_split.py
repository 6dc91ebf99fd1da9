"""Chosen on one half, scored on the other: how much does the ex-post choice of the served
intervals flatter bench_served.py's figures?

train chooses what predict serves (rnnforecast.risk.interval_choice.pick_method) on the scored
fit's test period, and bench_served.py scores the choice on that same period. Here the test
period is cut in two halves; the tool's own rule (the network only with a one-sided DM-HLN p below
0.05 against the best baseline, else the baseline with the lowest 80% interval score) chooses
on one half and the choice is scored on the other, and vice versa (two folds).

For each series: fetch it into a fresh home, train the recipe with ``--no-refit`` (the network
and every baseline fitted on the rows before the test period), then, from the saved bundle,
the per-day one-step 80% intervals on the test period of the network (as it serves them) and
of the six baselines (rnnforecast.risk.assessment, as ``evaluate``'s ``risk`` computes them). The
choice uses the tool's loss (the price-unit Winkler score); the choice is scored in a
scale-free unit, the log-price Winkler score, so that series pool by summing over their days.

Per fold: the chosen method, and its score on the other half over (a) the ex-post best of the
seven methods on that half (the regret, >= 1), (b) always garch_t, (c) the network, (d) the
method train chose on the full test period (``train --json``'s ``interval_method``); and the
coverage of the chosen method's 80% interval on that half. Pooled (all series, and the
untuned series of prices/more/): sums of the log scores over every scored half-day.

    python benchmarks/price_files.py
    nice -n 5 python benchmarks/bench_served_split.py --more
    nice -n 5 python benchmarks/bench_served_split.py --more --config configs/distribution.toml

Writes every figure to benchmarks/results/served-split-<timestamp>.json as well; ``--table
FILE.json`` prints a written result's table again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bench_served import DEFAULT_CONFIG, MORE_FILES, PRICE_FILES, RESULTS, train_no_refit

from rnnforecast.data import sources
from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk import interval_choice
from rnnforecast.risk.assessment import RiskReport
from rnnforecast.risk.interval_choice import MODEL

LEVEL = 0.8
GARCH = "garch_t"
REFERENCES = ("best", GARCH, MODEL, "full")
"""What a fold's chosen method is scored against: the ex-post best on the scored half, always
garch_t, the network, the method train chose on the full test period."""


@dataclass(frozen=True)
class Losses:
    """Per-day one-step 80% interval results of one series' test days ``(m,)`` per method
    (``model`` and each baseline): ``choose`` the price-unit Winkler score (the loss the tool
    chooses on), ``score`` the log-price Winkler score, ``inside`` whether the close fell in
    the interval; ``full_choice`` the method train chose on all ``m`` days."""

    choose: dict[str, np.ndarray]
    score: dict[str, np.ndarray]
    inside: dict[str, np.ndarray]
    full_choice: str


@dataclass(frozen=True)
class Fold:
    """One fold: ``chosen`` by the rule on the days ``chosen_on`` (``first`` or ``second``
    half), scored on the other half's ``days``. ``sums``: the log scores summed over those
    days of the chosen method and of each of :data:`REFERENCES`; ``ratios``: chosen over
    each reference; ``best``: the ex-post best method on the scored half; ``inside`` and
    ``inside_full``: days the chosen method's and the full-period choice's intervals covered."""

    chosen_on: str
    chosen: str
    p_value: float | None
    best_baseline: str | None
    best: str
    days: int
    inside: int
    inside_full: int
    sums: dict[str, float]
    ratios: dict[str, float]

    @property
    def coverage(self) -> float:
        return self.inside / self.days


def choose_on(
    losses: Mapping[str, np.ndarray], days: slice, significance: float
) -> tuple[str, float | None, str | None]:
    """The method :func:`rnnforecast.risk.interval_choice.pick_method` serves when the per-day
    ``losses`` (``model`` and baselines, each ``(m,)``) of ``days`` are the test period: the chosen
    method, the DM-HLN p-value of the network against the best baseline, that baseline."""
    means = {k: float(np.mean(v[days])) for k, v in losses.items() if k != MODEL}
    best = min(means, key=lambda k: means[k], default=None)
    p_value = None
    if best is not None:
        p_value = accuracy.diebold_mariano(
            losses[MODEL][days], losses[best][days], 1, alternative="less"
        )[1]
    report = RiskReport({}, {}, best, None, {"statistic": None, "p_value": p_value}, "")
    method, _ = interval_choice.pick_method(report, "auto", significance)
    return method, p_value, best


def folds(losses: Losses, significance: float = 0.05) -> list[Fold]:
    """Two folds over the ``m`` test days: choose on the first ``m // 2``, score on the rest;
    then choose on the rest, score on the first ``m // 2``."""
    m = len(losses.score[MODEL])
    halves = {"first": slice(0, m // 2), "second": slice(m // 2, m)}
    out = []
    for chosen_on, other in (("first", "second"), ("second", "first")):
        chosen, p_value, best_baseline = choose_on(losses.choose, halves[chosen_on], significance)
        scored = halves[other]
        totals = {k: float(np.sum(v[scored])) for k, v in losses.score.items()}
        best = min(totals, key=lambda k: totals[k])
        sums = {"chosen": totals[chosen], "best": totals[best], GARCH: totals[GARCH]}
        sums.update({MODEL: totals[MODEL], "full": totals[losses.full_choice]})
        ratios = {k: sums["chosen"] / sums[k] for k in REFERENCES}
        inside = int(np.sum(losses.inside[chosen][scored]))
        inside_full = int(np.sum(losses.inside[losses.full_choice][scored]))
        days = scored.stop - scored.start
        out.append(
            Fold(
                chosen_on,
                chosen,
                p_value,
                best_baseline,
                best,
                days,
                inside,
                inside_full,
                sums,
                ratios,
            )
        )
    return out


def pool(all_folds: Iterable[Fold]) -> dict[str, Any]:
    """Every fold's scored days together: days, coverage of the chosen methods (and of the
    full-period choices), and the sum of
    the chosen methods' log scores over the sum of each reference's."""
    listed = list(all_folds)
    days = sum(f.days for f in listed)
    chosen = sum(f.sums["chosen"] for f in listed)
    return {
        "days": days,
        "coverage_80": sum(f.inside for f in listed) / days,
        "coverage_80_full": sum(f.inside_full for f in listed) / days,
        "ratios": {k: chosen / sum(f.sums[k] for f in listed) for k in REFERENCES},
    }


def measure(ticker: str, path: Path, config: Path, overrides: Sequence[str]) -> Losses:
    """Train ``config`` with ``--no-refit`` on ``path``'s bars in a fresh home and read the
    per-day 80% intervals of the network and the baselines on its test period."""
    with tempfile.TemporaryDirectory(prefix="bench-served-split-") as folder:
        home = Path(folder) / "home"
        trained = train_no_refit(home, ticker, path, config, overrides)
        return period_losses(home, ticker, trained["interval_method"])


def period_losses(root: Path, ticker: str, served: str) -> Losses:
    """The per-day losses of the current bundle of ``ticker`` in the home at ``root``, as
    :func:`rnnforecast.risk.assessment.assess` forecasts its test period. ``served``: the name
    ``train --json`` gave the served intervals (``conformal`` or ``rolling_conformal``, called
    ``adaptive_conformal`` before, for the network's)."""
    from rnnforecast.data.bars import CLOSE
    from rnnforecast.forecast.windows import base_matrix, build_dataset
    from rnnforecast.risk import assessment, baselines
    from rnnforecast.storage import loading
    from rnnforecast.storage.home import Home

    home = Home(root)
    loaded = loading.load(home, ticker, None)
    manifest, data = loaded.bundle.manifest, loaded.config.data
    if manifest.scored.weights is not None:
        raise SystemExit(f"{ticker}: the bundle was refitted; train with --no-refit")
    frame = home.store.read(ticker)
    dataset = build_dataset(frame, data)
    first_target = dataset.target_dates[:, 0]

    def within(name: str) -> np.ndarray:
        period = manifest.period(name)
        start, end = np.datetime64(period.start), np.datetime64(period.end)
        return np.asarray((first_target >= start) & (first_target <= end))

    validation, test = within("validation"), within("test")
    days = {MODEL: assessment.served_forecasts(loaded.fitted(), dataset, validation, test)}
    ohlcv = base_matrix(frame)
    first = int(np.argmax(test)) + data.lookback
    last = first + len(days[MODEL].median) - 1
    names = baselines.baselines_for(first)
    days.update(
        assessment.baseline_forecasts(ohlcv, first, last, names, baselines.forecast_baselines)
    )
    actual = ohlcv[first : last + 1, CLOSE]
    choose, score, inside = {}, {}, {}
    for name, day in days.items():
        low, high = day.bounds[LEVEL]
        choose[name] = probabilistic.interval_score(actual, low, high, LEVEL)
        score[name] = probabilistic.interval_score(np.log(actual), np.log(low), np.log(high), LEVEL)
        inside[name] = ~probabilistic.outside(actual, low, high)
    full = (
        MODEL
        if interval_choice.current_name(served) in ("conformal", "rolling_conformal")
        else served
    )
    return Losses(choose, score, inside, full)


HEADER = (
    "series     chosen on  chosen  DM p   best on   days  cov80  (full)  "
    "/best   /garch_t /model  /full"
)


def _row(name: str, fold: Fold | None, pooled: dict[str, Any] | None = None) -> str:
    if fold is not None:
        p = "-" if fold.p_value is None else f"{fold.p_value:.3f}"
        head = f"{name:10s} {fold.chosen_on:6s} {fold.chosen:8s} {p:6s} {fold.best:8s}"
        days, coverage, ratios = fold.days, fold.coverage, fold.ratios
        full = fold.inside_full / fold.days
    else:
        assert pooled is not None
        head = f"{name:40s}"
        days, coverage, ratios = pooled["days"], pooled["coverage_80"], pooled["ratios"]
        full = pooled["coverage_80_full"]
    cells = "  ".join(f"{ratios[k]:.4f}" for k in REFERENCES)
    return f"{head} {days:5d}  {coverage:.3f}  {full:.3f}  {cells}"


def summary(per_series: Mapping[str, list[Fold]], untuned: set[str]) -> dict[str, Any]:
    """Print each series' two folds together (its whole test period) and the pools: all
    series, and the ``untuned`` ones; both folds, and the folds chosen on the first half
    only. Returns the pools (None for a pool without series)."""
    for ticker, listed in per_series.items():
        print(_row(f"{ticker} (both halves)", None, pool(listed)))
    pools: dict[str, Any] = {}
    for name, keep in (("all", set(per_series)), ("untuned", untuned & set(per_series))):
        # chosen on the first half and served on the second is the realistic direction
        for side, sides in (("", ("first", "second")), (" chosen on first", ("first",))):
            listed = [f for t in keep for f in per_series[t] if f.chosen_on in sides]
            pools[name + side] = pool(listed) if listed else None
    for name, pooled in pools.items():
        if pooled is not None:
            print(_row(f"pool {name}", None, pooled))
    return pools


def table(written: Path, untuned: set[str]) -> None:
    """Print the table of a written result again (no training)."""
    series = json.loads(written.read_text())["series"]
    per_series = {t: [Fold(**f) for f in v["folds"]] for t, v in series.items()}
    print(HEADER)
    for ticker, listed in per_series.items():
        for fold in listed:
            print(_row(ticker, fold))
    summary(per_series, untuned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-sample", action="store_true", help="GOOG only")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--more", action="store_true", help="also the files in prices/more/")
    parser.add_argument("--tickers", help="comma-separated: only these series")
    parser.add_argument("--significance", type=float, default=0.05)
    parser.add_argument("--table", type=Path, metavar="FILE.json", help="no runs: print again")
    args = parser.parse_args()
    untuned = {p.stem.upper() for p in MORE_FILES.glob("*.csv")}
    if args.table:
        table(args.table, untuned)
        return
    paths = {"GOOG": sources.sample_path()}
    if not args.only_sample:
        paths.update({p.stem.upper(): p for p in sorted(PRICE_FILES.glob("*.csv"))})
        if args.more:
            paths.update({p.stem.upper(): p for p in sorted(MORE_FILES.glob("*.csv"))})
    if args.tickers:
        keep = {t.strip().upper() for t in args.tickers.split(",")}
        paths = {t: p for t, p in paths.items() if t in keep}
    print(HEADER)
    results: dict[str, Any] = {}
    per_series: dict[str, list[Fold]] = {}
    for ticker, path in paths.items():
        losses = measure(ticker, path, args.config, args.set)
        per_series[ticker] = folds(losses, args.significance)
        m = len(losses.score[MODEL])
        # the rule on the full period here should reproduce train's own choice
        recomputed = choose_on(losses.choose, slice(0, m), args.significance)[0]
        if recomputed != losses.full_choice:
            print(f"{ticker}: train chose {losses.full_choice}, the rule here {recomputed}")
        for fold in per_series[ticker]:
            print(_row(ticker, fold), flush=True)
        results[ticker] = {
            "full_choice": losses.full_choice,
            "full_choice_recomputed": recomputed,
            "test_days": m,
            "folds": [asdict(f) for f in per_series[ticker]],
        }
    pools = summary(per_series, untuned)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"served-split-{stamp}.json"
    written = {"config": str(args.config), "set": args.set, "series": results, "pools": pools}
    target.write_text(json.dumps(written, indent=2, allow_nan=False))
    print(f"written to {target}")


if __name__ == "__main__":
    main()
