"""The nightly job: fetch every ticker of a ``[run]`` plan, train a challenger for each, make
it current by the rule of :mod:`rnnforecast.jobs.promotion`, and delete runs beyond the plan's
``keep``. One ticker failing does not stop the others.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config, RunConfig
from rnnforecast.data import calendars
from rnnforecast.data.store import StoreResult
from rnnforecast.errors import DataError, ModelError, RnnForecastError
from rnnforecast.forecast.windows import fingerprint
from rnnforecast.jobs import executors, hindcast, ingest, promotion
from rnnforecast.jobs.outcomes import Failure, OnTicker, TickerOutcome
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.training import fan_peers, global_model
from rnnforecast.training.per_ticker import Trained, TrainResult, save_trained

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.data.throttle import WaitClock
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.training.warm import WarmStart


@dataclass(frozen=True)
class NightlyResult:
    """What ``run`` did for one ticker: the result of its outcome, complete when it went
    through; a ticker that failed keeps what was done before the failure (the rows fetched,
    or nothing)."""

    ticker: str
    rows_added: int | None = None
    run_id: str | None = None
    metrics: dict[str, Any] | None = None
    beats_naive: bool | None = None
    promoted: bool = False
    reason: str = ""
    deleted: list[str] = field(default_factory=list)
    serving: dict[str, Any] | None = None
    # the manifest's warm_start record, or None with why the challenger trained from scratch
    warm_start: dict[str, Any] | None = None
    from_scratch: str | None = None
    interval_method: str | None = None  # the challenger's (None if it failed)
    # what the promotion compared (promotion.record); None when nothing was compared
    promotion: dict[str, Any] | None = None
    # the batch the challenger trained with (rnnforecast.training.batches; None if it failed)
    batch_size: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, and ``error`` (null: the outcome fills it in if the ticker failed)
        after ``deleted``: ``run --json`` names every key for every ticker, in this order."""
        record = dataclasses.asdict(self)
        keys = list(record)
        cut = keys.index("deleted") + 1
        return {
            **{key: record[key] for key in keys[:cut]},
            "error": None,
            **{key: record[key] for key in keys[cut:]},
        }


RunOutcome = TickerOutcome[NightlyResult]


def run(
    home: Home,
    config: Config,
    plan: RunConfig,
    *,
    progress: Progress | None = None,
    clock: calendars.Clock = calendars.system_clock,
    warm_epochs: int | None = None,
    on_ticker: OnTicker | None = None,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    waits: WaitClock | None = None,
) -> list[RunOutcome]:
    """The nightly job: for each ticker, fetch new bars, train a challenger (refitted on
    every bar unless ``plan.refit`` is off), and make it current by the rule of
    :mod:`rnnforecast.jobs.promotion`: compared with the current model on what each serves
    (point and interval) on the days that model never saw, a challenger of the same recipe
    is promoted unless significantly worse, one of a changed recipe only if its served
    intervals are significantly better.

    One ticker failing does not stop the others: its outcome carries the error. Every ticker
    is fetched before any is trained, so that no download runs after TensorFlow is loaded
    (Yahoo downloads also run in a child process: see rnnforecast.data.yahoo). Each ticker is
    locked while it is fetched, and again from reading its bars for training to pruning.
    Old runs beyond ``plan.keep`` are deleted. Raises
    UsageError before any work if a ticker names an unknown calendar, or for ``workers``,
    ``executor`` or ``address`` (:func:`~rnnforecast.jobs.executors.check`). With
    ``plan.warm_start`` a challenger of the current model's recipe is that model fine-tuned
    (:mod:`rnnforecast.training.warm`; ``warm_epochs`` overrides its epoch budget).
    ``on_ticker`` is told as each ticker's fetch begins and ends, then as each fetched
    ticker's training begins and ends (not for a global model: one network), ``progress``
    after each epoch (in this process only). The tickers are fetched at once, within
    ``plan.fetch``'s rate limit (``waits``: the clock its pauses and Yahoo's retries wait on).

    The fits run where :func:`rnnforecast.jobs.executors.pool_for` says (``workers``
    processes here, or the ``executor`` "ray" at ``address``: one task per ticker, or one for
    a global model); the bars travel to them and the bundles come back, so no worker opens
    the home. Saving, promoting and pruning happen here, each ticker locked from reading its
    bars to pruning.
    """
    executors.check(workers, executor, address)
    jobs = _fetch_jobs(plan, clock)
    outcomes: dict[int, RunOutcome] = {}
    fetched: dict[int, tuple[str, StoreResult]] = {}
    got = ingest.fetch_many(home, jobs, limit=plan.fetch, on_ticker=on_ticker, waits=waits)
    for i, one in enumerate(got):
        if one.result is not None:
            fetched[i] = (one.ticker, one.result)  # the checked symbol
        else:
            name = plan.tickers[i].ticker
            outcomes[i] = RunOutcome(name, NightlyResult(name), one.error)
    order = sorted(fetched)
    with executors.pool_for(workers, executor, address, progress) as pool:
        if plan.global_model:  # one network over every fetched ticker
            grouped = run_group(home, config, plan, [fetched[i] for i in order], pool)
        else:
            nights = _Nights(home, config, plan, [fetched[i] for i in order], warm_epochs)
            grouped = executors.fit_all(
                [symbol for symbol, _ in nights.fetched],
                nights.prepare,
                nights.finish,
                pool,
                on_ticker=on_ticker,
                hold=lambda k: home.lock(nights.fetched[k][0]),
            )
            names = [plan.tickers[i].ticker for i in order]  # as the plan spells them
            grouped = [
                o if o.error is None else RunOutcome(n, NightlyResult(n), o.error)
                for n, o in zip(names, grouped, strict=True)
            ]
    outcomes.update(zip(order, grouped, strict=True))
    return [outcomes[i] for i in range(len(plan.tickers))]


