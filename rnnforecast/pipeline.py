"""The jobs: fetch, train, evaluate, predict. Config in, result dataclasses out.

Nothing here prints, exits or reads the environment. TensorFlow is imported only inside the
functions that train a network or load one without numpy weights (``rnnforecast.model``,
``rnnforecast.training``); forecasts from a saved bundle run on the numpy forward pass.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast import __version__, locks, serving, sources
from rnnforecast.artifacts import LOG_FILE, SCHEMA_VERSION, WEIGHTS_FILE, new_run_id
from rnnforecast.config import Config, RunConfig, TickerJob
from rnnforecast.errors import DataError, ModelError, RnnForecastError, UsageError
from rnnforecast.evaluation import Report, report
from rnnforecast.forecaster import (
    Calibration,
    Network,
    distribution,
    fit_calibration,
    forecast,
    raw_forecast,
)
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.windows import (
    Dataset,
    Scalers,
    Split,
    build_dataset,
    encode_inputs,
    fingerprint,
    fit_scalers,
    scale_targets,
)

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.training import Progress

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
    today: dt.date | None = None


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
    today: dt.date | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> list[StoreResult]:
    """Store daily bars for each ticker; one transaction per ticker.

    Sources: ``csv`` (one ticker), ``sample`` (the bundled GOOG prices; ticker defaults to
    GOOG), else Yahoo. For Yahoo without ``start``, a ticker already stored is fetched from
    a week before its last stored bar (the overlap catches late corrections; rows already
    stored are kept); ``retries`` and ``timeout`` (seconds per request) bound the wait. Each
    ticker is locked while it is fetched and written. Raises UsageError, DataError,
    SourceError or LockError; tickers before the failing one stay stored.
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
    options = SourceOptions(
        kind="csv" if csv is not None else "sample" if sample else "yahoo",
        csv=csv,
        start=start,
        end=end,
        auto_adjust=auto_adjust,
        replace=replace,
        retries=retries,
        timeout=timeout,
        today=today,
    )
    results = []
    for symbol in symbols:
        with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
            results.append(_fetch_ticker(home, symbol, options))
    return results


def _fetch_ticker(home: Home, symbol: str, options: SourceOptions) -> StoreResult:
    """Read one ticker's bars from its source and store them (the caller holds its lock)."""
    if options.kind == "csv":
        assert options.csv is not None
        bars = _clip(sources.read_csv(options.csv), options.start, options.end)
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
            today=options.today,
        )
    return home.store.write(symbol, bars, replace=options.replace)


