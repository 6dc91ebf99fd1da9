"""The jobs: fetch, train, evaluate, predict. Config in, result dataclasses out.

Nothing here prints, exits or reads the environment. TensorFlow is imported only inside the
functions that train a network or load one without numpy weights (``rnnforecast.model``,
``rnnforecast.training``); forecasts from a saved bundle run on the numpy forward pass.
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

from rnnforecast import __version__, calendars, fits, locks, metrics, promotion, serving, sources
from rnnforecast import adaptive as adaptive_conformal
from rnnforecast.artifacts import LOG_FILE, SCHEMA_VERSION, WEIGHTS_FILE, new_run_id
from rnnforecast.config import Config, RunConfig
from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.evaluation import Report, report
from rnnforecast.exports import DailyForecasts
from rnnforecast.faults import translate
from rnnforecast.forecaster import (
    Calibration,
    Forecasts,
    Network,
    adaptive_factors,
    distribution,
    fit_calibration,
    forecast,
    one_step_scores,
    raw_forecast,
)
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.tickers import unique_tickers
from rnnforecast.windows import (
    Dataset,
    Scalers,
    Split,
    base_matrix,
    build_dataset,
    check_batches,
    encode_inputs,
    fingerprint,
    fit_scalers,
    scale_targets,
)

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.riskreport import RiskReport
    from rnnforecast.training import Progress
    from rnnforecast.warm import WarmStart

NUMPY_TOLERANCE = 1e-5
"""Largest difference of scaled outputs allowed between the numpy and Keras forward passes."""

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


# --- fitting and assessing one split -------------------------------------------------------


def _period(dates: np.ndarray) -> dict[str, Any]:
    """First and last date (YYYY-MM-DD) and count of a datetime64 array."""
    days = pd.DatetimeIndex(dates)
    return {"start": str(days[0].date()), "end": str(days[-1].date()), "n": len(days)}


@dataclass
class _Fitted:
    """A network fitted on one split, with everything needed to forecast and save it."""

    net: Any  # keras.Model
    network: Network
    scalers: Scalers
    calibration: Calibration
    history: Any  # training.FitHistory
    dataset: Dataset
    numpy_check: dict[str, Any]
    test_x: np.ndarray  # the test windows, encoded: (m, window, f) float32
    test_keras: np.ndarray  # Keras' scaled outputs on them, (m, outputs) float32
    weights: dict[str, np.ndarray]  # the network's weights for the numpy forward pass

    @classmethod
    def of(
        cls, trained: _Trained, scalers: Scalers, calibration: Calibration, dataset: Dataset
    ) -> _Fitted:
        """A trained network with the scalers, calibration and windows it was fitted with."""
        return cls(
            trained.net,
            trained.network,
            scalers,
            calibration,
            trained.history,
            dataset,
            trained.numpy_check,
            trained.check_x,
            trained.check_keras,
            trained.weights,
        )


@dataclass
class _Trained:
    """A trained network with its numpy forward pass, checked against Keras."""

    net: Any  # keras.Model
    network: Network
    history: Any  # training.FitHistory
    numpy_check: dict[str, Any]
    check_x: np.ndarray  # windows the check ran on, encoded: (m, window, f) float32
    check_keras: np.ndarray  # Keras' scaled outputs on them, (m, outputs) float32
    weights: dict[str, np.ndarray]


def _train_network(
    config: Config,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    check_x: np.ndarray,
    progress: Progress | None,
    initial: dict[str, np.ndarray] | None = None,
) -> _Trained:
    """Build and train the recipe's network (no validation: no early stopping), starting
    from ``initial`` weights when given (a warm start), then check the numpy forward pass
    against Keras on ``check_x``. Raises ModelError if ``initial`` does not fit."""
    from rnnforecast import model as network_module
    from rnnforecast import training

    training.seed_everything(config.train.seed)
    # The distribution head starts at the unconditional distribution of its targets.
    moments = (float(np.mean(y_train)), float(np.std(y_train)))
    net = network_module.build_model(
        config, n_features=len(config.data.features), target_moments=moments
    )
    if initial is not None:
        training.set_weights(net, initial)
    history = training.fit(net, x_train, y_train, x_val, y_val, config.train, progress)

    # Forecasts use the numpy forward pass, as a saved bundle will: same numbers, and no
    # graph retracing for every new batch shape. Keras serves only if numpy disagrees.
    from rnnforecast.numpy_model import NumpyNetwork, export_weights

    weights = export_weights(net)
    numpy_network = NumpyNetwork(weights, config)
    check_keras = np.asarray(network_module.predict(net, check_x))
    check = _numpy_check(check_keras, numpy_network.predict(check_x))
    if check["passed"]:
        network = numpy_network.predict
    else:  # pragma: no cover - only if the numpy pass ever disagrees with Keras

        def network(x: np.ndarray) -> np.ndarray:
            return np.asarray(network_module.predict(net, x))

    return _Trained(net, network, history, check, check_x, check_keras, weights)


def _calibration_forecasts(
    network: Network, part: Dataset, config: Config, scalers: Scalers
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw close forecasts ``(m, H)`` of ``part``'s windows to calibrate on, and for the
    distribution head the network's scale ``(m, H)`` of each step's log return (None for
    the point head: its widths follow the window's volatility)."""
    data = config.data
    if config.model.head == "distribution":
        mu, scale = distribution(network, part.base, data, scalers)
        return part.last_close[:, None] * np.exp(mu), scale
    return raw_forecast(network, part.base, data, scalers, data.horizon), None


