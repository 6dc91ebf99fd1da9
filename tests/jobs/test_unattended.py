"""Unattended operation: the nightly `run`, `models`, locks between real processes, kill -9
at any moment, corrupt bundles. Real processes, real files, tiny networks."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CONFIG, cli, hold_lock, make_prices


def spawn(*args: str, home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rnnforecast", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def bars(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "store.sqlite") as conn:
        return conn.execute("SELECT * FROM bars ORDER BY ticker, date").fetchall()


def write_run_config(folder: Path) -> Path:
    """A nightly config over two CSV tickers with the tiny recipe, in ``folder``."""
    for name, seed in (("aaa", 1), ("bbb", 2)):
        make_prices(220, seed=seed).to_csv(folder / f"{name}.csv")
    path = folder / "nightly.toml"
    path.write_text(
        TINY_CONFIG
        + textwrap.dedent(
            """
            [run]
            keep = 2
            tickers = [
                { ticker = "AAA", source = "csv", path = "aaa.csv" },
                { ticker = "BBB", source = "csv", path = "bbb.csv" },
            ]
            """
        )
    )
    return path


@pytest.fixture
def run_config(tmp_path: Path) -> Path:
    return write_run_config(tmp_path)


# --- run and models --------------------------------------------------------------------------


@pytest.mark.slow  # trains
def test_run_promotes_first_then_a_newer_model_of_the_same_recipe(
    run_config: Path, home: Path
) -> None:
    first = cli("run", "--config", str(run_config), "--json", home=home)
    assert first.exit_code == 0, first.stderr
    out = json.loads(first.stdout)
    assert [t["ticker"] for t in out["tickers"]] == ["AAA", "BBB"]
    last_day = str(make_prices(220, seed=1).index[-1].date())
    for t in out["tickers"]:
        assert set(t) == {
            "ticker",
            "rows_added",
            "run_id",
            "metrics",
            "beats_naive",
            "promoted",
            "reason",
            "deleted",
            "error",
            "serving",
            "warm_start",
            "from_scratch",
            "interval_method",
            "promotion",
            "batch_size",
        }
        assert t["promotion"] is None  # nothing to compare with
        # every part of 220 rows holds a batch of 16: the recipe's batch, said so
        assert t["batch_size"]["recipe"] == t["batch_size"]["used"] == 16
        assert t["rows_added"] == 220 and t["promoted"] is True and t["error"] is None
        # TINY_CONFIG pins the bundle's own interval; its shrink 0 makes it network-free
        assert t["interval_method"] == "naive_conformal"
        assert "no current model" in t["reason"]
        assert set(t["metrics"]) == {"test", "model", "naive", "beats_naive"}
        # nothing served needs the network refitted: the scored fit is kept, said so
        assert t["serving"]["refit"] is False
        assert t["serving"]["reason"].startswith("the network shapes nothing served")
        assert t["serving"]["calibrated_through"] < last_day
    # One more day for AAA: the challenger (same recipe) has 1 day the current model never
    # saw, too few to test, so the tie goes to the newer model. (AAA alone from here on:
    # BBB's nights would take the same path, and each night trains two networks a ticker.)
    longer = make_prices(220, seed=1)
    extra = make_prices(221, seed=11).iloc[-1:].copy()
    extra.index = pd.DatetimeIndex([longer.index[-1] + pd.offsets.BDay(1)], name="Date")
    pd.concat([longer, extra]).to_csv(run_config.parent / "aaa.csv")
    run_config.write_text(run_config.read_text().replace(
        '    { ticker = "BBB", source = "csv", path = "bbb.csv" },\n', ""))  # fmt: skip
    second = json.loads(cli("run", "--config", str(run_config), "--json", home=home).stdout)
    assert [t["ticker"] for t in second["tickers"]] == ["AAA"]
    for before, after in zip(out["tickers"][:1], second["tickers"], strict=True):
        assert after["rows_added"] == 1
        assert after["promoted"] is True
        # neither bundle refitted (the network shapes nothing served), so the current model
        # never saw the test period: the same naive close and widths served on all of it
        days = after["promotion"]["days"]
        assert days > 3
        assert after["reason"] == (
            f"same recipe; a tie: the same served forecasts unseen by the current model "
            f"{before['run_id']} to test ({days} unseen days): newer model promoted"
        )
        assert after["promotion"]["decision"] == "promoted"
        assert after["promotion"]["rule"] == "same recipe" and after["promotion"]["p_value"] is None
        current = (home / "models" / after["ticker"] / "current").read_text().strip()
        assert current == after["run_id"]
    # A third run on the same bars: the same served forecasts again, a tie; keep = 2 deletes
    # the oldest run that is not current.
    third = json.loads(cli("run", "--config", str(run_config), "--json", home=home).stdout)
    aaa = third["tickers"][0]
    assert aaa["promoted"] is True and "a tie: the same served forecasts" in aaa["reason"]
    assert aaa["deleted"] == [out["tickers"][0]["run_id"]]
    listing = json.loads(cli("models", "AAA", "--json", home=home).stdout)
    assert listing["current"] == aaa["run_id"]
    assert [r["run_id"] for r in listing["runs"]] == [second["tickers"][0]["run_id"], aaa["run_id"]]
    assert [r["current"] for r in listing["runs"]] == [False, True]
    assert listing["runs"][1]["model"]["rel_mae"] == pytest.approx(
        aaa["metrics"]["model"]["rel_mae"]
    )
    assert listing["runs"][1]["serving"] == aaa["serving"]


@pytest.mark.slow  # trains
def test_run_goes_on_after_a_failing_ticker(run_config: Path, home: Path) -> None:
    (run_config.parent / "aaa.csv").write_text("Date,Open,High,Low,Close,Volume\n")
    # no refit: BBB's one fit is enough to show that the night went on
    run_config.write_text(run_config.read_text().replace("[run]\n", "[run]\nrefit = false\n"))
    result = cli("run", "--config", str(run_config), "--json", home=home)
    assert result.exit_code == 3  # AAA's data error is the only failure
    out = json.loads(result.stdout)
    aaa, bbb = out["tickers"]
    assert aaa["error"]["code"] == 3 and "no rows" in aaa["error"]["message"]
    assert aaa["run_id"] is None and aaa["promoted"] is False
    assert bbb["error"] is None and bbb["promoted"] is True
    assert "AAA: failed (exit code 3)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: 1 of 2 tickers failed: AAA"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[run]\nkeep = 2\n", ["run.tickers"]),
        ("[model]\nunits = 4\n", ["no [run] table"]),
        ('[run]\ntickers = [{ ticker = "X", source = "ftp" }]\n', ["source", "ftp"]),
        ('[run]\ntickers = [{ ticker = "X", source = "csv" }]\n', ["needs a path"]),
        ('[run]\nkeep = 0\ntickers = ["X"]\n', ["run.keep"]),
        ('[run]\nkeeps = 1\ntickers = ["X"]\n', ["run.keeps"]),
        ('[run]\ntickers = ["X", "x"]\n', ["twice"]),
    ],
)
def test_bad_run_config_exits_2(tmp_path: Path, home: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("run", "--config", str(path), home=home)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert all(w in line for w in words), line


def test_models_of_unknown_ticker_lists_nothing(home: Path) -> None:
    result = cli("models", "NONE", "--json", home=home)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ticker": "NONE", "current": None, "runs": []}


def test_models_lists_a_damaged_run_with_its_error(trained_home: Path) -> None:
    home = trained_home
    run_id = (home / "models" / "TEST" / "current").read_text().strip()
    (home / "models" / "TEST" / run_id / "scalers.json").write_text("{")
    listing = json.loads(cli("models", "TEST", "--json", home=home).stdout)
    assert "corrupt" in listing["runs"][0]["error"]


# --- corrupt bundles -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.keras", "weights.npz", "scalers.json", "manifest.json"])
def test_truncated_bundle_file_exits_4_with_its_path(trained_home: Path, name: str) -> None:
    home = trained_home
    run_id = (home / "models" / "TEST" / "current").read_text().strip()
    path = home / "models" / "TEST" / run_id / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    for command in ("predict", "evaluate"):
        result = cli(command, "TEST", home=home)
        assert result.exit_code == 4, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert str(path) in line and "Traceback" not in result.stderr


# --- locks between processes -----------------------------------------------------------------


def test_second_process_waits_then_exits_6(home: Path) -> None:
    holder = hold_lock(home, "ticker-GOOG")
    try:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnforecast",
                "--home",
                str(home),
                "--wait",
                "1",
                "fetch",
                "--sample",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - started
        assert done.returncode == 6
        assert done.stdout == ""
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ticker-GOOG is locked by another rnnforecast process")
        assert f"pid {holder.pid}" in line
        assert waited >= 1
        assert not (home / "store.sqlite").exists()
    finally:
        holder.kill()
        holder.wait()
    # kill -9 of the holder released the lock: the same command now goes through.
    again = cli("--wait", "1", "fetch", "--sample", home=home)
    assert again.exit_code == 0, again.stderr


@pytest.mark.slow  # trains
def test_run_waits_for_the_lock_and_goes_on(run_config: Path, home: Path) -> None:
    holder = hold_lock(home, "ticker-AAA")
    try:
        result = cli("--wait", "0.5", "run", "--config", str(run_config), "--json", home=home)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 6  # the lock, worth retrying: not hidden behind 7
    aaa, bbb = json.loads(result.stdout)["tickers"]
    assert aaa["error"]["code"] == 6
    assert bbb["promoted"] is True


# --- kill -9 at any moment -------------------------------------------------------------------


def test_kill_9_during_a_large_import_leaves_all_or_nothing(tmp_path: Path, home: Path) -> None:
    # As many weekdays as fit between 1900 and now (bars outside are refused as misdated).
    big = make_prices(33_000, seed=9, start="1900-01-01")
    csv = tmp_path / "big.csv"
    big.to_csv(csv)
    # A ticker already stored must survive whatever happens to the next import.
    assert cli("fetch", "KEEP", "--csv", str(csv), home=home).exit_code == 0
    kept = len(bars(home))
    for delay in (0.8, 1.6, 2.4):
        victim = spawn("fetch", "BIG", "--csv", str(csv), home=home)
        time.sleep(delay)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with sqlite3.connect(home / "store.sqlite") as conn:
            big_rows = conn.execute("SELECT COUNT(*) FROM bars WHERE ticker='BIG'").fetchone()[0]
            keep_rows = conn.execute("SELECT COUNT(*) FROM bars WHERE ticker='KEEP'").fetchone()[0]
        assert big_rows in (0, len(big))
        assert keep_rows == kept
        if big_rows:
            break
    assert os.path.exists(home / "store.sqlite")