def _clip(bars: sources.Bars, start: dt.date | None, end: dt.date | None) -> sources.Bars:
    frame = bars.frame
    if start:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end:
        frame = frame[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise DataError(f"no bars between {start or 'the start'} and {end or 'the end'}")
    return sources.Bars(frame, bars.source, bars.auto_adjust)


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


def _fit(frame: pd.DataFrame, config: Config, split: Split, progress: Progress | None) -> _Fitted:
    """Fit scalers on the split's training windows, train, then calibrate on validation."""
    from rnnforecast import model as network_module
    from rnnforecast import training

    data = config.data
    dataset = build_dataset(frame, data)
    train_part, val_part = dataset.select(split.train), dataset.select(split.val)
    scalers = fit_scalers(train_part, data)
    training.seed_everything(config.train.seed)
    y_train = scale_targets(train_part.targets, scalers, data)
    moments = (float(y_train.mean()), float(y_train.std()))
    net = network_module.build_model(config, n_features=len(data.features), target_moments=moments)
    history = training.fit(
        net,
        encode_inputs(train_part.features, scalers),
        y_train,
        encode_inputs(val_part.features, scalers),
        scale_targets(val_part.targets, scalers, data),
        config.train,
        progress,
    )

    # Forecasts use the numpy forward pass, as a saved bundle will: same numbers, and no
    # graph retracing for every new batch shape. Keras serves only if numpy disagrees.
    from rnnforecast.numpy_model import NumpyNetwork, export_weights

    weights = export_weights(net)
    numpy_network = NumpyNetwork(weights, config)
    test_x = encode_inputs(dataset.select(split.test).features, scalers)
    test_keras = np.asarray(network_module.predict(net, test_x))
    check = _numpy_check(test_keras, numpy_network.predict(test_x))
    if check["passed"]:
        network = numpy_network.predict
    else:  # pragma: no cover - only if the numpy pass ever disagrees with Keras

        def network(x: np.ndarray) -> np.ndarray:
            return np.asarray(network_module.predict(net, x))

    val_scale = None
    if config.model.head == "distribution":
        val_mu, val_scale = distribution(network, val_part.base, data, scalers)
        val_raw = val_part.last_close[:, None] * np.exp(val_mu)
    else:
        val_raw = raw_forecast(network, val_part.base, data, scalers, data.horizon)
    calibration = fit_calibration(
        val_raw,
        val_part.actual,
        val_part.base,
        data.window,
        config.calibration.interval_level,
        config.calibration.shrink,
        config.calibration.significance,
        scale=val_scale,
    )
    return _Fitted(
        net, network, scalers, calibration, history, dataset, check, test_x, test_keras, weights
    )


def _assess(
    network: Network, part: Dataset, config: Config, scalers: Scalers, calibration: Calibration
) -> Report:
    """Calibrated forecasts for the windows of ``part``, scored next to naive and drift."""
    data = config.data
    result = forecast(network, part.base, data, scalers, calibration, data.horizon)
    return report(
        part.actual,
        result.point,
        result.raw,
        result.low,
        result.high,
        part.last_close,
        part.drift,
        calibration.level,
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "path": str(self.path),
            "epochs_run": self.history["epochs_run"],
            "best_epoch": self.history["best_epoch"],
            "stopped_early": self.history["stopped_early"],
            "train_seconds": self.history["seconds"],
            "test": self.test,
            **self.report.to_dict(),
            "calibration": self.calibration,
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
        f"test mase {rep.scores.model['mase']:.4f} (uncalibrated {rep.raw['mase']:.4f})"
    )
    return "\n".join(lines) + "\n"


def train(
    home: Home,
    ticker: str,
    config: Config,
    *,
    progress: Progress | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> TrainResult:
    """Train a network on the stored bars of ``ticker`` and save it as the current bundle.

    Scalers are fitted on training windows only; shrinkage and intervals are calibrated on
    the validation windows; the test period (last ``test_fraction`` of windows) is scored
    next to the naive forecast and the scores go into the manifest. The ticker is locked
    for the whole run. Raises UsageError (bad ticker), DataError (no or too little data),
    LockError.
    """
    symbol = sources.check_ticker(ticker)
    with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
        return _train_ticker(home, symbol, config, progress, promote=True)


def _train_ticker(
    home: Home, symbol: str, config: Config, progress: Progress | None, promote: bool
) -> TrainResult:
    """Train and save one bundle (the caller holds the ticker's lock); ``promote`` makes it
    the current model."""
    started = time.perf_counter()
    frame = home.store.read(symbol)
    info = home.store.info(symbol)
    data = config.data
    split = Split.plan(len(frame), data)
    fitted = _fit(frame, config, split, progress)
    test_part = fitted.dataset.select(split.test)
    rep = _assess(fitted.network, test_part, config, fitted.scalers, fitted.calibration)
    test_period = _period(test_part.target_dates[:, 0])
    run_id = new_run_id()
    numpy_check = fitted.numpy_check
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
        "calibration": fitted.calibration.to_dict(),
        "numpy_check": numpy_check,
        "metrics": {"test": {"n": rep.n, **rep.to_dict()}},
        "versions": _library_versions(),
    }
    log = _training_log(symbol, run_id, config, fitted, rep)

    def write_files(path: Path) -> None:
        _write_bundle_files(path, fitted, numpy_check["passed"], log)

    manifest["timings"] = {
        "fit_seconds": round(fitted.history.seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    path = home.models.save(symbol, run_id, write_files, fitted.scalers, manifest, promote=promote)
    return TrainResult(
        symbol,
        run_id,
        path,
        test_period,
        rep,
        fitted.history.to_dict(),
        fitted.calibration.to_dict(),
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
    from rnnforecast.numpy_model import save_weights

    fitted.net.save(model_path)
    again = network_module.predict(network_module.load_model(model_path), fitted.test_x)
    if not np.array_equal(again, fitted.test_keras):
        raise ModelError(f"{model_path}: reloaded model predicts differently; not saved")
    if numpy:
        weights = dict(fitted.weights)
        weights[serving.INPUT_SHAPE_KEY] = np.array(fitted.net.input_shape[1:], dtype=np.int64)
        save_weights(model_path.parent / WEIGHTS_FILE, weights)
    (model_path.parent / LOG_FILE).write_text(log, encoding="utf-8")


# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationResult:
    ticker: str
    run_id: str
    test: dict[str, Any]
    report: Report
    folds: list[dict[str, Any]] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "test": self.test,
            **self.report.to_dict(),
            "warnings": self.warnings,
        }
        if self.folds is not None:
            out["folds"] = self.folds
            out["aggregate"] = _aggregate(self.folds)
        return out


def _aggregate(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation of every fold metric, and how many folds beat naive."""
    out: dict[str, Any] = {"folds": len(folds), "beats_naive": sum(f["beats_naive"] for f in folds)}
    for side in ("model", "naive"):
        out[side] = {
            name: {
                "mean": float(np.mean([f[side][name] for f in folds])),
                "std": float(np.std([f[side][name] for f in folds])),
            }
            for name in folds[0][side]
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

    The test period is the one recorded in the manifest, taken from the bars stored now.
    With ``folds`` > 0, also a walk-forward backtest: the model's recipe is re-trained on
    expanding windows and tested on ``folds`` consecutive periods covering the test period
    (scalers and calibration refitted inside each fold). ``plot`` writes a PNG of the test
    period. Raises ModelError (no or bad bundle), DataError (test period no longer stored).
    """
    loaded = serving.load(home, ticker, run_id)
    manifest, config = loaded.bundle.manifest, loaded.config
    frame = home.store.read(manifest["ticker"])
    test = manifest["data"]["test"]
    network = serving.network(loaded)
    part, rep = _assess_period(loaded, frame, network, test["start"], test["end"])
    warnings = []
    trained = frame.loc[manifest["data"]["first"] : manifest["data"]["last"]]
    if fingerprint(trained) != manifest["data"]["fingerprint"]:
        warnings.append(
            "the stored bars of the training period changed since this model was trained "
            "(re-fetched or replaced): scores are on the bars stored now"
        )
    fold_results = None
    if folds:
        trained_frame = frame.loc[: manifest["data"]["last"]]
        fold_results = walk_forward(trained_frame, config, folds, progress)
    if plot is not None:
        from rnnforecast import plots

        result = forecast(
            network, part.base, config.data, loaded.bundle.scalers, loaded.calibration, 1
        )
        plots.test_period(
            plot,
            manifest["ticker"],
            part.target_dates[:, 0],
            part.actual[:, 0],
            result.point[:, 0],
            result.low[:, 0],
            result.high[:, 0],
            part.last_close,
            manifest["training"],
            loaded.calibration.level,
            loaded.calibration.shrink[0],
        )
    return EvaluationResult(
        manifest["ticker"],
        manifest["run_id"],
        _period(part.target_dates[:, 0]),
        rep,
        fold_results,
        warnings,
    )


def _assess_period(
    loaded: serving.Loaded, frame: pd.DataFrame, network: Network, start: str, end: str
) -> tuple[Dataset, Report]:
    """The bundle's forecasts for the windows whose first target falls in [start, end].

    Raises DataError if the stored bars no longer cover that period.
    """
    dataset = build_dataset(frame, loaded.config.data)
    first_target = pd.DatetimeIndex(dataset.target_dates[:, 0])
    mask = np.asarray((first_target >= pd.Timestamp(start)) & (first_target <= pd.Timestamp(end)))
    if not mask.any():
        manifest = loaded.bundle.manifest
        raise DataError(
            f"the stored bars of {manifest['ticker']} no longer cover the period {start} to "
            f"{end} (run {manifest['run_id']})"
        )
    part = dataset.select(mask)
    rep = _assess(network, part, loaded.config, loaded.bundle.scalers, loaded.calibration)
    return part, rep


def walk_forward(
    frame: pd.DataFrame, config: Config, folds: int, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Re-train ``config`` on expanding windows and test on ``folds`` consecutive periods.

    Returns one dict per fold: ``test`` period, ``model`` and ``naive`` metrics,
    ``beats_naive``, the fold's ``shrink``. Raises DataError if the frame is too short.
    """
    results = []
    for split in Split.folds(len(frame), config.data, folds):
        fitted = _fit(frame, config, split, progress)
        part = fitted.dataset.select(split.test)
        rep = _assess(fitted.network, part, config, fitted.scalers, fitted.calibration)
        results.append(
            {
                "test": _period(part.target_dates[:, 0]),
                "train": _period(fitted.dataset.target_dates[split.train, 0]),
                "model": rep.scores.model,
                "naive": rep.scores.naive,
                "beats_naive": rep.beats_naive,
                "shrink": list(fitted.calibration.shrink),
                "interval_coverage": rep.intervals["coverage"],
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
        }


def run(
    home: Home,
    config: Config,
    plan: RunConfig,
    *,
    progress: Progress | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
    today: dt.date | None = None,
) -> list[TickerOutcome]:
    """The nightly job: for each ticker, fetch new bars, train a challenger, score it on the
    newest held-out period, and make it current only if it beats the current model there.

    One ticker failing does not stop the others: its outcome carries the error. Each ticker
    is locked from fetch to promotion. Old runs beyond ``plan.keep`` are deleted.
    """
    outcomes = []
    for job in plan.tickers:
        try:
            symbol = sources.check_ticker(job.ticker)
            with locks.hold(home.locks, f"ticker-{symbol}", lock_timeout):
                outcomes.append(_run_ticker(home, config, plan, job, symbol, progress, today))
        except RnnForecastError as exc:
            outcomes.append(
                TickerOutcome(job.ticker, error={"code": exc.exit_code, "message": str(exc)})
            )
    return outcomes


def _run_ticker(
    home: Home,
    config: Config,
    plan: RunConfig,
    job: TickerJob,
    symbol: str,
    progress: Progress | None,
    today: dt.date | None,
) -> TickerOutcome:
    options = SourceOptions(
        kind=job.source, csv=job.path, auto_adjust=plan.auto_adjust, today=today
    )
    stored = _fetch_ticker(home, symbol, options)
    champion_id = home.models.current(symbol)
    challenger = _train_ticker(home, symbol, config, progress, promote=False)
    period = challenger.test
    mine = challenger.report.steps[0]["model"]["mae"]
    metrics = {"test": period, **challenger.report.scores.to_dict()}
    where = f"on {period['start']} to {period['end']} ({period['n']} days)"
    promote, reason = True, f"no current model; one-day MAE {mine:.4f} {where}"
    if champion_id is not None:
        try:
            loaded = serving.load(home, symbol, champion_id)
            frame = home.store.read(symbol)
            _, champion = _assess_period(
                loaded, frame, serving.network(loaded), period["start"], period["end"]
            )
            theirs = champion.steps[0]["model"]["mae"]
        except (ModelError, DataError) as exc:
            reason = f"current model {champion_id} cannot be scored ({exc}); replaced"
        else:
            promote = mine < theirs
            verdict = "beats" if promote else "does not beat"
            reason = (
                f"one-day MAE {mine:.4f} {verdict} the current model's {theirs:.4f} "
                f"({champion_id}) {where}"
            )
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
                    "model": test.get("model"),
                    "naive": test.get("naive"),
                    "beats_naive": test.get("beats_naive"),
                }
            )
        runs.append(entry)
    return {"ticker": symbol, "current": current, "runs": runs}