def _fetch_jobs(plan: RunConfig, clock: calendars.Clock) -> list[ingest.FetchJob]:
    """The fetch of each ticker of ``plan``, in order; UsageError for an unknown calendar
    before any is fetched."""
    return [
        ingest.FetchJob(
            job.ticker,
            job.source,
            ingest.FetchOptions(
                calendar=calendars.check_code(job.calendar) if job.calendar is not None else None,
                clock=clock,
            ),
        )
        for job in plan.tickers
    ]


def _failed(ticker: str, exc: Exception, rows_added: int | None = None) -> RunOutcome:
    """The outcome of a ticker that failed with ``exc`` after adding ``rows_added`` rows
    (None: before its fetch went through); raises ``exc`` again if it is a bug."""
    return RunOutcome(ticker, NightlyResult(ticker, rows_added), Failure.of(exc))


@dataclass
class _Nights:
    """The training step of ``run`` for the ``fetched`` tickers (in the plan's order):
    :meth:`prepare` (the driver reads a ticker's bars and plans its warm start) and
    :meth:`finish` (the driver saves the challenger, promotes it or not, and prunes) around
    a fit that may run anywhere, the ticker locked from one to the other."""

    home: Home
    config: Config
    plan: RunConfig
    fetched: list[tuple[str, StoreResult]]
    warm_epochs: int | None
    champions: dict[int, tuple[str | None, bool, WarmStart | None, str]] = field(
        default_factory=dict
    )

    def prepare(self, k: int) -> executors.FitRequest:
        symbol = self.fetched[k][0]
        home, config = self.home, self.config
        # the ticker is locked (fit_all holds it) from here to the end of finish
        champion_id = home.models.current(symbol)
        warm_start, from_scratch = None, "warm start is off"
        old_basis = champion_id is not None and _on_old_basis(home, symbol, champion_id)
        if old_basis:  # neither its weights nor its scalers fit the re-adjusted prices
            from_scratch = f"the bars current model {champion_id} was trained on were re-adjusted"
        elif self.plan.warm_start:
            from rnnforecast.training import warm

            warm_start, from_scratch = warm.plan(
                home, symbol, champion_id, config, self.warm_epochs
            )
        self.champions[k] = (champion_id, old_basis, warm_start, from_scratch)
        return executors.FitRequest(
            symbol,
            home.store.read(symbol),
            home.store.info(symbol),
            config.to_dict(),
            self.plan.refit,
            warm_start,
            fan_peers.read_peers(home, symbol, config),
        )

    def finish(self, k: int, trained: Trained) -> NightlyResult:
        stored = self.fetched[k][1]
        challenger = save_trained(self.home, trained, promote=False)
        return _judged(self.home, self.config, self.plan, stored, challenger, self.champions[k])


