"""Global models: one network trained on the windows of several tickers, serving each.

A global model pools the windows of its member tickers (each window normalised by its own
first close, ``data.normalise = "window"``; "global" normalisation would put the price
levels of different tickers on one scale and is refused). The split is by calendar date:
one set of cut dates from the union of the members' window dates, so every member's test
period covers the same days. Scalers are fitted on the pooled training windows only.

The bundle is saved under the group's name, ``models/@NAME/RUN_ID`` (no ticker symbol
starts with ``@``), and each member's folder gets a ``group`` file naming it, so
``predict T`` finds the global model; a later promotion of the ticker's own model removes
that file (see :class:`rnnforecast.artifacts.ModelRepository`). TensorFlow is imported
only by the training functions of :mod:`rnnforecast.pipeline` this module calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast import adaptive as adaptive_conformal
from rnnforecast import fits, locks, metrics, pipeline, promotion, serving
from rnnforecast.artifacts import SCHEMA_VERSION, new_run_id
from rnnforecast.config import Config, DataConfig, RunConfig
from rnnforecast.errors import DataError, ModelError, RnnForecastError, UsageError
from rnnforecast.evaluation import Report
from rnnforecast.forecaster import fit_calibration, raw_forecast
from rnnforecast.home import Home
from rnnforecast.store import StoreResult
from rnnforecast.tickers import check_group, check_ticker
from rnnforecast.windows import (
    MIN_WINDOWS,
    Dataset,
    build_dataset,
    check_batches,
    encode_inputs,
    fingerprint,
    fit_scalers,
    scale_targets,
)

if TYPE_CHECKING:
    from rnnforecast.training import Progress


def group_name(tickers: list[str], name: str | None = None) -> str:
    """The group of a global model: ``@NAME``, or ``@`` and the sorted symbols joined by
    ``+`` when no name is given. Raises UsageError for a bad name."""
    return check_group(name if name else "+".join(sorted(tickers)))


@dataclass(frozen=True)
class DateSplit:
    """Cut dates shared by every member, on the first target day of each window.

    Training windows: first target day <= ``train_end``; validation: in
    [``val_start``, ``val_end``]; test: >= ``test_start``. Days are YYYY-MM-DD.
    """

    train_end: str
    val_start: str
    val_end: str
    test_start: str

    @classmethod
    def plan(cls, days: np.ndarray, data: DataConfig) -> DateSplit:
        """Cut the sorted union ``days`` (datetime64, the first target days of every
        member's windows) as :class:`rnnforecast.windows.Split` cuts windows: the last
        ``test_fraction`` of days for test, the last ``val_fraction`` of the rest for
        validation, ``horizon - 1`` days dropped before each. Raises DataError if a part
        would be empty."""
        union = np.unique(np.asarray(days).astype("datetime64[D]"))
        gap = data.horizon - 1
        m = len(union)
        n_test = math.ceil(m * data.test_fraction) if m else 0
        usable = m - n_test - 2 * gap
        n_val = math.ceil(usable * data.val_fraction) if usable > 0 else 0
        n_train = usable - n_val
        if m < MIN_WINDOWS or min(n_test, n_val, n_train) < 1:
            raise DataError(
                f"not enough data: the members' windows cover {m} days, too few for a "
                "train/validation/test split"
            )
        return cls(
            train_end=str(union[n_train - 1]),
            val_start=str(union[n_train + gap]),
            val_end=str(union[n_train + gap + n_val - 1]),
            test_start=str(union[m - n_test]),
        )

    def masks(self, first_target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean (train, validation, test) masks over windows with first target days
        ``first_target`` ``(m,)`` datetime64."""
        day = np.asarray(first_target).astype("datetime64[D]")
        return (
            day <= np.datetime64(self.train_end),
            (day >= np.datetime64(self.val_start)) & (day <= np.datetime64(self.val_end)),
            day >= np.datetime64(self.test_start),
        )

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def pool(parts: list[Dataset]) -> Dataset:
    """The windows of ``parts`` one after another, as one Dataset."""
    return Dataset(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in _FIELDS))


_FIELDS = dataclasses.fields(Dataset)