def _fit(
    frame: pd.DataFrame,
    config: Config,
    split: Split,
    progress: Progress | None,
    warm_start: WarmStart | None = None,
) -> _Fitted:
    """Fit scalers on the split's training windows, train, then calibrate on validation.
    With ``warm_start``: its scored fit's scalers and weights, ``warm_start.epochs`` epochs
    (still early-stopped on validation)."""
    data = config.data
    dataset = build_dataset(frame, data)
    train_part, val_part = dataset.select(split.train), dataset.select(split.val)
    scalers = fit_scalers(train_part, data) if warm_start is None else warm_start.scored.scalers
    if warm_start is not None:
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, epochs=warm_start.epochs)
        )
    trained = _train_network(
        config,
        encode_inputs(train_part.features, scalers),
        scale_targets(train_part.targets, scalers, data),
        encode_inputs(val_part.features, scalers),
        scale_targets(val_part.targets, scalers, data),
        encode_inputs(dataset.select(split.test).features, scalers),
        progress,
        None if warm_start is None else warm_start.scored.weights,
    )
    val_raw, val_scale = _calibration_forecasts(trained.network, val_part, config, scalers)
    calibration = fit_calibration(
        val_raw,
        val_part.actual,
        val_part.base,
        data.window,
        config.calibration.interval_level,
        config.calibration.shrink,
        config.calibration.significance,
        adaptive_conformal.DEFAULT,
        scale=val_scale,
    )
    return _Fitted.of(trained, scalers, calibration, dataset)


def refit_epochs(best_epoch: int) -> int:
    """Epochs of the refit on every window: the scored fit's best epoch, unchanged.

    An epoch over all windows already makes proportionally more updates than one over the
    training windows (same batch size), so the same number of passes over the data gives
    the larger data set proportionally more steps; scaling the epochs up as well would
    compound the two. No early stopping: no window is left to stop on.
    """
    return max(int(best_epoch), 1)


def _refit(
    config: Config,
    scored: _Fitted,
    split: Split,
    progress: Progress | None,
    warm_start: WarmStart | None = None,
) -> _Fitted:
    """The recipe fitted again on every window up to the last bar: scalers on all windows,
    ``refit_epochs`` epochs without early stopping, the same seed. Its calibration is
    fitted on the scored fit's forecasts of the test period: the newest windows, out of
    sample for that network (early stopping and the first calibration used validation).
    With ``warm_start``: from its served fit's weights and scalers, ``warm_start.epochs``
    epochs. Raises DataError if the test period has too few windows for the interval level."""
    data = config.data
    dataset = scored.dataset
    test_part = dataset.select(split.test)
    test_raw, test_scale = _calibration_forecasts(scored.network, test_part, config, scored.scalers)
    calibration = fit_calibration(
        test_raw,
        test_part.actual,
        test_part.base,
        data.window,
        config.calibration.interval_level,
        config.calibration.shrink,
        config.calibration.significance,
        adaptive_conformal.DEFAULT,
        scale=test_scale,
    )
    scalers = fit_scalers(dataset, data) if warm_start is None else warm_start.served.scalers
    epochs = refit_epochs(scored.history.best_epoch) if warm_start is None else warm_start.epochs
    recipe = dataclasses.replace(
        config, train=dataclasses.replace(config.train, epochs=epochs, patience=0)
    )
    trained = _train_network(
        recipe,
        encode_inputs(dataset.features, scalers),
        scale_targets(dataset.targets, scalers, data),
        None,
        None,
        encode_inputs(test_part.features, scalers),
        progress,
        None if warm_start is None else warm_start.served.weights,
    )
    return _Fitted.of(trained, scalers, calibration, dataset)


