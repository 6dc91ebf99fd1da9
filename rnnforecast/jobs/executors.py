"""Where fits run: in this process, in local worker processes, or on a Ray cluster.

A fit is a pure function of plain data (:func:`fit_job`, :func:`fit_group_job`): the
process that owns the home (the driver) reads each ticker's bars under its lock and sends
them, with the recipe, in a :class:`FitRequest`; the worker trains and returns the bundle's
files in memory (:class:`rnnforecast.training.per_ticker.Trained`); the driver saves it,
promotes and prunes. No worker opens the home, so no node needs to see it (nor a shared
filesystem, where SQLite's WAL mode is not safe).

Workers set TensorFlow's thread pools so that they share the cores instead of fighting over
them; with TensorFlow's deterministic ops the results do not depend on the thread count,
so a ticker trained in a worker gets the same model as one trained alone with the same seed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pandas as pd

from rnnforecast.config import Config
from rnnforecast.errors import EnvironmentFault, UsageError
from rnnforecast.jobs.outcomes import Failure, OnTicker, Record, TickerOutcome, TickerTurn
from rnnforecast.nn.threads import limit_threads
from rnnforecast.storage.home import Home
from rnnforecast.training import fan_peers

if TYPE_CHECKING:  # training is imported by the job that trains
    from rnnforecast.data.store import TickerInfo
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.training.global_model import TrainedGroup
    from rnnforecast.training.per_ticker import Trained, TrainResult
    from rnnforecast.training.warm import WarmStart

EXECUTORS = ("local", "ray")

R = TypeVar("R", bound=Record)
T = TypeVar("T")


@dataclass(frozen=True)
class FitRequest:
    """One ticker's fit as a worker receives it: its bars as the driver's store read them
    (``info``: the store's record of them), the recipe as plain data (``Config.to_dict``),
    whether to refit, the current model's fits to fine-tune (None: from scratch), and the
    bars of the peers its fan network learns from too (:mod:`rnnforecast.training.fan_peers`)."""

    symbol: str
    frame: pd.DataFrame
    info: TickerInfo | None
    config: dict[str, Any]
    refit: bool = True
    warm_start: WarmStart | None = None
    peers: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupRequest:
    """A global model's fit as a worker receives it: the group, every member's bars
    (sorted by symbol), the recipe as plain data, whether to refit."""

    group: str
    frames: dict[str, pd.DataFrame]
    config: dict[str, Any]
    refit: bool = True


def fit_job(request: FitRequest, progress: Progress | None = None) -> TickerOutcome[Trained]:
    """Fit one ticker in whatever process runs this; never raises our errors or outside
    faults: they are the outcome's failure (bugs are raised). ``progress`` is called after
    each epoch (in this process only: a callback does not travel)."""
    from rnnforecast.config import config_from_dict
    from rnnforecast.training import per_ticker

    try:
        trained = per_ticker.fit_ticker(
            request.symbol,
            request.frame,
            request.info,
            config_from_dict(request.config),
            progress,
            request.refit,
            request.warm_start,
            request.peers,
        )
    except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
        return TickerOutcome(request.symbol, error=Failure.of(exc))
    return TickerOutcome(request.symbol, trained)


def fit_group_job(
    request: GroupRequest, progress: Progress | None = None
) -> TickerOutcome[TrainedGroup]:
    """Fit one global model in whatever process runs this (see :func:`fit_job`)."""
    from rnnforecast.config import config_from_dict
    from rnnforecast.training import global_model

    try:
        trained = global_model.fit_group(
            request.group, request.frames, config_from_dict(request.config), progress, request.refit
        )
    except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
        return TickerOutcome(request.group, error=Failure.of(exc))
    return TickerOutcome(request.group, trained)


Job = Callable[[Any, "Progress | None"], TickerOutcome[Any]]


class Pool(Protocol):
    """Where fits run. ``window``: how many requests the driver keeps in flight (its bars in
    memory at once); ``submit`` starts ``job(request)`` and returns its future."""

    window: int

    def submit(self, job: Job, request: Any) -> Future[TickerOutcome[Any]]: ...


class InProcess:
    """Fits in this process, one at a time, calling ``progress`` after each epoch."""

    window = 1

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress

    def submit(self, job: Job, request: Any) -> Future[TickerOutcome[Any]]:
        future: Future[TickerOutcome[Any]] = Future()
        future.set_result(job(request, self.progress))
        return future


class LocalPool:
    """Fits in ``workers`` spawned processes of this machine, the cores shared among them."""

    def __init__(self, executor: ProcessPoolExecutor, workers: int) -> None:
        self.executor = executor
        self.window = 2 * workers  # one waiting per worker: no worker idles between fits

    def submit(self, job: Job, request: Any) -> Future[TickerOutcome[Any]]:
        return self.executor.submit(job, request, None)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Cores divided among the workers, at least one thread each."""
    return max(1, (cores or os.cpu_count() or 1) // max(workers, 1))


def check(workers: int = 1, executor: str = "local", address: str | None = None) -> None:
    """UsageError unless ``workers``, ``executor`` and ``address`` make a pool: a known
    executor, workers at least 1, an address only for Ray (which is not imported here)."""
    if executor not in EXECUTORS:
        raise UsageError(f"the executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if address is not None and executor != "ray":
        raise UsageError("an address is for the ray executor")


@contextmanager
def pool_for(
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    progress: Progress | None = None,
) -> Iterator[Pool]:
    """The pool of ``workers`` processes on this machine (one: :class:`InProcess`) or of the
    ``executor`` "ray" at ``address`` (None: a Ray instance of its own on this machine; see
    :mod:`rnnforecast.jobs.ray_cluster`), closed on exit. Raises UsageError (a bad executor,
    workers below 1, an address without Ray, a missing Ray), SourceError (a cluster that
    cannot be reached or runs another version)."""
    check(workers, executor, address)
    if executor == "ray":
        from rnnforecast.jobs import ray_cluster

        with ray_cluster.connected(address) as pool:
            yield pool
        return
    if workers == 1:
        yield InProcess(progress)
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=limit_threads,
        initargs=(threads_per_worker(workers),),
    ) as processes:
        yield LocalPool(processes, workers)


def fit_all(
    names: list[str],
    prepare: Callable[[int], Any],
    finish: Callable[[int, Any], R],
    pool: Pool,
    job: Job = fit_job,
    on_done: Callable[[TickerOutcome[R]], None] | None = None,
    on_ticker: OnTicker | None = None,
    hold: Callable[[int], AbstractContextManager[Any]] | None = None,
) -> list[TickerOutcome[R]]:
    """Fit each of ``names`` on ``pool``: ``prepare(i)`` (on the driver) makes the request of
    ``names[i]``, ``job`` fits it on the pool, ``finish(i, trained)`` (on the driver) saves
    what came back; ``hold(i)`` (a lock) is held from before ``prepare`` to after ``finish``.
    At most ``pool.window`` requests are in flight; each is finished as soon as it comes
    back. A name whose step fails (our errors and outside faults) does not stop the others;
    outcomes in the order of ``names``, ``on_done`` called as each is known. ``on_ticker``
    is told as each name's request is made, and (``done``) as its outcome is known."""
    outcomes: dict[int, TickerOutcome[R]] = {}

    def record(i: int, outcome: TickerOutcome[R]) -> None:
        outcomes[i] = outcome
        if on_ticker is not None:
            on_ticker(TickerTurn("train", i + 1, len(names), names[i], done=True))
        if on_done is not None:
            on_done(outcome)

    pending: dict[Future[TickerOutcome[Any]], tuple[int, ExitStack]] = {}
    upcoming = iter(range(len(names)))
    more = True
    while more or pending:
        while more and len(pending) < pool.window:
            i = next(upcoming, None)
            if i is None:
                more = False
                break
            if on_ticker is not None:
                on_ticker(TickerTurn("train", i + 1, len(names), names[i]))
            held = ExitStack()
            try:
                if hold is not None:
                    held.enter_context(hold(i))
                pending[pool.submit(job, prepare(i))] = (i, held)
            except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
                held.close()
                record(i, TickerOutcome(names[i], error=Failure.of(exc)))
        done, _ = wait(pending, return_when=FIRST_COMPLETED) if pending else (set(), set())
        for future in done:
            i, held = pending.pop(future)
            with held:
                outcome = _finished(names[i], future, functools.partial(finish, i))
            record(i, outcome)
    return [outcomes[i] for i in range(len(names))]


def _finished(
    name: str, future: Future[TickerOutcome[Any]], finish: Callable[[Any], R]
) -> TickerOutcome[R]:
    """The outcome of ``name``'s fit: its failure, or what ``finish`` made of its result."""
    try:
        fitted = future.result()
    except BrokenProcessPool as exc:
        error = EnvironmentFault(f"a worker process died while fitting {name} ({exc})")
        return TickerOutcome(name, error=Failure.of(error))
    if fitted.error is not None or fitted.result is None:
        return TickerOutcome(name, error=fitted.error)
    try:
        return TickerOutcome(name, finish(fitted.result))
    except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
        return TickerOutcome(name, error=Failure.of(exc))


def train_many(
    home: Home,
    tickers: list[str],
    config: Config,
    pool: Pool,
    *,
    on_done: Callable[[TickerOutcome[TrainResult]], None] | None = None,
    refit: bool = True,
    on_ticker: OnTicker | None = None,
) -> list[TickerOutcome[TrainResult]]:
    """Train each of ``tickers`` (checked symbols) with ``config`` on ``pool`` and save each
    as its current model; results in the order of ``tickers``. Each ticker is locked from
    reading its bars to saving its bundle. ``on_ticker`` is told as each ticker's request
    is made and as its outcome is known. A ticker that fails does not stop the others."""
    from rnnforecast.training import per_ticker

    plain = config.to_dict()

    def prepare(i: int) -> FitRequest:
        frame, info = home.store.read(tickers[i]), home.store.info(tickers[i])
        peers = fan_peers.read_peers(home, tickers[i], config)
        return FitRequest(tickers[i], frame, info, plain, refit, peers=peers)

    def finish(_: int, trained: Trained) -> TrainResult:
        return per_ticker.save_trained(home, trained, promote=True)

    return fit_all(
        tickers,
        prepare,
        finish,
        pool,
        fit_job,
        on_done,
        on_ticker,
        lambda i: home.lock(tickers[i]),
    )


def fit_group_on(
    pool: Pool,
    home: Home,
    tickers: list[str],
    config: Config,
    name: str | None,
    refit: bool,
    finish: Callable[[TrainedGroup], T],
) -> T:
    """What ``finish`` makes of one global model of ``tickers`` (group ``name``, or their
    sorted symbols): the group and its members locked, their bars read, the model fitted as
    one task of ``pool``, then ``finish`` (saving it) before the locks are released. Raises
    what stopped it (UsageError, DataError, LockError, ...)."""
    from rnnforecast.training import global_model

    group, symbols = global_model.group_of(tickers, config, name)
    with home.lock_all([group, *symbols]):
        frames = {s: home.store.read(s) for s in symbols}
        request = GroupRequest(group, frames, config.to_dict(), refit)
        [outcome] = fit_all([group], lambda _: request, _kept, pool, fit_group_job)
        if outcome.error is not None:
            raise outcome.error.exception()
        trained: TrainedGroup | None = outcome.result
        assert trained is not None  # an outcome holds a result or an error
        return finish(trained)


def _kept(_: int, trained: R) -> R:
    """A ``finish`` that keeps what came back as it is."""
    return trained
