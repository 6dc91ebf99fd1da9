"""Global models: one network trained on the windows of several tickers, serving each.

A global model pools the windows of its member tickers (each window normalised by its own
first close, ``data.normalise = "window"``; "global" normalisation would put the price
levels of different tickers on one scale and is refused). The split is by calendar date:
one set of cut dates from the union of the members' window dates, so every member's test
period covers the same days. Scalers are fitted on the pooled training windows only.

The bundle is saved under the group's name, ``models/@NAME/RUN_ID`` (no ticker symbol
starts with ``@``), and each member's folder gets a ``group`` file naming it, so
``predict T`` finds the global model; a later promotion of the ticker's own model removes
that file (see :class:`rnnforecast.storage.artifacts.ModelRepository`). The members and their shared
split are read by :mod:`rnnforecast.training.group_members`, the bundle assembled by
:mod:`rnnforecast.training.saving`. The pooled windows go through the same
:func:`rnnforecast.training.fitting.fit` and :func:`rnnforecast.training.fitting.refit` as one
ticker's: only the pooling and the per-member scores are a group's own.
TensorFlow is imported only by the training functions of :mod:`rnnforecast.training.fitting`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config
from rnnforecast.data.tickers import check_ticker
from rnnforecast.errors import UsageError
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import Dataset, base_matrix
from rnnforecast.metrics.report import Report
from rnnforecast.risk.network_use import NetworkUse
from rnnforecast.storage.artifacts import Package
from rnnforecast.storage.home import Home
from rnnforecast.training import batches, fitting, per_ticker, saving
from rnnforecast.training.group_members import (
    GroupMember,
    group_name,
    partition,
    pooled_period,
    window_members,
)

if TYPE_CHECKING:
    from rnnforecast.forecast.fan_network import FanNetwork
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.risk.fans.choice import FanRecord


# --- train ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalTrainResult:
    group: str
    run_id: str
    path: Path
    split: dict[str, str]
    members: dict[str, dict[str, Any]]
    pool: dict[str, Any]
    history: dict[str, Any]
    calibration: dict[str, Any]
    serving: dict[str, Any] = field(default_factory=dict)
    interval_method: dict[str, str] = field(default_factory=dict)  # per member
    network_used: dict[str, NetworkUse] = field(default_factory=dict)  # per member
    batch: batches.Batch | None = None  # the batch both fits trained with
    # per member with a fan: its served method at each horizon 1..22 (rnnforecast.risk.fans)
    fan_methods: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "run_id": self.run_id,
            "path": str(self.path),
            **per_ticker.training_summary(self.history),
            "split": self.split,
            "members": self.members,
            "pool": self.pool,
            "calibration": self.calibration,
            "serving": self.serving,
            "interval_method": self.interval_method,
            "network_used": {s: use.to_dict() for s, use in self.network_used.items()},
            "batch_size": None if self.batch is None else self.batch.to_dict(),
            "fan_methods": {s: list(methods) for s, methods in self.fan_methods.items()},
        }


def score_pool(reports: dict[str, Report], pooled: Report) -> dict[str, Any]:
    """The pooled report (price units: members with higher prices weigh more) and the
    geometric mean of the members' rel_mae (each member weighs the same)."""
    ratios = np.array([r.scores.model["rel_mae"] for r in reports.values()], dtype=np.float64)
    finite = bool(np.all(np.isfinite(ratios) & (ratios > 0)))
    return {
        "n": pooled.n,
        **pooled.to_dict(),
        "members_rel_mae_geometric_mean": float(np.exp(np.log(ratios).mean())) if finite else None,
    }


def group_of(tickers: list[str], config: Config, name: str | None = None) -> tuple[str, list[str]]:
    """The group's name (``name`` or the sorted symbols) and its members' symbols, sorted.
    Raises UsageError (fewer than two tickers, a bad symbol or name, "global"
    normalisation)."""
    symbols = sorted({check_ticker(t) for t in tickers})
    if len(symbols) < 2:
        raise UsageError("a global model needs at least two different tickers")
    if config.data.normalise != "window":
        raise UsageError(
            f'data.normalise = "{config.data.normalise}" puts every ticker\'s prices on one '
            'scale; a global model needs data.normalise = "window"'
        )
    return group_name(symbols, name), symbols


@dataclass(frozen=True)
class TrainedGroup:
    """A global model's training run made in memory: the bundle to save and what train
    reports of it (``result.path`` relative to the models folder until
    :func:`save_group` saves it). Plain data, for a worker that never sees the home."""

    package: Package
    result: GlobalTrainResult

    def to_dict(self) -> dict[str, Any]:
        """What train reports of it (its result's document)."""
        return self.result.to_dict()


def save_group(home: Home, trained: TrainedGroup, promote: bool) -> GlobalTrainResult:
    """Save ``trained`` as a new bundle of its group (the caller holds the group's and its
    members' locks), ``promote`` making it current for the group and every member; its
    result with the bundle's folder."""
    result = trained.result
    path = home.models.save_package(result.group, trained.package, promote)
    if promote:
        for symbol in result.members:
            home.models.set_group(symbol, result.group)
    return dataclasses.replace(result, path=path)


