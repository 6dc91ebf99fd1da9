"""Commands that need no network model must not pay for TensorFlow (5 s, 600 MB) or yfinance.

Each case runs the CLI in a fresh interpreter and lists which heavy modules got imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("tensorflow", "keras", "yfinance", "pandas", "sklearn", "exchange_calendars")

PROBE = """
import json, sys
from rnnforecast.cli.commands import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = [m for m in {heavy!r} if m in sys.modules]
sys.stderr.write("\\nMODULES " + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
"""


def imported(args: list[str], home: Path) -> tuple[int, set[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [x for x in completed.stderr.splitlines() if x.startswith("MODULES ")][-1]
    report = json.loads(line.removeprefix("MODULES "))
    return report["code"], set(report["heavy"])


def test_help_imports_nothing_heavy(home: Path) -> None:
    assert imported(["--help"], home) == (0, set())


@pytest.mark.parametrize("command", ["fetch", "train", "evaluate", "predict"])
def test_command_help_imports_nothing_heavy(home: Path, command: str) -> None:
    assert imported([command, "--help"], home) == (0, set())


def test_fetch_sample_imports_no_tensorflow_nor_yfinance(home: Path) -> None:
    code, heavy = imported(["fetch", "--sample"], home)
    assert code == 0
    assert heavy == {"pandas", "exchange_calendars"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["fetch", "--csv", "missing.csv", "X"], 2),
        (["fetch", "../x"], 2),
        (["train", "GOOG", "--set", "model.unitz=1"], 2),
        (["train", "NODATA"], 3),
        (["evaluate", "NOMODEL"], 4),
        (["predict", "NOMODEL"], 4),
    ],
)
def test_error_paths_import_no_tensorflow(home: Path, args: list[str], code: int) -> None:
    exit_code, heavy = imported(args, home)
    assert exit_code == code
    assert not heavy & {"tensorflow", "keras", "yfinance", "sklearn"}


def test_predict_needs_neither_tensorflow_nor_pandas(trained_home: Path) -> None:
    """The numpy forward pass on the last stored rows: nothing heavy at all."""
    assert imported(["predict", "TEST", "--json"], trained_home) == (0, set())


def test_evaluate_needs_no_tensorflow(trained_home: Path) -> None:
    """The single-split evaluate runs on the numpy forward pass too (pandas for the dates)."""
    assert imported(["evaluate", "TEST", "--json"], trained_home) == (0, {"pandas"})


@pytest.mark.parametrize(
    "args", [["tickers", "--json"], ["tickers", "--help"], ["forget", "--help"]]
)
def test_management_commands_import_nothing_heavy(home: Path, args: list[str]) -> None:
    assert imported(args, home) == (0, set())


def test_forget_dry_run_imports_nothing_heavy(trained_home: Path) -> None:
    assert imported(["forget", "TEST"], trained_home) == (2, set())
