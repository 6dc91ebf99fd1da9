"""What a training run saves: the manifest of a ticker's or a group's bundle assembled from
its fits, the training log, and the files beside the network (``weights.npz``,
``scored_weights.npz``, ``train.log``). :class:`rnnforecast.storage.artifacts.ModelRepository`
writes them atomically. TensorFlow is imported only inside the functions that save or
reload the Keras network; never prints or exits.
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

from rnnforecast.config import Config
from rnnforecast.errors import ModelError
from rnnforecast.forecast.windows import Dataset, Split, fingerprint
from rnnforecast.metrics.report import Report
from rnnforecast.storage import fit_records, loading
from rnnforecast.storage.artifacts import (
    LOG_FILE,
    SCHEMA_VERSION,
    WEIGHTS_FILE,
    Package,
    new_run_id,
)
from rnnforecast.storage.manifest import Manifest
from rnnforecast.training.fitting import Fit, format_day, summarise_period
from rnnforecast.version import __version__

if TYPE_CHECKING:
    from rnnforecast.data.store import TickerInfo
    from rnnforecast.forecast.fan_network import FanNetwork
    from rnnforecast.risk.fans.choice import FanRecord
    from rnnforecast.risk.interval_choice import IntervalRecord
    from rnnforecast.training.batches import Batch
    from rnnforecast.training.group_members import DateSplit, GroupMember
    from rnnforecast.training.warm import WarmStart


@dataclass(frozen=True)
class TickerRun:
    """One ticker's training run, ready to save: its bars, windows and split, the scored fit
    and its test report, and the fit it serves (the scored one itself when not refitted)."""

    frame: pd.DataFrame
    info: TickerInfo | None
    split: Split
    dataset: Dataset  # every window of ``frame``
    fitted: Fit
    served: Fit
    report: Report
    naive_scale: float | None
    warm_start: WarmStart | None = None
    intervals: IntervalRecord | None = (
        None  # what predict serves (rnnforecast.risk.interval_choice)
    )
    reason: str = ""  # why it is refitted or not (rnnforecast.training.fitting.refit_plan)
    batch: Batch | None = None  # the batch both fits trained with
    fan: FanRecord | None = None  # the served fan (rnnforecast.risk.fans.choice)
    fan_network: FanNetwork | None = None  # its network, when the fan serves it

    @property
    def refitted(self) -> bool:
        return self.served is not self.fitted

    @property
    def test_period(self) -> dict[str, Any]:
        """``{"start", "end", "n"}`` of the test windows' first target days."""
        return summarise_period(self.dataset.target_dates[self.split.test, 0])

    def serving_record(self) -> dict[str, Any]:
        """``{"trained_through", "calibrated_through", "refit", "reason"}`` of the served fit:
        the last target day of the windows its network trained on and of those its
        calibration was fitted on (a refit's: its calibration tail, ending on the last bar)."""
        dates, split = self.dataset.target_dates, self.split
        if self.refitted:
            served = {
                "trained_through": format_day(dates[split.refit_train][-1, -1]),
                "calibrated_through": format_day(dates[split.refit_calibration][-1, -1]),
            }
        else:
            served = self.scored_dates()
        return {**served, "refit": self.refitted, "reason": self.reason}

    def scored_dates(self) -> dict[str, Any]:
        dates, split = self.dataset.target_dates, self.split
        return {
            "trained_through": format_day(dates[split.train][-1, -1]),
            "calibrated_through": format_day(dates[split.val][-1, -1]),
        }


def library_versions() -> dict[str, str]:
    from rnnforecast.nn import keras_network

    return {
        "rnnforecast": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        **keras_network.versions(),
    }


def training_log(symbol: str, run_id: str, config: Config, fitted: Fit, rep: Report) -> str:
    h, shrink = fitted.trained.history, list(fitted.model.calibration.shrink)
    lines = [f"rnnforecast {__version__} train {symbol} run {run_id}", f"config {config.to_dict()}"]
    lines += [
        f"epoch {i + 1:3d} loss {loss:.6g} val_loss {val:.6g}"
        for i, (loss, val) in enumerate(zip(h.loss, h.val_loss, strict=False))
    ]
    lines.append(
        f"kept epoch {h.best_epoch} of {h.epochs_run}; shrink {shrink}; "
        f"test rel_mae {rep.scores.model['rel_mae']:.4f} "
        f"(uncalibrated {rep.raw['rel_mae']:.4f})"
    )
    return "\n".join(lines) + "\n"


