"""The Ray executor: connecting to a cluster (or starting an instance of our own), checking
that every node runs this rnnforecast, and sending fits to it.

What travels is plain data (:mod:`rnnforecast.jobs.executors`): a task never opens the home,
so the nodes share nothing with the driver but the package. Connecting fails fast and says
why: an address nobody listens at fails at once, one where no Ray cluster answers within
:data:`CONNECT_SECONDS`; without an address the tool starts its own local instance, with its
own temporary folder, and never joins another job's cluster. Ray reads its authentication
(``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``) from the environment: this
module passes it through untouched and turns Ray's refusal into a one-line error.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from rnnforecast.errors import EnvironmentFault, SourceError, UsageError
from rnnforecast.jobs.outcomes import TickerOutcome
from rnnforecast.nn.threads import limit_threads
from rnnforecast.version import __version__

CONNECT_SECONDS = 30.0
"""The most a connection to a named cluster may take, the check of its nodes included."""
PROBE_SECONDS = 5.0
"""The most the first TCP connection to the address may take."""
CLIENT_PORT = 10001
"""The port of a ``ray://HOST`` address without one (Ray Client's default)."""
GCS_PORT = 6379
"""The port of a ``HOST`` address without one (the head's GCS default)."""


def endpoint(address: str) -> tuple[str, int]:
    """The host and port ``address`` names: ``ray://HOST[:PORT]`` (Ray Client) or
    ``HOST[:PORT]`` (the head's GCS). Raises UsageError for anything else."""
    text = address.strip()
    client = text.startswith("ray://")
    rest = text[len("ray://") :] if client else text
    host, colon, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not colon:
        host, port = rest, str(CLIENT_PORT if client else GCS_PORT)
    host = host.strip("[]")
    if not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"a Ray address is HOST:PORT or ray://HOST:PORT; got {address!r}")
    return host, int(port)


def probe(address: str, seconds: float = PROBE_SECONDS) -> None:
    """Open and close a TCP connection to ``address``. Raises SourceError naming it when
    nothing listens there or it does not answer within ``seconds``: Ray itself would retry
    for many minutes."""
    host, port = endpoint(address)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            pass
    except TimeoutError:
        raise SourceError(
            f"cannot reach the Ray cluster at {address}: no answer within {seconds:g} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise SourceError(f"cannot reach the Ray cluster at {address}: {reason}") from None


class _Quiet(logging.Filter):
    """Drops the warning Ray logs when ``ray.init`` runs off the main thread (it then sets
    no SIGTERM handler: this process keeps its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


def _init_within(ray: Any, address: str, seconds: float) -> None:
    """``ray.init(address)``, given up after ``seconds``: it runs in a daemon thread, since
    Ray waits for an unanswering cluster far longer. Raises SourceError naming the address
    (unanswered, refused, or authentication refused)."""
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)
        else:
            outcome.append(None)

    quiet = _Quiet()
    worker_log = logging.getLogger("ray._private.worker")
    worker_log.addFilter(quiet)
    try:
        thread = threading.Thread(target=connect, name="ray-connect", daemon=True)
        thread.start()
        thread.join(seconds)
    finally:
        worker_log.removeFilter(quiet)
    if not outcome:
        raise SourceError(
            f"no Ray cluster answered at {address} within {CONNECT_SECONDS:g} s "
            "(is it a Ray head's address and port?)"
        )
    error = outcome[0]
    if error is not None:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SourceError(f"cannot connect to the Ray cluster at {address}: {first}") from None


def _node_version() -> str:
    """A node's rnnforecast version (a task: this module must import on the node)."""
    return __version__


def check_nodes(ray: Any, seconds: float) -> int:
    """Check that every live node with CPUs runs this rnnforecast version; the number of
    CPUs the cluster has. Raises EnvironmentFault naming a node that does not (or cannot
    import rnnforecast), SourceError if the nodes do not answer within ``seconds``."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    if not nodes:
        raise SourceError("the Ray cluster has no live node with CPUs")
    remote = ray.remote(num_cpus=0)(_node_version)
    refs = {
        n["NodeManagerAddress"]: remote.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in nodes
    }
    deadline = time.monotonic() + seconds
    for where, ref in refs.items():
        try:
            version = ray.get(ref, timeout=max(0.1, deadline - time.monotonic()))
        except ray.exceptions.GetTimeoutError:
            raise SourceError(
                f"the Ray node at {where} did not answer within {seconds:g} s"
            ) from None
        except Exception as exc:  # noqa: BLE001 - whatever the node failed with, said in one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise EnvironmentFault(
                f"the Ray node at {where} cannot run rnnforecast {__version__} ({first}): "
                f"install rnnforecast=={__version__} on every node"
            ) from None
        if version != __version__:
            raise EnvironmentFault(
                f"the Ray node at {where} runs rnnforecast {version}, this one {__version__}: "
                "install the same version on every node"
            )
    return int(sum(n["Resources"]["CPU"] for n in nodes))


def _cpus(ray: Any) -> int:
    """The CPUs of the cluster this process is connected to (at least one)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _ray_fit(job: Callable[..., TickerOutcome[Any]], request: Any) -> TickerOutcome[Any]:
    """A Ray task: one CPU, so TensorFlow gets one thread."""
    limit_threads(1)
    return job(request, None)


class RayPool:
    """Fits as Ray tasks of one CPU each; ``window``: twice the cluster's CPUs."""

    def __init__(self, ray: Any, cpus: int) -> None:
        self.ray = ray
        self.window = 2 * max(1, cpus)
        self.remote = ray.remote(num_cpus=1)(_ray_fit)

    def submit(
        self, job: Callable[..., TickerOutcome[Any]], request: Any
    ) -> Future[TickerOutcome[Any]]:
        future: Future[TickerOutcome[Any]] = self.remote.remote(job, request).future()
        return future


@contextmanager
def connected(address: str | None) -> Iterator[RayPool]:
    """A pool on the Ray cluster at ``address``, or on a new local instance of our own
    (None), shut down on exit. Raises UsageError (no Ray installed, a malformed address),
    SourceError (nothing answers, or not as Ray within :data:`CONNECT_SECONDS`),
    EnvironmentFault (a node without this rnnforecast)."""
    if address is not None:
        endpoint(address)  # a malformed address is refused before Ray is imported
    try:
        import ray
    except ImportError:
        raise UsageError('the ray executor needs Ray: pip install "rnnforecast[ray]"') from None
    if ray.is_initialized():  # a notebook that connected itself: use its cluster as it is
        yield RayPool(ray, _cpus(ray))
        return
    temp_dir = None
    started = time.monotonic()
    try:
        if address is None:
            # address="local" starts a new instance even when RAY_ADDRESS is set or another
            # job's cluster is recorded in /tmp/ray/ray_current_cluster (None would join
            # either); its own short temp folder keeps its sockets and that record apart.
            temp_dir = tempfile.mkdtemp(prefix="rnf-ray-")
            ray.init(
                address="local",
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                _temp_dir=temp_dir,
            )
        else:
            probe(address)
            _init_within(ray, address, CONNECT_SECONDS - (time.monotonic() - started))
        left = max(1.0, CONNECT_SECONDS - (time.monotonic() - started))
        cpus = check_nodes(ray, left) if address is not None else _cpus(ray)
        yield RayPool(ray, cpus)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
