"""The jobs fetch and train. Config in, result dataclasses out.

Fitting lives in :mod:`rnnforecast.fitting`, evaluating a saved bundle in
:mod:`rnnforecast.scoring`, the nightly job in :mod:`rnnforecast.nightly`. Nothing here
prints, exits or reads the environment. TensorFlow is imported only inside the functions
that train a network (``rnnforecast.model``, ``rnnforecast.training``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rnnforecast import bundles, calendars, locks, sources
from rnnforecast.config import Config
from rnnforecast.errors import DataError, UsageError
from rnnforecast.evaluation import Report
from rnnforecast.faults import failure as _error  # fetch_each's name for it
from rnnforecast.fitting import (
    _assess,
    _fit,
    _naive_scale,
    _refit,
    _width_factors,
)
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.tickers import unique_tickers
from rnnforecast.windows import Split

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.training import Progress
    from rnnforecast.warm import WarmStart

# --- fetch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceOptions:
    """Where one ticker's bars come from and how: ``kind`` is yahoo, csv or sample."""

    kind: str = "yahoo"
    csv: Path | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    auto_adjust: bool = True
    replace: bool = False
    retries: int = 3
    timeout: float = 10.0
    calendar: str | None = None  # a checked calendar code; None: reported, stored or XNYS
    date_format: str | None = None  # csv: strftime format of the dates; None: inferred
    clock: calendars.Clock = calendars.system_clock