@dataclass(frozen=True)
class _Member:
    """One member ticker's bars, windows and their parts under the shared split."""

    symbol: str
    frame: pd.DataFrame
    dataset: Dataset
    train: np.ndarray  # boolean masks over the member's windows
    val: np.ndarray
    test: np.ndarray

    def part(self, which: str) -> Dataset:
        return self.dataset.select(getattr(self, which))

    @property
    def naive_scale(self) -> float | None:
        """In-sample naive MAE of the closes up to the last training target (MASE)."""
        last = self.dataset.target_dates[self.train][-1, -1]
        closes = self.frame.loc[: pd.Timestamp(last), "close"].to_numpy(dtype=np.float64)
        return metrics.naive_scale(closes) if len(closes) >= 2 else None


def _members(home: Home, symbols: list[str], data: DataConfig) -> tuple[list[_Member], DateSplit]:
    """Read and window every member, then split them all on the same dates. Raises
    DataError if a member has no bars or no window in a part."""
    frames = {s: home.store.read(s) for s in symbols}
    datasets = {s: build_dataset(frames[s], data) for s in symbols}
    split = DateSplit.plan(np.concatenate([d.target_dates[:, 0] for d in datasets.values()]), data)
    members = []
    for symbol in symbols:
        train, val, test = split.masks(datasets[symbol].target_dates[:, 0])
        for name, mask in (("training", train), ("validation", val), ("test", test)):
            if not mask.any():
                raise DataError(
                    f"{symbol} has no {name} windows in the shared split "
                    f"({split.to_dict()}): its bars do not cover that period"
                )
        members.append(_Member(symbol, frames[symbol], datasets[symbol], train, val, test))
    return members, split


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "run_id": self.run_id,
            "path": str(self.path),
            **pipeline.training_summary(self.history),
            "split": self.split,
            "members": self.members,
            "pool": self.pool,
            "calibration": self.calibration,
            "serving": self.serving,
        }


def _calibrate(config: Config, network: Any, part: Dataset, scalers: Any) -> Any:
    data, cal = config.data, config.calibration
    raw = raw_forecast(network, part.base, data, scalers, data.horizon)
    return fit_calibration(
        raw,
        part.actual,
        part.base,
        data.window,
        cal.interval_level,
        cal.shrink,
        cal.significance,
        adaptive_conformal.DEFAULT,
    )


def _fit_pooled(
    config: Config, train: Dataset, val: Dataset | None, check: Dataset, progress: Progress | None
) -> tuple[Any, Any]:
    """Scalers on the pooled ``train`` windows, then the network: (scalers, _Trained)."""
    data = config.data
    scalers = fit_scalers(train, data)
    trained = pipeline._train_network(
        config,
        encode_inputs(train.features, scalers),
        scale_targets(train.targets, scalers, data),
        None if val is None else encode_inputs(val.features, scalers),
        None if val is None else scale_targets(val.targets, scalers, data),
        encode_inputs(check.features, scalers),
        progress,
    )
    return scalers, trained


def _period(part: Dataset) -> dict[str, Any]:
    """First and last first-target day and number of windows (pooled ones are unsorted)."""
    return pipeline._period(np.sort(part.target_dates[:, 0]))


def _pool_scores(reports: dict[str, Report], pooled: Report) -> dict[str, Any]:
    """The pooled report (price units: members with higher prices weigh more) and the
    geometric mean of the members' rel_mae (each member weighs the same)."""
    ratios = np.array([r.scores.model["rel_mae"] for r in reports.values()], dtype=np.float64)
    finite = bool(np.all(np.isfinite(ratios) & (ratios > 0)))
    return {
        "n": pooled.n,
        **pooled.to_dict(),
        "members_rel_mae_geometric_mean": float(np.exp(np.log(ratios).mean())) if finite else None,
    }


def train_global(
    home: Home,
    tickers: list[str],
    config: Config,
    *,
    name: str | None = None,
    progress: Progress | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
    refit: bool = True,
    promote: bool = True,
) -> GlobalTrainResult:
    """Train one network on the windows of every ticker in ``tickers`` and save it as the
    current model of the group (``name`` or the sorted symbols) and of every member.

    Scored fit: pooled training windows (scalers fitted on them only), early stopping and
    calibration on the pooled validation windows, each member and the pool scored on the
    shared test dates. With ``refit`` the recipe is fitted again on every window, as for
    one ticker. Every member and the group are locked for the run. Raises UsageError (fewer
    than two tickers, a bad symbol or name, "global" normalisation), DataError (a member
    without data or without windows in a part), LockError.
    """
    symbols = sorted({check_ticker(t) for t in tickers})
    if len(symbols) < 2:
        raise UsageError("a global model needs at least two different tickers")
    if config.data.normalise != "window":
        raise UsageError(
            f'data.normalise = "{config.data.normalise}" puts every ticker\'s prices on one '
            'scale; a global model needs data.normalise = "window"'
        )
    group = group_name(symbols, name)
    with contextlib.ExitStack() as stack:
        for lock in [group, *symbols]:
            stack.enter_context(locks.hold(home.locks, f"ticker-{lock}", lock_timeout))
        return _train_group(home, group, symbols, config, progress, refit, promote)


