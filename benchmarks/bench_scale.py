"""Scale: the nightly `run` over N synthetic GARCH tickers, in one process and on a Ray
cluster of two nodes on this machine, and one global model over the same tickers.

Each ticker is 2,500 daily rows of a GARCH(1,1) with Student-t shocks (its own seed and
parameters drawn around a large-cap stock's: omega 2e-6, alpha 0.08, beta 0.90, nu 6), as a
CSV. For each N (``--sizes``) and each arm, a fresh home and a fresh process:

``one process``
    ``rnnforecast run --config night.toml`` (fetch every ticker, train a challenger each,
    promote, prune), the fits one after the other in the command's own process.
``ray 2 nodes``
    the same with ``--executor ray --address 127.0.0.1:PORT``: a Ray head and a second
    node started here by two ``ray start`` (loopback only, ``--num-cpus`` each from
    ``--cpus-per-node``), the driver reading and saving, the nodes fitting.
``global``
    ``rnnforecast train T1 ... TN --global`` on a home holding the N tickers (one
    network over all of them; its fetch is not timed).

Reported per arm: wall seconds, tickers per minute, seconds per ticker, the driver's peak
memory (the command's own process: ``ru_maxrss`` from ``wait4``; Ray's node processes are
not the driver), and how the cost per ticker grows from the smallest N to the largest
(target: at most 1.2x). The recipe is the default one with ``--epochs`` epochs, early stopping
off, and the default refit: the work per ticker is fixed, so the cost per ticker shows the
overhead of scale, not of the network. Every arm's night must succeed (exit 0), else the
script stops with its stderr.

    python benchmarks/bench_scale.py                         # sizes 16,64, 2 epochs
    python benchmarks/bench_scale.py --sizes 50,200 --epochs 2 --cpus-per-node 1
    python benchmarks/bench_scale.py --arms ray --sizes 16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

COMMAND = [sys.executable, "-m", "rnnforecast"]
ROWS = 2500
Rows = dict[str, dict[int, tuple[float, int]]]
"""Per arm, per number of tickers: wall seconds and the driver's peak RSS in MB."""