def _day(value: np.datetime64) -> str:
    """YYYY-MM-DD of a datetime64."""
    return str(value.astype("datetime64[D]"))


def _naive_scale(frame: pd.DataFrame, rows: int) -> float | None:
    """In-sample one-step naive MAE of the closes of the first ``rows`` rows (the training
    part): the denominator of MASE. None for fewer than 2 rows."""
    closes = frame["close"].to_numpy(dtype=np.float64)[:rows]
    return metrics.naive_scale(closes) if len(closes) >= 2 else None


def _width_factors(
    network: Network, dataset: Dataset, config: Config, scalers: Scalers, cal: Calibration
) -> np.ndarray:
    """Adaptive width factors ``(m,)`` for every window of ``dataset`` (consecutive windows
    of one frame): window ``j``'s factor uses the one-step errors of windows before it only,
    as predict would have on its last day."""
    if cal.adaptive is None:
        return np.ones(len(dataset))
    scores = one_step_scores(network, dataset.base, dataset.actual[:, 0], config.data, scalers, cal)
    return adaptive_factors(scores, cal)[:-1]


def _assess(
    network: Network,
    part: Dataset,
    config: Config,
    scalers: Scalers,
    calibration: Calibration,
    scale: float | None = None,
    width_factor: np.ndarray | float = 1.0,
) -> Report:
    """Calibrated forecasts for the windows of ``part``, scored next to naive and drift;
    ``scale``: the in-sample naive MAE that MASE divides by; interval widths times
    ``width_factor`` (scalar or ``(m,)``)."""
    data = config.data
    result = forecast(network, part.base, data, scalers, calibration, data.horizon, width_factor)
    return report(
        part.actual,
        result.point,
        result.raw,
        result.low,
        result.high,
        part.last_close,
        part.drift,
        calibration.level,
        scale,
    )


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
    check_batches(split.sizes(), config.train.batch_size)
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


def _numpy_check(keras_out: np.ndarray, numpy_out: np.ndarray) -> dict[str, Any]:
    """Compare the numpy forward pass with Keras on the same held-out windows: both
    ``(m, outputs)`` in scaled units; the manifest records the result."""
    diff = float(np.max(np.abs(keras_out.astype(np.float64) - numpy_out)))
    return {
        "windows": len(keras_out),
        "max_abs_diff": diff,
        "tolerance": NUMPY_TOLERANCE,
        "passed": diff <= NUMPY_TOLERANCE,
    }


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


# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationResult:
    ticker: str
    run_id: str
    test: dict[str, Any]
    report: Report
    folds: list[dict[str, Any]] | None = None
    warnings: list[str] = field(default_factory=list)
    # One-day-ahead forecasts per test day (walk-forward folds' days with ``folds``).
    days: DailyForecasts | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    risk: RiskReport | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ticker": self.ticker,
            "run_id": self.run_id,
            # which of the bundle's fits the scores are of: always the scored one
            "fit": "scored",
            "trained_through": self.fit.get("trained_through"),
            "calibrated_through": self.fit.get("calibrated_through"),
            "test": self.test,
            **self.report.to_dict(),
            "risk": None if self.risk is None else self.risk.to_dict(),
            "warnings": self.warnings,
        }
        if self.folds is not None:
            out["folds"] = self.folds
            out["aggregate"] = _aggregate(self.folds)
        return out


_RATIOS = ("rel_mae", "mase")
"""Fold metrics that are ratios: aggregated by geometric mean, since a ratio of 0.5 and one
of 2 are equally far from 1 and their arithmetic mean (1.25) says the model is worse."""


