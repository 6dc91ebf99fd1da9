"""Every CSV export docs/sources.md lists imports: one small sample file per export in
tests/fixtures/exports, fetched with the CLI (issue "Years of nights on real data", row 4), and
the refusals name the column and the row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, cli

from rnnforecast.data.store import Store

EXPORTS = FIXTURES / "exports"

# What every sample holds, oldest first: date, open, high, low, close, volume.
EXPECTED = [
    ("2013-02-26", 795.0, 800.0, 790.5, 797.4, 2_510_000.0),
    ("2013-02-27", 797.8, 1_807.14, 796.15, 1_806.19, 3_040_000.0),
    ("2013-02-28", 801.1, 806.99, 801.03, 801.2, 2_254_434.0),
    ("2013-03-01", 797.8, 807.14, 796.15, 806.19, 12_500.0),
]
NOW = "2013-03-04T12:00:00+00:00"


def fetched(home: Path, path: Path) -> list[tuple[object, ...]]:
    result = cli("--now", NOW, "fetch", "T", "--csv", str(path), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert (stored["rows"], stored["first"], stored["last"]) == (4, "2013-02-26", "2013-03-01")
    frame = Store(home / "store.sqlite").read("T")
    return [
        (str(day.date()), *(float(v) for v in values))
        for day, values in zip(frame.index, frame.to_numpy(), strict=True)
    ]


@pytest.mark.parametrize(
    "name",
    [
        "yfinance_download.csv",
        "yfinance_download_group_by_ticker.csv",
        "yfinance_history.csv",
        "yahoo_website.csv",
        "stooq.csv",
        "nasdaq_com.csv",
        "investing_com.csv",
        "tradingview_unix.csv",
        "tradingview_iso.csv",
        "pandas_to_csv.csv",
    ],
)
def test_export_imports(home: Path, name: str) -> None:
    assert fetched(home, EXPORTS / name) == EXPECTED


def test_investing_com_without_volume_imports_as_zero_volume(home: Path) -> None:
    """An index on Investing.com has no volume: "-" or nothing, read as 0 shares."""
    rows = fetched(home, EXPORTS / "investing_com_index.csv")
    assert rows == [(*row[:5], 0.0) for row in EXPECTED]


def test_every_sample_is_listed_in_the_docs() -> None:
    docs = (REPO / "docs" / "sources.md").read_text()
    for path in EXPORTS.glob("*.csv"):
        assert f"tests/fixtures/exports/{path.name}" in docs, path.name


def one_error(result: object) -> str:
    assert result.exit_code == 3, (result.exit_code, result.stdout, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1
    return lines[0]


def test_a_bad_price_names_the_column_the_date_and_the_line(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "bad.csv"
    text = (EXPORTS / "investing_com.csv").read_text().replace('"801.10"', '"-"')
    path.write_text(text)
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line == f"error: {path}: non-numeric Open value '-' on 2013-02-28 (line 3)"


def test_a_missing_price_names_the_column(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "gap.csv"
    path.write_text((EXPORTS / "stooq.csv").read_text().replace(",806.99,", ",,"))
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line == f"error: {path}: missing or non-finite High on 2013-02-28"


def test_yfinance_download_of_several_tickers_is_refused_with_what_to_do(
    tmp_path: Path, home: Path
) -> None:
    path = tmp_path / "two.csv"
    path.write_text(
        "Price,Close,Close,High,High,Low,Low,Open,Open,Volume,Volume\n"
        "Ticker,GOOG,AAPL,GOOG,AAPL,GOOG,AAPL,GOOG,AAPL,GOOG,AAPL\n"
        "Date,,,,,,,,,,\n"
        "2013-02-26,1,1,1,1,1,1,1,1,1,1\n"
    )
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert "2 tickers (AAPL, GOOG)" in line and "one ticker per file" in line


def test_no_date_column_names_the_columns_found(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "nodate.csv"
    path.write_text("Day,Open,High,Low,Close,Volume\n2013-02-26,1,2,0.5,1,10\n")
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert "no date column" in line and "Day, Open, High" in line and "name" in line


# The yf.download() layout's header lines, read by the csv module before pandas reads the file.
YF_LINES = (EXPORTS / "yfinance_download.csv").read_text().splitlines(keepends=True)


def test_yfinance_download_saved_with_a_byte_order_mark_imports(tmp_path: Path, home: Path) -> None:
    """Excel saves "CSV UTF-8" with a BOM: the first cell still reads "Price"."""
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + "".join(YF_LINES), encoding="utf-8")
    assert fetched(home, path) == EXPECTED


def test_yfinance_download_without_its_date_line_keeps_the_first_bar(
    tmp_path: Path, home: Path
) -> None:
    """An index without a name writes no "Date,,,,," line: the third line is the first bar."""
    path = tmp_path / "nodate.csv"
    path.write_text("".join(YF_LINES[:2] + YF_LINES[3:]))
    assert fetched(home, path) == EXPECTED


def test_yfinance_first_bar_without_prices_is_not_taken_for_the_date_line(
    tmp_path: Path, home: Path
) -> None:
    path = tmp_path / "gap.csv"
    path.write_text("".join(YF_LINES[:2]) + "2013-02-25,,,,,\n" + "".join(YF_LINES[3:]))
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line == f"error: {path}: missing or non-finite Open on 2013-02-25"


def test_a_date_line_with_a_value_is_read_as_a_bar(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("".join(YF_LINES[:2]) + "Date,1,,,,\n" + "".join(YF_LINES[3:]))
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line == (
        f"error: {path}: unreadable date 'Date' on line 2 "
        "(read as YYYY-MM-DD, like the other dates)"
    )


def test_a_ticker_in_one_column_only_still_makes_several(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(YF_LINES[0] + "Ticker,AAPL,GOOG,GOOG,GOOG,GOOG\n" + "".join(YF_LINES[2:]))
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line == (
        f"error: {path}: a yf.download() file of 2 tickers (AAPL, GOOG); save one ticker per "
        "file: yf.download('GOOG').to_csv('GOOG.csv')"
    )


def test_several_tickers_message_names_the_first_five(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "six.csv"
    path.write_text(
        "Price" + ",Close" * 6 + "\nTicker,F,E,D,C,B,A\nDate" + "," * 6 + "\n2013-02-26" + ",1" * 6
    )
    line = one_error(cli("fetch", "T", "--csv", str(path), home=home))
    assert line.startswith(f"error: {path}: a yf.download() file of 6 tickers (A, B, C, D, E); ")


def test_a_blank_first_line_is_not_a_yfinance_header(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n" + (EXPORTS / "stooq.csv").read_text())
    assert fetched(home, path) == EXPECTED


def test_only_the_three_header_lines_go_through_the_csv_module(tmp_path: Path, home: Path) -> None:
    """The csv module refuses a field over 131072 characters; pandas, which reads the bars,
    does not: a long note in an ignored column on the third bar imports."""
    path = tmp_path / "notes.csv"
    rows = [(*row, "note") for row in EXPECTED]
    rows[2] = (*EXPECTED[2], '"' + "x" * 200_000 + '"')
    path.write_text(
        "Date,Open,High,Low,Close,Volume,Notes\n"
        + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    assert fetched(home, path) == EXPECTED
