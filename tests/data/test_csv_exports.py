"""CSV files as people download them: each test writes a small file in that site's exact
shape (column names, number and date style, newest first) and fetches it with the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.data.store import Store

runner = CliRunner()

# What every file below holds, oldest first: date, open, high, low, close, volume.
EXPECTED = [
    ("2013-02-26", 795.0, 800.0, 790.5, 797.4, 2_510_000.0),
    ("2013-02-27", 797.8, 1_807.14, 796.15, 1_806.19, 3_040_000.0),
    ("2013-02-28", 801.1, 806.99, 801.03, 801.2, 2_254_434.0),
    ("2013-03-01", 797.8, 807.14, 796.15, 806.19, 12_500.0),
]


def fetch(home: Path, path: Path, text: str):
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["--home", str(home), "fetch", "T", "--csv", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert (stored["rows"], stored["first"], stored["last"]) == (4, "2013-02-26", "2013-03-01")
    return Store(home / "store.sqlite").read("T")


def assert_expected(frame: pd.DataFrame) -> None:
    rows = [
        (str(day.date()), *(float(v) for v in values))
        for day, values in zip(frame.index, frame.to_numpy(), strict=True)
    ]
    assert rows == EXPECTED


def test_nasdaq_com(tmp_path: Path, home: Path) -> None:
    text = (
        "Date,Close/Last,Volume,Open,High,Low\n"
        "03/01/2013,$806.19,12500,$797.8,$807.14,$796.15\n"
        "02/28/2013,$801.20,2254434,$801.10,$806.99,$801.03\n"
        '02/27/2013,"$1,806.19",3040000,$797.80,"$1,807.14",$796.15\n'
        "02/26/2013,$797.40,2510000,$795.00,$800.00,$790.50\n"
    )
    assert_expected(fetch(home, tmp_path / "HistoricalData_1362200000000.csv", text))


def test_investing_com(tmp_path: Path, home: Path) -> None:
    text = (
        '"Date","Price","Open","High","Low","Vol.","Change %"\n'
        '"03/01/2013","806.19","797.80","807.14","796.15","12.50K","0.62%"\n'
        '"02/28/2013","801.20","801.10","806.99","801.03","2.254434M","-55.64%"\n'
        '"02/27/2013","1,806.19","797.80","1,807.14","796.15","3.04M","126.51%"\n'
        '"02/26/2013","797.40","795.00","800.00","790.50","2.51M","0.12%"\n'
    )
    assert_expected(fetch(home, tmp_path / "T Historical Data.csv", text))


def stamp(day: str) -> int:
    """A daily bar's TradingView time: the session's open (09:30 New York) in Unix seconds."""
    return int(pd.Timestamp(f"{day} 09:30", tz="America/New_York").timestamp())


def test_tradingview_unix_time(tmp_path: Path, home: Path) -> None:
    text = "time,open,high,low,close,Volume\n" + "".join(
        f"{stamp(d)},{o},{h},{lo},{c},{v:.0f}\n" for d, o, h, lo, c, v in EXPECTED
    )
    assert text.splitlines()[1].startswith("1361889000,")  # 2013-02-26 14:30 UTC
    assert_expected(fetch(home, tmp_path / "NASDAQ_T, 1D.csv", text))


def test_tradingview_iso_time(tmp_path: Path, home: Path) -> None:
    text = "time,open,high,low,close,Volume\n" + "".join(
        f"{d}T09:30:00-05:00,{o},{h},{lo},{c},{v:.0f}\n" for d, o, h, lo, c, v in EXPECTED
    )
    assert_expected(fetch(home, tmp_path / "NASDAQ_T, 1D.csv", text))


def test_tradingview_intraday_is_still_refused(tmp_path: Path, home: Path) -> None:
    minutes = [stamp("2013-03-01") + 60 * i for i in range(4)]
    path = tmp_path / "NASDAQ_T, 1.csv"
    path.write_text(
        "time,open,high,low,close,Volume\n" + "".join(f"{t},10,11,9,10.5,100\n" for t in minutes)
    )
    result = runner.invoke(app, ["--home", str(home), "fetch", "T", "--csv", str(path)])
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {path}: intraday timestamp 2013-03-01 14:30:00: rnnforecast works on daily "
        "bars (one row per trading day); resample to daily closes first\n"
    )


def test_a_value_that_is_no_number_is_still_refused(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Date,Close/Last,Volume,Open,High,Low\n"
        "03/01/2013,$806.19,12500,$797.8,$807.14,$796.15\n"
        "02/28/2013,$80l.20,2254434,$801.10,$806.99,$801.03\n"
    )
    result = runner.invoke(app, ["--home", str(home), "fetch", "T", "--csv", str(path)])
    assert result.exit_code == 3
    assert (
        result.stderr
        == f"error: {path}: non-numeric Close value '$80l.20' on 2013-02-28 (line 3)\n"
    )