def _aggregate(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Every fold metric over the folds (those a fold could not compute are left out):
    ratios by geometric mean and geometric standard deviation (``exp`` of the standard
    deviation of the logs), the rest by mean and standard deviation; and how many folds
    beat naive. A statistic that cannot be computed (no values, a ratio of 0 or inf) is
    None."""
    out: dict[str, Any] = {"folds": len(folds), "beats_naive": sum(f["beats_naive"] for f in folds)}
    for side in ("model", "naive"):
        out[side] = {}
        for name in folds[0][side]:
            values = np.array([f[side][name] for f in folds if f[side][name] is not None])
            if name in _RATIOS:
                finite = len(values) > 0 and bool(np.all((values > 0) & np.isfinite(values)))
                logs = np.log(values) if finite else None
                out[side][name] = {
                    "geometric_mean": float(np.exp(logs.mean())) if logs is not None else None,
                    "geometric_std": float(np.exp(logs.std())) if logs is not None else None,
                }
            else:
                out[side][name] = {
                    "mean": float(np.mean(values)) if len(values) else None,
                    "std": float(np.std(values)) if len(values) else None,
                }
    return out


def evaluate(
    home: Home,
    ticker: str,
    run_id: str | None = None,
    *,
    folds: int = 0,
    progress: Progress | None = None,
    plot: Path | None = None,
) -> EvaluationResult:
    """Score a saved model on its own held-out test period, next to naive and drift forecasts.

    The scores are those of the bundle's scored fit (trained before the test period; see
    :mod:`rnnforecast.fits`), never of a refit that has seen the test period. The test
    period is the one recorded in the manifest, taken from the bars stored now.
    With ``folds`` > 0, also a walk-forward backtest: the model's recipe is re-trained on
    expanding windows and tested on ``folds`` consecutive periods covering the test period
    (scalers and calibration refitted inside each fold). ``plot`` writes a PNG of the test
    period. Raises ModelError (no or bad bundle), DataError (test period no longer stored).
    """
    loaded = serving.load(home, ticker, run_id)
    manifest, config = loaded.bundle.manifest, loaded.config
    frame = home.store.read(manifest["ticker"])
    test = manifest["data"]["test"]
    scored = _scored_fit(loaded)
    scale_rows = frame.loc[: manifest["data"]["scaler_rows"]["end"]]
    scale = _naive_scale(scale_rows, len(scale_rows))
    part, rep, factors = _assess_period(
        loaded,
        frame,
        scored.network,
        test["start"],
        test["end"],
        scalers=scored.scalers,
        calibration=scored.calibration,
        scale=scale,
    )
    warnings = []
    risk_report = None
    try:
        risk_report = _risk_report(loaded, frame, scored)
    except (ValueError, DataError) as exc:
        warnings.append(f"no distribution scores next to the baselines: {exc}")
    trained = frame.loc[manifest["data"]["first"] : manifest["data"]["last"]]
    if fingerprint(trained) != manifest["data"]["fingerprint"]:
        warnings.append(
            "the stored bars of the training period changed since this model was trained "
            "(re-fetched or replaced): scores are on the bars stored now"
        )
    days = _daily(scored.network, part, config, scored.scalers, scored.calibration, factors)
    fold_results = None
    fold_days: list[DailyForecasts] = []
    if folds:
        trained_frame = frame.loc[: manifest["data"]["last"]]
        fold_results = walk_forward(trained_frame, config, folds, progress, days=fold_days)
    if plot is not None:
        from rnnforecast import plots

        plots.save_png(period_figure(loaded, days), plot)
    return EvaluationResult(
        manifest["ticker"],
        manifest["run_id"],
        _period(part.target_dates[:, 0]),
        rep,
        fold_results,
        warnings,
        days=DailyForecasts.concat(fold_days) if folds else days,
        fit=fits.scored_dates(manifest),
        risk=risk_report,
    )


def _risk_report(loaded: serving.Loaded, frame: pd.DataFrame, scored: _Model) -> RiskReport:
    """Distribution scores of the bundle's test period, forecast by its scored fit, next to
    the volatility baselines (:mod:`rnnforecast.riskreport`), on the validation and test
    periods of its manifest."""
    from rnnforecast import riskreport

    data = loaded.config.data
    dataset = build_dataset(frame, data)
    first_target = dataset.target_dates[:, 0]
    periods = loaded.bundle.manifest["data"]

    def within(period: dict[str, Any]) -> np.ndarray:
        start, end = np.datetime64(period["start"]), np.datetime64(period["end"])
        return np.asarray((first_target >= start) & (first_target <= end))

    return riskreport.assess(
        scored.network,
        dataset,
        base_matrix(frame),
        data,
        scored.scalers,
        scored.calibration,
        within(periods["validation"]),
        within(periods["test"]),
    )


def _daily(
    network: Network,
    part: Dataset,
    config: Config,
    scalers: Scalers,
    calibration: Calibration,
    width_factor: np.ndarray | float = 1.0,
) -> DailyForecasts:
    """One-day-ahead forecasts for the windows of ``part``, with actual and naive closes;
    interval widths times ``width_factor`` (the adaptive factors, as scored)."""
    result = forecast(network, part.base, config.data, scalers, calibration, 1, width_factor)
    return DailyForecasts(
        dates=part.target_dates[:, 0].astype("datetime64[D]"),
        actual=part.actual[:, 0],
        naive=part.last_close,
        point=result.point[:, 0],
        low=result.low[:, 0],
        high=result.high[:, 0],
        raw=result.raw[:, 0],
    )


def period_figure(loaded: serving.Loaded, days: DailyForecasts) -> Any:
    """The test-period picture (a matplotlib Figure) of a bundle's one-day-ahead ``days``
    (forecast by its scored fit, whose calibration the title reports)."""
    from rnnforecast import plots

    manifest = loaded.bundle.manifest
    calibration = _scored_calibration(loaded)
    return plots.test_period_figure(
        manifest["ticker"],
        days.dates,
        days.actual,
        days.point,
        days.low,
        days.high,
        days.naive,
        manifest["training"],
        calibration.level,
        calibration.shrink[0],
    )


@dataclass(frozen=True)
class _Model:
    """A network with the scalers and calibration its forecasts need."""

    network: Network
    scalers: Scalers
    calibration: Calibration


def _scored_fit(loaded: serving.Loaded) -> _Model:
    """The bundle's scored fit: its own network when it serves it (no refit, or a bundle
    saved before refit existed), else ``scored_weights.npz`` with the scalers and
    calibration the manifest records for it. Raises ModelError if those are unreadable."""
    record = fits.scored_record(loaded.bundle.manifest)
    if record is None:
        return _Model(serving.network(loaded), loaded.bundle.scalers, loaded.calibration)
    from rnnforecast.numpy_model import NumpyNetwork, load_weights

    path = loaded.bundle.path / str(record["weights"])
    scalers = Scalers.from_dict(record.get("scalers", {}))
    calibration = _scored_calibration(loaded)
    try:
        weights = load_weights(path)
        weights.pop(serving.INPUT_SHAPE_KEY, None)
        network = NumpyNetwork(weights, loaded.config).predict
    except ModelError as exc:
        message = str(exc)
        raise ModelError(message if str(path) in message else f"{path}: {message}") from None
    return _Model(network, scalers, calibration)


def _scored_calibration(loaded: serving.Loaded) -> Calibration:
    """The calibration of the bundle's scored fit (its own when it serves that fit)."""
    record = fits.scored_record(loaded.bundle.manifest)
    if record is None:
        return loaded.calibration
    return Calibration.from_dict(record.get("calibration", {}))


