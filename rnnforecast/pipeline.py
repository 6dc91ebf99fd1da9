"""The jobs fetch and train. Config in, result dataclasses out.

Fitting lives in :mod:`rnnforecast.fitting`, evaluating a saved bundle in
:mod:`rnnforecast.scoring`, the nightly job in :mod:`rnnforecast.nightly`. Nothing here
prints, exits or reads the environment. TensorFlow is imported only inside the functions
that train a network (``rnnforecast.model``, ``rnnforecast.training``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast import __version__, calendars, fits, locks, serving, sources
from rnnforecast.artifacts import LOG_FILE, SCHEMA_VERSION, WEIGHTS_FILE, new_run_id
from rnnforecast.config import Config
from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.evaluation import Report
from rnnforecast.faults import failure as _error  # fetch_each's name for it
from rnnforecast.fitting import (
    _assess,
    _day,
    _fit,
    _Fitted,
    _naive_scale,
    _period,
    _refit,
    _width_factors,
)
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.tickers import unique_tickers
from rnnforecast.windows import Split, fingerprint

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


def _library_versions() -> dict[str, str]:
    from rnnforecast import model as network_module

    return {
        "rnnforecast": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        **network_module.versions(),
    }


def _training_log(symbol: str, run_id: str, config: Config, fitted: _Fitted, rep: Report) -> str:
    h = fitted.history
    lines = [f"rnnforecast {__version__} train {symbol} run {run_id}", f"config {config.to_dict()}"]
    lines += [
        f"epoch {i + 1:3d} loss {loss:.6g} val_loss {val:.6g}"
        for i, (loss, val) in enumerate(zip(h.loss, h.val_loss, strict=False))
    ]
    lines.append(
        f"kept epoch {h.best_epoch} of {h.epochs_run}; shrink {list(fitted.calibration.shrink)}; "
        f"test rel_mae {rep.scores.model['rel_mae']:.4f} "
        f"(uncalibrated {rep.raw['rel_mae']:.4f})"
    )
    return "\n".join(lines) + "\n"


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
    symbol = sources.check_ticker(ticker)
    with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
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
    info = home.store.info(symbol)
    data = config.data
    split = Split.plan(len(frame), data)
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
    test_period = _period(test_part.target_dates[:, 0])
    run_id = new_run_id()
    dates = fitted.dataset.target_dates
    scored_dates = {
        "trained_through": _day(dates[split.train][-1, -1]),
        "calibrated_through": _day(dates[split.val][-1, -1]),
    }
    # The scored network is saved as numpy weights for evaluate: without them (the numpy
    # pass disagreed with Keras, never seen so far) the bundle serves the scored fit.
    served = fitted
    if refit and fitted.numpy_check["passed"]:
        served = _refit(config, fitted, split, progress, warm_start)
    refitted = served is not fitted
    serving_dates = (
        {
            "trained_through": _day(dates[-1, -1]),
            "calibrated_through": _day(dates[split.test][-1, -1]),
        }
        if refitted
        else scored_dates
    )
    serving_record = {**serving_dates, "refit": refitted}
    scored_fit: dict[str, Any] = {
        **scored_dates,
        "training": fitted.history.to_dict(),
        "calibration": fitted.calibration.to_dict(),
        "naive_scale": scale,
    }
    served_fit: dict[str, Any] = dict(serving_record)
    if refitted:
        scored_fit.update(
            {
                "weights": fits.SCORED_WEIGHTS_FILE,
                "scalers": fitted.scalers.to_dict(),
                "numpy_check": fitted.numpy_check,
            }
        )
        served_fit.update(
            {
                "windows": len(fitted.dataset),
                "epochs": served.history.epochs_run,
                "epochs_rule": "the scored fit's best epoch, no early stopping"
                if warm_start is None
                else "warm start: a share of the recipe's best epoch, no early stopping",
                "calibration": "the scored fit's forecasts of the test period",
                "training": served.history.to_dict(),
            }
        )
    numpy_check = served.numpy_check
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "ticker": symbol,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "features": list(data.features),
        "target": data.target,
        "window": data.window,
        "horizon": data.horizon,
        "seed": config.train.seed,
        "data": {
            "source": info.source if info else None,
            "auto_adjust": info.auto_adjust if info else None,
            "rows": len(frame),
            "first": str(frame.index[0].date()),
            "last": str(frame.index[-1].date()),
            "fingerprint": fingerprint(frame),
            "scaler_rows": _period(frame.index.to_numpy()[: split.scaler_rows]),
            "train": _period(fitted.dataset.target_dates[split.train, 0]),
            "validation": _period(fitted.dataset.target_dates[split.val, 0]),
            "test": test_period,
        },
        "training": fitted.history.to_dict(),
        "calibration": served.calibration.to_dict(),
        "serving": serving_record,
        "fits": {"scored": scored_fit, "served": served_fit},
        "warm_start": None if warm_start is None else warm_start.record(),
        "numpy_check": numpy_check,
        "metrics": {"test": {"n": rep.n, **rep.to_dict()}},
        "versions": _library_versions(),
    }
    log = _training_log(symbol, run_id, config, fitted, rep)
    if refitted:
        log += "".join(
            f"refit epoch {i + 1:3d} loss {loss:.6g}\n"
            for i, loss in enumerate(served.history.loss)
        )
        log += (
            f"refit on all {len(fitted.dataset)} windows, {served.history.epochs_run} epochs; "
            f"served shrink {list(served.calibration.shrink)} (calibrated on the test period)\n"
        )

    def write_files(path: Path) -> None:
        _write_bundle_files(path, served, numpy_check["passed"], log)
        if refitted:
            _save_numpy_weights(path.parent / fits.SCORED_WEIGHTS_FILE, fitted)

    manifest["timings"] = {
        "fit_seconds": round(fitted.history.seconds, 3),
        "refit_seconds": round(served.history.seconds, 3) if refitted else 0.0,
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    path = home.models.save(symbol, run_id, write_files, served.scalers, manifest, promote=promote)
    return TrainResult(
        symbol,
        run_id,
        path,
        test_period,
        rep,
        fitted.history.to_dict(),
        served.calibration.to_dict(),
        serving_record,
    )


def _write_bundle_files(model_path: Path, fitted: _Fitted, numpy: bool, log: str) -> None:
    """model.keras (checked to reload to the same predictions), weights.npz, train.log."""
    from rnnforecast import model as network_module

    fitted.net.save(model_path)
    again = network_module.predict(network_module.load_model(model_path), fitted.test_x)
    if not np.array_equal(again, fitted.test_keras):
        raise ModelError(f"{model_path}: reloaded model predicts differently; not saved")
    if numpy:
        _save_numpy_weights(model_path.parent / WEIGHTS_FILE, fitted)
    (model_path.parent / LOG_FILE).write_text(log, encoding="utf-8")


def _save_numpy_weights(path: Path, fitted: _Fitted) -> None:
    """The network's weights for the numpy forward pass, with the input shape it takes."""
    from rnnforecast.numpy_model import save_weights

    weights = dict(fitted.weights)
    weights[serving.INPUT_SHAPE_KEY] = np.array(fitted.net.input_shape[1:], dtype=np.int64)
    save_weights(path, weights)
