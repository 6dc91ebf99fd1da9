"""fetch_many: several tickers fetched at once in threads, within a rate limit shared by the
threads, each ticker under its lock and in its transaction, outcomes in the order named.

The sources are fakes at the Source seam that note when each call started and how many were
in flight. Waits run on fake clocks: :class:`FastClock` (real time sped up 20 times: a
source's hold of 1 s takes 50 ms) or :class:`ThreadClock` (no waiting at all: each thread's
own time), and where a test needs threads to meet or finish in an order, events make them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import FakeSource, canonical

from rnnforecast.data.bars import Bars
from rnnforecast.data.throttle import RateLimit, WaitClock
from rnnforecast.errors import DataError, SourceError, UsageError
from rnnforecast.jobs import ingest
from rnnforecast.jobs.outcomes import TickerTurn, failure_code
from rnnforecast.storage.home import Home

AFTER_CLOSE = dt.datetime(2020, 12, 31, 21, 30, tzinfo=dt.UTC)
SPEED = 20.0
PATIENCE = 5.0  # real seconds a fake waits for an event before it gives up


def clock() -> dt.datetime:
    return AFTER_CLOSE


class FastClock:
    """A wait clock (monotonic seconds and a sleep) on real time sped up ``SPEED`` times."""

    def monotonic(self) -> float:
        return time.monotonic() * SPEED

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / SPEED)


class ThreadClock:
    """A wait clock on which each thread's time is its own, from 0: what it slept, without
    waiting. The time a thread notes as the throttle lets it go is then exactly the start
    the throttle gave it, whatever the machine's load."""

    def __init__(self) -> None:
        self.local = threading.local()

    def monotonic(self) -> float:
        return float(getattr(self.local, "now", 0.0))

    def sleep(self, seconds: float) -> None:
        self.local.now = self.monotonic() + seconds


def bars(n: int = 30) -> pd.DataFrame:
    frame = canonical(n)
    frame.index = frame.index + (dt.date(2020, 12, 31) - frame.index[-1].date())
    return frame


@dataclasses.dataclass(frozen=True)
class SlowSource(FakeSource):
    """A FakeSource whose calls take ``hold[symbol]`` seconds of ``clock`` time
    (``default_hold`` for others), after waiting until ``meet`` calls were in flight at once
    (0: no wait) and until ``gates[symbol]`` is set (if any). Notes each call's start
    (``starts``: symbol, time) and the most calls in flight at once (``peak[0]``)."""

    clock: WaitClock = dataclasses.field(default_factory=FastClock)
    hold: dict[str, float] = dataclasses.field(default_factory=dict)
    default_hold: float = 0.0
    meet: int = 0
    gates: dict[str, threading.Event] = dataclasses.field(default_factory=dict)
    starts: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    peak: list[int] = dataclasses.field(default_factory=lambda: [0])
    flying: list[int] = dataclasses.field(default_factory=lambda: [0])
    counting: threading.Condition = dataclasses.field(default_factory=threading.Condition)

    def bars(self, symbol: str, start: Any = None, end: Any = None, cache: Any = None) -> Bars:
        with self.counting:
            self.starts.append((symbol, self.clock.monotonic()))
            self.flying[0] += 1
            self.peak[0] = max(self.peak[0], self.flying[0])
            self.counting.notify_all()
            self.counting.wait_for(lambda: self.peak[0] >= self.meet, timeout=PATIENCE)
        try:
            if symbol in self.gates:
                self.gates[symbol].wait(timeout=PATIENCE)
            self.clock.sleep(self.hold.get(symbol, self.default_hold))
            return super().bars(symbol, start, end, cache)
        finally:
            with self.counting:
                self.flying[0] -= 1


def jobs(source: FakeSource, *tickers: str) -> list[ingest.FetchJob]:
    return [ingest.FetchJob(t, source, ingest.FetchOptions(clock=clock)) for t in tickers]


TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")


