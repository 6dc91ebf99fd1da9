"""Every documented exit code, produced as a user would meet it; the help of every command;
lock timeouts on a fake clock; what a repeat Yahoo fetch asks for."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from conftest import REPO, FakeYahoo, cli, make_prices, yahoo_frame
from typer.testing import Result

from rnnforecast.cli.commands import app
from rnnforecast.errors import EXIT_CODES, LockError
from rnnforecast.jobs import listing
from rnnforecast.storage import locks


def code_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    return cli("--version")


def code_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    def bug(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr(listing, "list_runs", bug)
    return cli("models", "AAPL")


def code_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    return cli("train", "AAPL", "--set", "model.nope=1")


def code_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    return cli("train", "AAPL")  # nothing stored


def code_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    return cli("predict", "AAPL")  # nothing trained


def code_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    yahoo.answers = [ConnectionError("network is unreachable")]
    return cli("fetch", "AAPL", "--retries", "0", yahoo=yahoo)


def code_6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    with locks.hold(Path(tmp_path / "home" / "locks"), "ticker-GOOG", timeout=0):
        return cli("--wait", "0", "fetch", "--sample")


def code_7(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    # Two failures for different reasons (a missing file: 2; an empty one: 3); failures
    # that share one code end with that code instead.
    config = tmp_path / "nightly.toml"
    (tmp_path / "empty.csv").write_text("Date,Open,High,Low,Close,Volume\n")
    config.write_text(
        textwrap.dedent(
            """
            [run]
            tickers = [
                { ticker = "GONE", source = "csv", path = "missing.csv" },
                { ticker = "EMPTY", source = "csv", path = "empty.csv" },
            ]
            """
        )
    )
    return cli("run", "--config", str(config))


def code_8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    # A folder the store needs cannot be created (a file holds its name): an environment
    # fault, whoever runs it (root ignores permission bits; tests/cli/test_faults.py has a
    # read-only mount where it can).
    home = tmp_path / "home"
    home.mkdir()
    (home / "locks").write_text("not a folder")
    return cli("fetch", "--sample", home=home)


def code_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Result:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(listing, "list_runs", interrupted)
    return cli("models", "AAPL")


@dataclass(frozen=True)
class Finished:
    """What a real process left: the fields of a CliRunner result that the test reads."""

    exit_code: int
    stdout: str
    stderr: str


def code_141(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yahoo: FakeYahoo) -> Finished:
    # Standard output closed before a byte is written (``rnnforecast models >&-``): only a
    # real process has a descriptor 1 to lose.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "rnnforecast", "--home", str(tmp_path / "home"), "models", "AAPL"],
        stdout=None,
        stderr=subprocess.PIPE,
        env=env,
        timeout=300,
        preexec_fn=lambda: os.close(1),
    )
    return Finished(done.returncode, "", done.stderr.decode())


Scenario = Callable[[Path, pytest.MonkeyPatch, FakeYahoo], Result | Finished]
SCENARIOS: dict[int, tuple[Scenario, str]] = {
    0: (code_0, ""),
    1: (code_1, "internal error: ZeroDivisionError: a planted bug"),
    2: (code_2, "model.nope"),
    3: (code_3, "AAPL"),
    4: (code_4, "no model for AAPL"),
    5: (code_5, "Yahoo unreachable"),
    6: (code_6, "ticker-GOOG is locked by another rnnforecast process"),
    7: (code_7, "2 of 2 tickers failed: GONE, EMPTY"),
    8: (code_8, "cannot read or write"),
    130: (code_130, "interrupted"),
    141: (code_141, ""),
}
OUTPUT_LOST = 141


def test_every_documented_exit_code_has_a_scenario() -> None:
    assert set(EXIT_CODES) <= set(SCENARIOS), sorted(set(EXIT_CODES) - set(SCENARIOS))


@pytest.mark.parametrize("code", list(SCENARIOS))
def test_exit_code(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_yahoo: FakeYahoo
) -> None:
    scenario, words = SCENARIOS[code]
    result = scenario(tmp_path, monkeypatch, fake_yahoo)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code == 0:
        assert result.stdout.strip() and result.stderr == ""
        return
    if code == OUTPUT_LOST:  # no error line, as a shell's own commands when the reader goes
        assert "error" not in result.stderr, result.stderr
        return
    lines = result.stderr.strip().splitlines()
    assert lines, "a failure says why on stderr"
    assert words in lines[-1]


# --- help --------------------------------------------------------------------------------------

MAIN_OPTIONS = {
    "fetch": ["--csv", "--sample", "--start", "--end", "--json"],
    "train": ["--config", "--set", "--epochs", "--seed", "--json"],
    "evaluate": ["--folds", "--run", "--json"],
    "predict": ["--horizon", "--run", "--json"],
    "run": ["--config", "--json"],
    "models": ["--json"],
}


def commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_listed_command_exists() -> None:
    assert set(MAIN_OPTIONS) <= set(commands())


@pytest.mark.parametrize("command", commands())
def test_help_of_every_command(command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: rnnforecast {command} ")
    for option in MAIN_OPTIONS.get(command, []):
        assert option in result.stdout, option
    assert result.stderr == ""


# --- lock timeouts on a fake clock -------------------------------------------------------------


def test_a_second_holder_waits_the_whole_timeout_then_exits_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of the fake clock advances it 4 s: a 30 s wait reads it once for the
    deadline, then polls until the clock has passed it (at 36 s), and gives up."""
    now = [0.0]

    def clock() -> float:
        now[0] += 4.0
        return now[0]

    with locks.hold(tmp_path, "ticker-X", timeout=0):
        monkeypatch.setattr(locks, "_monotonic", clock)
        with pytest.raises(LockError) as raised, locks.hold(tmp_path, "ticker-X", timeout=30):
            pass  # pragma: no cover - never reached
    assert now[0] == 36.0
    assert raised.value.exit_code == 6
    assert "ticker-X is locked by another rnnforecast process" in str(raised.value)
    assert "waited 30 s" in str(raised.value)
    # Released with the block: the next holder gets it at once.
    with locks.hold(tmp_path, "ticker-X", timeout=0):
        pass