def _train_group(
    home: Home,
    group: str,
    symbols: list[str],
    config: Config,
    progress: Progress | None,
    refit: bool,
    promote: bool,
) -> GlobalTrainResult:
    started = time.perf_counter()
    data = config.data
    members, split = _members(home, symbols, data)
    train, val, test = (pool([m.part(p) for m in members]) for p in ("train", "val", "test"))
    check_batches(
        {"training": len(train), "validation": len(val), "test": len(test)},
        config.train.batch_size,
    )
    scalers, scored = _fit_pooled(config, train, val, test, progress)
    calibration = _calibrate(config, scored.network, val, scalers)
    # Adaptive interval widths of a day depend on the member's days before it.
    factors = {
        m.symbol: pipeline._width_factors(scored.network, m.dataset, config, scalers, calibration)[
            m.test
        ]
        for m in members
    }
    reports = {
        m.symbol: pipeline._assess(
            scored.network,
            m.part("test"),
            config,
            scalers,
            calibration,
            m.naive_scale,
            factors[m.symbol],
        )
        for m in members
    }
    pooled = pipeline._assess(
        scored.network,
        test,
        config,
        scalers,
        calibration,
        width_factor=np.concatenate([factors[m.symbol] for m in members]),
    )
    member_scores = {
        m.symbol: {"test": _period(m.part("test")), "n": r.n, **r.to_dict()}
        for m, r in zip(members, reports.values(), strict=True)
    }
    pool_scores = {"test": _period(test), **_pool_scores(reports, pooled)}

    served_scalers, served, served_calibration = scalers, scored, calibration
    refitted = refit and scored.numpy_check["passed"]
    if refitted:
        everything = pool([m.dataset for m in members])
        served_calibration = _calibrate(config, scored.network, test, scalers)
        recipe = dataclasses.replace(
            config,
            train=dataclasses.replace(
                config.train, epochs=pipeline.refit_epochs(scored.history.best_epoch), patience=0
            ),
        )
        served_scalers, served = _fit_pooled(recipe, everything, None, test, progress)
    last_day = max(str(m.frame.index[-1].date()) for m in members)
    scored_dates = {"trained_through": split.train_end, "calibrated_through": split.val_end}
    serving_record = {
        **(
            {"trained_through": last_day, "calibrated_through": last_day}
            if refitted
            else scored_dates
        ),
        "refit": refitted,
    }
    run_id = new_run_id()
    manifest = _manifest(
        group, run_id, config, members, split, test, train, val, scored, calibration
    )
    manifest.update(
        {
            "calibration": served_calibration.to_dict(),
            "serving": serving_record,
            "numpy_check": served.numpy_check,
            "metrics": {"test": {"members": member_scores, "pool": pool_scores}},
        }
    )
    scored_fit: dict[str, Any] = {
        **scored_dates,
        "training": scored.history.to_dict(),
        "calibration": calibration.to_dict(),
    }
    if refitted:
        scored_fit.update(
            {
                "weights": fits.SCORED_WEIGHTS_FILE,
                "scalers": scalers.to_dict(),
                "numpy_check": scored.numpy_check,
            }
        )
    manifest["fits"] = {
        "scored": scored_fit,
        "served": {**serving_record, "training": served.history.to_dict()},
    }
    served_fit = _as_fitted(served, served_scalers, served_calibration, test)
    scored_as_fitted = _as_fitted(scored, scalers, calibration, test)
    log = (
        f"global model {group} run {run_id} over {', '.join(symbols)}\n"
        f"config {config.to_dict()}\nsplit {split.to_dict()}\n"
        + "".join(
            f"epoch {i + 1:3d} loss {loss:.6g} val_loss {v:.6g}\n"
            for i, (loss, v) in enumerate(
                zip(scored.history.loss, scored.history.val_loss, strict=False)
            )
        )
        + "".join(f"{s} test rel_mae {r.scores.model['rel_mae']:.4f}\n" for s, r in reports.items())
    )

    def write_files(path: Path) -> None:
        pipeline._write_bundle_files(path, served_fit, served.numpy_check["passed"], log)
        if refitted:
            pipeline._save_numpy_weights(path.parent / fits.SCORED_WEIGHTS_FILE, scored_as_fitted)

    manifest["timings"] = {"total_seconds": round(time.perf_counter() - started, 3)}
    path = home.models.save(group, run_id, write_files, served_scalers, manifest, promote=promote)
    if promote:
        for symbol in symbols:
            home.models.set_group(symbol, group)
    return GlobalTrainResult(
        group,
        run_id,
        path,
        split.to_dict(),
        member_scores,
        pool_scores,
        scored.history.to_dict(),
        served_calibration.to_dict(),
        serving_record,
    )


