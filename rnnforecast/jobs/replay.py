"""The replay: what predict would have served, day by day, had ``train`` been run every
``every`` sessions on the bars known then, scored out of sample.

At each refit date the current model's recipe is fitted on the bars up to that date only,
exactly as ``train`` fits it (:func:`rnnforecast.training.per_ticker.fit_and_choose`: the
scored fit, the refit on every window, the served intervals chosen on the scored fit's test
period), and every baseline is refitted on the same bars
(:func:`rnnforecast.risk.interval_choice.fit_record`). That choice serves each following day
until the next refit date: the forecast of day ``t`` is built from the bars up to ``t - 1``
only, as predict builds it (the network's calibrated point; the network's intervals or the
chosen baseline's around it, :func:`rnnforecast.risk.interval_choice.bounds`, rescaled by
:mod:`rnnforecast.risk.adaptive_widths` when the recipe adapts them). The network alone and
every baseline alone are forecast on the same days. Scores: :mod:`rnnforecast.jobs.replay_scores`.

With ``warm`` every refit after the first starts from the previous refit date's weights and
scalers (:class:`rnnforecast.training.fitting.Start`) for the few epochs of
:func:`rnnforecast.training.warm.warm_epochs`: the kept scalers were fitted on windows that
are all still in the new fit's training windows, so nothing after the date leaks in.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config
from rnnforecast.data.bars import CLOSE
from rnnforecast.errors import DataError, UsageError
from rnnforecast.forecast import conformal
from rnnforecast.jobs import fan_replay
from rnnforecast.jobs.replay_scores import LEVELS, Track, dm_test, scores, shares
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.baselines.registry import BASELINES
from rnnforecast.risk.fans.choice import describe
from rnnforecast.risk.interval_choice import IntervalRecord
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.training import batches, fan_peers, per_ticker
from rnnforecast.training.fitting import Start
from rnnforecast.training.warm import warm_epochs

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.nn.keras_training import Progress

DEFAULT_EVERY = 21
"""Sessions between refit dates: about a month of trading days."""

HORIZONS = (1,)
"""Horizons of the one-day served intervals and point (``one_day``); the fans' horizons are
:data:`rnnforecast.risk.fans.interface.REPORT_HORIZONS`."""


@dataclass(frozen=True)
class Refit:
    """One refit date: the last bar the fit (``trained_through``) and the served choice
    (``chosen_through``) saw, the first and last day it served, what it served (the
    interval method's name and the network's shrink factors), whether it started warm,
    and its seconds of fitting."""

    trained_through: str
    chosen_through: str
    serves_from: str
    serves_to: str
    interval_method: str
    shrink: tuple[float, ...]
    warm: bool
    seconds: float
    fan: str | None = None  # the served fan's methods by horizon (None: no fan)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trained_through": self.trained_through,
            "chosen_through": self.chosen_through,
            "serves_from": self.serves_from,
            "serves_to": self.serves_to,
            "interval_method": self.interval_method,
            "shrink": list(self.shrink),
            "warm": self.warm,
            "seconds": self.seconds,
            "fan": self.fan,
        }


@dataclass(frozen=True)
class ReplayDays:
    """The replayed days ``(m,)``: ``dates`` (datetime64[D]), ``actual`` closes, ``naive``
    (the previous close), the served method of each day, and the forecasts of the served
    choice, of the network alone and of each baseline alone (refitted on the same dates)."""

    dates: np.ndarray
    actual: np.ndarray
    naive: np.ndarray
    method: np.ndarray
    served: Track
    network: Track
    baselines: dict[str, Track]


@dataclass(frozen=True)
class Replay:
    """A replay of ``ticker``'s current recipe (run ``run_id``): its refit dates, its days
    and the scores per horizon (:meth:`to_dict` is the JSON contract)."""

    ticker: str
    run_id: str
    every: int
    warm: bool
    refits: tuple[Refit, ...]
    days: ReplayDays
    seconds: float
    fans: dict[str, Any] = field(default_factory=dict)  # per horizon (jobs.fan_replay)

    def horizon_scores(self, horizon: int = 1) -> dict[str, Any]:
        """Scores of the replayed days at ``horizon``: ``served``, ``network``,
        ``baselines`` (name: scores, None for a baseline that could not be fitted at some
        refit date), ``share`` of days per served method, ``dm`` (served vs best baseline)."""
        d = self.days
        out: dict[str, Any] = {
            "days": {"start": _day(d.dates[0]), "end": _day(d.dates[-1]), "n": len(d.dates)},
            "served": scores(d.actual, d.naive, d.served),
            "network": scores(d.actual, d.naive, d.network),
            "baselines": {
                name: scores(d.actual, d.naive, d.baselines[name]) if name in d.baselines else None
                for name in BASELINES
            },
            "share": shares(d.method),
            "dm": dm_test(d.actual, d.served, d.baselines, horizon),
        }
        return out

    def frame(self) -> pd.DataFrame:
        """The replayed days, one row per day indexed by date: ``actual``, ``naive``, the
        served ``method``, then ``point``, ``low_80``, ``high_80``, ``low_95``, ``high_95``
        of each forecaster prefixed by its name (``served_``, ``network_``, ``garch_t_``...)."""
        d = self.days
        columns: dict[str, Any] = {"actual": d.actual, "naive": d.naive, "method": d.method}
        for name, track in {"served": d.served, "network": d.network, **d.baselines}.items():
            columns[f"{name}_point"] = track.point
            for q in LEVELS:
                columns[f"{name}_low_{q:.0%}"[:-1]] = track.low[q]
                columns[f"{name}_high_{q:.0%}"[:-1]] = track.high[q]
        return pd.DataFrame(columns, index=pd.DatetimeIndex(d.dates, name="date"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "replay": {
                "every": self.every,
                "warm": self.warm,
                "seconds": self.seconds,
                "refits": [r.to_dict() for r in self.refits],
                "horizons": self.fans,
                "one_day": self.horizon_scores(1),
            },
        }


def _day(value: Any) -> str:
    return str(np.datetime64(value, "D"))


def serve_rows(dates: pd.DatetimeIndex, first: dt.date, every: int) -> list[int]:
    """Rows of ``dates`` ``(n,)`` where each refit's serving starts: the first row on or
    after ``first``, then every ``every`` rows; each refit is fitted on the rows before its
    own. Raises UsageError for ``every`` below 1 or a ``first`` after the last row."""
    if every < 1:
        raise UsageError(f"a replay refits every 1 or more sessions, not {every}")
    start = int(dates.searchsorted(pd.Timestamp(first)))
    if start >= len(dates):
        raise UsageError(
            f"the replay cannot start on {first}: the last stored bar is {dates[-1].date()}"
        )
    return list(range(start, len(dates), every))


def check_start(rows: int, config: Config, first: str) -> None:
    """Refuse a replay whose first refit has too few bars (``rows``) for ``train``'s split
    and batch rule (:func:`rnnforecast.training.batches.for_rows`). Raises UsageError."""
    try:
        batches.for_rows(rows, config)
    except DataError as exc:
        raise UsageError(
            f"the replay cannot start on {first}: {rows} bars before it; {exc}"
        ) from None


def replay(
    home: Home,
    ticker: str,
    *,
    every: int = DEFAULT_EVERY,
    start: dt.date | str | None = None,
    config: Config | None = None,
    run_id: str | None = None,
    warm: bool = True,
    progress: Progress | None = None,
    on_refit: Callable[[Refit], None] | None = None,
) -> Replay:
    """Replay what would have been served for ``ticker`` from ``start`` (default: the first
    day of the current model's test period, run ``run_id``) with the recipe ``config``
    (default: that model's), refitted every ``every`` sessions (warm-started with ``warm``).
    ``progress`` is called after each epoch, ``on_refit`` after each refit date. Raises
    UsageError (bad ``every`` or ``start``; a ticker served by a global model), NoModel or
    ModelError (no or bad bundle), DataError (bad bars)."""
    began = time.perf_counter()
    loaded = loading.load(home, ticker, run_id)
    manifest = loaded.bundle.manifest
    if manifest.members is not None:
        raise UsageError(f"a replay refits one ticker's own model; {ticker} is served by a group")
    recipe = config or loaded.config
    frame = home.store.read(manifest.ticker)
    peers = fan_peers.read_peers(home, manifest.ticker, recipe)  # cut by each fit itself
    first = start or manifest.period("test").start
    first_day = dt.date.fromisoformat(str(first)) if isinstance(first, str) else first
    rows = serve_rows(pd.DatetimeIndex(frame.index), first_day, every)
    check_start(rows[0], recipe, str(first_day))
    ohlcv, dates = per_ticker.bars_of(frame)
    refits, spans, fan_spans = [], [], []
    starts: tuple[Start | None, Start | None] = (None, None)
    scratch_best: int | None = None
    for k, row in enumerate(rows):
        end = rows[k + 1] if k + 1 < len(rows) else len(frame)
        fitted_at = time.perf_counter()
        choice = per_ticker.fit_and_choose(
            frame.iloc[:row], recipe, progress, starts, symbol=manifest.ticker, peers=peers
        )
        served = choice.served.model
        refit = Refit(
            _day(dates[row - 1]),
            _day(dates[row - 1]),
            _day(dates[row]),
            _day(dates[end - 1]),
            interval_choice.served_name(choice.intervals, served.calibration),
            tuple(served.calibration.shrink),
            starts[0] is not None,
            time.perf_counter() - fitted_at,
            None if choice.fan is None else describe(choice.fan.methods),
        )
        spans.append(segment(choice, recipe, ohlcv, dates, (row, end)))
        net = None if choice.fan_network is None else choice.fan_network.bound(ohlcv, dates)
        fan_spans.append(fan_replay.fan_span(choice.fan, ohlcv, (row, end), net))
        refits.append(refit)
        if on_refit is not None:
            on_refit(refit)
        if warm:
            scratch_best = scratch_best or choice.scored.trained.history.best_epoch
            epochs = warm_epochs(scratch_best, recipe.train.epochs)
            starts = (
                Start(choice.scored.trained.weights, choice.scored.model.scalers, epochs),
                Start(choice.served.trained.weights, served.scalers, epochs),
            )
    days = replay_days(rows[0], spans, ohlcv, dates)
    fans = fan_replay.fan_horizons(fan_spans, ohlcv)
    seconds = time.perf_counter() - began
    return Replay(manifest.ticker, manifest.run_id, every, warm, tuple(refits), days, seconds, fans)


Span = tuple[np.ndarray, Track, Track, dict[str, Track]]
"""One refit's days: served method per day, served, network and baselines' tracks."""


def replay_days(first: int, spans: list[Span], ohlcv: np.ndarray, dates: np.ndarray) -> ReplayDays:
    """Every replayed day from row ``first`` of the bars ``ohlcv`` ``(n, 5)`` dated
    ``dates``, the refits' ``spans`` joined in order (a baseline only where every span has
    it)."""
    return ReplayDays(
        dates[first:],
        ohlcv[first:, CLOSE],
        ohlcv[first - 1 : -1, CLOSE],
        np.concatenate([s[0] for s in spans]),
        Track.concat([s[1] for s in spans]),
        Track.concat([s[2] for s in spans]),
        {
            name: Track.concat([s[3][name] for s in spans])
            for name in BASELINES
            if all(name in s[3] for s in spans)
        },
    )


def segment(
    choice: per_ticker.Choice,
    config: Config,
    ohlcv: np.ndarray,
    dates: np.ndarray,
    span: tuple[int, int],
) -> Span:
    """The forecasts of rows ``span[0] .. span[1] - 1`` of ``ohlcv`` ``(n, 5)`` by a refit
    fitted on the rows before ``span[0]``: each from the rows before its own day only."""
    first, end = span
    targets = np.arange(first, end)
    network = network_track(choice, config, ohlcv, targets)
    records = baseline_records(ohlcv, first, dates)
    baselines = {
        name: baseline_track(recs, ohlcv, targets, ohlcv[targets - 1, CLOSE])
        for name, recs in records.items()
    }
    served_record = choice.intervals
    method = interval_choice.served_name(served_record, choice.served.model.calibration)
    served = network
    if served_record.serves_baseline:
        # refit on every bar: the baseline on every bar too, as record_for_training fits it
        through = first if choice.served is not choice.scored else _first_test(choice, config)
        by_level = {
            level: served_record
            if math.isclose(level, served_record.level)
            else replace(
                interval_choice.fit_record(
                    served_record.method, ohlcv, through, level, _day(dates[through - 1])
                ),
                adaptive=served_record.adaptive,
            )
            for level in LEVELS
        }
        served = baseline_track(by_level, ohlcv, targets, network.point)
    return np.full(len(targets), method), served, network, baselines


def _first_test(choice: per_ticker.Choice, config: Config) -> int:
    """Row of the first target of the scored fit's test period."""
    index = np.arange(len(choice.dataset))[choice.split.test]
    return int(index[0]) + config.data.lookback


def baseline_records(
    ohlcv: np.ndarray, through: int, dates: np.ndarray
) -> dict[str, dict[float, IntervalRecord]]:
    """Every baseline's records at each level of :data:`LEVELS`, fitted on rows
    ``[0, through)``; a baseline that cannot be fitted there is left out."""
    out = {}
    for name in BASELINES:
        try:
            out[name] = {
                level: interval_choice.fit_record(
                    name, ohlcv, through, level, _day(dates[through - 1])
                )
                for level in LEVELS
            }
        except DataError:
            continue
    return out


def baseline_track(
    records: dict[float, IntervalRecord],
    ohlcv: np.ndarray,
    targets: np.ndarray,
    centre: np.ndarray,
) -> Track:
    """A baseline's served intervals of the days ``targets`` ``(m,)`` (rows of ``ohlcv``)
    around ``centre`` ``(m,)``, as predict serves them: from the last rows before each day
    that predict reads (:func:`rnnforecast.risk.adaptive_widths.rows_needed`), widths
    rescaled by :func:`rnnforecast.risk.adaptive_widths.factor` when a record adapts.
    Raises ModelError if a bound is not finite."""
    low, high = {}, {}
    for level, record in records.items():
        need = adaptive_widths.rows_needed(record)
        lo, hi = np.empty(len(targets)), np.empty(len(targets))
        for i, t in enumerate(targets):
            rows = ohlcv[max(0, t - need) : t]
            factor = adaptive_widths.factor(record, rows)
            a, b = interval_choice.bounds(record, rows, centre[i : i + 1], factor)
            lo[i], hi[i] = a[0], b[0]
        low[level], high[level] = lo, hi
    return Track(np.asarray(centre, dtype=np.float64), low, high)


def calibration_widths(choice: per_ticker.Choice, config: Config) -> dict[float, float]:
    """One-step normalised half-widths of the served network at each level of
    :data:`LEVELS`: its calibration's own at its level; at another level the split
    conformal quantile of the same calibration scores (the served network's own forecasts of
    the windows it was calibrated on: the refit's calibration tail when it was refitted, the
    scored fit's calibration piece of validation otherwise)."""
    served = choice.served.model
    refitted = choice.served is not choice.scored
    split = choice.split
    part = choice.dataset.select(split.refit_calibration if refitted else split.calibration)
    calibration_scores = np.sort(served.one_step_scores(part.base, part.actual[:, 0]))
    widths = {}
    for level in LEVELS:
        if math.isclose(level, served.calibration.level):
            widths[level] = float(served.calibration.step_values(1)[1][0])
        else:
            n = len(calibration_scores)
            k = min(math.ceil((n + 1) * level - 1e-9), n)
            widths[level] = float(calibration_scores[k - 1])
    return widths


def network_track(
    choice: per_ticker.Choice, config: Config, ohlcv: np.ndarray, targets: np.ndarray
) -> Track:
    """The served network's own forecasts of the days ``targets`` ``(m,)`` (rows of
    ``ohlcv``): its calibrated point and its intervals, from the window ending the day
    before; with an adaptive scheme the widths rescaled as predict rescales them, from the
    one-step scores of the windows in the last ``lookback + history`` rows before the day."""
    model = choice.served.model
    lookback = config.data.lookback
    base = np.stack([ohlcv[t - lookback : t] for t in targets])
    widths = calibration_widths(choice, config)
    factors = {level: np.ones(len(targets)) for level in LEVELS}
    adaptive = model.calibration.adaptive
    if adaptive is not None:
        need = lookback + adaptive.history
        for i, t in enumerate(targets):
            rows = ohlcv[max(0, t - need) : t]
            if len(rows) <= lookback:
                continue
            view = np.lib.stride_tricks.sliding_window_view(rows, (lookback, rows.shape[1]))
            recent = model.one_step_scores(view[:-1, 0], rows[lookback:, CLOSE])
            for level in LEVELS:
                factors[level][i] = conformal.factors(recent, level, adaptive, widths[level])[-1]
    level = model.calibration.level
    served = model.forecast(base, 1, factors.get(level, 1.0))
    point = served.point[:, 0]
    scale = model.forecast_scale(base, 1)[1][:, 0]
    low, high = {}, {}
    for q in LEVELS:
        if math.isclose(q, level):
            low[q], high[q] = served.low[:, 0], served.high[:, 0]
        else:
            spread = widths[q] * scale * factors[q]
            low[q], high[q] = point * np.exp(-spread), point * np.exp(spread)
    return Track(point, low, high)


def figure(result: Replay) -> Any:
    """The replay's picture (a matplotlib Figure): the served 80% interval over the
    replayed days with the closes, each refit date marked."""
    from rnnforecast import plots

    d = result.days
    return plots.replay_figure(
        result.ticker,
        d.dates,
        d.actual,
        d.served.low[0.8],
        d.served.high[0.8],
        [r.serves_from for r in result.refits],
        0.8,
    )