def _judged(
    home: Home,
    config: Config,
    plan: RunConfig,
    stored: StoreResult,
    challenger: TrainResult,
    champion: tuple[str | None, bool, WarmStart | None, str],
) -> NightlyResult:
    """Promote the saved ``challenger`` or not, against the ``champion`` (the current run id
    when its bars were read, whether they were re-adjusted since, and the warm start planned
    from it with why not), and prune (the caller holds the ticker's lock)."""
    symbol = challenger.ticker
    champion_id, old_basis, warm_start, from_scratch = champion
    period = challenger.test
    mine = challenger.report.steps[0]["model"]["mae"]
    metrics = {"test": period, **challenger.report.scores.to_dict()}
    where = f"on {period['start']} to {period['end']} ({period['n']} days)"
    promote, reason = True, f"no current model; one-day MAE {mine:.4f} {where}"
    compared = None
    if old_basis:
        reason = f"current model {champion_id} was trained on bars since re-adjusted; replaced"
    elif champion_id is not None:
        try:
            current = loading.load(home, symbol, champion_id)
            frame = home.store.read(symbol)
            theirs, ours = _unseen_served(home, symbol, challenger.run_id, current, frame, period)
        except (ModelError, DataError) as exc:
            reason = f"current model {champion_id} cannot be scored ({exc}); replaced"
        else:
            verdict = promotion.decide(current.config == config, ours, theirs, champion_id)
            promote, reason = verdict.promote, verdict.reason
            compared = promotion.record(verdict, ours, theirs)
    if promote:
        home.models.set_current(symbol, challenger.run_id)
    deleted = home.models.prune(symbol, plan.keep)
    return NightlyResult(
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
        interval_method=challenger.interval_method,
        promotion=compared,
        batch_size=None if challenger.batch is None else challenger.batch.to_dict(),
    )


def _on_old_basis(home: Home, symbol: str, run_id: str) -> bool:
    """Whether the stored bars of the period run ``run_id`` was trained on are no longer
    those it was trained on (its manifest's fingerprint): the source re-adjusted its history
    (a split, a dividend) since. False when that cannot be told (the promotion step then
    reports why the model cannot be scored)."""
    try:
        data = home.models.load(symbol, run_id).manifest.data
        frame = home.store.read(symbol)
    except (ModelError, DataError):
        return False
    if data.fingerprint is None or data.first is None or data.last is None:
        return False
    return fingerprint(frame.loc[data.first : data.last]) != data.fingerprint


def _unseen_served(
    home: Home,
    symbol: str,
    challenger_id: str,
    champion: loading.Loaded,
    frame: pd.DataFrame,
    period: dict[str, Any],
    member: str | None = None,
) -> tuple[promotion.Served, promotion.Served]:
    """What the current model served (its served fit and intervals) and what the challenger
    would have served (its scored fit, out of sample there, and its intervals: see
    :mod:`rnnforecast.jobs.hindcast`) on the days of the challenger's test period that the
    current model never saw, matched by day (a global model's ``member``). Raises ModelError
    or DataError if a bundle cannot be loaded or run."""
    after = champion.bundle.manifest.serving.seen_through
    challenger = loading.load(home, symbol, challenger_id)
    sides = ((champion, champion.fitted("served")), (challenger, challenger.fitted("scored")))
    served = [
        hindcast.served_days(
            loaded,
            model,
            frame,
            period["start"],
            period["end"],
            after,
            member,
        )
        for loaded, model in sides
    ]
    common = sorted(set(served[0].dates.tolist()) & set(served[1].dates.tolist()))
    return _on_days(served[0], common), _on_days(served[1], common)


def _on_days(days: hindcast.Hindcast, common: list[Any]) -> promotion.Served:
    """The per-day losses of ``days`` on the days ``common`` (in that order)."""
    where = {day: i for i, day in enumerate(days.dates.tolist())}
    pick = np.array([where[day] for day in common], dtype=np.int64)
    return promotion.Served(
        days.interval_scores()[pick], days.abs_errors()[pick], days.covered()[pick], days.level
    )


# --- a global model's nightly job --------------------------------------------------------