def fit_group(
    group: str,
    frames: dict[str, pd.DataFrame],
    config: Config,
    progress: Progress | None = None,
    refit: bool = True,
) -> TrainedGroup:
    """Train and score the bundle of ``group`` on its members' bars (``frames``: symbol to
    bars, sorted by symbol), a pure function for any process (the caller reads and saves:
    :func:`rnnforecast.jobs.executors.fit_group_on`). Scored fit: pooled training windows
    (scalers fitted on them only), early stopping then calibration on the two pieces of the
    pooled validation windows, each member and the pool scored on the shared test dates;
    with ``refit``, refitted up to the last bar as one ticker is (not where the network
    shapes nothing served); each member's own one-day intervals and fan. Raises DataError
    (a member without windows in a part, pooled parts below the smallest batch)."""
    started = time.perf_counter()
    members, split = window_members(frames, config.data)
    # Pooled like one ticker's: every member's windows, then its parts under the date split.
    parts = partition(members)
    train, val, test = parts.train, parts.val, parts.test
    batch = batches.choose(
        {"training": len(train), "validation": len(val), "test": len(test)},
        config.train.batch_size,
        rate=config.train.learning_rate,
    )
    fit_config = batch.apply(config)  # the recipe with the batch used: only the fits see it
    scored_fit = fitting.fit(fit_config, parts, progress)
    scored = scored_fit.model
    reports, member_scores, pool_scores = _score_members(members, test, scored)
    from rnnforecast.risk import interval_choice

    # Chosen first, on the scored fit alone: they decide whether a refit is worth training.
    can_refit = refit and scored_fit.trained.numpy_check["passed"]
    member_intervals = {
        m.symbol: interval_choice.record_for_training(
            config,
            scored,
            m.dataset,
            m.val,
            m.test,
            base_matrix(m.frame),
            m.frame.index.to_numpy(),
            can_refit,
        )
        for m in members
    }
    refitting, reason = fitting.refit_plan(refit, scored_fit, list(member_intervals.values()))
    served_fit = fitting.refit(fit_config, scored_fit, parts, progress) if refitting else scored_fit
    run = saving.GroupRun(
        members,
        split,
        train,
        val,
        test,
        scored_fit,
        served_fit,
        reports,
        member_scores,
        pool_scores,
        member_intervals,
        reason,
        batch,
        *_member_fans(fit_config, members, refit, split.test_start),
    )
    package = saving.package_group(group, config, run, started)
    result = GlobalTrainResult(
        group,
        package.run_id,
        Path(group) / package.run_id,
        split.to_dict(),
        member_scores,
        pool_scores,
        scored_fit.trained.history.to_dict(),
        served_fit.model.calibration.to_dict(),
        run.serving_record(),
        *_served_ranges(run),
        batch,
        {s: fan.methods for s, fan in run.fans.items()},
    )
    return TrainedGroup(package, result)


def _member_fans(
    config: Config, members: list[GroupMember], refit: bool, test_start: str
) -> tuple[dict[str, FanRecord], FanNetwork | None]:
    """Each member's served fan (:func:`rnnforecast.training.per_ticker.fan_for_training`
    on its own bars, chosen on its own test windows), for the members with enough bars, and
    the group's fan network that competed (None if none). With ``calibration.fan_network``
    one fan network is trained on every member's bars dated before the shared test period
    (``test_start``, ISO: the date split's, not a member's own first test day, which can be
    later when it has no bar that day) and competes in each member's choice; no member
    trains one of its own."""
    network = None
    if config.calibration.fan_network:
        series = {m.symbol: per_ticker.bars_of(m.frame) for m in members}
        network = per_ticker.pooled_fan_network(config, series, np.datetime64(test_start))
    classical = dataclasses.replace(
        config, calibration=dataclasses.replace(config.calibration, fan_network=False)
    )
    fans = {}
    for m in members:
        first_test = int(np.flatnonzero(m.test)[0])
        pool = per_ticker.FanPool(m.symbol, m.frame)
        fan, _ = per_ticker.fan_for_training(classical, pool, first_test, refit, network)
        if fan is not None:
            fans[m.symbol] = fan
    return fans, network


def _served_ranges(run: saving.GroupRun) -> tuple[dict[str, str], dict[str, NetworkUse]]:
    """Per member, what predict serves at one session (:func:`per_ticker.served_range` of
    its one-day intervals and its fan)."""
    calibration = run.served.model.calibration
    ranges = {
        s: per_ticker.served_range(calibration, record, run.fans.get(s))
        for s, record in run.intervals.items()
    }
    return {s: r[0] for s, r in ranges.items()}, {s: r[1] for s, r in ranges.items()}


def _score_members(
    members: list[GroupMember], test: Dataset, scored: FittedModel
) -> tuple[dict[str, Report], dict[str, dict[str, Any]], dict[str, Any]]:
    """The ``scored`` fit's reports on each member's test windows, and the members' and the
    pool's (``test``: the pooled test windows) test scores as the manifest records them."""
    # Adaptive interval widths of a day depend on the member's days before it.
    factors = {m.symbol: scored.width_factors(m.dataset)[m.test] for m in members}
    reports = {
        m.symbol: scored.assess(m.part("test"), m.naive_scale, factors[m.symbol]) for m in members
    }
    pooled = scored.assess(test, width_factor=np.concatenate([factors[m.symbol] for m in members]))
    member_scores = {
        m.symbol: {"test": pooled_period(m.part("test")), "n": r.n, **r.to_dict()}
        for m, r in zip(members, reports.values(), strict=True)
    }
    pool_scores = {"test": pooled_period(test), **score_pool(reports, pooled)}
    return reports, member_scores, pool_scores
