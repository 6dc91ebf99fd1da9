"""The edges of rnnforecast.data.calendars.session_dates that a mutation run (mutmut,
docs/tests.md) found untested. CME's sessions (CMES) open at 23:00 UTC, 17:00 in Chicago,
the evening before the session's date, so an instant's session date and its local date
differ there: the tests tell "in a session" from "keeps its local date"."""

from __future__ import annotations

import datetime as dt

import numpy as np

from rnnforecast.data import calendars


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