def _served_fit(loaded: serving.Loaded) -> _Model:
    """The network the bundle serves, as ``predict`` runs it."""
    return _Model(serving.network(loaded), loaded.bundle.scalers, loaded.calibration)


def _select_period(
    loaded: serving.Loaded, frame: pd.DataFrame, start: str, end: str, after: str | None = None
) -> Dataset:
    """The windows (of the bundle's recipe) whose first target falls in [start, end] and,
    with ``after``, after that day; possibly none."""
    dataset = build_dataset(frame, loaded.config.data)
    first_target = pd.DatetimeIndex(dataset.target_dates[:, 0])
    mask = (first_target >= pd.Timestamp(start)) & (first_target <= pd.Timestamp(end))
    if after is not None:
        mask &= first_target > pd.Timestamp(after)
    return dataset.select(np.asarray(mask))


def _assess_period(
    loaded: serving.Loaded,
    frame: pd.DataFrame,
    network: Network,
    start: str,
    end: str,
    *,
    scalers: Scalers | None = None,
    calibration: Calibration | None = None,
    scale: float | None = None,
) -> tuple[Dataset, Report, np.ndarray]:
    """The bundle's forecasts for the windows whose first target falls in [start, end]
    (with ``scalers`` and ``calibration``, default the bundle's served ones): the windows,
    their report, and their adaptive interval width factors ``(m,)``.

    Raises DataError if the stored bars no longer cover that period.
    """
    part = _select_period(loaded, frame, start, end)
    if not len(part):
        manifest = loaded.bundle.manifest
        raise DataError(
            f"the stored bars of {manifest['ticker']} no longer cover the period {start} to "
            f"{end} (run {manifest['run_id']})"
        )
    scalers = scalers or loaded.bundle.scalers
    calibration = calibration or loaded.calibration
    # Adaptive widths of a day depend on the days before it: score the whole stored history.
    dataset = build_dataset(frame, loaded.config.data)
    first = int(np.searchsorted(dataset.target_dates[:, 0], part.target_dates[0, 0]))
    factors = _width_factors(network, dataset, loaded.config, scalers, calibration)
    factors = factors[first : first + len(part)]
    rep = _assess(network, part, loaded.config, scalers, calibration, scale, factors)
    return part, rep, factors


