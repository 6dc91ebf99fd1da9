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
from rnnforecast.errors import UsageError


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