def _as_fitted(trained: Any, scalers: Any, calibration: Any, test: Dataset) -> Any:
    """A pipeline ``_Fitted`` for the bundle writers."""
    return pipeline._Fitted.of(trained, scalers, calibration, test)


def _combined_fingerprint(members: list[_Member]) -> str:
    digest = hashlib.sha256()
    for m in members:
        digest.update(f"{m.symbol}={fingerprint(m.frame)};".encode())
    return "sha256:" + digest.hexdigest()


def _manifest(
    group: str,
    run_id: str,
    config: Config,
    members: list[_Member],
    split: DateSplit,
    test: Dataset,
    train: Dataset,
    val: Dataset,
    scored: Any,
    calibration: Any,
) -> dict[str, Any]:
    data = config.data
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "ticker": group,
        "members": {
            m.symbol: {
                "rows": len(m.frame),
                "first": str(m.frame.index[0].date()),
                "last": str(m.frame.index[-1].date()),
                "fingerprint": fingerprint(m.frame),
                "naive_scale": m.naive_scale,
                "test": _period(m.part("test")),
            }
            for m in members
        },
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "features": list(data.features),
        "target": data.target,
        "window": data.window,
        "horizon": data.horizon,
        "seed": config.train.seed,
        "data": {
            "rows": sum(len(m.frame) for m in members),
            "first": min(str(m.frame.index[0].date()) for m in members),
            "last": max(str(m.frame.index[-1].date()) for m in members),
            "fingerprint": _combined_fingerprint(members),
            "split": split.to_dict(),
            "train": _period(train),
            "validation": _period(val),
            "test": _period(test),
        },
        "training": scored.history.to_dict(),
        "versions": pipeline._library_versions(),
    }


# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalEvaluation:
    group: str
    run_id: str
    members: dict[str, dict[str, Any]]
    pool: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "run_id": self.run_id,
            "fit": "scored",
            "members": self.members,
            "pool": self.pool,
            "warnings": self.warnings,
        }


def serves_group(home: Home, target: str, run_id: str | None = None) -> bool:
    """Whether ``target`` (a ticker or ``@NAME``) resolves to a global model's bundle."""
    if target.strip().startswith("@"):
        return True
    return home.models.owner(check_ticker(target), run_id).startswith("@")


def evaluate(home: Home, target: str, run_id: str | None = None) -> GlobalEvaluation:
    """Score a global model's scored fit on each member's test period and on the pool.

    ``target`` is the group (``@NAME``) or a member ticker it serves. Raises UsageError,
    ModelError (no or bad bundle, or not a global model), DataError (a member's test
    period no longer stored).
    """
    loaded = serving.load(home, target, run_id)
    manifest, config = loaded.bundle.manifest, loaded.config
    members = manifest.get("members")
    if not isinstance(members, dict) or not members:
        raise ModelError(f"{loaded.bundle.path}: not a global model (lists no members)")
    scored = pipeline._scored_fit(loaded)
    reports: dict[str, Report] = {}
    parts: list[Dataset] = []
    widths: list[np.ndarray] = []
    scores: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for symbol, record in members.items():
        frame = home.store.read(symbol)
        test = record["test"]
        part, rep, width = pipeline._assess_period(
            loaded,
            frame,
            scored.network,
            test["start"],
            test["end"],
            scalers=scored.scalers,
            calibration=scored.calibration,
            scale=record.get("naive_scale"),
        )
        reports[symbol], scores[symbol] = rep, {"test": _period(part), "n": rep.n, **rep.to_dict()}
        parts.append(part)
        widths.append(width)
        if fingerprint(frame.loc[record["first"] : record["last"]]) != record["fingerprint"]:
            warnings.append(
                f"the stored bars of {symbol} changed since this model was trained: scores are "
                "on the bars stored now"
            )
    pooled_part = pool(parts)
    pooled = pipeline._assess(
        scored.network,
        pooled_part,
        config,
        scored.scalers,
        scored.calibration,
        width_factor=np.concatenate(widths),
    )
    return GlobalEvaluation(
        manifest["ticker"],
        manifest["run_id"],
        scores,
        {"test": _period(pooled_part), **_pool_scores(reports, pooled)},
        warnings,
    )