def walk_forward(
    frame: pd.DataFrame,
    config: Config,
    folds: int,
    progress: Progress | None = None,
    *,
    days: list[DailyForecasts] | None = None,
) -> list[dict[str, Any]]:
    """Re-train ``config`` on expanding windows and test on ``folds`` consecutive periods.

    Returns one dict per fold: ``test`` period, ``model`` and ``naive`` metrics,
    ``beats_naive``, the fold's ``shrink``; each fold's one-day-ahead forecasts are
    appended to ``days`` when given. Raises DataError if the frame is too short or a fold's
    part holds fewer windows than one batch.
    """
    splits = Split.folds(len(frame), config.data, folds)
    sizes = [split.sizes() for split in splits]
    fits_all = min(min(part.values()) for part in sizes)
    for number, part in enumerate(sizes, start=1):  # every fold, before any training
        where = f"fold {number} of {folds}: "
        check_batches(part, config.train.batch_size, where, fits_all)
    results = []
    for split in splits:
        fitted = _fit(frame, config, split, progress)
        part = fitted.dataset.select(split.test)
        scale = _naive_scale(frame, split.scaler_rows)
        factors = _width_factors(
            fitted.network, fitted.dataset, config, fitted.scalers, fitted.calibration
        )[split.test]
        rep = _assess(
            fitted.network, part, config, fitted.scalers, fitted.calibration, scale, factors
        )
        if days is not None:
            days.append(
                _daily(fitted.network, part, config, fitted.scalers, fitted.calibration, factors)
            )
        results.append(
            {
                "test": _period(part.target_dates[:, 0]),
                "train": _period(fitted.dataset.target_dates[split.train, 0]),
                "model": rep.scores.model,
                "naive": rep.scores.naive,
                "beats_naive": rep.beats_naive,
                "shrink": list(fitted.calibration.shrink),
                "interval_coverage": rep.intervals["coverage"],
                "scalers": fitted.scalers.to_dict(),  # fitted on this fold's training windows
            }
        )
    return results


# --- run: the nightly job ------------------------------------------------------------------


@dataclass(frozen=True)
class TickerOutcome:
    """What ``run`` did for one ticker. ``error`` is ``{"code", "message"}`` if it failed."""

    ticker: str
    rows_added: int | None = None
    run_id: str | None = None
    metrics: dict[str, Any] | None = None
    beats_naive: bool | None = None
    promoted: bool = False
    reason: str = ""
    deleted: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    serving: dict[str, Any] | None = None
    # the manifest's warm_start record, or None with why the challenger trained from scratch
    warm_start: dict[str, Any] | None = None
    from_scratch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "rows_added": self.rows_added,
            "run_id": self.run_id,
            "metrics": self.metrics,
            "beats_naive": self.beats_naive,
            "promoted": self.promoted,
            "reason": self.reason,
            "deleted": self.deleted,
            "error": self.error,
            "serving": self.serving,
            "warm_start": self.warm_start,
            "from_scratch": self.from_scratch,
        }


