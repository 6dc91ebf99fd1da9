"""The edges of rnnforecast.data.calendars.session_dates that a mutation run (mutmut,
docs/tests.md) found untested. CME's sessions (CMES) open at 23:00 UTC, 17:00 in Chicago,
the evening before the session's date, so an instant's session date and its local date
differ there: the tests tell "in a session" from "keeps its local date"."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rnnforecast.data import calendars
from rnnforecast.errors import DataError, UsageError


def test_session_dates_in_and_out_of_cmes_sessions() -> None:
    stamps = np.array(
        [
            "2024-01-08T23:30:00",  # Monday 17:30 in Chicago: the session dated Tuesday
            "2024-01-08T22:30:00",  # before Monday's close: Monday's
            "2024-01-09T23:00:00",  # Tuesday's close, Wednesday's open: Wednesday's
            "2024-01-06T15:00:00",  # Saturday: no session, Saturday in Chicago
            "2024-01-06T03:00:00",  # Friday 21:00 in Chicago, after Friday's close
        ],
        dtype="datetime64[s]",
    )
    got = calendars.session_dates("CMES", stamps)
    assert got.dtype == np.dtype("datetime64[D]")
    assert got.tolist() == [
        dt.date(2024, 1, 9),
        dt.date(2024, 1, 8),
        dt.date(2024, 1, 10),
        dt.date(2024, 1, 6),
        dt.date(2024, 1, 5),
    ]


def test_one_instant_in_its_session() -> None:
    got = calendars.session_dates("cmes", np.array(["2024-01-08T23:30:00"], "datetime64[s]"))
    assert got.tolist() == [dt.date(2024, 1, 9)]


def test_an_unknown_code_is_shown_whole_up_to_30_characters() -> None:
    for code, shown in (("Q" * 30, "Q" * 30), ("Q" * 31, "Q" * 27 + "...")):
        with pytest.raises(UsageError) as raised:
            calendars.check_code(code)
        assert str(raised.value) == (
            f"unknown exchange calendar {shown!r} (examples: XNYS New York, XLON London, "
            "XETR Xetra, XTSE Toronto, XTKS Tokyo, 24/7 every day)"
        )


def test_off_sessions_counts_the_days_inside_the_span_that_are_not_sessions() -> None:
    dates = np.array(["2024-01-08", "2024-01-10", "2024-01-12"], dtype="datetime64[D]")
    closes = (dates + np.timedelta64(21, "h")).astype("datetime64[s]")
    span = calendars.Sessions("XNYS", dates, closes)
    days = ["2024-01-07", "2024-01-08", "2024-01-09", "2024-01-11", "2024-01-12", "2024-01-13"]
    frame = pd.DataFrame({"close": np.ones(6)}, index=pd.DatetimeIndex(days))
    assert calendars.off_sessions(frame, span) == 2  # 01-09 and 01-11; 01-07, 01-13 outside


def test_sessions_end_on_the_last_day_asked() -> None:
    got = calendars.sessions("XNYS", dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    assert [str(d) for d in got.dates] == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert str(got.closes[-1]) == "2024-01-05T21:00:00"


DATES = np.array(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"], dtype="datetime64[D]")
WEEK = calendars.Sessions("XNYS", DATES, (DATES + np.timedelta64(21, "h")).astype("datetime64[s]"))
AT_CLOSE = dt.datetime(2024, 1, 8, 21, 0, tzinfo=dt.UTC)  # Monday's close, to the second


def frame_of(*days: str) -> pd.DataFrame:
    return pd.DataFrame({"close": np.ones(len(days))}, index=pd.DatetimeIndex(days))


def test_a_session_has_closed_at_its_close() -> None:
    assert WEEK.last_closed(AT_CLOSE) == dt.date(2024, 1, 8)
    assert WEEK.last_closed(AT_CLOSE - dt.timedelta(seconds=1)) == dt.date(2024, 1, 5)


def test_a_live_bar_of_utc_tomorrow_is_dropped_and_one_after_it_refused() -> None:
    """At Monday's close (21:00 UTC) UTC's tomorrow is Tuesday: a live source's Tuesday bar
    is dropped; a Wednesday bar has not even opened and is refused."""
    kept = calendars.complete_bars(
        frame_of("2024-01-05", "2024-01-08", "2024-01-09"), WEEK, AT_CLOSE, "x", drop_open=True
    )
    assert [str(d.date()) for d in kept.index] == ["2024-01-05", "2024-01-08"]
    with pytest.raises(DataError, match=r"^x: bar dated 2024-01-10 is after the last closed XNYS"):
        calendars.complete_bars(
            frame_of("2024-01-08", "2024-01-10"), WEEK, AT_CLOSE, "x", drop_open=True
        )


def test_before_any_close_every_bar_is_late() -> None:
    early = dt.datetime(2024, 1, 4, 12, 0, tzinfo=dt.UTC)
    with pytest.raises(DataError) as raised:
        calendars.complete_bars(frame_of("2024-01-05"), WEEK, early, "x", drop_open=False)
    assert str(raised.value) == (
        "x: bar dated 2024-01-05 is after the last closed XNYS session (none in the "
        "calendar): its session has not closed yet, or the date is wrong"
    )


def test_a_bar_on_the_first_day_of_1900_is_accepted() -> None:
    frame = frame_of("1900-01-01")
    got = calendars.complete_bars(frame, WEEK, AT_CLOSE, "x", drop_open=False)
    assert got.equals(frame)
    with pytest.raises(DataError, match=r"^x: bar dated 1899-12-31 is before 1900$"):
        calendars.complete_bars(frame_of("1899-12-31"), WEEK, AT_CLOSE, "x", drop_open=False)


@pytest.mark.parametrize(
    ("after", "now", "closed"),
    [
        ("2024-01-08", "2024-01-09T10:00:00", 0),  # the morning after Monday's bar
        ("2024-01-08", "2024-01-09T21:00:00", 1),  # Tuesday's close
        ("2024-01-05", "2024-01-06T12:00:00", 0),  # the Saturday after Friday's bar
        ("2024-01-05", "2024-01-07T23:00:00", 0),  # Sunday night
        ("2024-01-05", "2024-01-08T21:00:00", 1),  # Monday's close
        ("2024-01-05", "2024-01-10T20:59:59", 2),  # a second before Wednesday's close
    ],
)
def test_sessions_closed_after_a_bar_a_day_or_a_weekend_later(
    after: str, now: str, closed: int
) -> None:
    """Predict on a store without sessions counts them from the calendar: the day after the
    last bar, and a weekend, used to raise exchange_calendars' ValueError (it refuses a span
    of one day and one without a session)."""
    instant = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    assert calendars.closed_after("XNYS", dt.date.fromisoformat(after), instant) == closed


def test_session_dates_in_a_week_without_sessions() -> None:
    """Shanghai closed from 9 to 18 February 2024 (Lunar New Year): an instant there keeps
    its date in Shanghai; the window around it had no session and used to raise."""
    stamps = np.array(["2024-02-13T04:00:00", "2024-02-12T20:00:00"], dtype="datetime64[s]")
    got = calendars.session_dates("XSHG", stamps)
    assert got.tolist() == [dt.date(2024, 2, 13), dt.date(2024, 2, 13)]
    single = calendars.session_dates("XSHG", stamps[:1])
    assert single.tolist() == [dt.date(2024, 2, 13)]


def bse_bound() -> dt.date:
    """The last day exchange_calendars has Bombay's (XBOM) sessions for."""
    import exchange_calendars as xcals

    bound = xcals.get_calendar("XBOM").bound_max()
    if bound is None:  # pragma: no cover - a later exchange_calendars
        pytest.skip("exchange_calendars has no end to XBOM's sessions")
    return bound.date()


