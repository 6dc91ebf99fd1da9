"""Sources: ticker checks, CSV reading, the bundled sample, and Yahoo through a fake yfinance."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES, canonical, make_prices, yahoo_frame
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError, YFTzMissingError

from rnnforecast.data import sources
from rnnforecast.data.sources import COLUMNS, check_ticker, read_csv
from rnnforecast.errors import DataError, SourceError, UsageError

SAMPLE_SHA256 = "60e961a567490b157f71888df9e6afb36190a34a40a6286aa38988e2343f1b1a"


def write_text(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def small_csv(rows: list[str], header: str = "Date,Open,High,Low,Close,Volume") -> str:
    return "\n".join([header, *rows]) + "\n"


GOOD_ROWS = [
    "2020-01-02,10,11,9,10.5,1000",
    "2020-01-03,10.5,11.5,10,11,1200",
    "2020-01-06,11,12,10.5,11.5,900",
    "2020-01-07,11.5,12,11,11.2,800",
]


def assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(COLUMNS)
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "date"
    assert frame.index.tz is None
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique
    assert (frame.index == frame.index.normalize()).all()


# --- check_ticker ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("AAPL", "AAPL"),
        ("aapl", "AAPL"),
        ("brk-b", "BRK-B"),
        ("^GSPC", "^GSPC"),
        ("EURUSD=X", "EURUSD=X"),
        ("7203.T", "7203.T"),
        (" msft ", "MSFT"),
        ("X" * 20, "X" * 20),
    ],
)
def test_check_ticker_accepts(given: str, expected: str) -> None:
    assert check_ticker(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "../x", "a/b", "a\\b", "A B", ".hidden", "x" * 21, "A..B", "-A", "^", "AA$"],
)
def test_check_ticker_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid ticker"):
        check_ticker(bad)


def test_check_ticker_shortens_long_input_in_message() -> None:
    with pytest.raises(UsageError) as info:
        check_ticker("y" * 100)
    assert "y" * 31 not in str(info.value)


# --- read_csv: good files -------------------------------------------------------------------


def test_read_csv_round_trips(prices_csv: Path, prices: pd.DataFrame) -> None:
    bars = read_csv(prices_csv)
    assert bars.source == "csv"
    assert bars.auto_adjust is None
    assert_canonical(bars.frame)
    expected = canonical(prices)
    assert (bars.frame.index == expected.index).all()
    np.testing.assert_array_equal(bars.frame.to_numpy(), expected.to_numpy())


def test_read_csv_unnamed_date_column(tmp_path: Path, prices: pd.DataFrame) -> None:
    unnamed = prices.copy()
    unnamed.index.name = None
    path = tmp_path / "unnamed.csv"
    unnamed.to_csv(path)
    assert path.read_text().startswith(",Open")
    bars = read_csv(path)
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())
    assert (bars.frame.index == prices.index).all()


@pytest.mark.parametrize(
    "header",
    [
        "date,open,high,low,close,volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME",
        "Date,oPeN,High,low,CLOSE,Volume",
        "Datetime,Open,High,Low,Close,Volume",
        "Date, Open, High, Low, Close, Volume",
    ],
)
def test_read_csv_column_case(tmp_path: Path, header: str) -> None:
    bars = read_csv(write_text(tmp_path, small_csv(GOOD_ROWS, header)))
    assert_canonical(bars.frame)
    assert bars.frame["close"].tolist() == [10.5, 11.0, 11.5, 11.2]


def test_read_csv_shuffled_columns_and_extra_adj_close(
    tmp_path: Path, prices: pd.DataFrame
) -> None:
    shuffled = prices[["Volume", "Close", "Low", "Open", "High"]].copy()
    shuffled.insert(2, "Adj Close", shuffled["Close"] * 0.5)
    shuffled["Note"] = "x"
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path)
    bars = read_csv(path)
    assert_canonical(bars.frame)
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())


def test_read_csv_date_column_not_first(tmp_path: Path) -> None:
    rows = [",".join([*r.split(",")[1:], r.split(",")[0]]) for r in GOOD_ROWS]
    bars = read_csv(write_text(tmp_path, small_csv(rows, "Open,High,Low,Close,Volume,Date")))
    assert bars.frame.index[0] == pd.Timestamp("2020-01-02")


def test_read_csv_sorts_rows(tmp_path: Path, prices: pd.DataFrame) -> None:
    path = tmp_path / "reversed.csv"
    prices.iloc[::-1].to_csv(path)
    bars = read_csv(path)
    assert bars.frame.index.is_monotonic_increasing
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())

    mixed = [GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[3], GOOD_ROWS[1]]
    bars = read_csv(write_text(tmp_path, small_csv(mixed), "mixed.csv"))
    assert list(bars.frame.index.strftime("%Y-%m-%d")) == [
        "2020-01-02",
        "2020-01-03",
        "2020-01-06",
        "2020-01-07",
    ]
    assert bars.frame["close"].tolist() == [10.5, 11.0, 11.5, 11.2]


def test_read_csv_tz_aware_dates_keep_the_calendar_date(
    tmp_path: Path, prices: pd.DataFrame
) -> None:
    # Tokyo has no daylight saving time: one offset throughout.
    path = tmp_path / "tokyo.csv"
    yahoo_frame(prices, multi_level=False, tz="Asia/Tokyo").to_csv(path)
    bars = read_csv(path)
    assert (bars.frame.index == prices.index).all()


def test_read_csv_yfinance_export_across_dst(tmp_path: Path, prices: pd.DataFrame) -> None:
    path = tmp_path / "yf.csv"
    yahoo_frame(prices, multi_level=False, tz="America/New_York").to_csv(path)
    text = path.read_text()
    assert "-05:00" in text and "-04:00" in text
    bars = read_csv(path)
    assert (bars.frame.index == prices.index).all()
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())


# --- read_csv: bad files --------------------------------------------------------------------


def test_read_csv_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(UsageError, match="not found") as info:
        read_csv(missing)
    assert str(missing) in str(info.value)


def test_read_csv_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        read_csv(tmp_path)


def test_read_csv_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_csv(path)


def test_read_csv_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no rows"):
        read_csv(write_text(tmp_path, "Date,Open,High,Low,Close,Volume\n"))


def test_read_csv_no_close_column(tmp_path: Path) -> None:
    rows = [",".join(r.split(",")[:4] + r.split(",")[5:]) for r in GOOD_ROWS]
    path = write_text(tmp_path, small_csv(rows, "Date,Open,High,Low,Volume"))
    with pytest.raises(DataError, match="Close") as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_read_csv_no_date_column(tmp_path: Path) -> None:
    rows = [",".join(r.split(",")[1:]) for r in GOOD_ROWS]
    with pytest.raises(DataError, match="date"):
        read_csv(write_text(tmp_path, small_csv(rows, "Open,High,Low,Close,Volume")))


def test_read_csv_non_numeric_price(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], "2020-01-06,11,12,10.5,n/a!,900", GOOD_ROWS[3]]
    with pytest.raises(DataError, match="Close") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-06" in str(info.value)
    assert "n/a!" in str(info.value)


def test_read_csv_non_numeric_volume(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:3], "2020-01-07,11.5,12,11,11.2,lots"]
    with pytest.raises(DataError, match="Volume") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-07" in str(info.value)


@pytest.mark.parametrize("bad", ["-11", "0"])
def test_read_csv_price_not_positive(tmp_path: Path, bad: str) -> None:
    rows = [*GOOD_ROWS[:2], f"2020-01-06,{bad},12,10.5,11.5,900", GOOD_ROWS[3]]
    with pytest.raises(DataError, match="not positive") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-06" in str(info.value)


def test_read_csv_negative_volume(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], "2020-01-06,11,12,10.5,11.5,-5", GOOD_ROWS[3]]
    with pytest.raises(DataError, match="volume") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-06" in str(info.value)


@pytest.mark.parametrize("cell", ["", "NaN", "inf"])
def test_read_csv_missing_or_non_finite_cell(tmp_path: Path, cell: str) -> None:
    rows = [GOOD_ROWS[0], f"2020-01-03,10.5,{cell},10,11,1200", *GOOD_ROWS[2:]]
    with pytest.raises(DataError, match="2020-01-03"):
        read_csv(write_text(tmp_path, small_csv(rows)))


def test_read_csv_duplicate_dates(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "2020-01-03,10.5,11.5,10,11,1200"]
    with pytest.raises(DataError, match="duplicate date 2020-01-03"):
        read_csv(write_text(tmp_path, small_csv(rows)))


def test_read_csv_high_below_low(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], "2020-01-06,11,10,12,11.5,900", GOOD_ROWS[3]]
    with pytest.raises(DataError, match="High below Low") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-06" in str(info.value)


def test_read_csv_intraday(tmp_path: Path) -> None:
    rows = [
        "2020-01-02 10:30,10,11,9,10.5,1000",
        "2020-01-02 10:31,10.5,11.5,10,11,1200",
        "2020-01-02 10:32,11,12,10.5,11.5,900",
    ]
    with pytest.raises(DataError, match="intraday") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert "2020-01-02 10:30" in str(info.value)


def test_read_csv_weekly(tmp_path: Path) -> None:
    weekly = make_prices(n=20)
    weekly.index = pd.date_range("2020-01-06", periods=20, freq="7D", name="Date")
    path = tmp_path / "weekly.csv"
    weekly.to_csv(path)
    with pytest.raises(DataError, match="weekly"):
        read_csv(path)


@pytest.mark.parametrize("bad_date", ["2020-13-45", "yesterday", "2020-02-30"])
def test_read_csv_unparseable_date(tmp_path: Path, bad_date: str) -> None:
    rows = [*GOOD_ROWS[:2], f"{bad_date},11,12,10.5,11.5,900", GOOD_ROWS[3]]
    with pytest.raises(DataError, match="date") as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert bad_date in str(info.value)
    assert "line 4" in str(info.value)


def test_read_csv_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage\x00\n\x80\x81")
    with pytest.raises(DataError):
        read_csv(path)


# --- validate_bars directly ----------------------------------------------------------------


def test_validate_bars_rejects_non_datetime_index() -> None:
    frame = canonical(make_prices(n=5)).reset_index(drop=True)
    with pytest.raises(DataError, match="dates"):
        sources.validate_bars(frame, "test")


def test_validate_bars_rejects_empty() -> None:
    frame = canonical(make_prices(n=5)).iloc[:0]
    with pytest.raises(DataError, match="no rows"):
        sources.validate_bars(frame, "test")


def test_validate_bars_makes_integer_columns_float64() -> None:
    """A frame of integers (a DataFrame handed to the API) comes back canonical: float64."""
    days = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="Date")
    frame = pd.DataFrame(
        {"open": [10, 11, 12], "high": [12, 12, 13], "low": [9, 10, 11], "close": [11, 12, 12]},
        index=days,
    ).assign(volume=[100, 0, 5])
    clean = sources.validate_bars(frame, "test")
    assert_canonical(clean)
    assert clean.to_numpy().tolist() == frame.to_numpy().astype(float).tolist()


# --- edges a mutation run found untested (docs/tests.md) ------------------------------------


def test_three_weekly_bars_are_refused(tmp_path: Path) -> None:
    rows = ["2020-01-06,10,11,9,10,1", "2020-01-13,10,11,9,10,1", "2020-01-20,10,11,9,10,1"]
    with pytest.raises(DataError) as info:
        read_csv(write_text(tmp_path, small_csv(rows)))
    assert str(info.value).endswith(
        "bars.csv: bars are 7 days apart (median): these look like weekly or monthly bars, "
        "and rnnforecast works on daily bars only"
    )


def test_bars_four_days_apart_are_still_daily(tmp_path: Path) -> None:
    """The median gap may be 4 days (a thinly traded series); 5 is refused."""
    for gap, refused in ((4, False), (5, True)):
        days = pd.date_range("2020-01-02", periods=3, freq=f"{gap}D")
        rows = [f"{day.date()},10,11,9,10,1" for day in days]
        path = write_text(tmp_path, small_csv(rows))
        if refused:
            with pytest.raises(DataError, match="bars are 5 days apart"):
                read_csv(path)
        else:
            assert list(read_csv(path).frame.index) == list(days)


def test_prices_below_one_and_a_flat_bar_are_valid(tmp_path: Path) -> None:
    """A penny stock trades under 1; a bar with High equal to Low (one trade) is no error."""
    rows = ["2020-01-02,0.5,0.75,0.25,0.5,10", "2020-01-03,0.01,0.01,0.01,0.01,1"]
    frame = read_csv(write_text(tmp_path, small_csv(rows))).frame
    assert frame.to_numpy().tolist() == [[0.5, 0.75, 0.25, 0.5, 10.0], [0.01] * 4 + [1.0]]


@pytest.mark.parametrize(
    ("cell", "column", "message"),
    [
        ('"-$10.50"', 1, "price not positive on 2020-01-03"),
        ('"-1,200"', 5, "negative volume on 2020-01-03"),
        ("-1.2K", 5, "negative volume on 2020-01-03"),
    ],
)
def test_exported_negative_numbers_keep_their_sign(
    tmp_path: Path, cell: str, column: int, message: str
) -> None:
    row = GOOD_ROWS[1].split(",")
    row[column] = cell
    path = write_text(tmp_path, small_csv([GOOD_ROWS[0], ",".join(row), *GOOD_ROWS[2:]]))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == f"{path}: {message}"


def test_no_date_readable_in_any_format(tmp_path: Path) -> None:
    """When no format reads a single date, the message names no format."""
    rows = ["yesterday,10,11,9,10,1", "tomorrow,10,11,9,10,1"]
    path = write_text(tmp_path, small_csv(rows))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == f"{path}: unreadable date 'yesterday' on line 2"


def test_daily_stamps_twenty_hours_apart_keep_their_dates(tmp_path: Path) -> None:
    """Bars at least 20 hours apart are daily bars stamped at an hour (docs/sources.md)."""
    rows = ["2020-01-02 23:00,10,11,9,10,1", "2020-01-03 19:00,10,11,9,10,1"]
    frame = read_csv(write_text(tmp_path, small_csv(rows))).frame
    assert [str(day.date()) for day in frame.index] == ["2020-01-02", "2020-01-03"]


def test_clip_keeps_what_the_bars_carry() -> None:
    frame = canonical(make_prices(n=5))
    stamps = frame.index.values.astype("datetime64[s]") + np.timedelta64(3600, "s")
    bars = sources.Bars(frame, "yahoo", True, "NMS", stamps)
    start, end = frame.index[1].date(), frame.index[3].date()
    clipped = sources.clip(bars, start, end)
    assert clipped.frame.equals(frame.iloc[1:4])
    assert (clipped.source, clipped.auto_adjust, clipped.exchange) == ("yahoo", True, "NMS")
    assert clipped.stamps is not None and clipped.stamps.tolist() == stamps[1:4].tolist()
    assert sources.clip(sources.Bars(frame, "csv"), start, None).stamps is None


def test_csv_source_clips_to_start_and_end(tmp_path: Path) -> None:
    path = write_text(tmp_path, small_csv(GOOD_ROWS))
    source = sources.CsvSource(path)
    assert source.origin("T") == str(path)
    got = source.bars("T", dt.date(2020, 1, 3), dt.date(2020, 1, 6)).frame
    assert [str(day.date()) for day in got.index] == ["2020-01-03", "2020-01-06"]
    got = source.bars("T", None, dt.date(2020, 1, 3)).frame
    assert [str(day.date()) for day in got.index] == ["2020-01-02", "2020-01-03"]


def test_messages_name_the_folder_and_the_columns_found(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        read_csv(tmp_path)
    assert str(info.value) == f"{tmp_path} is a folder, not a CSV file"
    path = write_text(tmp_path, small_csv(["2020-01-02,10,11,9,1"], "Date,Open,High,Low,Volume"))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: missing column Close (need Open, High, Low, Close, Volume; found Date, "
        "Open, High, Low, Volume)"
    )


def test_quoted_numbers_after_a_comma_and_a_space(tmp_path: Path) -> None:
    """Some exports separate fields with ", "; a quoted number with a thousands separator
    is then one field."""
    text = (
        "Date, Open, High, Low, Close, Volume\n"
        '2020-01-02, "1,000.5", "1,100", 900, "1,050", "1,200"\n'
        '2020-01-03, "1,050", "1,060", "1,001", "1,010", 900\n'
    )
    frame = read_csv(write_text(tmp_path, text)).frame
    assert frame.to_numpy().tolist() == [
        [1000.5, 1100.0, 900.0, 1050.0, 1200.0],
        [1050.0, 1060.0, 1001.0, 1010.0, 900.0],
    ]


def test_numeric_columns_of_a_frame() -> None:
    """What the API's DataFrames go through: no file line in messages, any row label, and
    a numeric Volume keeps its missing values (refused later) where a text one is 0."""
    frame = pd.DataFrame(
        {"Open": ["1", "2"], "High": ["1", "2"], "Low": ["1", "2"], "Close": ["1", "x"]},
        index=pd.DatetimeIndex(["2020-01-02", "2020-01-03"]),
    ).assign(Volume=[1.0, np.nan])
    with pytest.raises(DataError) as info:
        sources.numeric_columns(frame, "f")
    assert str(info.value) == "f: non-numeric Close value 'x' on 2020-01-03"
    with pytest.raises(DataError) as info:
        sources.numeric_columns(frame.reset_index(drop=True), "f", first_line=2)
    assert str(info.value) == "f: non-numeric Close value 'x' on 1 (line 3)"
    clean = sources.numeric_columns(frame.assign(Close=["1", "2"]), "f")
    assert clean["volume"].tolist()[0] == 1.0 and np.isnan(clean["volume"].tolist()[1])
    texts = sources.numeric_columns(frame.assign(Close=["1", "2"], Volume=["5", "-"]), "f")
    assert texts["volume"].tolist() == [5.0, 0.0]


def test_an_unreadable_file_names_what_the_reader_said(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage\x00\n\x80\x81")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: not a readable CSV file ('utf-8' codec can't decode byte 0xff in position "
        "0: invalid start byte)"
    )


def test_yfinance_download_messages_name_the_date_column_and_the_file_line(
    tmp_path: Path,
) -> None:
    """Its first header line is "Price,...": the dates' column is named Date, and a bad value
    is on the line of the file (three header lines), not of the table."""
    lines = (FIXTURES / "exports" / "yfinance_download.csv").read_text().splitlines()
    path = write_text(tmp_path, "\n".join([*lines[:4], lines[4].replace("797.8", "abc")]))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == f"{path}: non-numeric Open value 'abc' on 2013-02-27 (line 5)"
    no_volume = [",".join(line.split(",")[:-1]) for line in lines]
    path = write_text(tmp_path, "\n".join(no_volume))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: missing column Volume (need Open, High, Low, Close, Volume; found Date, "
        "Close, High, Low, Open)"
    )


def test_no_date_column_names_the_first_six_columns(tmp_path: Path) -> None:
    header = "Day,Open,High,Low,Close,Volume,Adj Close,Note"
    path = write_text(tmp_path, small_csv(["2020-01-02,1,1,1,1,1,1,x"], header))
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: no date column: the first line names the columns (Day, Open, High, Low, "
        "Close, Volume); name the dates' column Date, or leave the first column unnamed"
    )


def test_a_blank_column_name_is_the_dates_only_first(tmp_path: Path) -> None:
    rows = ["2020-01-02,10,11,9,10.5,1000", "2020-01-03,10.5,11.5,10,11,1200"]
    frame = read_csv(write_text(tmp_path, small_csv(rows, '" ",Open,High,Low,Close,Volume'))).frame
    assert [str(day.date()) for day in frame.index] == ["2020-01-02", "2020-01-03"]
    moved = [",".join([row.split(",")[1], row.split(",")[0], *row.split(",")[2:]]) for row in rows]
    path = write_text(tmp_path, small_csv(moved, 'Open," ",High,Low,Close,Volume'))
    with pytest.raises(DataError, match="no date column"):
        read_csv(path)


def test_utc_times_marked_z_keep_their_date(tmp_path: Path) -> None:
    rows = ["2020-01-02T14:30:00Z,10,11,9,10.5,1000", "2020-01-03T14:30:00Z,10.5,11.5,10,11,1"]
    frame = read_csv(write_text(tmp_path, small_csv(rows))).frame
    assert list(frame.index) == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]


def test_unix_times_are_kept_as_the_bars_instants(tmp_path: Path) -> None:
    """TradingView's Unix seconds: fetch maps each to its session (the bars' stamps); the
    rows out of order are sorted with their stamps."""
    path = FIXTURES / "exports" / "tradingview_unix.csv"
    seconds = [int(line.split(",")[0]) for line in path.read_text().splitlines()[1:]]
    lines = path.read_text().splitlines()
    shuffled = write_text(tmp_path, "\n".join([lines[0], *reversed(lines[1:])]))
    bars = read_csv(shuffled)
    assert bars.stamps is not None
    assert bars.stamps.astype("int64").tolist() == sorted(seconds)
    assert bars.stamps.dtype == np.dtype("datetime64[s]")


# --- the bundled sample ---------------------------------------------------------------------


def test_load_sample() -> None:
    bars = sources.load_sample()
    assert bars.source == "sample"
    assert len(bars.frame) == 2148
    assert bars.frame.index[0] == pd.Timestamp("2004-08-19")
    assert bars.frame.index[-1] == pd.Timestamp("2013-03-01")
    assert_canonical(bars.frame)
    assert sources.SAMPLE_TICKER == "GOOG"


def test_sample_file_checksum() -> None:
    digest = hashlib.sha256(sources.sample_path().read_bytes()).hexdigest()
    assert digest == SAMPLE_SHA256


# --- Yahoo, through the fake ----------------------------------------------------------------


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Tokyo"])
def test_yahoo_multi_level_frame(fake_yahoo, prices: pd.DataFrame, tz: str) -> None:
    fake_yahoo.answers = [yahoo_frame(prices, ticker="AAPL", tz=tz)]
    bars = fake_yahoo.source().bars("AAPL")
    assert bars.source == "yahoo"
    assert bars.auto_adjust is True
    assert_canonical(bars.frame)
    # the exchange's calendar dates, not shifted by a conversion to UTC
    assert (bars.frame.index == prices.index).all()
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())


def test_yahoo_tokyo_dates_would_shift_in_utc(prices: pd.DataFrame) -> None:
    """Guard for the test above: converting Tokyo midnight to UTC gives the previous day."""
    frame = yahoo_frame(prices, tz="Asia/Tokyo")
    utc_dates = frame.index.tz_convert("UTC").tz_localize(None).normalize()
    assert (utc_dates != prices.index).all()


def test_yahoo_flat_history_frame(fake_yahoo, prices: pd.DataFrame) -> None:
    fake_yahoo.answers = [yahoo_frame(prices, multi_level=False)]
    bars = fake_yahoo.source().bars("AAPL")
    assert_canonical(bars.frame)
    assert (bars.frame.index == prices.index).all()
    np.testing.assert_array_equal(bars.frame.to_numpy(), canonical(prices).to_numpy())


def test_yahoo_drops_rows_yahoo_left_empty(fake_yahoo, prices: pd.DataFrame) -> None:
    frame = yahoo_frame(prices, multi_level=False)
    frame.iloc[5, :4] = np.nan
    fake_yahoo.answers = [frame]
    bars = fake_yahoo.source().bars("AAPL")
    assert len(bars.frame) == len(prices) - 1
    assert prices.index[5] not in bars.frame.index


def test_yahoo_several_tickers(fake_yahoo, prices: pd.DataFrame) -> None:
    both = pd.concat(
        [yahoo_frame(prices, ticker="AAPL"), yahoo_frame(prices, ticker="MSFT")], axis=1
    )
    fake_yahoo.answers = [both]
    with pytest.raises(DataError, match="several tickers") as info:
        fake_yahoo.source().bars("AAPL")
    assert "MSFT" in str(info.value)


def test_yahoo_empty_frame(fake_yahoo) -> None:
    fake_yahoo.answers = [pd.DataFrame()]
    with pytest.raises(DataError, match="XYZ"):
        fake_yahoo.source().bars("XYZ")
    assert len(fake_yahoo.calls) == 1


def test_yahoo_missing_columns(fake_yahoo, prices: pd.DataFrame) -> None:
    fake_yahoo.answers = [yahoo_frame(prices, multi_level=False).drop(columns=["Volume"])]
    with pytest.raises(DataError, match="Volume"):
        fake_yahoo.source().bars("AAPL")


@pytest.mark.parametrize(
    "error", [YFPricesMissingError("XYZ", ""), YFTzMissingError("XYZ")], ids=["prices", "tz"]
)
def test_yahoo_missing_ticker_is_data_error_without_retry(fake_yahoo, error) -> None:
    fake_yahoo.answers = [error]
    with pytest.raises(DataError, match="XYZ"):
        fake_yahoo.source().bars("XYZ")
    assert len(fake_yahoo.calls) == 1
    assert fake_yahoo.sleeps == []


def test_yahoo_rate_limited_every_time(fake_yahoo) -> None:
    fake_yahoo.answers = [YFRateLimitError()]
    with pytest.raises(SourceError, match="rate limited") as info:
        fake_yahoo.source().bars("AAPL")
    assert "4 attempts" in str(info.value)
    assert len(fake_yahoo.calls) == 4  # retries (3) + 1
    assert fake_yahoo.sleeps == [1, 2, 4]


def test_yahoo_retry_settings(fake_yahoo) -> None:
    fake_yahoo.answers = [ConnectionError("down")]
    with pytest.raises(SourceError, match="unreachable"):
        fake_yahoo.source(retries=2, backoff=0.5).bars("AAPL")
    assert len(fake_yahoo.calls) == 3
    assert fake_yahoo.sleeps == [0.5, 1.0]


def test_yahoo_no_retries(fake_yahoo) -> None:
    fake_yahoo.answers = [OSError("down")]
    with pytest.raises(SourceError):
        fake_yahoo.source(retries=0).bars("AAPL")
    assert len(fake_yahoo.calls) == 1
    assert fake_yahoo.sleeps == []


def test_yahoo_recovers_after_network_errors(fake_yahoo, prices: pd.DataFrame) -> None:
    fake_yahoo.answers = [ConnectionError("reset"), OSError("timed out"), yahoo_frame(prices)]
    bars = fake_yahoo.source().bars("AAPL")
    assert len(fake_yahoo.calls) == 3
    assert fake_yahoo.sleeps == [1, 2]
    assert len(bars.frame) == len(prices)


@pytest.mark.parametrize("auto_adjust", [True, False])
def test_yahoo_arguments_reach_the_call(
    fake_yahoo, prices: pd.DataFrame, auto_adjust: bool
) -> None:
    fake_yahoo.answers = [yahoo_frame(prices)]
    source = fake_yahoo.source(auto_adjust=auto_adjust, timeout=3.0)
    bars = source.bars("AAPL", dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    (call,) = fake_yahoo.calls
    assert call["symbol"] == "AAPL"
    assert call["start"] == "2020-01-01"
    assert call["end"] == "2021-01-01"  # end inclusive for us, exclusive for yfinance
    assert call["auto_adjust"] is auto_adjust
    assert call["timeout"] == 3.0
    assert bars.source == "yahoo"
    assert bars.auto_adjust is auto_adjust


def test_yahoo_whole_history_by_default(fake_yahoo, prices: pd.DataFrame) -> None:
    fake_yahoo.answers = [yahoo_frame(prices)]
    fake_yahoo.source().bars("AAPL")
    (call,) = fake_yahoo.calls
    assert call["start"] is None
    assert call["end"] is None
    assert call["auto_adjust"] is True
