"""How long `rnnforecast fetch` takes when the network stalls, and what it says.

A local server accepts every connection and never answers; it is the HTTP(S) proxy of a
fresh `python -m rnnforecast fetch AAPL ...` process (fresh home, HOME in a temporary folder,
no NO_PROXY). Printed: the wall time of the whole command (interpreter start included), its
exit code, its last stderr line, and the bound from ``yahoo_source.fetch_budget``.

    python benchmarks/bench_yahoo_stall.py                          # --retries 0 --timeout 1
    python benchmarks/bench_yahoo_stall.py --retries 3 --timeout 10 # the defaults
    python benchmarks/bench_yahoo_stall.py --refuse                 # a port that refuses instead
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rnnforecast.data.yahoo_source import fetch_budget


def stalled_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, int(server.getsockname()[1])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--refuse", action="store_true", help="a closed port, not a stall")
    args = parser.parse_args()
    port = closed_port() if args.refuse else stalled_server()[1]
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
        env.pop("XDG_CACHE_HOME", None)
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env[name] = f"http://127.0.0.1:{port}"
        env["HOME"] = str(Path(folder) / "user")
        command = [sys.executable, "-m", "rnnforecast", "--home", str(Path(folder) / "home")]
        command += ["fetch", "AAPL", "--retries", str(args.retries)]
        command += ["--timeout", str(args.timeout)]
        began = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - began
    last = (result.stderr.strip().splitlines() or [""])[-1]
    bound = fetch_budget(args.retries, args.timeout)
    print(
        f"{'refusing' if args.refuse else 'stalled'} proxy, --retries {args.retries} "
        f"--timeout {args.timeout:g}: {elapsed:.1f} s, exit {result.returncode} "
        f"(bound {bound:g} s + interpreter start)"
    )
    print(last)


if __name__ == "__main__":
    main()
