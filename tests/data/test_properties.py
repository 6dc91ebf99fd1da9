"""Property tests: what docs/sources.md promises for CSV numbers and dates, generated in every
spelling, and the calendar rules on exchanges ahead of and behind UTC, at random instants of
random sessions across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnforecast.data import calendars
from rnnforecast.data.sources import DATE_FORMATS, numeric_columns, parse_dates

# --- numbers --------------------------------------------------------------------------------

SUFFIX = {"": 1.0, "K": 1e3, "k": 1e3, "M": 1e6, "m": 1e6, "B": 1e9, "b": 1e9}


@st.composite
def exported_numbers(draw: Any) -> tuple[str, float]:
    """(text, value): digits with or without thousands separators (as many as the number
    has), an optional decimal part, currency sign, K/M/B suffix in either case, sign and
    the spaces exports put between them."""
    whole = draw(st.integers(0, 10**13))
    decimals = draw(st.sampled_from(["", "0", "5", "25", "04", "125", "9999"]))
    grouped = draw(st.booleans())
    digits = f"{whole:,}" if grouped else str(whole)
    number = digits + (f".{decimals}" if decimals else "")
    suffix = draw(st.sampled_from(sorted(SUFFIX)))
    currency = draw(st.sampled_from(["", "$", "€", "£", "¥"]))
    sign = draw(st.sampled_from(["", "-", "+"]))
    space = draw(st.sampled_from(["", " "]))
    text = f"{sign}{currency}{number}{space}{suffix}"
    value = float(f"{whole}.{decimals or 0}") * SUFFIX[suffix] * (-1.0 if sign == "-" else 1.0)
    return draw(st.sampled_from([text, f" {text} "])), value


def frame_of(column: str, texts: list[Any]) -> pd.DataFrame:
    """A bars frame whose ``column`` holds ``texts`` (as read from a CSV: strings) and every
    other column plain numbers."""
    index = pd.date_range("2020-01-01", periods=len(texts), freq="D")
    data: dict[str, list[Any]] = {c: ["1.5"] * len(texts) for c in ("Open", "High", "Low")}
    data.update({"Close": ["2"] * len(texts), "Volume": ["100"] * len(texts)})
    data[column] = texts
    return pd.DataFrame(data, index=index)


@settings(max_examples=50, deadline=None)
@given(st.lists(exported_numbers(), min_size=1, max_size=4), st.sampled_from(["Open", "Volume"]))
@example([("3,040,000", 3040000.0)], "Volume")
@example([("3.04m", 3040000.0)], "Volume")
@example([("1,234,567,890.5", 1234567890.5)], "Open")
def test_every_promised_number_spelling_reads_as_its_number(
    numbers: list[tuple[str, float]], column: str
) -> None:
    texts = [text for text, _ in numbers]
    got = numeric_columns(frame_of(column, texts), "x.csv")[column.lower()]
    assert got.tolist() == pytest.approx([value for _, value in numbers], rel=1e-15, abs=0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["-", "", " ", " - ", "—", "n/a", "N/A", None]),
            exported_numbers().map(lambda pair: pair[0].replace("-", "").replace("+", "")),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_volume_left_empty_or_dashed_is_zero_shares(texts: list[str | None]) -> None:
    got = numeric_columns(frame_of("Volume", texts), "x.csv")["volume"].tolist()
    for text, value in zip(texts, got, strict=True):
        if text is None or text.strip() in ("-", "", "—", "n/a", "N/A"):
            assert value == 0.0, text
        else:
            assert value > 0 or text.strip().lstrip("$€£¥").startswith(("0", ".")), text


# --- dates ----------------------------------------------------------------------------------

FORMATS = ["%Y-%m-%d" if f == "ISO8601" else f for f in DATE_FORMATS]


def spelled(day: dt.date, fmt: str, padded: bool) -> str:
    text = day.strftime(fmt)
    if padded:
        return text
    # the same date without leading zeros on day and month, as some exports print it
    unpadded = fmt.replace("%d", str(day.day)).replace("%m", str(day.month))
    return day.strftime(unpadded)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.dates(dt.date(1971, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=6),
    st.sampled_from(FORMATS),
    st.booleans(),
)
def test_dates_in_a_given_format_read_back(days: list[dt.date], fmt: str, padded: bool) -> None:
    """--date-format FMT reads every date written in FMT."""
    texts = pd.Series([spelled(d, fmt, padded) for d in days])
    got = parse_dates(texts, "x.csv", fmt)
    assert [t.date() for t in got] == days


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.dates(dt.date(1971, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=6),
    st.sampled_from(FORMATS),
)
def test_dates_in_every_listed_format_are_found_from_the_file(
    days: list[dt.date], fmt: str
) -> None:
    """Without --date-format, the one listed format that reads every date is found; a day
    after the 12th tells month-first from day-first."""
    days = [*days, dt.date(2013, 2, 26)]
    texts = pd.Series([d.strftime(fmt) for d in days])
    got = parse_dates(texts, "x.csv")
    assert [t.date() for t in got] == days


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(10**8, 2**31 - 1), min_size=1, max_size=6))
def test_unix_seconds_read_as_their_utc_wall_clock(seconds: list[int]) -> None:
    """A column of 9-10 digit numbers is Unix seconds (TradingView's ``time``), read as UTC
    wall-clock instants; fetch then dates each by the session it falls in (below)."""
    got = parse_dates(pd.Series([str(s) for s in seconds]), "x.csv")
    expected = [dt.datetime.fromtimestamp(s, dt.UTC).replace(tzinfo=None) for s in seconds]
    assert [t.to_pydatetime() for t in got] == expected


# --- exchanges ahead of and behind UTC ----------------------------------------------------------

ZONES = {
    "XASX": "Australia/Sydney",
    "XNZE": "Pacific/Auckland",
    "XTKS": "Asia/Tokyo",
    "XNYS": "America/New_York",
    "XLON": "Europe/London",
}
SPAN = (dt.date(2016, 1, 1), dt.date(2024, 12, 31))


@functools.cache
def calendar(code: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(session dates, opens, closes in UTC) straight from exchange_calendars."""
    import exchange_calendars as xcals

    cal = xcals.get_calendar(code, start=pd.Timestamp(SPAN[0]), end=pd.Timestamp(SPAN[1]))
    dates = np.asarray(cal.closes.index.values, dtype="datetime64[D]")
    opens = np.asarray(cal.opens.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")
    closes = np.asarray(cal.closes.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")
    return dates, opens, closes


def instants(code: str, picks: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """For each (where, within) in [0, 1)^2: a session of ``code`` and an instant inside it
    (``within`` of the way from its open to its close)."""
    dates, opens, closes = calendar(code)
    at = np.array([int(where * len(dates)) for where, _ in picks])
    within = np.array([frac for _, frac in picks])
    length = (closes[at] - opens[at]).astype(np.int64)
    stamps = opens[at] + (within * length).astype(np.int64).astype("timedelta64[s]")
    return dates[at], stamps


unit = st.floats(0, 1, exclude_max=True, allow_nan=False)


@pytest.mark.parametrize("code", sorted(ZONES))
@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(unit, st.sampled_from([0.0, 0.5, 0.999]) | unit), min_size=1))
def test_an_instant_in_a_session_is_dated_by_that_session(
    code: str, picks: list[tuple[float, float]]
) -> None:
    """TradingView stamps a bar at its session's open (23:00 UTC the day before for Sydney in
    summer, 21:00 for Wellington): every instant of a session maps to the session's date,
    which is the date of that instant in the exchange's own zone."""
    expected, stamps = instants(code, picks)
    got = calendars.session_dates(code, stamps)
    assert got.tolist() == expected.tolist()
    zone = ZoneInfo(ZONES[code])
    local = [
        dt.datetime.fromtimestamp(int(s.astype(np.int64)), dt.UTC).astimezone(zone).date()
        for s in stamps
    ]
    assert local == expected.tolist()


def test_the_generated_sessions_cross_utc_midnight() -> None:
    """The property above covers opens on the day before in UTC (Sydney's summer, every
    Wellington open) and on the same day (Sydney's winter, Tokyo, London, New York)."""
    for code, before in (("XASX", {True, False}), ("XNZE", {True}), ("XNYS", {False})):
        dates, opens, _ = calendar(code)
        assert set((opens.astype("datetime64[D]") < dates).tolist()) == before, code


def bars_until(dates: np.ndarray) -> pd.DataFrame:
    index = pd.DatetimeIndex(dates.astype("datetime64[ns]"))
    return pd.DataFrame({"close": np.arange(1.0, len(index) + 1)}, index=index)


@pytest.mark.parametrize("code", sorted(ZONES))
@settings(max_examples=50, deadline=None)
@given(unit.filter(lambda w: w > 0.01), unit)
def test_a_live_bar_is_dropped_during_its_session_and_kept_after_its_close(
    code: str, where: float, within: float
) -> None:
    """A bar is stored once its session closed in the exchange's zone: a live source's bar of
    the session under way is dropped (never refused, on either side of UTC midnight), and
    the same bar is kept from the instant its session closes."""
    dates, _, closes = calendar(code)
    (session,), (now,) = instants(code, [(where, within)])
    at = int(np.searchsorted(dates, session))
    frame = bars_until(dates[max(at - 30, 0) : at + 1])
    known = calendars.Sessions(code, dates, closes)
    now_aware = dt.datetime.fromisoformat(f"{now}+00:00")
    kept = calendars.complete_bars(frame, known, now_aware, "live", drop_open=True)
    assert kept.index[-1] == pd.Timestamp(dates[at - 1])
    assert len(kept) == len(frame) - 1
    at_close = dt.datetime.fromisoformat(f"{closes[at]}+00:00")
    kept = calendars.complete_bars(frame, known, at_close, "live", drop_open=True)
    assert kept.index[-1] == pd.Timestamp(session)
