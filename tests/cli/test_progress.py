"""Progress on stderr: drawn whenever stderr is a terminal (stdout may be a pipe holding the
one JSON document), naming each ticker of fetch, train and run, with "loading TensorFlow"
until the first epoch; nothing on stderr when it is not a terminal, or with --quiet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    TINY_CONFIG,
    FakeYahoo,
    cli,
    make_prices,
    on_terminal,
    strict_json,
    trained_entry,
    yahoo_frame,
)
from rich.console import Console

from rnnforecast.cli import watch
from rnnforecast.jobs.outcomes import TickerTurn


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands see stderr as a terminal (rich draws into the runner's stderr)."""

    def console() -> Any:
        return Console(stderr=True, force_terminal=True, width=160)

    monkeypatch.setattr(watch, "stderr_console", console)


def plain(text: str) -> str:
    """``text`` without the terminal's escape sequences (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def nightly_config(folder: Path, tickers: tuple[str, ...] = ("AAA", "BBB")) -> Path:
    """A tiny recipe and a [run] plan of ``tickers``, each read from its own CSV file."""
    lines = []
    for seed, ticker in enumerate(tickers):
        csv = folder / f"{ticker}.csv"
        make_prices(300, seed=seed).to_csv(csv)
        lines.append(f'  {{ ticker = "{ticker}", source = "csv", path = "{csv.as_posix()}" }},')
    path = folder / "nightly.toml"
    path.write_text(TINY_CONFIG + "\n[run]\ntickers = [\n" + "\n".join(lines) + "\n]\n")
    return path


def test_a_turn_names_the_ticker_among_the_others() -> None:
    assert watch.turn_text(TickerTurn("train", 3, 12, "AAPL")) == "ticker 3/12 AAPL"
    assert watch.turn_text(TickerTurn("fetch", 1, 1, "AAPL")) == "AAPL"


def test_fetch_shows_each_ticker_on_a_terminal(
    terminal: None, fake_yahoo: FakeYahoo, home: Path
) -> None:
    fake_yahoo.answers = [yahoo_frame(make_prices(60), "AAA"), yahoo_frame(make_prices(60), "BBB")]
    result = cli("fetch", "AAA", "BBB", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    assert "ticker 1/2 AAA: fetching" in plain(result.stderr)
    assert "ticker 2/2 BBB: fetching" in plain(result.stderr)
    assert [t["ticker"] for t in strict_json(result.stdout)["tickers"]] == ["AAA", "BBB"]


def test_fetch_says_nothing_when_stderr_is_not_a_terminal(
    fake_yahoo: FakeYahoo, home: Path
) -> None:
    fake_yahoo.answers = [yahoo_frame(make_prices(60), "AAA"), yahoo_frame(make_prices(60), "BBB")]
    result = cli("fetch", "AAA", "BBB", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_verbose_fetch_writes_a_line_per_ticker_when_stderr_is_not_a_terminal(
    fake_yahoo: FakeYahoo, home: Path
) -> None:
    fake_yahoo.answers = [yahoo_frame(make_prices(60), "AAA"), yahoo_frame(make_prices(60), "BBB")]
    result = cli("--verbose", "fetch", "AAA", "BBB", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == ["fetching ticker 1/2 AAA", "fetching ticker 2/2 BBB"]


@pytest.mark.slow
def test_train_shows_each_ticker_and_its_epochs(
    terminal: None, tmp_path: Path, home: Path, tiny_config: Path
) -> None:
    for seed, ticker in enumerate(("AAA", "BBB")):
        csv = tmp_path / f"{ticker}.csv"
        make_prices(300, seed=seed).to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv)).exit_code == 0
    result = cli("train", "AAA", "BBB", "--config", str(tiny_config), "--json")
    assert result.exit_code == 0, result.stderr
    shown = plain(result.stderr)
    assert "ticker 1/2 AAA: " in shown and "ticker 2/2 BBB: training" in shown
    assert "2/2 epochs" in shown
    assert [t["ticker"] for t in strict_json(result.stdout)["tickers"]] == ["AAA", "BBB"]
    quiet = cli("train", "AAA", "--config", str(tiny_config), "--json", "--quiet")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == ""  # --quiet: no bar, even on a terminal
    trained_entry(quiet.stdout)


@pytest.mark.slow
def test_run_draws_its_bar_on_stderr_alone_while_stdout_holds_the_json(tmp_path: Path) -> None:
    """A real process whose stderr is a terminal and stdout a pipe, as in
    ``rnnforecast run --config nightly.toml --json > night.json``."""
    config = nightly_config(tmp_path)
    shown = on_terminal(
        "run",
        "--config",
        str(config),
        "--json",
        home=tmp_path / "home",
        tty=("stderr",),
        columns=160,
    )
    assert shown.code == 0, shown.stderr
    assert shown.stdout.count("\n") == 1  # exactly one JSON document, on one line
    assert [t["ticker"] for t in strict_json(shown.stdout)["tickers"]] == ["AAA", "BBB"]
    for text in (
        "ticker 1/2 AAA: fetching",
        "ticker 2/2 BBB: fetching",
        "ticker 1/2 AAA: loading TensorFlow",
        "ticker 2/2 BBB: training",
        "2/2 epochs",
    ):
        assert text in plain(shown.stderr), text


@pytest.mark.slow
def test_run_writes_nothing_on_stderr_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    """stdout on a terminal (the table) and stderr a pipe, as a cron log: nothing there."""
    config = nightly_config(tmp_path)
    shown = on_terminal("run", "--config", str(config), home=tmp_path / "home", tty=("stdout",))
    assert shown.code == 0, shown.stderr
    assert shown.stderr == ""
    assert "AAA" in shown.stdout and "BBB" in shown.stdout