def run_group(
    home: Home,
    config: Config,
    plan: RunConfig,
    fetched: list[tuple[str, StoreResult]],
    pool: executors.Pool,
) -> list[RunOutcome]:
    """``run`` with ``global = true``: train one challenger over the ``fetched`` tickers (one
    task of ``pool``) and
    promote it for the group by :func:`rnnforecast.jobs.promotion.decide` on the pooled unseen
    days of every member (each member's served interval scores and errors divided by its
    in-sample naive MAE, so that no ticker outweighs the others by its price level). A change
    of members counts as a change of recipe. Returns one outcome per fetched ticker, in
    order; a failure of the group is every member's error."""
    symbols = [symbol for symbol, _ in fetched]

    def judged(
        trained: global_model.TrainedGroup,
    ) -> tuple[global_model.GlobalTrainResult, bool, str, dict[str, Any] | None, list[str]]:
        group = trained.result.group  # the group and its members are locked
        champion_id = home.models.current(group)
        challenger = global_model.save_group(home, trained, promote=False)
        promote, reason, compared = _promote(home, group, config, champion_id, challenger)
        if promote:
            home.models.set_current(group, challenger.run_id)
            for symbol in symbols:
                home.models.set_group(symbol, group)
        return challenger, promote, reason, compared, home.models.prune(group, plan.keep)

    try:
        challenger, promote, reason, compared, deleted = executors.fit_group_on(
            pool, home, symbols, config, plan.group, plan.refit, judged
        )
        group = challenger.group
    except RnnForecastError as exc:
        return [_failed(symbol, exc, stored.added) for symbol, stored in fetched]
    outcomes: list[RunOutcome] = []
    for symbol, stored in fetched:
        scores = challenger.members[symbol]
        outcomes.append(
            RunOutcome(
                symbol,
                NightlyResult(
                    symbol,
                    stored.added,
                    challenger.run_id,
                    {"test": scores["test"], "model": scores["model"], "naive": scores["naive"]},
                    scores["beats_naive"],
                    promote,
                    f"global model {group}: {reason}",
                    deleted,
                    serving=challenger.serving,
                    interval_method=challenger.interval_method.get(symbol),
                    promotion=compared,
                    batch_size=None if challenger.batch is None else challenger.batch.to_dict(),
                ),
            )
        )
    return outcomes


def _promote(
    home: Home,
    group: str,
    config: Config,
    champion_id: str | None,
    challenger: global_model.GlobalTrainResult,
) -> tuple[bool, str, dict[str, Any] | None]:
    """(promote, reason, the promotion record or None) for the group's challenger against
    its current model: what each served on every member's unseen days, pooled, each
    member's scores divided by its in-sample naive MAE."""
    if champion_id is None:
        pool_mae = challenger.pool["model"]["mae"]
        return True, f"no current model; pooled one-day MAE {pool_mae:.4f}", None
    try:
        champion = loading.load(home, group, champion_id)
        members = champion.bundle.manifest.members or {}
        ours_all, theirs_all = [], []
        for symbol, record in challenger.members.items():
            frame = home.store.read(symbol)
            theirs, ours = _unseen_served(
                home, group, challenger.run_id, champion, frame, record["test"], symbol
            )
            scale = _naive_scale_of(home, group, challenger.run_id, symbol)
            ours_all.append(_scaled(ours, scale))
            theirs_all.append(_scaled(theirs, scale))
    except (ModelError, DataError) as exc:
        return True, f"current model {champion_id} cannot be scored ({exc}); replaced", None
    same = champion.config == config and sorted(members) == sorted(challenger.members)
    ours, theirs = _pooled(ours_all), _pooled(theirs_all)
    verdict = promotion.decide(same, ours, theirs, champion_id)
    return verdict.promote, verdict.reason, promotion.record(verdict, ours, theirs)


def _scaled(served: promotion.Served, scale: float) -> promotion.Served:
    return dataclasses.replace(
        served, interval_score=served.interval_score / scale, abs_error=served.abs_error / scale
    )


def _pooled(parts: list[promotion.Served]) -> promotion.Served:
    """The members' days one after another (the level of the first: one recipe's)."""
    return promotion.Served(
        np.concatenate([p.interval_score for p in parts]),
        np.concatenate([p.abs_error for p in parts]),
        np.concatenate([p.covered for p in parts]),
        parts[0].level if parts else 0.8,
    )


def _naive_scale_of(home: Home, group: str, run_id: str, symbol: str) -> float:
    """A member's in-sample naive MAE recorded by run ``run_id`` (1 when unknown)."""
    members = home.models.load(group, run_id).manifest.members or {}
    scale = members[symbol].naive_scale if symbol in members else None
    return float(scale) if scale else 1.0
