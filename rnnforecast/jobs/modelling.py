"""Modelling a target: train and evaluate a ticker's own model or a group's global model.

The one place that decides whether tickers are modelled alone or together: ``train`` from
what the caller asks (``group``), ``evaluate`` from what the home holds (whose bundle serves
the target). The command line and the Python API both call it, so they agree. Never prints
or exits; TensorFlow loads only inside the functions that train or score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rnnforecast.config import Config
from rnnforecast.data.tickers import unique_tickers
from rnnforecast.errors import OwnModelOnly, UsageError
from rnnforecast.jobs import executors
from rnnforecast.jobs.outcomes import OnTicker, TickerOutcome, failed_tickers, results_of
from rnnforecast.storage.home import Home

if TYPE_CHECKING:
    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.group_evaluation import GlobalEvaluation
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.training.global_model import GlobalTrainResult, TrainedGroup
    from rnnforecast.training.per_ticker import TrainResult


@dataclass(frozen=True)
class Training:
    """What :func:`train` made: with a group, its global model (``group``, and no
    ``tickers``); else one outcome per ticker, in the order named (its own model, or the
    failure that stopped it while the others went on)."""

    tickers: list[TickerOutcome[TrainResult]] = field(default_factory=list)
    group: GlobalTrainResult | None = None

    @property
    def failed(self) -> list[str]:
        """The tickers whose training failed, in order (none for a group: it raises)."""
        return failed_tickers(self.tickers)

    def results(self) -> list[TrainResult]:
        """Each ticker's TrainResult, in order; PartialFailure naming the failed tickers
        and why, if any failed (the others' models are saved); its exit code is the one the
        failures share, or 7 when they differ
        (:func:`~rnnforecast.jobs.outcomes.results_of`)."""
        return results_of(self.tickers)


def train(
    home: Home,
    tickers: Sequence[str],
    config: Config,
    *,
    group: str | bool = False,
    refit: bool = True,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    progress: Progress | None = None,
    on_done: Callable[[TickerOutcome[TrainResult]], None] | None = None,
    on_ticker: OnTicker | None = None,
) -> Training:
    """Train ``tickers`` with ``config`` and save what was trained as their current model.

    ``group`` False: one model per ticker (symbols checked and upper-cased, each once), one
    job each through :func:`rnnforecast.jobs.executors.train_many` (``workers`` processes,
    or the ``executor`` "ray" at ``address``; in this process ``on_ticker`` as each ticker
    begins and ``progress`` after each epoch; ``on_done`` after each ticker when there are
    several). A ticker that fails does
    not stop the others; a sole ticker's failure is raised. ``group`` True or a name
    (``"NAME"`` or ``"@NAME"``): ONE global model of the tickers, in this process, saved
    under that group (True: the sorted symbols joined by "+") and served for each member.
    ``refit`` fits the recipe again on every window after scoring. Raises UsageError (a bad
    ticker, executor or group; workers or an executor for a group; fewer than two tickers
    in a group), DataError, LockError, and a sole ticker's error.
    """
    symbols = unique_tickers(list(tickers))
    if group is not False:
        if workers != 1:
            raise UsageError("a global model trains one network: no workers")
        name = group if isinstance(group, str) else None
        with executors.pool_for(1, executor, address, progress) as pool:
            return Training(group=_train_group(home, symbols, config, name, refit, pool))
    sole = len(symbols) == 1
    with executors.pool_for(workers, executor, address, progress) as pool:
        outcomes = executors.train_many(
            home,
            symbols,
            config,
            pool,
            on_done=None if sole else on_done,
            refit=refit,
            on_ticker=on_ticker,
        )
    if sole and outcomes[0].error is not None:
        raise outcomes[0].error.exception()
    return Training(tickers=outcomes)


def _train_group(
    home: Home,
    symbols: list[str],
    config: Config,
    name: str | None,
    refit: bool,
    pool: executors.Pool,
) -> GlobalTrainResult:
    """One global model of ``symbols``, fitted as one task of ``pool`` (in this process, or
    on a Ray node) and saved as the current model of the group and every member, the group
    and its members locked for the run; raises what stopped it."""
    from rnnforecast.training import global_model

    def save(trained: TrainedGroup) -> GlobalTrainResult:
        return global_model.save_group(home, trained, promote=True)

    return executors.fit_group_on(pool, home, symbols, config, name, refit, save)


def evaluate(
    home: Home,
    target: str,
    run_id: str | None = None,
    *,
    folds: int = 0,
    plot: Path | None = None,
    own_model: bool = False,
    progress: Progress | None = None,
) -> EvaluationResult | GlobalEvaluation:
    """Score the model that serves ``target`` (a ticker, or a group as ``@NAME``), run
    ``run_id`` (default: current), on its held-out test period.

    A ticker served by its own model: its :class:`~rnnforecast.jobs.evaluation.EvaluationResult`
    (``folds`` > 0 adds a walk-forward backtest, ``progress`` called after each of its
    epochs; ``plot`` writes a PNG of the test period). A group, or a ticker a global model
    serves: the group's :class:`~rnnforecast.jobs.group_evaluation.GlobalEvaluation` (every
    member and the pool). ``own_model`` says the caller needs the ticker's own model (daily
    forecasts); it, ``folds`` or ``plot`` with a global model raises OwnModelOnly (a
    UsageError) before any scoring. Raises UsageError (bad ticker or group), ModelError (no
    or bad bundle), DataError (test period no longer stored).
    """
    from rnnforecast.jobs import evaluation, group_evaluation

    if group_evaluation.serves_group(home, target, run_id):
        if own_model or folds or plot is not None:
            raise OwnModelOnly(target.strip())
        return group_evaluation.evaluate(home, target, run_id)
    return evaluation.evaluate(home, target, run_id, folds=folds, progress=progress, plot=plot)