def garch_prices(seed: int, rows: int = ROWS) -> pd.DataFrame:
    """Daily bars whose log returns follow a GARCH(1,1)-t (parameters drawn per seed)."""
    rng = np.random.default_rng(seed)
    omega = 2e-6 * rng.uniform(0.5, 2.0)
    alpha, beta, nu = rng.uniform(0.05, 0.11), 0.0, 6.0
    beta = rng.uniform(0.86, 0.985 - alpha)
    shocks = rng.standard_t(nu, rows) * np.sqrt((nu - 2) / nu)
    variance, returns = omega / (1 - alpha - beta), np.empty(rows)
    for t in range(rows):
        returns[t] = np.sqrt(variance) * shocks[t]
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    close = 50 * np.exp(np.cumsum(returns + 0.0003))
    open_ = close * np.exp(rng.normal(0, 0.3, rows) * np.abs(returns))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.6, rows) * returns))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.6, rows) * returns))
    volume = rng.integers(1_000_000, 9_000_000, rows).astype(float)
    index = pd.bdate_range("2012-01-02", periods=rows, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


def tickers_of(n: int) -> list[str]:
    return [f"G{i:03d}" for i in range(n)]


def write_plan(folder: Path, tickers: list[str], epochs: int) -> Path:
    """The night's config: the default recipe with ``epochs`` epochs and no early stop."""
    for i, ticker in enumerate(tickers):
        csv = folder / f"{ticker}.csv"
        if not csv.exists():
            garch_prices(1000 + i).to_csv(csv)
    lines = [f'  {{ ticker = "{t}", source = "csv", path = "{folder / t}.csv" }},' for t in tickers]
    plan = folder / f"night-{len(tickers)}.toml"
    plan.write_text(
        f"[train]\nepochs = {epochs}\npatience = 0\n\n[run]\nkeep = 2\ntickers = [\n"
        + "\n".join(lines)
        + "\n]\n"
    )
    return plan


def timed(args: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS in MB (the process itself) and the finished process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(args, process.returncode, out.read(), err.read())
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:6])}... exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds, usage.ru_maxrss // 1024, done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def two_nodes(cpus: int) -> Iterator[str]:
    """A Ray head and a second node on this machine (loopback); their address."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    port, temp = free_port(), Path(tempfile.mkdtemp(prefix="rnf-scale-ray-", dir="/tmp"))
    common = ["--block", "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus)]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    head = [ray_bin, "start", "--head", "--port", str(port), "--include-dashboard", "false"]
    head += ["--disable-usage-stats", "--temp-dir", str(temp), *common]
    nodes = [subprocess.Popen(head, env=env, start_new_session=True, **_quiet())]
    address = f"127.0.0.1:{port}"
    try:
        _wait_for(port)
        worker = [ray_bin, "start", "--address", address, *common]
        nodes.append(subprocess.Popen(worker, env=env, start_new_session=True, **_quiet()))
        time.sleep(8)  # the second node registers with the head
        yield address
    finally:
        for node in reversed(nodes):
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _quiet() -> dict:
    return {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit("the Ray head did not start within 60 s")


def night(plan: Path, home: Path, extra: list[str]) -> tuple[float, int]:
    seconds, peak, done = timed(
        [*COMMAND, "--home", str(home), "run", "--config", str(plan), *extra, "--json", "--quiet"]
    )
    failed = [t for t in json.loads(done.stdout)["tickers"] if t.get("error")]
    if failed:
        sys.exit(f"{len(failed)} tickers failed: {failed[:2]}")
    return seconds, peak


def global_model(folder: Path, home: Path, tickers: list[str], epochs: int) -> tuple[float, int]:
    stocked = folder / f"home-local-{len(tickers)}" / "store.sqlite"
    if stocked.is_file():  # the one-process night stored every ticker already: copy its store
        home.mkdir(parents=True)
        with sqlite3.connect(stocked) as source, sqlite3.connect(home / "store.sqlite") as copy:
            source.backup(copy)
    for ticker in [] if stocked.is_file() else tickers:
        subprocess.run(
            [
                *COMMAND,
                "--home",
                str(home),
                "fetch",
                ticker,
                "--csv",
                str(folder / f"{ticker}.csv"),
            ],
            check=True,
            capture_output=True,
        )
    seconds, peak, _ = timed(
        [*COMMAND, "--home", str(home), "train", *tickers, "--global", "--name", "ALL",
         "--epochs", str(epochs), "--set", "train.patience=0", "--json", "--quiet"]
    )  # fmt: skip
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="16,64", help="numbers of tickers, comma-separated")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--arms", default="local,ray,global", help="local, ray, global")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    arms = args.arms.split(",")
    folder = Path(tempfile.mkdtemp(prefix="rnf-scale-"))
    rows: Rows = {arm: {} for arm in arms}
    try:
        for n in sizes:
            tickers = tickers_of(n)
            plan = write_plan(folder, tickers, args.epochs)
            if "local" in arms:
                rows["local"][n] = night(plan, folder / f"home-local-{n}", [])
                print(f"N={n} one process: {rows['local'][n][0]:.0f} s", file=sys.stderr)
            if "ray" in arms:
                with two_nodes(args.cpus_per_node) as address:
                    extra = ["--executor", "ray", "--address", address]
                    rows["ray"][n] = night(plan, folder / f"home-ray-{n}", extra)
                print(f"N={n} ray: {rows['ray'][n][0]:.0f} s", file=sys.stderr)
            if "global" in arms:
                home = folder / f"home-global-{n}"
                rows["global"][n] = global_model(folder, home, tickers, args.epochs)
                print(f"N={n} global: {rows['global'][n][0]:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(rows, sizes, args)


def report(rows: Rows, sizes: list[int], args: argparse.Namespace) -> None:
    names = {"local": "run, one process", "ray": "run, Ray 2 nodes", "global": "train --global"}
    print(
        f"{ROWS} rows per ticker, {args.epochs} epochs, {args.cpus_per_node} CPU per Ray node, "
        f"{os.cpu_count()} cores\n"
    )
    print("| arm | N | seconds | tickers/min | s/ticker | driver peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for arm, by_n in rows.items():
        for n in sizes:
            seconds, peak = by_n[n]
            print(
                f"| {names[arm]} | {n} | {seconds:.0f} | {60 * n / seconds:.1f} | "
                f"{seconds / n:.2f} | {peak} |"
            )
    if len(sizes) > 1:
        print("\ncost per ticker, largest N over smallest (target at most 1.2x):")
        for arm, by_n in rows.items():
            small, large = by_n[sizes[0]], by_n[sizes[-1]]
            growth = (large[0] / sizes[-1]) / (small[0] / sizes[0])
            print(f"- {names[arm]}: {growth:.2f}x")
    if "local" in rows and "ray" in rows:
        for n in sizes:
            ratio = rows["ray"][n][0] / rows["local"][n][0]
            print(f"- N={n}: Ray 2 nodes / one process = {ratio:.2f}x")


if __name__ == "__main__":
    main()