def run(
    home: Home,
    config: Config,
    plan: RunConfig,
    *,
    progress: Progress | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
    clock: calendars.Clock = calendars.system_clock,
    warm_epochs: int | None = None,
) -> list[TickerOutcome]:
    """The nightly job: for each ticker, fetch new bars, train a challenger (refitted on
    every bar unless ``plan.refit`` is off), and make it current by the rule of
    :mod:`rnnforecast.promotion`: compared with the current model on the days that model
    never saw, a challenger of the same recipe is promoted unless significantly worse, one
    of a changed recipe only if it wins.

    One ticker failing does not stop the others: its outcome carries the error. Every ticker
    is fetched before any is trained, so that no download runs after TensorFlow is loaded
    (Yahoo downloads also run in a child process: see rnnforecast.yahoo). Each ticker is
    locked while it is fetched, and again from training to promotion. Old runs beyond
    ``plan.keep`` are deleted. Raises UsageError before any work if a ticker names an
    unknown calendar. With ``plan.warm_start`` a challenger of the current model's recipe
    is that model fine-tuned (:mod:`rnnforecast.warm`; ``warm_epochs`` overrides its epoch
    budget).
    """
    for job in plan.tickers:
        if job.calendar is not None:
            calendars.check_code(job.calendar)
    outcomes: dict[int, TickerOutcome] = {}
    fetched: dict[int, tuple[str, StoreResult]] = {}
    for i, job in enumerate(plan.tickers):
        try:
            symbol = sources.check_ticker(job.ticker)
            options = SourceOptions(
                kind=job.source,
                csv=job.path,
                auto_adjust=plan.auto_adjust,
                calendar=calendars.check_code(job.calendar) if job.calendar is not None else None,
                date_format=job.date_format,
                clock=clock,
            )
            with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
                fetched[i] = (symbol, _fetch_ticker(home, symbol, options))
        except Exception as exc:  # noqa: BLE001 - ours and outside faults; _error re-raises bugs
            outcomes[i] = TickerOutcome(job.ticker, error=_error(exc))
    if plan.global_model:  # one network over every fetched ticker
        from rnnforecast import pooling

        order = sorted(fetched)
        grouped = pooling.run_group(
            home, config, plan, [fetched[i] for i in order], progress, lock_timeout
        )
        outcomes.update(zip(order, grouped, strict=True))
        return [outcomes[i] for i in range(len(plan.tickers))]
    for i, (symbol, stored) in fetched.items():
        try:
            with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
                outcomes[i] = _run_ticker(home, config, plan, symbol, stored, progress, warm_epochs)
        except Exception as exc:  # noqa: BLE001 - ours and outside faults; _error re-raises bugs
            outcomes[i] = TickerOutcome(plan.tickers[i].ticker, error=_error(exc))
    return [outcomes[i] for i in range(len(plan.tickers))]


def _error(exc: Exception) -> dict[str, Any]:
    """A ticker's failure as ``{"code", "message"}``: our errors and outside faults
    (:func:`rnnforecast.faults.translate`); anything else is a bug and is raised again."""
    known = translate(exc)
    if known is None:
        raise exc
    return {"code": known.exit_code, "message": str(known)}


