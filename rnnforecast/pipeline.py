"""The four jobs: fetch, train, evaluate, predict. Config in, result dataclasses out.

Nothing here prints, exits or reads the environment. TensorFlow is imported only inside the
functions that train or load a network (``rnnforecast.model`` / ``rnnforecast.training``).
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast import __version__, sources
from rnnforecast.artifacts import SCHEMA_VERSION, Bundle, new_run_id
from rnnforecast.config import Config, config_from_dict
from rnnforecast.errors import DataError, ModelError, UsageError
from rnnforecast.evaluation import Scores, score
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.windows import (
    Split,
    build_dataset,
    fingerprint,
    fit_scalers,
    latest_window,
    to_prices,
)

Progress = Callable[[int, int, dict[str, float]], None]

# --- fetch ---------------------------------------------------------------------------------


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
) -> list[StoreResult]:
    """Store daily bars for each ticker; one transaction per ticker.

    Sources: ``csv`` (one ticker), ``sample`` (the bundled GOOG prices; ticker defaults to
    GOOG), else Yahoo. For Yahoo without ``start``, a ticker already stored is fetched from
    a week before its last stored bar (the overlap catches late corrections; rows already
    stored are kept); ``retries`` and ``timeout`` (seconds per request) bound the wait. Raises
    UsageError, DataError or SourceError; tickers before the failing one stay stored.
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
    store = home.store
    results = []
    for symbol in symbols:
        if csv is not None:
            bars = sources.read_csv(csv)
        elif sample:
            bars = sources.load_sample()
        else:
            since = start
            info = None if (start or replace) else store.info(symbol)
            if info is not None and info.source == "yahoo":
                since = dt.date.fromisoformat(info.last) - dt.timedelta(days=7)
            bars = sources.fetch_yahoo(
                symbol,
                since,
                end,
                auto_adjust=auto_adjust,
                retries=retries,
                timeout=timeout,
                today=today,
            )
        if csv is not None or sample:
            bars = _clip(bars, start, end)
        results.append(store.write(symbol, bars, replace=replace))
    return results


def _clip(bars: sources.Bars, start: dt.date | None, end: dt.date | None) -> sources.Bars:
    frame = bars.frame
    if start:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end:
        frame = frame[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise DataError(f"no bars between {start or 'the start'} and {end or 'the end'}")
    return sources.Bars(frame, bars.source, bars.auto_adjust)


# --- train ---------------------------------------------------------------------------------


def _period(dates: np.ndarray) -> dict[str, Any]:
    """First and last date (YYYY-MM-DD) and count of a datetime64 array."""
    days = pd.DatetimeIndex(dates)
    return {"start": str(days[0].date()), "end": str(days[-1].date()), "n": len(days)}


@dataclass(frozen=True)
class TrainResult:
    ticker: str
    run_id: str
    path: Path
    test: dict[str, Any]
    scores: Scores
    history: dict[str, Any]

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
            **self.scores.to_dict(),
        }


def _library_versions() -> dict[str, str]:
    from rnnforecast import model as network

    return {
        "rnnforecast": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        **network.versions(),
    }


