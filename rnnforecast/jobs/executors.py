"""Running one job per ticker: in this process, in local worker processes, or on Ray.

Each job is a plain function of picklable arguments that opens the home folder itself, so
the same code runs in a worker process or on a Ray node; the home folder must then be on
storage every worker sees (a shared filesystem). Workers set TensorFlow's thread pools so
that ``workers`` processes share the cores instead of fighting over them; with TensorFlow's
deterministic ops the results do not depend on the thread count, so a ticker trained in a
worker gets the same model as one trained alone with the same seed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from rnnforecast.config import Config
from rnnforecast.errors import UsageError
from rnnforecast.jobs.outcomes import Failure, OnTicker, TickerOutcome, TickerTurn
from rnnforecast.nn.threads import limit_threads
from rnnforecast.storage.home import Home

if TYPE_CHECKING:  # training is imported by the job that trains
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.training.per_ticker import TrainResult

EXECUTORS = ("local", "ray")


def train_job(
    home: Home,
    ticker: str,
    config: dict[str, Any],
    refit: bool = True,
    progress: Progress | None = None,
) -> TickerOutcome[TrainResult]:
    """Train one ticker in whatever process runs this (``home`` and ``config`` travel by
    pickle, and so does the outcome; the home carries the lock wait); never raises our
    errors or outside faults: they are the outcome's failure. ``progress`` is called after
    each epoch (in this process only: a callback does not travel)."""
    from rnnforecast.config import config_from_dict
    from rnnforecast.training import per_ticker

    try:
        result = per_ticker.train(
            home, ticker, config_from_dict(config), progress=progress, refit=refit
        )
    except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
        return TickerOutcome(ticker, error=Failure.of(exc))
    return TickerOutcome(ticker, result)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Cores divided among the workers, at least one thread each."""
    return max(1, (cores or os.cpu_count() or 1) // max(workers, 1))


def train_many(
    home: Home,
    tickers: list[str],
    config: Config,
    *,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    on_done: Callable[[TickerOutcome[TrainResult]], None] | None = None,
    refit: bool = True,
    progress: Progress | None = None,
    on_ticker: OnTicker | None = None,
) -> list[TickerOutcome[TrainResult]]:
    """Train each ticker with ``config``; results in the order of ``tickers``.

    ``local`` with one worker trains in this process, one ticker after the other, calling
    ``on_ticker`` as each begins and ``progress`` after each epoch; with more, in that many
    spawned processes. ``ray``
    sends one task per ticker to the Ray cluster at ``address`` (default: a local Ray
    instance), one CPU each. A ticker that fails does not stop the others. Raises
    UsageError for a bad executor or a missing Ray.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"the executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    args = [(home, ticker, config.to_dict(), refit) for ticker in tickers]
    if executor == "ray":
        return _on_ray(args, address, on_done)
    if address is not None:
        raise UsageError("an address is for the ray executor")
    if workers == 1:
        results: list[TickerOutcome[TrainResult]] = []
        for index, arg in enumerate(args, 1):
            if on_ticker is not None:
                on_ticker(TickerTurn("train", index, len(args), arg[1]))
            results.append(train_job(*arg, progress=progress))
            if on_done:
                on_done(results[-1])
        return results
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=limit_threads,
        initargs=(threads_per_worker(workers),),
    ) as pool:
        futures = [pool.submit(train_job, *arg) for arg in args]
        results = []
        for future in futures:
            results.append(future.result())
            if on_done:
                on_done(results[-1])
        return results


def _on_ray(
    args: list[tuple[Any, ...]],
    address: str | None,
    on_done: Callable[[TickerOutcome[TrainResult]], None] | None,
) -> list[TickerOutcome[TrainResult]]:
    try:
        import ray
    except ImportError:
        raise UsageError('the ray executor needs Ray: pip install "rnnforecast[ray]"') from None
    started_here = not ray.is_initialized()
    # Without an address, address="local" starts a new instance even when RAY_ADDRESS is set
    # or another job's cluster is recorded in /tmp/ray/ray_current_cluster (address=None would
    # join either); its own short temp folder keeps its sockets and that record apart.
    temp_dir = tempfile.mkdtemp(prefix="rnf-ray-") if started_here and not address else None
    if started_here:
        try:
            ray.init(
                address=address or "local",
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                _temp_dir=temp_dir,  # None: Ray's default, for a named cluster
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            from rnnforecast.errors import SourceError

            raise SourceError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    try:
        remote = ray.remote(num_cpus=1)(_ray_train_job)
        refs = [remote.remote(*arg) for arg in args]
        results: list[TickerOutcome[TrainResult]] = []
        for ref in refs:
            results.append(ray.get(ref))
            if on_done:
                on_done(results[-1])
        return results
    finally:
        if started_here:
            ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _ray_train_job(
    home: Home, ticker: str, config: dict[str, Any], refit: bool = True
) -> TickerOutcome[TrainResult]:
    """A Ray task: one CPU, so TensorFlow gets one thread."""
    limit_threads(1)
    return train_job(home, ticker, config, refit)