def _run_ticker(
    home: Home,
    config: Config,
    plan: RunConfig,
    symbol: str,
    stored: StoreResult,
    progress: Progress | None,
    warm_epochs: int | None = None,
) -> TickerOutcome:
    champion_id = home.models.current(symbol)
    warm_start, from_scratch = None, "warm start is off"
    if plan.warm_start:
        from rnnforecast import warm

        warm_start, from_scratch = warm.plan(home, symbol, champion_id, config, warm_epochs)
    challenger = _train_ticker(
        home, symbol, config, progress, promote=False, refit=plan.refit, warm_start=warm_start
    )
    period = challenger.test
    mine = challenger.report.steps[0]["model"]["mae"]
    metrics = {"test": period, **challenger.report.scores.to_dict()}
    where = f"on {period['start']} to {period['end']} ({period['n']} days)"
    promote, reason = True, f"no current model; one-day MAE {mine:.4f} {where}"
    if champion_id is not None:
        try:
            champion = serving.load(home, symbol, champion_id)
            frame = home.store.read(symbol)
            champion_loss, challenger_loss = _unseen_losses(
                home, symbol, challenger.run_id, champion, frame, period
            )
        except (ModelError, DataError) as exc:
            reason = f"current model {champion_id} cannot be scored ({exc}); replaced"
        else:
            verdict = promotion.decide(
                champion.config == config, challenger_loss, champion_loss, champion_id
            )
            promote, reason = verdict.promote, verdict.reason
    if promote:
        home.models.set_current(symbol, challenger.run_id)
    deleted = home.models.prune(symbol, plan.keep)
    return TickerOutcome(
        symbol,
        stored.added,
        challenger.run_id,
        metrics,
        challenger.report.beats_naive,
        promote,
        reason,
        deleted,
        serving=challenger.serving,
        warm_start=None if warm_start is None else warm_start.record(),
        from_scratch=None if warm_start is not None else from_scratch,
    )


def _unseen_losses(
    home: Home,
    symbol: str,
    challenger_id: str,
    champion: serving.Loaded,
    frame: pd.DataFrame,
    period: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """One-day absolute errors ``(n,)`` of the current model (as served) and of the
    challenger's scored fit (out of sample there) on the days of the challenger's test
    period that the current model never saw, matched by day. Raises ModelError or
    DataError if a bundle cannot be loaded or run."""
    after = fits.seen_through(champion.bundle.manifest)
    challenger = serving.load(home, symbol, challenger_id)
    losses: list[dict[Any, float]] = []
    for loaded, model in ((champion, _served_fit(champion)), (challenger, _scored_fit(challenger))):
        part = _select_period(loaded, frame, period["start"], period["end"], after)
        if not len(part):
            losses.append({})
            continue
        result: Forecasts = forecast(
            model.network, part.base, loaded.config.data, model.scalers, model.calibration, 1
        )
        errors = np.abs(part.actual[:, 0] - result.point[:, 0])
        losses.append(dict(zip(part.target_dates[:, 0].tolist(), errors.tolist(), strict=True)))
    days = sorted(set(losses[0]) & set(losses[1]))
    return (
        np.array([losses[0][d] for d in days], dtype=np.float64),
        np.array([losses[1][d] for d in days], dtype=np.float64),
    )


# --- models --------------------------------------------------------------------------------


def models(home: Home, ticker: str) -> dict[str, Any]:
    """The runs on disk for ``ticker``, oldest first, with their test scores and which one
    is current. A run whose bundle does not load is listed with its ``error``."""
    symbol = sources.check_ticker(ticker)
    repository = home.models
    current = repository.current(symbol)
    runs = []
    for run_id in repository.runs(symbol):
        entry: dict[str, Any] = {"run_id": run_id, "current": run_id == current}
        try:
            manifest = repository.load(symbol, run_id).manifest
        except ModelError as exc:
            entry["error"] = str(exc)
        else:
            test = manifest.get("metrics", {}).get("test", {})
            cfg = manifest["config"]
            entry.update(
                {
                    "created_at": manifest.get("created_at"),
                    "recipe": {
                        "cell": cfg["model"]["cell"],
                        "target": cfg["data"]["target"],
                        "normalise": cfg["data"]["normalise"],
                        "window": cfg["data"]["window"],
                        "horizon": cfg["data"]["horizon"],
                    },
                    "data": {"first": manifest["data"]["first"], "last": manifest["data"]["last"]},
                    "test": manifest["data"]["test"],
                    "serving": fits.serving_record(manifest),
                    "warm_start": manifest.get("warm_start"),
                    "model": fits.model_metrics(test.get("model")),
                    "naive": test.get("naive"),
                    "beats_naive": test.get("beats_naive"),
                }
            )
        runs.append(entry)
    out: dict[str, Any] = {"ticker": symbol, "current": current, "runs": runs}
    group = repository.group_of(symbol)
    if group is not None:  # a global model serves the ticker (see rnnforecast.pooling)
        out["served_by"] = {"group": group, "run_id": repository.current(group)}
    return out