def fetch(
    home: Home,
    tickers: list[str],
    *,
    csv: Path | None = None,
    sample: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    auto_adjust: bool = True,
    replace: bool = False,
    retries: int = 3,
    timeout: float = 10.0,
    calendar: str | None = None,
    date_format: str | None = None,
    clock: calendars.Clock = calendars.system_clock,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> list[StoreResult]:
    """Store daily bars for each ticker; one transaction per ticker.

    Sources: ``csv`` (one ticker), ``sample`` (the bundled GOOG prices; ticker defaults to
    GOOG), else Yahoo. For Yahoo without ``start``, a ticker already stored is fetched from
    a week before its last stored bar (the overlap catches late corrections; rows already
    stored are kept); ``retries`` and ``timeout`` (seconds per request) bound the wait. Each
    ticker is locked while it is fetched and written.

    ``calendar`` (an exchange calendar code) is recorded for every ticker; without it a
    ticker keeps its stored calendar, else gets the one the source reports, else XNYS. Only bars
    whose session had closed by ``clock()`` are stored (:func:`calendars.complete_bars`),
    with that calendar's sessions up to two years ahead, which predict reads. ``date_format``
    fixes the csv file's date format. Raises UsageError, DataError, SourceError or
    LockError; tickers before the failing one stay stored.
    """
    if csv is not None and sample:
        raise UsageError("--csv and --sample are two sources: choose one")
    if start and end and start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    symbols = [sources.check_ticker(t) for t in tickers]
    if (csv is not None or sample) and len(symbols) > 1:
        raise UsageError("--csv and --sample load one ticker at a time")
    if sample and not symbols:
        symbols = [sources.SAMPLE_TICKER]
    if not symbols:
        raise UsageError("name at least one ticker")
    if date_format is not None and csv is None:
        raise UsageError("--date-format is for a csv source only")
    options = SourceOptions(
        kind="csv" if csv is not None else "sample" if sample else "yahoo",
        csv=csv,
        start=start,
        end=end,
        auto_adjust=auto_adjust,
        replace=replace,
        retries=retries,
        timeout=timeout,
        calendar=calendars.check_code(calendar) if calendar is not None else None,
        date_format=date_format,
        clock=clock,
    )
    results = []
    for symbol in symbols:
        with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
            results.append(_fetch_ticker(home, symbol, options))
    return results


@dataclass(frozen=True)
class FetchOutcome:
    """One ticker of a multi-ticker fetch: what was stored, or ``error`` (``{"code",
    "message"}``) if it failed."""

    ticker: str
    stored: StoreResult | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.stored is not None:
            return self.stored.to_dict()
        return {"ticker": self.ticker, "error": self.error}


def fetch_each(home: Home, tickers: list[str], **options: Any) -> list[FetchOutcome]:
    """:func:`fetch` for each ticker in turn, going on after a failed one (as ``run``
    does); ``options`` are fetch's. Tickers are checked first, and named once each however
    they are spelled (``GOOG goog``). Raises UsageError for a bad ticker or option (before
    anything is fetched); the failures of single tickers are in their outcomes.
    """
    symbols = unique_tickers(tickers)
    if len(symbols) <= 1:
        return [FetchOutcome(r.ticker, stored=r) for r in fetch(home, symbols, **options)]
    if options.get("csv") is not None or options.get("sample"):
        raise UsageError("--csv and --sample load one ticker at a time")
    start, end = options.get("start"), options.get("end")
    if start and end and start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    outcomes = []
    for symbol in symbols:
        try:
            [stored] = fetch(home, [symbol], **options)
        except Exception as exc:  # noqa: BLE001 - ours and outside faults; _error re-raises bugs
            outcomes.append(FetchOutcome(symbol, error=_error(exc)))
        else:
            outcomes.append(FetchOutcome(symbol, stored=stored))
    return outcomes


def _fetch_ticker(home: Home, symbol: str, options: SourceOptions) -> StoreResult:
    """Read one ticker's bars from its source and store them (the caller holds its lock)."""
    if options.kind == "csv":
        assert options.csv is not None
        bars = _clip(sources.read_csv(options.csv, options.date_format), options.start, options.end)
    elif options.kind == "sample":
        bars = _clip(sources.load_sample(), options.start, options.end)
    else:
        since = options.start
        info = None if (since or options.replace) else home.store.info(symbol)
        if info is not None and info.source == "yahoo":
            since = dt.date.fromisoformat(info.last) - dt.timedelta(days=7)
        bars = sources.fetch_yahoo(
            symbol,
            since,
            options.end,
            auto_adjust=options.auto_adjust,
            retries=options.retries,
            timeout=options.timeout,
            cache=home.yahoo_cache,
        )
    return _store_complete(home, symbol, bars, options)


def _store_complete(
    home: Home, symbol: str, bars: sources.Bars, options: SourceOptions
) -> StoreResult:
    """Store the bars whose session has closed, with the ticker's calendar and its sessions
    from the first bar to two years ahead. Raises DataError for bars before 1900 or after
    the last closed session (a Yahoo bar whose session is still open is dropped instead)."""
    code = calendars.choose(
        options.calendar,
        home.store.calendar(symbol),
        calendars.for_yahoo_exchange(bars.exchange),
    )
    now = options.clock()
    today = now.astimezone(dt.UTC).date()
    # A bar before 1900 or in the future is refused below; the sessions span stays sane.
    first = min(max(bars.frame.index[0].date(), calendars.EARLIEST), today)
    ahead = today + dt.timedelta(days=calendars.SESSIONS_AHEAD_DAYS)
    sessions = calendars.sessions(code, first, ahead)
    origin = {"yahoo": f"{symbol} (Yahoo)", "csv": str(options.csv)}.get(options.kind, symbol)
    frame = calendars.complete_bars(
        bars.frame, sessions, now, origin, drop_open=options.kind == "yahoo"
    )
    complete = sources.Bars(frame, bars.source, bars.auto_adjust, bars.exchange)
    result = home.store.write(
        symbol, complete, replace=options.replace, calendar=code, sessions=sessions
    )
    return dataclasses.replace(result, off_calendar=calendars.off_sessions(frame, sessions))


def _clip(bars: sources.Bars, start: dt.date | None, end: dt.date | None) -> sources.Bars:
    frame = bars.frame
    if start:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end:
        frame = frame[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise DataError(f"no bars between {start or 'the start'} and {end or 'the end'}")
    return sources.Bars(frame, bars.source, bars.auto_adjust, bars.exchange)


# --- train ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    ticker: str
    run_id: str
    path: Path
    test: dict[str, Any]
    report: Report
    history: dict[str, Any]
    calibration: dict[str, Any]
    serving: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "path": str(self.path),
            **training_summary(self.history),
            "test": self.test,
            **self.report.to_dict(),
            "calibration": self.calibration,
            "serving": self.serving,
        }


def training_summary(history: dict[str, Any]) -> dict[str, Any]:
    """The fields of a fit's history that ``train --json`` reports at its top level."""
    return {
        "epochs_run": history["epochs_run"],
        "best_epoch": history["best_epoch"],
        "stopped_early": history["stopped_early"],
        "train_seconds": history["seconds"],
    }


def train(
    home: Home,
    ticker: str,
    config: Config,
    *,
    progress: Progress | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
    refit: bool = True,
) -> TrainResult:
    """Train a network on the stored bars of ``ticker`` and save it as the current bundle.

    The scored fit: scalers fitted on training windows only; shrinkage and intervals
    calibrated on the validation windows; the test period (last ``test_fraction`` of
    windows) scored next to the naive forecast, the scores going into the manifest. With
    ``refit`` (the default) the recipe is then fitted again on every window up to the last
    bar, and that is the network the bundle serves (see :mod:`rnnforecast.fits`). The
    ticker is locked for the whole run. Raises UsageError (bad ticker), DataError (no or
    too little data), LockError.
    """
    with home.lock(ticker, lock_timeout) as symbol:
        return _train_ticker(home, symbol, config, progress, promote=True, refit=refit)


def _train_ticker(
    home: Home,
    symbol: str,
    config: Config,
    progress: Progress | None,
    promote: bool,
    refit: bool = True,
    warm_start: WarmStart | None = None,
) -> TrainResult:
    """Train and save one bundle (the caller holds the ticker's lock); ``promote`` makes it
    the current model; ``refit`` serves a refit on every window; ``warm_start`` fine-tunes
    the current model's fits instead of training from scratch."""
    started = time.perf_counter()
    frame = home.store.read(symbol)
    split = Split.plan(len(frame), config.data)
    fitted = _fit(frame, config, split, progress, warm_start)
    test_part = fitted.dataset.select(split.test)
    scale = _naive_scale(frame, split.scaler_rows)
    factors = _width_factors(
        fitted.network, fitted.dataset, config, fitted.scalers, fitted.calibration
    )
    rep = _assess(
        fitted.network,
        test_part,
        config,
        fitted.scalers,
        fitted.calibration,
        scale,
        factors[split.test],
    )
    # The scored network is saved as numpy weights for evaluate: without them (the numpy
    # pass disagreed with Keras, never seen so far) the bundle serves the scored fit.
    served = fitted
    if refit and fitted.numpy_check["passed"]:
        served = _refit(config, fitted, split, progress, warm_start)
    run = bundles.TickerRun(
        frame, home.store.info(symbol), split, fitted, served, rep, scale, warm_start
    )
    run_id, path = bundles.save_ticker(home.models, symbol, config, run, started, promote)
    return TrainResult(
        symbol,
        run_id,
        path,
        run.test_period,
        rep,
        fitted.history.to_dict(),
        served.calibration.to_dict(),
        run.serving_record(),
    )


# --- names that moved ----------------------------------------------------------------------

_MOVED = {
    "EvaluationResult": "scoring",
    "evaluate": "scoring",
    "period_figure": "scoring",
    "walk_forward": "fitting",
    "refit_epochs": "fitting",
    "_calibration_forecasts": "fitting",
    "TickerOutcome": "nightly",
    "run": "nightly",
    "models": "listing",
}
"""Names this module had before fitting, scoring, the nightly job and the listing moved to
their own modules, and where they live now: read through :func:`__getattr__` by callers
written before the move. New code imports them from their new home."""


def __getattr__(name: str) -> Any:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"rnnforecast.{home}"), name)