def train(
    home: Home,
    ticker: str,
    config: Config,
    *,
    progress: Progress | None = None,
) -> TrainResult:
    """Train a network on the stored bars of ``ticker`` and save it as the current bundle.

    Scalers are fitted on training rows only; the test period (last ``test_fraction`` of
    windows) is scored next to the naive forecast and the scores go into the manifest.
    Raises UsageError (bad ticker), DataError (no or too little data).
    """
    started = time.perf_counter()
    symbol = sources.check_ticker(ticker)
    frame = home.store.read(symbol)
    info = home.store.info(symbol)
    data = config.data
    split = Split.plan(len(frame), data)
    scalers = fit_scalers(frame, data, split)
    dataset = build_dataset(frame, data, scalers)
    train_part, val_part, test_part = (
        dataset.select(split.train),
        dataset.select(split.val),
        dataset.select(split.test),
    )
    loaded = time.perf_counter()

    from rnnforecast import model as network
    from rnnforecast import training

    training.seed_everything(config.train.seed)
    net = network.build_model(config, n_features=len(data.features))
    history = training.fit(
        net, train_part.x, train_part.y, val_part.x, val_part.y, config.train, progress
    )
    predicted = network.predict(net, test_part.x)
    scores = score(test_part.actual, to_prices(predicted, scalers), test_part.last_close)
    test_period = _period(test_part.target_dates[:, 0])

    run_id = new_run_id()
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
            "train": _period(train_part.target_dates[:, 0]),
            "validation": _period(val_part.target_dates[:, 0]),
            "test": test_period,
        },
        "training": history.to_dict(),
        "metrics": {"test": {"n": scores.n, **scores.to_dict()}},
        "versions": _library_versions(),
    }

    def write_model(path: Path) -> None:
        net.save(path)
        # A bundle must reproduce its own predictions: check before it becomes current.
        again = network.predict(network.load_model(path), test_part.x)
        if not np.array_equal(again, predicted):
            raise ModelError(f"{path}: reloaded model predicts differently; not saved")

    manifest["timings"] = {
        "data_seconds": round(loaded - started, 3),
        "fit_seconds": round(history.seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    path = home.models.save(symbol, run_id, write_model, scalers, manifest)
    return TrainResult(symbol, run_id, path, test_period, scores, history.to_dict())


# --- loading a bundle ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    bundle: Bundle
    config: Config
    frame: pd.DataFrame


def _load(home: Home, ticker: str, run_id: str | None) -> _Loaded:
    """The bundle, its config and the stored bars, checked against each other.

    Raises ModelError if the bundle is missing, corrupt or asks for what the data lacks.
    """
    symbol = sources.check_ticker(ticker)
    bundle = home.models.load(symbol, run_id)
    try:
        config = config_from_dict(bundle.manifest["config"])
    except UsageError as exc:
        raise ModelError(f"{bundle.path}: manifest config is not readable here: {exc}") from None
    manifest = bundle.manifest
    if (
        list(config.data.features) != list(manifest["features"])
        or config.data.window != manifest["window"]
        or config.data.horizon != manifest["horizon"]
    ):
        raise ModelError(f"{bundle.path}: manifest features/window disagree with its config")
    frame = home.store.read(symbol)
    return _Loaded(bundle, config, frame)


def _network_outputs(loaded: _Loaded, x: np.ndarray) -> np.ndarray:
    """Scaled outputs ``(m, horizon)`` from the bundle's Keras network.

    Raises ModelError if the file cannot be loaded or its shapes do not fit the manifest.
    """
    from rnnforecast import model as network

    path = loaded.bundle.model_path
    try:
        net = network.load_model(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__})") from None
    data = loaded.config.data
    expected_in = (None, data.window, len(data.features))
    if tuple(net.input_shape) != expected_in or tuple(net.output_shape) != (None, data.horizon):
        raise ModelError(
            f"{path}: network takes {net.input_shape} -> {net.output_shape}, but the manifest "
            f"says {expected_in} -> {(None, data.horizon)}"
        )
    return np.asarray(network.predict(net, x))


# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationResult:
    ticker: str
    run_id: str
    test: dict[str, Any]
    scores: Scores
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "test": self.test,
            **self.scores.to_dict(),
            "warnings": self.warnings,
        }


def evaluate(home: Home, ticker: str, run_id: str | None = None) -> EvaluationResult:
    """Score a saved model on its own held-out test period, next to the naive forecast.

    The test period is the one recorded in the manifest, taken from the bars stored now.
    Raises ModelError (no or bad bundle), DataError (the test period is no longer stored).
    """
    loaded = _load(home, ticker, run_id)
    manifest = loaded.bundle.manifest
    test = manifest["data"]["test"]
    dataset = build_dataset(loaded.frame, loaded.config.data, loaded.bundle.scalers)
    first_target = pd.DatetimeIndex(dataset.target_dates[:, 0])
    mask = np.asarray(
        (first_target >= pd.Timestamp(test["start"])) & (first_target <= pd.Timestamp(test["end"]))
    )
    if not mask.any():
        raise DataError(
            f"the stored bars of {manifest['ticker']} no longer cover the test period "
            f"{test['start']} to {test['end']} of run {manifest['run_id']}"
        )
    part = dataset.select(mask)
    warnings = []
    trained = loaded.frame.loc[manifest["data"]["first"] : manifest["data"]["last"]]
    if fingerprint(trained) != manifest["data"]["fingerprint"]:
        warnings.append(
            "the stored bars of the training period changed since this model was trained "
            "(re-fetched or replaced): scores are on the bars stored now"
        )
    predicted = to_prices(_network_outputs(loaded, part.x), loaded.bundle.scalers)
    scores = score(part.actual, predicted, part.last_close)
    return EvaluationResult(
        manifest["ticker"], manifest["run_id"], _period(part.target_dates[:, 0]), scores, warnings
    )


# --- predict -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    ticker: str
    run_id: str
    as_of: str
    last_close: float
    forecasts: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "as_of": self.as_of,
            "last_close": self.last_close,
            "forecasts": self.forecasts,
        }


def next_weekdays(after: dt.date, n: int) -> list[dt.date]:
    """The ``n`` weekdays (Mon-Fri) after ``after``; exchange holidays are not known."""
    days = pd.bdate_range(after + dt.timedelta(days=1), periods=n)
    return [d.date() for d in days]


def predict(home: Home, ticker: str, run_id: str | None = None) -> Forecast:
    """Forecast the close of the next trading day(s) after the last stored bar.

    Returns one forecast per step of the model's horizon, dated on the following weekdays.
    Raises ModelError (no or bad bundle), DataError (too few stored bars).
    """
    loaded = _load(home, ticker, run_id)
    data = loaded.config.data
    x = latest_window(loaded.frame, data, loaded.bundle.scalers)
    closes = to_prices(_network_outputs(loaded, x), loaded.bundle.scalers)[0]
    last_day = loaded.frame.index[-1].date()
    dates = next_weekdays(last_day, data.horizon)
    return Forecast(
        loaded.bundle.manifest["ticker"],
        loaded.bundle.run_id,
        str(last_day),
        float(loaded.frame[data.target].iloc[-1]),
        [{"date": str(d), "close": float(c)} for d, c in zip(dates, closes, strict=True)],
    )