def test_locks_of_two_tickers_are_independent(tmp_path: Path) -> None:
    with locks.hold(tmp_path, "ticker-A", timeout=0), locks.hold(tmp_path, "ticker-B", timeout=0):
        with pytest.raises(LockError):
            with locks.hold(tmp_path, "ticker-A", timeout=0):
                pass  # pragma: no cover - never reached


# --- a repeat Yahoo fetch ----------------------------------------------------------------------


def test_repeat_yahoo_fetch_starts_a_week_before_the_last_stored_bar(
    fake_yahoo: FakeYahoo, home: Path
) -> None:
    prices = make_prices(120)
    fake_yahoo.answers = [yahoo_frame(prices, "MSFT")]
    assert cli("fetch", "MSFT", yahoo=fake_yahoo).exit_code == 0
    assert fake_yahoo.calls[0]["start"] is None  # a new ticker: all its history
    again = cli("fetch", "MSFT", "--json", yahoo=fake_yahoo)
    assert again.exit_code == 0, again.stderr
    last = prices.index[-1].date()
    assert fake_yahoo.calls[1]["start"] == (last - dt.timedelta(days=7)).isoformat()
    assert json.loads(again.stdout)["tickers"][0]["added"] == 0


# --- tracebacks: for bugs, and only when asked ---------------------------------------------

BUGGY = (
    "import sys; import rnnforecast.jobs.listing as p; p.list_runs = lambda *a, **k: 1 / 0; "
    "from rnnforecast.cli.commands import main; sys.argv = ['rnnforecast', 'models', 'AAPL']; "
    "raise SystemExit(main())"
)


@pytest.mark.parametrize("debug", [True, False])
def test_a_bug_shows_its_traceback_only_with_the_debug_variable(debug: bool, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RNNFORECAST_DEBUG"}
    if debug:
        env["RNNFORECAST_DEBUG"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", BUGGY], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert ("Traceback" in done.stderr) is debug
    assert "ZeroDivisionError" in done.stderr.strip().splitlines()[-1]
    if debug:
        assert 'File "<string>", line 1, in <lambda>' in done.stderr  # where the bug is
    else:
        assert len(done.stderr.strip().splitlines()) == 1
