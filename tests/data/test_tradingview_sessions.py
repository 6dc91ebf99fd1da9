"""TradingView stamps a daily bar at its session's open, in Unix seconds: 23:00 UTC the day
before for Sydney in summer, all year for New Zealand. Fetch maps each stamp to the session it
opens on the ticker's calendar (issue "Years of nights on real data", row 3)."""

from __future__ import annotations

import json
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from conftest import cli

from rnnforecast.data.store import Store


def tradingview_file(folder: Path, calendar: str, start: str, end: str) -> tuple[Path, list[str]]:
    """A TradingView daily export of ``calendar``'s sessions from ``start`` to ``end``: each
    bar stamped at its session's open. Returns the file and the session dates, oldest first."""
    found = xcals.get_calendar(calendar, start=start, end=end)
    opens = found.opens
    rows = len(opens)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, rows)))
    seconds = (opens.dt.tz_convert("UTC").astype("int64") // 10**9).to_numpy()
    lines = [
        f"{t},{c:.4f},{c * 1.01:.4f},{c * 0.99:.4f},{c:.4f},{1000 + i}"
        for i, (t, c) in enumerate(zip(seconds, close, strict=True))
    ]
    path = folder / f"ASX_T, 1D {calendar}.csv"
    path.write_text("time,open,high,low,close,Volume\n" + "\n".join(lines) + "\n")
    return path, [str(d.date()) for d in opens.index]


@pytest.mark.parametrize(("calendar", "early"), [("XASX", 150), ("XNZE", 400)])
def test_unix_times_are_dated_by_the_session_they_open(
    tmp_path: Path, home: Path, calendar: str, early: int
) -> None:
    path, sessions = tradingview_file(tmp_path, calendar, "2022-01-03", "2024-03-28")
    stamps = pd.read_csv(path)["time"]
    utc_dates = pd.to_datetime(stamps, unit="s").dt.strftime("%Y-%m-%d").tolist()
    assert sum(a != b for a, b in zip(utc_dates, sessions, strict=True)) > early  # the trap
    result = cli(
        "--now", "2024-04-02T12:00:00+00:00", "fetch", "T", "--csv", str(path),
        "--calendar", calendar, "--json", home=home,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert stored["off_calendar"] == 0
    frame = Store(home / "store.sqlite").read("T")
    assert [str(d.date()) for d in frame.index] == sessions


def test_unix_times_on_new_york_keep_their_day(tmp_path: Path, home: Path) -> None:
    path, sessions = tradingview_file(tmp_path, "XNYS", "2024-01-02", "2024-03-28")
    result = cli("--now", "2024-04-02T12:00:00+00:00", "fetch", "T", "--csv", str(path), home=home)
    assert result.exit_code == 0, result.stderr
    frame = Store(home / "store.sqlite").read("T")
    assert [str(d.date()) for d in frame.index] == sessions