# --- run: the nightly job ------------------------------------------------------------------


def run_group(
    home: Home,
    config: Config,
    plan: RunConfig,
    fetched: list[tuple[str, StoreResult]],
    progress: Progress | None,
    lock_timeout: float,
) -> list[pipeline.TickerOutcome]:
    """``run`` with ``global = true``: train one challenger over the ``fetched`` tickers and
    promote it for the group by :func:`rnnforecast.promotion.decide` on the pooled unseen
    days of every member (each member's errors divided by its in-sample naive MAE, so that
    no ticker outweighs the others by its price level). A change of members counts as a
    change of recipe. Returns one outcome per fetched ticker, in order; a failure of the
    group is every member's error."""
    symbols = [symbol for symbol, _ in fetched]
    try:
        group = group_name(symbols, plan.group)
        champion_id = home.models.current(group) if len(symbols) >= 2 else None
        challenger = train_global(
            home,
            symbols,
            config,
            name=plan.group,
            progress=progress,
            lock_timeout=lock_timeout,
            refit=plan.refit,
            promote=False,
        )
        with contextlib.ExitStack() as stack:
            for lock in [group, *sorted(symbols)]:
                stack.enter_context(locks.hold(home.locks, f"ticker-{lock}", lock_timeout))
            promote, reason = _promote(home, group, config, champion_id, challenger)
            if promote:
                home.models.set_current(group, challenger.run_id)
                for symbol in symbols:
                    home.models.set_group(symbol, group)
            deleted = home.models.prune(group, plan.keep)
    except RnnForecastError as exc:
        return [
            pipeline.TickerOutcome(symbol, stored.added, error=pipeline._error(exc))
            for symbol, stored in fetched
        ]
    outcomes = []
    for symbol, stored in fetched:
        scores = challenger.members[symbol]
        outcomes.append(
            pipeline.TickerOutcome(
                symbol,
                stored.added,
                challenger.run_id,
                {"test": scores["test"], "model": scores["model"], "naive": scores["naive"]},
                scores["beats_naive"],
                promote,
                f"global model {group}: {reason}",
                deleted,
                serving=challenger.serving,
            )
        )
    return outcomes


def _promote(
    home: Home, group: str, config: Config, champion_id: str | None, challenger: GlobalTrainResult
) -> tuple[bool, str]:
    """(promote, reason) for the group's challenger against its current model."""
    if champion_id is None:
        pool_mae = challenger.pool["model"]["mae"]
        return True, f"no current model; pooled one-day MAE {pool_mae:.4f}"
    try:
        champion = serving.load(home, group, champion_id)
        members = champion.bundle.manifest.get("members", {})
        mine_all, theirs_all = [], []
        for symbol, record in challenger.members.items():
            frame = home.store.read(symbol)
            theirs, mine = pipeline._unseen_losses(
                home, group, challenger.run_id, champion, frame, record["test"]
            )
            scale = _naive_scale_of(home, group, challenger.run_id, symbol)
            mine_all.append(mine / scale)
            theirs_all.append(theirs / scale)
    except (ModelError, DataError) as exc:
        return True, f"current model {champion_id} cannot be scored ({exc}); replaced"
    same = champion.config == config and sorted(members) == sorted(challenger.members)
    verdict = promotion.decide(
        same, np.concatenate(mine_all), np.concatenate(theirs_all), champion_id
    )
    return verdict.promote, verdict.reason


def _naive_scale_of(home: Home, group: str, run_id: str, symbol: str) -> float:
    """A member's in-sample naive MAE recorded by run ``run_id`` (1 when unknown)."""
    record = home.models.load(group, run_id).manifest["members"][symbol]
    scale = record.get("naive_scale")
    return float(scale) if scale else 1.0