def test_no_more_requests_are_in_flight_than_the_limit(home: Path) -> None:
    source = SlowSource(frames={t: bars() for t in TICKERS}, default_hold=1.0, meet=2)
    limit = RateLimit(concurrency=2, per_second=100)
    outcomes = ingest.fetch_many(Home(home), jobs(source, *TICKERS), limit=limit, waits=FastClock())
    assert [o.ticker for o in outcomes if not o.failed] == list(TICKERS)
    assert source.peak[0] == 2  # at once, and never more


def test_no_more_requests_start_in_any_second_than_the_limit(home: Path) -> None:
    waits = ThreadClock()
    source = SlowSource(frames={t: bars() for t in TICKERS}, clock=waits)
    limit = RateLimit(concurrency=4, per_second=2)
    ingest.fetch_many(Home(home), jobs(source, *TICKERS), limit=limit, waits=waits)
    # one start every half second: no second (no span of 1 s) holds more than two
    assert sorted(at for _, at in source.starts) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_outcomes_keep_the_order_named_whatever_the_order_tickers_finish(home: Path) -> None:
    last = threading.Event()  # AAA, the first named, ends after every other ticker
    source = SlowSource(frames={t: bars() for t in TICKERS}, gates={"AAA": last})
    turns: list[TickerTurn] = []

    def on_ticker(turn: TickerTurn) -> None:
        turns.append(turn)
        if sum(t.done for t in turns) == len(TICKERS) - 1:
            last.set()

    outcomes = ingest.fetch_many(
        Home(home),
        jobs(source, *TICKERS),
        limit=RateLimit(concurrency=3, per_second=100),
        on_ticker=on_ticker,
        waits=FastClock(),
    )
    assert [o.ticker for o in outcomes] == list(TICKERS)
    assert [o.result.rows for o in outcomes if o.result] == [30] * 6
    begun = [(t.index, t.ticker) for t in turns if not t.done]
    assert begun == list(enumerate(TICKERS, 1))  # tickers begin in order
    ended = [t.ticker for t in turns if t.done]
    assert sorted(ended) == list(TICKERS) and ended[-1] == "AAA"  # and end as they finish
    assert {t.total for t in turns} == {6} and {t.step for t in turns} == {"fetch"}


def test_a_failing_ticker_stops_no_other(home: Path) -> None:
    frames = {t: bars() for t in ("AAA", "CCC", "EEE")}
    errors: dict[str, Exception] = {
        "BBB": DataError("BBB: nothing here"),
        "DDD": SourceError("DDD: Yahoo unreachable"),
    }
    source = SlowSource(frames=frames, errors=errors, default_hold=0.5)
    outcomes = ingest.fetch_many(
        Home(home),
        jobs(source, "AAA", "BBB", "CCC", "DDD", "EEE"),
        limit=RateLimit(concurrency=2, per_second=100),
        waits=FastClock(),
    )
    assert [(o.ticker, o.error.code if o.error else None) for o in outcomes] == [
        ("AAA", None),
        ("BBB", 3),
        ("CCC", None),
        ("DDD", 5),
        ("EEE", None),
    ]
    assert failure_code(outcomes) == 7
    assert [t.ticker for t in Home(home).store.tickers()] == ["AAA", "CCC", "EEE"]


def test_a_ticker_locked_elsewhere_fails_alone(home: Path) -> None:
    source = SlowSource(frames={t: bars() for t in ("AAA", "BBB", "CCC")})
    with Home(home).lock("BBB"):  # another job holds it
        outcomes = ingest.fetch_many(
            Home(home, wait=0),
            jobs(source, "AAA", "BBB", "CCC"),
            limit=RateLimit(concurrency=3, per_second=100),
            waits=FastClock(),
        )
    assert [o.error.code if o.error else None for o in outcomes] == [None, 6, None]
    assert [symbol for symbol, _, _ in source.asked if symbol == "BBB"] == []