def test_sessions_are_clipped_to_the_last_day_the_calendar_knows() -> None:
    """Fetch asks for two years of sessions ahead; XBOM's data ends earlier."""
    import exchange_calendars as xcals

    bound = bse_bound()
    start = bound - dt.timedelta(days=40)
    got = calendars.sessions("XBOM", start, bound + dt.timedelta(days=730))
    known = xcals.get_calendar("XBOM", start=start, end=bound)
    assert [str(d) for d in got.dates] == [str(d.date()) for d in known.sessions]
    assert got.closes.tolist() == known.closes.dt.tz_convert(None).tolist()


def test_instants_after_the_calendars_last_session_keep_their_local_date() -> None:
    """After every close of the window (past XBOM's last session), an instant is in no
    session: it keeps its date in Kolkata (UTC+5:30), 17:30 there."""
    bound = bse_bound()
    for days in (1, 16):  # 16: the window (3 days, then 14 more) reaches the last two
        day = bound + dt.timedelta(days=days)
        stamp = np.array([f"{day}T12:00:00"], dtype="datetime64[s]")
        assert calendars.session_dates("XBOM", stamp).tolist() == [day]
    # an instant inside the last session the calendar knows (it trades 03:45-10:00 UTC)
    inside = np.array([f"{bound}T06:00:00"], dtype="datetime64[s]")
    assert calendars.session_dates("XBOM", inside).tolist() == [bound]


def xnys_sessions(start: dt.date, end: dt.date) -> list[str]:
    import exchange_calendars as xcals

    found = xcals.get_calendar("XNYS", start=start, end=end).sessions
    return [str(day.date()) for day in found]


def test_sessions_from_long_ago_and_two_years_ahead() -> None:
    """Fetch asks for the sessions from the first bar (GOOG's sample starts in 2004) to two
    years ahead: beyond exchange_calendars' default span (20 years back, 1 year ahead)."""
    old = calendars.sessions("XNYS", dt.date(2004, 8, 19), dt.date(2008, 1, 4))
    assert [str(d) for d in old.dates] == xnys_sessions(dt.date(2004, 8, 19), dt.date(2008, 1, 4))
    today = dt.datetime.now(dt.UTC).date()
    ahead = today + dt.timedelta(days=calendars.SESSIONS_AHEAD_DAYS)
    assert [str(d) for d in calendars.sessions("XNYS", today, ahead).dates] == xnys_sessions(
        today, ahead
    )