def _fit_records(run: TickerRun) -> dict[str, Any]:
    """The manifest's ``fits``: ``scored`` (what evaluate reads back) and ``served``."""
    fitted, served = run.fitted, run.served
    scored_fit: dict[str, Any] = {
        **run.scored_dates(),
        "training": fitted.trained.history.to_dict(),
        "calibration": fitted.model.calibration.to_dict(),
        "naive_scale": run.naive_scale,
    }
    served_fit: dict[str, Any] = run.serving_record()
    if run.refitted:
        scored_fit.update(
            {
                "weights": fit_records.SCORED_WEIGHTS_FILE,
                "scalers": fitted.model.scalers.to_dict(),
                "numpy_check": fitted.trained.numpy_check,
            }
        )
        tail = run.split.refit_calibration
        served_fit.update(
            {
                "windows": served.trained.windows,
                "epochs": served.trained.history.epochs_run,
                "epochs_rule": "the scored fit's best epoch, no early stopping"
                if run.warm_start is None
                else "warm start: a share of the recipe's best epoch, no early stopping",
                "calibration": "its own forecasts of the newest windows, held out of its training",
                "calibration_windows": summarise_period(run.dataset.target_dates[tail, 0]),
                "training": served.trained.history.to_dict(),
            }
        )
    return {"scored": scored_fit, "served": served_fit}