def test_the_progress_callback_is_called_from_the_calling_thread_one_call_at_a_time(
    home: Path,
) -> None:
    source = SlowSource(frames={t: bars() for t in TICKERS}, default_hold=0.5)
    inside = threading.Lock()
    threads: set[int] = set()

    def on_ticker(turn: TickerTurn) -> None:
        assert inside.acquire(blocking=False), "on_ticker called while it was running"
        try:
            threads.add(threading.get_ident())
            time.sleep(0.002)  # long enough for another caller to run into it
        finally:
            inside.release()

    outcomes = ingest.fetch_many(
        Home(home),
        jobs(source, *TICKERS),
        limit=RateLimit(concurrency=4, per_second=100),
        on_ticker=on_ticker,
        waits=FastClock(),
    )
    assert not any(o.failed for o in outcomes)
    assert threads == {threading.get_ident()}


def test_a_bug_is_raised_and_no_ticker_begins_after_it(home: Path) -> None:
    source = SlowSource(frames={"AAA": bars(), "CCC": bars()}, errors={"BBB": TypeError("a bug")})
    turns: list[TickerTurn] = []
    with pytest.raises(TypeError, match="a bug"):
        ingest.fetch_many(
            Home(home),
            jobs(source, "AAA", "BBB", "CCC"),
            limit=RateLimit(concurrency=1, per_second=100),
            on_ticker=turns.append,
            waits=FastClock(),
        )
    assert [symbol for symbol, _, _ in source.asked] == ["AAA", "BBB"]
    assert [(t.ticker, t.done) for t in turns] == [("AAA", False), ("AAA", True), ("BBB", False)]


def test_each_job_fetches_from_its_own_source_with_its_own_options(home: Path) -> None:
    london = SlowSource(frames={"AAA": bars()})
    plain = SlowSource(frames={"BBB": bars()})
    outcomes = ingest.fetch_many(
        Home(home),
        [
            ingest.FetchJob("aaa", london, ingest.FetchOptions(calendar="XLON", clock=clock)),
            ingest.FetchJob("BBB", plain, ingest.FetchOptions(clock=clock)),
        ],
        limit=RateLimit(per_second=100),
    )
    assert [(o.ticker, o.result.calendar) for o in outcomes if o.result] == [
        ("AAA", "XLON"),
        ("BBB", "XNYS"),
    ]
    assert [a[0] for a in london.asked] == ["AAA"] and [a[0] for a in plain.asked] == ["BBB"]


def test_no_job_fetches_nothing_and_a_bad_limit_is_refused(home: Path) -> None:
    assert ingest.fetch_many(Home(home), []) == []
    with pytest.raises(UsageError, match=r"^concurrency must be between 1 and 32, got 0$"):
        ingest.fetch_many(Home(home), [], limit=RateLimit(concurrency=0))


def test_fetch_each_fetches_several_tickers_at_once_within_its_limit(home: Path) -> None:
    source = SlowSource(frames={t: bars() for t in TICKERS}, default_hold=1.0, meet=3)
    outcomes = ingest.fetch_each(
        Home(home),
        list(TICKERS),
        source,
        limit=RateLimit(concurrency=3, per_second=100),
        waits=FastClock(),
        clock=clock,
    )
    assert [o.ticker for o in outcomes] == list(TICKERS)
    assert source.peak[0] == 3


def test_fetch_each_refuses_an_unknown_calendar_before_fetching(home: Path) -> None:
    source = SlowSource(frames={t: bars() for t in TICKERS})
    with pytest.raises(UsageError, match="NOPE"):
        ingest.fetch_each(Home(home), ["AAA", "BBB"], source, calendar="NOPE", clock=clock)
    assert source.asked == []


def test_fetch_each_of_one_ticker_says_when_it_begins_and_ends(home: Path) -> None:
    turns: list[TickerTurn] = []
    source = SlowSource(frames={"AAA": bars()})
    ingest.fetch_each(Home(home), ["aaa"], source, on_ticker=turns.append, clock=clock)
    assert turns == [TickerTurn("fetch", 1, 1, "AAA"), TickerTurn("fetch", 1, 1, "AAA", True)]
