"""Ingest: a source's bars into the store, through a FakeSource handed in (no Yahoo, no files)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock, FakeSource, canonical, machine_zone

from rnnforecast.data.bars import Bars
from rnnforecast.errors import DataError, UsageError
from rnnforecast.jobs import ingest
from rnnforecast.jobs.outcomes import Failure
from rnnforecast.storage.home import Home

# 2020-12-31 21:30 UTC: New York's session of that Thursday has closed.
AFTER_CLOSE = dt.datetime(2020, 12, 31, 21, 30, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return AFTER_CLOSE


def bars_until(last: str, n: int = 60):
    """``n`` canonical weekday bars ending on ``last``."""
    frame = canonical(n)
    frame.index = frame.index + (dt.date.fromisoformat(last) - frame.index[-1].date())
    return frame


def test_fetch_stores_the_bars_under_the_source_name(home: Path) -> None:
    frame = bars_until("2020-12-31")
    source = FakeSource(frames={"ABC": frame})
    [stored] = ingest.fetch(Home(home), ["abc"], source, clock=clock)
    assert (stored.ticker, stored.rows, stored.added) == ("ABC", 60, 60)
    assert (stored.first, stored.last) == (str(frame.index[0].date()), "2020-12-31")
    assert (stored.source, stored.calendar) == ("fake", "XNYS")
    assert source.asked == [("ABC", None, None)]
    assert Home(home).store.info("ABC").source == "fake"


def test_fetch_passes_the_period_to_the_source(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")})
    start, end = dt.date(2020, 11, 2), dt.date(2020, 12, 1)
    ingest.fetch(Home(home), ["ABC"], source, start=start, end=end, clock=clock)
    assert source.asked == [("ABC", start, end)]


def test_an_incremental_source_is_asked_from_a_week_before_the_last_stored_bar(
    home: Path,
) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")}, incremental=True)
    ingest.fetch(Home(home), ["ABC"], source, clock=clock)
    ingest.fetch(Home(home), ["ABC"], source, clock=clock)
    ingest.fetch(Home(home), ["ABC"], source, replace=True, clock=clock)
    assert [start for _, start, _ in source.asked] == [None, dt.date(2020, 12, 24), None]


def test_a_source_of_another_name_is_asked_for_everything(home: Path) -> None:
    frame = bars_until("2020-12-31")
    ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": frame}), clock=clock)
    other = FakeSource(frames={"ABC": frame}, name="other", incremental=True)
    with pytest.raises(UsageError, match=r"^ABC is stored from fake, not other"):
        ingest.fetch(Home(home), ["ABC"], other, clock=clock)  # no mix of two sources
    assert other.asked == [("ABC", None, None)]


def test_a_one_ticker_source_takes_one_ticker_or_its_default(home: Path) -> None:
    source = FakeSource(frames={"DEF": bars_until("2020-12-31")}, one_ticker=True)
    with pytest.raises(UsageError) as raised:
        ingest.fetch(Home(home), ["ABC", "DEF"], source, clock=clock)
    assert str(raised.value) == "a fake source loads one ticker at a time"
    with pytest.raises(UsageError, match=r"^name at least one ticker$"):
        ingest.fetch(Home(home), [], source, clock=clock)
    defaulted = dataclasses.replace(source, default_ticker="DEF")
    assert [r.ticker for r in ingest.fetch(Home(home), [], defaulted, clock=clock)] == ["DEF"]
    assert source.asked == [("DEF", None, None)]  # the refused fetches asked for nothing


def test_the_start_after_the_end_is_refused_before_the_source_is_asked(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")})
    with pytest.raises(UsageError) as raised:
        ingest.fetch_each(
            Home(home), ["ABC", "DEF"], source, start=dt.date(2020, 2, 1), end=dt.date(2020, 1, 1)
        )
    assert str(raised.value) == "the start 2020-02-01 is after the end 2020-01-01"
    assert source.asked == []


@pytest.mark.parametrize(("live", "stored"), [(True, "2020-12-30"), (False, None)])
def test_a_bar_of_an_open_session_is_dropped_from_a_live_source_only(
    home: Path, live: bool, stored: str | None
) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")}, live=True)
    source = dataclasses.replace(source, live=live)
    during = dt.datetime(2020, 12, 31, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
    if stored is None:
        with pytest.raises(DataError, match=r"^ABC \(fake\): .*2020-12-31"):
            ingest.fetch(Home(home), ["ABC"], source, clock=lambda: during)
        return
    [result] = ingest.fetch(Home(home), ["ABC"], source, clock=lambda: during)
    assert result.last == stored


def test_fetch_each_goes_on_after_a_failed_ticker(home: Path) -> None:
    source = FakeSource(
        frames={"GHI": bars_until("2020-12-31")},
        errors={"ABC": DataError("ABC: nothing here")},
    )
    outcomes = ingest.fetch_each(
        Home(home), ["ABC", "ghi", "GHI"], source, clock=clock, waits=FakeClock()
    )
    assert [(o.ticker, o.error) for o in outcomes] == [
        ("ABC", Failure(3, "ABC: nothing here")),
        ("GHI", None),
    ]
    assert outcomes[0].result is None
    assert outcomes[1].result is not None and outcomes[1].result.rows == 60


def test_a_bug_in_a_source_is_raised_not_reported_as_a_failed_ticker(home: Path) -> None:
    source = FakeSource(
        frames={"DEF": bars_until("2020-12-31")}, errors={"ABC": TypeError("a bug")}
    )
    with pytest.raises(TypeError, match="a bug"):
        ingest.fetch_each(Home(home), ["ABC", "DEF"], source, clock=clock, waits=FakeClock())


@dataclasses.dataclass(frozen=True)
class ReportingSource(FakeSource):
    """A FakeSource whose bars carry the exchange code Yahoo would report (``exchange``)."""

    exchange: str | None = None

    def bars(self, symbol: str, start: Any = None, end: Any = None, cache: Any = None) -> Bars:
        return dataclasses.replace(super().bars(symbol, start, end, cache), exchange=self.exchange)


def test_a_chosen_calendar_sticks_when_the_source_reports_another_exchange(home: Path) -> None:
    """The source reports London ("LSE", XLON) at every fetch. A ticker fetched without a
    choice takes the report; one the user put on XNYS keeps XNYS at every later fetch that
    makes no choice, until another explicit choice (XTSE), which then sticks in its turn."""
    london = ReportingSource(
        frames={"ABC": bars_until("2020-12-31"), "DEF": bars_until("2020-12-31")},
        exchange="LSE",
        incremental=True,
    )
    store = Home(home).store
    [reported] = ingest.fetch(Home(home), ["DEF"], london, clock=clock)
    assert reported.calendar == "XLON" == store.calendar("DEF")  # the report is read
    [chosen] = ingest.fetch(Home(home), ["ABC"], london, calendar="nyse", clock=clock)
    assert chosen.calendar == "XNYS"
    for _ in range(2):
        [again] = ingest.fetch(Home(home), ["ABC"], london, clock=clock)
        assert again.calendar == "XNYS" == store.calendar("ABC")
    [moved] = ingest.fetch(Home(home), ["ABC"], london, calendar="XTSE", clock=clock)
    assert moved.calendar == "XTSE"
    [kept] = ingest.fetch(Home(home), ["ABC"], london, clock=clock)
    assert kept.calendar == "XTSE" == store.calendar("ABC")
    assert store.calendar("DEF") == "XLON"


def test_fetch_each_passes_its_options_to_every_ticker(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31"), "DEF": bars_until("2020-12-31")})
    outcomes = ingest.fetch_each(
        Home(home), ["ABC", "DEF"], source, calendar="xlon", clock=clock, waits=FakeClock()
    )
    assert [o.result.calendar for o in outcomes if o.result] == ["XLON", "XLON"]


def test_fetch_each_of_one_ticker_raises_its_failure(home: Path) -> None:
    source = FakeSource(errors={"ABC": DataError("ABC: nothing here")})
    with pytest.raises(DataError, match=r"^ABC: nothing here$"):
        ingest.fetch_each(Home(home), ["abc"], source, clock=clock)


def test_fetch_each_refuses_tickers_a_one_ticker_source_cannot_load(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")}, one_ticker=True)
    with pytest.raises(UsageError, match=r"^a fake source loads one ticker at a time$"):
        ingest.fetch_each(Home(home), ["ABC", "DEF"], source, clock=clock)
    assert source.asked == []


def test_fetch_each_of_one_ticker_passes_its_options(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")})
    [outcome] = ingest.fetch_each(Home(home), ["abc"], source, calendar="XLON", clock=clock)
    assert outcome.ticker == "ABC"
    assert outcome.result is not None and outcome.result.calendar == "XLON"


def test_a_gap_just_before_the_fetched_bars_is_noticed_and_an_older_one_not_again(
    home: Path,
) -> None:
    """Bars to mid-June stored, then bars from 07-01 fetched: the dozen sessions between
    them are a gap, though the sessions stored with the second fetch start on 07-01. A
    third fetch of later bars says nothing of it: only what it touched is checked."""
    frame = bars_until("2020-12-31", n=260)
    early, late = frame[frame.index <= "2020-06-15"], frame[frame.index >= "2020-07-01"]
    ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": early}), clock=clock)
    [second] = ingest.fetch(
        Home(home),
        ["ABC"],
        FakeSource(frames={"ABC": late[late.index <= "2020-09-30"]}),
        clock=clock,
    )
    last_early = str(early.index[-1].date())
    assert [n for n in second.notices if last_early in n], second.notices
    [third] = ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": late}), clock=clock)
    assert not [n for n in third.notices if last_early in n], third.notices


def test_fetch_checks_its_period_and_a_single_day_is_one(home: Path) -> None:
    source = FakeSource(frames={"ABC": bars_until("2020-12-31")})
    with pytest.raises(UsageError, match=r"^the start 2020-02-01 is after the end 2020-01-01$"):
        ingest.fetch(
            Home(home), ["ABC"], source, start=dt.date(2020, 2, 1), end=dt.date(2020, 1, 1)
        )
    assert source.asked == []
    day = dt.date(2020, 12, 31)
    ingest.fetch(Home(home), ["ABC"], source, start=day, end=day, clock=clock)
    assert source.asked == [("ABC", day, day)]


def test_replace_drops_the_stored_bars_first(home: Path) -> None:
    ingest.fetch(
        Home(home), ["ABC"], FakeSource(frames={"ABC": bars_until("2020-12-31")}), clock=clock
    )
    short = FakeSource(frames={"ABC": bars_until("2020-12-31", n=30)})
    [kept] = ingest.fetch(Home(home), ["ABC"], short, clock=clock)
    assert kept.rows == 60
    [replaced] = ingest.fetch(Home(home), ["ABC"], short, replace=True, clock=clock)
    assert replaced.rows == 30


def test_off_calendar_bars_are_counted_within_the_stored_sessions(home: Path) -> None:
    """canonical bars run every calendar day: the weekends and holidays from the first
    session on are off the calendar (a bar before it is outside the sessions stored)."""
    import exchange_calendars as xcals

    frame = bars_until("2020-12-31")
    [stored] = ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": frame}), clock=clock)
    xnys = xcals.get_calendar("XNYS", start="2020-01-01", end="2020-12-31")
    first = xnys.date_to_session(frame.index[0], direction="next")
    expected = sum(not xnys.is_session(day) for day in frame.index if day >= first)
    assert expected >= 10
    assert stored.off_calendar == expected


@dataclasses.dataclass(frozen=True)
class CacheSource(FakeSource):
    """A FakeSource that records the cache each request names."""

    caches: list[Any] = dataclasses.field(default_factory=list)

    def bars(self, symbol: str, start: Any = None, end: Any = None, cache: Any = None) -> Bars:
        self.caches.append(cache)
        return super().bars(symbol, start, end, cache)


def test_the_source_is_handed_the_homes_cache(home: Path) -> None:
    source = CacheSource(frames={"ABC": bars_until("2020-12-31")})
    ingest.fetch(Home(home), ["ABC"], source, clock=clock)
    assert source.caches == [Home(home).yahoo_cache]


def test_a_gap_before_the_only_bar_fetched_is_noticed(home: Path) -> None:
    frame = bars_until("2020-12-31", n=260)
    early = frame[frame.index <= "2020-06-15"]
    ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": early}), clock=clock)
    one = frame[frame.index >= "2020-07-01"].iloc[:1]
    [stored] = ingest.fetch(Home(home), ["ABC"], FakeSource(frames={"ABC": one}), clock=clock)
    assert [n for n in stored.notices if str(early.index[-1].date()) in n], stored.notices


@dataclasses.dataclass(frozen=True)
class AdjustingSource(FakeSource):
    """An incremental FakeSource of adjusted prices (``auto_adjust``, like Yahoo's default)
    that records each request's (start, end, cache)."""

    requests: list[tuple[Any, Any, Any]] = dataclasses.field(default_factory=list)
    incremental: bool = True

    def bars(self, symbol: str, start: Any = None, end: Any = None, cache: Any = None) -> Bars:
        self.requests.append((start, end, cache))
        return dataclasses.replace(super().bars(symbol, start, end, cache), auto_adjust=True)


def halved(frame: Any) -> Any:
    """``frame`` as a source shows it after a 2:1 split: every price halved."""
    return frame.assign(**{c: frame[c] / 2 for c in ("open", "high", "low", "close")})


def test_a_readjusted_overlap_is_fetched_again_whole_to_the_same_end(home: Path) -> None:
    """The second request after a re-adjusted overlap keeps the fetch's end and the home's
    cache; a fetch from a chosen start takes the bars from there, with no second request."""
    frame = bars_until("2020-12-31")
    source = AdjustingSource(frames={"ABC": frame})
    ingest.fetch(Home(home), ["ABC"], source, clock=clock)
    assert Home(home).store.info("ABC").auto_adjust is True
    source.frames["ABC"] = halved(frame)
    end, cache = dt.date(2020, 12, 31), Home(home).yahoo_cache
    [stored] = ingest.fetch(Home(home), ["ABC"], source, end=end, clock=clock)
    assert source.requests[1:] == [(dt.date(2020, 12, 24), end, cache), (None, end, cache)]
    assert (stored.readjusted, stored.changed) == (True, 60)
    source.frames["ABC"] = frame
    start = dt.date(2020, 12, 1)
    ingest.fetch(Home(home), ["ABC"], source, start=start, clock=clock)
    assert source.requests[3:] == [(start, None, cache)]


def test_the_sessions_are_stored_two_years_ahead_of_the_utc_date(home: Path) -> None:
    """Predict reads the stored sessions. On a machine at UTC+14 (Kiritimati) the local
    date is already the next day: the sessions still end two years after UTC's date."""
    now = dt.datetime(2021, 1, 4, 21, 30, tzinfo=dt.UTC)  # Tuesday 11:30 at UTC+14
    with machine_zone("Pacific/Kiritimati"):
        source = FakeSource(frames={"ABC": bars_until("2021-01-04")})
        ingest.fetch(Home(home), ["ABC"], source, clock=lambda: now)
    store = Home(home).store
    found, closed = store.sessions_after("XNYS", dt.date(2021, 1, 4), 3, now)
    assert (found, closed) == ([dt.date(2021, 1, 5), dt.date(2021, 1, 6), dt.date(2021, 1, 7)], 0)
    assert store.sessions_after("XNYS", dt.date(2023, 1, 3), 5, now)[0] == [dt.date(2023, 1, 4)]


def test_fetch_each_tells_each_tickers_turn(home: Path) -> None:
    """``on_ticker`` hears of each named ticker as its fetch begins, numbered from 1, a
    failing one too; one ticker is turn 1 of 1."""
    from rnnforecast.jobs.outcomes import TickerTurn

    source = FakeSource(
        frames={"ABC": bars_until("2020-12-31"), "GHI": bars_until("2020-12-31")},
        errors={"DEF": DataError("DEF: nothing here")},
    )
    turns: list[TickerTurn] = []
    ingest.fetch_each(
        Home(home), ["abc", "DEF", "ghi"], source, on_ticker=turns.append, clock=clock
    )
    begun = [turn for turn in turns if not turn.done]
    assert begun == [TickerTurn("fetch", i, 3, t) for i, t in enumerate(["ABC", "DEF", "GHI"], 1)]
    # and each is told done once, in the order the threads finish
    done = sorted((turn.index, turn.ticker) for turn in turns if turn.done)
    assert done == [(1, "ABC"), (2, "DEF"), (3, "GHI")]
    turns.clear()
    ingest.fetch_each(Home(home), ["ABC"], source, on_ticker=turns.append, clock=clock)
    assert turns == [TickerTurn("fetch", 1, 1, "ABC"), TickerTurn("fetch", 1, 1, "ABC", True)]
