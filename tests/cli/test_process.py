"""The installed entry points as real processes: exit codes and streams as a shell sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_module_entry_point_json_goes_to_stdout_only(home: Path) -> None:
    done = cli("fetch", "--sample", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["tickers"][0]["rows"] == 2148
    assert done.stderr == ""


def test_yahoo_unreachable_exits_5_quickly(home: Path) -> None:
    """No network: a proxy that refuses connections stands in for a dead line."""
    dead = "http://127.0.0.1:9"
    done = cli(
        "fetch",
        "AAPL",
        "--retries",
        "1",
        env={"HTTPS_PROXY": dead, "https_proxy": dead, "HTTP_PROXY": dead, "http_proxy": dead},
    )
    assert done.returncode == 5, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: AAPL: Yahoo unreachable after 2 attempts"
    )
    assert not (home / "store.sqlite").exists()  # nothing was written


def test_debug_variable_shows_tracebacks_for_bugs_only(home: Path) -> None:
    done = cli("predict", "NOPE", env={"RNNFORECAST_DEBUG": "1"})
    assert done.returncode == 4
    assert "Traceback" not in done.stderr
