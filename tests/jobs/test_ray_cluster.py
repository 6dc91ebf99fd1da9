"""A Ray cluster whose workers cannot see the home: train and run go through it, the driver
saves the models, predict serves them. And connecting fails fast, naming the address.

The cluster is one head node started by ``ray start`` inside a mount namespace in which a
tmpfs covers the folder holding the home: its raylet and every worker it spawns see an
empty folder there, as nodes of a real cluster do not see the driver's disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices

from rnnforecast.errors import EnvironmentFault, SourceError, UsageError
from rnnforecast.jobs import ray_cluster
from rnnforecast.version import __version__

TICKERS = ("AAA", "BBB")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def namespaces_allowed() -> bool:
    """Whether this process may make a mount namespace and mount a tmpfs in it."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    pytest.importorskip("ray")
    if not namespaces_allowed():
        pytest.skip("needs unshare -m and tmpfs mounts (root or user namespaces)")
    base = tmp_path_factory.mktemp("cluster")
    hidden = base / "hidden"
    (hidden / "home").mkdir(parents=True)
    ray_bin = Path(sys.executable).with_name("ray")
    port = free_port()
    temp = Path("/tmp") / f"rnf-test-ray-{os.getpid()}"  # Ray's sockets need a short path
    head = (
        f"mount -t tmpfs tmpfs {hidden} && exec {ray_bin} start --head --block "
        f"--port {port} --node-ip-address 127.0.0.1 --num-cpus 2 --include-dashboard false "
        f"--disable-usage-stats --temp-dir {temp}"
    )
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", head],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Ray head did not start within 60 s")
        folder = base / "csv"
        folder.mkdir()
        (folder / "tiny.toml").write_text(TINY_CONFIG)
        home = hidden / "home"
        for i, ticker in enumerate(TICKERS):
            make_prices(160, seed=10 + i).to_csv(folder / f"{ticker}.csv")
            assert (
                cli("fetch", ticker, "--csv", str(folder / f"{ticker}.csv"), home=home).exit_code
                == 0
            )
        yield {"address": address, "home": home, "folder": folder}
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the head, its GCS, raylet and workers
        process.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.timeout(300)
def test_train_and_run_through_a_cluster_that_cannot_see_the_home(
    cluster: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    home, address, folder = cluster["home"], cluster["address"], cluster["folder"]
    import ray

    # The premise: a task on the cluster does not see the home the driver writes to.
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        assert home.exists()
        # A lambda travels by value (a function of this file would need the file there).
        sees = ray.remote(lambda path: os.path.exists(path))
        assert ray.get(sees.remote(str(home))) is False
    finally:
        ray.shutdown()

    config = str(folder / "tiny.toml")
    args = ("--config", config, "--executor", "ray", "--address", address, "--json")
    result = cli("train", *TICKERS, *args, home=home)
    assert result.exit_code == 0, result.stderr
    trained = {t["ticker"]: t["run_id"] for t in json.loads(result.stdout)["tickers"]}
    for ticker in TICKERS:
        assert (home / "models" / ticker / trained[ticker] / "manifest.json").is_file()
        assert (home / "models" / ticker / "current").read_text().strip() == trained[ticker]

    plan = folder / "night.toml"
    plan.write_text(
        TINY_CONFIG
        + "\n[run]\nkeep = 3\ntickers = [\n"
        + "".join(
            f'  {{ ticker = "{t}", source = "csv", path = "{folder / (t + ".csv")}" }},\n'
            for t in TICKERS
        )
        + "]\n"
    )
    result = cli(
        "run", "--config", str(plan), "--executor", "ray", "--address", address, "--json", home=home
    )
    assert result.exit_code == 0, result.stderr
    nights = json.loads(result.stdout)["tickers"]
    assert [n["ticker"] for n in nights] == list(TICKERS)
    for night in nights:
        assert night["error"] is None and night["run_id"] != trained[night["ticker"]]
        assert (home / "models" / night["ticker"] / night["run_id"]).is_dir()

    result = cli("predict", "AAA", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ticker"] == "AAA"


def test_an_address_nobody_listens_at_fails_at_once_with_exit_5(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = cli(
        "train", "AAA", "BBB", "--executor", "ray", "--address", address, home=tmp_path / "home"
    )
    line = assert_error(result, 5, address)
    assert line.startswith(f"error: cannot reach the Ray cluster at {address}: ")
    assert time.monotonic() - started < 30


def test_an_address_where_no_ray_answers_fails_within_the_limit() -> None:
    """Something listens but never speaks Ray: connecting gives up after its limit (here a
    short one; the command's is 30 s) instead of Ray's minutes of retries."""
    ray = pytest.importorskip("ray")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        ray_cluster.probe(address)  # the port answers TCP
        started = time.monotonic()
        with pytest.raises(SourceError, match=f"no Ray cluster answered at {address}"):
            ray_cluster._init_within(ray, address, 3.0)
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("address", "endpoint"),
    [
        ("ray://head:10001", ("head", 10001)),
        ("ray://head", ("head", 10001)),
        ("10.0.0.1:6379", ("10.0.0.1", 6379)),
        ("head", ("head", 6379)),
        ("[::1]:6380", ("::1", 6380)),
    ],
)
def test_addresses(address: str, endpoint: tuple[str, int]) -> None:
    assert ray_cluster.endpoint(address) == endpoint


@pytest.mark.parametrize("address", ["", "ray://", "head:port", "head:0", "http://x/y:1"])
def test_malformed_addresses_are_usage_errors(address: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT or ray://HOST:PORT"):
        ray_cluster.endpoint(address)


class FakeRay:
    """The few calls of Ray the node check makes; each node answers ``versions[i]`` (an
    exception: the node cannot import rnnforecast)."""

    class exceptions:
        class GetTimeoutError(Exception):
            pass

    def __init__(self, versions: list[object]) -> None:
        self.versions = versions

    def nodes(self) -> list[dict]:
        return [
            {
                "Alive": True,
                "NodeID": f"{i + 1:056x}",
                "NodeManagerAddress": f"10.0.0.{i}",
                "Resources": {"CPU": 2.0},
            }
            for i in range(len(self.versions))
        ] + [
            {
                "Alive": False,
                "NodeID": f"{99:056x}",
                "NodeManagerAddress": "10.0.0.99",
                "Resources": {"CPU": 8.0},
            }
        ]

    def remote(self, **_: object):
        fake = self

        class Remote:
            def __init__(self, function: object) -> None:
                self.node = 0

            def options(self, scheduling_strategy: object) -> Remote:
                self.node = int(scheduling_strategy.node_id, 16) - 1  # type: ignore[attr-defined]
                return self

            def remote(self) -> object:
                return fake.versions[self.node]

        return Remote

    def get(self, answer: object, timeout: float) -> object:
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_node_check_counts_live_cpus_and_names_a_node_of_another_version() -> None:
    pytest.importorskip("ray")
    assert ray_cluster.check_nodes(FakeRay([__version__, __version__]), 5) == 4
    with pytest.raises(EnvironmentFault, match=r"10\.0\.0\.1 runs rnnforecast 0\.0\.1, this one"):
        ray_cluster.check_nodes(FakeRay([__version__, "0.0.1"]), 5)
    missing = RuntimeError("ModuleNotFoundError: No module named 'rnnforecast'")
    with pytest.raises(
        EnvironmentFault, match=rf"10\.0\.0\.0 cannot run rnnforecast {__version__}"
    ):
        ray_cluster.check_nodes(FakeRay([missing]), 5)
