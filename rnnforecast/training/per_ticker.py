"""The job train. Config in, a saved bundle and its result dataclass out.

Fitting lives in :mod:`rnnforecast.training.fitting`, evaluating a saved bundle in
:mod:`rnnforecast.jobs.evaluation`, the nightly job in :mod:`rnnforecast.jobs.nightly`. Nothing here
prints, exits or reads the environment. TensorFlow is imported only inside the functions
that train a network (``rnnforecast.nn.keras_network``, ``rnnforecast.nn.keras_training``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config
from rnnforecast.errors import DataError
from rnnforecast.forecast.windows import Dataset, Split, base_matrix, build_dataset
from rnnforecast.metrics.report import Report
from rnnforecast.risk.network_use import NetworkUse, network_use
from rnnforecast.storage.artifacts import Package
from rnnforecast.storage.home import Home
from rnnforecast.training import batches, fan_peers, fitting, saving
from rnnforecast.training.fitting import Partition, Start, in_sample_naive_scale

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.data.store import TickerInfo
    from rnnforecast.forecast.calibration import Calibration
    from rnnforecast.forecast.fan_network import FanNetwork
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.risk.fans.choice import FanRecord
    from rnnforecast.risk.interval_choice import IntervalRecord
    from rnnforecast.training.warm import WarmStart

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
    interval_method: str = (
        "conformal"  # whose intervals predict serves (rnnforecast.risk.interval_choice)
    )
    # what the weights shape in what is served (rnnforecast.risk.network_use)
    network_used: NetworkUse | None = None
    # the batch it trained with (rnnforecast.training.batches); None only for old callers
    batch: batches.Batch | None = None
    # the method of the served fan at each horizon 1..22 (rnnforecast.risk.fans); None: no fan
    fan_methods: tuple[str, ...] | None = None

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
            "interval_method": self.interval_method,
            "network_used": None if self.network_used is None else self.network_used.to_dict(),
            "batch_size": None if self.batch is None else self.batch.to_dict(),
            "fan_methods": None if self.fan_methods is None else list(self.fan_methods),
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
    refit: bool = True,
) -> TrainResult:
    """Train a network on the stored bars of ``ticker`` and save it as the current bundle.

    The scored fit: scalers fitted on training windows only; early-stopped on the first
    piece of the validation windows, shrinkage and intervals calibrated on the second; the
    test period (last ``test_fraction`` of windows) scored next to the naive forecast, the
    scores going into the manifest. With ``refit`` (the default) the recipe is then fitted
    again up to the last bar and calibrated on its own newest windows, and that is the
    network the bundle serves (see :mod:`rnnforecast.storage.fit_records`), unless the
    network shapes nothing served (:func:`rnnforecast.training.fitting.network_used`): then
    the scored fit is served with the baseline's intervals fitted on every bar. The ticker
    is locked for the whole run. Raises UsageError (bad ticker), DataError (no or
    too little data), LockError.
    """
    with home.lock(ticker) as symbol:
        frame, info = home.store.read(symbol), home.store.info(symbol)
        peers = fan_peers.read_peers(home, symbol, config)
        trained = fit_ticker(symbol, frame, info, config, progress, refit, peers=peers)
        return save_trained(home, trained, promote=True)


@dataclass(frozen=True)
class Trained:
    """One ticker's training run made in memory: the bundle to save and what train
    reports of it (``result.path`` is the bundle's folder relative to the models folder
    until :func:`save_trained` saves it). Plain data: a worker that never sees the home
    returns it by pickle."""

    package: Package
    result: TrainResult

    def to_dict(self) -> dict[str, Any]:
        """What train reports of it (its result's document)."""
        return self.result.to_dict()


def fit_ticker(
    symbol: str,
    frame: pd.DataFrame,
    info: TickerInfo | None,
    config: Config,
    progress: Progress | None = None,
    refit: bool = True,
    warm_start: WarmStart | None = None,
    peers: Mapping[str, pd.DataFrame] | None = None,
) -> Trained:
    """Train one bundle of ``symbol`` on its bars ``frame`` (as the store reads them;
    ``info``: the store's record of them, or None) without opening any home: the scored fit
    and its test report, the served choice, the refit where the network shapes what is
    served (``refit``), or a fine-tune of ``warm_start``'s fits. A pure function of its
    arguments, for any process. Raises DataError (too little data), ModelError (a warm
    start that does not fit, a network that reloads differently). ``peers``: other tickers'
    bars the fan network learns from too (:mod:`rnnforecast.training.fan_peers`)."""
    started = time.perf_counter()
    starts = (None, None) if warm_start is None else (warm_start.scored, warm_start.served)
    choice = fit_and_choose(frame, config, progress, starts, refit, symbol=symbol, peers=peers)
    split, dataset, fitted, served = choice.split, choice.dataset, choice.scored, choice.served
    scored = fitted.model
    scale = in_sample_naive_scale(frame, split.scaler_rows)
    rep = scored.assess(
        dataset.select(split.test), scale, scored.width_factors(dataset)[split.test]
    )
    run = saving.TickerRun(
        frame,
        info,
        split,
        dataset,
        fitted,
        served,
        rep,
        scale,
        warm_start,
        choice.intervals,
        choice.reason,
        choice.batch,
        choice.fan,
        choice.fan_network,
    )
    package = saving.package_ticker(symbol, config, run, started)
    result = TrainResult(
        symbol,
        package.run_id,
        Path(symbol) / package.run_id,
        run.test_period,
        rep,
        fitted.trained.history.to_dict(),
        served.model.calibration.to_dict(),
        run.serving_record(),
        *served_range(served.model.calibration, choice.intervals, choice.fan),
        choice.batch,
        None if choice.fan is None else choice.fan.methods,
    )
    return Trained(package, result)


def save_trained(home: Home, trained: Trained, promote: bool) -> TrainResult:
    """Save ``trained`` as a new bundle of its ticker (the caller holds the ticker's lock),
    ``promote`` making it the current model; its result with the bundle's folder."""
    result = trained.result
    path = home.models.save_package(result.ticker, trained.package, promote)
    return dataclasses.replace(result, path=path)


def served_range(
    calibration: Calibration, intervals: IntervalRecord | None, fan: FanRecord | None
) -> tuple[str, NetworkUse]:
    """What predict serves at one session from a fit of ``calibration`` with the one-day
    ``intervals`` and ``fan`` chosen for it: the range's method (the fan's, or the one-day
    intervals' without a fan) and what the weights shape."""
    from rnnforecast.risk import interval_choice

    if fan is not None:
        price = network_use(calibration, None, 1).price
        return fan.methods[0], NetworkUse(price, fan.uses_network)
    return interval_choice.served_name(intervals, calibration), network_use(calibration, intervals)


@dataclass(frozen=True)
class Choice:
    """What ``train`` would serve from a frame of bars, before anything is saved: the split
    and windows of those bars, the scored fit, the served fit (a refit, or the scored fit
    itself where the network shapes nothing served) and the served intervals' record (whose
    ``method`` is the network's or a baseline's, chosen on the scored fit's test period)."""

    split: Split
    dataset: Dataset
    scored: fitting.Fit
    served: fitting.Fit
    intervals: IntervalRecord
    reason: str  # why the served fit is a refit or the scored fit (the manifest's serving)
    batch: batches.Batch  # the batch both fits trained with
    fan: FanRecord | None = None  # the served fan 1..22 sessions ahead (None: too few bars)
    fan_network: FanNetwork | None = None  # the fan network that competed in the choice


def fit_and_choose(
    frame: pd.DataFrame,
    config: Config,
    progress: Progress | None = None,
    starts: tuple[Start | None, Start | None] = (None, None),
    refit: bool = True,
    *,
    symbol: str = "",
    peers: Mapping[str, pd.DataFrame] | None = None,
) -> Choice:
    """Fit ``config`` on the bars ``frame`` (every row is seen: the caller cuts the frame at
    the day it stands on) and make every served choice as ``train`` does: the scored fit,
    the served intervals of :func:`rnnforecast.risk.interval_choice.record_for_training`,
    and the refit up to the last bar where :func:`rnnforecast.training.fitting.refit_plan`
    says the network shapes what is served (with ``refit``). ``starts``:
    the warm starts of the scored fit and of the refit (None: from scratch). ``symbol`` and
    ``peers``: the ticker's name and other tickers' bars for its fan network. Raises
    DataError (too few bars for the split or the smallest batch), ModelError (a start that does not
    fit)."""
    from rnnforecast.risk import interval_choice

    split, batch = batches.for_rows(len(frame), config)
    fit_config = batch.apply(config)  # the recipe with the batch used: only the fits see it
    dataset = build_dataset(frame, config.data)
    parts = Partition.of(dataset, split)
    scored = fitting.fit(fit_config, parts, progress, starts[0])
    # The served intervals are chosen first, on the scored fit alone: whether the network
    # shapes anything served decides whether a refit is worth training. A refit would bring
    # the baseline up to the last bar too, so it is fitted on every bar whenever one was asked.
    record = interval_choice.record_for_training(
        config,
        scored.model,
        dataset,
        split.val,
        split.test,
        base_matrix(frame),
        frame.index.to_numpy(),
        refit and scored.trained.numpy_check["passed"],
    )
    refitting, reason = fitting.refit_plan(refit, scored, [record])
    served = fitting.refit(fit_config, scored, parts, progress, starts[1]) if refitting else scored
    first_test = int(np.arange(len(dataset))[split.test][0])
    pool = FanPool(symbol, frame, dict(peers or {}))
    fan, fan_net = fan_for_training(fit_config, pool, first_test, refit)
    return Choice(split, dataset, scored, served, record, reason, batch, fan, fan_net)


@dataclass(frozen=True)
class FanPool:
    """The bars a ticker's fan is chosen on: the ticker's ``symbol`` and bars ``frame``, and
    ``peers``: other tickers' bars its fan network learns from too (symbol: frame)."""

    symbol: str
    frame: pd.DataFrame
    peers: dict[str, pd.DataFrame] = field(default_factory=dict)


def fan_for_training(
    config: Config,
    pool: FanPool,
    first_test_window: int,
    on_every_bar: bool,
    network: FanNetwork | None = None,
) -> tuple[FanRecord | None, FanNetwork | None]:
    """The fan a bundle trained by ``config`` on ``pool.frame`` serves
    (:func:`rnnforecast.risk.fans.choice.fit_fan`), and the fan network that competed (None
    if none; saved only where the fan serves it).

    Chosen on the scored fit's test period (from window ``first_test_window`` on), among the
    classical fans fitted before it and, with ``calibration.fan_network``, the fan network
    trained before it (:func:`fan_network_for`, or ``network`` when given: a group's; the
    one served, never refitted). The classical methods served are fitted ``on_every_bar`` or
    on the bars before that period, as the served intervals are. A recipe pinning a
    classical method that has a fan serves that fan at every horizon, its spread as the
    method draws it. No fan when the bars are too few for any, and for a recipe that asks
    for what only the one-day intervals have: a method without a fan pinned (``model``,
    ``hist50``, ``emp250``, ``har``) or the rolling widths (``adaptive_baseline``)."""
    from rnnforecast.risk.fans import choice, registry

    ohlcv, dates = bars_of(pool.frame)
    first_test = first_test_window + config.data.lookback
    pinned = config.calibration.intervals
    if config.calibration.adaptive_baseline or pinned not in ("auto", *registry.REGISTRY):
        return None, None
    methods = {pinned: registry.REGISTRY[pinned]} if pinned in registry.REGISTRY else None
    if methods is not None:
        network = None
    elif network is None:
        network = fan_network_for(config, pool, first_test)
    try:
        record = choice.fit_fan(
            methods or registry.REGISTRY,
            ohlcv,
            dates,
            first_test,
            len(ohlcv) if on_every_bar else first_test,
            config.calibration.significance,
            None if network is None else network.bound(ohlcv, dates),
            how=None if methods is None else ("best", False),  # a pinned method, as it is
        )
    except DataError:
        return None, None
    return record, network


def bars_of(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A frame's bars ``(n, 5)`` and dates ``(n,)`` datetime64[D], as fans take them."""
    return base_matrix(frame), frame.index.to_numpy().astype("datetime64[D]")


def fan_network_for(config: Config, pool: FanPool, first_test: int) -> FanNetwork | None:
    """The fan network of ``config`` (``calibration.fan_network``) for the ticker of
    ``pool``: :func:`pooled_fan_network` of its bars and its peers' before the day of row
    ``first_test`` of ``pool.frame``; None when not asked for, when no series has enough
    bars before that day, or when the ticker's own bars before it are too few to serve it."""
    if not config.calibration.fan_network:
        return None
    ohlcv, dates = bars_of(pool.frame)
    if first_test >= len(dates):
        return None
    series = {p: bars_of(f) for p, f in pool.peers.items() if p != pool.symbol}
    series[pool.symbol] = (ohlcv, dates)
    network = pooled_fan_network(config, series, dates[first_test])
    return network if network is not None and network.serve_rows <= first_test else None


def pooled_fan_network(
    config: Config, series: Mapping[str, tuple[np.ndarray, np.ndarray]], day: np.datetime64
) -> FanNetwork | None:
    """A fan network trained on every series' bars dated before ``day`` (``series``: symbol
    to bars ``(n, 5)`` and dates ``(n,)`` datetime64[D]; ``day`` a datetime64[D]; each cut by
    :func:`rnnforecast.training.fan_fit.cutoffs`, one with too few bars before ``day`` left
    out), with ``config``'s window, sizes and training settings; None if none is left."""
    from rnnforecast.forecast.fan_recipe import FanRecipe
    from rnnforecast.training.fan_fit import cutoffs, fit_fan_network

    train = config.train
    recipe = FanRecipe(
        lookback=config.data.lookback,
        units=config.model.units,
        dense_units=config.model.dense_units,
        epochs=train.epochs,
        batch_size=train.batch_size,
        patience=train.patience,
    )
    through = cutoffs(series, day, recipe)
    if not through:
        return None
    try:
        return fit_fan_network({s: series[s] for s in through}, through, recipe, train.seed)
    except DataError:
        return None