def manifest_header(
    name: str, run_id: str, config: Config, members: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The first entries of every manifest: schema, run, the ticker or group ``name`` (a
    group's ``members`` next, when given), the time, the recipe and what it trains on.

    Their order is the order bundles have been saved in (the loader reads keys, and each
    file's checksum is of its own bytes, so order matters to neither; kept so that a new
    manifest reads like the old ones)."""
    data = config.data
    header: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "ticker": name}
    if members is not None:
        header["members"] = members
    return {
        **header,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "features": list(data.features),
        "target": data.target,
        "window": data.window,
        "horizon": data.horizon,
        "seed": config.train.seed,
    }


def ticker_manifest(symbol: str, run_id: str, config: Config, run: TickerRun) -> dict[str, Any]:
    """The manifest of a ticker's bundle, without ``timings`` and ``files`` (added when
    saved)."""
    frame, info, fitted = run.frame, run.info, run.fitted
    return {
        **manifest_header(symbol, run_id, config),
        "data": {
            "source": info.source if info else None,
            "auto_adjust": info.auto_adjust if info else None,
            "rows": len(frame),
            "first": str(frame.index[0].date()),
            "last": str(frame.index[-1].date()),
            "fingerprint": fingerprint(frame),
            "scaler_rows": summarise_period(frame.index.to_numpy()[: run.split.scaler_rows]),
            "train": summarise_period(run.dataset.target_dates[run.split.train, 0]),
            "validation": summarise_period(run.dataset.target_dates[run.split.val, 0]),
            "early_stopping": summarise_period(run.dataset.target_dates[run.split.stop, 0]),
            "calibration": summarise_period(run.dataset.target_dates[run.split.calibration, 0]),
            "test": run.test_period,
        },
        "training": fitted.trained.history.to_dict(),
        "batch_size": None if run.batch is None else run.batch.to_dict(),
        "calibration": run.served.model.calibration.to_dict(),
        "serving": run.serving_record(),
        "fits": _fit_records(run),
        "warm_start": None if run.warm_start is None else run.warm_start.record(),
        "numpy_check": run.served.trained.numpy_check,
        "metrics": {"test": {"n": run.report.n, **run.report.to_dict()}},
        "versions": library_versions(),
    }


def package_ticker(symbol: str, config: Config, run: TickerRun, started: float) -> Package:
    """``run`` as a new bundle of ``symbol``, in memory (a worker's result; the process that
    owns the home saves it: :meth:`ModelRepository.save_package`); ``started`` is the run's
    ``time.perf_counter()`` start, for the manifest's timings. Raises ModelError if the
    written network reloads differently, OSError if no temporary folder can be written.
    """
    fitted, served = run.fitted, run.served
    run_id = new_run_id()
    manifest = ticker_manifest(symbol, run_id, config, run)
    log = training_log(symbol, run_id, config, fitted, run.report)
    if run.refitted:
        log += "".join(
            f"refit epoch {i + 1:3d} loss {loss:.6g}\n"
            for i, loss in enumerate(served.trained.history.loss)
        )
        shrink = list(served.model.calibration.shrink)
        n_tail = len(range(run.split.windows)[run.split.refit_calibration])
        log += (
            f"refit on {served.trained.windows} windows, "
            f"{served.trained.history.epochs_run} "
            f"epochs; served shrink {shrink} (calibrated on its own last {n_tail} windows)\n"
        )
    log += f"serving: {run.reason}\n"
    if run.intervals is not None:
        log += f"intervals served: {run.intervals.method}; {run.intervals.choice['reason']}\n"
    if run.fan_network is not None:
        log += fan_network_line(run.fan_network)

    def write_files(path: Path) -> None:
        write_bundle_files(path, served, served.trained.numpy_check["passed"], log)
        if run.intervals is not None:
            from rnnforecast.risk import interval_choice

            interval_choice.save(path.parent, run.intervals)
        if run.fan is not None:
            from rnnforecast.risk.fans import choice

            choice.save(path.parent, run.fan)
        if run.fan is not None and run.fan.uses_network and run.fan_network is not None:
            for name, data in run.fan_network.to_files().items():
                (path.parent / name).write_bytes(data)
        if run.refitted:
            save_numpy_weights(path.parent / fit_records.SCORED_WEIGHTS_FILE, fitted)

    manifest["timings"] = {
        "fit_seconds": round(fitted.trained.history.seconds, 3),
        "refit_seconds": round(served.trained.history.seconds, 3) if run.refitted else 0.0,
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    return Package.written_by(run_id, write_files, served.model.scalers, Manifest.new(manifest))


@dataclass(frozen=True)
class GroupRun:
    """A global model's training run, ready to save: its members and shared split, the
    pooled windows, the scored fit (whose ``dataset`` is the pooled test windows) and the
    served one (the scored one itself when not refitted), and the test scores."""

    members: list[GroupMember]
    split: DateSplit
    train: Dataset
    val: Dataset
    test: Dataset
    scored: Fit
    served: Fit
    reports: dict[str, Report]
    member_scores: dict[str, dict[str, Any]]
    pool_scores: dict[str, Any]
    # each member's served intervals (rnnforecast.risk.interval_choice), saved as
    # intervals.TICKER.json
    intervals: dict[str, IntervalRecord] = field(default_factory=dict)
    reason: str = ""  # why it is refitted or not (rnnforecast.training.fitting.refit_plan)
    batch: Batch | None = None  # the batch both fits trained with
    # each member's served fan (rnnforecast.risk.fans.choice), saved as fan.TICKER.json
    fans: dict[str, FanRecord] = field(default_factory=dict)
    # the group's fan network that competed in its members' choices (saved where one serves it)
    fan_network: FanNetwork | None = None

    @property
    def refitted(self) -> bool:
        return self.served is not self.scored

    def scored_dates(self) -> dict[str, Any]:
        return {"trained_through": self.split.train_end, "calibrated_through": self.split.val_end}

    def serving_record(self) -> dict[str, Any]:
        """``{"trained_through", "calibrated_through", "refit", "reason"}`` of the served fit:
        a refit's last target day of training (before its calibration tail) and the last
        bar, which ends the tail it is calibrated on."""
        if not self.refitted:
            return {**self.scored_dates(), "refit": False, "reason": self.reason}
        trained = max(
            format_day(m.dataset.target_dates[m.refit_train][-1, -1]) for m in self.members
        )
        last_day = max(str(m.frame.index[-1].date()) for m in self.members)
        return {
            "trained_through": trained,
            "calibrated_through": last_day,
            "refit": True,
            "reason": self.reason,
        }


def group_manifest(group: str, run_id: str, config: Config, run: GroupRun) -> dict[str, Any]:
    """The manifest of a global model's bundle, without ``timings`` and ``files``."""
    from rnnforecast.training.group_members import combined_fingerprint, pool, pooled_period

    members, scored = run.members, run.scored
    records = {
        m.symbol: {
            "rows": len(m.frame),
            "first": str(m.frame.index[0].date()),
            "last": str(m.frame.index[-1].date()),
            "fingerprint": fingerprint(m.frame),
            "naive_scale": m.naive_scale,
            "test": pooled_period(m.part("test")),
        }
        for m in members
    }
    manifest: dict[str, Any] = {
        **manifest_header(group, run_id, config, members=records),
        "data": {
            "rows": sum(len(m.frame) for m in members),
            "first": min(str(m.frame.index[0].date()) for m in members),
            "last": max(str(m.frame.index[-1].date()) for m in members),
            "fingerprint": combined_fingerprint(members),
            "split": run.split.to_dict(),
            "train": pooled_period(run.train),
            "validation": pooled_period(run.val),
            "early_stopping": pooled_period(pool([m.part("stop") for m in members])),
            "calibration": pooled_period(pool([m.part("calibration") for m in members])),
            "test": pooled_period(run.test),
        },
        "training": scored.trained.history.to_dict(),
        "batch_size": None if run.batch is None else run.batch.to_dict(),
        "versions": library_versions(),
        "calibration": run.served.model.calibration.to_dict(),
        "serving": run.serving_record(),
        "numpy_check": run.served.trained.numpy_check,
        "metrics": {"test": {"members": run.member_scores, "pool": run.pool_scores}},
    }
    scored_fit: dict[str, Any] = {
        **run.scored_dates(),
        "training": scored.trained.history.to_dict(),
        "calibration": scored.model.calibration.to_dict(),
    }
    if run.refitted:
        scored_fit.update(
            {
                "weights": fit_records.SCORED_WEIGHTS_FILE,
                "scalers": scored.model.scalers.to_dict(),
                "numpy_check": scored.trained.numpy_check,
            }
        )
    manifest["fits"] = {
        "scored": scored_fit,
        "served": {**run.serving_record(), "training": run.served.trained.history.to_dict()},
    }
    return manifest


def package_group(group: str, config: Config, run: GroupRun, started: float) -> Package:
    """``run`` as a new bundle of ``group``, in memory (see :func:`package_ticker`)."""
    scored, served = run.scored, run.served
    run_id = new_run_id()
    manifest = group_manifest(group, run_id, config, run)
    log = (
        f"global model {group} run {run_id} over {', '.join(m.symbol for m in run.members)}\n"
        f"config {config.to_dict()}\nsplit {run.split.to_dict()}\n"
        + "".join(
            f"epoch {i + 1:3d} loss {loss:.6g} val_loss {v:.6g}\n"
            for i, (loss, v) in enumerate(
                zip(scored.trained.history.loss, scored.trained.history.val_loss, strict=False)
            )
        )
        + "".join(
            f"{s} test rel_mae {r.scores.model['rel_mae']:.4f}\n" for s, r in run.reports.items()
        )
        + ("" if run.fan_network is None else fan_network_line(run.fan_network))
    )

    def write_files(path: Path) -> None:
        write_bundle_files(path, served, served.trained.numpy_check["passed"], log)
        if run.intervals:
            from rnnforecast.risk import interval_choice

            for symbol, record in run.intervals.items():
                interval_choice.save(path.parent, record, symbol)
        if run.fans:
            from rnnforecast.risk.fans import choice

            for symbol, fan in run.fans.items():
                choice.save(path.parent, fan, symbol)
        if run.fan_network is not None and any(f.uses_network for f in run.fans.values()):
            for name, data in run.fan_network.to_files().items():
                (path.parent / name).write_bytes(data)
        if run.refitted:
            save_numpy_weights(path.parent / fit_records.SCORED_WEIGHTS_FILE, scored)

    manifest["timings"] = {"total_seconds": round(time.perf_counter() - started, 3)}
    return Package.written_by(run_id, write_files, served.model.scalers, Manifest.new(manifest))


def fan_network_line(network: FanNetwork) -> str:
    """The training log's line naming the bars a fan network learnt from."""
    read = ", ".join(f"{t} through {day}" for t, day in sorted(network.trained_on.items()))
    return f"fan network trained on {read}\n"


def write_bundle_files(model_path: Path, fitted: Fit, numpy: bool, log: str) -> None:
    """model.keras (checked to reload to the same predictions), weights.npz, train.log."""
    from rnnforecast.nn import keras_network

    fitted.trained.net.save(model_path)
    again = keras_network.predict(keras_network.load_model(model_path), fitted.trained.check_x)
    if not np.array_equal(again, fitted.trained.check_keras):
        raise ModelError(f"{model_path}: reloaded model predicts differently; not saved")
    if numpy:
        save_numpy_weights(model_path.parent / WEIGHTS_FILE, fitted)
    (model_path.parent / LOG_FILE).write_text(log, encoding="utf-8")


def save_numpy_weights(path: Path, fitted: Fit) -> None:
    """The network's weights for the numpy forward pass, with the input shape it takes."""
    from rnnforecast.nn.numpy_network import save_weights

    weights = dict(fitted.trained.weights)
    weights[loading.INPUT_SHAPE_KEY] = np.array(fitted.trained.net.input_shape[1:], dtype=np.int64)
    save_weights(path, weights)
